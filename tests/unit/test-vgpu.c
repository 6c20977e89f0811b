/* test-vgpu.c: cmocka tests of the virtual GPU's control and cursor commands on synthetic
 * guest memory: resources, backing, transfers, scanouts, flushes, formats, blobs, cursors,
 * fences, the memory limit, every guest error path and the "gpu" snapshot section. Not EDID,
 * the host side or the virtqueue path (test-vgpu-host.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hd-common.h"
#include "vgpu-wire.h"
#include "vgpu.h"

#define MEM_SIZE (16ull << 20)
#define LIMIT	 (64ull << 20)
#define BACK_GPA 0x100000ull /* backing pages for 2D resources */
#define BLOB_GPA 0x800000ull
#define HEADS	 2

struct fx {
	struct hv_mem mem;
	struct vgpu *g;
	uint8_t resp[2048];
	size_t resp_len;
	/* listener records */
	int frames, modes, cursors;
	unsigned last_head;
	struct vgpu_rect last_damage;
	uint64_t last_frame;
	uint32_t mode_w, mode_h;
	int mode_fd;
	struct vgpu_cursor_info cursor;
};

static void on_frame(void *o, unsigned head, const struct vgpu_rect *d, unsigned n, uint64_t frame)
{
	struct fx *f = o;
	assert_int_equal(n, 1);
	f->frames++;
	f->last_head = head;
	f->last_damage = d[0];
	f->last_frame = frame;
}

static void on_mode(void *o, unsigned head, uint32_t w, uint32_t h, uint32_t stride, int fd)
{
	struct fx *f = o;
	f->modes++;
	f->last_head = head;
	f->mode_w = w;
	f->mode_h = h;
	f->mode_fd = fd;
	assert_int_equal(stride, w * 4);
}

static void on_cursor(void *o, unsigned head, const struct vgpu_cursor_info *c)
{
	struct fx *f = o;
	f->cursors++;
	f->last_head = head;
	f->cursor = *c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vgpu_config cfg = {.heads = HEADS, .memory_limit = LIMIT};
	struct vgpu_listener l = {on_frame, on_mode, on_cursor, f};

	hd_log_set_level(HD_LOG_ERROR);
	assert_int_equal(hv_mem_init(&f->mem, MEM_SIZE), 0);
	assert_int_equal(vgpu_new(&cfg, &f->mem, &f->g), 0);
	vgpu_set_listener(f->g, &l);
	f->mode_fd = -2;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	vgpu_destroy(f->g);
	hv_mem_fini(&f->mem);
	free(f);
	return 0;
}

static struct vgpu_ctrl_hdr hdr(uint32_t type)
{
	return (struct vgpu_ctrl_hdr){.type = type};
}

/* Sends a request on the control queue; returns the response type. */
static uint32_t req(struct fx *f, const void *r, size_t len)
{
	memset(f->resp, 0xee, sizeof(f->resp));
	f->resp_len = vgpu_ctrl_request(f->g, r, len, f->resp, sizeof(f->resp));
	assert_true(f->resp_len >= sizeof(struct vgpu_ctrl_hdr));
	return ((struct vgpu_ctrl_hdr *)f->resp)->type;
}

static uint32_t create_2d(struct fx *f, uint32_t id, uint32_t fmt, uint32_t w, uint32_t h)
{
	struct vgpu_resource_create_2d c = {hdr(VGPU_CMD_RESOURCE_CREATE_2D), id, fmt, w, h};
	return req(f, &c, sizeof(c));
}

struct attach_req {
	struct vgpu_resource_attach_backing a;
	struct vgpu_mem_entry e[8];
};

static uint32_t attach_n(struct fx *f, uint32_t id, const struct vgpu_mem_entry *e, uint32_t n)
{
	struct attach_req r = {{hdr(VGPU_CMD_RESOURCE_ATTACH_BACKING), id, n}, {{0}}};
	memcpy(r.e, e, n * sizeof(*e));
	return req(f, &r, sizeof(r.a) + n * sizeof(*e));
}

static uint32_t attach(struct fx *f, uint32_t id, uint64_t gpa, uint32_t len)
{
	struct vgpu_mem_entry e = {gpa, len, 0};
	return attach_n(f, id, &e, 1);
}

static uint32_t transfer(struct fx *f, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
			 uint64_t off)
{
	struct vgpu_transfer_to_host_2d t = {
	    hdr(VGPU_CMD_TRANSFER_TO_HOST_2D), {x, y, w, h}, off, id, 0};
	return req(f, &t, sizeof(t));
}

static uint32_t set_scanout(struct fx *f, uint32_t head, uint32_t id, uint32_t x, uint32_t y,
			    uint32_t w, uint32_t h)
{
	struct vgpu_set_scanout s = {hdr(VGPU_CMD_SET_SCANOUT), {x, y, w, h}, head, id};
	return req(f, &s, sizeof(s));
}

static uint32_t flush(struct fx *f, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct vgpu_resource_flush fl = {hdr(VGPU_CMD_RESOURCE_FLUSH), {x, y, w, h}, id, 0};
	return req(f, &fl, sizeof(fl));
}

static uint32_t unref(struct fx *f, uint32_t type, uint32_t id)
{
	struct vgpu_resource_unref u = {hdr(type), id, 0};
	return req(f, &u, sizeof(u));
}

struct blob_req {
	struct vgpu_resource_create_blob b;
	struct vgpu_mem_entry e[4];
};

static uint32_t create_blob(struct fx *f, uint32_t id, uint32_t mem, uint32_t flags, uint64_t size,
			    const struct vgpu_mem_entry *e, uint32_t n)
{
	struct blob_req r = {{hdr(VGPU_CMD_RESOURCE_CREATE_BLOB), id, mem, flags, n, 0, size},
			     {{0}}};
	memcpy(r.e, e, n * sizeof(*e));
	return req(f, &r, sizeof(r.b) + n * sizeof(*e));
}

