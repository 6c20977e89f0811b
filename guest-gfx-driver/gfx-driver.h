/* gfx-driver.h: a freestanding virtio-gpu driver over virtio-mmio for a small x86-64 kernel:
 * probe, display info and EDID, 2D and blob resources, scanout, flush, cursor. Not thread-safe. */
#ifndef GFX_DRIVER_H
#define GFX_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "hv-guest-abi.h"

/* Errors are returned negated; the numbers are Linux's so a kernel can pass them through. */
#define GFX_EIO	      5
#define GFX_ENOMEM    12
#define GFX_EBUSY     16
#define GFX_ENODEV    19
#define GFX_EINVAL    22
#define GFX_ENOSPC    28
#define GFX_ENOTSUP   95
#define GFX_ETIMEDOUT 110

#define GFX_EVENT_DISPLAY 1u /* gfx_dev.events: the host changed the display configuration */

#define GFX_MAX_HEADS	16
#define GFX_MAX_ENTRIES 64 /* memory entries in one attach/create-blob command */

/* ---- what the kernel that links this driver provides (gfx-port.h's contract) ---- */
/* Sleep until an interrupt arrives or the TSC passes deadline (~0 = no deadline). Entered
 * and left with interrupts disabled; the kernel's interrupt handler calls gfx_irq(). */
void gfx_port_wait(uint64_t deadline_tsc);
/* TSC ticks per millisecond (never 0: the kernel assumes a rate when the VMM gave none). */
uint64_t gfx_port_tsc_khz(void);

struct gfx_head {
	uint32_t enabled;
	uint32_t x, y, width, height;
	uint32_t mm_width, mm_height; /* from EDID, 0 when unknown */
	uint32_t bpc;		      /* bits per colour from EDID, 0 when unknown */
	uint32_t flags;
};

struct gfx_mem_entry {
	uint64_t addr; /* guest-physical */
	uint32_t length;
};

/* Probe options. */
#define GFX_PROBE_NO_BLOB 1u /* ignore RESOURCE_BLOB even when offered: test the 2D path */

struct gfx_dev {
	uintptr_t mmio;	  /* register window (identity-mapped, uncached) */
	uint32_t gsi;	  /* interrupt line on the I/O APIC */
	uint32_t num_scanouts;
	uint64_t features; /* negotiated */
	int blob;	   /* RESOURCE_BLOB negotiated: scanouts read guest memory directly */
	int edid;	   /* EDID negotiated */
	int broken;	   /* a command timed out: the rings can no longer be trusted */
	/* Set by gfx_irq(), cleared by whoever handles them (VGPU_EVENT_* bits). */
	volatile uint32_t events;
	uint32_t irq_count;
	struct gfx_head heads[GFX_MAX_HEADS];
};

/* Finds the first virtio-gpu in the boot info, resets it, negotiates VERSION_1 plus EDID and
 * RESOURCE_BLOB where offered, sets up both queues and reads the displays. Returns 0,
 * -GFX_ENODEV when there is no GPU (or only a legacy one), -GFX_EIO when it misbehaves. */
int gfx_probe(struct gfx_dev *dev, const struct hv_boot_info *bi, unsigned flags);

/* GET_DISPLAY_INFO, then GET_EDID for every enabled head (when negotiated). */
int gfx_refresh_displays(struct gfx_dev *dev);

/* Interrupt handler body: acknowledges the device and records configuration events in
 * dev->events. Safe to call when the device did not interrupt. */
void gfx_irq(struct gfx_dev *dev);

/* Pixel formats (virtio-gpu's numbers): 32-bit pixels, as uint32_t on x86 0x00RRGGBB for
 * XRGB (frame buffers) and 0xAARRGGBB for ARGB (cursor images). */
#define GFX_FORMAT_ARGB 1 /* B8G8R8A8_UNORM */
#define GFX_FORMAT_XRGB 2 /* B8G8R8X8_UNORM */

/* Resources: stride = width * 4, in the guest memory the entries list (in order). blob
 * selects RESOURCE_CREATE_BLOB (needs dev->blob; XRGB only, as scanouts use it) over
 * RESOURCE_CREATE_2D + ATTACH_BACKING. */
int gfx_resource_create(struct gfx_dev *dev, uint32_t id, uint32_t width, uint32_t height,
			uint32_t format, const struct gfx_mem_entry *ents, unsigned n, int blob);
int gfx_resource_destroy(struct gfx_dev *dev, uint32_t id, int blob);
/* Shows resource id (0 = disable the head) on head. */
int gfx_set_scanout(struct gfx_dev *dev, uint32_t head, uint32_t id, uint32_t width,
		    uint32_t height, int blob);
/* Makes a rectangle of the resource visible: 2D resources are first copied to the host. */
int gfx_flush(struct gfx_dev *dev, uint32_t id, uint32_t res_width, uint32_t x, uint32_t y,
	      uint32_t w, uint32_t h, int blob);
/* A 2D resource's rectangle copied to the host without a flush (cursor images). */
int gfx_transfer(struct gfx_dev *dev, uint32_t id, uint32_t x, uint32_t y, uint32_t w,
		 uint32_t h);

/* Cursor queue: id 0 hides the cursor. The image must be a 64x64 2D resource already
 * transferred to the host. */
int gfx_cursor_update(struct gfx_dev *dev, uint32_t head, uint32_t id, uint32_t x, uint32_t y,
		      uint32_t hot_x, uint32_t hot_y);
int gfx_cursor_move(struct gfx_dev *dev, uint32_t head, uint32_t x, uint32_t y);

/* Physical size from a 128-byte EDID base block: the preferred detailed timing's image size,
 * else the basic display parameters (cm). Returns 0, or -GFX_EINVAL for a block whose header
 * or checksum is wrong. */
int gfx_edid_size_mm(const uint8_t *edid, uint32_t len, uint32_t *w_mm, uint32_t *h_mm);
/* Bits per primary colour a digital EDID 1.4 block announces (6 to 16), 0 when it says none
 * (an analog display, or the field undefined). The block must have passed gfx_edid_size_mm. */
uint32_t gfx_edid_bpc(const uint8_t *edid);

#endif
