/* test-virtio-mmio.c: cmocka tests of the virtio-mmio register interface: identification,
 * feature negotiation, queue setup checks, reset, interrupts and config space. Not the chain
 * parser in depth (test-virtqueue.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hd-common.h"
#include "hv.h"

#define MEM_SIZE  (16ull << 20)
#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x20000ull
#define USED_GPA  0x30000ull
#define BUF_GPA	  0x100000ull
#define QMAX	  256
#define CFG_SIZE  16
#define GSI	  9

/* virtio 1.2 §4.2.2, written out here rather than taken from the code under test. */
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
#define REG_SHM_LEN_LOW		0x0b0
#define REG_SHM_LEN_HIGH	0x0b4
#define REG_CONFIG_GENERATION	0x0fc
#define REG_CONFIG		0x100

#define ST_ACK	       0x01
#define ST_DRIVER      0x02
#define ST_DRIVER_OK   0x04
#define ST_FEATURES_OK 0x08
#define ST_NEEDS_RESET 0x40

#define F_VERSION_1_HI (1u << 0) /* bit 32 in the high word */
#define F_INDIRECT     (1u << 28)
#define F_PACKED_HI    (1u << 2) /* bit 34 */
#define DEV_F_FOO      (1u << 3) /* some device-specific feature */

struct fx {
	struct hv_mem mem;
	struct hv_virtio_mmio t;
	struct hv_virtio_dev_ops ops;
	uint8_t config[CFG_SIZE];
	int cfg_reads, cfg_writes;
	int irq_calls, irq_level;
	unsigned irq_gsi;
	int resets, driver_oks, notifies;
	struct hv_virtqueue *notified;
};

static void irq_cb(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;

	f->irq_calls++;
	f->irq_level = level;
	f->irq_gsi = gsi;
}

static void cfg_read(void *opaque, uint32_t offset, void *data, uint32_t len)
{
	struct fx *f = opaque;

	assert_true(offset + len <= CFG_SIZE);
	f->cfg_reads++;
	memcpy(data, f->config + offset, len);
}

static void cfg_write(void *opaque, uint32_t offset, const void *data, uint32_t len)
{
	struct fx *f = opaque;

	assert_true(offset + len <= CFG_SIZE);
	f->cfg_writes++;
	memcpy(f->config + offset, data, len);
}

static void dev_notify(void *opaque, struct hv_virtqueue *vq)
{
	struct fx *f = opaque;

	f->notifies++;
	f->notified = vq;
}

static void dev_reset(void *opaque)
{
	struct fx *f = opaque;

	f->resets++;
	/* The queues are already stopped when the device is asked to reset. */
	for (unsigned i = 0; i < f->ops.num_queues; i++)
		assert_false(f->t.queues[i].ready);
}

static void dev_driver_ok(void *opaque)
{
	struct fx *f = opaque;

	f->driver_oks++;
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

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(hv_mem_init(&f->mem, MEM_SIZE), 0);
	f->ops = (struct hv_virtio_dev_ops){
	    .device_id = 16,
	    .features = DEV_F_FOO | F_INDIRECT | ((uint64_t)F_PACKED_HI << 32),
	    .num_queues = 2,
	    .queue_max_size = QMAX,
	    .config_size = CFG_SIZE,
	    .config_read = cfg_read,
	    .config_write = cfg_write,
	    .queue_notify = dev_notify,
	    .reset = dev_reset,
	    .driver_ok = dev_driver_ok,
	};
	for (unsigned i = 0; i < CFG_SIZE; i++)
		f->config[i] = (uint8_t)(0x10 + i);
	assert_int_equal(hv_virtio_mmio_init(&f->t, &f->ops, f, &f->mem, irq_cb, f, GSI), 0);
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

static void negotiate(struct fx *f, uint32_t lo, uint32_t hi)
{
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER);
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 0);
	mmio_w(f, REG_DRIVER_FEATURES, lo);
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 1);
	mmio_w(f, REG_DRIVER_FEATURES, hi);
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
}

