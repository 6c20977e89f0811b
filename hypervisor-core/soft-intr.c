/* soft-intr.c: the soft engine's page walk and its delivery of interrupts and exceptions
 * through the guest IDT (Unicorn delivers nothing itself). Not the decision of what to
 * deliver (soft.c) nor state conversion (soft-state.c). */
#include <errno.h>
#include <string.h>

#include "hv-internal.h"

#ifdef HV_HAVE_UNICORN

#include "soft-internal.h"

/* ---- guest-virtual addresses (4-level paging; the soft engine only runs long mode) ---- */

int hv_soft_gva_to_gpa(struct hv_vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa)
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

int hv_soft_gva_rw(struct hv_vm *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len,
		   bool write)
{
	uint8_t *b = buf;
	while (len) {
		uint64_t gpa;
		size_t chunk = 4096 - (gva & 0xfff);
		if (chunk > len)
			chunk = len;
		if (hv_soft_gva_to_gpa(vm, cr3, gva, &gpa) < 0)
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

/* ---- interrupt delivery through the IDT (64-bit gates, SDM Vol. 3 §6.14) ---- */

bool hv_soft_is_int(struct hv_soft *sf, uint64_t rip, uint32_t no, uint64_t cr3)
{
	uint8_t insn[2];
	if (rip < 2 || hv_soft_gva_rw(sf->vcpu->vm, cr3, rip - 2, insn, 2, false) < 0)
		return false;
	return insn[0] == 0xcd && insn[1] == no;
}

static bool has_error_code(uint32_t vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21;
}

/* Delivers vector vec with the return address rip; returns 0 or -errno (the caller then hands
 * the vCPU back or reports a crash). */
int hv_soft_deliver(struct hv_soft *sf, uint32_t vec, uint64_t rip, bool soft_int)
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
	if (hv_soft_gva_rw(vm, cr3, idt.base + vec * 16ull, g, 16, false) < 0)
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
		if (hv_soft_gva_rw(vm, cr3, tr.base + off, &new_rsp, 8, false) < 0)
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
	if (hv_soft_gva_rw(vm, cr3, new_rsp, frame, 8ull * n, true) < 0)
		return -EFAULT;
	rflags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
	if (type == 0xe)
		rflags &= ~RFLAGS_IF;
	if (new_cpl != cpl) {
		if (hv_soft_set_cpl(sf, new_cpl) < 0)
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

#endif
