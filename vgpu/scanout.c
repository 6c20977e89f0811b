/* scanout.c: heads: scanouts of 2D and blob resources, their host framebuffers in memfds,
 * flushes that copy only the damaged rectangle (converting pixel formats), damage and frame
 * counts, cursors, and the host side's requested modes. Not resources (resource.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hd-channel.h"
#include "vgpu-internal.h"

#define PAGE 4096ull

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4); /* guest strides and offsets need not be aligned */
	return le32toh(v);
}

static void store32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static bool format_has_alpha(uint32_t format)
{
	return format == VGPU_FORMAT_B8G8R8A8_UNORM || format == VGPU_FORMAT_A8R8G8B8_UNORM ||
	       format == VGPU_FORMAT_R8G8B8A8_UNORM || format == VGPU_FORMAT_A8B8G8R8_UNORM;
}

/* Converts n pixels of format into bytes B, G, R, A (XRGB8888/ARGB8888 little-endian); dst
 * may be src. Formats name their bytes in memory order, so as a little-endian word:
 * B8G8R8x8 is already right, x8R8G8B8 is byte-reversed, R8G8B8x8 has R and B swapped, and
 * x8B8G8R8 is rotated by one byte. opaque forces A = 0xff for formats without alpha. */
static void convert_row(uint8_t *dst, const uint8_t *src, uint32_t n, uint32_t format, bool opaque)
{
	uint32_t a = opaque && !format_has_alpha(format) ? 0xff000000u : 0;

	switch (format) {
	case VGPU_FORMAT_B8G8R8A8_UNORM:
	case VGPU_FORMAT_B8G8R8X8_UNORM:
		if (dst != src)
			memmove(dst, src, (size_t)n * 4);
		if (a)
			for (uint32_t i = 0; i < n; i++)
				dst[i * 4 + 3] = 0xff;
		return;
	case VGPU_FORMAT_A8R8G8B8_UNORM:
	case VGPU_FORMAT_X8R8G8B8_UNORM:
		for (uint32_t i = 0; i < n; i++)
			store32(dst + i * 4, __builtin_bswap32(load32(src + i * 4)) | a);
		return;
	case VGPU_FORMAT_R8G8B8A8_UNORM:
	case VGPU_FORMAT_R8G8B8X8_UNORM:
		for (uint32_t i = 0; i < n; i++) {
			uint32_t v = load32(src + i * 4);
			v = (v & 0xff00ff00u) | (v >> 16 & 0xffu) | (v & 0xffu) << 16;
			store32(dst + i * 4, v | a);
		}
		return;
	case VGPU_FORMAT_A8B8G8R8_UNORM:
	case VGPU_FORMAT_X8B8G8R8_UNORM:
		for (uint32_t i = 0; i < n; i++) {
			uint32_t v = load32(src + i * 4);
			store32(dst + i * 4, (v >> 8 | v << 24) | a);
		}
		return;
	default:
		memset(dst, 0, (size_t)n * 4);
		return;
	}
}

static void fb_free(struct vgpu *g, struct vgpu_head *h)
{
	if (h->fb)
		munmap(h->fb, h->fb_size);
	if (h->fb_fd >= 0)
		close(h->fb_fd);
	vgpu_mem_uncharge(g, h->fb_size);
	h->fb = NULL;
	h->fb_fd = -1;
	h->fb_size = 0;
	h->fb_width = h->fb_height = 0;
}

/* A new memfd of size bytes, mapped, and sealed so that whoever maps it later (the broker, in
 * another process) can rely on its size. */
static int fb_alloc(size_t size, int *fd_out, uint8_t **map_out)
{
	int fd = hd_memfd_sized("hyperdesk-vgpu-fb", MFD_ALLOW_SEALING, size);
	if (fd < 0)
		return fd;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		hd_debug(VGPU_TAG, "cannot seal framebuffer memfd: %s", strerror(errno));
	*fd_out = fd;
	*map_out = p;
	return 0;
}

