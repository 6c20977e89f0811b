/* vgpu-internal.h: the virtual GPU's state and what its files share. Plain structs on purpose:
 * a snapshot save/load can walk them later. Not a public interface (that is vgpu.h). */
#ifndef VGPU_INTERNAL_H
#define VGPU_INTERNAL_H

#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-common.h"
#include "vgpu-wire.h"
#include "vgpu.h" /* and hv.h */

#define VGPU_TAG "vgpu"

/* Limits on what a guest may ask for. Every one keeps host work and memory bounded. */
#define VGPU_MAX_DIM	   16384u	/* resource and scanout width/height */
#define VGPU_MAX_ENTRIES   16384u	/* memory entries in one attach/blob request */
#define VGPU_MAX_BLOB_SIZE (1ull << 30) /* = 16384 * 16384 * 4 */
#define VGPU_MAX_RESOURCES 65536u
#define VGPU_RES_BUCKETS   4096u /* resource hash table, power of two */
#define VGPU_MAX_DAMAGE	   16u	 /* rectangles kept per head before merging */
#define VGPU_BPP	   4u	 /* every supported format is 32 bits a pixel */
/* Largest request: a blob create with the most entries. Bigger ones are truncated to this,
 * which only ever makes them fail the entry count check. */
#define VGPU_REQ_MAX                                                                               \
	(sizeof(struct vgpu_resource_create_blob) +                                                \
	 VGPU_MAX_ENTRIES * sizeof(struct vgpu_mem_entry))
#define VGPU_RESP_MAX sizeof(struct vgpu_resp_edid)

/* One translated memory entry of a resource's backing: guest bytes [off, off + len) of the
 * resource live at host. Entries that follow each other in guest and host memory are merged. */
struct vgpu_sg {
	uint64_t off;
	uint64_t len;
	uint8_t *host;
	uint64_t gpa;
};

struct vgpu_resource {
	uint32_t id;
	bool blob;
	uint32_t format;	/* 2D only */
	uint32_t width, height; /* 2D only */
	uint32_t stride;	/* 2D only: width * VGPU_BPP */
	uint64_t size;		/* 2D: stride * height; blob: the blob's size */
	uint8_t *host;		/* 2D: the host copy, size bytes */
	unsigned nr_sg;		/* 0: no backing */
	struct vgpu_sg *sg;
	uint64_t backing_len;	    /* sum of the entries */
	uint64_t charged;	    /* bytes counted against the memory limit */
	struct vgpu_resource *next; /* hash chain */
};

struct vgpu_cursor {
	bool visible;
	int32_t x, y;
	uint32_t hot_x, hot_y;
	uint64_t serial;
	uint32_t resource_id;
	uint8_t image[VGPU_CURSOR_SIZE * VGPU_CURSOR_SIZE * 4];
};

struct vgpu_head {
	bool enabled;
	uint32_t req_width, req_height, width_mm, height_mm;
	uint32_t depth; /* the viewer's bits a pixel, 0: not known */

	/* Current scanout: source pixel (x, y) of the framebuffer is at byte offset + (src.y + y)
	 * * stride + (src.x + x) * 4 of the resource (its host copy for 2D, its guest backing
	 * for a blob). res_id 0: none. */
	uint32_t res_id;
	bool blob;
	uint32_t format;
	uint32_t img_width, img_height; /* the image the rectangle src lies in */
	uint32_t stride;
	uint64_t offset;
	struct vgpu_rect src;

	/* Framebuffer: XRGB8888, fb_width * 4 stride, in a memfd. fb_fd -1: none. */
	int fb_fd;
	uint8_t *fb;
	size_t fb_size; /* mapped bytes */
	uint32_t fb_width, fb_height;
	uint64_t frame;
	unsigned nr_damage;
	struct vgpu_rect damage[VGPU_MAX_DAMAGE];

	struct vgpu_cursor cursor;
};

struct vgpu {
	pthread_mutex_t lock; /* everything below; taken by queue processing and host calls */
	struct hv_mem *mem;
	struct hv_virtio_mmio *transport;
	unsigned nr_heads;
	uint32_t events_read;

	uint64_t mem_limit, mem_used;
	uint64_t oom_warn_ns; /* last out-of-memory warning, for rate limiting */
	unsigned oom_suppressed;
	unsigned nr_resources;
	struct vgpu_resource *res[VGPU_RES_BUCKETS];

	struct vgpu_head heads[VGPU_MAX_HEADS];
	struct vgpu_listener listener;
	struct vgpu_cursor_info cursor_info; /* what the cursor callback is handed */
	uint64_t commands, errors;

