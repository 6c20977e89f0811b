/* memfill-sys.c: SYS_MEMFILL_MAP, which lends the program free RAM through the fill window so
 * that memfill= can write all of it at CPL3 before the desktop starts. Not an allocator: the
 * window closes for good when the GPU's pool may start handing that RAM out. */
#include "kernel.h"

static int closed; /* SYS_GPU_OPEN was called: the pool owns the RAM from then on */
static int mapped; /* the window holds something */

int free_ram_region(uint32_t i, uint64_t *start, uint64_t *end)
{
	const struct hv_boot_info *bi = boot_info;
	uint64_t img_end =
	    bi->image_end > (uint64_t)__user_end ? bi->image_end : (uint64_t)__user_end;
	uint32_t n = bi->ram_count < HV_BOOT_MAX_RAM ? bi->ram_count : HV_BOOT_MAX_RAM;

	img_end = (img_end + PAGE_2M - 1) & ~(PAGE_2M - 1);
	if (i >= n)
		return 0;
	*start = bi->ram[i].gpa;
	*end = *start + bi->ram[i].size;
	if (*end < *start)
		*end = ~0ull;
	if (*start < img_end)
		*start = img_end;
	if (*end > MAP_END)
		*end = MAP_END;
	if (*end < *start)
		*end = *start;
	return 1;
}

/* Region i of free RAM in whole 2 MiB pages, the fill window's unit. */
static int free_region(uint32_t i, uint64_t *start, uint64_t *end)
{
	if (!free_ram_region(i, start, end))
		return 0;
	*start = (*start + PAGE_2M - 1) & ~(PAGE_2M - 1);
	*end &= ~(PAGE_2M - 1);
	if (*end < *start)
		*end = *start;
	return 1;
}

static void unmap(void)
{
	if (mapped)
		fillwin_map(0, 0);
	mapped = 0;
}

long ksys_memfill_map(uint64_t offset, uint64_t max)
{
	uint64_t s, e;

	if (closed)
		return -DEMO_EBUSY;
	if (offset & (PAGE_2M - 1))
		return -DEMO_EINVAL;
	unmap();
	if (max > DEMO_MEMFILL_WINDOW)
		max = DEMO_MEMFILL_WINDOW;
	max = (max + PAGE_2M - 1) & ~(PAGE_2M - 1);
	for (uint32_t i = 0; max && free_region(i, &s, &e); i++) {
		if (offset >= e - s) {
			offset -= e - s;
			continue;
		}
		s += offset;
		if (e - s > max)
			e = s + max;
		fillwin_map(s, e - s);
		mapped = 1;
		return (long)(e - s);
	}
	return 0;
}

void memfill_close(void)
{
	unmap();
	closed = 1;
}