static void queue_regs(struct fx *f, uint32_t q, uint32_t num, uint64_t desc, uint64_t avail,
		       uint64_t used)
{
	mmio_w(f, REG_QUEUE_SEL, q);
	mmio_w(f, REG_QUEUE_NUM, num);
	mmio_w(f, REG_QUEUE_DESC_LOW, (uint32_t)desc);
	mmio_w(f, REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	mmio_w(f, REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	mmio_w(f, REG_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	mmio_w(f, REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	mmio_w(f, REG_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
}

/* Sets up queue 0 and DRIVER_OK; leaves the irq record clean. */
static void bring_up(struct fx *f, uint16_t num)
{
	negotiate(f, 0, F_VERSION_1_HI);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_FEATURES_OK, ST_FEATURES_OK);
	queue_regs(f, 0, num, DESC_GPA, AVAIL_GPA, USED_GPA);
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 1);
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	f->irq_calls = 0;
}

static void test_identification(void **state)
{
	struct fx *f = *state;
	uint16_t half = 0xffff;
	uint64_t wide = ~0ull;

	assert_int_equal(mmio_r(f, REG_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_r(f, REG_VERSION), 2);
	assert_int_equal(mmio_r(f, REG_DEVICE_ID), 16);
	assert_int_equal(mmio_r(f, REG_VENDOR_ID), 0x4b534448); /* "HDSK" */
	assert_int_equal(mmio_r(f, REG_CONFIG_GENERATION), 0);
	/* No shared memory regions: length reads as -1 (§4.2.2). */
	assert_int_equal(mmio_r(f, REG_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(mmio_r(f, REG_SHM_LEN_HIGH), 0xffffffff);
	/* Registers are 32-bit: other sizes and misaligned accesses read 0. */
	hv_virtio_mmio_access(&f->t, REG_MAGIC_VALUE, &half, 2, false);
	assert_int_equal(half, 0);
	hv_virtio_mmio_access(&f->t, REG_MAGIC_VALUE, &wide, 8, false);
	assert_int_equal(wide, 0);
	assert_int_equal(mmio_r(f, REG_MAGIC_VALUE + 1), 0);
	/* Write-only registers read 0. */
	assert_int_equal(mmio_r(f, REG_QUEUE_NOTIFY), 0);
}

static void test_queue_num_max(void **state)
{
	struct fx *f = *state;

	mmio_w(f, REG_QUEUE_SEL, 0);
	assert_int_equal(mmio_r(f, REG_QUEUE_NUM_MAX), QMAX);
	mmio_w(f, REG_QUEUE_SEL, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_NUM_MAX), QMAX);
	/* A queue that does not exist reports 0 and takes no setup. */
	mmio_w(f, REG_QUEUE_SEL, 2);
	assert_int_equal(mmio_r(f, REG_QUEUE_NUM_MAX), 0);
	mmio_w(f, REG_QUEUE_NUM, 16);
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 0);
	assert_int_equal(f->t.queues[2].size, 0);
}

static void test_device_features(void **state)
{
	struct fx *f = *state;

	mmio_w(f, REG_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(mmio_r(f, REG_DEVICE_FEATURES), DEV_F_FOO | F_INDIRECT);
	/* VERSION_1 always offered; packed rings are not ours to offer. */
	mmio_w(f, REG_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(mmio_r(f, REG_DEVICE_FEATURES), F_VERSION_1_HI);
	mmio_w(f, REG_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(mmio_r(f, REG_DEVICE_FEATURES), 0);
}

static void test_features_ok(void **state)
{
	struct fx *f = *state;

	negotiate(f, DEV_F_FOO, F_VERSION_1_HI);
	assert_int_equal(mmio_r(f, REG_STATUS), ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(f->t.driver_features, DEV_F_FOO | HV_VIRTIO_F_VERSION_1);
	/* Features are frozen once accepted. */
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 0);
	mmio_w(f, REG_DRIVER_FEATURES, 0);
	assert_int_equal(f->t.driver_features, DEV_F_FOO | HV_VIRTIO_F_VERSION_1);
	/* The driver cannot drop FEATURES_OK short of a reset. */
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_FEATURES_OK, ST_FEATURES_OK);
}

static void test_features_without_version_1(void **state)
{
	struct fx *f = *state;

	negotiate(f, DEV_F_FOO, 0);
	assert_int_equal(mmio_r(f, REG_STATUS), ST_ACK | ST_DRIVER);
	/* And DRIVER_OK without FEATURES_OK goes nowhere. */
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	assert_int_equal(mmio_r(f, REG_STATUS), ST_ACK | ST_DRIVER);
	assert_int_equal(f->driver_oks, 0);
	/* The driver may retry with a correct set. */
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 1);
	mmio_w(f, REG_DRIVER_FEATURES, F_VERSION_1_HI);
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(mmio_r(f, REG_STATUS), ST_ACK | ST_DRIVER | ST_FEATURES_OK);
}

static void test_features_not_offered(void **state)
{
	struct fx *f = *state;

	/* Bit 5 was never offered; nor was packed (34), although the device listed it. */
	negotiate(f, 1u << 5, F_VERSION_1_HI);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_FEATURES_OK, 0);
	mmio_w(f, REG_STATUS, 0);
	negotiate(f, 0, F_VERSION_1_HI | F_PACKED_HI);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_FEATURES_OK, 0);
}

static void test_driver_ok_callback(void **state)
{
	struct fx *f = *state;

	bring_up(f, 16);
	assert_int_equal(f->driver_oks, 1);
	/* Writing it again is not a second DRIVER_OK. */
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_int_equal(f->driver_oks, 1);
}

static void test_queue_setup_ok(void **state)
{
	struct fx *f = *state;
	struct hv_virtqueue *vq = &f->t.queues[1];

	negotiate(f, 0, F_VERSION_1_HI);
	/* Rings near the end of RAM; avail only 2-aligned, which is enough (§2.7). */
	queue_regs(f, 1, QMAX, MEM_SIZE - 0x4000, MEM_SIZE - 0x2000 + 2,
		   MEM_SIZE - 0x1000 - 8 * QMAX);
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 1);
	assert_true(vq->ready);
	assert_int_equal(vq->size, QMAX);
	assert_int_equal(vq->desc_gpa, MEM_SIZE - 0x4000);
	assert_int_equal(vq->avail_gpa, MEM_SIZE - 0x2000 + 2);
	assert_int_equal(vq->used_gpa, MEM_SIZE - 0x1000 - 8 * QMAX);
	/* Queue 0 is untouched. */
	mmio_w(f, REG_QUEUE_SEL, 0);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 0);
	/* A live queue's setup cannot change under the device. */
	mmio_w(f, REG_QUEUE_SEL, 1);
	mmio_w(f, REG_QUEUE_NUM, 8);
	mmio_w(f, REG_QUEUE_DESC_LOW, 0);
	assert_int_equal(vq->size, QMAX);
	assert_int_equal(vq->desc_gpa, MEM_SIZE - 0x4000);
	/* QueueReady 0 takes it down; then it may be set up again. */
	mmio_w(f, REG_QUEUE_READY, 0);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 0);
	mmio_w(f, REG_QUEUE_NUM, 8);
	assert_int_equal(vq->size, 8);
}

