/* gfx-sys.c: the demo kernel's graphics system calls: surfaces, scanouts, flushes, display
 * events, cursor, pool statistics. Not the driver (guest-gfx-driver/), and no pixel work. */
#include "gfx-driver.h"
#include "kernel.h"
#include "memobj.h"

/*
 * Two pools from the same allocator: guest RAM for the objects, and the user window's
 * addresses (in 2 MiB units) for their mappings. Each live surface holds two references to
 * its memory object: its mapping's and the device's (its resource); the device's is dropped
 * only once the device has confirmed it let go, so memory the device may still read is
 * never handed out again.
 */

struct surface {
	int used;
	int blob;
	uint32_t res_id;
	uint32_t width, height, stride;
	uint32_t heads; /* bitmask of heads showing it */
	struct memobj *mem;
	struct memobj *va;
};

static struct gfx_dev gpu;
static int gpu_state; /* 0 not opened, 1 ready, else the -errno the probe gave */
static int pools_ready;
static struct mo_pool ram_pool, va_pool;
static struct surface surfaces[DEMO_MAX_SURFACES];
static uint32_t head_surface[GFX_MAX_HEADS]; /* handle shown on each head, 0 = none */
static uint32_t next_res_id = 1;
static uint32_t display_gen;

static uint32_t cursor_res;	 /* 64x64 2D resource, created on first use */
static struct memobj *cursor_mem;
static uint32_t cursor_x[GFX_MAX_HEADS], cursor_y[GFX_MAX_HEADS];

#define CURSOR_BYTES (64 * 64 * 4)

/* Graphics memory: all free RAM (free_ram_region: above the image, which holds the kernel's
 * stacks and tables, and only what is identity-mapped). */
static void pools_init(void)
{
	uint64_t s, e;

	if (pools_ready)
		return;
	pools_ready = 1;
	for (uint32_t i = 0; free_ram_region(i, &s, &e); i++)
		if (s < e)
			mo_add_region(&ram_pool, s, e);
	mo_add_region(&va_pool, UWIN_BASE, UWIN_BASE + ((uint64_t)UWIN_GIB << 30));
}

void gpu_interrupt(void)
{
	gfx_irq(&gpu);
}

/* What the driver needs from this kernel (gfx-driver.h). */
void gfx_port_wait(uint64_t deadline_tsc)
{
	kwait_until(deadline_tsc);
}

uint64_t gfx_port_tsc_khz(void)
{
	return tsc_khz();
}

long ksys_gpu_open(uint64_t flags)
{
	if (!gpu_state) {
		pools_init();
		gpu_state = gfx_probe(&gpu, boot_info,
				      flags & DEMO_GPU_NO_BLOB ? GFX_PROBE_NO_BLOB : 0);
		if (!gpu_state) {
			gpu_state = 1;
			/* No interrupt line means display changes are only seen by polling, which
			 * the wait below does not do: report it rather than hang later. */
			if (intr_route(gpu.gsi, VEC_GPU) < 0)
				gpu_state = -DEMO_EIO;
		}
	}
	return gpu_state == 1 ? (long)gpu.num_scanouts : gpu_state;
}

static int user_struct_ok(uint64_t p, uint64_t n)
{
	return p && user_range_ok(p, n) && !(p & 7);
}

static void fill_display_info(struct demo_display_info *d)
{
	d->num_heads = gpu.num_scanouts;
	d->generation = display_gen;
	d->flags = (gpu.blob ? DEMO_GPU_BLOB : 0) | (gpu.edid ? DEMO_GPU_EDID : 0);
	d->irq_count = gpu.irq_count;
	for (uint32_t i = 0; i < DEMO_MAX_HEADS; i++) {
		struct demo_head *h = &d->heads[i];
		const struct gfx_head *g = &gpu.heads[i];

		h->enabled = i < gpu.num_scanouts && g->enabled;
		h->x = g->x;
		h->y = g->y;
		h->width = g->width;
		h->height = g->height;
		h->mm_width = g->mm_width;
		h->mm_height = g->mm_height;
		h->bpc = g->bpc;
		h->surface = head_surface[i];
	}
}

long ksys_display_info(uint64_t uinfo)
{
	if (!user_struct_ok(uinfo, sizeof(struct demo_display_info)))
		return -DEMO_EFAULT;
	if (gpu_state != 1)
		return -DEMO_ENODEV;
	fill_display_info((struct demo_display_info *)uinfo);
	return 0;
}

