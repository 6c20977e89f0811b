/* fuzz-virtqueue.c: libFuzzer target for the split virtqueue parser: the input becomes a
 * queue's descriptor table, avail ring and an indirect table area in guest RAM, then is
 * popped and pushed until empty or broken. Not a fuzzer of the register interface. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv.h"

/*
 * Input layout (short inputs are zero-padded):
 *   [0]     queue size = 1 << (byte % 11)
 *   [1]     bit 0: negotiate EVENT_IDX; bit 1: negotiate INDIRECT; bit 2: start the device's
 *           indices at [2..3] instead of 0 (exercises the 16-bit wrap)
 *   [2..3]  start index, little-endian
 *   then    descriptor table (16 * size bytes) at DESC_GPA, avail ring (6 + 2 * size) at
 *           AVAIL_GPA, and whatever is left at TABLE_GPA, where indirect tables can point.
 */
#define MEM_SIZE  (1u << 20)
#define DESC_GPA  0x1000u
#define AVAIL_GPA 0x5000u
#define USED_GPA  0x6000u
#define TABLE_GPA 0x10000u
#define HDR	  4

#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DEVICE_LOW	0x0a0

static struct hv_mem mem;
static struct hv_virtio_mmio dev;
static struct hv_vq_elem elem;
static uint8_t scratch[4096];
static int irq_level;

static const struct hv_virtio_dev_ops ops = {
    .device_id = 2,
    .features = HV_VIRTIO_F_INDIRECT | HV_VIRTIO_F_EVENT_IDX,
    .num_queues = 1,
    .queue_max_size = HV_VIRTQ_MAX_SIZE,
};

static void irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	irq_level = level;
}

static void wr(uint64_t off, uint32_t v)
{
	hv_virtio_mmio_access(&dev, off, &v, 4, true);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	hv_virtio_mmio_access(&dev, off, &v, 4, false);
	return v;
}

/* What hv_vq_pop promises about a popped element; a violation is a bug, so crash. */
static void check_elem(const struct hv_vq_elem *e, uint16_t size)
{
	uint64_t out = 0, in = 0;

	if (e->head >= size || e->nr_out + e->nr_in > HV_VIRTQ_MAX_CHAIN)
		__builtin_trap();
	for (unsigned i = 0; i < e->nr_out + e->nr_in; i++) {
		const struct hv_vq_seg *s = &e->segs[i];
		if (!s->len || s->host != hv_mem_ptr(&mem, s->gpa, s->len))
			__builtin_trap();
		*(i < e->nr_out ? &out : &in) += s->len;
	}
	if (out != e->out_bytes || in != e->in_bytes)
		__builtin_trap();
}

static void once(void)
{
	if (mem.base)
		return;
	hd_log_set_level(HD_LOG_ERROR);
	if (hv_mem_init(&mem, MEM_SIZE) < 0 ||
	    hv_virtio_mmio_init(&dev, &ops, NULL, &mem, irq, NULL, 5) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[HDR] = {0};
	struct hv_virtqueue *vq = &dev.queues[0];
	uint16_t qsize;
	uint32_t features_lo = 0;
	size_t n;

	once();
	memcpy(hdr, data, size < HDR ? size : HDR);
	data += size < HDR ? size : HDR;
	size -= size < HDR ? size : HDR;
	qsize = (uint16_t)(1u << (hdr[0] % 11));

	/* Every run starts from the same guest: inputs must reproduce on their own. */
	memset(mem.base, 0, MEM_SIZE);
	wr(REG_STATUS, 0);
	if (irq_level)
		__builtin_trap(); /* reset must lower the line */
	if (hdr[1] & 1)
		features_lo |= (uint32_t)HV_VIRTIO_F_EVENT_IDX;
	if (hdr[1] & 2)
		features_lo |= (uint32_t)HV_VIRTIO_F_INDIRECT;
	wr(REG_STATUS, 3);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, features_lo);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(REG_STATUS, 3 | 8);
	wr(REG_QUEUE_SEL, 0);
	wr(REG_QUEUE_NUM, qsize);
	wr(REG_QUEUE_DESC_LOW, DESC_GPA);
	wr(REG_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(REG_QUEUE_DEVICE_LOW, USED_GPA);
	wr(REG_QUEUE_READY, 1);
	wr(REG_STATUS, 3 | 8 | 4);
	if (rd(REG_STATUS) != (3 | 8 | 4) || !vq->ready)
		__builtin_trap();
	if (hdr[1] & 4) {
		uint16_t start = (uint16_t)(hdr[2] | hdr[3] << 8);
		vq->last_avail = vq->used_idx = start;
		hv_mem_write(&mem, USED_GPA + 2, &start, 2);
	}

	n = size < HV_VIRTQ_DESC_BYTES(qsize) ? size : HV_VIRTQ_DESC_BYTES(qsize);
	memcpy(mem.base + DESC_GPA, data, n);
	data += n;
	size -= n;
	n = size < HV_VIRTQ_AVAIL_BYTES(qsize) ? size : HV_VIRTQ_AVAIL_BYTES(qsize);
	memcpy(mem.base + AVAIL_GPA, data, n);
	data += n;
	size -= n;
	n = size < MEM_SIZE - TABLE_GPA ? size : MEM_SIZE - TABLE_GPA;
	memcpy(mem.base + TABLE_GPA, data, n);

	/* At most size chains can be pending; one more pop must see empty or fail. */
	for (unsigned i = 0; i <= qsize; i++) {
		int r = hv_vq_pop(vq, &elem);
		if (r < 0) {
			if (!vq->broken ||
			    !(rd(REG_STATUS) & HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET) ||
			    hv_vq_pop(vq, &elem) != -EIO)
				__builtin_trap();
			break;
		}
		if (r == 0)
			break;
		check_elem(&elem, qsize);
		size_t got = hv_vq_elem_read(&elem, i, scratch, sizeof(scratch));
		if (got > elem.out_bytes)
			__builtin_trap();
		size_t put = hv_vq_elem_write(&elem, i, scratch, got);
		if (put > elem.in_bytes)
			__builtin_trap();
		if (hv_vq_push(vq, &elem, (uint32_t)put + 1) != 0)
			__builtin_trap();
		hv_vq_notify(vq);
		wr(REG_INTERRUPT_ACK, 1);
	}
	return 0;
}