/* One bad parameter each; every one must leave QueueReady at 0. */
static void expect_refused(struct fx *f, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	mmio_w(f, REG_STATUS, 0);
	negotiate(f, 0, F_VERSION_1_HI);
	queue_regs(f, 0, num, desc, avail, used);
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 0);
	assert_false(f->t.queues[0].ready);
}

static void test_queue_setup_refused(void **state)
{
	struct fx *f = *state;

	/* Control: these parameters are fine. */
	queue_regs(f, 0, 16, DESC_GPA, AVAIL_GPA, USED_GPA);
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 1);
	assert_false(f->t.warned_setup);

	expect_refused(f, 100, DESC_GPA, AVAIL_GPA, USED_GPA); /* not a power of two */
	assert_true(f->t.warned_setup);
	expect_refused(f, 0, DESC_GPA, AVAIL_GPA, USED_GPA);	       /* empty */
	expect_refused(f, 2 * QMAX, DESC_GPA, AVAIL_GPA, USED_GPA);    /* over QueueNumMax */
	expect_refused(f, 0x10010, DESC_GPA, AVAIL_GPA, USED_GPA);     /* 16 in the low bits */
	expect_refused(f, 16, DESC_GPA + 8, AVAIL_GPA, USED_GPA);      /* desc needs 16 */
	expect_refused(f, 16, DESC_GPA, AVAIL_GPA + 1, USED_GPA);      /* avail needs 2 */
	expect_refused(f, 16, DESC_GPA, AVAIL_GPA, USED_GPA + 2);      /* used needs 4 */
	expect_refused(f, 16, MEM_SIZE, AVAIL_GPA, USED_GPA);	       /* desc outside RAM */
	expect_refused(f, 16, MEM_SIZE - 16 * 8, AVAIL_GPA, USED_GPA); /* desc straddles end */
	expect_refused(f, 16, DESC_GPA, MEM_SIZE - 8, USED_GPA);       /* avail straddles */
	expect_refused(f, 16, DESC_GPA, AVAIL_GPA, MEM_SIZE - 8 * 16); /* used: event field out */
	expect_refused(f, 16, DESC_GPA, AVAIL_GPA, 0xfffffffffffffff0ull); /* wraps 2^64 */
	expect_refused(f, 16, DESC_GPA, AVAIL_GPA, HV_RAM_LOW_MAX);	   /* in the MMIO hole */
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	bring_up(f, 16);
	hv_virtio_interrupt(&f->t, HV_VIRTIO_ISR_USED);
	assert_int_equal(f->irq_level, 1);
	f->t.queues[0].last_avail = 5;
	f->t.queues[0].used_idx = 5;

	mmio_w(f, REG_STATUS, 0);
	assert_int_equal(f->resets, 1);
	assert_int_equal(mmio_r(f, REG_STATUS), 0);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 0);
	/* The line goes down with the status. */
	assert_int_equal(f->irq_calls, 2);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 0);
	assert_int_equal(f->t.driver_features, 0);
	assert_int_equal(f->t.queues[0].size, 0);
	assert_int_equal(f->t.queues[0].desc_gpa, 0);
	assert_int_equal(f->t.queues[0].last_avail, 0);
	assert_int_equal(f->t.queues[0].used_idx, 0);
	/* Set up again from scratch. */
	bring_up(f, 32);
	assert_int_equal(f->t.queues[0].size, 32);
	assert_int_equal(f->driver_oks, 2);
}

