/* vgpu-wire.h: the virtio GPU device's wire format (virtio 1.2 §5.7): command and response
 * structures, codes and formats, all little-endian. Not the device state (vgpu-internal.h). */
#ifndef VGPU_WIRE_H
#define VGPU_WIRE_H

#include <stdint.h>

/* §5.7.1 device ID, §5.7.2 queues. */
#define VGPU_VIRTIO_ID	  16
#define VGPU_QUEUE_CTRL	  0
#define VGPU_QUEUE_CURSOR 1

/* §5.7.3 feature bits (no VIRGL, RESOURCE_UUID or CONTEXT_INIT here). */
#define VGPU_F_VIRGL	     0
#define VGPU_F_EDID	     1
#define VGPU_F_RESOURCE_UUID 2
#define VGPU_F_RESOURCE_BLOB 3
#define VGPU_F_CONTEXT_INIT  4

/* §5.7.4 device configuration layout. */
#define VGPU_EVENT_DISPLAY (1u << 0)

struct vgpu_wire_config {
	uint32_t events_read;
	uint32_t events_clear;
	uint32_t num_scanouts;
	uint32_t num_capsets;
};
_Static_assert(sizeof(struct vgpu_wire_config) == 16, "virtio_gpu_config is 16 bytes");

/* §5.7.6.7 request and response types. */
enum vgpu_ctrl_type {
	VGPU_CMD_GET_DISPLAY_INFO = 0x0100,
	VGPU_CMD_RESOURCE_CREATE_2D = 0x0101,
	VGPU_CMD_RESOURCE_UNREF = 0x0102,
	VGPU_CMD_SET_SCANOUT = 0x0103,
	VGPU_CMD_RESOURCE_FLUSH = 0x0104,
	VGPU_CMD_TRANSFER_TO_HOST_2D = 0x0105,
	VGPU_CMD_RESOURCE_ATTACH_BACKING = 0x0106,
	VGPU_CMD_RESOURCE_DETACH_BACKING = 0x0107,
	VGPU_CMD_GET_CAPSET_INFO = 0x0108,
	VGPU_CMD_GET_CAPSET = 0x0109,
	VGPU_CMD_GET_EDID = 0x010a,
	VGPU_CMD_RESOURCE_ASSIGN_UUID = 0x010b,
	VGPU_CMD_RESOURCE_CREATE_BLOB = 0x010c,
	VGPU_CMD_SET_SCANOUT_BLOB = 0x010d,

	/* 3D commands: only with VIRGL, which this device does not offer. */
	VGPU_CMD_CTX_CREATE = 0x0200,
	VGPU_CMD_CTX_DESTROY = 0x0201,
	VGPU_CMD_CTX_ATTACH_RESOURCE = 0x0202,
	VGPU_CMD_CTX_DETACH_RESOURCE = 0x0203,
	VGPU_CMD_RESOURCE_CREATE_3D = 0x0204,
	VGPU_CMD_TRANSFER_TO_HOST_3D = 0x0205,
	VGPU_CMD_TRANSFER_FROM_HOST_3D = 0x0206,
	VGPU_CMD_SUBMIT_3D = 0x0207,
	VGPU_CMD_RESOURCE_MAP_BLOB = 0x0208,
	VGPU_CMD_RESOURCE_UNMAP_BLOB = 0x0209,

	VGPU_CMD_UPDATE_CURSOR = 0x0300,
	VGPU_CMD_MOVE_CURSOR = 0x0301,

	VGPU_RESP_OK_NODATA = 0x1100,
	VGPU_RESP_OK_DISPLAY_INFO = 0x1101,
	VGPU_RESP_OK_CAPSET_INFO = 0x1102,
	VGPU_RESP_OK_CAPSET = 0x1103,
	VGPU_RESP_OK_EDID = 0x1104,

