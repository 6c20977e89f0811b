/* test-virtqueue.c: cmocka tests of split virtqueue parsing, used ring updates and
 * notification suppression, with rings written by hand into a real guest memory. Not the
 * register interface (test-virtio-mmio.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hd-common.h"
#include "hv-internal.h" /* the dirty bitmap */
#include "hv.h"

#define MEM_SIZE  (16ull << 20)
#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x20000ull
#define USED_GPA  0x30000ull
#define TABLE_GPA 0x40000ull /* indirect tables */
#define BUF_GPA	  0x100000ull
#define QMAX	  1024

/* Spec values, written out here rather than taken from the code under test. */
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DESC_HIGH	0x084
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DRIVER_HIGH	0x094
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_QUEUE_DEVICE_HIGH	0x0a4
#define F_NEXT			1
#define F_WRITE			2
#define F_INDIRECT		4
#define ST_NEEDS_RESET		0x40
#define ST_DRIVER_OK		0x04

struct fx {
	struct hv_mem mem;
	struct hv_virtio_mmio t;
	struct hv_virtio_dev_ops ops;
	int irq_calls;
	int irq_level;
	uint16_t qsize;
	uint16_t avail_idx; /* the guest driver's copy */
	struct hv_vq_elem elem;
};

static void irq_cb(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;

	assert_int_equal(gsi, 7);
	f->irq_calls++;
	f->irq_level = level;
}

static void mmio_w(struct fx *f, uint64_t off, uint32_t v)
{
	hv_virtio_mmio_access(&f->t, off, &v, 4, true);
}

static uint32_t mmio_r(struct fx *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	hv_virtio_mmio_access(&f->t, off, &v, 4, false);
	return v;
}

static void w16(struct fx *f, uint64_t gpa, uint16_t v)
{
	assert_int_equal(hv_mem_write(&f->mem, gpa, &v, 2), 0);
}

static uint16_t r16(struct fx *f, uint64_t gpa)
{
	uint16_t v;

	assert_int_equal(hv_mem_read(&f->mem, gpa, &v, 2), 0);
	return v;
}

static uint32_t r32(struct fx *f, uint64_t gpa)
{
	uint32_t v;

	assert_int_equal(hv_mem_read(&f->mem, gpa, &v, 4), 0);
	return v;
}

/* virtio 1.2 §2.7.5 layout: addr, len, flags, next. */
static void set_desc(struct fx *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(hv_mem_write(&f->mem, table + 16ull * i, d, 16), 0);
}

static void avail_add(struct fx *f, uint16_t head)
{
	w16(f, AVAIL_GPA + 4 + 2u * (f->avail_idx % f->qsize), head);
	f->avail_idx++;
	w16(f, AVAIL_GPA + 2, f->avail_idx);
}

static struct hv_virtqueue *vq0(struct fx *f)
{
	return &f->t.queues[0];
}