/* Gives head a framebuffer of w x h, replacing it (new memfd) when the size changes. Returns
 * a VGPU_RESP_* code; on failure the old framebuffer stays. */
static uint32_t fb_ensure(struct vgpu *g, unsigned idx, uint32_t w, uint32_t h)
{
	struct vgpu_head *hd = &g->heads[idx];

	if (hd->fb && hd->fb_width == w && hd->fb_height == h)
		return VGPU_RESP_OK_NODATA;
	size_t size = (size_t)(((uint64_t)w * h * VGPU_BPP + PAGE - 1) & ~(PAGE - 1));
	/* Guest-sized host memory: counted like resources, the old one handed back first. */
	vgpu_mem_uncharge(g, hd->fb_size);
	if (!vgpu_mem_charge(g, size, "a framebuffer")) {
		g->mem_used += hd->fb_size;
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	}
	int fd = -1;
	uint8_t *map = NULL;
	int r = fb_alloc(size, &fd, &map);
	if (r < 0) {
		vgpu_mem_uncharge(g, size);
		g->mem_used += hd->fb_size;
		hd_warn(VGPU_TAG, "head %u: cannot create a %ux%u framebuffer: %s", idx, w, h,
			strerror(-r));
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	}
	g->mem_used += hd->fb_size; /* fb_free takes it back off */
	fb_free(g, hd);
	hd->fb_fd = fd;
	hd->fb = map;
	hd->fb_size = size;
	hd->fb_width = w;
	hd->fb_height = h;
	hd->nr_damage = 0;
	if (g->listener.mode)
		g->listener.mode(g->listener.opaque, idx, w, h, w * VGPU_BPP, fd);
	return VGPU_RESP_OK_NODATA;
}

void vgpu_head_disable_scanout(struct vgpu *g, unsigned idx)
{
	struct vgpu_head *h = &g->heads[idx];
	bool had = h->fb != NULL;

	h->res_id = 0;
	h->nr_damage = 0;
	fb_free(g, h);
	if (had && g->listener.mode)
		g->listener.mode(g->listener.opaque, idx, 0, 0, 0, -1);
}

void vgpu_scanout_release_resource(struct vgpu *g, uint32_t id)
{
	for (unsigned i = 0; i < g->nr_heads; i++)
		if (g->heads[i].res_id == id)
			vgpu_head_disable_scanout(g, i);
}

static void damage_add(struct vgpu_head *h, const struct vgpu_rect *r)
{
	if (h->nr_damage == VGPU_MAX_DAMAGE) {
		/* Too many pieces: one bounding box does (the broker re-reads a little more). */
		uint32_t x0 = r->x, y0 = r->y, x1 = r->x + r->width, y1 = r->y + r->height;
		for (unsigned i = 0; i < h->nr_damage; i++) {
			const struct vgpu_rect *d = &h->damage[i];
			x0 = d->x < x0 ? d->x : x0;
			y0 = d->y < y0 ? d->y : y0;
			x1 = d->x + d->width > x1 ? d->x + d->width : x1;
			y1 = d->y + d->height > y1 ? d->y + d->height : y1;
		}
		h->damage[0] = (struct vgpu_rect){x0, y0, x1 - x0, y1 - y0};
		h->nr_damage = 1;
		return;
	}
	h->damage[h->nr_damage++] = *r;
}

/* Copies rectangle fr (framebuffer coordinates, inside the framebuffer) of head's scanout from
 * resource res into the framebuffer. */
static void copy_rect(struct vgpu_head *h, const struct vgpu_resource *res,
		      const struct vgpu_rect *fr)
{
	for (uint32_t y = 0; y < fr->height; y++) {
		uint64_t off = h->offset + (uint64_t)(h->src.y + fr->y + y) * h->stride +
			       (uint64_t)(h->src.x + fr->x) * VGPU_BPP;
		uint8_t *dst = h->fb + ((uint64_t)(fr->y + y) * h->fb_width + fr->x) * VGPU_BPP;
		if (!res->blob) {
			convert_row(dst, res->host + off, fr->width, h->format, false);
			continue;
		}
		/* A blob is read straight from guest memory, then converted in place. */
		if (!vgpu_sg_read(res, off, dst, (uint64_t)fr->width * VGPU_BPP))
			return; /* backing detached: keep the last picture */
		convert_row(dst, dst, fr->width, h->format, false);
	}
}

/* Points head idx at its new scanout (fields already in h) and fills the framebuffer. */
static uint32_t scanout_commit(struct vgpu *g, unsigned idx, const struct vgpu_head *nh,
			       const struct vgpu_resource *res)
{
	uint32_t code = fb_ensure(g, idx, nh->src.width, nh->src.height);
	if (code != VGPU_RESP_OK_NODATA)
		return code;
	struct vgpu_head *h = &g->heads[idx];
	h->res_id = nh->res_id;
	h->blob = nh->blob;
	h->format = nh->format;
	h->img_width = nh->img_width;
	h->img_height = nh->img_height;
	h->stride = nh->stride;
	h->offset = nh->offset;
	h->src = nh->src;
	/* What the resource holds now shows at once (a page flip by SET_SCANOUT); drivers
	 * still follow with a flush, which is what counts as a frame. */
	struct vgpu_rect all = {0, 0, h->fb_width, h->fb_height};
	copy_rect(h, res, &all);
	damage_add(h, &all);
	return VGPU_RESP_OK_NODATA;
}

uint32_t vgpu_cmd_set_scanout(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_set_scanout c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t idx = vgpu_le32(c.scanout_id), id = vgpu_le32(c.resource_id);
	if (idx >= g->nr_heads)
		return VGPU_RESP_ERR_INVALID_SCANOUT_ID;
	if (id == 0) {
		/* §5.7.6.8: resource 0 disables the scanout. */
		vgpu_head_disable_scanout(g, idx);
		return VGPU_RESP_OK_NODATA;
	}
	struct vgpu_resource *res = vgpu_res_find(g, id);
	if (!res)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	struct vgpu_rect r = vgpu_rect_le(&c.r);
	/* Blobs have no size of their own: they go through SET_SCANOUT_BLOB. */
	if (res->blob || !r.width || !r.height || !vgpu_rect_inside(&r, res->width, res->height))
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	struct vgpu_head nh = {
	    .res_id = id,
	    .format = res->format,
	    .img_width = res->width,
	    .img_height = res->height,
	    .stride = res->stride,
	    .src = r,
	};
	return scanout_commit(g, idx, &nh, res);
}

uint32_t vgpu_cmd_set_scanout_blob(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_set_scanout_blob c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t idx = vgpu_le32(c.scanout_id), id = vgpu_le32(c.resource_id);
	if (idx >= g->nr_heads)
		return VGPU_RESP_ERR_INVALID_SCANOUT_ID;
	if (id == 0) {
		vgpu_head_disable_scanout(g, idx);
		return VGPU_RESP_OK_NODATA;
	}
	struct vgpu_resource *res = vgpu_res_find(g, id);
	if (!res)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	uint32_t w = vgpu_le32(c.width), h = vgpu_le32(c.height), format = vgpu_le32(c.format);
	uint32_t stride = vgpu_le32(c.strides[0]);
	uint64_t offset = vgpu_le32(c.offsets[0]);
	struct vgpu_rect r = vgpu_rect_le(&c.r);
	if (!res->blob || !vgpu_format_known(format) || !w || !h || w > VGPU_MAX_DIM ||
	    h > VGPU_MAX_DIM || stride < (uint64_t)w * VGPU_BPP)
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	/* The whole image must lie in the blob: 64-bit, each term below 2^47. */
	uint64_t end = offset + (uint64_t)(h - 1) * stride + (uint64_t)w * VGPU_BPP;
	if (end > res->size)
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	if (!r.width || !r.height || !vgpu_rect_inside(&r, w, h))
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	struct vgpu_head nh = {
	    .res_id = id,
	    .blob = true,
	    .format = format,
	    .img_width = w,
	    .img_height = h,
	    .stride = stride,
	    .offset = offset,
	    .src = r,
	};
	return scanout_commit(g, idx, &nh, res);
}

