/* kernel.c: the demo kernel's boot on the BSP (descriptor and page tables, waiting for APs)
 * and its fatal-exception report. Not a scheduler: the one CPL3 program runs until it ends. */
#include "kernel.h"

/*
 * Every instruction in this file runs emulated on a host without hardware virtualisation
 * (about a microsecond each), so the boot path favours fewer instructions over generality:
 * tables are filled in one pass, nothing is zeroed that the ELF loader already zeroed (.bss,
 * as the ELF format requires), and nothing is printed unless something went wrong.
 */

const struct hv_boot_info *boot_info;
const char *boot_cmdline;
uint32_t boot_cmdline_len;
volatile uint32_t ap_online; /* incremented by APs in entry.S */

/* ---------------------------- descriptor tables ---------------------------- */

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Accessed bits preset so loading a selector never writes to the table. */
static uint64_t gdt[7] __attribute__((aligned(16))) = {
    0,
    0x00af9b000000ffffull, /* KSEL_CODE: 64-bit, DPL0 */
    0x00cf93000000ffffull, /* KSEL_DATA */
    0x00cff3000000ffffull, /* USEL_DATA: DPL3 */
    0x00affb000000ffffull, /* USEL_CODE: 64-bit, DPL3 */
    0,			   /* KSEL_TSS, two slots, filled in at boot: */
    0,			   /* the TSS address cannot be split by a relocation */
};

/*
 * The TSS and its I/O permission bitmap, which allows the program DEMO_WORK_PORT and no other
 * port (a set bit denies; the byte after the last must be all ones). IOPL stays 0, so this is
 * the only way CPL3 port I/O works; this host's KVM also honours nothing else (it raises #GP
 * for CPL3 port I/O even under IOPL=3 unless the bitmap allows the port). Static data, so it
 * costs the boot nothing.
 */
#define IOMAP_BYTES (DEMO_WORK_PORT / 8 + 2)
static struct {
	struct tss t;
	uint8_t iomap[IOMAP_BYTES];
} tss_io __attribute__((aligned(16))) = {
    .iomap = {[0 ... DEMO_WORK_PORT / 8 - 1] = 0xff,
	      [DEMO_WORK_PORT / 8] = (uint8_t)~(1u << (DEMO_WORK_PORT % 8)),
	      [DEMO_WORK_PORT / 8 + 1] = 0xff},
};
static uint64_t idt[256 * 2] __attribute__((aligned(16)));

/* An interrupt gate (IF cleared on entry) at DPL0 on the current stack: device and timer
 * interrupts arrive only while the kernel waits with interrupts enabled (intr.c), so they
 * nest on whatever kernel stack that wait runs on; IST1 would overwrite it. */
static void idt_irq(unsigned v, char *stub)
{
	uint64_t a = (uint64_t)stub;

	idt[2 * v] = (a & 0xffff) | (uint64_t)KSEL_CODE << 16 | 0x8eull << 40 |
		     ((a >> 16) & 0xffff) << 48;
	idt[2 * v + 1] = a >> 32;
}

