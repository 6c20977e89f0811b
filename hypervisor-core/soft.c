/* soft.c: the software execution engine: Unicorn 2.1 (QEMU's TCG) in system mode on the same
 * guest RAM and device buses as KVM: its creation, hooks and run loop. Not the state
 * conversion (soft-state.c), interrupt delivery (soft-intr.c), nor when to use it (select.c).
 *
 * What Unicorn cannot do and how this file works around it (docs/ARCHITECTURE.md, "Engines"):
 *  - CPL cannot be set through the API: it is patched into the saved CPU context (hflags,
 *    located and verified at start-up) before the segment selectors are loaded.
 *  - Nothing is delivered through the guest IDT: `int n` is delivered here in software
 *    (soft-intr.c); faults are handed back to KVM, which re-executes the instruction and
 *    delivers them. Without KVM a fault ends the VM as a crash: Unicorn 2.1.1 never clears
 *    its "exception in flight" (old_exception), so the fault it re-executes after reporting
 *    one becomes a #DF and the next a silent stop at the faulting instruction.
 *  - Hidden segment state is not readable: it is decoded from the guest's GDT.
 *  - Code KVM rewrote stays translated: pages KVM dirtied are dropped with
 *    uc_ctl_remove_cache before each run (hv_soft_invalidate).
 *  - Unicorn's own stores do not appear in KVM's dirty log: while a migration traces writes,
 *    a UC_HOOK_MEM_WRITE hook (installed then only, with a flush of the translations made
 *    without it) marks the VM's dirty bitmap (dirty.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "soft"

#ifndef HV_HAVE_UNICORN

const bool hv_soft_available = false;
bool hv_soft_engine_built(void) { return false; }
int hv_soft_vm_init(struct hv_vm *vm, char *err, size_t errlen)
{
	snprintf(err, errlen, "this build has no software engine (Unicorn was not found)");
	return -ENOTSUP;
}
void hv_soft_vm_fini(struct hv_vm *vm) {}
int hv_soft_create(struct hv_vcpu *vcpu, char *err, size_t errlen) { return -ENOTSUP; }
void hv_soft_destroy(struct hv_vcpu *vcpu) {}
int hv_soft_set_state(struct hv_vcpu *vcpu, const struct hv_cpu_state *s) { return -ENOTSUP; }
int hv_soft_get_state(struct hv_vcpu *vcpu, struct hv_cpu_state *s) { return -ENOTSUP; }
enum hv_soft_exit hv_soft_run(struct hv_vcpu *vcpu, bool leave_on_user)
{
	return HV_SOFT_EXIT_CRASH;
}
void hv_soft_invalidate(struct hv_vcpu *vcpu, uint64_t gpa, uint64_t len) {}
void hv_soft_kick(struct hv_vcpu *vcpu) {}
bool hv_soft_cpuid(struct hv_vm *vm, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	return false;
}

#else

#include "soft-internal.h"

const bool hv_soft_available = true;
bool hv_soft_engine_built(void) { return true; }

/* LeakSanitizer (the asan+ubsan test build) reports 32 bytes libunicorn itself never frees
 * per engine; they are not ours to fix. The sanitizer runtime looks this hook up by name. */
const char *__lsan_default_suppressions(void) __attribute__((visibility("default"), used));
const char *__lsan_default_suppressions(void)
{
	return "leak:libunicorn.so\n";
}

/* ...and quietly: tests compare stderr line for line. */
const char *__lsan_default_options(void) __attribute__((visibility("default"), used));
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

/* ---- hooks ---- */

static void stop_with(struct hv_soft *sf, enum hv_soft_exit why)
{
	if (sf->stop == STOP_NONE)
		sf->stop = (int)why;
	uc_emu_stop(sf->uc);
}

static unsigned cur_cpl(struct hv_soft *sf)
{
	uint64_t cs = 0;
	uc_reg_read(sf->uc, UC_X86_REG_CS, &cs);
	return (unsigned)(cs & 3);
}