/* Drives the transport as a Linux guest would: features, one queue, DRIVER_OK. */
static void bring_up(struct fx *f, uint16_t qsize, uint64_t features)
{
	mmio_w(f, REG_STATUS, 0);
	mmio_w(f, REG_STATUS, 1 | 2);
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 0);
	mmio_w(f, REG_DRIVER_FEATURES, (uint32_t)features);
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 1);
	mmio_w(f, REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
	mmio_w(f, REG_STATUS, 1 | 2 | 8);
	assert_int_equal(mmio_r(f, REG_STATUS), 1 | 2 | 8);
	mmio_w(f, REG_QUEUE_SEL, 0);
	mmio_w(f, REG_QUEUE_NUM, qsize);
	mmio_w(f, REG_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	mmio_w(f, REG_QUEUE_DESC_HIGH, 0);
	mmio_w(f, REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	mmio_w(f, REG_QUEUE_DRIVER_HIGH, 0);
	mmio_w(f, REG_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	mmio_w(f, REG_QUEUE_DEVICE_HIGH, 0);
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 1);
	mmio_w(f, REG_STATUS, 1 | 2 | 8 | 4);
	f->qsize = qsize;
	f->avail_idx = 0;
	f->irq_calls = 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(hv_mem_init(&f->mem, MEM_SIZE), 0);
	f->ops = (struct hv_virtio_dev_ops){
	    .device_id = 2,
	    .features = HV_VIRTIO_F_INDIRECT | HV_VIRTIO_F_EVENT_IDX,
	    .num_queues = 1,
	    .queue_max_size = QMAX,
	};
	assert_int_equal(hv_virtio_mmio_init(&f->t, &f->ops, f, &f->mem, irq_cb, f, 7), 0);
	bring_up(f, 16, HV_VIRTIO_F_VERSION_1 | HV_VIRTIO_F_INDIRECT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hv_mem_fini(&f->mem);
	free(f);
	return 0;
}

/* While a migration traces writes, returning a chain marks the used ring and the chain's
 * writable buffers dirty (devices write them through host pointers), not its readable ones. */
static void test_push_marks_dirty(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;
	struct hv_dirty *d = hv_dirty_new(MEM_SIZE / 4096);
	uint64_t *out = calloc(hv_dirty_words(d), sizeof(*out));

	f->mem.dirty = d;
	hv_dirty_set_active(d, true);
	set_desc(f, DESC_GPA, 0, BUF_GPA, 100, F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 0x5000, 0x2000, F_WRITE, 0); /* two pages */
	avail_add(f, 0);
	hv_dirty_take(d, out); /* what the test itself wrote */
	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(hv_dirty_take(d, out), 0); /* reading marks nothing */
	assert_int_equal(hv_vq_push(vq0(f), e, 10), 0);
	assert_int_equal(hv_dirty_take(d, out), 3);
#define BIT(gpa) ((out[((gpa) >> 12) / 64] >> (((gpa) >> 12) % 64)) & 1)
	assert_true(BIT(USED_GPA));
	assert_true(BIT(BUF_GPA + 0x5000));
	assert_true(BIT(BUF_GPA + 0x6000));
	assert_false(BIT(BUF_GPA));
#undef BIT
	f->mem.dirty = NULL;
	hv_dirty_free(d);
	free(out);
}

/* A malformed chain must leave the queue broken, the device asking for a reset and the
 * config interrupt raised; later pops refuse. */
static void assert_broken(struct fx *f, int ret, int expect)
{
	assert_int_equal(ret, expect);
	assert_true(vq0(f)->broken);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_NEEDS_RESET, ST_NEEDS_RESET);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 2);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), -EIO);
	/* Nothing was consumed. */
	assert_int_equal(vq0(f)->last_avail, 0);
}

static void test_good_chain(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;

	set_desc(f, DESC_GPA, 5, BUF_GPA, 100, F_NEXT, 9);
	set_desc(f, DESC_GPA, 9, BUF_GPA + 0x1000, 50, F_NEXT, 2);
	set_desc(f, DESC_GPA, 2, BUF_GPA + 0x2000, 200, F_WRITE | F_NEXT, 3);
	set_desc(f, DESC_GPA, 3, BUF_GPA + 0x3000, 8, F_WRITE, 0);
	avail_add(f, 5);

	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(e->head, 5);
	assert_int_equal(e->nr_out, 2);
	assert_int_equal(e->nr_in, 2);
	assert_int_equal(e->out_bytes, 150);
	assert_int_equal(e->in_bytes, 208);
	assert_int_equal(e->segs[0].gpa, BUF_GPA);
	assert_int_equal(e->segs[0].len, 100);
	assert_ptr_equal(e->segs[0].host, hv_mem_ptr(&f->mem, BUF_GPA, 100));
	assert_int_equal(e->segs[1].gpa, BUF_GPA + 0x1000);
	assert_int_equal(e->segs[2].gpa, BUF_GPA + 0x2000);
	assert_int_equal(e->segs[2].len, 200);
	assert_int_equal(e->segs[3].len, 8);
	assert_ptr_equal(e->segs[3].host, hv_mem_ptr(&f->mem, BUF_GPA + 0x3000, 8));
	assert_int_equal(vq0(f)->last_avail, 1);
	assert_false(vq0(f)->broken);
	/* Drained. */
	assert_int_equal(hv_vq_pop(vq0(f), e), 0);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_NEEDS_RESET, 0);
}

static void test_empty_ring(void **state)
{
	struct fx *f = *state;

	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 0);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 0);
	assert_false(vq0(f)->broken);
	assert_int_equal(vq0(f)->last_avail, 0);
	assert_int_equal(f->irq_calls, 0);
}

static void test_not_ready(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	avail_add(f, 0);
	mmio_w(f, REG_QUEUE_READY, 0);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 0);
	assert_int_equal(hv_vq_push(vq0(f), &f->elem, 0), -EIO);
}

