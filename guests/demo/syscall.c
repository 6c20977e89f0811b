/* syscall.c: the demo kernel's system-call table, its basic calls (console, exit, boot info,
 * time, sleep) and the serial and power-off primitives. The graphics calls are in gfx-sys.c. */
#include "kernel.h"

/* Enable and clear the FIFOs: a 16550A holds one byte, not 16, until FCR bit 0 is set. */
void serial_init(void)
{
	outb(UART_FCR, 0x07);
}

/*
 * Each port access is a VM exit, so poll LSR once per 16 bytes and send them with a single
 * REP OUTSB, which KVM turns into one exit. THRE means the whole FIFO is empty. The poll is
 * bounded so a wedged UART costs output, not the guest.
 */
void serial_write(const char *p, size_t n)
{
	while (n) {
		size_t chunk = n < UART_FIFO ? n : UART_FIFO;

		for (uint32_t spins = 1u << 16; !(inb(UART_LSR) & UART_LSR_THRE) && spins; spins--)
			cpu_relax();
		n -= chunk;
		asm volatile("rep outsb" : "+S"(p), "+c"(chunk) : "d"(UART_THR) : "memory");
	}
}

void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

void power_off(unsigned code)
{
	asm volatile("outb %%al, %%dx" : : "a"(code), "d"(HV_PORT_POWEROFF));
	/* The VMM stops this vCPU at the OUT; halting covers one that does not. */
	halt_forever();
}

/* Whole of [p, p+n) inside the program's region (linker.ld), without overflowing. */
int user_range_ok(uint64_t p, uint64_t n)
{
	uint64_t lo = (uint64_t)__user_start, hi = (uint64_t)__user_end;

	return p >= lo && p <= hi && n <= hi - p;
}

/* String moves, not loops: emulated, one REP instruction beats a loop of them, and the
 * compiler cannot turn it into a memcpy call that would land in the program's memcpy. */
void kcopy(void *dst, const void *src, size_t n)
{
	size_t q = n / 8, r = n % 8;

	asm volatile("rep movsq\n\t"
		     "mov %[r], %%rcx\n\t"
		     "rep movsb"
		     : "+D"(dst), "+S"(src), "+c"(q)
		     : [r] "r"(r)
		     : "memory");
}

static long sys_write(uint64_t buf, uint64_t len)
{
	if (!user_range_ok(buf, len))
		return -DEMO_EFAULT;
	serial_write((const char *)buf, len);
	return (long)len;
}

static long sys_bootinfo(uint64_t dst)
{
	struct demo_bootinfo *d = (struct demo_bootinfo *)dst;

	if (!user_range_ok(dst, sizeof(*d)))
		return -DEMO_EFAULT;
	kcopy(&d->hv, boot_info, sizeof(d->hv));
	d->cpus_online = 1 + ap_online;
	d->cmdline_len = boot_cmdline_len;
	if (boot_cmdline)
		kcopy(d->cmdline, boot_cmdline, boot_cmdline_len);
	d->cmdline[boot_cmdline_len] = '\0';
	return 0;
}

static long sys_time_ns(uint64_t clock)
{
	if (clock == DEMO_CLOCK_WALL)
		return (long)time_wall_ns();
	if (clock == DEMO_CLOCK_MONO)
		return (long)time_mono_ns();
	return -DEMO_EINVAL;
}

/* Sleeps on the timer interrupt; a GPU interrupt meanwhile is handled and slept on past. */
static long sys_sleep(uint64_t ms)
{
	uint64_t deadline;

	if (ms > DEMO_SLEEP_MAX_MS)
		return -DEMO_EINVAL;
	deadline = rdtsc() + ms * tsc_khz();
	while (rdtsc() < deadline)
		kwait_until(deadline);
	return 0;
}

/*
 * The engine workloads' kernel work (demo-abi.h): a fixed bit of arithmetic, so a round trip
 * is entry, ~50 instructions and exit; and a burst of port I/O at CPL0. Written as the
 * workload guests in tests/guests write them, so the checksums can be compared.
 */
static uint64_t sys_work_arith(uint64_t x)
{
	uint32_t n = 16;

	asm("1: lea 1(%0,%0,4), %0\n\t"
	    "dec %1\n\t"
	    "jnz 1b"
	    : "+r"(x), "+r"(n));
	return x;
}

static uint64_t sys_work_pio(uint64_t count, uint64_t acc)
{
	for (uint32_t i = (uint32_t)count; i; i--) {
		outb(DEMO_WORK_PORT, (uint8_t)i);
		acc = (acc << 3 | acc >> 61) + inb(DEMO_WORK_PORT);
	}
	return acc;
}

long syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		      uint64_t nr)
{
	switch (nr) {
	case SYS_WRITE:
		return sys_write(a0, a1);
	case SYS_EXIT:
		power_off((unsigned)a0);
	case SYS_BOOTINFO:
		return sys_bootinfo(a0);
	case SYS_IDLE:
		halt_forever();
	case SYS_TIME_NS:
		return sys_time_ns(a0);
	case SYS_SLEEP:
		return sys_sleep(a0);
	case SYS_GPU_OPEN:
		memfill_close(); /* the pool may hand the RAM to the device from now on */
		return ksys_gpu_open(a0);
	case SYS_DISPLAY_INFO:
		return ksys_display_info(a0);
	case SYS_DISPLAY_WAIT:
		return ksys_display_wait(a0, a1);
	case SYS_SURFACE_CREATE:
		return ksys_surface_create(a0, a1, a2);
	case SYS_SURFACE_FLUSH:
		return ksys_surface_flush(a0, a1, a2, a3, a4);
	case SYS_SURFACE_SET_SCANOUT:
		return ksys_surface_set_scanout(a0, a1);
	case SYS_SURFACE_DESTROY:
		return ksys_surface_destroy(a0);
	case SYS_MEM_STATS:
		return ksys_mem_stats(a0);
	case SYS_CURSOR_SET:
		return ksys_cursor_set(a0, a1, a2);
	case SYS_CURSOR_MOVE:
		return ksys_cursor_move(a0, a1, a2);
	case SYS_INPUT_OPEN:
		return ksys_input_open();
	case SYS_INPUT_READ:
		return ksys_input_read(a0, a1, a2);
	case SYS_MEMFILL_MAP:
		return ksys_memfill_map(a0, a1);
	case SYS_WORK_ARITH:
		return (long)sys_work_arith(a0);
	case SYS_WORK_PIO:
		return (long)sys_work_pio(a0, a1);
	default:
		return -DEMO_ENOSYS;
	}
}