long ksys_display_wait(uint64_t timeout_ms, uint64_t uinfo)
{
	uint64_t deadline = ~0ull;
	int changed = 0, r = 0;

	if (!user_struct_ok(uinfo, sizeof(struct demo_display_info)))
		return -DEMO_EFAULT;
	if (gpu_state != 1)
		return -DEMO_ENODEV;
	if (timeout_ms != DEMO_WAIT_FOREVER) {
		if (timeout_ms > DEMO_SLEEP_MAX_MS)
			return -DEMO_EINVAL;
		deadline = rdtsc() + timeout_ms * tsc_khz();
	}
	/* An interrupt already pending (the program runs with IF clear) is taken first. A
	 * zero timeout also asks the device itself: some hypervisors inject a pending
	 * interrupt only on the next exit, and "sti; nop; cli" makes none, so a program that
	 * polls every frame would otherwise see display changes seconds late. */
	intr_poll();
	if (!timeout_ms)
		gfx_irq(&gpu);
	for (;;) {
		/* Interrupts are off here, so the handler cannot set a bit between the test and
		 * the clear. */
		if (gpu.events & GFX_EVENT_DISPLAY) {
			gpu.events &= ~GFX_EVENT_DISPLAY;
			r = gfx_refresh_displays(&gpu);
			display_gen++;
			changed = 1;
			break;
		}
		/* Input waiting: the program reads it (input_read) and comes back. */
		if (!timeout_ms || rdtsc() >= deadline || input_pending())
			break;
		kwait_until(deadline);
	}
	fill_display_info((struct demo_display_info *)uinfo);
	return r < 0 ? r : changed;
}

static struct surface *lookup(uint64_t handle)
{
	if (!handle || handle > DEMO_MAX_SURFACES || !surfaces[handle - 1].used)
		return NULL;
	return &surfaces[handle - 1];
}

long ksys_surface_create(uint64_t width, uint64_t height, uint64_t uinfo)
{
	struct gfx_mem_entry ents[MO_MAX_PIECES];
	struct demo_surface_info *info = (struct demo_surface_info *)uinfo;
	struct surface *s = NULL;
	uint64_t bytes, va;
	uint32_t handle = 0;
	int r;

	if (!user_struct_ok(uinfo, sizeof(*info)))
		return -DEMO_EFAULT;
	if (gpu_state != 1)
		return -DEMO_ENODEV;
	if (!width || !height || width > DEMO_SURFACE_MAX_DIM || height > DEMO_SURFACE_MAX_DIM)
		return -DEMO_EINVAL;
	for (uint32_t i = 0; i < DEMO_MAX_SURFACES && !s; i++)
		if (!surfaces[i].used) {
			s = &surfaces[i];
			handle = i + 1;
		}
	if (!s)
		return -DEMO_ENOSPC;

	bytes = width * 4 * height;
	s->mem = mo_alloc(&ram_pool, bytes, MO_F_HUGE);
	if (!s->mem)
		return -DEMO_ENOMEM;
	s->va = mo_alloc(&va_pool, s->mem->size, MO_F_HUGE | MO_F_CONTIG);
	if (!s->va) {
		mo_put(&ram_pool, s->mem);
		return -DEMO_ENOMEM;
	}
	va = s->va->piece[0].start;
	for (uint32_t k = 0, off = 0; k < s->mem->npieces; k++) {
		const struct mo_extent *pc = &s->mem->piece[k];

		uwin_map(va + off, pc->start, pc->end - pc->start);
		off += (uint32_t)(pc->end - pc->start);
		ents[k].addr = pc->start;
		ents[k].length = (uint32_t)(pc->end - pc->start);
	}

	s->res_id = next_res_id++;
	s->blob = gpu.blob;
	r = gfx_resource_create(&gpu, s->res_id, (uint32_t)width, (uint32_t)height,
				GFX_FORMAT_XRGB, ents, s->mem->npieces, s->blob);
	if (r < 0) {
		uwin_unmap(va, s->va->size);
		mo_put(&va_pool, s->va);
		mo_put(&ram_pool, s->mem);
		return r;
	}
	mo_get(s->mem); /* the device's reference */
	s->used = 1;
	s->width = (uint32_t)width;
	s->height = (uint32_t)height;
	s->stride = (uint32_t)width * 4;
	s->heads = 0;

	info->handle = handle;
	info->width = s->width;
	info->height = s->height;
	info->stride = s->stride;
	info->addr = va;
	info->size = s->va->size;
	info->pieces = s->mem->npieces;
	info->resource_id = s->res_id;
	return handle;
}

long ksys_surface_flush(uint64_t handle, uint64_t x, uint64_t y, uint64_t w, uint64_t h)
{
	struct surface *s = lookup(handle);

	if (!s)
		return -DEMO_EBADF;
	/* Clipped to the surface; a rectangle wholly outside it is an error. */
	if (x >= s->width || y >= s->height || !w || !h)
		return -DEMO_EINVAL;
	if (w > s->width - x)
		w = s->width - x;
	if (h > s->height - y)
		h = s->height - y;
	return gfx_flush(&gpu, s->res_id, s->width, (uint32_t)x, (uint32_t)y, (uint32_t)w,
			 (uint32_t)h, s->blob);
}

static int scanout_off(uint32_t head)
{
	int r = gfx_set_scanout(&gpu, head, 0, 0, 0, 0);

	if (r == 0 && head_surface[head]) {
		surfaces[head_surface[head] - 1].heads &= ~(1u << head);
		head_surface[head] = 0;
	}
	return r;
}