static void test_zero_length_skipped(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;

	/* A zero-length buffer is not recorded and its address is never used. */
	set_desc(f, DESC_GPA, 0, BUF_GPA, 4, F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, ~0ull, 0, F_NEXT, 2);
	set_desc(f, DESC_GPA, 2, BUF_GPA + 16, 4, F_WRITE, 0);
	avail_add(f, 0);
	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(e->nr_out, 1);
	assert_int_equal(e->nr_in, 1);
	assert_int_equal(e->segs[1].gpa, BUF_GPA + 16);
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 4, F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA, 4, F_NEXT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_self_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 3, BUF_GPA, 4, F_NEXT | F_WRITE, 3);
	avail_add(f, 3);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_zero_length_loop(void **state)
{
	struct fx *f = *state;

	/* Empty buffers record no segments, so only the descriptor budget ends this. */
	set_desc(f, DESC_GPA, 0, 0, 0, F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, 0, 0, F_NEXT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_zero_length_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, 3 * 16, F_INDIRECT, 0);
	set_desc(f, TABLE_GPA, 0, 0, 0, F_NEXT, 1);
	set_desc(f, TABLE_GPA, 1, 0, 0, F_NEXT, 2);
	set_desc(f, TABLE_GPA, 2, 0, 0, F_NEXT, 1);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_full_length_chain(void **state)
{
	struct fx *f = *state;

	/* Exactly size descriptors is the longest legal chain. */
	for (unsigned i = 0; i < 16; i++)
		set_desc(f, DESC_GPA, i, BUF_GPA + i, 1, i < 15 ? F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(f, 0);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(f->elem.nr_out, 16);
	assert_int_equal(f->elem.out_bytes, 16);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 4, F_NEXT, 16);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;

	avail_add(f, 16);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_buf_outside_ram(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, MEM_SIZE, 4, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EFAULT);
}

static void test_buf_straddles_end(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, MEM_SIZE - 8, 16, F_WRITE, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EFAULT);
}

static void test_buf_wraps(void **state)
{
	struct fx *f = *state;

	/* addr + len wraps 2^64 to a small, in-RAM address. */
	set_desc(f, DESC_GPA, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EFAULT);
}

