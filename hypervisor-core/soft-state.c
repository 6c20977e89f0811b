/* soft-state.c: the soft engine's side of a switch: struct hv_cpu_state (KVM's format) into
 * Unicorn and back, segment descriptors, and the CPL patched into the saved context. Not
 * running the guest (soft.c) nor interrupt delivery (soft-intr.c). */
#include <errno.h>
#include <string.h>

#include "hv-internal.h"

#ifdef HV_HAVE_UNICORN

#include "soft-internal.h"

#define TAG "soft"

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
	if (hv_soft_gva_rw(vm, st->sregs.cr3, tbase + (sel & ~7u), desc, 8, false) < 0) {
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

int hv_soft_set_cpl(struct hv_soft *sf, unsigned cpl)
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
int hv_soft_find_hflags(struct hv_soft *sf)
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
	if (hv_soft_set_cpl(sf, cpl) < 0)
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

#endif
