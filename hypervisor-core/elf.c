/* elf.c: loads a static ELF64 x86-64 executable (the built-in guest, or one built the same way)
 * into guest RAM at its physical addresses. Not a dynamic loader; no relocations, no PIE. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hd-common.h"
#include "hv.h"

#define ELF_MAX_PHDRS 64

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Overflow-safe "[off, off+len) inside [0, total)". */
static bool within(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

int hv_elf_load(struct hv_mem *m, const void *buf, size_t len, struct hv_elf_image *img,
		char *err, size_t errlen)
{
	const uint8_t *bytes = buf;
	Elf64_Ehdr eh;

	if (errlen)
		err[0] = '\0';
	if (len < sizeof(eh))
		return fail(err, errlen, "file too short for an ELF header (%zu bytes)", len);
	memcpy(&eh, bytes, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return fail(err, errlen, "not an ELF file (bad magic)");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "not a little-endian ELF64 file");
	if (eh.e_type != ET_EXEC)
		return fail(err, errlen, "not a static executable (e_type %u; PIE and "
					 "shared objects are not supported)", eh.e_type);
	if (eh.e_machine != EM_X86_64)
		return fail(err, errlen, "not an x86-64 executable (e_machine %u)", eh.e_machine);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad program header size %u", eh.e_phentsize);
	if (eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHDRS)
		return fail(err, errlen, "bad program header count %u", eh.e_phnum);
	if (!within(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return fail(err, errlen, "program headers lie outside the file (truncated?)");

	Elf64_Phdr ph[ELF_MAX_PHDRS];
	memcpy(ph, bytes + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));

	uint64_t lo = UINT64_MAX, hi = 0;
	bool entry_ok = false;
	unsigned loads = 0;

	/* Validate everything before writing a byte, so a bad image leaves RAM untouched. */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		loads++;
		if (p->p_filesz > p->p_memsz)
			return fail(err, errlen, "segment %u: file size exceeds memory size", i);
		if (!within(p->p_offset, p->p_filesz, len))
			return fail(err, errlen, "segment %u lies outside the file (truncated?)", i);
		if (p->p_paddr + p->p_memsz < p->p_paddr)
			return fail(err, errlen, "segment %u wraps the address space", i);
		if (p->p_paddr < HV_GUEST_LOAD_MIN)
			return fail(err, errlen,
				    "segment %u at 0x%llx is below 0x%llx (reserved for boot data)",
				    i, (unsigned long long)p->p_paddr,
				    (unsigned long long)HV_GUEST_LOAD_MIN);
		if (!hv_mem_ptr(m, p->p_paddr, p->p_memsz))
			return fail(err, errlen,
				    "segment %u [0x%llx-0x%llx) does not fit in guest RAM "
				    "(%llu MiB); give the VM more memory",
				    i, (unsigned long long)p->p_paddr,
				    (unsigned long long)(p->p_paddr + p->p_memsz),
				    (unsigned long long)(m->size >> 20));
		for (unsigned j = 0; j < i; j++) {
			const Elf64_Phdr *q = &ph[j];
			if (q->p_type != PT_LOAD || q->p_memsz == 0)
				continue;
			if (p->p_paddr < q->p_paddr + q->p_memsz &&
			    q->p_paddr < p->p_paddr + p->p_memsz)
				return fail(err, errlen, "segments %u and %u overlap", j, i);
		}
		if ((p->p_flags & PF_X) && eh.e_entry >= p->p_paddr &&
		    eh.e_entry - p->p_paddr < p->p_memsz)
			entry_ok = true;
		if (p->p_paddr < lo)
			lo = p->p_paddr;
		if (p->p_paddr + p->p_memsz > hi)
			hi = p->p_paddr + p->p_memsz;
	}
	if (!loads)
		return fail(err, errlen, "no loadable segments");
	if (!entry_ok)
		return fail(err, errlen, "entry point 0x%llx is not inside an executable segment",
			    (unsigned long long)eh.e_entry);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		uint8_t *dst = hv_mem_ptr(m, p->p_paddr, p->p_memsz);
		memcpy(dst, bytes + p->p_offset, p->p_filesz);
		memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	}
	img->entry = eh.e_entry;
	img->start = lo;
	img->end = hi;
	return 0;
}
