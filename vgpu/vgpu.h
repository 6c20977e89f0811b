/* vgpu.h: the public interface of the virtual GPU (a virtio 1.2 §5.7 2D device with EDID and
 * guest blobs): creating it for a VM, host-side display control, and what the display broker
 * reads (per-head framebuffers in memfds, damage, frames, cursors). Not 3D (no VIRGL). */
#ifndef VGPU_H
#define VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"

#define VGPU_MAX_HEADS	    16
#define VGPU_DEFAULT_WIDTH  1024
#define VGPU_DEFAULT_HEIGHT 768
#define VGPU_DEFAULT_DPI    96
/* Requested modes (display-set) lie in [VGPU_MODE_MIN, VGPU_MODE_MAX] each way. */
#define VGPU_MODE_MIN 16
#define VGPU_MODE_MAX 16384
/* Cursor images are kept at this size whatever the guest's cursor resource is. */
#define VGPU_CURSOR_SIZE	64
#define VGPU_DEFAULT_MEMORY_MIB 256

struct vgpu;

struct vgpu_config {
	unsigned heads;	       /* 1..VGPU_MAX_HEADS; all start enabled at the default mode */
	uint64_t memory_limit; /* bytes of host memory the guest may make the device use */
};

/* Creates the device for guest RAM mem, on no transport yet. Returns 0 or -EINVAL. */
int vgpu_new(const struct vgpu_config *cfg, struct hv_mem *mem, struct vgpu **out);
/* The virtio ops of the device; their opaque is the struct vgpu. */
const struct hv_virtio_dev_ops *vgpu_virtio_ops(void);
/* The transport the device raises interrupts and config changes on. */
void vgpu_set_transport(struct vgpu *g, struct hv_virtio_mmio *t);
/* vgpu_new + hv_vm_add_virtio + the control socket commands (display-set, display-info,
 * screendump). Call between hv_vm_create and hv_vm_run. On failure returns -errno with a
 * one-line reason in err, and the VM must be destroyed without being run (it may still hold
 * the device's ops and commands). */
int vgpu_create(struct hv_vm *vm, const struct vgpu_config *cfg, struct vgpu **out, char *err,
		size_t errlen);
/* Frees everything. Only once nothing can call into the device: after hv_vm_destroy. */
void vgpu_destroy(struct vgpu *g);
/* The head count a snapshot's GPU section records, to create the GPU before restoring it. */
struct hv_snapshot;
int vgpu_snapshot_heads(struct hv_snapshot *s, uint32_t *heads, char *err, size_t errlen);
/* Appends g's "gpu" section payload to out (what a snapshot saves). */
struct hd_buf;
void vgpu_snapshot_save(struct vgpu *g, struct hd_buf *out);
/* Loads a "gpu" section into g (what vmm --restore does through the section's registration;
 * exposed for tests and fuzzing). The bytes are treated as hostile; on failure g is left with
 * no resources or scanouts and err says why in one line. */
int vgpu_snapshot_load(struct vgpu *g, struct hv_snap_in *in, char *err, size_t errlen);

/* Runs one request as the control queue (or cursor queue) would, on host buffers: req holds
 * len bytes, the response goes to resp (room for cap bytes). Returns the response's length,
 * 0 when cap cannot hold even a header. For tests, fuzzing and benchmarks; the queues use the
 * same code. */
size_t vgpu_ctrl_request(struct vgpu *g, const void *req, size_t len, void *resp, size_t cap);
size_t vgpu_cursor_request(struct vgpu *g, const void *req, size_t len, void *resp, size_t cap);
/* What the transport's reset does: drops every resource, scanout and cursor. */
void vgpu_reset(struct vgpu *g);

/* ---- host-side display control ---- */

/* Sets head's requested mode (the guest learns it from GET_DISPLAY_INFO and GET_EDID after a
 * VIRTIO_GPU_EVENT_DISPLAY config event). width = height = 0 disables the head. mm sizes of
 * 0 mean "from VGPU_DEFAULT_DPI". depth is the viewer's bits a pixel (8, 15, 16, 24, 32; 0:
 * not known, taken as 24); the EDID tells the guest the bits per colour it can show
 * (hd_chan_depth_bpc). Returns 0, or -EINVAL (head, size or depth out of range). */
