/* virtq.h: the driver side of a virtio split virtqueue on virtio-mmio, sized for a driver that
 * submits a small batch and waits for all of it. Internal to guest-gfx-driver; not a generic ring. */
#ifndef GFX_VIRTQ_H
#define GFX_VIRTQ_H

#include <stdint.h>

#include "virtio-wire.h"

#define VQ_SIZE 32 /* entries; a batch uses at most two descriptors per command */

/* Ring memory, one page, identity-mapped so virtual = guest-physical. */
struct vq_ring {
	struct vq_desc desc[VQ_SIZE];
	struct {
		uint16_t flags;
		uint16_t idx;
		uint16_t ring[VQ_SIZE];
		uint16_t used_event;
	} avail;
	struct {
		uint16_t flags;
		uint16_t idx;
		struct vq_used_elem ring[VQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
} __attribute__((aligned(4096)));

struct virtq {
	struct vq_ring *ring;
	uintptr_t mmio;
	uint16_t index; /* queue number on the device */
	uint16_t size;	/* negotiated, a power of two <= VQ_SIZE */
	uint16_t next_avail;
	int broken;
};

/* One command: the device reads req and, when resp is not NULL, writes resp. */
struct vq_cmd {
	const void *req;
	uint32_t req_len;
	void *resp;
	uint32_t resp_len;
};

/* Selects, sizes, places and enables queue index. Returns 0 or -GFX_EIO/-GFX_ENODEV. */
int vq_setup(struct virtq *q, struct vq_ring *ring, uintptr_t mmio, uint16_t index);
/* Posts n commands as n chains, notifies once and waits until the device has used all of
 * them (the device may answer before the notify returns; that is the fast path). Returns 0,
 * -GFX_EINVAL for a batch too big for the ring, or -GFX_ETIMEDOUT (the queue is then broken). */
int vq_run(struct virtq *q, const struct vq_cmd *cmds, unsigned n);

static inline uint32_t mmio_read32(uintptr_t base, uint32_t off)
{
	return *(volatile uint32_t *)(base + off);
}

static inline void mmio_write32(uintptr_t base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

static inline uint64_t gfx_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif
