/* virtq.c: split-virtqueue setup and synchronous batch submission over virtio-mmio. Not an
 * asynchronous queue: every batch is waited for, so descriptors are reused from 0 each time. */
#include "gfx-driver.h"
#include "virtq.h"

/* How long a batch may take before the queue is declared broken. Generous: a software
 * device on a loaded host may stall, and giving up leaves the display dead. */
#define VQ_TIMEOUT_MS 3000
/* Poll period while waiting without an interrupt, in case the device never raises one. */
#define VQ_POLL_MS 1

static void zero(void *p, uint64_t n)
{
	/* One string instruction: every kernel instruction is emulated on the slow host. */
	asm volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(0) : "memory");
}

int vq_setup(struct virtq *q, struct vq_ring *ring, uintptr_t mmio, uint16_t index)
{
	uint32_t max;
	uint16_t size = VQ_SIZE;
	uint64_t d = (uint64_t)(uintptr_t)ring->desc;
	uint64_t a = (uint64_t)(uintptr_t)&ring->avail;
	uint64_t u = (uint64_t)(uintptr_t)&ring->used;

	mmio_write32(mmio, VMMIO_QUEUE_SEL, index);
	if (mmio_read32(mmio, VMMIO_QUEUE_READY))
		return -GFX_EIO; /* still live after a reset: not a device we understand */
	max = mmio_read32(mmio, VMMIO_QUEUE_NUM_MAX);
	if (!max)
		return -GFX_ENODEV;
	while (size > max)
		size >>= 1;

	zero(ring, sizeof(*ring));
	/* The driver waits for every batch, normally finding it done when the notify returns,
	 * so interrupts for used buffers are only asked for while actually waiting (vq_run). */
	ring->avail.flags = VQ_AVAIL_F_NO_INTERRUPT;
	q->ring = ring;
	q->mmio = mmio;
	q->index = index;
	q->size = size;
	q->next_avail = 0;
	q->broken = 0;

	mmio_write32(mmio, VMMIO_QUEUE_NUM, size);
	mmio_write32(mmio, VMMIO_QUEUE_DESC_LO, (uint32_t)d);
	mmio_write32(mmio, VMMIO_QUEUE_DESC_HI, (uint32_t)(d >> 32));
	mmio_write32(mmio, VMMIO_QUEUE_AVAIL_LO, (uint32_t)a);
	mmio_write32(mmio, VMMIO_QUEUE_AVAIL_HI, (uint32_t)(a >> 32));
	mmio_write32(mmio, VMMIO_QUEUE_USED_LO, (uint32_t)u);
	mmio_write32(mmio, VMMIO_QUEUE_USED_HI, (uint32_t)(u >> 32));
	mmio_write32(mmio, VMMIO_QUEUE_READY, 1);
	return 0;
}

static int vq_done(struct virtq *q)
{
	return __atomic_load_n(&q->ring->used.idx, __ATOMIC_ACQUIRE) == q->next_avail;
}

int vq_run(struct virtq *q, const struct vq_cmd *cmds, unsigned n)
{
	struct vq_ring *r = q->ring;
	unsigned need = 0, d = 0;
	uint64_t start, limit;

	if (q->broken)
		return -GFX_EIO;
	for (unsigned i = 0; i < n; i++)
		need += cmds[i].resp ? 2 : 1;
	if (!n || need > q->size)
		return -GFX_EINVAL;

	for (unsigned i = 0; i < n; i++) {
		const struct vq_cmd *c = &cmds[i];

		r->avail.ring[(uint16_t)(q->next_avail + i) & (q->size - 1)] = (uint16_t)d;
		r->desc[d].addr = (uint64_t)(uintptr_t)c->req;
		r->desc[d].len = c->req_len;
		r->desc[d].flags = c->resp ? VQ_DESC_F_NEXT : 0;
		r->desc[d].next = (uint16_t)(d + 1);
		d++;
		if (c->resp) {
			r->desc[d].addr = (uint64_t)(uintptr_t)c->resp;
			r->desc[d].len = c->resp_len;
			r->desc[d].flags = VQ_DESC_F_WRITE;
			r->desc[d].next = 0;
			d++;
		}
	}
	q->next_avail = (uint16_t)(q->next_avail + n);
	/* Descriptors and ring entries are visible before the index (x86 keeps stores in
	 * order; the release stops the compiler moving them), and the index before the notify. */
	__atomic_store_n(&r->avail.idx, q->next_avail, __ATOMIC_RELEASE);
	mmio_write32(q->mmio, VMMIO_QUEUE_NOTIFY, q->index);

	if (vq_done(q))
		return 0;

	/* Not answered yet (an asynchronous device): ask for an interrupt, then sleep until it
	 * or the poll timer fires. The flag is re-checked after being set, so a completion that
	 * slipped in between is not slept through. */
	__atomic_store_n(&r->avail.flags, 0, __ATOMIC_SEQ_CST);
	start = gfx_rdtsc();
	limit = gfx_port_tsc_khz() * VQ_TIMEOUT_MS;
	while (!vq_done(q)) {
		uint64_t now = gfx_rdtsc();

		if (now - start > limit) {
			q->broken = 1;
			return -GFX_ETIMEDOUT;
		}
		gfx_port_wait(now + gfx_port_tsc_khz() * VQ_POLL_MS);
	}
	r->avail.flags = VQ_AVAIL_F_NO_INTERRUPT;
	return 0;
}
