/* persist.c: the GPU's snapshot section ("gpu", layout version 3; docs/PROTOCOL.md, "Snapshot
 * files"): heads (requested modes, EDID sizes and depths, scanouts, cursors), every resource with its
 * backing as guest addresses and a 2D one's host copy. Loading treats the bytes as hostile:
 * every value is checked as the guest's request was, memory is charged against this VM's
 * limit, and each active head's framebuffer is regenerated from its resource. Version 2 (no
 * depths) loads with depths not known; version 1 (no resources or scanouts) is refused with a
 * plain message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-channel.h"
#include "vgpu-internal.h"

#define SECTION "gpu"
#define VERSION 3
#define VERSION_OLDEST 2 /* still read: the same without the heads' depths */

static void put_resource(struct hd_buf *out, const struct vgpu_resource *r)
{
	hv_snap_put_u32(out, r->id);
	hv_snap_put_u8(out, r->blob);
	hv_snap_put_u32(out, r->format);
	hv_snap_put_u32(out, r->width);
	hv_snap_put_u32(out, r->height);
	hv_snap_put_u64(out, r->size);
	hv_snap_put_u32(out, r->nr_sg);
	for (unsigned i = 0; i < r->nr_sg; i++) {
		hv_snap_put_u64(out, r->sg[i].gpa);
		hv_snap_put_u64(out, r->sg[i].len);
	}
	if (!r->blob)
		hv_snap_put(out, r->host, (size_t)r->size);
}

void vgpu_snapshot_save(struct vgpu *g, struct hd_buf *out)
{
	pthread_mutex_lock(&g->lock);
	hv_snap_put_u32(out, g->nr_heads);
	hv_snap_put_u32(out, g->events_read);
	hv_snap_put_u32(out, g->nr_resources);
	for (unsigned b = 0; b < VGPU_RES_BUCKETS; b++)
		for (const struct vgpu_resource *r = g->res[b]; r; r = r->next)
			put_resource(out, r);
	for (unsigned i = 0; i < g->nr_heads; i++) {
		const struct vgpu_head *h = &g->heads[i];
		hv_snap_put_u8(out, h->enabled);
		hv_snap_put_u32(out, h->req_width);
		hv_snap_put_u32(out, h->req_height);
		hv_snap_put_u32(out, h->width_mm);
		hv_snap_put_u32(out, h->height_mm);
		hv_snap_put_u32(out, h->depth);
		/* A scanout whose framebuffer could not be made shows nothing: saved as none. */
		uint32_t res_id = h->fb ? h->res_id : 0;
		hv_snap_put_u32(out, res_id);
		if (res_id) {
			hv_snap_put_u8(out, h->blob);
			hv_snap_put_u32(out, h->format);
			hv_snap_put_u32(out, h->img_width);
			hv_snap_put_u32(out, h->img_height);
			hv_snap_put_u32(out, h->stride);
			hv_snap_put_u64(out, h->offset);
			hv_snap_put_u32(out, h->src.x);
			hv_snap_put_u32(out, h->src.y);
			hv_snap_put_u32(out, h->src.width);
			hv_snap_put_u32(out, h->src.height);
			hv_snap_put_u64(out, h->frame);
		}
		const struct vgpu_cursor *c = &h->cursor;
		hv_snap_put_u8(out, c->visible);
		hv_snap_put_u32(out, (uint32_t)c->x);
		hv_snap_put_u32(out, (uint32_t)c->y);
		hv_snap_put_u32(out, c->hot_x);
		hv_snap_put_u32(out, c->hot_y);
		hv_snap_put_u64(out, c->serial);
		hv_snap_put_u32(out, c->resource_id);
		hv_snap_put(out, c->image, sizeof(c->image));
	}
	pthread_mutex_unlock(&g->lock);
}

static int load_resource(struct vgpu *g, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct vgpu_resource s = {0};
	s.id = hv_snap_get_u32(in);
	s.blob = hv_snap_get_u8(in) != 0;
	s.format = hv_snap_get_u32(in);
	s.width = hv_snap_get_u32(in);
	s.height = hv_snap_get_u32(in);
	s.size = hv_snap_get_u64(in);
	s.nr_sg = hv_snap_get_u32(in);
	if (s.nr_sg > VGPU_MAX_ENTRIES || in->bad) {
		snprintf(err, errlen, "the GPU section is malformed (resource %u)", s.id);
		return -EINVAL;
	}
	/* Entries are copied out: the section's bytes need not be aligned. */
	uint64_t *ents = NULL;
	if (s.nr_sg) {
		ents = malloc((size_t)s.nr_sg * 2 * sizeof(*ents));
		if (!ents) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (unsigned i = 0; i < 2 * s.nr_sg; i++)
			ents[i] = hv_snap_get_u64(in);
	}
	const uint8_t *data = NULL;
	if (!s.blob && s.size <= VGPU_MAX_BLOB_SIZE)
		data = hv_snap_get_ptr(in, (size_t)s.size);
	if (in->bad || (!s.blob && !data)) {
		free(ents);
		snprintf(err, errlen, "the GPU section is malformed (resource %u)", s.id);
		return -EINVAL;
	}
	int r = vgpu_res_restore(g, &s, ents, data, err, errlen);
	free(ents);
	return r;
}