/* Every instruction passes here: it counts, remembers code pages for invalidation, and every
 * user_check_insns looks for reasons to hand back. The hook also makes uc_emu_stop from the
 * I/O hooks exact (without one Unicorn rolls RIP back to the block start). */
static void hook_code(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
	struct hv_soft *sf = opaque;
	struct hv_vcpu *vcpu = sf->vcpu;
	sf->insns++;
	uint64_t vpage = address & ~0xfffull;
	if (vpage != sf->last_vpage) {
		sf->last_vpage = vpage;
		unsigned h = (unsigned)((vpage >> 12) * 0x9e3779b1u) & (CODE_PAGES - 1);
		for (unsigned i = 0; i < CODE_PAGES; i++) {
			struct code_page *cp = &sf->code[(h + i) & (CODE_PAGES - 1)];
			if (cp->vpage == vpage)
				break;
			if (i == CODE_PAGES - 1 && cp->vpage)
				sf->code_overflow = true; /* not remembered: see follow_tracing */
			if (cp->vpage == 0) {
				uint64_t cr3 = 0, gpa;
				uc_reg_read(uc, UC_X86_REG_CR3, &cr3);
				if (hv_soft_gva_to_gpa(vcpu->vm, cr3, vpage, &gpa) == 0) {
					pthread_mutex_lock(&sf->lock);
					cp->gpa = gpa & ~0xfffull;
					cp->vpage = vpage;
					atomic_store(&cp->stale, false);
					pthread_mutex_unlock(&sf->lock);
				}
				break;
			}
		}
	}
	if (sf->insns < sf->next_check)
		return;
	sf->next_check = sf->insns + vcpu->vm->tune.user_check_insns;
	if (atomic_load(&vcpu->vm->stop_requested) || atomic_load(&vcpu->soft_kick)) {
		stop_with(sf, HV_SOFT_EXIT_STOP);
		return;
	}
	uint64_t now = hd_now_ns();
	if (vcpu->vm->have_kvm) {
		uint64_t rflags = 0;
		uc_reg_read(uc, UC_X86_REG_RFLAGS, &rflags);
		if ((rflags & RFLAGS_IF) && atomic_load(&vcpu->vm->irq_pending) != sf->irq_seen) {
			stop_with(sf, HV_SOFT_EXIT_IRQ);
			return;
		}
		if (sf->leave_on_user && cur_cpl(sf) == 3 &&
		    now - sf->start_ns >= vcpu->vm->tune.soft_min_us * 1000ull &&
		    sf->insns - sf->last_io_insn >= vcpu->vm->tune.user_check_insns) {
			stop_with(sf, HV_SOFT_EXIT_USER);
			return;
		}
	}
	if (now - sf->start_ns >= vcpu->vm->tune.slice_ms * 1000000ull)
		stop_with(sf, HV_SOFT_EXIT_SLICE);
}

static void io_note(struct hv_soft *sf)
{
	sf->last_io_insn = sf->insns;
	atomic_fetch_add(&sf->vcpu->estats.exits[HV_ENGINE_SOFT], 1);
	atomic_fetch_add(&sf->vcpu->stats.io_exits, 1);
}

static uint32_t hook_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
	struct hv_soft *sf = opaque;
	uint32_t v = 0xffffffffu;
	io_note(sf);
	hv_bus_dispatch(&sf->vcpu->vm->pio, port, &v, (uint32_t)size, false);
	if (size < 4)
		v &= (1u << (8 * size)) - 1;
	return v;
}

static void hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
	struct hv_soft *sf = opaque;
	io_note(sf);
	hv_bus_dispatch(&sf->vcpu->vm->pio, port, &value, (uint32_t)size, true);
	if (atomic_load(&sf->vcpu->vm->stop_requested))
		stop_with(sf, HV_SOFT_EXIT_STOP);
}

static uint64_t mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
	struct hv_soft *sf = opaque;
	uint64_t v = ~0ull;
	io_note(sf);
	atomic_fetch_add(&sf->vcpu->stats.mmio_exits, 1);
	hv_bus_dispatch(&sf->vcpu->vm->mmio, HV_MMIO_BASE + offset, &v, size, false);
	return v;
}

