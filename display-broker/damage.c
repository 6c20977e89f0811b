/* damage.c: tidies a session's damage list before it is encoded: rectangles inside others go,
 * and a list that covers its bounding box more than once becomes that box. Not the
 * accumulation of damage (broker.c) or any encoder. */
#include "broker-internal.h"

static uint64_t rect_end(uint32_t pos, uint32_t len)
{
	return (uint64_t)pos + len; /* rectangles come from a VMM: no wrap-around */
}

static bool rect_contains(const struct hd_chan_rect *a, const struct hd_chan_rect *b)
{
	return b->x >= a->x && b->y >= a->y &&
	       rect_end(b->x, b->width) <= rect_end(a->x, a->width) &&
	       rect_end(b->y, b->height) <= rect_end(a->y, a->height);
}

unsigned bk_damage_simplify(struct hd_chan_rect *r, unsigned n)
{
	/* Empty ones, and ones another (earlier, on a tie) contains. */
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		bool drop = !r[i].width || !r[i].height;
		for (unsigned j = 0; j < n && !drop; j++)
			if (j != i && r[j].width && r[j].height && rect_contains(&r[j], &r[i]) &&
			    (!rect_contains(&r[i], &r[j]) || j < i))
				drop = true;
		if (!drop)
			r[k++] = r[i];
	}
	if (k < 2)
		return k;
	uint64_t x0 = UINT64_MAX, y0 = UINT64_MAX, x1 = 0, y1 = 0, area = 0;
	for (unsigned i = 0; i < k; i++) {
		x0 = r[i].x < x0 ? r[i].x : x0;
		y0 = r[i].y < y0 ? r[i].y : y0;
		x1 = rect_end(r[i].x, r[i].width) > x1 ? rect_end(r[i].x, r[i].width) : x1;
		y1 = rect_end(r[i].y, r[i].height) > y1 ? rect_end(r[i].y, r[i].height) : y1;
		area += (uint64_t)r[i].width * r[i].height;
	}
	/* Overlaps sending the same pixels twice cost more than the box's few extra ones. */
	if (x1 - x0 <= UINT32_MAX && y1 - y0 <= UINT32_MAX && area >= (x1 - x0) * (y1 - y0)) {
		r[0] = (struct hd_chan_rect){(uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0),
					     (uint32_t)(y1 - y0)};
		return 1;
	}
	return k;
}
