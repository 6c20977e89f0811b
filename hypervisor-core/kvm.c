/* kvm.c: the KVM execution engine: VM and vCPU file descriptors, CPUID, the long-mode entry
 * state, and the run loop that turns exits into bus accesses. Not the device models. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "kvm"

#define KVM_TSS_GPA     0xfffbd000ull /* 3 pages below 4 GiB, inside the MMIO hole */
#define KVM_CPUID_MAX   256
#define KICK_SIGNAL     SIGUSR1

#define CR0_PE 0x1ull
#define CR0_MP 0x2ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE        0x20ull
#define CR4_OSFXSR     0x200ull
#define CR4_OSXMMEXCPT 0x400ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return e;
}

static void kick_handler(int sig)
{
	(void)sig; /* only there so KVM_RUN returns -EINTR */
}

/* The PIT's tick reinjection (QEMU's lost_tick_policy=delay) registers two irq notifiers;
 * unregistering them when the VM is destroyed waits for two SRCU grace periods, ~16 ms of the
 * process's exit here. The VMM turns reinjection off (lost_tick_policy=discard: a late tick is
 * dropped, not replayed) on a helper thread at start, so those grace periods pass while the
 * guest runs; hv_kvm_close joins it. */
static void *pit_reinject_thread(void *opaque)
{
	struct hv_vm *vm = opaque;
	struct kvm_reinject_control rc = {.pit_reinject = 0};
	uint64_t t0 = hd_now_ns();
	if (ioctl(vm->vm_fd, KVM_REINJECT_CONTROL, &rc) < 0)
		hd_debug(TAG, "KVM_REINJECT_CONTROL failed: %s", strerror(errno));
	else
		hd_debug(TAG, "PIT tick reinjection off (%.1f ms)", (hd_now_ns() - t0) / 1e6);
	return NULL;
}

static void pit_reinject_off(struct hv_vm *vm)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_REINJECT_CONTROL) <= 0)
		return;
	/* No signal may land on it: the VM's own (SIGINT, SIGTERM) go to its signalfd. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	vm->pit_thread_started = pthread_create(&vm->pit_thread, NULL, pit_reinject_thread, vm) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!vm->pit_thread_started)
		pit_reinject_thread(vm);
}

/* One KVM memory slot a RAM region, logging dirty pages or not. -1 with errno on failure. */
static int set_slots(struct hv_vm *vm, bool log_dirty)
{
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct hv_mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
			.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -1;
	}
	return 0;
}