static uint32_t scanout_blob(struct fx *f, uint32_t head, uint32_t id, uint32_t w, uint32_t h,
			     uint32_t fmt, uint32_t stride, uint32_t off, struct vgpu_wire_rect r)
{
	struct vgpu_set_scanout_blob s = {.hdr = hdr(VGPU_CMD_SET_SCANOUT_BLOB),
					  .r = r,
					  .scanout_id = head,
					  .resource_id = id,
					  .width = w,
					  .height = h,
					  .format = fmt,
					  .strides = {stride},
					  .offsets = {off}};
	return req(f, &s, sizeof(s));
}

static uint8_t *guest(struct fx *f, uint64_t gpa)
{
	return hv_mem_ptr(&f->mem, gpa, 1);
}

/* Maps the head's framebuffer from its memfd, as the broker will. */
static const uint8_t *fb_map(struct fx *f, unsigned head, struct vgpu_head_info *hi)
{
	assert_int_equal(vgpu_head_info(f->g, head, hi), 0);
	assert_true(hi->active);
	assert_true(hi->fb_fd >= 0);
	void *p = mmap(NULL, (size_t)hi->stride * hi->height, PROT_READ, MAP_SHARED, hi->fb_fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static void fb_unmap(const uint8_t *p, const struct vgpu_head_info *hi)
{
	munmap((void *)p, (size_t)hi->stride * hi->height);
}

/* A BGRX pixel value that identifies (x, y) and a generation. */
static uint32_t pix(uint32_t x, uint32_t y, uint32_t gen)
{
	return (gen & 0xff) << 24 | (y & 0xff) << 16 | (x & 0xff) << 8 | 0x5a;
}

static void fill(uint8_t *p, uint32_t w, uint32_t h, uint32_t stride, uint32_t gen)
{
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint32_t v = pix(x, y, gen);
			memcpy(p + (size_t)y * stride + x * 4, &v, 4);
		}
}

static uint32_t px_at(const uint8_t *p, uint32_t stride, uint32_t x, uint32_t y)
{
	uint32_t v;
	memcpy(&v, p + (size_t)y * stride + x * 4, 4);
	return v;
}

/* ---- tests ---- */

static void test_display_info(void **state)
{
	struct fx *f = *state;
	struct vgpu_ctrl_hdr h = hdr(VGPU_CMD_GET_DISPLAY_INFO);
	uint8_t small[100];

	assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(f->resp_len, sizeof(struct vgpu_resp_display_info));
	const struct vgpu_resp_display_info *di = (const void *)f->resp;
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(di->pmodes[i].enabled, i < HEADS);
		assert_int_equal(di->pmodes[i].r.width, i < HEADS ? VGPU_DEFAULT_WIDTH : 0);
		assert_int_equal(di->pmodes[i].r.height, i < HEADS ? VGPU_DEFAULT_HEIGHT : 0);
	}
	/* A response buffer too small for the answer: an error, not a partial answer. */
	assert_int_equal(vgpu_ctrl_request(f->g, &h, sizeof(h), small, sizeof(small)), 24);
	assert_int_equal(((struct vgpu_ctrl_hdr *)small)->type, VGPU_RESP_ERR_UNSPEC);
	/* Not even room for a header: nothing written, nothing run. */
	assert_int_equal(vgpu_ctrl_request(f->g, &h, sizeof(h), small, 23), 0);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct vgpu_ctrl_hdr h = hdr(0x0999);
	struct vgpu_stats st;

	assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_ERR_UNSPEC);
	assert_int_equal(req(f, &h, 10), VGPU_RESP_ERR_UNSPEC); /* short header */
	h = hdr(VGPU_CMD_SUBMIT_3D);
	assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_ERR_INVALID_CONTEXT_ID);
	h = hdr(VGPU_CMD_CTX_CREATE);
	assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_ERR_UNSPEC);
	struct vgpu_get_capset_info ci = {hdr(VGPU_CMD_GET_CAPSET_INFO), 0, 0};
	assert_int_equal(req(f, &ci, sizeof(ci)), VGPU_RESP_ERR_INVALID_PARAMETER);
	/* Cursor commands belong on the cursor queue. */
	struct vgpu_update_cursor uc = {.hdr = hdr(VGPU_CMD_MOVE_CURSOR)};
	assert_int_equal(req(f, &uc, sizeof(uc)), VGPU_RESP_ERR_UNSPEC);
	/* Every command with a body refuses a short one. */
	static const uint32_t types[] = {
	    VGPU_CMD_RESOURCE_CREATE_2D,
	    VGPU_CMD_RESOURCE_UNREF,
	    VGPU_CMD_SET_SCANOUT,
	    VGPU_CMD_RESOURCE_FLUSH,
	    VGPU_CMD_TRANSFER_TO_HOST_2D,
	    VGPU_CMD_RESOURCE_ATTACH_BACKING,
	    VGPU_CMD_RESOURCE_DETACH_BACKING,
	    VGPU_CMD_GET_EDID,
	    VGPU_CMD_RESOURCE_CREATE_BLOB,
	    VGPU_CMD_SET_SCANOUT_BLOB,
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(types); i++) {
		h = hdr(types[i]);
		assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_ERR_UNSPEC);
	}
	vgpu_get_stats(f->g, &st);
	assert_int_equal(st.commands, 6 + HD_ARRAY_SIZE(types));
	assert_int_equal(st.errors, st.commands);
}

