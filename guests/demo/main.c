/* main.c: the demo guest's CPL3 program: prints the banner, echoes the command line, obeys
 * its test hooks and exit=, then runs an engine workload or the desktop. Not privileged:
 * everything it needs from the machine comes through a syscall. */
#include "cmdline.h"
#include "desktop.h"
#include "ulib.h"

/* Static, not on the stack: the copy of the boot info carries a 4 KiB command line. */
static struct demo_bootinfo bi;

/*
 * Test hooks; the kernel must report the exception and power off with DEMO_EXIT_FAULT.
 * 1: a write to the kernel's text, which the page tables mark supervisor-only (#PF).
 * 2: UD2, a #UD that the kernel must not mistake for a system call (see entry.S).
 */
static void force_fault(int how)
{
	uflush();
	if (how == 1)
		*(volatile uint32_t *)HV_GUEST_LOAD_MIN = 0;
	else
		asm volatile("ud2");
}

__attribute__((noreturn)) void umain(void);

void umain(void)
{
	struct demo_opts opts;
	long err = sys_bootinfo(&bi);

	if (err < 0) {
		uprintf("error: bootinfo failed: %ld\n", err);
		uexit(1);
	}
	uprintf("hyperdesk demo guest " DEMO_VERSION ": %u vCPUs (%u online), %llu MiB RAM\n",
		bi.hv.vcpu_count, bi.cpus_online, (unsigned long long)(bi.hv.mem_size >> 20));
	uprintf("cmdline: %s\n", bi.cmdline);

	if (cmdline_parse(bi.cmdline, &opts) < 0)
		uexit(1);
	if (opts.fault) {
		force_fault(opts.fault);
		uprintf("error: fault=%d did not fault\n", opts.fault);
		uexit(1);
	}
	if (opts.sleep_set) {
		/* Test hook for the timer interrupt: the kernel halts until its deadline. */
		uint64_t t0 = sys_time_ns(DEMO_CLOCK_MONO), us;
		long e = sys_sleep(opts.sleep_ms);

		us = (sys_time_ns(DEMO_CLOCK_MONO) - t0) / 1000;
		uprintf("sleep: %u ms, measured %llu.%03llu ms (%ld)\n", opts.sleep_ms,
			(unsigned long long)(us / 1000), (unsigned long long)(us % 1000), e);
	}
	if (opts.exit_set) {
		uprintf("exit: %u\n", opts.exit_code);
		uexit((int)opts.exit_code);
	}
	if (opts.memfill_all || opts.memfill_mib)
		memfill_run(&opts);
	if (opts.workload >= WORKLOAD_COMPUTE)
		engine_workload_run(&opts);
	if (opts.gfxtest)
		gfx_selftest(&opts);
	desktop_run(&opts, &bi);
}