	/* Scratch for queue processing, one set since processing holds the lock. */
	struct hv_vq_elem elem;
	uint8_t *req;
	uint8_t resp[VGPU_RESP_MAX];
};

/* Little-endian wire fields; the host is little-endian today but the code need not be. */
static inline uint32_t vgpu_le32(uint32_t v)
{
	return le32toh(v);
}

static inline uint64_t vgpu_le64(uint64_t v)
{
	return le64toh(v);
}

static inline struct vgpu_rect vgpu_rect_le(const struct vgpu_wire_rect *r)
{
	return (struct vgpu_rect){vgpu_le32(r->x), vgpu_le32(r->y), vgpu_le32(r->width),
				  vgpu_le32(r->height)};
}

/* True when r lies inside a w x h image; no sum can overflow (64-bit). */
static inline bool vgpu_rect_inside(const struct vgpu_rect *r, uint32_t w, uint32_t h)
{
	return (uint64_t)r->x + r->width <= w && (uint64_t)r->y + r->height <= h;
}

/* resource.c: resources, backing and transfers. Each returns a VGPU_RESP_* code. */
struct vgpu_resource *vgpu_res_find(struct vgpu *g, uint32_t id);
bool vgpu_format_known(uint32_t format);
uint32_t vgpu_cmd_create_2d(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_create_blob(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_unref(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_attach_backing(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_detach_backing(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_transfer_2d(struct vgpu *g, const uint8_t *req, size_t len);
void vgpu_res_destroy_all(struct vgpu *g);
/* Copies len bytes at offset off of the resource's backing into dst; false if not covered. */
bool vgpu_sg_read(const struct vgpu_resource *res, uint64_t off, void *dst, uint64_t len);
/* Recreates a saved resource (persist.c): s gives id, blob, format, width, height, size and
 * nr_sg; ents its backing as nr_sg pairs of guest address and length; data a 2D one's host copy
 * (size bytes). Every value is checked as a guest's request would be and charged against the
 * memory limit. Returns 0 or -errno with a one-line reason. */
int vgpu_res_restore(struct vgpu *g, const struct vgpu_resource *s, const uint64_t *ents,
		     const uint8_t *data, char *err, size_t errlen);
/* Counts bytes against the memory limit: false (and a rate-limited warning) past it. */
bool vgpu_mem_charge(struct vgpu *g, uint64_t bytes, const char *what);
void vgpu_mem_uncharge(struct vgpu *g, uint64_t bytes);

/* scanout.c: scanouts, framebuffers, flushes and cursors. */
uint32_t vgpu_cmd_set_scanout(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_set_scanout_blob(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_flush(struct vgpu *g, const uint8_t *req, size_t len);
uint32_t vgpu_cmd_update_cursor(struct vgpu *g, const uint8_t *req, size_t len, bool move);
/* Drops the scanout of every head showing resource id (it is going away). */
void vgpu_scanout_release_resource(struct vgpu *g, uint32_t id);
void vgpu_head_disable_scanout(struct vgpu *g, unsigned head);
/* persist.c's loader: checks a saved scanout (res_id and the fields SET_SCANOUT(_BLOB) set)
 * against its resource and commits it, regenerating the framebuffer by a full flush. */
int vgpu_scanout_restore(struct vgpu *g, unsigned head, const struct vgpu_head *nh, uint64_t frame,
			 char *err, size_t errlen);
void vgpu_cursor_restore(struct vgpu *g, unsigned head, const struct vgpu_cursor *c);
void vgpu_heads_reset(struct vgpu *g);
void vgpu_heads_fini(struct vgpu *g);

/* edid.c: a 128-byte EDID 1.4 block for a head's requested mode. */
void vgpu_edid_build(uint8_t edid[128], unsigned head, uint32_t width, uint32_t height,
		     uint32_t width_mm, uint32_t height_mm, uint32_t bpc);
/* mm for px pixels at VGPU_DEFAULT_DPI. */
uint32_t vgpu_default_mm(uint32_t px);

/* png.c: XRGB8888 rows to a PNG file (FFmpeg's encoder). */
int vgpu_png_write(const char *path, const uint8_t *xrgb, uint32_t width, uint32_t height,
		   uint32_t stride, char *err, size_t errlen);

/* control.c */
int vgpu_control_register(struct vgpu *g, struct hv_vm *vm);

/* persist.c: the GPU's snapshot section. */
int vgpu_persist_register(struct vgpu *g, struct hv_vm *vm);

#endif
