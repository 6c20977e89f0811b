/* intr.c: the demo kernel's interrupts and time: local APIC (x2APIC or xAPIC) with a one-shot
 * timer, I/O APIC routes, the sleep primitive, TSC clocks. Not a scheduler: one program waits. */
#include "kernel.h"

/*
 * Interrupts are enabled only inside kwait_until() and intr_poll(), never while the program
 * runs: its system calls already have IF clear, each wait checks its condition with IF clear
 * and then does "sti; hlt" (an interrupt pending from before the STI is taken once HLT has
 * started, so no wake-up is lost). The timer is one-shot, armed for the waiter's deadline:
 * no periodic tick costs an exit (and, on the slow host, emulated handler instructions)
 * while nothing waits.
 */

#define CPUID1_ECX_X2APIC      (1u << 21)
#define CPUID1_ECX_TSCDEADLINE (1u << 24)
#define CPUID1_EDX_APIC	       (1u << 9)

#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_EXTD	  (1ull << 10)
#define APIC_BASE_EN	  (1ull << 11)
#define MSR_TSC_DEADLINE  0x6e0
#define MSR_X2APIC_FIRST  0x800

/* Local APIC registers, as xAPIC MMIO offsets; x2APIC MSR = 0x800 + offset / 16. */
#define LAPIC_ID	0x020
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	 0x390
#define LAPIC_TIMER_DIV	 0x3e0
#define LVT_MASKED	 (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_VER    0x01
#define IOREDTBL(n)   (0x10 + 2 * (n))
#define IORED_LEVEL   (1u << 15)

static int state; /* 0 = not set up, 1 = ready, -1 = no local APIC */
static int x2apic, tsc_deadline;
static uint32_t apic_id;
static uint64_t lapic_per_ms; /* timer ticks per ms without TSC-deadline mode */

uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The VMM gives the rate; 3 GHz is a guess for one that does not (as wait_for_aps). */
uint64_t tsc_khz(void)
{
	return boot_info && boot_info->tsc_khz ? boot_info->tsc_khz : 3000000;
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(MSR_X2APIC_FIRST + (reg >> 4), v);
	else
		*(volatile uint32_t *)(LAPIC_GPA + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + (reg >> 4));
	return *(volatile uint32_t *)(LAPIC_GPA + reg);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(IOAPIC_GPA + IOAPIC_REGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + IOAPIC_WIN) = v;
}

static uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)(IOAPIC_GPA + IOAPIC_REGSEL) = reg;
	return *(volatile uint32_t *)(IOAPIC_GPA + IOAPIC_WIN);
}

/* Without TSC-deadline mode the timer counts a bus clock of unknown rate: count it against
 * the TSC for a millisecond, once. */
static void lapic_calibrate(void)
{
	uint64_t t0, want = tsc_khz();

	lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	t0 = rdtsc();
	while (rdtsc() - t0 < want)
		cpu_relax();
	lapic_per_ms = 0xffffffffu - lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (!lapic_per_ms)
		lapic_per_ms = 1000000; /* KVM's LAPIC runs at 1 GHz */
}

int intr_init(void)
{
	uint32_t a, b, c, d;
	uint64_t base;

	if (state)
		return state > 0 ? 0 : -1;
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(d & CPUID1_EDX_APIC)) {
		state = -1;
		return -1;
	}
	/* Mask both 8259s: on KVM the BSP's LINT0 starts in ExtINT mode, so an unmasked PIC
	 * could inject its (never programmed) vectors. LINT0 is masked below as well. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;
	if (c & CPUID1_ECX_X2APIC) {
		/* MSR access: no MMIO window and no page-table walk per register. */
		base |= APIC_BASE_EXTD;
		x2apic = 1;
	}
	wrmsr(MSR_APIC_BASE, base);
	apic_id = x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	tsc_deadline = !!(c & CPUID1_ECX_TSCDEADLINE);
	if (tsc_deadline)
		lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TSC_DEADLINE);
	else
		lapic_calibrate();
	state = 1;
	return 0;
}

/* Level-triggered, active high (virtio-mmio lines follow InterruptStatus), fixed delivery to
 * this CPU. */
int intr_route(uint32_t gsi, uint8_t vector)
{
	uint32_t pins;

	if (intr_init() < 0)
		return -1;
	pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
	if (gsi >= pins)
		return -1;
	ioapic_write(IOREDTBL(gsi) + 1, apic_id << 24);
	ioapic_write(IOREDTBL(gsi), vector | IORED_LEVEL);
	return 0;
}

static void timer_arm(uint64_t deadline)
{
	uint64_t now, ticks;

	if (tsc_deadline) {
		/* 0 disarms; a deadline already past fires at once. */
		wrmsr(MSR_TSC_DEADLINE, deadline == ~0ull ? 0 : deadline | 1);
		return;
	}
	if (deadline == ~0ull) {
		lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	now = rdtsc();
	ticks = deadline > now ? (deadline - now) / tsc_khz() * lapic_per_ms +
				     (deadline - now) % tsc_khz() * lapic_per_ms / tsc_khz()
			       : 1;
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, ticks > 0xffffffffu ? 0xffffffffu : ticks ? (uint32_t)ticks : 1);
}

void kwait_until(uint64_t deadline)
{
	if (state <= 0 && intr_init() < 0) {
		cpu_relax(); /* no APIC: the caller's loop polls */
		return;
	}
	timer_arm(deadline);
	asm volatile("sti; hlt; cli" : : : "memory");
}

void intr_poll(void)
{
	if (state > 0)
		asm volatile("sti; nop; cli" : : : "memory");
}

void irq_dispatch(uint64_t vector)
{
	if (vector == VEC_GPU)
		gpu_interrupt();
	else if (vector == VEC_INPUT)
		input_interrupt();
	/* The timer only ends a HLT; the waiter re-checks its own deadline. A spurious vector
	 * must not be acknowledged (it set no in-service bit). */
	if (vector != VEC_SPURIOUS)
		lapic_write(LAPIC_EOI, 0);
}

/* ticks -> ns without a 128-bit multiply (no libgcc here): whole ms, then the remainder. */
static uint64_t tsc_to_ns(uint64_t ticks)
{
	uint64_t khz = tsc_khz();

	return ticks / khz * 1000000 + ticks % khz * 1000000 / khz;
}

uint64_t time_mono_ns(void)
{
	uint64_t t0 = boot_info ? boot_info->wallclock_tsc : 0, now = rdtsc();

	return now > t0 ? tsc_to_ns(now - t0) : 0;
}

/* The VMM's wall-clock/TSC pair, moved on by the TSC since. */
uint64_t time_wall_ns(void)
{
	return (boot_info ? boot_info->wallclock_ns : 0) + time_mono_ns();
}