static void mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
		       void *opaque)
{
	struct hv_soft *sf = opaque;
	io_note(sf);
	atomic_fetch_add(&sf->vcpu->stats.mmio_exits, 1);
	hv_bus_dispatch(&sf->vcpu->vm->mmio, HV_MMIO_BASE + offset, &value, size, true);
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
	struct hv_soft *sf = opaque;
	sf->intr_pending = true;
	sf->intr_no = intno;
	uc_emu_stop(uc);
}

/* SYSCALL/SYSENTER: Unicorn only calls the hook and skips the instruction. KVM runs it. */
static void hook_syscall(uc_engine *uc, void *opaque)
{
	struct hv_soft *sf = opaque;
	uint64_t rip = 0;
	uc_reg_read(uc, UC_X86_REG_RIP, &rip);
	sf->fixup_rip = rip;
	stop_with(sf, HV_SOFT_EXIT_UNSUPPORTED);
}

/* CPUID answers from the VM's table (KVM's, restricted to what both engines run), so a guest
 * sees one CPU whichever engine runs it. */
static int hook_cpuid(uc_engine *uc, void *opaque)
{
	struct hv_soft *sf = opaque;
	struct hv_vm *vm = sf->vcpu->vm;
	if (!vm->cpuid)
		return 0; /* soft-only: the model's own CPUID */
	uint64_t leaf = 0, sub = 0;
	uc_reg_read(uc, UC_X86_REG_RAX, &leaf);
	uc_reg_read(uc, UC_X86_REG_RCX, &sub);
	uint64_t r[4] = {0, 0, 0, 0};
	for (unsigned i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function != (uint32_t)leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != (uint32_t)sub)
			continue;
		r[0] = e->eax;
		r[1] = e->ebx;
		r[2] = e->ecx;
		r[3] = e->edx;
		break;
	}
	if ((uint32_t)leaf == 1) {
		r[1] = (r[1] & 0x00ffffff) | ((uint64_t)sf->vcpu->index << 24);
		r[2] |= 1u << 31;
	} else if ((uint32_t)leaf == 0xb || (uint32_t)leaf == 0x1f) {
		r[3] = sf->vcpu->index;
	}
	uc_reg_write(uc, UC_X86_REG_RAX, &r[0]);
	uc_reg_write(uc, UC_X86_REG_RBX, &r[1]);
	uc_reg_write(uc, UC_X86_REG_RCX, &r[2]);
	uc_reg_write(uc, UC_X86_REG_RDX, &r[3]);
	return 1; /* skip Unicorn's own */
}

/* ---- the engine ---- */

static uc_engine *open_engine(void)
{
	uc_engine *uc;
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
		return NULL;
	/* The default model lacks instructions compilers emit (popcnt, ...). */
	if (uc_ctl_set_cpu_model(uc, UC_CPU_X86_EPYC_ROME) != UC_ERR_OK) {
		uc_close(uc);
		return NULL;
	}
	return uc;
}

bool hv_soft_cpuid(struct hv_vm *vm, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	struct hv_soft_cpuid *c = vm->soft_cpuid;
	if (!c)
		return false;
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].leaf == leaf && c->e[i].sub == sub) {
			memcpy(out, c->e[i].r, 16);
			return true;
		}
	return false;
}