uint32_t vgpu_cmd_flush(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_resource_flush c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t id = vgpu_le32(c.resource_id);
	struct vgpu_resource *res = vgpu_res_find(g, id);
	if (!res)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	struct vgpu_rect r = vgpu_rect_le(&c.r);
	/* A 2D rectangle must lie in the resource; a blob has no size in pixels, so its
	 * rectangle is only clipped to each scanout below (in 64-bit, so nothing wraps). */
	if (!res->blob && !vgpu_rect_inside(&r, res->width, res->height))
		return VGPU_RESP_ERR_INVALID_PARAMETER;

	for (unsigned i = 0; i < g->nr_heads; i++) {
		struct vgpu_head *h = &g->heads[i];
		if (h->res_id != id || !h->fb)
			continue;
		/* Intersect with the part of the image this head shows. */
		uint64_t x0 = r.x > h->src.x ? r.x : h->src.x;
		uint64_t y0 = r.y > h->src.y ? r.y : h->src.y;
		uint64_t x1 = (uint64_t)r.x + r.width, y1 = (uint64_t)r.y + r.height;
		uint64_t sx1 = (uint64_t)h->src.x + h->src.width;
		uint64_t sy1 = (uint64_t)h->src.y + h->src.height;
		x1 = x1 < sx1 ? x1 : sx1;
		y1 = y1 < sy1 ? y1 : sy1;
		if (x0 >= x1 || y0 >= y1)
			continue;
		struct vgpu_rect fr = {(uint32_t)(x0 - h->src.x), (uint32_t)(y0 - h->src.y),
				       (uint32_t)(x1 - x0), (uint32_t)(y1 - y0)};
		copy_rect(h, res, &fr);
		damage_add(h, &fr);
		h->frame++;
		if (g->listener.frame)
			g->listener.frame(g->listener.opaque, i, &fr, 1, h->frame);
	}
	return VGPU_RESP_OK_NODATA;
}

static void cursor_notify(struct vgpu *g, unsigned idx)
{
	if (!g->listener.cursor)
		return;
	const struct vgpu_cursor *c = &g->heads[idx].cursor;
	struct vgpu_cursor_info *info = &g->cursor_info; /* 16 KiB: not on the stack */
	info->visible = c->visible;
	info->x = c->x;
	info->y = c->y;
	info->hot_x = c->hot_x;
	info->hot_y = c->hot_y;
	info->serial = c->serial;
	memcpy(info->image, c->image, sizeof(info->image));
	g->listener.cursor(g->listener.opaque, idx, info);
}