static void test_interrupt_notify_ack(void **state)
{
	struct fx *f = *state;
	struct hv_virtqueue *vq = &f->t.queues[0];
	struct hv_vq_elem *e = calloc(1, sizeof(*e));
	uint8_t d[16] = {0};
	uint64_t addr = BUF_GPA;
	uint32_t len = 64;
	uint16_t flags = 2, one = 1, zero = 0;

	assert_non_null(e);
	bring_up(f, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	assert_int_equal(hv_mem_write(&f->mem, DESC_GPA, d, 16), 0);
	assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA + 4, &zero, 2), 0);
	assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA + 2, &one, 2), 0);

	/* QueueNotify reaches the device with the right queue, and only for a live one. */
	mmio_w(f, REG_QUEUE_NOTIFY, 0);
	assert_int_equal(f->notifies, 1);
	assert_ptr_equal(f->notified, vq);
	mmio_w(f, REG_QUEUE_NOTIFY, 1);
	mmio_w(f, REG_QUEUE_NOTIFY, 7);
	assert_int_equal(f->notifies, 1);

	assert_int_equal(hv_vq_pop(vq, e), 1);
	assert_int_equal(hv_vq_push(vq, e, 64), 0);
	hv_vq_notify(vq);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(f->irq_gsi, GSI);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 1);
	/* Level already high: no second raise. */
	hv_vq_notify(vq);
	assert_int_equal(f->irq_calls, 1);
	/* ACK of a bit that is not set changes nothing. */
	mmio_w(f, REG_INTERRUPT_ACK, 2);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 1);
	mmio_w(f, REG_INTERRUPT_ACK, 1);
	assert_int_equal(f->irq_calls, 2);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 0);
	mmio_w(f, REG_INTERRUPT_ACK, 1);
	assert_int_equal(f->irq_calls, 2);
	free(e);
}