static void test_fence(void **state)
{
	struct fx *f = *state;
	struct vgpu_ctrl_hdr h = {.type = VGPU_CMD_GET_DISPLAY_INFO,
				  .flags = VGPU_FLAG_FENCE,
				  .fence_id = 0x1122334455667788ull,
				  .ctx_id = 7,
				  .ring_idx = 3};

	assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_OK_DISPLAY_INFO);
	const struct vgpu_ctrl_hdr *r = (const void *)f->resp;
	assert_int_equal(r->flags, VGPU_FLAG_FENCE);
	assert_true(r->fence_id == 0x1122334455667788ull);
	assert_int_equal(r->ctx_id, 7);
	assert_int_equal(r->ring_idx, 0); /* only with INFO_RING_IDX */

	/* Errors are fenced too, and the ring index travels with INFO_RING_IDX. */
	struct vgpu_resource_unref u = {{.type = VGPU_CMD_RESOURCE_UNREF,
					 .flags = VGPU_FLAG_FENCE | VGPU_FLAG_INFO_RING_IDX,
					 .fence_id = 42,
					 .ring_idx = 3},
					99,
					0};
	assert_int_equal(req(f, &u, sizeof(u)), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(r->flags, VGPU_FLAG_FENCE | VGPU_FLAG_INFO_RING_IDX);
	assert_true(r->fence_id == 42);
	assert_int_equal(r->ring_idx, 3);

	/* Unfenced: the response header carries nothing of the request. */
	h.flags = 0;
	assert_int_equal(req(f, &h, sizeof(h)), VGPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(r->flags, 0);
	assert_true(r->fence_id == 0);
	assert_int_equal(r->ctx_id, 0);
}

static void test_create_2d(void **state)
{
	struct fx *f = *state;
	static const uint32_t fmts[] = {1, 2, 3, 4, 67, 68, 121, 134};

	for (size_t i = 0; i < HD_ARRAY_SIZE(fmts); i++)
		assert_int_equal(create_2d(f, 1 + (uint32_t)i, fmts[i], 16, 16),
				 VGPU_RESP_OK_NODATA);
	assert_int_equal(create_2d(f, 0, 2, 16, 16), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(create_2d(f, 1, 2, 16, 16), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(create_2d(f, 20, 0, 16, 16), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 20, 5, 16, 16), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 20, 0xffffffff, 16, 16), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 20, 2, 0, 16), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 20, 2, 16, 0), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 20, 2, 16385, 1), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 20, 2, 0xffffffff, 0xffffffff),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	struct vgpu_stats st;
	vgpu_get_stats(f->g, &st);
	assert_int_equal(st.resources, HD_ARRAY_SIZE(fmts));
	/* The device went on serving after all that. */
	assert_int_equal(create_2d(f, 20, 2, 16, 16), VGPU_RESP_OK_NODATA);
}

static void test_memory_limit(void **state)
{
	struct fx *f = *state;
	struct vgpu_stats st;

	/* 64 MiB limit: a 4096x4096 copy alone is 64 MiB, and bookkeeping comes on top. */
	assert_int_equal(create_2d(f, 1, 2, 4096, 4096), VGPU_RESP_ERR_OUT_OF_MEMORY);
	/* 16384x16384 would be 1 GiB: refused without trying to allocate it. */
	assert_int_equal(create_2d(f, 1, 2, 16384, 16384), VGPU_RESP_ERR_OUT_OF_MEMORY);
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(create_2d(f, id, 2, 2048, 2048), VGPU_RESP_OK_NODATA);
	vgpu_get_stats(f->g, &st);
	assert_true(st.memory_used >= 3 * (16ull << 20));
	assert_true(st.memory_used < 3 * (16ull << 20) + 4096);
	assert_true(st.memory_limit == LIMIT);
	uint64_t three = st.memory_used;
	assert_int_equal(create_2d(f, 4, 2, 2048, 2048), VGPU_RESP_ERR_OUT_OF_MEMORY);
	assert_int_equal(create_2d(f, 4, 2, 2048, 1024), VGPU_RESP_OK_NODATA);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_UNREF, 4), VGPU_RESP_OK_NODATA);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_UNREF, 2), VGPU_RESP_OK_NODATA);
	vgpu_get_stats(f->g, &st);
	assert_true(st.memory_used == three / 3 * 2);
	assert_int_equal(create_2d(f, 5, 2, 2048, 2048), VGPU_RESP_OK_NODATA);
	/* A reset gives everything back. */
	vgpu_reset(f->g);
	vgpu_get_stats(f->g, &st);
	assert_true(st.memory_used == 0);
	assert_int_equal(st.resources, 0);
}