uint32_t vgpu_cmd_update_cursor(struct vgpu *g, const uint8_t *req, size_t len, bool move)
{
	struct vgpu_update_cursor c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t idx = vgpu_le32(c.pos.scanout_id);
	if (idx >= g->nr_heads)
		return VGPU_RESP_ERR_INVALID_SCANOUT_ID;
	struct vgpu_cursor *cur = &g->heads[idx].cursor;
	/* Positions are signed in practice: a cursor may hang off the top-left edge. */
	int32_t x = (int32_t)vgpu_le32(c.pos.x), y = (int32_t)vgpu_le32(c.pos.y);
	if (move) {
		cur->x = x;
		cur->y = y;
		cursor_notify(g, idx);
		return VGPU_RESP_OK_NODATA;
	}
	uint32_t id = vgpu_le32(c.resource_id);
	if (id == 0) {
		cur->visible = false;
		cur->resource_id = 0;
		cur->x = x;
		cur->y = y;
		cursor_notify(g, idx);
		return VGPU_RESP_OK_NODATA;
	}
	const struct vgpu_resource *res = vgpu_res_find(g, id);
	if (!res)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (res->blob)
		return VGPU_RESP_ERR_INVALID_PARAMETER; /* no size to take an image from */
	/* The image is copied now (a later transfer needs another UPDATE_CURSOR, as with
	 * real drivers), clipped or padded to VGPU_CURSOR_SIZE square. */
	uint32_t w = res->width < VGPU_CURSOR_SIZE ? res->width : VGPU_CURSOR_SIZE;
	uint32_t h = res->height < VGPU_CURSOR_SIZE ? res->height : VGPU_CURSOR_SIZE;
	memset(cur->image, 0, sizeof(cur->image));
	for (uint32_t row = 0; row < h; row++)
		convert_row(cur->image + (size_t)row * VGPU_CURSOR_SIZE * 4,
			    res->host + (uint64_t)row * res->stride, w, res->format, true);
	uint32_t hx = vgpu_le32(c.hot_x), hy = vgpu_le32(c.hot_y);
	cur->hot_x = hx < VGPU_CURSOR_SIZE ? hx : VGPU_CURSOR_SIZE - 1;
	cur->hot_y = hy < VGPU_CURSOR_SIZE ? hy : VGPU_CURSOR_SIZE - 1;
	cur->x = x;
	cur->y = y;
	cur->visible = true;
	cur->resource_id = id;
	cur->serial++;
	cursor_notify(g, idx);
	return VGPU_RESP_OK_NODATA;
}

int vgpu_scanout_restore(struct vgpu *g, unsigned idx, const struct vgpu_head *nh, uint64_t frame,
			 char *err, size_t errlen)
{
	/* nh comes from a snapshot file: checked as SET_SCANOUT(_BLOB) would check it. */
	const struct vgpu_resource *res = vgpu_res_find(g, nh->res_id);
	bool ok = res && res->blob == nh->blob && nh->src.width && nh->src.height &&
		  vgpu_rect_inside(&nh->src, nh->img_width, nh->img_height);
	if (ok && !res->blob)
		ok = nh->format == res->format && nh->img_width == res->width &&
		     nh->img_height == res->height && nh->stride == res->stride && nh->offset == 0;
	if (ok && res->blob)
		/* offset: 32 bits on the wire, so every term below stays under 2^47. */
		ok = vgpu_format_known(nh->format) && nh->img_width && nh->img_height &&
		     nh->img_width <= VGPU_MAX_DIM && nh->img_height <= VGPU_MAX_DIM &&
		     nh->stride >= (uint64_t)nh->img_width * VGPU_BPP && nh->offset <= UINT32_MAX &&
		     nh->offset + (uint64_t)(nh->img_height - 1) * nh->stride +
			     (uint64_t)nh->img_width * VGPU_BPP <=
			 res->size;
	if (!ok) {
		snprintf(err, errlen, "GPU head %u: the saved scanout does not fit resource %u",
			 idx, nh->res_id);
		return -EINVAL;
	}
	/* A full flush from the resource regenerates the framebuffer (a new memfd). */
	if (scanout_commit(g, idx, nh, res) != VGPU_RESP_OK_NODATA) {
		snprintf(err, errlen,
			 "GPU head %u: no memory for its framebuffer (see --gpu-memory)", idx);
		return -ENOMEM;
	}
	g->heads[idx].frame = frame;
	return 0;
}

void vgpu_cursor_restore(struct vgpu *g, unsigned idx, const struct vgpu_cursor *c)
{
	g->heads[idx].cursor = *c;
	if (c->visible)
		cursor_notify(g, idx);
}

void vgpu_heads_reset(struct vgpu *g)
{
	for (unsigned i = 0; i < g->nr_heads; i++) {
		vgpu_head_disable_scanout(g, i);
		struct vgpu_cursor *c = &g->heads[i].cursor;
		if (c->visible) {
			c->visible = false;
			c->resource_id = 0;
			cursor_notify(g, i);
		}
	}
}

