/* memobj.c: the memory-object allocator: an address-ordered, coalescing free list of extents
 * and a fixed table of objects. Not thread-safe and not for interrupt context. */
#include "gfx-driver.h"
#include "memobj.h"

/*
 * Why a sorted extent list rather than a buddy: objects here are few and large (frame
 * buffers of megabytes), the list stays short (a handful of extents), and one extent per
 * object means one virtio memory entry and a handful of 2 MiB page-table entries. Small
 * objects are carved from the top of the highest extent and huge ones from the bottom of the
 * lowest, so cursors and the like do not break up the space frame buffers need.
 */

#define MO_MAX_REGIONS 16

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static void list_remove(struct mo_pool *p, uint32_t i)
{
	for (; i + 1 < p->nfree; i++)
		p->free[i] = p->free[i + 1];
	p->nfree--;
}

/* Room is guaranteed by MO_MAX_FREE (see memobj.h). */
static void list_insert(struct mo_pool *p, uint32_t i, uint64_t start, uint64_t end)
{
	for (uint32_t k = p->nfree; k > i; k--)
		p->free[k] = p->free[k - 1];
	p->free[i].start = start;
	p->free[i].end = end;
	p->nfree++;
}

/* Gives [s, e) back, merging it with the free extents it touches. */
static void free_range(struct mo_pool *p, uint64_t s, uint64_t e)
{
	uint32_t i = 0;
	int prev, next;

	while (i < p->nfree && p->free[i].start < s)
		i++;
	prev = i > 0 && p->free[i - 1].end == s;
	next = i < p->nfree && p->free[i].start == e;
	if (prev && next) {
		p->free[i - 1].end = p->free[i].end;
		list_remove(p, i);
	} else if (prev) {
		p->free[i - 1].end = e;
	} else if (next) {
		p->free[i].start = s;
	} else {
		list_insert(p, i, s, e);
	}
}

/* Takes [s, e) out of free extent i, which contains it. */
static void carve(struct mo_pool *p, uint32_t i, uint64_t s, uint64_t e)
{
	struct mo_extent *f = &p->free[i];

	if (s == f->start && e == f->end) {
		list_remove(p, i);
	} else if (s == f->start) {
		f->start = e;
	} else if (e == f->end) {
		f->end = s;
	} else {
		uint64_t old_end = f->end;

		f->end = s;
		list_insert(p, i + 1, e, old_end);
	}
}

int mo_add_region(struct mo_pool *p, uint64_t start, uint64_t end)
{
	start = align_up(start, MO_PAGE);
	end = align_down(end, MO_PAGE);
	if (end <= start)
		return -GFX_EINVAL;
	if (p->nregions == MO_MAX_REGIONS)
		return -GFX_ENOSPC;
	for (uint32_t i = 0; i < p->nfree; i++)
		if (start < p->free[i].end && p->free[i].start < end)
			return -GFX_EINVAL;
	p->nregions++;
	p->total += end - start;
	free_range(p, start, end);
	return 0;
}

/* One piece of size bytes: huge units from the lowest extent that fits, pages from the top of
 * the highest. Returns 0 with the piece, or -1. */
static int take_contig(struct mo_pool *p, uint64_t size, uint64_t unit, struct mo_extent *out)
{
	if (unit == MO_HUGE) {
		for (uint32_t i = 0; i < p->nfree; i++) {
			uint64_t s = align_up(p->free[i].start, unit);

			if (s < p->free[i].end && p->free[i].end - s >= size) {
				out->start = s;
				out->end = s + size;
				carve(p, i, s, s + size);
				return 0;
			}
		}
		return -1;
	}
	for (uint32_t i = p->nfree; i-- > 0;) {
		if (p->free[i].end - p->free[i].start >= size) {
			out->end = p->free[i].end;
			out->start = out->end - size;
			carve(p, i, out->start, out->end);
			return 0;
		}
	}
	return -1;
}

/* The biggest unit-aligned piece, at most size bytes; -1 when no whole unit is free. */
static int take_largest(struct mo_pool *p, uint64_t size, uint64_t unit, struct mo_extent *out)
{
	uint64_t best = 0, best_s = 0;
	uint32_t best_i = 0;

	for (uint32_t i = 0; i < p->nfree; i++) {
		uint64_t s = align_up(p->free[i].start, unit), e = align_down(p->free[i].end, unit);

		if (e > s && e - s > best) {
			best = e - s;
			best_s = s;
			best_i = i;
		}
	}
	if (!best)
		return -1;
	if (best > size)
		best = size;
	out->start = best_s;
	out->end = best_s + best;
	carve(p, best_i, out->start, out->end);
	return 0;
}

struct memobj *mo_alloc(struct mo_pool *p, uint64_t size, unsigned flags)
{
	uint64_t unit = flags & MO_F_HUGE ? MO_HUGE : MO_PAGE, left;
	struct memobj *o = 0;

	for (uint32_t i = 0; i < MO_MAX_OBJECTS && !o; i++)
		if (!p->obj[i].refs)
			o = &p->obj[i];
	/* The bound keeps the rounding below from overflowing. */
	if (!o || !size || size > p->total) {
		p->failures++;
		return 0;
	}
	size = align_up(size, unit);
	o->npieces = 0;
	o->size = size;
	if (take_contig(p, size, unit, &o->piece[0]) == 0) {
		o->npieces = 1;
	} else if (!(flags & MO_F_CONTIG)) {
		/* Fragmented: gather the biggest pieces first, so as few as possible. */
		for (left = size; left && o->npieces < MO_MAX_PIECES; o->npieces++) {
			struct mo_extent *pc = &o->piece[o->npieces];

			if (take_largest(p, left, unit, pc) < 0)
				break;
			left -= pc->end - pc->start;
		}
		if (left) {
			for (uint32_t k = 0; k < o->npieces; k++)
				free_range(p, o->piece[k].start, o->piece[k].end);
			o->npieces = 0;
		}
	}
	if (!o->npieces) {
		p->failures++;
		return 0;
	}
	o->refs = 1;
	p->used += size;
	p->allocs++;
	return o;
}

void mo_get(struct memobj *o)
{
	o->refs++;
}

void mo_put(struct mo_pool *p, struct memobj *o)
{
	if (!o->refs || --o->refs)
		return;
	for (uint32_t k = 0; k < o->npieces; k++)
		free_range(p, o->piece[k].start, o->piece[k].end);
	p->used -= o->size;
	p->frees++;
	o->npieces = 0;
}

void mo_get_stats(const struct mo_pool *p, struct mo_stats *s)
{
	s->total = p->total;
	s->used = p->used;
	s->free = p->total - p->used;
	s->largest_free = 0;
	for (uint32_t i = 0; i < p->nfree; i++)
		if (p->free[i].end - p->free[i].start > s->largest_free)
			s->largest_free = p->free[i].end - p->free[i].start;
	s->objects = 0;
	for (uint32_t i = 0; i < MO_MAX_OBJECTS; i++)
		s->objects += p->obj[i].refs != 0;
	s->free_extents = p->nfree;
	s->allocs = p->allocs;
	s->frees = p->frees;
	s->failures = p->failures;
}