int vgpu_display_set(struct vgpu *g, unsigned head, uint32_t width, uint32_t height,
		     uint32_t width_mm, uint32_t height_mm, uint32_t depth);

/* Writes the head's framebuffer as a PNG file. Returns 0, or -errno with a reason in err
 * (-ENODATA: the head has no scanout yet). */
int vgpu_screendump(struct vgpu *g, unsigned head, const char *path, char *err, size_t errlen);
/* Runs one of the control socket commands by name (what hv_control_register was given).
 * Returns 0 with a JSON value in result, or -1 with a message in error. */
int vgpu_control_exec(struct vgpu *g, const char *name, const struct hd_json *args,
		      struct hd_buf *result, struct hd_buf *error);

/* ---- what the display broker consumes ---- */

struct vgpu_rect {
	uint32_t x, y, width, height;
};

/* Framebuffers are XRGB8888 little-endian (bytes B, G, R, X per pixel), stride = width * 4,
 * in a sealed memfd (size stride * height, rounded up to a page) that the device replaces
 * whenever the scanout size changes. The fd stays the device's and is closed when replaced:
 * to keep it, dup() it in the listener's mode callback, which runs before any replacement. */
struct vgpu_head_info {
	bool enabled;			/* the host offers this head to the guest */
	uint32_t req_width, req_height; /* the requested mode */
	uint32_t width_mm, height_mm;
	uint32_t depth; /* the requested depth, 0: not known */
	bool active; /* the guest scans a resource out on it */
	uint32_t resource_id;
	uint32_t format;		/* the scanned-out resource's VIRTIO_GPU_FORMAT_* */
	uint32_t width, height, stride; /* framebuffer; 0 when not active */
	int fb_fd;			/* -1 when not active */
	uint64_t frame;			/* flushes that reached this head */
};

/* The cursor image is ARGB8888 little-endian (bytes B, G, R, A), VGPU_CURSOR_SIZE square. */
struct vgpu_cursor_info {
	bool visible;
	int32_t x, y; /* as the guest sent it: Linux puts the image's top-left corner here,
		       * so the pointer is at (x + hot_x, y + hot_y) */
	uint32_t hot_x, hot_y;
	uint64_t serial; /* bumps on every image change */
	uint8_t image[VGPU_CURSOR_SIZE * VGPU_CURSOR_SIZE * 4];
};

/* Callbacks run on the thread that made the change (a vCPU's for guest commands) with the
 * device lock held: they may read what they are given and the framebuffer's memory, and must
 * not call any vgpu_* function. Any of them may be NULL. */
struct vgpu_listener {
	/* A flush reached head: damage (in framebuffer coordinates) was updated. */
	void (*frame)(void *opaque, unsigned head, const struct vgpu_rect *damage,
		      unsigned nr_damage, uint64_t frame);
	/* head's framebuffer changed: a new size and memfd, or 0 x 0 and fd -1 (no scanout). */
	void (*mode)(void *opaque, unsigned head, uint32_t width, uint32_t height, uint32_t stride,
		     int fb_fd);
	/* head's cursor moved, changed image, or was hidden. */
	void (*cursor)(void *opaque, unsigned head, const struct vgpu_cursor_info *cursor);
	void *opaque;
};

/* Replaces the listener (NULL removes it). */
void vgpu_set_listener(struct vgpu *g, const struct vgpu_listener *l);
unsigned vgpu_num_heads(const struct vgpu *g);
/* Return 0, or -EINVAL for a head out of range. */
int vgpu_head_info(struct vgpu *g, unsigned head, struct vgpu_head_info *out);
int vgpu_head_cursor(struct vgpu *g, unsigned head, struct vgpu_cursor_info *out);
/* Moves up to max rectangles of the head's damage since the last call into out and forgets
 * them; returns how many. The device merges damage into a bounding box when it piles up. */
unsigned vgpu_head_take_damage(struct vgpu *g, unsigned head, struct vgpu_rect *out, unsigned max);

struct vgpu_stats {
	uint64_t memory_used; /* host bytes held for the guest: copies, framebuffers, tables */
	uint64_t memory_limit;
	unsigned resources;
	uint64_t commands; /* requests answered on both queues */
	uint64_t errors;   /* of which answered with an error */
};

void vgpu_get_stats(struct vgpu *g, struct vgpu_stats *out);

#endif