void vgpu_heads_fini(struct vgpu *g)
{
	for (unsigned i = 0; i < VGPU_MAX_HEADS; i++)
		fb_free(g, &g->heads[i]);
}

/* ---- host side ---- */

uint32_t vgpu_default_mm(uint32_t px)
{
	return (uint32_t)(((uint64_t)px * 254 + VGPU_DEFAULT_DPI * 5) / (VGPU_DEFAULT_DPI * 10));
}

int vgpu_display_set(struct vgpu *g, unsigned idx, uint32_t w, uint32_t h, uint32_t w_mm,
		     uint32_t h_mm, uint32_t depth)
{
	bool disable = w == 0 && h == 0;

	if (idx >= g->nr_heads)
		return -EINVAL;
	if (!disable &&
	    (w < VGPU_MODE_MIN || w > VGPU_MODE_MAX || h < VGPU_MODE_MIN || h > VGPU_MODE_MAX))
		return -EINVAL;
	/* EDID carries sizes up to 4095 mm. */
	if (w_mm > 4095 || h_mm > 4095)
		return -EINVAL;
	if (!hd_chan_depth_ok(depth))
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	struct vgpu_head *hd = &g->heads[idx];
	hd->enabled = !disable;
	if (!disable) {
		hd->req_width = w;
		hd->req_height = h;
		hd->width_mm = w_mm ? w_mm : vgpu_default_mm(w);
		hd->height_mm = h_mm ? h_mm : vgpu_default_mm(h);
		hd->depth = depth;
	}
	g->events_read |= VGPU_EVENT_DISPLAY;
	struct hv_virtio_mmio *t = g->transport;
	pthread_mutex_unlock(&g->lock);
	/* §5.7.4: the driver rereads the display info when it sees the event. */
	if (t)
		hv_virtio_config_changed(t);
	return 0;
}

int vgpu_head_info(struct vgpu *g, unsigned idx, struct vgpu_head_info *out)
{
	if (idx >= g->nr_heads)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	const struct vgpu_head *h = &g->heads[idx];
	*out = (struct vgpu_head_info){
	    .enabled = h->enabled,
	    .req_width = h->req_width,
	    .req_height = h->req_height,
	    .width_mm = h->width_mm,
	    .height_mm = h->height_mm,
	    .depth = h->depth,
	    .active = h->res_id != 0 && h->fb,
	    .resource_id = h->res_id,
	    .format = h->res_id ? h->format : 0,
	    .width = h->fb_width,
	    .height = h->fb_height,
	    .stride = h->fb_width * VGPU_BPP,
	    .fb_fd = h->fb_fd,
	    .frame = h->frame,
	};
	pthread_mutex_unlock(&g->lock);
	return 0;
}

int vgpu_head_cursor(struct vgpu *g, unsigned idx, struct vgpu_cursor_info *out)
{
	if (idx >= g->nr_heads)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	const struct vgpu_cursor *c = &g->heads[idx].cursor;
	out->visible = c->visible;
	out->x = c->x;
	out->y = c->y;
	out->hot_x = c->hot_x;
	out->hot_y = c->hot_y;
	out->serial = c->serial;
	memcpy(out->image, c->image, sizeof(out->image));
	pthread_mutex_unlock(&g->lock);
	return 0;
}

unsigned vgpu_head_take_damage(struct vgpu *g, unsigned idx, struct vgpu_rect *out, unsigned max)
{
	if (idx >= g->nr_heads)
		return 0;
	pthread_mutex_lock(&g->lock);
	struct vgpu_head *h = &g->heads[idx];
	unsigned n = h->nr_damage < max ? h->nr_damage : max;
	memcpy(out, h->damage, n * sizeof(*out));
	/* What did not fit stays for the next call. */
	memmove(h->damage, h->damage + n, (h->nr_damage - n) * sizeof(*out));
	h->nr_damage -= n;
	pthread_mutex_unlock(&g->lock);
	return n;
}
