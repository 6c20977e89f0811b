/* virtio-wire.h: the bytes a guest driver exchanges with a virtio-mmio GPU: transport
 * registers (virtio 1.2 §4.2.2), split rings (§2.7) and virtio-gpu commands (§5.7.6). Not an API. */
#ifndef GFX_VIRTIO_WIRE_H
#define GFX_VIRTIO_WIRE_H

#include <stdint.h>

/* ---- virtio-mmio registers, offsets in the device window; all 32-bit ---- */
#define VMMIO_MAGIC		0x000 /* "virt" */
#define VMMIO_VERSION		0x004 /* 2 = modern; 1 (legacy) is not supported */
#define VMMIO_DEVICE_ID		0x008
#define VMMIO_DEVICE_FEATURES	0x010
#define VMMIO_DEVICE_FEAT_SEL	0x014
#define VMMIO_DRIVER_FEATURES	0x020
#define VMMIO_DRIVER_FEAT_SEL	0x024
#define VMMIO_QUEUE_SEL		0x030
#define VMMIO_QUEUE_NUM_MAX	0x034
#define VMMIO_QUEUE_NUM		0x038
#define VMMIO_QUEUE_READY	0x044
#define VMMIO_QUEUE_NOTIFY	0x050
#define VMMIO_INT_STATUS	0x060
#define VMMIO_INT_ACK		0x064
#define VMMIO_STATUS		0x070
#define VMMIO_QUEUE_DESC_LO	0x080
#define VMMIO_QUEUE_DESC_HI	0x084
#define VMMIO_QUEUE_AVAIL_LO	0x090
#define VMMIO_QUEUE_AVAIL_HI	0x094
#define VMMIO_QUEUE_USED_LO	0x0a0
#define VMMIO_QUEUE_USED_HI	0x0a4
#define VMMIO_CONFIG_GEN	0x0fc
#define VMMIO_CONFIG		0x100

#define VMMIO_MAGIC_VALUE 0x74726976u

#define VSTAT_ACK	  0x01u
#define VSTAT_DRIVER	  0x02u
#define VSTAT_DRIVER_OK	  0x04u
#define VSTAT_FEATURES_OK 0x08u
#define VSTAT_NEEDS_RESET 0x40u
#define VSTAT_FAILED	  0x80u

#define VINT_USED   0x1u /* a used ring was updated */
#define VINT_CONFIG 0x2u /* the configuration changed */

#define VIRTIO_F_VERSION_1 (1ull << 32)

/* ---- split virtqueue ---- */
#define VQ_DESC_F_NEXT	 1u
#define VQ_DESC_F_WRITE	 2u /* the device writes this buffer */
#define VQ_AVAIL_F_NO_INTERRUPT 1u

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* ---- virtio-gpu ---- */
#define VIRTIO_ID_GPU 16

#define VGPU_F_EDID	     (1ull << 1)
#define VGPU_F_RESOURCE_BLOB (1ull << 3)

#define VGPU_EVENT_DISPLAY 1u

/* Device configuration space, at VMMIO_CONFIG. */
#define VGPU_CFG_EVENTS_READ  0
#define VGPU_CFG_EVENTS_CLEAR 4
#define VGPU_CFG_NUM_SCANOUTS 8

#define VGPU_MAX_SCANOUTS 16

enum {
	VGPU_CMD_GET_DISPLAY_INFO = 0x0100,
	VGPU_CMD_RESOURCE_CREATE_2D = 0x0101,
	VGPU_CMD_RESOURCE_UNREF = 0x0102,
	VGPU_CMD_SET_SCANOUT = 0x0103,
	VGPU_CMD_RESOURCE_FLUSH = 0x0104,
	VGPU_CMD_TRANSFER_TO_HOST_2D = 0x0105,
	VGPU_CMD_RESOURCE_ATTACH_BACKING = 0x0106,
	VGPU_CMD_RESOURCE_DETACH_BACKING = 0x0107,
	VGPU_CMD_GET_EDID = 0x010a,
	VGPU_CMD_RESOURCE_CREATE_BLOB = 0x010c,
	VGPU_CMD_SET_SCANOUT_BLOB = 0x010d,
	VGPU_CMD_UPDATE_CURSOR = 0x0300,
	VGPU_CMD_MOVE_CURSOR = 0x0301,