int hv_kvm_open(struct hv_vm *vm, char *err, size_t errlen)
{
	const char *dev = vm->cfg.kvm_device ? vm->cfg.kvm_device : "/dev/kvm";

	vm->kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = -errno;
		if (e == -ENOENT)
			return fail(err, errlen, e,
				    "%s does not exist: this host has no KVM (enable virtualization "
				    "and load kvm_intel or kvm_amd)",
				    dev);
		if (e == -EACCES || e == -EPERM)
			return fail(err, errlen, e,
				    "cannot open %s: permission denied (add the user to the 'kvm' "
				    "group)",
				    dev);
		return fail(err, errlen, e, "cannot open %s: %s", dev, strerror(-e));
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return fail(err, errlen, -ENODEV, "%s is not a usable KVM device (API version %d)",
			    dev, api);
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
		{KVM_CAP_IRQCHIP, "in-kernel irqchip"},
		{KVM_CAP_PIT2, "in-kernel PIT"},
		{KVM_CAP_IMMEDIATE_EXIT, "immediate_exit"},
		{KVM_CAP_USER_MEMORY, "user memory"},
		{KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID"},
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(needed); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return fail(err, errlen, -ENOTSUP, "KVM on this host lacks %s",
				    needed[i].name);

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail(err, errlen, -errno, "KVM_CREATE_VM failed: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
		return fail(err, errlen, -errno, "KVM_SET_TSS_ADDR failed: %s", strerror(errno));
	/* RAM before the irqchip: a memory slot added after KVM_CREATE_IRQCHIP waits for an
	 * SRCU grace period (~6 ms here, docs/PERFORMANCE.md); before it, ~0.2 ms. The soft
	 * engine must forget translations of code KVM rewrote: outside kvm-only mode, slots log. */
	if (set_slots(vm, vm->engine_mode != HV_ENGINE_MODE_KVM) < 0)
		return fail(err, errlen, -errno, "cannot give %llu MiB of RAM to KVM: %s",
			    (unsigned long long)(vm->mem.size >> 20), strerror(errno));

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail(err, errlen, -errno, "KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail(err, errlen, -errno, "KVM_CREATE_PIT2 failed: %s", strerror(errno));

	pit_reinject_off(vm);
	vm->cpuid = hd_xzalloc(sizeof(*vm->cpuid) + KVM_CPUID_MAX * sizeof(vm->cpuid->entries[0]));
	vm->cpuid->nent = KVM_CPUID_MAX;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return fail(err, errlen, -errno, "KVM_GET_SUPPORTED_CPUID failed: %s",
			    strerror(errno));

	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
	return 0;
}

void hv_kvm_close(struct hv_vm *vm)
{
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->pit_thread_started) {
		pthread_join(vm->pit_thread, NULL);
		vm->pit_thread_started = false;
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

void hv_kvm_set_irq(void *opaque, unsigned gsi, int level)
{
	struct hv_vm *vm = opaque;
	if (vm->vm_fd < 0)
		return; /* soft-only VM: no interrupt controller (docs/ARCHITECTURE.md) */
	if (level)
		atomic_fetch_add(&vm->irq_pending, 1); /* soft engines hand back to deliver it */
	struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		hd_warn(TAG, "KVM_IRQ_LINE %u failed: %s", gsi, strerror(errno));
}

/* Per-vCPU CPUID: the host's supported set, with this vCPU's APIC ID and the hypervisor bit.
 * KVM only reports what it can run, so nothing further needs masking for our guest. */
static int vcpu_set_cpuid(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	size_t size = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = hd_xmalloc(size);
	memcpy(c, vm->cpuid, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->index << 24);
			e->ecx |= 1u << 31; /* running under a hypervisor */
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu->index; /* x2APIC ID */
			break;
		}
	}
	int r = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? -errno : 0;
}

/* In auto and soft modes the guest may run on either engine, so it is offered only what both
 * run: each feature word is ANDed with the soft engine's CPU model (soft.c). */
void hv_kvm_cpuid_restrict(struct hv_vm *vm)
{
	static const struct {
		uint32_t leaf, sub;
		bool subleaf;
		unsigned regmask; /* 1 eax, 2 ebx, 4 ecx, 8 edx */
	} words[] = {
		{1, 0, false, 4 | 8},
		{7, 0, true, 2 | 4 | 8},
		{0xd, 1, true, 1},
		{0x80000001, 0, false, 4 | 8},
	};
	for (unsigned i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		for (size_t w = 0; w < HD_ARRAY_SIZE(words); w++) {
			if (e->function != words[w].leaf || (words[w].subleaf && e->index != words[w].sub))
				continue;
			uint32_t soft[4];
			if (!hv_soft_cpuid(vm, e->function, e->index, soft))
				continue;
			if (words[w].regmask & 1)
				e->eax &= soft[0];
			if (words[w].regmask & 2)
				e->ebx &= soft[1];
			if (words[w].regmask & 4)
				e->ecx &= soft[2];
			if (words[w].regmask & 8)
				e->edx &= soft[3];
		}
		/* Leaf 0xd subleaf 0: the XSAVE components both can hold (x87 and SSE at least). */
		if (e->function == 0xd && e->index == 0) {
			uint32_t soft[4];
			if (hv_soft_cpuid(vm, 0xd, 0, soft))
				e->eax &= soft[0] | 3;
			else
				e->eax &= 3;
			e->edx = 0;
		}
	}
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

/* The long-mode entry state of hv-guest-abi.h, in engine-neutral form. */
void hv_cpu_entry_state(struct hv_vcpu *vcpu, struct hv_cpu_state *st)
{
	memset(st, 0, sizeof(*st));
	struct kvm_sregs *sr = &st->sregs;
	seg(&sr->cs, HV_GDT_CODE64, 0xb, true);
	seg(&sr->ds, HV_GDT_DATA, 0x3, false);
	sr->es = sr->fs = sr->gs = sr->ss = sr->ds;
	sr->tr = (struct kvm_segment){.limit = 0x67, .type = 0xb, .present = 1}; /* busy TSS */
	sr->ldt = (struct kvm_segment){.type = 0x2, .unusable = 1};
	sr->gdt.base = HV_BOOT_GDT_GPA;
	sr->gdt.limit = 3 * 8 - 1;
	sr->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sr->cr3 = HV_BOOT_PML4_GPA;
	sr->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sr->efer = EFER_LME | EFER_LMA;
	sr->apic_base = 0xfee00900ull | (vcpu->index ? 0 : 0x100); /* enabled, BSP flag on 0 */
	st->regs = (struct kvm_regs){
		.rip = vcpu->vm->image.entry,
		.rdi = vcpu->index,
		.rsi = HV_BOOT_INFO_GPA,
		.rflags = 0x2,
	};
	st->msr[HV_MSR_PAT] = 0x0007040600070406ull; /* power-on value */
	/* FXSAVE area: FCW 0x37f, MXCSR 0x1f80; XSTATE_BV x87|SSE. */
	uint8_t *x = (uint8_t *)st->xsave.region;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(x, &fcw, 2);
	memcpy(x + 24, &mxcsr, 4);
	x[512] = 3;
}

static int vcpu_set_entry_state(struct hv_vcpu *vcpu)
{
	struct kvm_sregs cur;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &cur) < 0)
		return -errno;
	hv_cpu_entry_state(vcpu, vcpu->cpu);
	vcpu->cpu->sregs.apic_base = cur.apic_base;
	/* Keep what KVM set up that the entry state does not name. */
	struct kvm_xsave cur_x;
	if (ioctl(vcpu->fd, KVM_GET_XSAVE, &cur_x) < 0)
		return -errno;
	memcpy(vcpu->cpu->xsave.region, cur_x.region, sizeof(cur_x.region));
	uint8_t *x = (uint8_t *)vcpu->cpu->xsave.region;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(x, &fcw, 2);
	memcpy(x + 24, &mxcsr, 4);
	int r = hv_kvm_set_state(vcpu, vcpu->cpu);
	if (r < 0)
		return r;
	/* With an in-kernel LAPIC, application processors wait for INIT/SIPI; ours start at
	 * the entry point directly. */
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	return 0;
}

int hv_kvm_vcpu_create(struct hv_vm *vm, struct hv_vcpu *vcpu, char *err, size_t errlen)
{
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, vcpu->index);
	if (vcpu->fd < 0)
		return fail(err, errlen, -errno, "cannot create vCPU %u: %s", vcpu->index,
			    strerror(errno));
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return fail(err, errlen, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	vcpu->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return fail(err, errlen, -errno, "cannot map vCPU %u: %s", vcpu->index,
			    strerror(errno));
	}
	vcpu->run_size = (size_t)sz;
	int r = vcpu_set_cpuid(vcpu);
	if (r < 0)
		return fail(err, errlen, r, "KVM_SET_CPUID2 failed for vCPU %u: %s", vcpu->index,
			    strerror(-r));
	if (vcpu->index == 0) {
		int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
		vm->tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	}
	/* The selector reads RIP and CPL at every exit: have KVM store them in kvm_run rather
	 * than paying an ioctl each time. */
	if (vm->engine_mode != HV_ENGINE_MODE_KVM &&
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) > 0)
		vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	return 0;
}