/* Runs `cpuid` for the leaves the intersection needs on a scratch engine. */
static int probe_cpuid(struct hv_vm *vm)
{
	static const uint32_t leaves[][2] = {{1, 0}, {7, 0}, {0xd, 0}, {0xd, 1}, {0x80000001, 0}};
	uc_engine *uc = open_engine();
	if (!uc)
		return -ENODEV;
	static const uint8_t code[] = {0x0f, 0xa2}; /* cpuid */
	int r = 0;
	if (uc_mem_map(uc, 0x1000, 0x1000, UC_PROT_ALL) != UC_ERR_OK ||
	    uc_mem_write(uc, 0x1000, code, sizeof(code)) != UC_ERR_OK) {
		r = -ENOMEM;
		goto out;
	}
	struct hv_soft_cpuid *c = hd_xzalloc(sizeof(*c));
	for (size_t i = 0; i < HD_ARRAY_SIZE(leaves); i++) {
		uint64_t a = leaves[i][0], cx = leaves[i][1], v[4];
		uc_reg_write(uc, UC_X86_REG_RAX, &a);
		uc_reg_write(uc, UC_X86_REG_RCX, &cx);
		if (uc_emu_start(uc, 0x1000, 0x1000 + sizeof(code), 0, 1) != UC_ERR_OK)
			continue;
		uc_reg_read(uc, UC_X86_REG_RAX, &v[0]);
		uc_reg_read(uc, UC_X86_REG_RBX, &v[1]);
		uc_reg_read(uc, UC_X86_REG_RCX, &v[2]);
		uc_reg_read(uc, UC_X86_REG_RDX, &v[3]);
		c->e[c->n].leaf = leaves[i][0];
		c->e[c->n].sub = leaves[i][1];
		for (int k = 0; k < 4; k++)
			c->e[c->n].r[k] = (uint32_t)v[k];
		c->n++;
	}
	vm->soft_cpuid = c;
out:
	uc_close(uc);
	return r;
}

int hv_soft_vm_init(struct hv_vm *vm, char *err, size_t errlen)
{
	int r = probe_cpuid(vm);
	if (r < 0) {
		snprintf(err, errlen, "the software engine (Unicorn) cannot start: %s",
			 strerror(-r));
		return r;
	}
	return 0;
}

void hv_soft_vm_fini(struct hv_vm *vm)
{
	free(vm->soft_cpuid);
	vm->soft_cpuid = NULL;
}

/* uc_hook_add takes callbacks as void *; ISO C has no cast for that, memcpy does it. */
static void *cb(void (*f)(void))
{
	void *p;
	_Static_assert(sizeof(p) == sizeof(f), "function and object pointers differ in size");
	memcpy(&p, &f, sizeof(p));
	return p;
}

