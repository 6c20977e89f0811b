/* memfill.c: memfill=N|all: writes N MiB (or all) of the guest's free RAM once at start, at
 * CPL3 through the kernel's fill window, so that snapshots and migrations carry a guest's full
 * RAM. Not a workload: nothing is read back, and the desktop or workload follows. */
#include "cmdline.h"
#include "ulib.h"

/* Odd, so consecutive multiples never repeat within 2^64 words: no two pages, and no word,
 * of one fill are alike, and none is zero (a zero page would be skipped, not carried). */
#define FILL_STEP 0x9e3779b97f4a7c15ull

static uint64_t fill(volatile uint64_t *p, uint64_t words, uint64_t v)
{
	for (uint64_t i = 0; i < words; i++) {
		v += FILL_STEP;
		p[i] = v;
	}
	return v;
}

void memfill_run(const struct demo_opts *o)
{
	struct demo_mem_stats st;
	uint64_t want = ~0ull, done = 0, v = 0, t0, us;
	long n = 0;

	/* Before SYS_GPU_OPEN the graphics pool is all free RAM, so its size is what may be
	 * filled (the window's 2 MiB pages may leave a little less). */
	if (sys_mem_stats(&st) < 0)
		st.free = 0;
	if (!o->memfill_all) {
		want = (uint64_t)o->memfill_mib << 20;
		if (want > st.free) {
			uprintf("error: bad value for memfill: %u (more than the %llu MiB of free "
				"RAM)\n",
				o->memfill_mib, (unsigned long long)(st.free >> 20));
			uexit(1);
		}
	}
	t0 = sys_time_ns(DEMO_CLOCK_MONO);
	while (done < want && (n = sys_memfill_map(done, want - done)) > 0) {
		uint64_t len = (uint64_t)n < want - done ? (uint64_t)n : want - done;

		v = fill((volatile uint64_t *)DEMO_MEMFILL_BASE, len / 8, v);
		done += len;
	}
	sys_memfill_map(0, 0);
	if (n < 0) {
		uprintf("error: memfill: the fill window refused offset %llu: %ld\n",
			(unsigned long long)done, n);
		uexit(1);
	}
	us = (sys_time_ns(DEMO_CLOCK_MONO) - t0) / 1000;
	uprintf("memfill: %llu MiB in %llu ms\n", (unsigned long long)(done >> 20),
		(unsigned long long)(us / 1000));
	uflush();
}