void hv_kvm_vcpu_destroy(struct hv_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

uint64_t hv_kvm_guest_tsc(struct hv_vcpu *vcpu)
{
	if (vcpu->fd < 0)
		return 0;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TIME_STAMP_COUNTER */};
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		return 0;
	return m.e.data;
}

void hv_kvm_vcpu_kick(struct hv_vcpu *vcpu)
{
	if (!vcpu->run || !vcpu->thread_started)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, KICK_SIGNAL);
}

/* ---- state transfer ---- */

const uint32_t hv_msr_index[HV_MSR_COUNT] = {
	[HV_MSR_STAR] = 0xc0000081,          [HV_MSR_LSTAR] = 0xc0000082,
	[HV_MSR_CSTAR] = 0xc0000083,         [HV_MSR_SFMASK] = 0xc0000084,
	[HV_MSR_KERNEL_GS_BASE] = 0xc0000102, [HV_MSR_SYSENTER_CS] = 0x174,
	[HV_MSR_SYSENTER_ESP] = 0x175,       [HV_MSR_SYSENTER_EIP] = 0x176,
	[HV_MSR_TSC_AUX] = 0xc0000103,       [HV_MSR_PAT] = 0x277,
};

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[HV_MSR_COUNT];
};

int hv_kvm_get_state(struct hv_vcpu *vcpu, struct hv_cpu_state *s)
{
	if (ioctl(vcpu->fd, KVM_GET_REGS, &s->regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_XSAVE, &s->xsave) < 0)
		return -errno;
	struct msr_buf m = {.hdr.nmsrs = HV_MSR_COUNT};
	for (unsigned i = 0; i < HV_MSR_COUNT; i++)
		m.e[i].index = hv_msr_index[i];
	int n = ioctl(vcpu->fd, KVM_GET_MSRS, &m);
	if (n < 0)
		return -errno;
	for (unsigned i = 0; i < HV_MSR_COUNT; i++)
		s->msr[i] = (int)i < n ? m.e[i].data : 0;
	return 0;
}

