/* cmdline.h: the demo program's command-line options, as parsed from the VMM's
 * --guest-cmdline. Not the kernel's: the kernel only copies the string through. */
#ifndef DEMO_CMDLINE_H
#define DEMO_CMDLINE_H

enum demo_workload {
	WORKLOAD_STATIC, /* draw once, then only the clock (and counters) each second */
	WORKLOAD_TYPING, /* a few characters a second, each flushed as its own small rectangle */
	WORKLOAD_SCROLL, /* a text area scrolling smoothly */
	WORKLOAD_VIDEO,	 /* full-screen motion every frame, as fast as it goes */
	/* Engine workloads (workloads.c): no desktop, no GPU; a checksum, then power-off. */
	WORKLOAD_COMPUTE, /* CPL3 ALU and memory loop */
	WORKLOAD_PIO,	  /* port I/O bursts at CPL0 (a system call), then at CPL3 */
	WORKLOAD_SYSCALL, /* int $0x80 round trips */
	WORKLOAD_MIXED,	  /* rounds of the three */
	WORKLOAD_CHECKSUM, /* rounds rewriting 16 MiB of memory, checksummed (migration tests) */
};

struct demo_opts {
	int exit_set;	    /* exit=N seen: exit with N instead of idling */
	unsigned exit_code; /* 0..255 */
	int fault;	    /* test hook (exit 125): 1 = page fault, 2 = invalid opcode */
	unsigned workload;  /* enum demo_workload */
	unsigned frames;    /* frames=N: exit 0 after N frames on head 0 (0 = run forever) */
	unsigned sleep_ms;  /* test hook: sleep on the timer, report, then go on */
	int sleep_set;
	int no_blob;	    /* blob=0: 2D resources + transfers even where blobs work */
	int hw_cursor;	    /* cursor=hw: the device's cursor plane instead of a drawn pointer */
	int gfxtest;	    /* gfxtest=1: self-test of the graphics calls instead of the desktop */
	int still;	    /* still=1: a fixed clock, no run-dependent counters (reference images) */
	unsigned iterations; /* iterations=N: an engine workload's count (0 = its default) */
	unsigned memfill_mib; /* memfill=N: write N MiB of free RAM once at start (0 = none) */
	int memfill_all;      /* memfill=all: write all free RAM */
};

/* Space-separated key=value words; a later word overrides an earlier one. Unknown keys only
 * warn. Returns 0, or -1 after printing "error: ..." for a value a known key rejects. */
int cmdline_parse(const char *cmdline, struct demo_opts *opts);

/* workloads.c: runs an engine workload (WORKLOAD_COMPUTE..WORKLOAD_CHECKSUM), prints its
 * checksum and powers off with status 0. */
__attribute__((noreturn)) void engine_workload_run(const struct demo_opts *opts);

/* memfill.c: writes the free RAM memfill= asks for (a pattern no two pages share) and prints
 * how much and how long; powers off with status 1 if that is more than the guest has. */
void memfill_run(const struct demo_opts *opts);

#endif
