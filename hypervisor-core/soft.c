/* soft.c: the software execution engine: Unicorn 2.1 (QEMU's TCG) in system mode on the same
 * guest RAM and device buses as KVM, plus the state conversion both ways. Not the policy of
 * when to use it (select.c, vcpu.c).
 *
 * What Unicorn cannot do and how this file works around it (docs/ARCHITECTURE.md, "Engines"):
 *  - CPL cannot be set through the API: it is patched into the saved CPU context (hflags,
 *    located and verified at start-up) before the segment selectors are loaded.
 *  - Nothing is delivered through the guest IDT: `int n` is delivered here in software;
 *    faults are handed back to KVM, which re-executes the instruction and delivers them
 *    (without KVM they are delivered here too, with error code 0).
 *  - Hidden segment state is not readable: it is decoded from the guest's GDT.
 *  - Code KVM rewrote stays translated: pages KVM dirtied are dropped with
 *    uc_ctl_remove_cache before each run (hv_soft_invalidate).
 *  - Unicorn's own stores do not appear in KVM's dirty log. Nothing needs that yet; a future
 *    live migration must merge the soft engine's writes into its own dirty bitmap. */
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

#include <unicorn/unicorn.h>

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

#define RFLAGS_TF  (1ull << 8)
#define RFLAGS_IF  (1ull << 9)
#define RFLAGS_NT  (1ull << 14)
#define RFLAGS_RF  (1ull << 16)
#define RFLAGS_VM  (1ull << 17)
#define EFER_MSR   0xc0000080u
#define HFLAGS_OFF 176 /* QEMU CPUX86State: regs[16], eip, eflags, cc_dst/src/src2, cc_op, df */
#define HF_LONG    ((1u << 7) | (1u << 14) | (1u << 15)) /* PE, LMA, CS64 */
#define CODE_PAGES 256 /* code pages remembered for invalidation (power of two) */
#define STOP_NONE  (-1)

/* The CPUID of the soft engine's CPU model, taken once per VM from a scratch engine. */
struct hv_soft_cpuid {
	unsigned n;
	struct {
		uint32_t leaf, sub, r[4];
	} e[16];
};

struct code_page {
	uint64_t vpage; /* guest-virtual page the soft engine ran code from; 0 = free */
	uint64_t gpa;   /* its guest-physical page then */
	_Atomic bool stale;
};

struct hv_soft {
	struct hv_vcpu *vcpu;
	uc_engine *uc;
	uc_context *ctx;
	size_t hflags_off; /* offset of hflags in the context blob */
	int stop;          /* enum hv_soft_exit once a hook decided to stop, else STOP_NONE */
	bool leave_on_user;
	uint64_t insns, next_check, last_io_insn, start_ns;
	unsigned irq_seen;
	/* An `int n` or fault seen by the INTR hook, delivered after uc_emu_start returns. */
	bool intr_pending;
	uint32_t intr_no;
	uint64_t fixup_rip; /* RIP to resume at after a hook-initiated hand-back, or 0 */
	uint64_t last_vpage;
	pthread_mutex_t lock; /* code_pages inserts and stale marks */
	struct code_page code[CODE_PAGES];
	bool warned_seg;
	struct hv_cpu_state base; /* the state last loaded: hidden parts and xsave beyond SSE */
};

/* ---- guest-virtual addresses (4-level paging; the soft engine only runs long mode) ---- */

static int gva_to_gpa(struct hv_vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	uint64_t table = cr3 & 0x000ffffffffff000ull;
	for (int level = 3; level >= 0; level--) {
		unsigned idx = (unsigned)((gva >> (12 + 9 * level)) & 511);
		uint64_t e;
		if (hv_mem_read(&vm->mem, table + idx * 8ull, &e, 8) < 0 || !(e & 1))
			return -EFAULT;
		uint64_t addr = e & 0x000ffffffffff000ull;
		if (level > 0 && level < 3 && (e & 0x80)) { /* 1 GiB or 2 MiB page */
			uint64_t mask = (1ull << (12 + 9 * level)) - 1;
			*gpa = (addr & ~mask) + (gva & mask);
			return 0;
		}
		table = addr;
	}
	*gpa = table + (gva & 0xfff);
	return 0;
}

