/* boot.c: the VMM's side of hv-guest-abi.h: boot GDT, identity-mapped page tables, boot info
 * and command line written into low guest RAM. Not the ELF loader (elf.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv-internal.h"

#define PTE_P  0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define PAGE   4096ull
#define IDENTITY_GIB 4 /* the boot map covers low RAM and the MMIO hole below 4 GiB */

static const uint64_t boot_gdt[3] = {
	0,
	0x00af9a000000ffffull, /* 0x08: 64-bit code, DPL0 */
	0x00cf92000000ffffull, /* 0x10: data, DPL0 */
};

int hv_boot_setup(struct hv_vm *vm, char *err, size_t errlen)
{
	struct hv_mem *m = &vm->mem;

	if (hv_mem_write(m, HV_BOOT_GDT_GPA, boot_gdt, sizeof(boot_gdt)) < 0)
		goto nomem;

	/* PML4 -> one PDPT -> IDENTITY_GIB page directories of 2 MiB pages. */
	uint64_t pml4 = HV_BOOT_PML4_GPA, pdpt = pml4 + PAGE, pd = pdpt + PAGE;
	uint64_t e = pdpt | PTE_P | PTE_RW;
	if (hv_mem_write(m, pml4, &e, sizeof(e)) < 0)
		goto nomem;
	for (uint64_t g = 0; g < IDENTITY_GIB; g++) {
		e = (pd + g * PAGE) | PTE_P | PTE_RW;
		if (hv_mem_write(m, pdpt + g * 8, &e, sizeof(e)) < 0)
			goto nomem;
		uint64_t *dir = hv_mem_ptr(m, pd + g * PAGE, PAGE);
		if (!dir)
			goto nomem;
		for (uint64_t i = 0; i < 512; i++)
			dir[i] = ((g << 30) + (i << 21)) | PTE_P | PTE_RW | PTE_PS;
	}

	size_t cmdlen = vm->cmdline ? strlen(vm->cmdline) : 0;
	if (cmdlen + 1 > HV_BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "guest command line is %zu bytes; the limit is %u", cmdlen,
			 HV_BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if (hv_mem_write(m, HV_BOOT_CMDLINE_GPA, vm->cmdline ? vm->cmdline : "", cmdlen + 1) < 0)
		goto nomem;

	struct hv_boot_info bi = {
		.magic = HV_BOOT_MAGIC,
		.version = HV_BOOT_VERSION,
		.vcpu_count = vm->nr_vcpus,
		.ram_count = m->nr_regions,
		.mem_size = m->size,
		.cmdline_gpa = HV_BOOT_CMDLINE_GPA,
		.cmdline_len = (uint32_t)cmdlen,
		.image_start = vm->image.start,
		.image_end = vm->image.end,
		.tsc_khz = vm->tsc_khz,
	};
	/* The guest's TSC is offset from the host's, so read it the way the guest will. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	bi.wallclock_tsc = vm->nr_vcpus ? hv_kvm_guest_tsc(&vm->vcpus[0]) : 0;
	bi.wallclock_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	bi.device_count = vm->nr_virtio;
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		bi.devices[i].virtio_id = vm->virtio[i]->ops->device_id;
		bi.devices[i].irq = vm->virtio[i]->gsi;
		bi.devices[i].base = HV_MMIO_BASE + i * HV_MMIO_SLOT;
		bi.devices[i].size = HV_MMIO_SLOT;
	}
	for (unsigned i = 0; i < m->nr_regions && i < HV_BOOT_MAX_RAM; i++) {
		bi.ram[i].gpa = m->regions[i].gpa;
		bi.ram[i].size = m->regions[i].size;
	}
	if (hv_mem_write(m, HV_BOOT_INFO_GPA, &bi, sizeof(bi)) < 0)
		goto nomem;
	return 0;

nomem:
	snprintf(err, errlen, "guest RAM is too small for the boot structures");
	return -ENOMEM;
}
