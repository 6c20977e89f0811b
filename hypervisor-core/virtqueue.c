/* virtqueue.c: the device side of split virtqueues (virtio 1.2 §2.7): popping and validating
 * descriptor chains a guest driver offers, returning them on the used ring, notifications.
 * Not packed virtqueues, and not the register interface (virtio-mmio.c). */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hd-common.h"
#include "hv.h"

#define TAG "virtqueue"

/* Descriptor flags, virtio 1.2 §2.7.5. */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u
/* virtio 1.2 §2.7.6: the driver asks for no used buffer notifications. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

/* virtio 1.2 §2.7.5: one descriptor, little-endian. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vq_desc) == 16, "virtq_desc is 16 bytes");

/* virtio 1.2 §2.7.8: one used ring element, little-endian. */
struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};
_Static_assert(sizeof(struct vq_used_elem) == 8, "virtq_used_elem is 8 bytes");

/* Host views of the three ring parts, all checked to lie in guest RAM. */
struct vq_rings {
	uint8_t *desc;
	uint8_t *avail; /* flags, idx, ring[size], used_event */
	uint8_t *used;	/* flags, idx, ring[size], avail_event */
};

/* Re-derived on every use rather than cached: cheap, and it keeps every guest access behind
 * hv_mem_ptr even if the queue fields were set by something other than the transport. */
static bool vq_rings(const struct hv_virtqueue *vq, struct vq_rings *r)
{
	const struct hv_mem *m = vq->dev->mem;
	uint16_t n = vq->size;

	if (n == 0 || n > HV_VIRTQ_MAX_SIZE || (n & (n - 1)))
		return false;
	/* §2.7 alignment; it also makes the 16-bit atomic accesses below naturally aligned. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return false;
	r->desc = hv_mem_ptr(m, vq->desc_gpa, HV_VIRTQ_DESC_BYTES(n));
	r->avail = hv_mem_ptr(m, vq->avail_gpa, HV_VIRTQ_AVAIL_BYTES(n));
	r->used = hv_mem_ptr(m, vq->used_gpa, HV_VIRTQ_USED_BYTES(n));
	return r->desc && r->avail && r->used;
}

/* The ring indices are shared with vCPUs running the driver right now: acquire on the idx
 * the driver publishes, release on the one we publish (§2.7.13 memory barriers). */
static uint16_t load_le16(const uint8_t *p, int order)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, order));
}

static void store_le16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)p, htole16(v), order);
}

static bool vq_event_idx(const struct hv_virtqueue *vq)
{
	const struct hv_virtio_mmio *t = vq->dev;
	return __atomic_load_n(&t->driver_features, __ATOMIC_RELAXED) & t->device_features &
	       HV_VIRTIO_F_EVENT_IDX;
}

/* The driver broke the ring. Nothing on it can be trusted any more, so the queue stops and
 * the driver is told to reset the device (§2.1.2). A guest could do this in a loop, so only
 * the first time per device is a warning. */
static int vq_fail(struct hv_virtqueue *vq, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vq_fail(struct hv_virtqueue *vq, int err, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!__atomic_exchange_n(&vq->dev->warned_broken, true, __ATOMIC_RELAXED))
		hd_warn(TAG, "device %u queue %u: %s; device needs reset", vq->dev->ops->device_id,
			vq->index, why);
	else
		hd_debug(TAG, "device %u queue %u: %s", vq->dev->ops->device_id, vq->index, why);
	__atomic_store_n(&vq->broken, true, __ATOMIC_RELEASE);
	hv_virtio_needs_reset(vq->dev);
	return err;
}

/* Copies the descriptor once: the driver may rewrite it while we look, and every check must
 * apply to the values we then use. */