static int gva_rw(struct hv_vm *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len,
		  bool write)
{
	uint8_t *b = buf;
	while (len) {
		uint64_t gpa;
		size_t chunk = 4096 - (gva & 0xfff);
		if (chunk > len)
			chunk = len;
		if (gva_to_gpa(vm, cr3, gva, &gpa) < 0)
			return -EFAULT;
		int r = write ? hv_mem_write(&vm->mem, gpa, b, chunk)
			      : hv_mem_read(&vm->mem, gpa, b, chunk);
		if (r < 0)
			return r;
		gva += chunk;
		b += chunk;
		len -= chunk;
	}
	return 0;
}

/* ---- segment descriptors <-> KVM segments ---- */

static uint32_t seg_flags(const struct kvm_segment *s)
{
	return ((uint32_t)s->type << 8) | ((uint32_t)s->s << 12) | ((uint32_t)s->dpl << 13) |
	       ((uint32_t)s->present << 15) | ((uint32_t)s->avl << 20) | ((uint32_t)s->l << 21) |
	       ((uint32_t)s->db << 22) | ((uint32_t)s->g << 23);
}

static void seg_from_flags(struct kvm_segment *s, uint16_t sel, uint64_t base, uint32_t limit,
			   uint32_t f)
{
	*s = (struct kvm_segment){
		.selector = sel,
		.base = base,
		.limit = limit,
		.type = (f >> 8) & 15,
		.s = (f >> 12) & 1,
		.dpl = (f >> 13) & 3,
		.present = (f >> 15) & 1,
		.avl = (f >> 20) & 1,
		.l = (f >> 21) & 1,
		.db = (f >> 22) & 1,
		.g = (f >> 23) & 1,
		.unusable = !((f >> 15) & 1),
	};
}

/* Decodes selector sel from the GDT/LDT as the CPU would have loaded it. A null selector
 * gives the unusable segment a 64-bit CPU leaves behind (for SS: RPL = cpl). */
static void seg_decode(struct hv_vm *vm, const struct hv_cpu_state *st, uint16_t sel,
		       unsigned cpl, bool is_ss, struct kvm_segment *out)
{
	if ((sel & 0xfffc) == 0) {
		*out = (struct kvm_segment){.selector = sel, .unusable = 1};
		if (is_ss) {
			/* What KVM itself stores for a null SS in 64-bit mode. */
			*out = (struct kvm_segment){.selector = sel, .type = 3, .s = 1, .present = 1,
						    .db = 1, .g = 1, .limit = 0xffffffff,
						    .dpl = (uint8_t)cpl};
		}
		return;
	}
	uint64_t tbase = (sel & 4) ? st->sregs.ldt.base : st->sregs.gdt.base;
	uint32_t desc[2];
	if (gva_rw(vm, st->sregs.cr3, tbase + (sel & ~7u), desc, 8, false) < 0) {
		*out = (struct kvm_segment){.selector = sel, .unusable = 1};
		return;
	}
	uint64_t base = (desc[0] >> 16) | ((uint64_t)(desc[1] & 0xff) << 16) |
			((uint64_t)(desc[1] >> 24) << 24);
	uint32_t limit = (desc[0] & 0xffff) | (desc[1] & 0xf0000);
	if (desc[1] & (1u << 23))
		limit = (limit << 12) | 0xfff;
	seg_from_flags(out, sel, base, limit, desc[1] & 0x00f0ff00u);
	out->type |= 1; /* the CPU sets the accessed bit when it loads a segment */
}

/* ---- CPL through the saved context ---- */