static void test_partial_ack_keeps_line(void **state)
{
	struct fx *f = *state;

	bring_up(f, 16);
	hv_virtio_interrupt(&f->t, HV_VIRTIO_ISR_USED);
	hv_virtio_config_changed(&f->t);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 3);
	assert_int_equal(f->irq_calls, 1);
	mmio_w(f, REG_INTERRUPT_ACK, 1);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->irq_level, 1);
	mmio_w(f, REG_INTERRUPT_ACK, 2);
	assert_int_equal(f->irq_calls, 2);
	assert_int_equal(f->irq_level, 0);
}

static void test_needs_reset_after_bad_chain(void **state)
{
	struct fx *f = *state;
	struct hv_virtqueue *vq = &f->t.queues[0];
	struct hv_vq_elem *e = calloc(1, sizeof(*e));
	uint8_t d[16] = {0};
	uint64_t addr = MEM_SIZE; /* outside RAM */
	uint32_t len = 64;
	uint16_t one = 1, zero = 0;

	assert_non_null(e);
	bring_up(f, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	assert_int_equal(hv_mem_write(&f->mem, DESC_GPA, d, 16), 0);
	assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA + 4, &zero, 2), 0);
	assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA + 2, &one, 2), 0);

	assert_int_equal(hv_vq_pop(vq, e), -EFAULT);
	assert_int_equal(mmio_r(f, REG_STATUS),
			 ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK | ST_NEEDS_RESET);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 2);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->irq_level, 1);
	assert_true(f->t.warned_broken);
	assert_int_equal(hv_vq_pop(vq, e), -EIO);
	assert_int_equal(hv_vq_push(vq, e, 0), -EIO);
	/* The bit is the device's: a status write neither clears it nor fakes it. */
	mmio_w(f, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_NEEDS_RESET, ST_NEEDS_RESET);
	/* Reset clears everything, including the broken queue. */
	mmio_w(f, REG_STATUS, 0);
	assert_int_equal(mmio_r(f, REG_STATUS), 0);
	assert_false(vq->broken);
	assert_int_equal(f->irq_level, 0);
	bring_up(f, 16);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_NEEDS_RESET, 0);
	mmio_w(f, REG_STATUS, ST_ACK | ST_NEEDS_RESET);
	assert_int_equal(mmio_r(f, REG_STATUS) & ST_NEEDS_RESET, 0);
	free(e);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;
	uint8_t b = 0;
	uint16_t h = 0;
	uint32_t w = 0;
	uint64_t q = 0;

	hv_virtio_mmio_access(&f->t, REG_CONFIG + 0, &w, 4, false);
	assert_int_equal(w, 0x13121110);
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 8, &q, 8, false);
	assert_int_equal(q, 0x1f1e1d1c1b1a1918ull);
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 15, &b, 1, false);
	assert_int_equal(b, 0x1f);
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 5, &h, 2, false);
	assert_int_equal(h, 0x1615);
	assert_int_equal(f->cfg_reads, 4);

	/* Past the end, straddling it, or an odd size: zeros, and the device is not asked. */
	w = 0xffffffff;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 14, &w, 4, false);
	assert_int_equal(w, 0);
	q = ~0ull;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 12, &q, 8, false);
	assert_int_equal(q, 0);
	w = 0xffffffff;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + CFG_SIZE, &w, 4, false);
	assert_int_equal(w, 0);
	w = 0xffffffff;
	hv_virtio_mmio_access(&f->t, 0xffc, &w, 4, false);
	assert_int_equal(w, 0);
	w = 0xffffffff;
	hv_virtio_mmio_access(&f->t, REG_CONFIG, &w, 3, false);
	assert_int_equal(w, 0xff000000);
	assert_int_equal(f->cfg_reads, 4);

	b = 0xaa;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 15, &b, 1, true);
	assert_int_equal(f->config[15], 0xaa);
	w = 0x55555555;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 13, &w, 4, true);
	hv_virtio_mmio_access(&f->t, REG_CONFIG, &w, 3, true);
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 0x800, &w, 4, true);
	assert_int_equal(f->cfg_writes, 1);
	assert_int_equal(f->config[13], 0x1d);
	assert_int_equal(f->config[0], 0x10);
}

