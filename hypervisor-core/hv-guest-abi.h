/* hv-guest-abi.h: the contract between the hyperdesk VMM and a guest it boots directly in
 * 64-bit long mode (the built-in guest). Freestanding: included by guest code too. Not the
 * Linux boot protocol. Documented for users in docs/PROTOCOL.md ("Guest interface"). */
#ifndef HV_GUEST_ABI_H
#define HV_GUEST_ABI_H

#include <stdint.h>

/*
 * Entry state of every vCPU, at the ELF entry point:
 *   - 64-bit long mode, CPL0, interrupts disabled (RFLAGS = 0x2).
 *   - CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT, EFER = LME|LMA.
 *   - CR3 = HV_BOOT_PML4_GPA: identity map of the first 4 GiB, 2 MiB pages, supervisor,
 *     writable, executable. The guest may replace it.
 *   - GDT at HV_BOOT_GDT_GPA: 0x08 = 64-bit code, 0x10 = data. CS = 0x08, DS/ES/SS = 0x10.
 *   - RDI = vCPU index (0 = bootstrap processor), RSI = HV_BOOT_INFO_GPA, RSP = 0: the guest
 *     sets up its own stack before it pushes anything.
 * The low 1 MiB belongs to the VMM's boot structures; ELF segments load at or above
 * HV_GUEST_LOAD_MIN, at their physical addresses (p_paddr).
 */
#define HV_BOOT_GDT_GPA     0x1000ull
#define HV_BOOT_INFO_GPA    0x2000ull
#define HV_BOOT_CMDLINE_GPA 0x3000ull
#define HV_BOOT_CMDLINE_MAX 4096u /* bytes, including the terminating NUL */
#define HV_BOOT_PML4_GPA    0x9000ull
#define HV_GUEST_LOAD_MIN   0x100000ull

#define HV_GDT_CODE64 0x08
#define HV_GDT_DATA   0x10

/* I/O ports. */
#define HV_PORT_UART0 0x3f8 /* 8250/16550A UART, IRQ 4 */
#define HV_IRQ_UART0  4
/* A write of any size to HV_PORT_POWEROFF powers the VM off; the low 8 bits of the value are
 * the exit status of `hyperdesk vmm`. */
#define HV_PORT_POWEROFF 0x501

/* Guest physical memory map: RAM from 0 up to HV_RAM_LOW_MAX, the rest of RAM from 4 GiB.
 * Device MMIO windows sit in the hole between them. */
#define HV_RAM_LOW_MAX   0xc0000000ull
#define HV_RAM_HIGH_BASE 0x100000000ull
#define HV_MMIO_BASE     0xd0000000ull /* virtio-mmio devices, HV_MMIO_SLOT bytes apart */
#define HV_MMIO_SLOT     0x1000ull
#define HV_MMIO_IRQ_BASE 5 /* device n uses GSI HV_MMIO_IRQ_BASE + n */

#define HV_BOOT_MAGIC   0x49424448u /* "HDBI" */
#define HV_BOOT_VERSION 1u
#define HV_BOOT_MAX_RAM 4
#define HV_BOOT_MAX_DEV 16

struct hv_boot_ram {
	uint64_t gpa;
	uint64_t size;
};

struct hv_boot_device {
	uint32_t virtio_id; /* virtio device ID (virtio 1.2 §5), e.g. 16 = GPU */
	uint32_t irq;       /* GSI on the I/O APIC */
	uint64_t base;      /* virtio-mmio register window (virtio 1.2 §4.2.2) */
	uint64_t size;
};

/* At HV_BOOT_INFO_GPA. All fields little-endian; unknown trailing fields are zero. */
struct hv_boot_info {
	uint32_t magic;   /* HV_BOOT_MAGIC */
	uint32_t version; /* HV_BOOT_VERSION */
	uint32_t vcpu_count;
	uint32_t ram_count;
	struct hv_boot_ram ram[HV_BOOT_MAX_RAM];
	uint64_t mem_size;    /* total RAM bytes, sum of ram[] */
	uint64_t cmdline_gpa; /* NUL-terminated */
	uint32_t cmdline_len; /* without the NUL */
	uint32_t device_count;
	struct hv_boot_device devices[HV_BOOT_MAX_DEV];
	uint64_t image_start; /* guest-physical extent of the loaded ELF image */
	uint64_t image_end;
	uint64_t tsc_khz; /* guest TSC frequency, 0 if unknown */
	uint64_t wallclock_ns; /* host UTC time (ns since 1970) when the vCPUs started */
	uint64_t wallclock_tsc; /* a guest TSC reading taken at that instant, 0 if unknown */
};

#endif