	VGPU_RESP_ERR_UNSPEC = 0x1200,
	VGPU_RESP_ERR_OUT_OF_MEMORY = 0x1201,
	VGPU_RESP_ERR_INVALID_SCANOUT_ID = 0x1202,
	VGPU_RESP_ERR_INVALID_RESOURCE_ID = 0x1203,
	VGPU_RESP_ERR_INVALID_CONTEXT_ID = 0x1204,
	VGPU_RESP_ERR_INVALID_PARAMETER = 0x1205,
};

/* §5.7.6.7 header flags. */
#define VGPU_FLAG_FENCE		(1u << 0)
#define VGPU_FLAG_INFO_RING_IDX (1u << 1)

/* §5.7.6.7 the header that starts every request and response. */
struct vgpu_ctrl_hdr {
	uint32_t type;
	uint32_t flags;
	uint64_t fence_id;
	uint32_t ctx_id;
	uint8_t ring_idx;
	uint8_t padding[3];
};
_Static_assert(sizeof(struct vgpu_ctrl_hdr) == 24, "virtio_gpu_ctrl_hdr is 24 bytes");

/* §5.7.6.8 a rectangle in pixels. */
struct vgpu_wire_rect {
	uint32_t x;
	uint32_t y;
	uint32_t width;
	uint32_t height;
};
_Static_assert(sizeof(struct vgpu_wire_rect) == 16, "virtio_gpu_rect is 16 bytes");

/* §5.7.6.8 GET_DISPLAY_INFO response: one entry per possible scanout. */
#define VGPU_WIRE_MAX_SCANOUTS 16

struct vgpu_display_one {
	struct vgpu_wire_rect r;
	uint32_t enabled;
	uint32_t flags;
};

struct vgpu_resp_display_info {
	struct vgpu_ctrl_hdr hdr;
	struct vgpu_display_one pmodes[VGPU_WIRE_MAX_SCANOUTS];
};
_Static_assert(sizeof(struct vgpu_resp_display_info) == 24 + 16 * 24,
	       "virtio_gpu_resp_display_info is 408 bytes");

/* §5.7.6.8 GET_EDID request and response. */
struct vgpu_get_edid {
	struct vgpu_ctrl_hdr hdr;
	uint32_t scanout;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_get_edid) == 32, "virtio_gpu_cmd_get_edid is 32 bytes");

struct vgpu_resp_edid {
	struct vgpu_ctrl_hdr hdr;
	uint32_t size;
	uint32_t padding;
	uint8_t edid[1024];
};
_Static_assert(sizeof(struct vgpu_resp_edid) == 1056, "virtio_gpu_resp_edid is 1056 bytes");

/* §5.7.6.8 pixel formats. Each name lists the bytes of a pixel in memory order, so
 * B8G8R8X8 is what DRM calls XRGB8888 on a little-endian machine. */
enum vgpu_format {
	VGPU_FORMAT_B8G8R8A8_UNORM = 1,
	VGPU_FORMAT_B8G8R8X8_UNORM = 2,
	VGPU_FORMAT_A8R8G8B8_UNORM = 3,
	VGPU_FORMAT_X8R8G8B8_UNORM = 4,
	VGPU_FORMAT_R8G8B8A8_UNORM = 67,
	VGPU_FORMAT_X8B8G8R8_UNORM = 68,
	VGPU_FORMAT_A8B8G8R8_UNORM = 121,
	VGPU_FORMAT_R8G8B8X8_UNORM = 134,
};

/* §5.7.6.8 RESOURCE_CREATE_2D. */
struct vgpu_resource_create_2d {
	struct vgpu_ctrl_hdr hdr;
	uint32_t resource_id;
	uint32_t format;
	uint32_t width;
	uint32_t height;
};
_Static_assert(sizeof(struct vgpu_resource_create_2d) == 40, "resource_create_2d is 40 bytes");

/* §5.7.6.8 RESOURCE_UNREF and RESOURCE_DETACH_BACKING share this shape. */
struct vgpu_resource_unref {
	struct vgpu_ctrl_hdr hdr;
	uint32_t resource_id;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_resource_unref) == 32, "resource_unref is 32 bytes");