static void test_config_changed(void **state)
{
	struct fx *f = *state;

	/* Before DRIVER_OK: generation moves, no interrupt. */
	hv_virtio_config_changed(&f->t);
	assert_int_equal(mmio_r(f, REG_CONFIG_GENERATION), 1);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 0);
	assert_int_equal(f->irq_calls, 0);
	bring_up(f, 16);
	hv_virtio_config_changed(&f->t);
	assert_int_equal(mmio_r(f, REG_CONFIG_GENERATION), 2);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 2);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->irq_level, 1);
}

static void test_ignored_register_writes(void **state)
{
	struct fx *f = *state;
	uint8_t b = 0;
	uint16_t h = ST_ACK;

	/* Narrow writes to 32-bit registers do nothing. */
	hv_virtio_mmio_access(&f->t, REG_STATUS, &h, 2, true);
	assert_int_equal(mmio_r(f, REG_STATUS), 0);
	b = ST_ACK;
	hv_virtio_mmio_access(&f->t, REG_STATUS, &b, 1, true);
	assert_int_equal(mmio_r(f, REG_STATUS), 0);
	mmio_w(f, REG_STATUS + 2, ST_ACK);
	assert_int_equal(mmio_r(f, REG_STATUS), 0);
	/* Read-only registers stay as they are. */
	mmio_w(f, REG_MAGIC_VALUE, 0);
	assert_int_equal(mmio_r(f, REG_MAGIC_VALUE), 0x74726976);
	mmio_w(f, REG_INTERRUPT_STATUS, 3);
	assert_int_equal(mmio_r(f, REG_INTERRUPT_STATUS), 0);
	assert_int_equal(f->irq_calls, 0);
}

static void test_init_rejects_bad_ops(void **state)
{
	struct fx *f = *state;
	struct hv_virtio_mmio t;
	struct hv_virtio_dev_ops ops = f->ops;

	ops.num_queues = 0;
	assert_int_equal(hv_virtio_mmio_init(&t, &ops, f, &f->mem, irq_cb, f, 0), -EINVAL);
	ops.num_queues = HV_VIRTIO_MAX_QUEUES + 1;
	assert_int_equal(hv_virtio_mmio_init(&t, &ops, f, &f->mem, irq_cb, f, 0), -EINVAL);
	ops.num_queues = 1;
	ops.queue_max_size = 100;
	assert_int_equal(hv_virtio_mmio_init(&t, &ops, f, &f->mem, irq_cb, f, 0), -EINVAL);
	ops.queue_max_size = 2 * HV_VIRTQ_MAX_SIZE;
	assert_int_equal(hv_virtio_mmio_init(&t, &ops, f, &f->mem, irq_cb, f, 0), -EINVAL);
	ops.queue_max_size = HV_VIRTQ_MAX_SIZE;
	ops.config_size = 0xf01;
	assert_int_equal(hv_virtio_mmio_init(&t, &ops, f, &f->mem, irq_cb, f, 0), -EINVAL);
	ops.config_size = 0xf00;
	assert_int_equal(hv_virtio_mmio_init(&t, &ops, f, &f->mem, irq_cb, f, 0), 0);
	pthread_mutex_destroy(&t.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_identification),
	    T(test_queue_num_max),
	    T(test_device_features),
	    T(test_features_ok),
	    T(test_features_without_version_1),
	    T(test_features_not_offered),
	    T(test_driver_ok_callback),
	    T(test_queue_setup_ok),
	    T(test_queue_setup_refused),
	    T(test_reset),
	    T(test_interrupt_notify_ack),
	    T(test_partial_ack_keeps_line),
	    T(test_needs_reset_after_bad_chain),
	    T(test_config_space),
	    T(test_config_changed),
	    T(test_ignored_register_writes),
	    T(test_init_rejects_bad_ops),
#undef T
	};

	/* Refused setups are expected here; their warnings would only be noise. */
	hd_log_set_level(getenv("HD_TEST_LOG_DEBUG") ? HD_LOG_DEBUG : HD_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