int hv_soft_create(struct hv_vcpu *vcpu, char *err, size_t errlen)
{
	struct hv_vm *vm = vcpu->vm;
	struct hv_soft *sf = hd_xzalloc(sizeof(*sf));
	sf->vcpu = vcpu;
	sf->stop = STOP_NONE;
	pthread_mutex_init(&sf->lock, NULL);
	vcpu->soft = sf;
	sf->uc = open_engine();
	if (!sf->uc) {
		snprintf(err, errlen, "cannot create the software engine for vCPU %u", vcpu->index);
		return -ENODEV;
	}
	/* Guest RAM is shared, not copied: Unicorn maps the same memfd mapping KVM uses. */
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct hv_mem_region *reg = &vm->mem.regions[i];
		uc_err e = uc_mem_map_ptr(sf->uc, reg->gpa, reg->size, UC_PROT_ALL, reg->host);
		if (e != UC_ERR_OK) {
			snprintf(err, errlen, "software engine cannot map guest RAM: %s",
				 uc_strerror(e));
			return -ENOMEM;
		}
	}
	uc_err e = uc_mmio_map(sf->uc, HV_MMIO_BASE, HV_BOOT_MAX_DEV * HV_MMIO_SLOT, mmio_read,
			       sf, mmio_write, sf);
	if (e != UC_ERR_OK) {
		snprintf(err, errlen, "software engine cannot map MMIO: %s", uc_strerror(e));
		return -ENOMEM;
	}
	uc_hook h;
	if (uc_hook_add(sf->uc, &h, UC_HOOK_CODE, cb((void (*)(void))hook_code), sf, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(sf->uc, &h, UC_HOOK_INTR, cb((void (*)(void))hook_intr), sf, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(sf->uc, &h, UC_HOOK_INSN, cb((void (*)(void))hook_in), sf, 1, 0, UC_X86_INS_IN) !=
		    UC_ERR_OK ||
	    uc_hook_add(sf->uc, &h, UC_HOOK_INSN, cb((void (*)(void))hook_out), sf, 1, 0, UC_X86_INS_OUT) !=
		    UC_ERR_OK ||
	    uc_hook_add(sf->uc, &h, UC_HOOK_INSN, cb((void (*)(void))hook_syscall), sf, 1, 0,
			UC_X86_INS_SYSCALL) != UC_ERR_OK ||
	    uc_hook_add(sf->uc, &h, UC_HOOK_INSN, cb((void (*)(void))hook_syscall), sf, 1, 0,
			UC_X86_INS_SYSENTER) != UC_ERR_OK ||
	    uc_hook_add(sf->uc, &h, UC_HOOK_INSN, cb((void (*)(void))hook_cpuid), sf, 1, 0,
			UC_X86_INS_CPUID) != UC_ERR_OK) {
		snprintf(err, errlen, "software engine: cannot install hooks");
		return -ENODEV;
	}
	if (uc_context_alloc(sf->uc, &sf->ctx) != UC_ERR_OK) {
		snprintf(err, errlen, "software engine: cannot allocate a context");
		return -ENOMEM;
	}
	/* Bring the engine into long mode once so hflags can be found and checked. */
	struct hv_cpu_state *st = hd_xzalloc(sizeof(*st));
	hv_cpu_entry_state(vcpu, st);
	uint64_t v = st->sregs.cr4;
	uc_reg_write(sf->uc, UC_X86_REG_CR4, &v);
	uc_x86_msr efer = {EFER_MSR, st->sregs.efer};
	uc_reg_write(sf->uc, UC_X86_REG_MSR, &efer);
	v = st->sregs.cr0;
	uc_reg_write(sf->uc, UC_X86_REG_CR0, &v);
	free(st);
	if (hv_soft_find_hflags(sf) < 0) {
		snprintf(err, errlen,
			 "software engine: this Unicorn's CPU context has an unknown layout");
		return -ENOTSUP;
	}
	return 0;
}

void hv_soft_destroy(struct hv_vcpu *vcpu)
{
	struct hv_soft *sf = vcpu->soft;
	if (!sf)
		return;
	if (sf->ctx)
		uc_context_free(sf->ctx);
	if (sf->uc)
		uc_close(sf->uc);
	pthread_mutex_destroy(&sf->lock);
	free(sf);
	vcpu->soft = NULL;
}

void hv_soft_kick(struct hv_vcpu *vcpu)
{
	/* The code hook polls vcpu->soft_kick; nothing to interrupt from outside. */
}

/* Called with KVM's dirty runs: marks remembered code pages in them stale. */
void hv_soft_invalidate(struct hv_vcpu *vcpu, uint64_t gpa, uint64_t len)
{
	struct hv_soft *sf = vcpu->soft;
	if (!sf)
		return;
	pthread_mutex_lock(&sf->lock);
	for (unsigned i = 0; i < CODE_PAGES; i++) {
		struct code_page *cp = &sf->code[i];
		if (cp->vpage && cp->gpa >= gpa && cp->gpa - gpa < len)
			atomic_store(&cp->stale, true);
	}
	pthread_mutex_unlock(&sf->lock);
}

/* On this thread, before running: drops translations of stale pages. */
static void drop_stale(struct hv_soft *sf)
{
	pthread_mutex_lock(&sf->lock);
	bool any = false;
	for (unsigned i = 0; i < CODE_PAGES; i++) {
		struct code_page *cp = &sf->code[i];
		if (cp->vpage && atomic_load(&cp->stale)) {
			uc_ctl_remove_cache(sf->uc, cp->vpage, cp->vpage + 4096);
			any = true;
		}
	}
	if (any) {
		/* Forget them all: slots freed by a stale entry would break the probe chains. */
		for (unsigned i = 0; i < CODE_PAGES; i++)
			if (sf->code[i].vpage && atomic_load(&sf->code[i].stale))
				sf->code[i].vpage = 0, sf->code[i].gpa = 0;
		struct code_page keep[CODE_PAGES];
		unsigned n = 0;
		for (unsigned i = 0; i < CODE_PAGES; i++)
			if (sf->code[i].vpage) {
				keep[n].vpage = sf->code[i].vpage;
				keep[n++].gpa = sf->code[i].gpa;
			}
		memset(sf->code, 0, sizeof(sf->code));
		for (unsigned k = 0; k < n; k++) {
			unsigned h = (unsigned)((keep[k].vpage >> 12) * 0x9e3779b1u) & (CODE_PAGES - 1);
			while (sf->code[h].vpage)
				h = (h + 1) & (CODE_PAGES - 1);
			sf->code[h].vpage = keep[k].vpage;
			sf->code[h].gpa = keep[k].gpa;
		}
	}
	sf->last_vpage = 0;
	pthread_mutex_unlock(&sf->lock);
}

/* ---- write tracing for migrations ---- */

/* Unicorn reports guest-virtual addresses: walk the tables (one translation cached). */
static void mark_write(struct hv_soft *sf, uint64_t cr3, uint64_t va)
{
	uint64_t vpage = va & ~0xfffull, gpa;
	if (cr3 == sf->wr_cr3 && vpage == sf->wr_vpage) {
		gpa = sf->wr_gpage;
	} else {
		if (hv_soft_gva_to_gpa(sf->vcpu->vm, cr3, vpage, &gpa) < 0)
			return; /* the store faults; nothing was written */
		sf->wr_cr3 = cr3;
		sf->wr_vpage = vpage;
		sf->wr_gpage = gpa;
	}
	hv_mem_mark_dirty(&sf->vcpu->vm->mem, gpa, 1);
}

static void hook_write(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
		       int64_t value, void *opaque)
{
	(void)type;
	(void)value;
	struct hv_soft *sf = opaque;
	uint64_t cr3 = 0;
	uc_reg_read(uc, UC_X86_REG_CR3, &cr3);
	mark_write(sf, cr3, address);
	if (size > 1 && ((address + (uint64_t)size - 1) ^ address) & ~0xfffull)
		mark_write(sf, cr3, address + (uint64_t)size - 1);
}

/* On the vCPU's own thread, before running: follows the VM's tracing state. */
static void follow_tracing(struct hv_soft *sf)
{
	bool want = hv_dirty_active(sf->vcpu->vm->mem.dirty);
	if (want == sf->write_hooked)
		return;
	if (want) {
		if (uc_hook_add(sf->uc, &sf->write_hook, UC_HOOK_MEM_WRITE,
				cb((void (*)(void))hook_write), sf, 1, 0) != UC_ERR_OK) {
			hd_warn(TAG, "vCPU %u: cannot trace writes; a migration will fail",
				sf->vcpu->index);
			return;
		}
		/* Code translated before the hook was added would not call it: drop the
		 * translations of the code pages this vCPU ran (a few µs each). Only when that
		 * table overflowed, the whole cache (a full flush measured 2.8 s here). */
		uint64_t t0 = hd_now_ns();
		pthread_mutex_lock(&sf->lock);
		for (unsigned i = 0; i < CODE_PAGES && !sf->code_overflow; i++)
			if (sf->code[i].vpage)
				uc_ctl_remove_cache(sf->uc, sf->code[i].vpage,
						    sf->code[i].vpage + 4096);
		if (sf->code_overflow)
			uc_ctl_flush_tb(sf->uc);
		pthread_mutex_unlock(&sf->lock);
		hd_debug(TAG, "vCPU %u: tracing writes (%s in %.2f ms)", sf->vcpu->index,
			 sf->code_overflow ? "full flush" : "code pages dropped",
			 (hd_now_ns() - t0) / 1e6);
		sf->wr_cr3 = sf->wr_vpage = ~0ull;
		sf->write_hooked = true;
	} else {
		uc_hook_del(sf->uc, sf->write_hook);
		sf->write_hooked = false;
	}
}

/* ---- running ---- */

enum hv_soft_exit hv_soft_run(struct hv_vcpu *vcpu, bool leave_on_user)
{
	struct hv_soft *sf = vcpu->soft;
	struct hv_vm *vm = vcpu->vm;
	uc_engine *uc = sf->uc;

	drop_stale(sf);
	follow_tracing(sf);
	sf->leave_on_user = leave_on_user;
	sf->start_ns = hd_now_ns();
	sf->next_check = sf->insns + vm->tune.user_check_insns;
	sf->last_io_insn = sf->insns;
	for (;;) {
		sf->stop = STOP_NONE;
		sf->intr_pending = false;
		uint64_t rip = 0;
		uc_reg_read(uc, UC_X86_REG_RIP, &rip);
		uint64_t before = sf->insns;
		uc_err e = uc_emu_start(uc, rip, UINT64_MAX, 0, 0);
		atomic_fetch_add(&vcpu->estats.insns_soft, sf->insns - before);
		if (sf->intr_pending) {
			uint64_t cr3 = 0;
			uc_reg_read(uc, UC_X86_REG_RIP, &rip);
			uc_reg_read(uc, UC_X86_REG_CR3, &cr3);
			bool soft_int = hv_soft_is_int(sf, rip, sf->intr_no, cr3);
			/* Faults go back to KVM, which re-executes and delivers them exactly (Unicorn's
			 * vector numbers are not always right, and it has no error code). */
			if (!soft_int && vm->have_kvm)
				return HV_SOFT_EXIT_UNSUPPORTED;
			if (!soft_int && sf->intr_no == 3) {
				soft_int = true; /* int3 is a trap: RIP is already past it */
			}
			int r = hv_soft_deliver(sf, sf->intr_no, rip, soft_int);
			if (r < 0) {
				if (vm->have_kvm) {
					if (soft_int) {
						sf->fixup_rip = rip - 2; /* KVM re-executes the int */
					}
					return HV_SOFT_EXIT_UNSUPPORTED;
				}
				char msg[160];
				snprintf(msg, sizeof(msg),
					 "guest crashed: exception %u at rip=0x%llx could not be delivered "
					 "(software engine)",
					 sf->intr_no, (unsigned long long)rip);
				hv_vm_request_stop(vm, HV_EXIT_GUEST_CRASH, true, msg);
				return HV_SOFT_EXIT_CRASH;
			}
			if (sf->stop == STOP_NONE)
				continue;
		}
		if (sf->stop != STOP_NONE)
			return (enum hv_soft_exit)sf->stop;
		if (e != UC_ERR_OK) {
			uc_reg_read(uc, UC_X86_REG_RIP, &rip);
			if (vm->have_kvm) {
				hd_debug(TAG, "vCPU %u: %s at rip=0x%llx: handing back to KVM",
					 vcpu->index, uc_strerror(e), (unsigned long long)rip);
				return HV_SOFT_EXIT_UNSUPPORTED;
			}
			char msg[160];
			snprintf(msg, sizeof(msg), "guest crashed: %s at rip=0x%llx (software engine)",
				 uc_strerror(e), (unsigned long long)rip);
			hv_vm_request_stop(vm, HV_EXIT_GUEST_CRASH, true, msg);
			return HV_SOFT_EXIT_CRASH;
		}
		/* Returned without a hook stopping it and without an error: normally the guest
		 * halted (RIP is past the hlt). Unicorn also ends this way on some faults (a #PF on
		 * a write-protected page at CPL3): anything else is handed back. */
		uint64_t cr3 = 0;
		uint8_t op = 0;
		uc_reg_read(uc, UC_X86_REG_RIP, &rip);
		uc_reg_read(uc, UC_X86_REG_CR3, &cr3);
		if (rip && hv_soft_gva_rw(vm, cr3, rip - 1, &op, 1, false) == 0 && op == 0xf4)
			return HV_SOFT_EXIT_HLT;
		if (vm->have_kvm)
			return HV_SOFT_EXIT_UNSUPPORTED;
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "guest crashed: the software engine stopped at rip=0x%llx (a fault it "
			 "cannot deliver)",
			 (unsigned long long)rip);
		hv_vm_request_stop(vm, HV_EXIT_GUEST_CRASH, true, msg);
		return HV_SOFT_EXIT_CRASH;
	}
}

#endif