static void read_desc(const uint8_t *table, unsigned i, struct vq_desc *d)
{
	struct vq_desc raw;

	memcpy(&raw, table + (size_t)i * sizeof(raw), sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

/*
 * Walks the chain from head. Bounds: the direct chain visits at most min(size,
 * HV_VIRTQ_MAX_CHAIN) descriptors and an indirect table at most its own entry count, so a
 * loop ends as "too long"; at most HV_VIRTQ_MAX_CHAIN segments are recorded. Byte totals
 * cannot overflow: at most 2 * 1024 descriptors of < 2^32 bytes each.
 */
static int vq_walk(struct hv_virtqueue *vq, const struct vq_rings *r, uint16_t head,
		   struct hv_vq_elem *e)
{
	const struct hv_mem *m = vq->dev->mem;
	const uint8_t *table = r->desc;
	unsigned table_n = vq->size;
	unsigned budget = vq->size < HV_VIRTQ_MAX_CHAIN ? vq->size : HV_VIRTQ_MAX_CHAIN;
	unsigned seen = 0, idx = head;
	bool indirect = false, seen_in = false;

	e->head = head;
	e->nr_out = e->nr_in = 0;
	e->out_bytes = e->in_bytes = 0;
	if (head >= vq->size)
		return vq_fail(vq, -EINVAL, "head %u >= queue size %u", head, vq->size);

	for (;;) {
		struct vq_desc d;

		if (seen == budget)
			return vq_fail(vq, -EINVAL, "chain at head %u over %u descriptors (loop?)",
				       head, budget);
		seen++;
		read_desc(table, idx, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* §2.7.5.3.1: one table, last in the chain, never nested. */
			if (indirect)
				return vq_fail(vq, -EINVAL, "nested indirect descriptor at head %u",
					       head);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return vq_fail(vq, -EINVAL,
					       "indirect descriptor with NEXT at head %u", head);
			if (d.len == 0 || d.len % sizeof(struct vq_desc) ||
			    d.len / sizeof(struct vq_desc) > HV_VIRTQ_MAX_CHAIN)
				return vq_fail(vq, -EINVAL, "indirect table of %u bytes at head %u",
					       d.len, head);
			table = hv_mem_ptr(m, d.addr, d.len);
			if (!table)
				return vq_fail(vq, -EFAULT,
					       "indirect table [%#llx, +%u) outside guest RAM",
					       (unsigned long long)d.addr, d.len);
			/* The WRITE flag of the indirect descriptor itself means nothing
			 * (§2.7.5.3.2). */
			table_n = budget = d.len / sizeof(struct vq_desc);
			seen = 0;
			idx = 0;
			indirect = true;
			continue;
		}

		bool wr = d.flags & VIRTQ_DESC_F_WRITE;
		/* §2.7.4.2: device-readable before device-writable; checked on zero-length
		 * descriptors too, so skipping them below cannot hide a misordered chain. */
		if (!wr && seen_in)
			return vq_fail(vq, -EINVAL,
				       "read-only descriptor after write-only at head %u", head);
		seen_in |= wr;

		/* Zero-length buffers carry no bytes: they are not recorded, and their address
		 * is never dereferenced, so it is not checked either. */
		if (d.len) {
			/* hv_mem_ptr rejects addr + len past RAM, including a wrap past 2^64. */
			void *host = hv_mem_ptr(m, d.addr, d.len);
			if (!host)
				return vq_fail(vq, -EFAULT, "buffer [%#llx, +%u) outside guest RAM",
					       (unsigned long long)d.addr, d.len);
			if (e->nr_out + e->nr_in >= HV_VIRTQ_MAX_CHAIN)
				return vq_fail(vq, -EINVAL, "chain at head %u over %u segments",
					       head, HV_VIRTQ_MAX_CHAIN);
			struct hv_vq_seg *s = &e->segs[e->nr_out + e->nr_in];
			s->gpa = d.addr;
			s->len = d.len;
			s->host = host;
			if (wr) {
				e->nr_in++;
				e->in_bytes += d.len;
			} else {
				e->nr_out++;
				e->out_bytes += d.len;
			}
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n)
			return vq_fail(vq, -EINVAL, "next %u >= %u at head %u", d.next, table_n,
				       head);
		idx = d.next;
	}
}

int hv_vq_pop(struct hv_virtqueue *vq, struct hv_vq_elem *elem)
{
	struct vq_rings r;
	uint16_t avail_idx, pending, head;
	int ret;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return 0;
	if (__atomic_load_n(&vq->broken, __ATOMIC_ACQUIRE))
		return -EIO;
	if (!vq_rings(vq, &r))
		return vq_fail(vq, -EFAULT, "rings not in guest RAM");

	avail_idx = load_le16(r.avail + 2, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail) {
		if (!vq_event_idx(vq))
			return 0;
		/* Ask for a kick at the next buffer, then look again: a buffer the driver
		 * added before it could see avail_event would otherwise never be kicked. */
		store_le16(r.used + 4 + 8u * vq->size, vq->last_avail, __ATOMIC_RELAXED);
		hv_mem_mark_dirty(vq->dev->mem, vq->used_gpa + 4 + 8ull * vq->size, 2);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load_le16(r.avail + 2, __ATOMIC_ACQUIRE);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	/* More than size ahead would mean the driver overwrote entries we never consumed. */
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending > vq->size)
		return vq_fail(vq, -EINVAL, "avail idx %u is %u ahead of %u, queue size %u",
			       avail_idx, pending, vq->last_avail, vq->size);

	head = load_le16(r.avail + 4 + 2u * (vq->last_avail & (vq->size - 1)), __ATOMIC_RELAXED);
	ret = vq_walk(vq, &r, head, elem);
	if (ret < 0)
		return ret;
	vq->last_avail++;
	if (vq_event_idx(vq)) {
		store_le16(r.used + 4 + 8u * vq->size, vq->last_avail, __ATOMIC_RELAXED);
		hv_mem_mark_dirty(vq->dev->mem, vq->used_gpa + 4 + 8ull * vq->size, 2);
	}
	return 1;
}

int hv_vq_push(struct hv_virtqueue *vq, const struct hv_vq_elem *elem, uint32_t written)
{
	struct vq_rings r;
	struct vq_used_elem ue;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&vq->broken, __ATOMIC_ACQUIRE))
		return -EIO;
	if (!vq_rings(vq, &r))
		return -EFAULT;
	/* An element popped before a reset may not fit the queue set up after it. */
	if (elem->head >= vq->size)
		return -EINVAL;
	/* The driver trusts len (§2.7.8.1): never claim more than the chain can hold. */
	if (written > elem->in_bytes) {
		hd_debug(TAG, "queue %u: device wrote %u of %llu bytes; clamped", vq->index,
			 written, (unsigned long long)elem->in_bytes);
		written = (uint32_t)elem->in_bytes;
	}
	ue.id = htole32(elem->head);
	ue.len = htole32(written);
	memcpy(r.used + 4 + sizeof(ue) * (vq->used_idx & (vq->size - 1)), &ue, sizeof(ue));
	vq->used_idx++;
	/* Release: the element must be visible before the idx that hands it over. */
	store_le16(r.used + 2, vq->used_idx, __ATOMIC_RELEASE);
	/* A migration resends what the device wrote: the used ring and the chain's writable
	 * buffers (devices write them through the segments' host pointers). */
	const struct hv_mem *m = vq->dev->mem;
	hv_mem_mark_dirty(m, vq->used_gpa, HV_VIRTQ_USED_BYTES(vq->size));
	for (unsigned i = 0; i < elem->nr_in; i++)
		hv_mem_mark_dirty(m, elem->segs[elem->nr_out + i].gpa,
				  elem->segs[elem->nr_out + i].len);
	return 0;
}