int hv_kvm_set_state(struct hv_vcpu *vcpu, const struct hv_cpu_state *s)
{
	struct kvm_sregs sr = s->sregs;
	/* Interrupt bitmap: nothing pending is injected by us (the irqchip owns that). */
	memset(sr.interrupt_bitmap, 0, sizeof(sr.interrupt_bitmap));
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sr) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &s->regs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_XSAVE, &s->xsave) < 0)
		return -errno;
	struct msr_buf m = {.hdr.nmsrs = HV_MSR_COUNT};
	for (unsigned i = 0; i < HV_MSR_COUNT; i++) {
		m.e[i].index = hv_msr_index[i];
		m.e[i].data = s->msr[i];
	}
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return -errno;
	if (n != HV_MSR_COUNT)
		hd_debug(TAG, "vCPU %u: KVM took %d of %d MSRs", vcpu->index, n, HV_MSR_COUNT);
	return 0;
}

int hv_kvm_complete_io(struct hv_vcpu *vcpu)
{
	if (!vcpu->io_pending)
		return 0;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int r = ioctl(vcpu->fd, KVM_RUN, 0);
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	vcpu->io_pending = false;
	if (r < 0 && errno != EINTR)
		return -errno;
	return 0;
}

uint64_t hv_kvm_exit_rip(struct hv_vcpu *vcpu)
{
	return (vcpu->run->kvm_valid_regs & KVM_SYNC_X86_REGS) ? vcpu->run->s.regs.regs.rip : 0;
}

unsigned hv_kvm_exit_cpl(struct hv_vcpu *vcpu)
{
	if (!(vcpu->run->kvm_valid_regs & KVM_SYNC_X86_SREGS))
		return 3;
	return vcpu->run->s.regs.sregs.cs.selector & 3;
}

/* ---- dirty log ---- */

int hv_kvm_log_dirty(struct hv_vm *vm, bool on)
{
	/* Outside kvm-only mode the slots always log (the soft engine needs it). */
	if (vm->vm_fd < 0 || vm->engine_mode != HV_ENGINE_MODE_KVM)
		return 0;
	return set_slots(vm, on) < 0 ? -errno : 0;
}