	VGPU_RESP_OK_NODATA = 0x1100,
	VGPU_RESP_OK_DISPLAY_INFO = 0x1101,
	VGPU_RESP_OK_EDID = 0x1104,
	VGPU_RESP_ERR_UNSPEC = 0x1200,
	VGPU_RESP_ERR_OUT_OF_MEMORY = 0x1201,
	VGPU_RESP_ERR_INVALID_SCANOUT_ID = 0x1202,
	VGPU_RESP_ERR_INVALID_RESOURCE_ID = 0x1203,
	VGPU_RESP_ERR_INVALID_CONTEXT_ID = 0x1204,
	VGPU_RESP_ERR_INVALID_PARAMETER = 0x1205,
};

/* Little-endian byte order B, G, R, X: a pixel is the uint32_t 0x00RRGGBB on x86. */
#define VGPU_FORMAT_B8G8R8X8 2

#define VGPU_BLOB_MEM_GUEST 1

struct vgpu_hdr {
	uint32_t type;
	uint32_t flags;
	uint64_t fence_id;
	uint32_t ctx_id;
	uint8_t ring_idx;
	uint8_t pad[3];
};

struct vgpu_rect {
	uint32_t x, y, width, height;
};

struct vgpu_mem_entry {
	uint64_t addr;
	uint32_t length;
	uint32_t pad;
};

struct vgpu_display_one {
	struct vgpu_rect r;
	uint32_t enabled;
	uint32_t flags;
};

struct vgpu_resp_display_info {
	struct vgpu_hdr hdr;
	struct vgpu_display_one pmodes[VGPU_MAX_SCANOUTS];
};

struct vgpu_get_edid {
	struct vgpu_hdr hdr;
	uint32_t scanout;
	uint32_t pad;
};

struct vgpu_resp_edid {
	struct vgpu_hdr hdr;
	uint32_t size;
	uint32_t pad;
	uint8_t edid[1024];
};

struct vgpu_create_2d {
	struct vgpu_hdr hdr;
	uint32_t resource_id;
	uint32_t format;
	uint32_t width;
	uint32_t height;
};

/* Followed by nr_entries struct vgpu_mem_entry. */
struct vgpu_attach_backing {
	struct vgpu_hdr hdr;
	uint32_t resource_id;
	uint32_t nr_entries;
};

/* UNREF and DETACH_BACKING share this layout. */
struct vgpu_resource_only {
	struct vgpu_hdr hdr;
	uint32_t resource_id;
	uint32_t pad;
};

/* Followed by nr_entries struct vgpu_mem_entry. */
struct vgpu_create_blob {
	struct vgpu_hdr hdr;
	uint32_t resource_id;
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint32_t nr_entries;
	uint64_t blob_id;
	uint64_t size;
};

struct vgpu_set_scanout {
	struct vgpu_hdr hdr;
	struct vgpu_rect r;
	uint32_t scanout_id;
	uint32_t resource_id;
};

struct vgpu_set_scanout_blob {
	struct vgpu_hdr hdr;
	struct vgpu_rect r;
	uint32_t scanout_id;
	uint32_t resource_id;
	uint32_t width;
	uint32_t height;
	uint32_t format;
	uint32_t pad;
	uint32_t strides[4];
	uint32_t offsets[4];
};

struct vgpu_flush {
	struct vgpu_hdr hdr;
	struct vgpu_rect r;
	uint32_t resource_id;
	uint32_t pad;
};

struct vgpu_transfer_2d {
	struct vgpu_hdr hdr;
	struct vgpu_rect r;
	uint64_t offset;
	uint32_t resource_id;
	uint32_t pad;
};

struct vgpu_cursor {
	struct vgpu_hdr hdr;
	uint32_t scanout_id;
	uint32_t x;
	uint32_t y;
	uint32_t pad0;
	uint32_t resource_id; /* update only */
	uint32_t hot_x;
	uint32_t hot_y;
	uint32_t pad1;
};

_Static_assert(sizeof(struct vgpu_hdr) == 24, "virtio-gpu header is 24 bytes");
_Static_assert(sizeof(struct vgpu_resp_display_info) == 408, "display info is 408 bytes");
_Static_assert(sizeof(struct vgpu_create_blob) == 56, "create_blob is 56 bytes");
_Static_assert(sizeof(struct vgpu_set_scanout_blob) == 96, "set_scanout_blob is 96 bytes");
_Static_assert(sizeof(struct vgpu_transfer_2d) == 56, "transfer_to_host_2d is 56 bytes");
_Static_assert(sizeof(struct vgpu_cursor) == 56, "update_cursor is 56 bytes");

#endif
