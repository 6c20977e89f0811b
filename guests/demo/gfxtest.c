/* gfxtest.c: gfxtest=1, a CPL3 self-test of the graphics calls: checks, clipping, exhaustion,
 * and that freeing restores the pool. Not the desktop, and not a benchmark. */
#include "desktop.h"

static int passed, failed;

static void check(const char *what, long got, long want)
{
	if (got == want) {
		passed++;
		return;
	}
	failed++;
	uprintf("gfxtest: FAIL %s: got %ld, want %ld\n", what, got, want);
}

static void check_true(const char *what, int ok)
{
	check(what, ok, 1);
}

__attribute__((noreturn)) void gfx_selftest(const struct demo_opts *o)
{
	static struct demo_surface_info si;
	static struct demo_display_info di;
	static struct demo_mem_stats before, during, after;
	static uint32_t handles[DEMO_MAX_SURFACES + 1];
	static uint32_t img[64 * 64];
	long heads = sys_gpu_open(o->no_blob ? DEMO_GPU_NO_BLOB : 0), h;
	int n = 0;

	if (heads < 0) {
		uprintf("gpu: none\ngfxtest: needs a GPU\n");
		uexit(1);
	}
	sys_mem_stats(&before);

	/* Bad handles, sizes, pointers, heads. */
	check("flush of an unknown handle", sys_surface_flush(99, 0, 0, 1, 1), -DEMO_EBADF);
	check("flush of handle 0", sys_surface_flush(0, 0, 0, 1, 1), -DEMO_EBADF);
	check("destroy of an unknown handle", sys_surface_destroy(7), -DEMO_EBADF);
	check("zero width", sys_surface_create(0, 10, &si), -DEMO_EINVAL);
	check("width past the limit", sys_surface_create(DEMO_SURFACE_MAX_DIM + 1, 10, &si),
	      -DEMO_EINVAL);
	check("info pointer into the kernel",
	      sys_surface_create(64, 64, (struct demo_surface_info *)0x100000), -DEMO_EFAULT);
	check("info pointer NULL", sys_surface_create(64, 64, 0), -DEMO_EFAULT);
	check("display info into the kernel",
	      sys_display_info((struct demo_display_info *)0x200000), -DEMO_EFAULT);
	check("mem stats misaligned", sys_mem_stats((struct demo_mem_stats *)((char *)&during + 1)),
	      -DEMO_EFAULT);
	check("bad clock", (long)sys_time_ns(9), -DEMO_EINVAL);
	check_true("wall clock after 2020", sys_time_ns(DEMO_CLOCK_WALL) > 1577836800000000000ull);
	check("display info", sys_display_info(&di), 0);
	check("heads agree", di.num_heads, heads);

	/* One surface: mapped, writable, flushable, clipped, scanned out, destroyed. */
	h = sys_surface_create(640, 480, &si);
	check_true("create 640x480", h > 0);
	if (h > 0) {
		uint32_t *px = (uint32_t *)(uintptr_t)si.addr;

		check("stride", si.stride, 640 * 4);
		check("size rounded to 2 MiB", (long)si.size, 2 << 20);
		for (uint32_t i = 0; i < 640 * 480; i++)
			px[i] = 0x336699;
		check("flush all", sys_surface_flush((uint32_t)h, 0, 0, 640, 480), 0);
		check("flush clipped", sys_surface_flush((uint32_t)h, 600, 400, 100, 100), 0);
		check("flush outside", sys_surface_flush((uint32_t)h, 640, 0, 1, 1), -DEMO_EINVAL);
		check("flush empty", sys_surface_flush((uint32_t)h, 0, 0, 0, 5), -DEMO_EINVAL);
		check("scanout on a missing head", sys_surface_set_scanout((uint32_t)h, 99),
		      -DEMO_EINVAL);
		sys_mem_stats(&during);
		check("one more object", during.objects, before.objects + 1);
		check("2 MiB more in use", (long)(during.used - before.used), 2 << 20);
		check("destroy", sys_surface_destroy((uint32_t)h), 0);
		check("destroy twice", sys_surface_destroy((uint32_t)h), -DEMO_EBADF);
	}

	/* Exhaustion: 64 MiB surfaces until the pool or the surface table says no (one more
	 * than the table holds); an error, never a crash, then everything back. */
	for (n = 0; n <= DEMO_MAX_SURFACES; n++) {
		h = sys_surface_create(4096, 4096, &si);
		if (h < 0)
			break;
		handles[n] = (uint32_t)h;
	}
	check_true("exhaustion ends in ENOMEM or ENOSPC", h == -DEMO_ENOMEM || h == -DEMO_ENOSPC);
	sys_mem_stats(&during);
	if (h == -DEMO_ENOMEM) /* the table running out is not the allocator's failure */
		check_true("the failure is counted", during.failures > before.failures);
	while (n--)
		check("destroy after exhaustion", sys_surface_destroy(handles[n]), 0);
	sys_mem_stats(&after);
	check("all memory back", (long)after.used, (long)before.used);
	check("objects back", after.objects, before.objects);
	check("free list coalesced", after.free_extents, before.free_extents);

	/* The cursor: bad hot spot, then a real image (a device without a cursor queue may say
	 * ENOTSUP). */
	check("cursor hot spot out of range", sys_cursor_set(img, 64, 0, 0), -DEMO_EINVAL);
	pointer_image(img, 1);
	h = sys_cursor_set(img, 0, 0, 0);
	check_true("cursor set", h == 0 || h == -DEMO_ENOTSUP);

	uprintf("gfxtest: %d passed, %d failed\n", passed, failed);
	uexit(failed ? 1 : 0);
}
