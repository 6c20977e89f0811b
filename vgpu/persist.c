/* persist.c: the GPU's snapshot section ("gpu"): head count and requested modes. Not yet the
 * resources, their backing or the scanouts: a snapshot holding any is refused on restore with
 * a plain message (docs/ARCHITECTURE.md, "Snapshots", says what is missing). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vgpu-internal.h"

#define SECTION "gpu"
#define VERSION 1

static void gpu_save(void *opaque, struct hd_buf *out)
{
	struct vgpu *g = opaque;
	pthread_mutex_lock(&g->lock);
	hv_snap_put_u32(out, g->nr_heads);
	hv_snap_put_u32(out, g->events_read);
	for (unsigned i = 0; i < g->nr_heads; i++) {
		const struct vgpu_head *h = &g->heads[i];
		hv_snap_put_u8(out, h->enabled);
		hv_snap_put_u32(out, h->req_width);
		hv_snap_put_u32(out, h->req_height);
		hv_snap_put_u32(out, h->width_mm);
		hv_snap_put_u32(out, h->height_mm);
		hv_snap_put_u32(out, h->res_id);
	}
	hv_snap_put_u32(out, g->nr_resources);
	pthread_mutex_unlock(&g->lock);
}

static int gpu_load(void *opaque, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct vgpu *g = opaque;
	uint32_t heads = hv_snap_get_u32(in);
	if (heads != g->nr_heads) {
		snprintf(err, errlen, "%u heads in the snapshot, %u here", heads, g->nr_heads);
		return -EINVAL;
	}
	uint32_t events_read = hv_snap_get_u32(in);
	struct vgpu_head h[VGPU_MAX_HEADS];
	bool scanout = false;
	for (unsigned i = 0; i < heads; i++) {
		h[i].enabled = hv_snap_get_u8(in) != 0;
		h[i].req_width = hv_snap_get_u32(in);
		h[i].req_height = hv_snap_get_u32(in);
		h[i].width_mm = hv_snap_get_u32(in);
		h[i].height_mm = hv_snap_get_u32(in);
		scanout |= hv_snap_get_u32(in) != 0;
		if (h[i].req_width < VGPU_MODE_MIN || h[i].req_width > VGPU_MODE_MAX ||
		    h[i].req_height < VGPU_MODE_MIN || h[i].req_height > VGPU_MODE_MAX)
			in->bad = true;
	}
	uint32_t resources = hv_snap_get_u32(in);
	if (!hv_snap_in_done(in)) {
		snprintf(err, errlen, "the GPU section is malformed");
		return -EINVAL;
	}
	if (resources || scanout) {
		snprintf(err, errlen,
			 "the guest had %u GPU resource(s); restoring GPU resources and scanouts "
			 "is not implemented yet",
			 resources);
		return -ENOTSUP;
	}
	pthread_mutex_lock(&g->lock);
	g->events_read = events_read;
	for (unsigned i = 0; i < heads; i++) {
		g->heads[i].enabled = h[i].enabled;
		g->heads[i].req_width = h[i].req_width;
		g->heads[i].req_height = h[i].req_height;
		g->heads[i].width_mm = h[i].width_mm;
		g->heads[i].height_mm = h[i].height_mm;
	}
	pthread_mutex_unlock(&g->lock);
	return 0;
}

int vgpu_persist_register(struct vgpu *g, struct hv_vm *vm)
{
	return hv_snapshot_register(vm, SECTION, VERSION, gpu_save, gpu_load, g);
}

int vgpu_snapshot_heads(struct hv_snapshot *s, uint32_t *heads, char *err, size_t errlen)
{
	struct hv_snap_in in;
	if (!hv_snapshot_section(s, SECTION, &in) || in.version != VERSION) {
		snprintf(err, errlen, "snapshot has no usable GPU section");
		return -EINVAL;
	}
	uint32_t n = hv_snap_get_u32(&in);
	if (in.bad || n < 1 || n > VGPU_MAX_HEADS) {
		snprintf(err, errlen, "snapshot GPU section is malformed");
		return -EINVAL;
	}
	*heads = n;
	return 0;
}