static void gdt_init(void)
{
	uint64_t base = (uint64_t)&tss_io;
	struct dtr gdtr = {sizeof(gdt) - 1, (uint64_t)gdt};

	tss_io.t.rsp[0] = (uint64_t)kstack_bsp_top;
	tss_io.t.ist[0] = (uint64_t)kstack_ist_top;
	/* The program may touch DEMO_WORK_PORT itself and no other port (tss_io, above). */
	tss_io.t.iomap_base = offsetof(__typeof__(tss_io), iomap);
	gdt[5] = (sizeof(tss_io) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		 ((base >> 24) & 0xff) << 56;
	gdt[6] = base >> 32;

	/* The boot GDT had the same kernel selectors, but the far return and the SS load make
	 * the hidden descriptor caches come from this table, not from memory we no longer own. */
	asm volatile(
	    "lgdt %[gdtr]\n\t"
	    "pushq %[cs]\n\t"
	    "leaq 1f(%%rip), %%rax\n\t"
	    "pushq %%rax\n\t"
	    "lretq\n"
	    "1:\n\t"
	    "mov %[ds], %%eax\n\t"
	    "mov %%eax, %%ss\n\t"
	    "xor %%eax, %%eax\n\t"
	    "mov %%eax, %%ds\n\t"
	    "mov %%eax, %%es\n\t"
	    "mov %%eax, %%fs\n\t"
	    "mov %%eax, %%gs\n\t"
	    "mov %[tr], %%eax\n\t"
	    "ltr %%ax"
	    :
	    : [gdtr] "m"(gdtr), [cs] "i"(KSEL_CODE), [ds] "i"(KSEL_DATA), [tr] "i"(KSEL_TSS)
	    : "rax", "memory");
}

static void idt_init(void)
{
	uint64_t stub = (uint64_t)exc_stubs;
	struct dtr idtr = {sizeof(idt) - 1, (uint64_t)idt};

	/* Exceptions: interrupt gates on IST1. Vectors without a handler stay not-present, so
	 * a stray one becomes a #NP that names it in the error code instead of running off
	 * into nothing. 0x80, the system call, is the one gate the program may use (DPL3). */
	for (unsigned v = 0; v < 32; v++, stub += 16) {
		idt[2 * v] = (stub & 0xffff) | (uint64_t)KSEL_CODE << 16 | 1ull << 32 |
			     0x8eull << 40 | ((stub >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = stub >> 32;
	}
	stub = (uint64_t)int80_entry;
	idt[2 * DEMO_INT_SYSCALL] = (stub & 0xffff) | (uint64_t)KSEL_CODE << 16 | 0xeeull << 40 |
				    ((stub >> 16) & 0xffff) << 48;
	idt[2 * DEMO_INT_SYSCALL + 1] = stub >> 32;
	idt_irq(VEC_TIMER, irq_stub_timer);
	idt_irq(VEC_GPU, irq_stub_gpu);
	idt_irq(VEC_INPUT, irq_stub_input);
	idt_irq(VEC_SPURIOUS, irq_stub_spurious);
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

/* ------------------------------- page tables ------------------------------- */

#define PAGE_1G	  (1ull << 30)
#define PTE_P	  (1ull << 0)
#define PTE_RW	  (1ull << 1)
#define PTE_US	  (1ull << 2)
#define PTE_PWT	  (1ull << 3)
#define PTE_PCD	  (1ull << 4)
#define PTE_PS	  (1ull << 7)
#define PTE_NX	  (1ull << 63)
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US) /* leaves decide access */

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[MAP_GIB * 512] __attribute__((aligned(4096)));
static uint64_t uwin_pd[UWIN_GIB * 512] __attribute__((aligned(4096)));
static uint64_t pte_nx; /* PTE_NX where the vCPU has NX, else 0 */

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *d)
{
	uint32_t b, c;

	asm volatile("cpuid" : "=a"(*a), "=b"(b), "=c"(c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* CPUID 0x80000001 EDX, or 0 if the vCPU has no such leaf (the VMM may hand the guest an
 * empty CPUID). NX (bit 20) and 1 GiB pages (bit 26) are used only if offered there:
 * EFER.NXE and the PS bit in a PDPT entry are reserved otherwise. */
static uint32_t cpuid_ext_features(void)
{
	uint32_t a, d;

	cpuid(0x80000000u, &a, &d);
	if (a < 0x80000001u)
		return 0;
	cpuid(0x80000001u, &a, &d);
	return d;
}

/*
 * Map [start, end) with flags, in 2 MiB pages, or in 1 GiB pages for whole GiBs when
 * big_ok (emulated, each page-table store costs microseconds; 16 GiB of 2 MiB pages would
 * take a fifth of a second). GiB 0 always gets 2 MiB pages because the image needs that
 * granularity there. A later call for a GiB that got a 1 GiB page would drop it; RAM and
 * device windows never share a GiB (hv-guest-abi.h), so none does.
 */
static void map_range(uint64_t start, uint64_t end, uint64_t flags, int big_ok)
{
	flags |= PTE_P | PTE_PS;
	start &= ~(PAGE_2M - 1);
	if (end > MAP_END)
		end = MAP_END;
	while (start < end) {
		uint64_t g = start >> 30, next = (g + 1) << 30;
		uint64_t *e, v;

		if (big_ok && g && !(start & (PAGE_1G - 1)) && end >= next) {
			pdpt[g] = start | flags;
			start = next;
			continue;
		}
		pdpt[g] = (uint64_t)&pd[g * 512] | PTE_TABLE;
		if (next > end)
			next = end;
		e = &pd[start >> 21];
		for (v = start | flags; start < next; start += PAGE_2M, v += PAGE_2M)
			*e++ = v;
	}
}

static void paging_init(const struct hv_boot_info *bi, uint32_t ext)
{
	uint64_t nx = (ext >> 20) & 1 ? PTE_NX : 0;
	int big_ok = (ext >> 26) & 1;
	uint32_t n;

	pte_nx = nx;
	pml4[0] = (uint64_t)pdpt | PTE_TABLE;
	/* The user window's directories exist from the start (empty), so mapping a surface
	 * only ever writes leaf entries. */
	for (uint32_t g = 0; g < UWIN_GIB; g++)
		pdpt[(UWIN_BASE >> 30) + g] = (uint64_t)&uwin_pd[g * 512] | PTE_TABLE;

	/* All RAM: kernel-only, no execute. */
	n = bi->ram_count < HV_BOOT_MAX_RAM ? bi->ram_count : HV_BOOT_MAX_RAM;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = bi->ram[i].gpa + bi->ram[i].size;

		if (end < bi->ram[i].gpa)
			end = ~0ull;
		map_range(bi->ram[i].gpa, end, PTE_RW | nx, big_ok);
	}
	/* Device windows, uncached, for the workloads that will drive them. */
	n = bi->device_count < HV_BOOT_MAX_DEV ? bi->device_count : HV_BOOT_MAX_DEV;
	for (uint32_t i = 0; i < n; i++)
		map_range(bi->devices[i].base, bi->devices[i].base + 1,
			  PTE_RW | PTE_PCD | PTE_PWT | nx, 0);
	map_range(IOAPIC_GPA, IOAPIC_GPA + 1, PTE_RW | PTE_PCD | PTE_PWT | nx, 0);
	map_range(LAPIC_GPA, LAPIC_GPA + 1, PTE_RW | PTE_PCD | PTE_PWT | nx, 0);

	/* The image, each part in its own 2 MiB pages (linker.ld): kernel text read-only, kernel
	 * data no-execute, and U/S only on the program's text and data. */
	map_range(0, (uint64_t)__kdata_start, 0, 0);
	map_range((uint64_t)__kdata_start, (uint64_t)__user_start, PTE_RW | nx, 0);
	map_range((uint64_t)__user_start, (uint64_t)__user_data_start, PTE_US, 0);
	map_range((uint64_t)__user_data_start, (uint64_t)__user_end, PTE_RW | PTE_US | nx, 0);

	asm volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
}

/*
 * The user window: surfaces are mapped into the program in 2 MiB pages (memory objects for
 * them are 2 MiB-aligned pieces), so a 1080p frame buffer costs five page-table stores, not
 * two thousand. Entries were not present before a map, so only an unmap needs INVLPG.
 */
void uwin_map(uint64_t va, uint64_t pa, uint64_t len)
{
	uint64_t *e = &uwin_pd[(va - UWIN_BASE) >> 21];

	for (uint64_t off = 0; off < len; off += PAGE_2M)
		*e++ = (pa + off) | PTE_P | PTE_RW | PTE_US | PTE_PS | pte_nx;
}

void uwin_unmap(uint64_t va, uint64_t len)
{
	uint64_t *e = &uwin_pd[(va - UWIN_BASE) >> 21];

	for (uint64_t off = 0; off < len; off += PAGE_2M) {
		*e++ = 0;
		asm volatile("invlpg (%0)" : : "r"(va + off) : "memory");
	}
}

/*
 * The fill window (memfill-sys.c): one GiB of program addresses through which memfill= writes
 * free RAM before the GPU's pool owns it. A remap rewrites the whole directory and reloads
 * CR3, which drops every old translation at once (512 INVLPGs would cost more, emulated).
 */
static uint64_t fill_pd[512] __attribute__((aligned(4096)));

void fillwin_map(uint64_t pa, uint64_t len)
{
	uint64_t v = pa | PTE_P | PTE_RW | PTE_US | PTE_PS | pte_nx, cr3;

	for (uint64_t off = 0; off < DEMO_MEMFILL_WINDOW; off += PAGE_2M, v += PAGE_2M)
		fill_pd[off >> 21] = off < len ? v : 0;
	pdpt[DEMO_MEMFILL_BASE >> 30] = (uint64_t)fill_pd | PTE_TABLE;
	asm volatile("mov %%cr3, %0\n\t"
		     "mov %0, %%cr3"
		     : "=r"(cr3)
		     :
		     : "memory");
}

/* ------------------------------- boot ------------------------------- */

__attribute__((noreturn)) static void fail(const char *msg, uint32_t len)
{
	serial_write(msg, len);
	power_off(DEMO_EXIT_FAULT);
}

#define FAIL(s) fail(s, sizeof(s) - 1)

/* The cmdline is copied to the program on demand, so it must lie inside mapped RAM. */
static void cmdline_init(const struct hv_boot_info *bi)
{
	uint64_t gpa = bi->cmdline_gpa, len = bi->cmdline_len;
	uint32_t n = bi->ram_count < HV_BOOT_MAX_RAM ? bi->ram_count : HV_BOOT_MAX_RAM;

	if (len >= HV_BOOT_CMDLINE_MAX || gpa >= MAP_END || len >= MAP_END - gpa)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const struct hv_boot_ram *r = &bi->ram[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len < r->size - (gpa - r->gpa)) {
			boot_cmdline = (const char *)gpa;
			boot_cmdline_len = (uint32_t)len;
			return;
		}
	}
}

/*
 * APs check in with a few instructions while the BSP is still building tables, so this
 * normally returns at once. But every vCPU thread first sets up its engine (the software
 * engine in auto mode) and a busy host may not schedule them for a while, so the bound is
 * generous: ten seconds by the TSC (3 GHz assumed when the VMM does not know its rate),
 * and a spin count in case the TSC does not move at all. Only a VMM that announces vCPUs
 * it never starts should ever exhaust it.
 */
static void wait_for_aps(uint32_t want, uint64_t tsc_khz)
{
	uint64_t budget = (tsc_khz ? tsc_khz : 3000000) * 10000, start = rdtsc();

	for (uint64_t spins = 1ull << 32; ap_online < want && spins; spins--) {
		if (rdtsc() - start > budget)
			break;
		cpu_relax();
	}
}

void kmain(const struct hv_boot_info *bi)
{
	uint32_t ext;

	serial_init();
	gdt_init();
	idt_init();

	if (bi->magic != HV_BOOT_MAGIC || bi->version < HV_BOOT_VERSION)
		FAIL("guest: bad boot info (magic/version)\n");
	boot_info = bi;
	cmdline_init(bi);

	/* NXE before the first table that uses NX is loaded. */
	ext = cpuid_ext_features();
	if ((ext >> 20) & 1)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	paging_init(bi, ext);

	wait_for_aps(bi->vcpu_count > 1 ? bi->vcpu_count - 1 : 0, bi->tsc_khz);

	enter_user(user_entry, user_stack_top);
}

/* ---------------------------- fatal exceptions ---------------------------- */

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_hex(char *p, uint64_t v)
{
	int shift = 60;

	*p++ = '0';
	*p++ = 'x';
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = "0123456789abcdef"[(v >> shift) & 0xf];
	return p;
}

/* frame: [vector, error, rip, cs, rflags, rsp, ss] (entry.S). */
void exc_handler(const uint64_t *frame)
{
	static int busy;
	char buf[96], *p = buf;
	uint64_t vec = frame[0];

	/* A fault while reporting one would loop; the first report is what matters. */
	if (busy)
		power_off(DEMO_EXIT_FAULT);
	busy = 1;

	p = put_str(p, "guest: exception ");
	if (vec >= 10)
		*p++ = (char)('0' + vec / 10);
	*p++ = (char)('0' + vec % 10);
	p = put_str(p, " err=");
	p = put_hex(p, frame[1]);
	p = put_str(p, " rip=");
	p = put_hex(p, frame[2]);
	if (vec == 14) {
		uint64_t cr2;

		asm volatile("mov %%cr2, %0" : "=r"(cr2));
		p = put_str(p, " cr2=");
		p = put_hex(p, cr2);
	}
	*p++ = '\n';
	serial_write(buf, (size_t)(p - buf));
	power_off(DEMO_EXIT_FAULT);
}