static void test_attach_backing(void **state)
{
	struct fx *f = *state;
	struct vgpu_mem_entry e[3];

	assert_int_equal(create_2d(f, 1, 2, 32, 32), VGPU_RESP_OK_NODATA); /* 4 KiB */
	assert_int_equal(attach(f, 9, BACK_GPA, 4096), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(attach_n(f, 1, e, 0), VGPU_RESP_ERR_INVALID_PARAMETER);
	/* More entries than allowed, then entries the request does not hold. */
	struct vgpu_resource_attach_backing a = {hdr(VGPU_CMD_RESOURCE_ATTACH_BACKING), 1, 16385};
	assert_int_equal(req(f, &a, sizeof(a)), VGPU_RESP_ERR_INVALID_PARAMETER);
	a.nr_entries = 4;
	assert_int_equal(req(f, &a, sizeof(a)), VGPU_RESP_ERR_UNSPEC);
	/* Outside guest RAM, straddling its end, wrapping around 2^64. */
	assert_int_equal(attach(f, 1, MEM_SIZE, 4096), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(attach(f, 1, MEM_SIZE - 2048, 4096), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(attach(f, 1, ~0ull - 100, 4096), VGPU_RESP_ERR_INVALID_PARAMETER);
	/* Zero-length and overlapping entries. */
	e[0] = (struct vgpu_mem_entry){BACK_GPA, 4096, 0};
	e[1] = (struct vgpu_mem_entry){BACK_GPA + 8192, 0, 0};
	assert_int_equal(attach_n(f, 1, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	e[1] = (struct vgpu_mem_entry){BACK_GPA + 4095, 16, 0};
	assert_int_equal(attach_n(f, 1, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	e[1] = (struct vgpu_mem_entry){BACK_GPA - 16, 4096, 0};
	assert_int_equal(attach_n(f, 1, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	/* Not covering the resource. */
	assert_int_equal(attach(f, 1, BACK_GPA, 4095), VGPU_RESP_ERR_INVALID_PARAMETER);
	/* Good, then twice, then detach. */
	e[0] = (struct vgpu_mem_entry){BACK_GPA + 4096, 2048, 0};
	e[1] = (struct vgpu_mem_entry){BACK_GPA, 2048, 0};
	assert_int_equal(attach_n(f, 1, e, 2), VGPU_RESP_OK_NODATA);
	assert_int_equal(attach(f, 1, BACK_GPA, 4096), VGPU_RESP_ERR_UNSPEC);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_DETACH_BACKING, 1), VGPU_RESP_OK_NODATA);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_DETACH_BACKING, 1), VGPU_RESP_ERR_UNSPEC);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_DETACH_BACKING, 7),
			 VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(transfer(f, 1, 0, 0, 32, 32, 0), VGPU_RESP_ERR_UNSPEC); /* no backing */
	assert_int_equal(attach(f, 1, BACK_GPA, 4096), VGPU_RESP_OK_NODATA);
}

/* Transfer + scanout + flush from a backing scattered over pages in reverse order, then a
 * flush of one rectangle that must leave every other framebuffer pixel alone. */
static void test_transfer_flush_damage(void **state)
{
	struct fx *f = *state;
	const uint32_t W = 64, H = 64, stride = W * 4; /* 16 KiB = 4 pages */
	struct vgpu_mem_entry e[4];
	uint8_t img[64 * 64 * 4];
	struct vgpu_head_info hi;
	struct vgpu_rect dmg[20];

	for (int i = 0; i < 4; i++)
		e[i] = (struct vgpu_mem_entry){BACK_GPA + (uint64_t)(3 - i) * 4096, 4096, 0};
	assert_int_equal(create_2d(f, 1, VGPU_FORMAT_B8G8R8X8_UNORM, W, H), VGPU_RESP_OK_NODATA);
	assert_int_equal(attach_n(f, 1, e, 4), VGPU_RESP_OK_NODATA);
	fill(img, W, H, stride, 1);
	for (int i = 0; i < 4; i++)
		memcpy(guest(f, BACK_GPA + (uint64_t)(3 - i) * 4096), img + i * 4096, 4096);

	/* Rectangles outside the resource, including x + w wrapping 32 bits. */
	assert_int_equal(transfer(f, 1, 1, 0, W, H, 0), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(transfer(f, 1, 0xfffffff0, 0, 0x20, 1, 0),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(transfer(f, 1, 0, 0xffffffff, 1, 2, 0), VGPU_RESP_ERR_INVALID_PARAMETER);
	/* Offsets past the backing, or whose last row would be. */
	assert_int_equal(transfer(f, 1, 0, 0, 4, 4, 1ull << 40), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(transfer(f, 1, 0, 0, 4, 4, ~0ull), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(transfer(f, 1, 0, 60, 4, 4, 61 * stride), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(transfer(f, 9, 0, 0, 4, 4, 0), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(transfer(f, 1, 0, 0, W, H, 0), VGPU_RESP_OK_NODATA);

	assert_int_equal(set_scanout(f, 0, 1, 0, 0, W, H), VGPU_RESP_OK_NODATA);
	assert_int_equal(f->modes, 1);
	assert_int_equal(f->mode_w, W);
	const uint8_t *fb = fb_map(f, 0, &hi);
	assert_int_equal(hi.width, W);
	assert_int_equal(hi.stride, stride);
	assert_int_equal(hi.resource_id, 1);
	assert_int_equal(memcmp(fb, img, sizeof(img)), 0); /* shown at SET_SCANOUT */
	assert_int_equal(vgpu_head_take_damage(f->g, 0, dmg, 20), 1);

	/* Generation 2 in the guest, but only rows 8..11 transferred, only 16x4 flushed. */
	fill(img, W, H, stride, 2);
	for (int i = 0; i < 4; i++)
		memcpy(guest(f, BACK_GPA + (uint64_t)(3 - i) * 4096), img + i * 4096, 4096);
	assert_int_equal(transfer(f, 1, 0, 8, W, 4, 8 * stride), VGPU_RESP_OK_NODATA);
	assert_int_equal(flush(f, 1, 8, 8, 16, 4), VGPU_RESP_OK_NODATA);
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			bool in = x >= 8 && x < 24 && y >= 8 && y < 12;
			assert_int_equal(px_at(fb, stride, x, y), pix(x, y, in ? 2 : 1));
		}
	assert_int_equal(f->frames, 1);
	assert_int_equal(f->last_frame, 1);
	assert_int_equal(f->last_damage.x, 8);
	assert_int_equal(f->last_damage.y, 8);
	assert_int_equal(f->last_damage.width, 16);
	assert_int_equal(f->last_damage.height, 4);
	assert_int_equal(vgpu_head_take_damage(f->g, 0, dmg, 20), 1);
	assert_int_equal(dmg[0].width, 16);
	assert_int_equal(vgpu_head_take_damage(f->g, 0, dmg, 20), 0);

	/* A partial-width transfer (row by row, offset includes x) then a full flush. */
	assert_int_equal(transfer(f, 1, 40, 20, 8, 3, 20 * stride + 40 * 4), VGPU_RESP_OK_NODATA);
	assert_int_equal(flush(f, 1, 0, 0, W, H), VGPU_RESP_OK_NODATA);
	assert_int_equal(px_at(fb, stride, 40, 20), pix(40, 20, 2));
	assert_int_equal(px_at(fb, stride, 47, 22), pix(47, 22, 2));
	assert_int_equal(px_at(fb, stride, 48, 22), pix(48, 22, 1));
	assert_int_equal(px_at(fb, stride, 39, 20), pix(39, 20, 1));
	/* Flush rectangles outside the resource; a resource nobody shows is fine. */
	assert_int_equal(flush(f, 1, 0, 0, W + 1, 1), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(flush(f, 1, 0xffffffff, 0, 2, 1), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(flush(f, 9, 0, 0, 1, 1), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(create_2d(f, 2, 2, 8, 8), VGPU_RESP_OK_NODATA);
	assert_int_equal(flush(f, 2, 0, 0, 8, 8), VGPU_RESP_OK_NODATA);
	assert_int_equal(f->frames, 2);
	/* Many small flushes: damage stays bounded, merged into a bounding box. */
	for (uint32_t i = 0; i < 40; i++)
		assert_int_equal(flush(f, 1, i, i, 1, 1), VGPU_RESP_OK_NODATA);
	unsigned n = vgpu_head_take_damage(f->g, 0, dmg, 20);
	assert_true(n >= 1 && n <= 16);
	assert_int_equal(f->last_frame, 2 + 40);
	fb_unmap(fb, &hi);
}

/* Each format's bytes in memory, and what the framebuffer (B, G, R, X) must hold. */
static void test_formats(void **state)
{
	struct fx *f = *state;
	/* Red 0x11, green 0x22, blue 0x33, alpha 0x44, in each format's memory order. */
	static const struct {
		uint32_t fmt;
		uint8_t bytes[4];
	} cases[] = {
	    {VGPU_FORMAT_B8G8R8A8_UNORM, {0x33, 0x22, 0x11, 0x44}},
	    {VGPU_FORMAT_B8G8R8X8_UNORM, {0x33, 0x22, 0x11, 0x44}},
	    {VGPU_FORMAT_A8R8G8B8_UNORM, {0x44, 0x11, 0x22, 0x33}},
	    {VGPU_FORMAT_X8R8G8B8_UNORM, {0x44, 0x11, 0x22, 0x33}},
	    {VGPU_FORMAT_R8G8B8A8_UNORM, {0x11, 0x22, 0x33, 0x44}},
	    {VGPU_FORMAT_X8B8G8R8_UNORM, {0x44, 0x33, 0x22, 0x11}},
	    {VGPU_FORMAT_A8B8G8R8_UNORM, {0x44, 0x33, 0x22, 0x11}},
	    {VGPU_FORMAT_R8G8B8X8_UNORM, {0x11, 0x22, 0x33, 0x44}},
	};
	struct vgpu_head_info hi;

	for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
		uint32_t id = 10 + (uint32_t)i;
		uint8_t *g = guest(f, BACK_GPA);
		for (int p = 0; p < 16 * 16; p++)
			memcpy(g + p * 4, cases[i].bytes, 4);
		assert_int_equal(create_2d(f, id, cases[i].fmt, 16, 16), VGPU_RESP_OK_NODATA);
		assert_int_equal(attach(f, id, BACK_GPA, 1024), VGPU_RESP_OK_NODATA);
		assert_int_equal(transfer(f, id, 0, 0, 16, 16, 0), VGPU_RESP_OK_NODATA);
		assert_int_equal(set_scanout(f, 1, id, 0, 0, 16, 16), VGPU_RESP_OK_NODATA);
		assert_int_equal(flush(f, id, 0, 0, 16, 16), VGPU_RESP_OK_NODATA);
		const uint8_t *fb = fb_map(f, 1, &hi);
		assert_int_equal(hi.format, cases[i].fmt);
		for (int p = 0; p < 16 * 16; p += 37) {
			assert_int_equal(fb[p * 4 + 0], 0x33);
			assert_int_equal(fb[p * 4 + 1], 0x22);
			assert_int_equal(fb[p * 4 + 2], 0x11);
		}
		fb_unmap(fb, &hi);
	}
}

static void test_scanout(void **state)
{
	struct fx *f = *state;
	struct vgpu_head_info hi;
	struct stat st1, st2;

	assert_int_equal(create_2d(f, 1, 2, 64, 64), VGPU_RESP_OK_NODATA);
	assert_int_equal(set_scanout(f, HEADS, 1, 0, 0, 64, 64), VGPU_RESP_ERR_INVALID_SCANOUT_ID);
	assert_int_equal(set_scanout(f, 0xffffffff, 1, 0, 0, 64, 64),
			 VGPU_RESP_ERR_INVALID_SCANOUT_ID);
	assert_int_equal(set_scanout(f, 0, 2, 0, 0, 64, 64), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(set_scanout(f, 0, 1, 1, 0, 64, 64), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(set_scanout(f, 0, 1, 0xffffffc0, 0, 0x80, 64),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(set_scanout(f, 0, 1, 0, 0, 0, 64), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(f->modes, 0);

	/* A framebuffer per scanout size; the same size keeps it, a new one replaces it. */
	assert_int_equal(set_scanout(f, 0, 1, 0, 0, 64, 64), VGPU_RESP_OK_NODATA);
	assert_int_equal(f->modes, 1);
	int fd1 = f->mode_fd;
	assert_true(fd1 >= 0);
	assert_int_equal(fstat(fd1, &st1), 0);
	assert_true(st1.st_size >= 64 * 64 * 4);
	assert_int_equal(create_2d(f, 2, 2, 64, 64), VGPU_RESP_OK_NODATA);
	assert_int_equal(set_scanout(f, 0, 2, 0, 0, 64, 64), VGPU_RESP_OK_NODATA);
	assert_int_equal(f->modes, 1);
	assert_int_equal(set_scanout(f, 0, 1, 16, 8, 32, 16), VGPU_RESP_OK_NODATA);
	assert_int_equal(f->modes, 2);
	assert_int_equal(f->mode_w, 32);
	assert_int_equal(f->mode_h, 16);
	assert_int_equal(fstat(f->mode_fd, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	assert_int_equal(vgpu_head_info(f->g, 0, &hi), 0);
	assert_int_equal(hi.width, 32);
	assert_int_equal(hi.height, 16);
	assert_int_equal(hi.fb_fd, f->mode_fd);

	/* The framebuffer shows the scanout rectangle, at its origin. */
	struct vgpu_stats s0;
	vgpu_get_stats(f->g, &s0);
	assert_int_equal(set_scanout(f, 1, 1, 0, 0, 64, 64), VGPU_RESP_OK_NODATA);
	struct vgpu_stats s1;
	vgpu_get_stats(f->g, &s1);
	assert_true(s1.memory_used == s0.memory_used + 64 * 64 * 4); /* framebuffers count */

	/* Unref of a shown resource ends its scanouts; resource 0 disables one. */
	f->modes = 0;
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_UNREF, 1), VGPU_RESP_OK_NODATA);
	assert_int_equal(f->modes, 2);
	assert_int_equal(f->mode_fd, -1);
	assert_int_equal(vgpu_head_info(f->g, 0, &hi), 0);
	assert_false(hi.active);
	assert_int_equal(hi.fb_fd, -1);
	assert_int_equal(set_scanout(f, 0, 2, 0, 0, 64, 64), VGPU_RESP_OK_NODATA);
	assert_int_equal(set_scanout(f, 0, 0, 0, 0, 0, 0), VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_head_info(f->g, 0, &hi), 0);
	assert_false(hi.active);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_UNREF, 1), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_UNREF, 0), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
}

static void test_blob(void **state)
{
	struct fx *f = *state;
	const uint32_t W = 100, H = 50, stride = 512, off = 256;
	const uint64_t size = off + (uint64_t)stride * H; /* 25856: 7 pages */
	struct vgpu_mem_entry e[2] = {{BLOB_GPA + 65536, 16384, 0}, {BLOB_GPA, 16384, 0}};
	struct vgpu_head_info hi;
	struct vgpu_stats st;
	const uint32_t G = VGPU_BLOB_MEM_GUEST;

	assert_int_equal(create_blob(f, 1, 2, 0, size, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_blob(f, 1, G, 8, size, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_blob(f, 1, G, 0, 0, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_blob(f, 1, G, 0, (1ull << 30) + 1, e, 2),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_blob(f, 1, G, 0, 32769, e, 2), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_blob(f, 1, G, 0, size, e, 0), VGPU_RESP_ERR_INVALID_PARAMETER);
	struct vgpu_mem_entry bad = {MEM_SIZE - 4096, 8192, 0};
	assert_int_equal(create_blob(f, 1, G, 0, 4096, &bad, 1), VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_blob(f, 0, G, 0, size, e, 2), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	vgpu_get_stats(f->g, &st);
	assert_true(st.memory_used == 0); /* failures leave nothing behind */
	assert_int_equal(create_blob(f, 1, G, VGPU_BLOB_FLAG_USE_SHAREABLE, size, e, 2),
			 VGPU_RESP_OK_NODATA);
	assert_int_equal(create_blob(f, 1, G, 0, size, e, 2), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	vgpu_get_stats(f->g, &st);
	assert_true(st.memory_used > 0 && st.memory_used < 4096); /* no host copy */
	/* Guests send transfers for blobs too: accepted, nothing to do. */
	assert_int_equal(transfer(f, 1, 0, 0, 10, 10, 0), VGPU_RESP_OK_NODATA);

	struct vgpu_wire_rect r = {10, 5, 80, 40};
	uint32_t X = VGPU_FORMAT_B8G8R8X8_UNORM;
	assert_int_equal(scanout_blob(f, HEADS, 1, W, H, X, stride, off, r),
			 VGPU_RESP_ERR_INVALID_SCANOUT_ID);
	assert_int_equal(scanout_blob(f, 0, 5, W, H, X, stride, off, r),
			 VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(scanout_blob(f, 0, 1, W, H, 99, stride, off, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(scanout_blob(f, 0, 1, W, H, X, W * 4 - 1, off, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(scanout_blob(f, 0, 1, W, H + 1, X, stride, off, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(scanout_blob(f, 0, 1, W, H, X, stride, off + stride, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(scanout_blob(f, 0, 1, W, H, X, 0xffffffff, 0xffffffff, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(scanout_blob(f, 0, 1, 0, H, X, stride, off, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	struct vgpu_wire_rect out = {30, 0, 80, 40};
	assert_int_equal(scanout_blob(f, 0, 1, W, H, X, stride, off, out),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(create_2d(f, 2, X, W, H), VGPU_RESP_OK_NODATA);
	assert_int_equal(scanout_blob(f, 0, 2, W, H, X, stride, off, r),
			 VGPU_RESP_ERR_INVALID_PARAMETER);
	assert_int_equal(set_scanout(f, 0, 1, 0, 0, W, H), VGPU_RESP_ERR_INVALID_PARAMETER);

	/* The blob's bytes, laid out over its two entries (second entry first in RAM). */
	uint8_t *img = calloc(1, 32768);
	fill(img + off, W, H, stride, 3);
	memcpy(guest(f, BLOB_GPA + 65536), img, 16384);
	memcpy(guest(f, BLOB_GPA), img + 16384, 16384);
	assert_int_equal(scanout_blob(f, 0, 1, W, H, X, stride, off, r), VGPU_RESP_OK_NODATA);
	const uint8_t *fb = fb_map(f, 0, &hi);
	assert_int_equal(hi.width, 80);
	assert_int_equal(hi.height, 40);
	assert_int_equal(px_at(fb, 80 * 4, 0, 0), pix(10, 5, 3));
	assert_int_equal(px_at(fb, 80 * 4, 79, 39), pix(89, 44, 3));

	/* Read straight from guest memory on flush: no transfer. Only the rectangle moves. */
	fill(img + off, W, H, stride, 4);
	memcpy(guest(f, BLOB_GPA + 65536), img, 16384);
	memcpy(guest(f, BLOB_GPA), img + 16384, 16384);
	assert_int_equal(flush(f, 1, 20, 10, 30, 20), VGPU_RESP_OK_NODATA);
	for (uint32_t y = 0; y < 40; y++)
		for (uint32_t x = 0; x < 80; x++) {
			uint32_t ix = x + 10, iy = y + 5;
			bool in = ix >= 20 && ix < 50 && iy >= 10 && iy < 30;
			assert_int_equal(px_at(fb, 80 * 4, x, y), pix(ix, iy, in ? 4 : 3));
		}
	assert_int_equal(f->last_damage.x, 10);
	assert_int_equal(f->last_damage.y, 5);
	/* Flush rectangles are clipped to what the head shows, even absurd ones. */
	assert_int_equal(flush(f, 1, 0xfffffff0, 0xfffffff0, 0xffffffff, 0xffffffff),
			 VGPU_RESP_OK_NODATA);
	assert_int_equal(flush(f, 1, 0, 0, 0xffffffff, 0xffffffff), VGPU_RESP_OK_NODATA);
	assert_int_equal(px_at(fb, 80 * 4, 0, 0), pix(10, 5, 4));
	fb_unmap(fb, &hi);
	free(img);

	/* Detached backing: flushes keep the last picture; unref ends the scanout. */
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_DETACH_BACKING, 1), VGPU_RESP_OK_NODATA);
	assert_int_equal(flush(f, 1, 0, 0, 100, 50), VGPU_RESP_OK_NODATA);
	assert_int_equal(unref(f, VGPU_CMD_RESOURCE_UNREF, 1), VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_head_info(f->g, 0, &hi), 0);
	assert_false(hi.active);
}

static uint32_t cursor_cmd(struct fx *f, uint32_t type, uint32_t head, uint32_t id, uint32_t x,
			   uint32_t y, uint32_t hx, uint32_t hy)
{
	struct vgpu_update_cursor c = {hdr(type), {head, x, y, 0}, id, hx, hy, 0};
	uint8_t resp[64];
	/* Drivers give the cursor queue no response buffer: the command still runs. */
	assert_int_equal(vgpu_cursor_request(f->g, &c, sizeof(c), resp, 0), 0);
	assert_int_equal(vgpu_cursor_request(f->g, &c, sizeof(c), resp, sizeof(resp)), 24);
	return ((struct vgpu_ctrl_hdr *)resp)->type;
}

static void test_cursor(void **state)
{
	struct fx *f = *state;
	struct vgpu_cursor_info ci;
	const uint32_t U = VGPU_CMD_UPDATE_CURSOR, M = VGPU_CMD_MOVE_CURSOR;

	uint8_t *g = guest(f, BACK_GPA);
	for (int p = 0; p < 64 * 64; p++) {
		uint8_t px[4] = {0x80, 0x11, 0x22, (uint8_t)p}; /* A8R8G8B8: A, R, G, B */
		memcpy(g + p * 4, px, 4);
	}
	assert_int_equal(create_2d(f, 1, VGPU_FORMAT_A8R8G8B8_UNORM, 64, 64), VGPU_RESP_OK_NODATA);
	assert_int_equal(attach(f, 1, BACK_GPA, 16384), VGPU_RESP_OK_NODATA);
	assert_int_equal(transfer(f, 1, 0, 0, 64, 64, 0), VGPU_RESP_OK_NODATA);

	assert_int_equal(cursor_cmd(f, U, HEADS, 1, 0, 0, 0, 0), VGPU_RESP_ERR_INVALID_SCANOUT_ID);
	assert_int_equal(cursor_cmd(f, U, 1, 7, 0, 0, 0, 0), VGPU_RESP_ERR_INVALID_RESOURCE_ID);
	assert_int_equal(cursor_cmd(f, VGPU_CMD_GET_DISPLAY_INFO, 1, 1, 0, 0, 0, 0),
			 VGPU_RESP_ERR_UNSPEC);
	uint8_t shortreq[30] = {0};
	uint8_t resp[64];
	assert_int_equal(vgpu_cursor_request(f->g, shortreq, sizeof(shortreq), resp, sizeof(resp)),
			 24);
	assert_int_equal(((struct vgpu_ctrl_hdr *)resp)->type, VGPU_RESP_ERR_UNSPEC);

	assert_int_equal(cursor_cmd(f, U, 1, 1, 100, 200, 5, 99), VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_head_cursor(f->g, 1, &ci), 0);
	assert_true(ci.visible);
	assert_int_equal(ci.x, 100);
	assert_int_equal(ci.y, 200);
	assert_int_equal(ci.hot_x, 5);
	assert_int_equal(ci.hot_y, 63); /* clamped into the image */
	/* ARGB8888 little-endian: B, G, R, A with the alpha kept. */
	assert_int_equal(ci.image[0], 0x00);
	assert_int_equal(ci.image[1], 0x22);
	assert_int_equal(ci.image[2], 0x11);
	assert_int_equal(ci.image[3], 0x80);
	assert_int_equal(ci.image[4 * 7], 7);
	uint64_t serial = ci.serial;
	assert_int_equal(f->cursors, 2);
	assert_int_equal(f->last_head, 1);

	/* Moves keep the image; negative positions (off the left/top edge) survive. */
	assert_int_equal(cursor_cmd(f, M, 1, 0, (uint32_t)-10, 30, 0, 0), VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_head_cursor(f->g, 1, &ci), 0);
	assert_true(ci.visible);
	assert_int_equal(ci.x, -10);
	assert_int_equal(ci.y, 30);
	assert_true(ci.serial == serial);
	assert_int_equal(f->cursor.x, -10);

	/* A small X8 cursor: padded with transparent pixels, opaque where it has pixels. */
	assert_int_equal(create_2d(f, 2, VGPU_FORMAT_B8G8R8X8_UNORM, 8, 8), VGPU_RESP_OK_NODATA);
	assert_int_equal(cursor_cmd(f, U, 1, 2, 0, 0, 0, 0), VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_head_cursor(f->g, 1, &ci), 0);
	assert_int_equal(ci.image[3], 0xff);
	assert_int_equal(ci.image[8 * 4 + 3], 0);
	assert_true(ci.serial > serial);

	/* Resource 0 hides it; the other head never had one. */
	assert_int_equal(cursor_cmd(f, U, 1, 0, 0, 0, 0, 0), VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_head_cursor(f->g, 1, &ci), 0);
	assert_false(ci.visible);
	assert_int_equal(vgpu_head_cursor(f->g, 0, &ci), 0);
	assert_false(ci.visible);
	assert_int_equal(vgpu_head_cursor(f->g, HEADS, &ci), -EINVAL);
}

/* The "gpu" snapshot section: a 2D scanout on head 0 and a blob scanout on head 1, with a
 * cursor, saved and loaded into a fresh device show the same pictures; hostile payloads
 * (every truncation, a flipped byte, the old version, a too-small memory limit) are refused
 * in one line and leave nothing behind. */
static struct vgpu *fresh(struct fx *f, uint64_t limit)
{
	struct vgpu_config cfg = {.heads = HEADS, .memory_limit = limit};
	struct vgpu *g;
	assert_int_equal(vgpu_new(&cfg, &f->mem, &g), 0);
	return g;
}

static int load(struct vgpu *g, const struct hd_buf *b, size_t len, uint32_t version)
{
	struct hv_snap_in in = {.p = (const uint8_t *)b->data, .len = len, .version = version};
	char err[256] = "";
	int r = vgpu_snapshot_load(g, &in, err, sizeof(err));
	if (r < 0)
		assert_true(err[0] && !strchr(err, '\n'));
	return r;
}

static void same_fb(struct fx *f, struct vgpu *g, unsigned head, const uint8_t *want, uint32_t w,
		    uint32_t h)
{
	struct vgpu_head_info hi;
	assert_int_equal(vgpu_head_info(g, head, &hi), 0);
	assert_true(hi.active);
	assert_int_equal(hi.width, w);
	assert_int_equal(hi.height, h);
	const uint8_t *p = mmap(NULL, (size_t)hi.stride * h, PROT_READ, MAP_SHARED, hi.fb_fd, 0);
	assert_true(p != MAP_FAILED);
	assert_memory_equal(p, want, (size_t)w * 4 * h);
	munmap((void *)p, (size_t)hi.stride * h);
	(void)f;
}

static void test_snapshot(void **state)
{
	struct fx *f = *state;
	const uint32_t X = VGPU_FORMAT_B8G8R8X8_UNORM;
	fill(guest(f, BACK_GPA), 64, 32, 256, 1);
	assert_int_equal(create_2d(f, 7, X, 64, 32), VGPU_RESP_OK_NODATA);
	assert_int_equal(attach(f, 7, BACK_GPA, 64 * 32 * 4), VGPU_RESP_OK_NODATA);
	assert_int_equal(transfer(f, 7, 0, 0, 64, 32, 0), VGPU_RESP_OK_NODATA);
	assert_int_equal(set_scanout(f, 0, 7, 8, 4, 48, 24), VGPU_RESP_OK_NODATA);
	assert_int_equal(flush(f, 7, 0, 0, 64, 32), VGPU_RESP_OK_NODATA);
	fill(guest(f, BLOB_GPA), 40, 20, 160, 2);
	struct vgpu_mem_entry e = {BLOB_GPA, 4096 * 2, 0};
	assert_int_equal(create_blob(f, 9, VGPU_BLOB_MEM_GUEST, 0, 40 * 20 * 4, &e, 1),
			 VGPU_RESP_OK_NODATA);
	assert_int_equal(
	    scanout_blob(f, 1, 9, 40, 20, X, 160, 0, (struct vgpu_wire_rect){0, 0, 40, 20}),
	    VGPU_RESP_OK_NODATA);
	assert_int_equal(cursor_cmd(f, VGPU_CMD_UPDATE_CURSOR, 1, 7, 30, 40, 3, 4),
			 VGPU_RESP_OK_NODATA);
	assert_int_equal(vgpu_display_set(f->g, 1, 800, 600, 0, 0, 16), 0);

	struct vgpu_head_info hi;
	uint8_t *want0 = malloc(48 * 24 * 4), *want1 = malloc(40 * 20 * 4);
	const uint8_t *p = fb_map(f, 0, &hi);
	memcpy(want0, p, 48 * 24 * 4);
	fb_unmap(p, &hi);
	p = fb_map(f, 1, &hi);
	memcpy(want1, p, 40 * 20 * 4);
	fb_unmap(p, &hi);
	struct vgpu_stats st0, st;
	vgpu_get_stats(f->g, &st0);

	struct hd_buf b;
	hd_buf_init(&b);
	vgpu_snapshot_save(f->g, &b);
	struct vgpu *g = fresh(f, LIMIT);
	assert_int_equal(load(g, &b, b.len, 3), 0);
	same_fb(f, g, 0, want0, 48, 24);
	same_fb(f, g, 1, want1, 40, 20);
	vgpu_get_stats(g, &st);
	assert_int_equal(st.resources, 2);
	assert_true(st.memory_used == st0.memory_used);
	assert_int_equal(vgpu_head_info(g, 1, &hi), 0);
	assert_int_equal(hi.req_width, 800);
	assert_int_equal(hi.req_height, 600);
	assert_int_equal(hi.depth, 16);
	struct vgpu_cursor_info ci, ci0;
	assert_int_equal(vgpu_head_cursor(f->g, 1, &ci0), 0);
	assert_int_equal(vgpu_head_cursor(g, 1, &ci), 0);
	assert_true(ci.visible && ci.x == ci0.x && ci.y == ci0.y && ci.hot_x == 3 &&
		    ci.serial == ci0.serial);
	assert_memory_equal(ci.image, ci0.image, sizeof(ci.image));
	/* Saving the restored device gives the same bytes. */
	struct hd_buf b2;
	hd_buf_init(&b2);
	vgpu_snapshot_save(g, &b2);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	hd_buf_free(&b2);

	/* Hostile payloads: refused, and the device is left empty. */
	assert_int_equal(load(g, &b, b.len, 1), -ENOTSUP);
	assert_int_equal(load(g, &b, b.len, 4), -ENOTSUP);
	for (size_t n = 0; n < b.len; n += n < 200 ? 1 : 509)
		assert_true(load(g, &b, n, 3) < 0);
	vgpu_get_stats(g, &st);
	assert_int_equal(st.resources, 0);
	assert_true(st.memory_used == 0);
	/* Records: heads, events, count (12 bytes), then per resource id u32, blob u8, format,
	 * width, height u32, size u64, entries u32 (29 bytes), entries (16 bytes each), and a 2D
	 * one's copy. The second record's id made the first's: a repeated id. */
	uint8_t *d = (uint8_t *)b.data;
	uint32_t first;
	memcpy(&first, d + 12, 4);
	size_t blob_rec = first == 9 ? 12 : 12 + 29 + 16 + 64 * 32 * 4;
	size_t second = first == 9 ? 12 + 29 + 16 : 12 + 29 + 16 + 64 * 32 * 4;
	uint32_t saved;
	memcpy(&saved, d + second, 4);
	memcpy(d + second, &first, 4);
	assert_int_equal(load(g, &b, b.len, 3), -EINVAL);
	memcpy(d + second, &saved, 4);
	/* The blob's backing moved outside guest RAM. */
	uint64_t gpa;
	memcpy(&gpa, d + blob_rec + 29, 8);
	assert_true(gpa == BLOB_GPA);
	gpa = MEM_SIZE - 4096;
	memcpy(d + blob_rec + 29, &gpa, 8);
	assert_int_equal(load(g, &b, b.len, 3), -EINVAL);
	gpa = BLOB_GPA;
	memcpy(d + blob_rec + 29, &gpa, 8);
	assert_int_equal(load(g, &b, b.len, 3), 0);
	vgpu_destroy(g);
	g = fresh(f, 16384); /* too small for the 2D copy */
	assert_int_equal(load(g, &b, b.len, 3), -ENOMEM);
	vgpu_get_stats(g, &st);
	assert_true(st.memory_used == 0 && st.resources == 0);
	vgpu_destroy(g);
	hd_buf_free(&b);
	free(want0);
	free(want1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_display_info, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_2d, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memory_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attach_backing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transfer_flush_damage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scanout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blob, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
