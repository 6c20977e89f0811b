/* kernel.h: what the demo kernel's files (kernel.c, syscall.c, entry.S) share: sizes,
 * selectors, port and MSR helpers. Not visible to the CPL3 program, which has demo-abi.h. */
#ifndef DEMO_KERNEL_H
#define DEMO_KERNEL_H

#include "demo-abi.h"

/* vCPUs that get an AP stack; more still come online, they just halt without one. */
#define DEMO_MAX_VCPUS 256
#define AP_STACK_SHIFT 9 /* 512 bytes: an AP pushes nothing, the stack is only a landing pad */
#define BSP_STACK_SIZE 16384
/* Exceptions, and system calls that arrive as #UD (entry.S), which may now sleep and take
 * interrupts on it, so it is as deep as the driver's call chains need. */
#define IST_STACK_SIZE 8192

/* Interrupt vectors (intr.c). Above the exceptions and below the system call; the priority
 * class (vector >> 4) of each is what the local APIC compares. */
#define VEC_TIMER    0x40
#define VEC_GPU	     0x41
#define VEC_INPUT    0x42
#define VEC_SPURIOUS 0xff

/* GDT selectors. Kernel code/data match the boot GDT; user data before user code is the
 * order SYSRET would need, kept so a SYSCALL path can be added without renumbering. */
#define KSEL_CODE 0x08
#define KSEL_DATA 0x10
#define USEL_DATA 0x18
#define USEL_CODE 0x20
#define KSEL_TSS  0x28

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#define UART_THR      HV_PORT_UART0
#define UART_FCR      (HV_PORT_UART0 + 2)
#define UART_LSR      (HV_PORT_UART0 + 5)
#define UART_LSR_THRE 0x20
#define UART_FIFO     16

#define MSR_EFER 0xc0000080u
#define EFER_NXE (1ull << 11)

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* Linker symbols (linker.ld). The user range is what SYS_* pointers are checked against. */
extern char __kdata_start[], __user_start[], __user_data_start[], __user_end[];
extern char user_entry[], user_stack_top[];
extern char exc_stubs[], int80_entry[], kstack_bsp_top[], kstack_ist_top[];
extern char irq_stub_timer[], irq_stub_gpu[], irq_stub_spurious[], irq_stub_input[];

/* Boot info as validated by kmain; NULL-free from then on. */
extern const struct hv_boot_info *boot_info;
extern const char *boot_cmdline; /* NULL if the VMM's pointer was not usable */
extern uint32_t boot_cmdline_len;
extern volatile uint32_t ap_online;

void serial_init(void);
void serial_write(const char *p, size_t n);
__attribute__((noreturn)) void power_off(unsigned code);
__attribute__((noreturn)) void halt_forever(void);

/* The user window (kernel.c): where surfaces are mapped for the program, in 2 MiB pages. */
#define UWIN_BASE 0x4000000000ull /* 256 GiB, above every identity-mapped address */
#define UWIN_GIB  4
#define PAGE_2M	  (2ull << 20)
#define MAP_GIB	  64 /* physical addresses identity-mapped; RAM above is left alone */
#define MAP_END	  ((uint64_t)MAP_GIB << 30)
void uwin_map(uint64_t va, uint64_t pa, uint64_t len);
void uwin_unmap(uint64_t va, uint64_t len);
/* The fill window at DEMO_MEMFILL_BASE (kernel.c): [pa, pa + len) in 2 MiB pages, len at most
 * DEMO_MEMFILL_WINDOW (0 unmaps all). Its GiB lies above the user window's. */
void fillwin_map(uint64_t pa, uint64_t len);
_Static_assert(DEMO_MEMFILL_BASE >= UWIN_BASE + ((uint64_t)UWIN_GIB << 30) &&
		       DEMO_MEMFILL_WINDOW == 1ull << 30 && !(DEMO_MEMFILL_BASE & ((1ull << 30) - 1)),
	       "the fill window is one whole GiB of its own");

/* Local and I/O APIC register windows, at their reset addresses (mapped uncached by
 * kernel.c, used by intr.c). */
#define IOAPIC_GPA 0xfec00000ull
#define LAPIC_GPA  0xfee00000ull

/* Interrupts and time (intr.c). */
uint64_t rdtsc(void);
uint64_t tsc_khz(void); /* never 0 */
int intr_init(void);	/* idempotent; -1 without a local APIC */
int intr_route(uint32_t gsi, uint8_t vector);
/* Sleep until an interrupt or the TSC passes deadline (~0: none). IF is 0 before and after. */
void kwait_until(uint64_t deadline);
/* Let interrupts that are already pending run (IF 0 before and after). */
void intr_poll(void);
uint64_t time_wall_ns(void);
uint64_t time_mono_ns(void);
/* The GPU's interrupt (gfx-sys.c). */
void gpu_interrupt(void);

/* Copies between kernel and validated user memory (syscall.c). */
void kcopy(void *dst, const void *src, size_t n);
int user_range_ok(uint64_t p, uint64_t n);

/* C entry points called from entry.S. */
__attribute__((noreturn)) void kmain(const struct hv_boot_info *bi);
__attribute__((noreturn)) void exc_handler(const uint64_t *frame);
void irq_dispatch(uint64_t vector);
long syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		      uint64_t nr);

/* System calls implemented outside syscall.c. */
long ksys_gpu_open(uint64_t flags);
long ksys_display_info(uint64_t uinfo);
long ksys_display_wait(uint64_t timeout_ms, uint64_t uinfo);
long ksys_surface_create(uint64_t width, uint64_t height, uint64_t uinfo);
long ksys_surface_flush(uint64_t handle, uint64_t x, uint64_t y, uint64_t w, uint64_t h);
long ksys_surface_set_scanout(uint64_t handle, uint64_t head);
long ksys_surface_destroy(uint64_t handle);
long ksys_mem_stats(uint64_t ustats);
long ksys_cursor_set(uint64_t upixels, uint64_t hot, uint64_t head);
long ksys_cursor_move(uint64_t head, uint64_t x, uint64_t y);
/* Input (input.c): the devices' interrupt, and whether events wait for the program. */
long ksys_input_open(void);
long ksys_input_read(uint64_t uev, uint64_t max, uint64_t timeout_ms);
void input_interrupt(void);
int input_pending(void);
/* Free RAM: region i of the boot info's RAM above the image (rounded up to 2 MiB: the
 * kernel's stacks and tables and the program's buffers are all inside it) and below MAP_END,
 * as [*start, *end), maybe empty. Returns 1, or 0 past the last region. The GPU's pool is
 * made of it, and memfill= writes it before the pool exists (memfill-sys.c). */
int free_ram_region(uint32_t i, uint64_t *start, uint64_t *end);
/* memfill= (memfill-sys.c): SYS_MEMFILL_MAP, and the close SYS_GPU_OPEN does first. */
long ksys_memfill_map(uint64_t offset, uint64_t max);
void memfill_close(void);
__attribute__((noreturn)) void enter_user(void *entry, void *stack_top);
#endif

#endif