static int load_head(struct vgpu *g, unsigned i, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct vgpu_head *h = &g->heads[i];
	bool enabled = hv_snap_get_u8(in) != 0;
	uint32_t w = hv_snap_get_u32(in), hgt = hv_snap_get_u32(in);
	uint32_t w_mm = hv_snap_get_u32(in), h_mm = hv_snap_get_u32(in);
	uint32_t depth = in->version >= 3 ? hv_snap_get_u32(in) : 0;
	if (in->bad || w < VGPU_MODE_MIN || w > VGPU_MODE_MAX || hgt < VGPU_MODE_MIN ||
	    hgt > VGPU_MODE_MAX || !hd_chan_depth_ok(depth)) {
		snprintf(err, errlen, "the GPU section is malformed (head %u's mode)", i);
		return -EINVAL;
	}
	h->enabled = enabled;
	h->req_width = w;
	h->req_height = hgt;
	h->width_mm = w_mm;
	h->height_mm = h_mm;
	h->depth = depth;

	struct vgpu_head nh = {.res_id = hv_snap_get_u32(in)};
	if (nh.res_id) {
		nh.blob = hv_snap_get_u8(in) != 0;
		nh.format = hv_snap_get_u32(in);
		nh.img_width = hv_snap_get_u32(in);
		nh.img_height = hv_snap_get_u32(in);
		nh.stride = hv_snap_get_u32(in);
		nh.offset = hv_snap_get_u64(in);
		nh.src.x = hv_snap_get_u32(in);
		nh.src.y = hv_snap_get_u32(in);
		nh.src.width = hv_snap_get_u32(in);
		nh.src.height = hv_snap_get_u32(in);
		uint64_t frame = hv_snap_get_u64(in);
		if (in->bad) {
			snprintf(err, errlen, "the GPU section is malformed (head %u's scanout)",
				 i);
			return -EINVAL;
		}
		int r = vgpu_scanout_restore(g, i, &nh, frame, err, errlen);
		if (r < 0)
			return r;
	}

	struct vgpu_cursor c = {0};
	c.visible = hv_snap_get_u8(in) != 0;
	c.x = (int32_t)hv_snap_get_u32(in);
	c.y = (int32_t)hv_snap_get_u32(in);
	c.hot_x = hv_snap_get_u32(in);
	c.hot_y = hv_snap_get_u32(in);
	c.serial = hv_snap_get_u64(in);
	c.resource_id = hv_snap_get_u32(in);
	hv_snap_get(in, c.image, sizeof(c.image));
	if (in->bad || c.hot_x >= VGPU_CURSOR_SIZE || c.hot_y >= VGPU_CURSOR_SIZE) {
		snprintf(err, errlen, "the GPU section is malformed (head %u's cursor)", i);
		return -EINVAL;
	}
	vgpu_cursor_restore(g, i, &c);
	return 0;
}

static int load_locked(struct vgpu *g, struct hv_snap_in *in, char *err, size_t errlen)
{
	uint32_t heads = hv_snap_get_u32(in);
	if (!in->bad && heads != g->nr_heads) {
		snprintf(err, errlen, "%u heads in the snapshot, %u here", heads, g->nr_heads);
		return -EINVAL;
	}
	uint32_t events_read = hv_snap_get_u32(in);
	uint32_t resources = hv_snap_get_u32(in);
	if (in->bad || resources > VGPU_MAX_RESOURCES) {
		snprintf(err, errlen, "the GPU section is malformed");
		return -EINVAL;
	}
	int r;
	for (uint32_t i = 0; i < resources; i++)
		if ((r = load_resource(g, in, err, errlen)) < 0)
			return r;
	for (unsigned i = 0; i < heads; i++)
		if ((r = load_head(g, i, in, err, errlen)) < 0)
			return r;
	if (!hv_snap_in_done(in)) {
		snprintf(err, errlen, "the GPU section is malformed (bytes left over)");
		return -EINVAL;
	}
	g->events_read = events_read;
	return 0;
}

int vgpu_snapshot_load(struct vgpu *g, struct hv_snap_in *in, char *err, size_t errlen)
{
	pthread_mutex_lock(&g->lock);
	/* From a clean device; on failure it is left clean again (nothing half-loaded). */
	vgpu_heads_reset(g);
	vgpu_res_destroy_all(g);
	int r;
	if (in->version < VERSION_OLDEST || in->version > VERSION) {
		snprintf(err, errlen,
			 "the GPU section has layout version %u, this build reads %u to %u (a "
			 "snapshot from another hyperdesk cannot be restored)",
			 in->version, VERSION_OLDEST, VERSION);
		r = -ENOTSUP;
	} else {
		r = load_locked(g, in, err, errlen);
	}
	if (r < 0) {
		vgpu_heads_reset(g);
		vgpu_res_destroy_all(g);
		g->events_read = 0;
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

static void gpu_save(void *opaque, struct hd_buf *out)
{
	vgpu_snapshot_save(opaque, out);
}

static int gpu_load(void *opaque, struct hv_snap_in *in, char *err, size_t errlen)
{
	return vgpu_snapshot_load(opaque, in, err, errlen);
}

int vgpu_persist_register(struct vgpu *g, struct hv_vm *vm)
{
	return hv_snapshot_register(vm, SECTION, VERSION, gpu_save, gpu_load, g);
}

int vgpu_snapshot_heads(struct hv_snapshot *s, uint32_t *heads, char *err, size_t errlen)
{
	struct hv_snap_in in;
	if (!hv_snapshot_section(s, SECTION, &in)) {
		snprintf(err, errlen, "snapshot has no GPU section");
		return -EINVAL;
	}
	if (in.version < VERSION_OLDEST || in.version > VERSION) {
		snprintf(err, errlen,
			 "snapshot GPU section has layout version %u, this build reads %u to %u (a "
			 "snapshot from another hyperdesk cannot be restored)",
			 in.version, VERSION_OLDEST, VERSION);
		return -ENOTSUP;
	}
	uint32_t n = hv_snap_get_u32(&in);
	if (in.bad || n < 1 || n > VGPU_MAX_HEADS) {
		snprintf(err, errlen, "snapshot GPU section is malformed");
		return -EINVAL;
	}
	*heads = n;
	return 0;
}