static int set_cpl(struct hv_soft *sf, unsigned cpl)
{
	if (uc_context_save(sf->uc, sf->ctx) != UC_ERR_OK)
		return -EIO;
	uint8_t *b = (uint8_t *)sf->ctx;
	uint32_t hf;
	memcpy(&hf, b + sf->hflags_off, 4);
	if ((hf & 3) == cpl)
		return 0;
	hf = (hf & ~3u) | cpl;
	memcpy(b + sf->hflags_off, &hf, 4);
	return uc_context_restore(sf->uc, sf->ctx) == UC_ERR_OK ? 0 : -EIO;
}

/* Finds hflags in the context blob: RAX and RCX are set to markers, the blob searched for
 * them, and the word HFLAGS_OFF after RAX must look like long mode at CPL0. */
static int find_hflags(struct hv_soft *sf)
{
	uint64_t m1 = 0x48594c4f4e474131ull, m2 = 0x48594c4f4e474132ull;
	uc_reg_write(sf->uc, UC_X86_REG_RAX, &m1);
	uc_reg_write(sf->uc, UC_X86_REG_RCX, &m2);
	if (uc_context_save(sf->uc, sf->ctx) != UC_ERR_OK)
		return -EIO;
	size_t size = uc_context_size(sf->uc);
	const uint8_t *b = (const uint8_t *)sf->ctx;
	for (size_t i = 0; i + 16 + HFLAGS_OFF + 4 <= size + 64; i++) {
		uint64_t a, c;
		memcpy(&a, b + i, 8);
		memcpy(&c, b + i + 8, 8);
		if (a != m1 || c != m2)
			continue;
		uint32_t hf;
		memcpy(&hf, b + i + HFLAGS_OFF, 4);
		if ((hf & HF_LONG) != HF_LONG || (hf & 3) != 0)
			return -ENOTSUP;
		sf->hflags_off = i + HFLAGS_OFF;
		return 0;
	}
	return -ENOTSUP;
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
			if (cp->vpage == 0) {
				uint64_t cr3 = 0, gpa;
				uc_reg_read(uc, UC_X86_REG_CR3, &cr3);
				if (gva_to_gpa(vcpu->vm, cr3, vpage, &gpa) == 0) {
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
	if (find_hflags(sf) < 0) {
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

/* ---- state in ---- */

static const int gpr_ids[] = {
	UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI,
	UC_X86_REG_RDI, UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_R8,  UC_X86_REG_R9,
	UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14,
	UC_X86_REG_R15, UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
};
#define NR_GPRS HD_ARRAY_SIZE(gpr_ids)

static void gpr_ptrs(struct kvm_regs *r, void **p)
{
	__u64 *f[] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi,
			 &r->rsp, &r->rbp, &r->r8,  &r->r9,  &r->r10, &r->r11,
			 &r->r12, &r->r13, &r->r14, &r->r15, &r->rip, &r->rflags};
	for (size_t i = 0; i < NR_GPRS; i++)
		p[i] = f[i];
}

static uc_err write_mmr(uc_engine *uc, int id, const struct kvm_segment *s)
{
	uc_x86_mmr m = {.selector = s->selector, .base = s->base, .limit = s->limit,
			.flags = seg_flags(s)};
	return uc_reg_write(uc, id, &m);
}

static const int seg_ids[] = {UC_X86_REG_CS, UC_X86_REG_SS, UC_X86_REG_DS,
			      UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS};

static const struct kvm_segment *seg_of(const struct kvm_sregs *sr, size_t i)
{
	const struct kvm_segment *segs[] = {&sr->cs, &sr->ss, &sr->ds, &sr->es, &sr->fs, &sr->gs};
	return segs[i];
}

/* FXSAVE layout (SDM Vol. 1 §10.5.1): FCW 0, FSW 2, abridged FTW 4, MXCSR 24, ST 32+16i,
 * XMM 160+16i. */
static void fpu_in(uc_engine *uc, const uint8_t *x)
{
	for (int i = 0; i < 16; i++)
		uc_reg_write(uc, UC_X86_REG_XMM0 + i, x + 160 + 16 * i);
	uint32_t mxcsr;
	uint16_t fcw, fsw;
	memcpy(&mxcsr, x + 24, 4);
	memcpy(&fcw, x, 2);
	memcpy(&fsw, x + 2, 2);
	uint64_t v = mxcsr;
	uc_reg_write(uc, UC_X86_REG_MXCSR, &v);
	v = fcw;
	uc_reg_write(uc, UC_X86_REG_FPCW, &v);
	v = fsw;
	uc_reg_write(uc, UC_X86_REG_FPSW, &v);
	for (int i = 0; i < 8; i++) {
		uint8_t st[16] = {0};
		memcpy(st, x + 32 + 16 * i, 10);
		uc_reg_write(uc, UC_X86_REG_ST0 + i, st);
	}
	/* Abridged tag (1 = valid, by physical register) to the full tag (11 = empty). */
	uint16_t full = 0;
	for (int i = 7; i >= 0; i--)
		full = (uint16_t)((full << 2) | ((x[4] >> i) & 1 ? 0 : 3));
	v = full;
	uc_reg_write(uc, UC_X86_REG_FPTAG, &v);
}

static void fpu_out(uc_engine *uc, uint8_t *x)
{
	for (int i = 0; i < 16; i++)
		uc_reg_read(uc, UC_X86_REG_XMM0 + i, x + 160 + 16 * i);
	uint64_t v = 0;
	uc_reg_read(uc, UC_X86_REG_MXCSR, &v);
	uint32_t mxcsr = (uint32_t)v;
	memcpy(x + 24, &mxcsr, 4);
	v = 0;
	uc_reg_read(uc, UC_X86_REG_FPCW, &v);
	uint16_t w = (uint16_t)v;
	memcpy(x, &w, 2);
	v = 0;
	uc_reg_read(uc, UC_X86_REG_FPSW, &v);
	w = (uint16_t)v;
	memcpy(x + 2, &w, 2);
	for (int i = 0; i < 8; i++) {
		uint8_t st[16] = {0};
		uc_reg_read(uc, UC_X86_REG_ST0 + i, st);
		memcpy(x + 32 + 16 * i, st, 10);
	}
	v = 0;
	uc_reg_read(uc, UC_X86_REG_FPTAG, &v);
	uint8_t ab = 0;
	for (int i = 0; i < 8; i++)
		if (((v >> (2 * i)) & 3) != 3)
			ab |= (uint8_t)(1u << i);
	x[4] = ab;
	x[512] |= 3; /* XSTATE_BV: x87 and SSE state are in the legacy area */
}

int hv_soft_set_state(struct hv_vcpu *vcpu, const struct hv_cpu_state *s)
{
	struct hv_soft *sf = vcpu->soft;
	uc_engine *uc = sf->uc;
	const struct kvm_sregs *sr = &s->sregs;
	sf->base = *s;
	/* Lines raised from now on send the vCPU back to KVM once the guest can take them. */
	sf->irq_seen = atomic_load(&vcpu->vm->irq_pending);

	/* FACTS.md order: CR4, EFER, CR0, CR2 (before CR3: writing CR2 clobbers CR3), CR3. */
	uint64_t v = sr->cr4;
	uc_reg_write(uc, UC_X86_REG_CR4, &v);
	uc_x86_msr efer = {EFER_MSR, sr->efer};
	uc_reg_write(uc, UC_X86_REG_MSR, &efer);
	v = sr->cr0;
	uc_reg_write(uc, UC_X86_REG_CR0, &v);
	v = sr->cr2;
	uc_reg_write(uc, UC_X86_REG_CR2, &v);
	v = sr->cr3;
	uc_reg_write(uc, UC_X86_REG_CR3, &v);
	uc_x86_mmr dt = {.base = sr->gdt.base, .limit = sr->gdt.limit};
	uc_reg_write(uc, UC_X86_REG_GDTR, &dt);
	dt = (uc_x86_mmr){.base = sr->idt.base, .limit = sr->idt.limit};
	uc_reg_write(uc, UC_X86_REG_IDTR, &dt);
	write_mmr(uc, UC_X86_REG_TR, &sr->tr);
	write_mmr(uc, UC_X86_REG_LDTR, &sr->ldt);

	/* Selectors are loaded through the descriptor tables, with the checks of the CPL they
	 * will run at: set that CPL first. */
	unsigned cpl = sr->cs.selector & 3;
	if (set_cpl(sf, cpl) < 0)
		return -EIO;
	for (size_t i = 0; i < HD_ARRAY_SIZE(seg_ids); i++) {
		v = seg_of(sr, i)->selector;
		if (uc_reg_write(uc, seg_ids[i], &v) != UC_ERR_OK && !sf->warned_seg) {
			sf->warned_seg = true;
			hd_warn(TAG, "vCPU %u: Unicorn refused selector 0x%llx (segment %zu)",
				vcpu->index, (unsigned long long)v, i);
		}
	}
	v = sr->fs.base;
	uc_reg_write(uc, UC_X86_REG_FS_BASE, &v);
	v = sr->gs.base;
	uc_reg_write(uc, UC_X86_REG_GS_BASE, &v);
	for (unsigned i = 0; i < HV_MSR_COUNT; i++) {
		uc_x86_msr m = {hv_msr_index[i], s->msr[i]};
		uc_reg_write(uc, UC_X86_REG_MSR, &m);
	}
	struct kvm_regs regs = s->regs;
	void *ptrs[NR_GPRS];
	gpr_ptrs(&regs, ptrs);
	if (uc_reg_write_batch(uc, (int *)gpr_ids, ptrs, (int)NR_GPRS) != UC_ERR_OK)
		return -EIO;
	fpu_in(uc, (const uint8_t *)s->xsave.region);
	return 0;
}

/* ---- state out ---- */

int hv_soft_get_state(struct hv_vcpu *vcpu, struct hv_cpu_state *s)
{
	struct hv_soft *sf = vcpu->soft;
	uc_engine *uc = sf->uc;
	struct hv_vm *vm = vcpu->vm;
	if (s != &sf->base)
		*s = sf->base;
	struct kvm_sregs *sr = &s->sregs;

	void *ptrs[NR_GPRS];
	gpr_ptrs(&s->regs, ptrs);
	if (uc_reg_read_batch(uc, (int *)gpr_ids, ptrs, (int)NR_GPRS) != UC_ERR_OK)
		return -EIO;
	if (sf->fixup_rip) {
		s->regs.rip = sf->fixup_rip;
		sf->fixup_rip = 0;
	}
	uint64_t v = 0;
	uc_reg_read(uc, UC_X86_REG_CR0, &v);
	sr->cr0 = v;
	uc_reg_read(uc, UC_X86_REG_CR2, &v);
	sr->cr2 = v;
	uc_reg_read(uc, UC_X86_REG_CR3, &v);
	sr->cr3 = v;
	uc_reg_read(uc, UC_X86_REG_CR4, &v);
	sr->cr4 = v;
	uc_x86_msr efer = {EFER_MSR, 0};
	if (uc_reg_read(uc, UC_X86_REG_MSR, &efer) == UC_ERR_OK)
		sr->efer = efer.value;
	uc_x86_mmr m = {0};
	uc_reg_read(uc, UC_X86_REG_GDTR, &m);
	sr->gdt.base = m.base;
	sr->gdt.limit = (uint16_t)m.limit;
	uc_reg_read(uc, UC_X86_REG_IDTR, &m);
	sr->idt.base = m.base;
	sr->idt.limit = (uint16_t)m.limit;
	/* TR and LDTR: Unicorn reports their hidden parts. */
	uc_reg_read(uc, UC_X86_REG_TR, &m);
	if (m.selector != sr->tr.selector)
		seg_from_flags(&sr->tr, m.selector, m.base, m.limit, m.flags);
	uc_reg_read(uc, UC_X86_REG_LDTR, &m);
	if (m.selector != sr->ldt.selector)
		seg_from_flags(&sr->ldt, m.selector, m.base, m.limit, m.flags);

	/* The other segments' hidden parts are not readable: a selector that changed is decoded
	 * from the descriptor tables as the CPU loaded it. */
	uint64_t sel[6];
	for (size_t i = 0; i < 6; i++) {
		sel[i] = 0;
		uc_reg_read(uc, seg_ids[i], &sel[i]);
		sel[i] &= 0xffff;
	}
	unsigned cpl = (unsigned)(sel[0] & 3);
	struct kvm_segment *segs[] = {&sr->cs, &sr->ss, &sr->ds, &sr->es, &sr->fs, &sr->gs};
	for (size_t i = 0; i < 6; i++) {
		if (segs[i]->selector == sel[i] && !(i == 1 && segs[i]->dpl != cpl))
			continue;
		uint64_t base = segs[i]->base;
		seg_decode(vm, s, (uint16_t)sel[i], cpl, i == 1, segs[i]);
		if (i >= 4)
			segs[i]->base = base; /* FS/GS bases come from the MSRs below */
	}
	uc_reg_read(uc, UC_X86_REG_FS_BASE, &v);
	sr->fs.base = v;
	uc_reg_read(uc, UC_X86_REG_GS_BASE, &v);
	sr->gs.base = v;
	for (unsigned i = 0; i < HV_MSR_COUNT; i++) {
		uc_x86_msr msr = {hv_msr_index[i], 0};
		if (uc_reg_read(uc, UC_X86_REG_MSR, &msr) == UC_ERR_OK)
			s->msr[i] = msr.value;
	}
	fpu_out(uc, (uint8_t *)s->xsave.region);
	sf->base = *s;
	return 0;
}

/* ---- interrupt delivery through the IDT (64-bit gates, SDM Vol. 3 §6.14) ---- */

static bool is_soft_int(struct hv_soft *sf, uint64_t rip, uint32_t no, uint64_t cr3)
{
	uint8_t insn[2];
	if (rip < 2 || gva_rw(sf->vcpu->vm, cr3, rip - 2, insn, 2, false) < 0)
		return false;
	return insn[0] == 0xcd && insn[1] == no;
}

static bool has_error_code(uint32_t vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21;
}

/* Delivers vector vec with the return address rip; returns 0 or -errno (the caller then hands
 * the vCPU back or reports a crash). */
static int deliver(struct hv_soft *sf, uint32_t vec, uint64_t rip, bool soft_int)
{
	uc_engine *uc = sf->uc;
	struct hv_vm *vm = sf->vcpu->vm;
	uint64_t cr3 = 0, rsp = 0, rflags = 0, cs = 0, ss = 0;
	uc_reg_read(uc, UC_X86_REG_CR3, &cr3);
	uc_reg_read(uc, UC_X86_REG_RSP, &rsp);
	uc_reg_read(uc, UC_X86_REG_RFLAGS, &rflags);
	uc_reg_read(uc, UC_X86_REG_CS, &cs);
	uc_reg_read(uc, UC_X86_REG_SS, &ss);
	cs &= 0xffff;
	ss &= 0xffff;
	unsigned cpl = (unsigned)(cs & 3);
	uc_x86_mmr idt = {0}, tr = {0};
	uc_reg_read(uc, UC_X86_REG_IDTR, &idt);
	uc_reg_read(uc, UC_X86_REG_TR, &tr);
	if (vec * 16 + 15 > idt.limit)
		return -EINVAL;
	uint32_t g[4];
	if (gva_rw(vm, cr3, idt.base + vec * 16ull, g, 16, false) < 0)
		return -EFAULT;
	unsigned type = (g[1] >> 8) & 0xf, dpl = (g[1] >> 13) & 3, ist = g[1] & 7;
	if (!((g[1] >> 15) & 1) || (type != 0xe && type != 0xf))
		return -EINVAL;
	if (soft_int && dpl < cpl)
		return -EPERM; /* #GP: let KVM deliver it */
	uint16_t new_cs = (uint16_t)(g[0] >> 16);
	uint64_t target = (g[0] & 0xffff) | (g[1] & 0xffff0000u) | ((uint64_t)g[2] << 32);
	unsigned new_cpl = new_cs & 3;
	if (new_cpl > cpl)
		return -EPERM;
	uint64_t new_rsp = rsp;
	if (ist || new_cpl < cpl) {
		uint64_t off = ist ? 0x24 + 8ull * (ist - 1) : 4 + 8ull * new_cpl;
		if (gva_rw(vm, cr3, tr.base + off, &new_rsp, 8, false) < 0)
			return -EFAULT;
	}
	new_rsp &= ~0xfull;
	uint64_t frame[6];
	unsigned n = 0;
	bool err = !soft_int && has_error_code(vec);
	if (err)
		frame[n++] = 0; /* Unicorn does not report the error code */
	frame[n++] = rip;
	frame[n++] = cs;
	frame[n++] = rflags;
	frame[n++] = rsp;
	frame[n++] = ss;
	/* frame[] is in push order reversed: the lowest address gets frame[0]. */
	new_rsp -= 8ull * n;
	if (gva_rw(vm, cr3, new_rsp, frame, 8ull * n, true) < 0)
		return -EFAULT;
	rflags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
	if (type == 0xe)
		rflags &= ~RFLAGS_IF;
	if (new_cpl != cpl) {
		if (set_cpl(sf, new_cpl) < 0)
			return -EIO;
	}
	uint64_t v = new_cs;
	if (uc_reg_write(uc, UC_X86_REG_CS, &v) != UC_ERR_OK)
		return -EINVAL;
	if (new_cpl != cpl) {
		v = new_cpl; /* null SS with RPL = new CPL */
		uc_reg_write(uc, UC_X86_REG_SS, &v);
	}
	uc_reg_write(uc, UC_X86_REG_RSP, &new_rsp);
	uc_reg_write(uc, UC_X86_REG_RFLAGS, &rflags);
	uc_reg_write(uc, UC_X86_REG_RIP, &target);
	atomic_fetch_add(&sf->vcpu->estats.soft_ints, 1);
	/* A system call is kernel entry: like I/O, it keeps a CPL3 stream from looking quiet,
	 * so a syscall-dense program stays here instead of paying KVM's emulated CPL0. */
	sf->last_io_insn = sf->insns;
	return 0;
}

/* ---- running ---- */

enum hv_soft_exit hv_soft_run(struct hv_vcpu *vcpu, bool leave_on_user)
{
	struct hv_soft *sf = vcpu->soft;
	struct hv_vm *vm = vcpu->vm;
	uc_engine *uc = sf->uc;

	drop_stale(sf);
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
			bool soft_int = is_soft_int(sf, rip, sf->intr_no, cr3);
			/* Faults go back to KVM, which re-executes and delivers them exactly (Unicorn's
			 * vector numbers are not always right, and it has no error code). */
			if (!soft_int && vm->have_kvm)
				return HV_SOFT_EXIT_UNSUPPORTED;
			if (!soft_int && sf->intr_no == 3) {
				soft_int = true; /* int3 is a trap: RIP is already past it */
			}
			int r = deliver(sf, sf->intr_no, rip, soft_int);
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
		if (rip && gva_rw(vm, cr3, rip - 1, &op, 1, false) == 0 && op == 0xf4)
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