int hv_kvm_dirty_log(struct hv_vm *vm, void (*fn)(void *opaque, uint64_t gpa, uint64_t len),
		     void *opaque)
{
	if (vm->vm_fd < 0)
		return 0;
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct hv_mem_region *r = &vm->mem.regions[i];
		uint64_t pages = r->size >> 12;
		size_t words = (size_t)((pages + 63) / 64);
		if (!vm->dirty_bits[i])
			vm->dirty_bits[i] = hd_xzalloc(words * 8);
		struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = vm->dirty_bits[i]};
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -errno;
		uint64_t *b = vm->dirty_bits[i];
		for (size_t w = 0; w < words; w++) {
			if (!b[w])
				continue;
			uint64_t bits = b[w];
			while (bits) {
				unsigned lo = (unsigned)__builtin_ctzll(bits);
				unsigned hi = lo;
				while (hi + 1 < 64 && (bits >> (hi + 1)) & 1)
					hi++;
				uint64_t gpa = r->gpa + ((uint64_t)w * 64 + lo) * 4096;
				fn(opaque, gpa, (uint64_t)(hi - lo + 1) * 4096);
				bits &= hi == 63 ? 0 : ~((2ull << hi) - 1);
			}
		}
	}
	return 0;
}

/* ---- the run loop's one step ---- */

static void handle_io(struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* A string instruction (rep outsb/insb) arrives as count accesses in one exit. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		uint8_t *d = data + (size_t)i * run->io.size;
		int r = hv_bus_dispatch(&vcpu->vm->pio, run->io.port, d, run->io.size, is_write);
		if (r == -ENOENT)
			hd_debug(TAG, "vCPU %u: %s of unmapped port 0x%x", vcpu->index,
				 is_write ? "write" : "read", run->io.port);
	}
}

static void handle_mmio(struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r = hv_bus_dispatch(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
				run->mmio.len, run->mmio.is_write);
	if (r < 0)
		hd_debug(TAG, "vCPU %u: %s of unmapped MMIO 0x%llx", vcpu->index,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
}

static void report_crash(struct hv_vcpu *vcpu, const char *what)
{
	struct kvm_regs regs;
	char msg[256];
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
		snprintf(msg, sizeof(msg), "guest crashed: %s on vCPU %u at rip=0x%llx", what,
			 vcpu->index, (unsigned long long)regs.rip);
	else
		snprintf(msg, sizeof(msg), "guest crashed: %s on vCPU %u", what, vcpu->index);
	hv_vm_request_stop(vcpu->vm, HV_EXIT_GUEST_CRASH, true, msg);
}

void hv_kvm_thread_init(struct hv_vcpu *vcpu)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* A restored vCPU got its state from the snapshot (hv_vm_restore). */
	if (!vcpu->vm->restored && vcpu_set_entry_state(vcpu) < 0) {
		char what[128];
		snprintf(what, sizeof(what), "cannot set the entry state of vCPU %u: %s",
			 vcpu->index, strerror(errno));
		hv_vm_request_stop(vcpu->vm, HV_EXIT_FAILURE, true, what);
	}
}

enum hv_kvm_event hv_kvm_run_once(struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char what[128];

	int r = ioctl(vcpu->fd, KVM_RUN, 0);
	vcpu->io_pending = false;
	atomic_fetch_add(&vcpu->stats.exits, 1);
	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			atomic_fetch_add(&vcpu->stats.intr_exits, 1);
			return HV_KVM_EV_INTR;
		}
		snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(errno));
		report_crash(vcpu, what);
		return HV_KVM_EV_DEAD;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		atomic_fetch_add(&vcpu->stats.io_exits, 1);
		handle_io(vcpu);
		vcpu->io_pending = true;
		return HV_KVM_EV_IO;
	case KVM_EXIT_MMIO:
		atomic_fetch_add(&vcpu->stats.mmio_exits, 1);
		handle_mmio(vcpu);
		vcpu->io_pending = true; /* an MMIO read completes on the next KVM_RUN too */
		return HV_KVM_EV_MMIO;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; ours halts in the kernel. */
		atomic_fetch_add(&vcpu->stats.hlt_exits, 1);
		return HV_KVM_EV_OTHER;
	case KVM_EXIT_INTR:
		atomic_fetch_add(&vcpu->stats.intr_exits, 1);
		return HV_KVM_EV_INTR;
	case KVM_EXIT_SHUTDOWN:
		report_crash(vcpu, "triple fault (shutdown)");
		return HV_KVM_EV_DEAD;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed (reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		report_crash(vcpu, what);
		return HV_KVM_EV_DEAD;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		report_crash(vcpu, what);
		return HV_KVM_EV_DEAD;
	case KVM_EXIT_SYSTEM_EVENT:
		report_crash(vcpu, "system event");
		return HV_KVM_EV_DEAD;
	default:
		snprintf(what, sizeof(what), "unhandled KVM exit %u", run->exit_reason);
		report_crash(vcpu, what);
		return HV_KVM_EV_DEAD;
	}
}

