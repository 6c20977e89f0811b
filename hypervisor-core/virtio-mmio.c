/* virtio-mmio.c: the virtio-mmio transport (virtio 1.2 §4.2, version 2 only): registers,
 * feature negotiation, queue setup, status, interrupts. Not legacy (version 1) devices, and
 * not the rings themselves (virtqueue.c). */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hd-common.h"
#include "hv-internal.h"

#define TAG "virtio-mmio"

/* Register offsets, virtio 1.2 §4.2.2 table "MMIO Device Register Layout". */
#define REG_MAGIC_VALUE		0x000
#define REG_VERSION		0x004
#define REG_DEVICE_ID		0x008
#define REG_VENDOR_ID		0x00c
#define REG_DEVICE_FEATURES	0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM_MAX	0x034
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DESC_HIGH	0x084
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DRIVER_HIGH	0x094
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_QUEUE_DEVICE_HIGH	0x0a4
#define REG_SHM_SEL		0x0ac
#define REG_SHM_LEN_LOW		0x0b0
#define REG_SHM_LEN_HIGH	0x0b4
#define REG_SHM_BASE_LOW	0x0b8
#define REG_SHM_BASE_HIGH	0x0bc
#define REG_QUEUE_RESET		0x0c0
#define REG_CONFIG_GENERATION	0x0fc
#define REG_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC   0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION 2u
#define VIRTIO_MMIO_WINDOW  0x1000u

/* virtio 1.2 §6: bits 24..41 describe the transport and rings, not the device. */
#define TRANSPORT_FEATURES (((1ull << 42) - 1) & ~((1ull << 24) - 1))

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* A device may only promise the transport features this file and virtqueue.c implement;
 * anything else in that range (packed rings, RING_RESET, ...) is dropped. */
static uint64_t offered_features(const struct hv_virtio_dev_ops *ops)
{
	uint64_t f = ops->features & ~TRANSPORT_FEATURES;

	f |= ops->features & (HV_VIRTIO_F_INDIRECT | HV_VIRTIO_F_EVENT_IDX);
	if ((ops->features & TRANSPORT_FEATURES) & ~f)
		hd_debug(TAG, "device %u: transport features %#llx not offered", ops->device_id,
			 (unsigned long long)(ops->features & TRANSPORT_FEATURES & ~f));
	return f | HV_VIRTIO_F_VERSION_1;
}

int hv_virtio_mmio_init(struct hv_virtio_mmio *t, const struct hv_virtio_dev_ops *ops, void *opaque,
			struct hv_mem *mem, hv_irq_fn irq, void *irq_opaque, unsigned gsi)
{
	if (!t || !ops || !mem)
		return -EINVAL;
	if (ops->num_queues == 0 || ops->num_queues > HV_VIRTIO_MAX_QUEUES)
		return -EINVAL;
	if (!is_pow2(ops->queue_max_size) || ops->queue_max_size > HV_VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (ops->config_size > VIRTIO_MMIO_WINDOW - REG_CONFIG)
		return -EINVAL;

	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->opaque = opaque;
	t->mem = mem;
	t->irq = irq;
	t->irq_opaque = irq_opaque;
	t->gsi = gsi;
	t->device_features = offered_features(ops);
	for (unsigned i = 0; i < HV_VIRTIO_MAX_QUEUES; i++) {
		t->queues[i].dev = t;
		t->queues[i].index = (uint16_t)i;
	}
	int e = pthread_mutex_init(&t->lock, NULL);
	return e ? -e : 0;
}

/* Level-triggered: the line follows "InterruptStatus != 0". Called with the lock held so that
 * a raise and a lower from different threads reach irq in the order the status changed. */
static void isr_set_locked(struct hv_virtio_mmio *t, uint32_t bits)
{
	uint32_t old = t->interrupt_status;

	t->interrupt_status |= bits;
	if (!old && t->interrupt_status && t->irq)
		t->irq(t->irq_opaque, t->gsi, 1);
}

static void isr_clear_locked(struct hv_virtio_mmio *t, uint32_t bits)
{
	uint32_t old = t->interrupt_status;

	t->interrupt_status &= ~bits;
	if (old && !t->interrupt_status && t->irq)
		t->irq(t->irq_opaque, t->gsi, 0);
}

void hv_virtio_interrupt(struct hv_virtio_mmio *t, uint32_t isr_bits)
{
	pthread_mutex_lock(&t->lock);
	isr_set_locked(t, isr_bits);
	pthread_mutex_unlock(&t->lock);
}

void hv_virtio_config_changed(struct hv_virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_generation++;
	/* A driver still probing reads config afresh; an interrupt would only be spurious. */
	if (t->status & HV_VIRTIO_STATUS_DRIVER_OK)
		isr_set_locked(t, HV_VIRTIO_ISR_CONFIG);
	pthread_mutex_unlock(&t->lock);
}

void hv_virtio_needs_reset(struct hv_virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->status |= HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* §2.1.2: once DRIVER_OK is set, the driver learns of it by a config change. */
	if (t->status & HV_VIRTIO_STATUS_DRIVER_OK)
		isr_set_locked(t, HV_VIRTIO_ISR_CONFIG);
	pthread_mutex_unlock(&t->lock);
}

static void queue_clear(struct hv_virtqueue *vq)
{
	__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
	vq->size = 0;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->last_avail = vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	__atomic_store_n(&vq->broken, false, __ATOMIC_RELEASE);
}

/* Status 0 (§4.2.2.1). The queues stop first so the device's queue thread winds down, then
 * ops->reset (which must wait for that thread), then the transport state goes. */
static void device_reset(struct hv_virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < HV_VIRTIO_MAX_QUEUES; i++)
		__atomic_store_n(&t->queues[i].ready, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->lock);