/* §5.7.6.8 SET_SCANOUT. */
struct vgpu_set_scanout {
	struct vgpu_ctrl_hdr hdr;
	struct vgpu_wire_rect r;
	uint32_t scanout_id;
	uint32_t resource_id;
};
_Static_assert(sizeof(struct vgpu_set_scanout) == 48, "set_scanout is 48 bytes");

/* §5.7.6.8 RESOURCE_FLUSH. */
struct vgpu_resource_flush {
	struct vgpu_ctrl_hdr hdr;
	struct vgpu_wire_rect r;
	uint32_t resource_id;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_resource_flush) == 48, "resource_flush is 48 bytes");

/* §5.7.6.8 TRANSFER_TO_HOST_2D: offset is where pixel (r.x, r.y) sits in the backing. */
struct vgpu_transfer_to_host_2d {
	struct vgpu_ctrl_hdr hdr;
	struct vgpu_wire_rect r;
	uint64_t offset;
	uint32_t resource_id;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_transfer_to_host_2d) == 56, "transfer_to_host_2d is 56 bytes");

/* §5.7.6.8 RESOURCE_ATTACH_BACKING, followed by nr_entries memory entries. */
struct vgpu_mem_entry {
	uint64_t addr;
	uint32_t length;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_mem_entry) == 16, "virtio_gpu_mem_entry is 16 bytes");

struct vgpu_resource_attach_backing {
	struct vgpu_ctrl_hdr hdr;
	uint32_t resource_id;
	uint32_t nr_entries;
};
_Static_assert(sizeof(struct vgpu_resource_attach_backing) == 32, "attach_backing is 32 bytes");

/* §5.7.6.8 GET_CAPSET_INFO (there are no capsets; the request is still parsed). */
struct vgpu_get_capset_info {
	struct vgpu_ctrl_hdr hdr;
	uint32_t capset_index;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_get_capset_info) == 32, "get_capset_info is 32 bytes");

/* §5.7.6.8 RESOURCE_CREATE_BLOB, followed by nr_entries memory entries. */
#define VGPU_BLOB_MEM_GUEST		0x0001u
#define VGPU_BLOB_MEM_HOST3D		0x0002u
#define VGPU_BLOB_MEM_HOST3D_GUEST	0x0003u
#define VGPU_BLOB_FLAG_USE_MAPPABLE	0x0001u
#define VGPU_BLOB_FLAG_USE_SHAREABLE	0x0002u
#define VGPU_BLOB_FLAG_USE_CROSS_DEVICE 0x0004u

struct vgpu_resource_create_blob {
	struct vgpu_ctrl_hdr hdr;
	uint32_t resource_id;
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint32_t nr_entries;
	uint64_t blob_id;
	uint64_t size;
};
_Static_assert(sizeof(struct vgpu_resource_create_blob) == 56, "resource_create_blob is 56 bytes");

/* §5.7.6.8 SET_SCANOUT_BLOB: one plane used (strides[0], offsets[0]); formats are 32 bpp. */
struct vgpu_set_scanout_blob {
	struct vgpu_ctrl_hdr hdr;
	struct vgpu_wire_rect r;
	uint32_t scanout_id;
	uint32_t resource_id;
	uint32_t width;
	uint32_t height;
	uint32_t format;
	uint32_t padding;
	uint32_t strides[4];
	uint32_t offsets[4];
};
_Static_assert(sizeof(struct vgpu_set_scanout_blob) == 96, "set_scanout_blob is 96 bytes");

/* §5.7.6.10 cursor queue: UPDATE_CURSOR and MOVE_CURSOR. */
struct vgpu_cursor_pos {
	uint32_t scanout_id;
	uint32_t x;
	uint32_t y;
	uint32_t padding;
};

struct vgpu_update_cursor {
	struct vgpu_ctrl_hdr hdr;
	struct vgpu_cursor_pos pos;
	uint32_t resource_id; /* update only */
	uint32_t hot_x;
	uint32_t hot_y;
	uint32_t padding;
};
_Static_assert(sizeof(struct vgpu_update_cursor) == 56, "virtio_gpu_update_cursor is 56 bytes");

#endif