/* ---- snapshots: KVM's in-kernel devices and per-vCPU extras ----
 * The structs are KVM's x86 ABI, fixed in size and layout, so they are saved as they are. */

#define KVM_SNAP_CHIPS 3 /* PIC master, PIC slave, IOAPIC */

void hv_kvm_save_vm(struct hv_vm *vm, struct hd_buf *out)
{
	for (uint32_t id = 0; id < KVM_SNAP_CHIPS; id++) {
		struct kvm_irqchip chip = {.chip_id = id};
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			hd_warn(TAG, "KVM_GET_IRQCHIP %u: %s", id, strerror(errno));
		hv_snap_put(out, &chip, sizeof(chip));
	}
	struct kvm_pit_state2 pit;
	memset(&pit, 0, sizeof(pit));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		hd_warn(TAG, "KVM_GET_PIT2: %s", strerror(errno));
	hv_snap_put(out, &pit, sizeof(pit));
	struct kvm_clock_data clock;
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		hd_warn(TAG, "KVM_GET_CLOCK: %s", strerror(errno));
	hv_snap_put_u64(out, clock.clock);
}

int hv_kvm_load_vm(struct hv_vm *vm, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct kvm_irqchip chip[KVM_SNAP_CHIPS];
	struct kvm_pit_state2 pit;
	for (uint32_t id = 0; id < KVM_SNAP_CHIPS; id++)
		hv_snap_get(in, &chip[id], sizeof(chip[id]));
	hv_snap_get(in, &pit, sizeof(pit));
	struct kvm_clock_data clock = {.clock = hv_snap_get_u64(in)};
	if (!hv_snap_in_done(in))
		return fail(err, errlen, -EINVAL, "section 'kvm' has the wrong size");
	for (uint32_t id = 0; id < KVM_SNAP_CHIPS; id++) {
		if (chip[id].chip_id != id)
			return fail(err, errlen, -EINVAL, "section 'kvm': bad interrupt chip id");
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip[id]) < 0)
			return fail(err, errlen, -errno, "KVM_SET_IRQCHIP: %s", strerror(errno));
	}
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return fail(err, errlen, -errno, "KVM_SET_PIT2: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return fail(err, errlen, -errno, "KVM_SET_CLOCK: %s", strerror(errno));
	return 0;
}

int hv_kvm_vcpu_save(struct hv_vcpu *vcpu, struct hv_vcpu_snap *s)
{
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &s->lapic) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_MP_STATE, &s->mp) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
		return -errno;
	s->tsc = hv_kvm_guest_tsc(vcpu);
	s->have_kvm = true;
	return 0;
}

int hv_kvm_vcpu_load(struct hv_vcpu *vcpu, const struct hv_vcpu_snap *s)
{
	int r = hv_kvm_set_state(vcpu, &s->cpu);
	if (r < 0)
		return r;
	if (!s->have_kvm) {
		struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
		return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0 ? -errno : 0;
	}
	struct kvm_vcpu_events ev = s->events;
	ev.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		    KVM_VCPUEVENT_VALID_SHADOW;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TIME_STAMP_COUNTER */, .e.data = s->tsc};
	struct kvm_lapic_state lapic = s->lapic;
	struct kvm_mp_state mp = s->mp;
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	if (s->tsc && ioctl(vcpu->fd, KVM_SET_MSRS, &m) != 1)
		hd_debug(TAG, "vCPU %u: TSC not restored", vcpu->index);
	return 0;
}