	if (t->ops->reset)
		t->ops->reset(t->opaque);

	pthread_mutex_lock(&t->lock);
	t->status = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	__atomic_store_n(&t->driver_features, 0, __ATOMIC_RELAXED);
	t->queue_sel = 0;
	for (unsigned i = 0; i < HV_VIRTIO_MAX_QUEUES; i++)
		queue_clear(&t->queues[i]);
	isr_clear_locked(t, ~0u);
	pthread_mutex_unlock(&t->lock);
}

static struct hv_virtqueue *selected_queue(struct hv_virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

/* A guest can write bad setups in a loop: warn the first time per device, then debug. */
static void setup_reject(struct hv_virtio_mmio *t, const struct hv_virtqueue *vq, const char *why)
{
	if (!t->warned_setup) {
		t->warned_setup = true;
		hd_warn(TAG,
			"device %u queue %u: ready refused: %s (size %u desc %#llx avail %#llx "
			"used %#llx)",
			t->ops->device_id, vq->index, why, vq->size,
			(unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			(unsigned long long)vq->used_gpa);
	} else {
		hd_debug(TAG, "device %u queue %u: ready refused: %s", t->ops->device_id, vq->index,
			 why);
	}
}

/* Returns why the selected queue cannot go live, or NULL. */
static const char *queue_check(const struct hv_virtio_mmio *t, const struct hv_virtqueue *vq)
{
	if (!is_pow2(vq->size) || vq->size > t->ops->queue_max_size)
		return "size not a power of two up to QueueNumMax";
	/* §2.7 alignment of the three parts. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return "misaligned ring";
	if (!hv_mem_ptr(t->mem, vq->desc_gpa, HV_VIRTQ_DESC_BYTES(vq->size)) ||
	    !hv_mem_ptr(t->mem, vq->avail_gpa, HV_VIRTQ_AVAIL_BYTES(vq->size)) ||
	    !hv_mem_ptr(t->mem, vq->used_gpa, HV_VIRTQ_USED_BYTES(vq->size)))
		return "ring outside guest RAM";
	return NULL;
}

static void queue_ready_write(struct hv_virtio_mmio *t, struct hv_virtqueue *vq, uint32_t v)
{
	const char *why;

	if (!v) {
		__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
		return;
	}
	if (vq->ready)
		return;
	why = queue_check(t, vq);
	if (why) {
		setup_reject(t, vq, why);
		return;
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	/* Release: the device thread that sees ready also sees the sizes and addresses. */
	__atomic_store_n(&vq->ready, true, __ATOMIC_RELEASE);
}

static void set_half(uint64_t *reg, bool high, uint32_t v)
{
	if (high)
		*reg = (*reg & 0xffffffffull) | ((uint64_t)v << 32);
	else
		*reg = (*reg & ~0xffffffffull) | v;
}

/* §3.1.1: FEATURES_OK stays set only for a subset of what was offered that includes
 * VERSION_1 (we are modern only). The driver reads the status back to find out. */
static bool features_ok(const struct hv_virtio_mmio *t)
{
	uint64_t f = t->driver_features;

	return (f & HV_VIRTIO_F_VERSION_1) && !(f & ~t->device_features);
}

/* Returns true when DRIVER_OK has just been set. The driver only ever adds bits until it
 * resets (§3.1.1), so bits are sticky here: a write cannot take the device back out of
 * FEATURES_OK or DRIVER_OK, nor set or clear DEVICE_NEEDS_RESET, which is ours. */
static bool status_write_locked(struct hv_virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status;
	uint32_t nv = old | (v & 0xffu & ~HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	if ((nv & HV_VIRTIO_STATUS_FEATURES_OK) && !(old & HV_VIRTIO_STATUS_FEATURES_OK) &&
	    !features_ok(t)) {
		hd_debug(TAG, "device %u: driver features %#llx refused", t->ops->device_id,
			 (unsigned long long)t->driver_features);
		nv &= ~HV_VIRTIO_STATUS_FEATURES_OK;
	}
	if ((nv & HV_VIRTIO_STATUS_DRIVER_OK) && !(nv & HV_VIRTIO_STATUS_FEATURES_OK)) {
		hd_debug(TAG, "device %u: DRIVER_OK without FEATURES_OK ignored",
			 t->ops->device_id);
		nv &= ~HV_VIRTIO_STATUS_DRIVER_OK;
	}
	t->status = nv;
	return (nv & HV_VIRTIO_STATUS_DRIVER_OK) && !(old & HV_VIRTIO_STATUS_DRIVER_OK);
}

static uint32_t reg_read_locked(struct hv_virtio_mmio *t, uint32_t off)
{
	struct hv_virtqueue *vq = selected_queue(t);

	switch (off) {
	case REG_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return HV_VIRTIO_MMIO_VENDOR_ID;
	case REG_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(t->device_features >> (32 * t->device_features_sel));
	case REG_QUEUE_NUM_MAX:
		/* 0 tells the driver the selected queue does not exist. */
		return vq ? t->ops->queue_max_size : 0;
	case REG_QUEUE_READY:
		return vq ? vq->ready : 0;
	case REG_INTERRUPT_STATUS:
		return t->interrupt_status;
	case REG_STATUS:
		return t->status;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		/* §4.2.2: length -1 means "no such shared memory region"; we have none. */
		return 0xffffffffu;
	case REG_CONFIG_GENERATION:
		return t->config_generation;
	default:
		/* Write-only and reserved registers. */
		return 0;
	}
}

enum after_write {
	AFTER_NONE,
	AFTER_NOTIFY,
	AFTER_DRIVER_OK,
	AFTER_RESET,
};

/* Returns what to do once the lock is dropped: device callbacks never run under it. */
static enum after_write reg_write_locked(struct hv_virtio_mmio *t, uint32_t off, uint32_t v,
					 struct hv_virtqueue **notify)
{
	struct hv_virtqueue *vq = selected_queue(t);

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		return AFTER_NONE;
	case REG_DRIVER_FEATURES: {
		/* Features are fixed once accepted: the device relies on them from here. */
		if (t->status & HV_VIRTIO_STATUS_FEATURES_OK || t->driver_features_sel > 1)
			return AFTER_NONE;
		uint64_t f = t->driver_features;
		set_half(&f, t->driver_features_sel == 1, v);
		__atomic_store_n(&t->driver_features, f, __ATOMIC_RELAXED);
		return AFTER_NONE;
	}
	case REG_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		return AFTER_NONE;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		return AFTER_NONE;
	case REG_QUEUE_READY:
		if (vq)
			queue_ready_write(t, vq, v);
		return AFTER_NONE;
	case REG_QUEUE_NOTIFY:
		/* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
		if (v < t->ops->num_queues && t->queues[v].ready) {
			*notify = &t->queues[v];
			return AFTER_NOTIFY;
		}
		return AFTER_NONE;
	case REG_INTERRUPT_ACK:
		isr_clear_locked(t, v);
		return AFTER_NONE;
	case REG_STATUS:
		if (v == 0)
			return AFTER_RESET;
		return status_write_locked(t, v) ? AFTER_DRIVER_OK : AFTER_NONE;
	default:
		break;
	}

	/* The rest configure the selected queue, which must exist and not be live (§4.2.3.2
	 * sets them up before QueueReady). */
	if (!vq || vq->ready) {
		hd_debug(TAG, "device %u: write %#x to %#x ignored", t->ops->device_id, v, off);
		return AFTER_NONE;
	}
	switch (off) {
	case REG_QUEUE_NUM:
		/* Checked at QueueReady; anything past 16 bits is invalid, not truncated. */
		vq->size = v > 0xffff ? 0 : (uint16_t)v;
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_half(&vq->desc_gpa, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_half(&vq->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_half(&vq->used_gpa, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		/* Read-only, SHMSel, QueueReset (RING_RESET is not offered), reserved. */
		hd_debug(TAG, "device %u: write %#x to %#x ignored", t->ops->device_id, v, off);
		break;
	}
	return AFTER_NONE;
}

static void config_access(struct hv_virtio_mmio *t, uint64_t off, void *data, uint32_t len,
			  bool is_write)
{
	uint32_t size = t->ops->config_size;
	bool ok = (len == 1 || len == 2 || len == 4 || len == 8) && off < size && len <= size - off;

	if (!is_write)
		memset(data, 0, len);
	if (!ok) {
		hd_debug(TAG, "device %u: %u-byte config %s at %#llx ignored", t->ops->device_id,
			 len, is_write ? "write" : "read", (unsigned long long)off);
		return;
	}
	if (is_write) {
		if (t->ops->config_write)
			t->ops->config_write(t->opaque, (uint32_t)off, data, len);
	} else if (t->ops->config_read) {
		t->ops->config_read(t->opaque, (uint32_t)off, data, len);
	}
}

void hv_virtio_mmio_access(void *opaque, uint64_t offset, void *data, uint32_t len, bool is_write)
{
	struct hv_virtio_mmio *t = opaque;
	struct hv_virtqueue *notify = NULL;
	enum after_write after;
	uint32_t v;

	if (offset >= REG_CONFIG) {
		config_access(t, offset - REG_CONFIG, data, len, is_write);
		return;
	}
	/* §4.2.2: registers are 32-bit and aligned. Debug only: a guest must not be able to
	 * fill the log. */
	if (len != 4 || (offset & 3)) {
		hd_debug(TAG, "device %u: %u-byte register %s at %#llx ignored", t->ops->device_id,
			 len, is_write ? "write" : "read", (unsigned long long)offset);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		pthread_mutex_lock(&t->lock);
		v = htole32(reg_read_locked(t, (uint32_t)offset));
		pthread_mutex_unlock(&t->lock);
		memcpy(data, &v, sizeof(v));
		return;
	}

	memcpy(&v, data, sizeof(v));
	pthread_mutex_lock(&t->lock);
	after = reg_write_locked(t, (uint32_t)offset, le32toh(v), &notify);
	pthread_mutex_unlock(&t->lock);
	switch (after) {
	case AFTER_NOTIFY:
		if (t->ops->queue_notify)
			t->ops->queue_notify(t->opaque, notify);
		break;
	case AFTER_DRIVER_OK:
		if (t->ops->driver_ok)
			t->ops->driver_ok(t->opaque);
		break;
	case AFTER_RESET:
		device_reset(t);
		break;
	case AFTER_NONE:
		break;
	}
}

/* ---- snapshot: transport registers and split-queue positions (section "virtio.N") ----
 * The rings themselves are guest memory and travel with it. */

void hv_virtio_mmio_save(void *opaque, struct hd_buf *out)
{
	struct hv_virtio_mmio *t = opaque;
	pthread_mutex_lock(&t->lock);
	hv_snap_put_u32(out, t->ops->device_id);
	hv_snap_put_u64(out, t->device_features);
	hv_snap_put_u32(out, t->status);
	hv_snap_put_u32(out, t->device_features_sel);
	hv_snap_put_u32(out, t->driver_features_sel);
	hv_snap_put_u64(out, t->driver_features);
	hv_snap_put_u32(out, t->queue_sel);
	hv_snap_put_u32(out, t->interrupt_status);
	hv_snap_put_u32(out, t->config_generation);
	hv_snap_put_u32(out, t->ops->num_queues);
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const struct hv_virtqueue *q = &t->queues[i];
		hv_snap_put_u32(out, q->size);
		hv_snap_put_u8(out, q->ready);
		hv_snap_put_u64(out, q->desc_gpa);
		hv_snap_put_u64(out, q->avail_gpa);
		hv_snap_put_u64(out, q->used_gpa);
		hv_snap_put_u32(out, q->last_avail);
		hv_snap_put_u32(out, q->used_idx);
		hv_snap_put_u8(out, q->broken);
		hv_snap_put_u32(out, q->signalled_used);
		hv_snap_put_u8(out, q->signalled_used_valid);
	}
	pthread_mutex_unlock(&t->lock);
}

int hv_virtio_mmio_load(void *opaque, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct hv_virtio_mmio *t = opaque;
	uint32_t id = hv_snap_get_u32(in);
	uint64_t features = hv_snap_get_u64(in);
	if (id != t->ops->device_id || features != t->device_features) {
		snprintf(err, errlen,
			 "virtio device in slot %u differs from the snapshot's (id %u, features "
			 "0x%llx)",
			 t->gsi - HV_MMIO_IRQ_BASE, id, (unsigned long long)features);
		return -EINVAL;
	}
	struct hv_virtio_mmio s = *t; /* registers only: the lock is not touched */
	s.status = hv_snap_get_u32(in);
	s.device_features_sel = hv_snap_get_u32(in);
	s.driver_features_sel = hv_snap_get_u32(in);
	s.driver_features = hv_snap_get_u64(in);
	s.queue_sel = hv_snap_get_u32(in);
	s.interrupt_status = hv_snap_get_u32(in);
	s.config_generation = hv_snap_get_u32(in);
	uint32_t nq = hv_snap_get_u32(in);
	if (nq != t->ops->num_queues) {
		snprintf(err, errlen, "virtio slot %u: %u queues in the snapshot, %u here",
			 t->gsi - HV_MMIO_IRQ_BASE, nq, t->ops->num_queues);
		return -EINVAL;
	}
	for (unsigned i = 0; i < nq; i++) {
		struct hv_virtqueue *q = &s.queues[i];
		uint32_t size = hv_snap_get_u32(in);
		q->ready = hv_snap_get_u8(in) != 0;
		q->desc_gpa = hv_snap_get_u64(in);
		q->avail_gpa = hv_snap_get_u64(in);
		q->used_gpa = hv_snap_get_u64(in);
		q->last_avail = (uint16_t)hv_snap_get_u32(in);
		q->used_idx = (uint16_t)hv_snap_get_u32(in);
		q->broken = hv_snap_get_u8(in) != 0;
		q->signalled_used = (uint16_t)hv_snap_get_u32(in);
		q->signalled_used_valid = hv_snap_get_u8(in) != 0;
		/* The same checks a driver's QueueReady write gets: a bad ring is refused here
		 * rather than found by the device later. */
		bool pow2 = size && !(size & (size - 1));
		if (size > t->ops->queue_max_size || (size && !pow2) ||
		    (q->ready && (!size ||
				  !hv_mem_ptr(t->mem, q->desc_gpa, HV_VIRTQ_DESC_BYTES(size)) ||
				  !hv_mem_ptr(t->mem, q->avail_gpa, HV_VIRTQ_AVAIL_BYTES(size)) ||
				  !hv_mem_ptr(t->mem, q->used_gpa, HV_VIRTQ_USED_BYTES(size))))) {
			snprintf(err, errlen, "virtio slot %u: queue %u is not valid",
				 t->gsi - HV_MMIO_IRQ_BASE, i);
			return -EINVAL;
		}
		q->size = (uint16_t)size;
	}
	if (!hv_snap_in_done(in)) {
		snprintf(err, errlen, "virtio slot %u: section has the wrong size",
			 t->gsi - HV_MMIO_IRQ_BASE);
		return -EINVAL;
	}
	pthread_mutex_lock(&t->lock);
	t->status = s.status;
	t->device_features_sel = s.device_features_sel;
	t->driver_features_sel = s.driver_features_sel;
	t->driver_features = s.driver_features;
	t->queue_sel = s.queue_sel;
	t->interrupt_status = s.interrupt_status;
	t->config_generation = s.config_generation;
	memcpy(t->queues, s.queues, sizeof(t->queues));
	pthread_mutex_unlock(&t->lock);
	/* Tell the device its driver is live again, as the DRIVER_OK write once did. */
	if ((t->status & HV_VIRTIO_STATUS_DRIVER_OK) && t->ops->driver_ok)
		t->ops->driver_ok(t->opaque);
	return 0;
}