static void test_out_after_in(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 4, F_NEXT | F_WRITE, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 4, 4, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_out_after_zero_length_in(void **state)
{
	struct fx *f = *state;

	/* Skipping the empty buffer must not hide the ordering violation. */
	set_desc(f, DESC_GPA, 0, BUF_GPA, 0, F_NEXT | F_WRITE, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 4, 4, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_avail_idx_jump(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	w16(f, AVAIL_GPA + 2, 17); /* 17 entries pending on a 16-entry ring */
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_avail_idx_full_ring(void **state)
{
	struct fx *f = *state;

	/* Exactly size pending is a full ring, not an error. */
	for (unsigned i = 0; i < 16; i++) {
		set_desc(f, DESC_GPA, i, BUF_GPA + 8 * i, 8, 0, 0);
		avail_add(f, (uint16_t)i);
	}
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
		assert_int_equal(f->elem.head, i);
	}
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 0);
}

static void test_indirect_good(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;

	/* A direct descriptor, then a table (its WRITE flag must be ignored, §2.7.5.3.2). */
	set_desc(f, DESC_GPA, 4, BUF_GPA, 10, F_NEXT, 6);
	set_desc(f, DESC_GPA, 6, TABLE_GPA, 3 * 16, F_INDIRECT | F_WRITE, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA + 0x100, 20, F_NEXT, 2);
	set_desc(f, TABLE_GPA, 2, BUF_GPA + 0x200, 30, F_NEXT | F_WRITE, 1);
	set_desc(f, TABLE_GPA, 1, BUF_GPA + 0x300, 40, F_WRITE, 0);
	avail_add(f, 4);

	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(e->head, 4);
	assert_int_equal(e->nr_out, 2);
	assert_int_equal(e->nr_in, 2);
	assert_int_equal(e->out_bytes, 30);
	assert_int_equal(e->in_bytes, 70);
	assert_int_equal(e->segs[1].gpa, BUF_GPA + 0x100);
	assert_int_equal(e->segs[2].gpa, BUF_GPA + 0x200);
	assert_int_equal(e->segs[3].gpa, BUF_GPA + 0x300);
	assert_false(vq0(f)->broken);
}

static void test_indirect_max_table(void **state)
{
	struct fx *f = *state;

	/* An indirect table may hold more entries than the queue has. */
	for (unsigned i = 0; i < HV_VIRTQ_MAX_CHAIN; i++)
		set_desc(f, TABLE_GPA, i, BUF_GPA + i, 1, i + 1 < HV_VIRTQ_MAX_CHAIN ? F_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(f, DESC_GPA, 0, TABLE_GPA, HV_VIRTQ_MAX_CHAIN * 16, F_INDIRECT, 0);
	avail_add(f, 0);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(f->elem.nr_out, HV_VIRTQ_MAX_CHAIN);
	assert_int_equal(f->elem.out_bytes, HV_VIRTQ_MAX_CHAIN);
}

static void test_indirect_too_many_segments(void **state)
{
	struct fx *f = *state;

	/* Two direct segments plus a full table exceed what an element can hold. */
	for (unsigned i = 0; i < HV_VIRTQ_MAX_CHAIN; i++)
		set_desc(f, TABLE_GPA, i, BUF_GPA + i, 1, i + 1 < HV_VIRTQ_MAX_CHAIN ? F_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(f, DESC_GPA, 0, BUF_GPA, 1, F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA, 1, F_NEXT, 2);
	set_desc(f, DESC_GPA, 2, TABLE_GPA, HV_VIRTQ_MAX_CHAIN * 16, F_INDIRECT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_table_too_long(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, (HV_VIRTQ_MAX_CHAIN + 1) * 16, F_INDIRECT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_nested(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, 2 * 16, F_INDIRECT, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA, 4, F_NEXT, 1);
	set_desc(f, TABLE_GPA, 1, TABLE_GPA + 0x1000, 16, F_INDIRECT, 0);
	set_desc(f, TABLE_GPA + 0x1000, 0, BUF_GPA, 4, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_bad_length(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, 24, F_INDIRECT, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_zero_length(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, 0, F_INDIRECT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_outside_ram(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, MEM_SIZE - 16, 32, F_INDIRECT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EFAULT);
}

static void test_indirect_with_next(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, 16, F_INDIRECT | F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA, 4, 0, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, TABLE_GPA, 2 * 16, F_INDIRECT, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA, 4, F_NEXT, 1);
	set_desc(f, TABLE_GPA, 1, BUF_GPA, 4, F_NEXT, 0);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_indirect_next_out_of_range(void **state)
{
	struct fx *f = *state;

	/* next is checked against the table, not the queue size. */
	set_desc(f, DESC_GPA, 0, TABLE_GPA, 2 * 16, F_INDIRECT, 0);
	set_desc(f, TABLE_GPA, 0, BUF_GPA, 4, F_NEXT, 2);
	avail_add(f, 0);
	assert_broken(f, hv_vq_pop(vq0(f), &f->elem), -EINVAL);
}

static void test_push_used_ring(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;

	set_desc(f, DESC_GPA, 7, BUF_GPA, 4, F_NEXT, 8);
	set_desc(f, DESC_GPA, 8, BUF_GPA + 4, 64, F_WRITE, 0);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 0x100, 32, F_WRITE, 0);
	avail_add(f, 7);
	avail_add(f, 1);

	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(hv_vq_push(vq0(f), e, 40), 0);
	assert_int_equal(r16(f, USED_GPA + 2), 1);
	assert_int_equal(r32(f, USED_GPA + 4), 7);
	assert_int_equal(r32(f, USED_GPA + 8), 40);

	/* The device cannot claim more than the chain's writable bytes. */
	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(hv_vq_push(vq0(f), e, 1000), 0);
	assert_int_equal(r16(f, USED_GPA + 2), 2);
	assert_int_equal(r32(f, USED_GPA + 12), 1);
	assert_int_equal(r32(f, USED_GPA + 16), 32);

	/* A head that does not fit the queue is refused, the ring untouched. */
	e->head = 16;
	assert_int_equal(hv_vq_push(vq0(f), e, 0), -EINVAL);
	assert_int_equal(r16(f, USED_GPA + 2), 2);
}

static void test_idx_wraparound(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;

	/* As if 65535 chains had gone through already. */
	vq0(f)->last_avail = 65535;
	vq0(f)->used_idx = 65535;
	f->avail_idx = 65535;
	w16(f, USED_GPA + 2, 65535);
	set_desc(f, DESC_GPA, 3, BUF_GPA, 8, F_WRITE, 0);
	set_desc(f, DESC_GPA, 4, BUF_GPA + 8, 8, F_WRITE, 0);
	avail_add(f, 3); /* slot 65535 % 16 = 15, avail idx becomes 0 */
	avail_add(f, 4); /* slot 0, avail idx 1 */
	assert_int_equal(r16(f, AVAIL_GPA + 2), 1);

	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(e->head, 3);
	assert_int_equal(vq0(f)->last_avail, 0);
	assert_int_equal(hv_vq_push(vq0(f), e, 5), 0);
	assert_int_equal(r16(f, USED_GPA + 2), 0);
	assert_int_equal(r32(f, USED_GPA + 4 + 8 * 15), 3);
	assert_int_equal(r32(f, USED_GPA + 4 + 8 * 15 + 4), 5);

	assert_int_equal(hv_vq_pop(vq0(f), e), 1);
	assert_int_equal(e->head, 4);
	assert_int_equal(hv_vq_push(vq0(f), e, 6), 0);
	assert_int_equal(r16(f, USED_GPA + 2), 1);
	assert_int_equal(r32(f, USED_GPA + 4), 4);
	assert_int_equal(hv_vq_pop(vq0(f), e), 0);
	assert_false(vq0(f)->broken);
}

static void test_notify_and_no_interrupt(void **state)
{
	struct fx *f = *state;

	set_desc(f, DESC_GPA, 0, BUF_GPA, 8, F_WRITE, 0);
	avail_add(f, 0);
	avail_add(f, 0);

	/* VRING_AVAIL_F_NO_INTERRUPT: nothing raised. */
	w16(f, AVAIL_GPA, 1);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(hv_vq_push(vq0(f), &f->elem, 8), 0);
	hv_vq_notify(vq0(f));
	assert_int_equal(f->irq_calls, 0);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 0);

	w16(f, AVAIL_GPA, 0);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(hv_vq_push(vq0(f), &f->elem, 8), 0);
	hv_vq_notify(vq0(f));
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 1);
	mmio_w(f, REG_INTERRUPT_ACK, 1);
	assert_int_equal(f->irq_calls, 2);
	assert_int_equal(f->irq_level, 0);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;

	bring_up(f, 16, HV_VIRTIO_F_VERSION_1 | HV_VIRTIO_F_EVENT_IDX);
	/* An empty pop still tells the driver where to kick, whatever the field held. */
	w16(f, USED_GPA + 4 + 8 * 16, 0x1234);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 0);
	assert_int_equal(r16(f, USED_GPA + 4 + 8 * 16), 0);
	for (unsigned i = 0; i < 4; i++) {
		set_desc(f, DESC_GPA, i, BUF_GPA, 8, F_WRITE, 0);
		avail_add(f, (uint16_t)i);
	}
	/* NO_INTERRUPT is meaningless with EVENT_IDX (§2.7.10). */
	w16(f, AVAIL_GPA, 1);
	w16(f, AVAIL_GPA + 4 + 2 * 16, 0); /* used_event */

	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	/* The device publishes how far it has read (avail_event). */
	assert_int_equal(r16(f, USED_GPA + 4 + 8 * 16), 1);
	assert_int_equal(hv_vq_push(vq0(f), &f->elem, 0), 0); /* used idx 1 */
	hv_vq_notify(vq0(f));
	assert_int_equal(f->irq_calls, 1);
	mmio_w(f, REG_INTERRUPT_ACK, 1);
	f->irq_calls = 0;

	/* used_event 0 was passed by the previous interrupt already: stay quiet. */
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(hv_vq_push(vq0(f), &f->elem, 0), 0); /* used idx 2 */
	hv_vq_notify(vq0(f));
	assert_int_equal(f->irq_calls, 0);

	/* The driver wants to hear once entry 2 is used, i.e. used idx goes past 2. */
	w16(f, AVAIL_GPA + 4 + 2 * 16, 2);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(hv_vq_push(vq0(f), &f->elem, 0), 0); /* used idx 3 */
	hv_vq_notify(vq0(f));
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 1);

	/* Drained: avail_event asks for a kick at the next buffer. */
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 1);
	assert_int_equal(hv_vq_pop(vq0(f), &f->elem), 0);
	assert_int_equal(r16(f, USED_GPA + 4 + 8 * 16), 4);
}

static void test_elem_copy(void **state)
{
	struct fx *f = *state;
	struct hv_vq_elem *e = &f->elem;
	uint8_t pattern[15], buf[32];

	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0xa0 + i);
	/* out segments of 3, 5 and 7 bytes holding pattern[] in order, scattered in RAM. */
	assert_int_equal(hv_mem_write(&f->mem, BUF_GPA + 0x000, pattern, 3), 0);
	assert_int_equal(hv_mem_write(&f->mem, BUF_GPA + 0x100, pattern + 3, 5), 0);
	assert_int_equal(hv_mem_write(&f->mem, BUF_GPA + 0x200, pattern + 8, 7), 0);
	set_desc(f, DESC_GPA, 0, BUF_GPA + 0x000, 3, F_NEXT, 1);
	set_desc(f, DESC_GPA, 1, BUF_GPA + 0x100, 5, F_NEXT, 2);
	set_desc(f, DESC_GPA, 2, BUF_GPA + 0x200, 7, F_NEXT, 3);
	/* in segments of 4 and 4 bytes. */
	set_desc(f, DESC_GPA, 3, BUF_GPA + 0x300, 4, F_NEXT | F_WRITE, 4);
	set_desc(f, DESC_GPA, 4, BUF_GPA + 0x400, 4, F_WRITE, 0);
	avail_add(f, 0);
	assert_int_equal(hv_vq_pop(vq0(f), e), 1);

	memset(buf, 0, sizeof(buf));
	assert_int_equal(hv_vq_elem_read(e, 2, buf, 10), 10);
	assert_memory_equal(buf, pattern + 2, 10);
	/* Bounded by the segments: 15 - 12 = 3 bytes left. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(hv_vq_elem_read(e, 12, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, pattern + 12, 3);
	assert_int_equal(buf[3], 0);
	assert_int_equal(hv_vq_elem_read(e, 15, buf, 4), 0);
	assert_int_equal(hv_vq_elem_read(e, SIZE_MAX, buf, 4), 0);

	/* Writes go to the in segments only, across their boundary. */
	static const uint8_t w[] = {1, 2, 3, 4, 5, 6};
	uint8_t got[8];
	assert_int_equal(hv_vq_elem_write(e, 3, w, sizeof(w)), 5);
	assert_int_equal(hv_mem_read(&f->mem, BUF_GPA + 0x300, got, 4), 0);
	assert_int_equal(hv_mem_read(&f->mem, BUF_GPA + 0x400, got + 4, 4), 0);
	static const uint8_t expect[] = {0, 0, 0, 1, 2, 3, 4, 5};
	assert_memory_equal(got, expect, 8);
	/* The out segments were not touched. */
	assert_int_equal(hv_vq_elem_read(e, 0, buf, 15), 15);
	assert_memory_equal(buf, pattern, 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_push_marks_dirty),
		T(test_good_chain),
	    T(test_empty_ring),
	    T(test_not_ready),
	    T(test_zero_length_skipped),
	    T(test_loop),
	    T(test_self_loop),
	    T(test_zero_length_loop),
	    T(test_full_length_chain),
	    T(test_next_out_of_range),
	    T(test_head_out_of_range),
	    T(test_buf_outside_ram),
	    T(test_buf_straddles_end),
	    T(test_buf_wraps),
	    T(test_out_after_in),
	    T(test_out_after_zero_length_in),
	    T(test_avail_idx_jump),
	    T(test_avail_idx_full_ring),
	    T(test_indirect_good),
	    T(test_indirect_max_table),
	    T(test_indirect_too_many_segments),
	    T(test_indirect_table_too_long),
	    T(test_indirect_nested),
	    T(test_indirect_bad_length),
	    T(test_indirect_zero_length),
	    T(test_indirect_outside_ram),
	    T(test_indirect_with_next),
	    T(test_indirect_loop),
	    T(test_indirect_zero_length_loop),
	    T(test_indirect_next_out_of_range),
	    T(test_push_used_ring),
	    T(test_idx_wraparound),
	    T(test_notify_and_no_interrupt),
	    T(test_event_idx),
	    T(test_elem_copy),
#undef T
	};

	/* Malformed rings are expected here; their warnings would only be noise. */
	hd_log_set_level(getenv("HD_TEST_LOG_DEBUG") ? HD_LOG_DEBUG : HD_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
