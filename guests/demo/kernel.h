/* kernel.h: what the demo kernel's files (kernel.c, syscall.c, entry.S) share: sizes,
 * selectors, port and MSR helpers. Not visible to the CPL3 program, which has demo-abi.h. */
#ifndef DEMO_KERNEL_H
#define DEMO_KERNEL_H

#include "demo-abi.h"

/* vCPUs that get an AP stack; more still come online, they just halt without one. */
#define DEMO_MAX_VCPUS 256
#define AP_STACK_SHIFT 9 /* 512 bytes: an AP pushes nothing, the stack is only a landing pad */
#define BSP_STACK_SIZE 16384
#define IST_STACK_SIZE 4096

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

/* Boot info as validated by kmain; NULL-free from then on. */
extern const struct hv_boot_info *boot_info;
extern const char *boot_cmdline; /* NULL if the VMM's pointer was not usable */
extern uint32_t boot_cmdline_len;
extern volatile uint32_t ap_online;

void serial_init(void);
void serial_write(const char *p, size_t n);
__attribute__((noreturn)) void power_off(unsigned code);
__attribute__((noreturn)) void halt_forever(void);

/* C entry points called from entry.S. */
__attribute__((noreturn)) void kmain(const struct hv_boot_info *bi);
__attribute__((noreturn)) void exc_handler(const uint64_t *frame);
long syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t nr);
__attribute__((noreturn)) void enter_user(void *entry, void *stack_top);
#endif

#endif