void hv_vq_notify(struct hv_virtqueue *vq)
{
	struct vq_rings r;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&vq->broken, __ATOMIC_ACQUIRE) || !vq_rings(vq, &r))
		return;
	/* Store (used idx) then load (driver's suppression state) needs a full barrier, or we
	 * may read a stale flag the driver already cleared after seeing the old used idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq_event_idx(vq)) {
		/* §2.7.10: interrupt only if used idx passed used_event since the last one. */
		uint16_t event = load_le16(r.avail + 4 + 2u * vq->size, __ATOMIC_RELAXED);
		uint16_t old = vq->signalled_used, cur = vq->used_idx;
		bool valid = vq->signalled_used_valid;

		vq->signalled_used = cur;
		vq->signalled_used_valid = true;
		if (valid && (uint16_t)(cur - event - 1) >= (uint16_t)(cur - old))
			return;
	} else if (load_le16(r.avail, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT) {
		return;
	}
	hv_virtio_interrupt(vq->dev, HV_VIRTIO_ISR_USED);
}

/* Exactly one of out (guest to host) and in (host to guest) is non-NULL. */
static size_t elem_copy(const struct hv_vq_seg *segs, unsigned n, size_t offset, void *out,
			const void *in, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t sl = segs[i].len;
		if (offset >= sl) {
			offset -= sl;
			continue;
		}
		size_t chunk = sl - offset < len - done ? sl - offset : len - done;
		uint8_t *g = (uint8_t *)segs[i].host + offset;
		if (out)
			memcpy((uint8_t *)out + done, g, chunk);
		else
			memcpy(g, (const uint8_t *)in + done, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

static bool elem_sane(const struct hv_vq_elem *e)
{
	return e->nr_out <= HV_VIRTQ_MAX_CHAIN && e->nr_in <= HV_VIRTQ_MAX_CHAIN - e->nr_out;
}

size_t hv_vq_elem_read(const struct hv_vq_elem *elem, size_t offset, void *dst, size_t len)
{
	if (!elem_sane(elem) || !dst || !len)
		return 0;
	return elem_copy(elem->segs, elem->nr_out, offset, dst, NULL, len);
}

size_t hv_vq_elem_write(const struct hv_vq_elem *elem, size_t offset, const void *src, size_t len)
{
	if (!elem_sane(elem) || !src || !len)
		return 0;
	return elem_copy(elem->segs + elem->nr_out, elem->nr_in, offset, NULL, src, len);
}