long ksys_surface_set_scanout(uint64_t handle, uint64_t head)
{
	struct surface *s = NULL;
	int r;

	if (gpu_state != 1)
		return -DEMO_ENODEV;
	if (head >= gpu.num_scanouts)
		return -DEMO_EINVAL;
	if (!handle)
		return scanout_off((uint32_t)head);
	s = lookup(handle);
	if (!s)
		return -DEMO_EBADF;
	r = gfx_set_scanout(&gpu, (uint32_t)head, s->res_id, s->width, s->height, s->blob);
	if (r < 0)
		return r;
	if (head_surface[head])
		surfaces[head_surface[head] - 1].heads &= ~(1u << head);
	s->heads |= 1u << head;
	head_surface[head] = (uint32_t)handle;
	return 0;
}

long ksys_surface_destroy(uint64_t handle)
{
	struct surface *s = lookup(handle);
	int r;

	if (!s)
		return -DEMO_EBADF;
	/* The device must stop scanning it out before its memory can go. */
	for (uint32_t h = 0; h < gpu.num_scanouts; h++)
		if ((s->heads & (1u << h)) && scanout_off(h) < 0)
			return -DEMO_EIO;
	r = gfx_resource_destroy(&gpu, s->res_id, s->blob);
	/* The device's reference goes once it has let go; an answer of "no such resource"
	 * also means it holds nothing. A device that stopped answering keeps its reference,
	 * and the memory stays out of circulation rather than be reused under it. */
	if (r == 0 || r == -GFX_EINVAL)
		mo_put(&ram_pool, s->mem);
	uwin_unmap(s->va->piece[0].start, s->va->size);
	mo_put(&va_pool, s->va);
	mo_put(&ram_pool, s->mem);
	s->used = 0;
	return r == -GFX_EINVAL ? 0 : r;
}

long ksys_mem_stats(uint64_t ustats)
{
	struct demo_mem_stats *d = (struct demo_mem_stats *)ustats;
	struct mo_stats st;

	if (!user_struct_ok(ustats, sizeof(*d)))
		return -DEMO_EFAULT;
	pools_init();
	mo_get_stats(&ram_pool, &st);
	d->total = st.total;
	d->used = st.used;
	d->free = st.free;
	d->largest_free = st.largest_free;
	d->objects = st.objects;
	d->free_extents = st.free_extents;
	d->allocs = st.allocs;
	d->frees = st.frees;
	d->failures = st.failures;
	return 0;
}

/* The cursor image lives in a kernel-owned 2D resource (cursor images are always 2D): the
 * program's pixels are copied in, transferred, and the cursor queue told. */
long ksys_cursor_set(uint64_t upixels, uint64_t hot, uint64_t head)
{
	struct gfx_mem_entry e;
	int r;

	if (gpu_state != 1)
		return -DEMO_ENODEV;
	if (head >= gpu.num_scanouts || (hot & 0xffff) >= 64 || (hot >> 16) >= 64)
		return -DEMO_EINVAL;
	if (!upixels)
		return gfx_cursor_update(&gpu, (uint32_t)head, 0, cursor_x[head], cursor_y[head],
					 0, 0);
	if (!user_struct_ok(upixels, CURSOR_BYTES))
		return -DEMO_EFAULT;
	if (!cursor_res) {
		cursor_mem = mo_alloc(&ram_pool, CURSOR_BYTES, MO_F_CONTIG);
		if (!cursor_mem)
			return -DEMO_ENOMEM;
		e.addr = cursor_mem->piece[0].start;
		e.length = CURSOR_BYTES;
		r = gfx_resource_create(&gpu, next_res_id, 64, 64, GFX_FORMAT_ARGB, &e, 1, 0);
		if (r < 0) {
			mo_put(&ram_pool, cursor_mem);
			return r;
		}
		cursor_res = next_res_id++;
	}
	kcopy((void *)cursor_mem->piece[0].start, (const void *)upixels, CURSOR_BYTES);
	r = gfx_transfer(&gpu, cursor_res, 0, 0, 64, 64);
	if (r < 0)
		return r;
	return gfx_cursor_update(&gpu, (uint32_t)head, cursor_res, cursor_x[head],
				 cursor_y[head], (uint32_t)(hot & 0xffff), (uint32_t)(hot >> 16));
}

long ksys_cursor_move(uint64_t head, uint64_t x, uint64_t y)
{
	if (gpu_state != 1)
		return -DEMO_ENODEV;
	if (head >= gpu.num_scanouts || x > 0xffff || y > 0xffff)
		return -DEMO_EINVAL;
	cursor_x[head] = (uint32_t)x;
	cursor_y[head] = (uint32_t)y;
	return gfx_cursor_move(&gpu, (uint32_t)head, (uint32_t)x, (uint32_t)y);
}
