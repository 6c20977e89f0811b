/* test-virtio-input.c: cmocka tests of the virtio-input devices through a real transport and
 * guest memory: config space per select/subsel, hostile selects, event delivery, the ring's
 * overflow, statusq and reset. Not the VMM's keymap (cli/display-link.c). */
#include <endian.h>
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

#define MEM_SIZE (16ull << 20)
#define QSIZE	 16
/* Per queue q: descriptors, avail and used rings, then buffers. */
#define DESC_GPA(q)  (0x10000ull + (q) * 0x10000ull)
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x1000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x2000)
#define BUF_GPA(q)   (0x100000ull + (q) * 0x10000ull)

/* virtio 1.2 §4.2.2, written out rather than taken from the code under test. */
#define REG_DEVICE_ID	       0x008
#define REG_DRIVER_FEATURES    0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL	       0x030
#define REG_QUEUE_NUM_MAX      0x034
#define REG_QUEUE_NUM	       0x038
#define REG_QUEUE_READY	       0x044
#define REG_QUEUE_NOTIFY       0x050
#define REG_INTERRUPT_STATUS   0x060
#define REG_INTERRUPT_ACK      0x064
#define REG_STATUS	       0x070
#define REG_QUEUE_DESC_LOW     0x080
#define REG_QUEUE_DRIVER_LOW   0x090
#define REG_QUEUE_DEVICE_LOW   0x0a0
#define REG_CONFIG	       0x100

/* §5.8 */
#define CFG_UNSET     0x00
#define CFG_ID_NAME   0x01
#define CFG_ID_SERIAL 0x02
#define CFG_ID_DEVIDS 0x03
#define CFG_PROP_BITS 0x10
#define CFG_EV_BITS   0x11
#define CFG_ABS_INFO  0x12
#define CFG_SIZE_OFF  2
#define CFG_U_OFF     8
#define EV_SYN 0
#define EV_KEY 1
#define EV_REL 2
#define EV_ABS 3
#define EV_LED 0x11
#define EV_REP 0x14
#define KEY_A  30

struct fx {
	struct hv_mem mem;
	struct hv_virtio_mmio t;
	struct hv_input *dev;
	int irq_level;
	uint16_t next_avail[2];
	uint16_t used_seen[2];
};

static void irq_cb(void *opaque, unsigned gsi, int level)
{
	((struct fx *)opaque)->irq_level = level;
}

static void mmio_w(struct fx *f, uint64_t off, uint32_t v)
{
	hv_virtio_mmio_access(&f->t, off, &v, 4, true);
}

static uint32_t mmio_r(struct fx *f, uint64_t off)
{
	uint32_t v = 0;
	hv_virtio_mmio_access(&f->t, off, &v, 4, false);
	return v;
}

static void cfg_w8(struct fx *f, uint32_t off, uint8_t v)
{
	hv_virtio_mmio_access(&f->t, REG_CONFIG + off, &v, 1, true);
}

static uint8_t cfg_r8(struct fx *f, uint32_t off)
{
	uint8_t v = 0xee;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + off, &v, 1, false);
	return v;
}

static uint32_t cfg_r32(struct fx *f, uint32_t off)
{
	uint32_t v = 0xeeeeeeee;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + off, &v, 4, false);
	return le32toh(v);
}

static void queue_setup(struct fx *f, unsigned q)
{
	mmio_w(f, REG_QUEUE_SEL, q);
	assert_int_equal(mmio_r(f, REG_QUEUE_NUM_MAX), 64);
	mmio_w(f, REG_QUEUE_NUM, QSIZE);
	mmio_w(f, REG_QUEUE_DESC_LOW, (uint32_t)DESC_GPA(q));
	mmio_w(f, REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA(q));
	mmio_w(f, REG_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA(q));
	mmio_w(f, REG_QUEUE_READY, 1);
	assert_int_equal(mmio_r(f, REG_QUEUE_READY), 1);
}

/* The driver's bring-up, virtio 1.2 §3.1.1. */
static void driver_start(struct fx *f)
{
	mmio_w(f, REG_STATUS, 0);
	mmio_w(f, REG_STATUS, 1 | 2);
	mmio_w(f, REG_DRIVER_FEATURES_SEL, 1);
	mmio_w(f, REG_DRIVER_FEATURES, 1); /* VERSION_1 */
	mmio_w(f, REG_STATUS, 1 | 2 | 8);
	assert_true(mmio_r(f, REG_STATUS) & 8);
	queue_setup(f, 0);
	queue_setup(f, 1);
	mmio_w(f, REG_STATUS, 1 | 2 | 8 | 4);
	memset(f->next_avail, 0, sizeof(f->next_avail));
	memset(f->used_seen, 0, sizeof(f->used_seen));
}

static int setup_kind(void **state, enum hv_input_kind kind)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(hv_mem_init(&f->mem, MEM_SIZE), 0);
	assert_int_equal(hv_input_new(kind, &f->dev), 0);
	assert_int_equal(hv_virtio_mmio_init(&f->t, hv_input_virtio_ops(), f->dev, &f->mem, irq_cb,
					     f, 7),
			 0);
	hv_input_set_transport(f->dev, &f->t);
	*state = f;
	return 0;
}

static int setup_kbd(void **state)
{
	return setup_kind(state, HV_INPUT_KEYBOARD);
}

static int setup_tablet(void **state)
{
	return setup_kind(state, HV_INPUT_TABLET);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	hv_input_destroy(f->dev);
	pthread_mutex_destroy(&f->t.lock);
	hv_mem_fini(&f->mem);
	free(f);
	return 0;
}

static uint16_t *avail_idx(struct fx *f, unsigned q)
{
	return hv_mem_ptr(&f->mem, AVAIL_GPA(q) + 2, 2);
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
	uint16_t *p = hv_mem_ptr(&f->mem, USED_GPA(q) + 2, 2);
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Posts n buffers of len bytes (device-writable unless readable) on queue q. */
static void post(struct fx *f, unsigned q, unsigned n, uint32_t len, bool readable, bool notify)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = f->next_avail[q] % QSIZE;
		uint8_t desc[16];
		uint64_t addr = htole64(BUF_GPA(q) + slot * 64ull);
		uint32_t l = htole32(len);
		uint16_t flags = htole16(readable ? 0 : 2), next = 0;
		memcpy(desc, &addr, 8);
		memcpy(desc + 8, &l, 4);
		memcpy(desc + 12, &flags, 2);
		memcpy(desc + 14, &next, 2);
		assert_int_equal(hv_mem_write(&f->mem, DESC_GPA(q) + slot * 16ull, desc, 16), 0);
		uint16_t s = htole16(slot);
		assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA(q) + 4 + 2ull * slot, &s, 2), 0);
		f->next_avail[q]++;
	}
	__atomic_store_n(avail_idx(f, q), htole16(f->next_avail[q]), __ATOMIC_RELEASE);
	if (notify)
		mmio_w(f, REG_QUEUE_NOTIFY, q);
}

/* Takes the next used event from the eventq; returns false when there is none. */
static bool take_event(struct fx *f, struct hv_input_event *ev, uint32_t *written)
{
	if (used_idx(f, 0) == f->used_seen[0])
		return false;
	uint16_t k = f->used_seen[0]++ % QSIZE;
	uint32_t id, len;
	assert_int_equal(hv_mem_read(&f->mem, USED_GPA(0) + 4 + 8ull * k, &id, 4), 0);
	assert_int_equal(hv_mem_read(&f->mem, USED_GPA(0) + 8 + 8ull * k, &len, 4), 0);
	*written = le32toh(len);
	uint8_t raw[8];
	assert_int_equal(hv_mem_read(&f->mem, BUF_GPA(0) + le32toh(id) * 64ull, raw, 8), 0);
	uint16_t t, c;
	uint32_t v;
	memcpy(&t, raw, 2);
	memcpy(&c, raw + 2, 2);
	memcpy(&v, raw + 4, 4);
	ev->type = le16toh(t);
	ev->code = le16toh(c);
	ev->value = (int32_t)le32toh(v);
	return true;
}

static void select_cfg(struct fx *f, uint8_t sel, uint8_t sub)
{
	cfg_w8(f, 0, sel);
	cfg_w8(f, 1, sub);
	assert_int_equal(cfg_r8(f, 0), sel);
	assert_int_equal(cfg_r8(f, 1), sub);
}

static bool bit(struct fx *f, unsigned n)
{
	return cfg_r8(f, CFG_U_OFF + n / 8) & (1u << (n % 8));
}

static void test_identity(void **state)
{
	struct fx *f = *state;
	char name[129] = "";

	assert_int_equal(mmio_r(f, REG_DEVICE_ID), 18);
	select_cfg(f, CFG_ID_NAME, 0);
	uint8_t n = cfg_r8(f, CFG_SIZE_OFF);
	assert_true(n > 0 && n <= 128);
	for (unsigned i = 0; i < n; i++)
		name[i] = (char)cfg_r8(f, CFG_U_OFF + i);
	assert_string_equal(name, "hyperdesk keyboard");
	select_cfg(f, CFG_ID_SERIAL, 0);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 8);
	assert_int_equal(cfg_r8(f, CFG_U_OFF), 'H');
	select_cfg(f, CFG_ID_DEVIDS, 0);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 8);
	assert_int_equal(cfg_r32(f, CFG_U_OFF), 0x48440006u); /* bus virtual, vendor "HD" */
	select_cfg(f, CFG_PROP_BITS, 0);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0);
	select_cfg(f, CFG_UNSET, 0);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0);
	assert_int_equal(cfg_r32(f, CFG_U_OFF), 0);
}

static void test_keyboard_bits(void **state)
{
	struct fx *f = *state;

	select_cfg(f, CFG_EV_BITS, EV_KEY);
	assert_true(cfg_r8(f, CFG_SIZE_OFF) >= 16);
	assert_true(bit(f, 1));	   /* KEY_ESC */
	assert_true(bit(f, KEY_A));
	assert_true(bit(f, 88));   /* KEY_F12 */
	assert_true(bit(f, 103));  /* KEY_UP */
	assert_false(bit(f, 0));   /* KEY_RESERVED */
	assert_false(bit(f, 0x110)); /* no mouse buttons on a keyboard */
	select_cfg(f, CFG_EV_BITS, EV_REP);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 1);
	select_cfg(f, CFG_EV_BITS, EV_LED);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 1);
	assert_int_equal(cfg_r8(f, CFG_U_OFF), 7);
	select_cfg(f, CFG_EV_BITS, EV_ABS);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0);
	select_cfg(f, CFG_ABS_INFO, 0);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0);
}

static void test_tablet_bits(void **state)
{
	struct fx *f = *state;
	char name[129] = "";

	select_cfg(f, CFG_ID_NAME, 0);
	for (unsigned i = 0; i < cfg_r8(f, CFG_SIZE_OFF); i++)
		name[i] = (char)cfg_r8(f, CFG_U_OFF + i);
	assert_string_equal(name, "hyperdesk tablet");
	select_cfg(f, CFG_EV_BITS, EV_ABS);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 1);
	assert_int_equal(cfg_r8(f, CFG_U_OFF), 3);
	select_cfg(f, CFG_EV_BITS, EV_KEY);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0x112 / 8 + 1);
	assert_true(bit(f, 0x110) && bit(f, 0x111) && bit(f, 0x112));
	assert_false(bit(f, KEY_A));
	select_cfg(f, CFG_EV_BITS, EV_REL);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 2);
	assert_true(bit(f, 8)); /* REL_WHEEL */
	for (uint8_t axis = 0; axis < 2; axis++) {
		select_cfg(f, CFG_ABS_INFO, axis);
		assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 20);
		assert_int_equal(cfg_r32(f, CFG_U_OFF), 0);
		assert_int_equal(cfg_r32(f, CFG_U_OFF + 4), 32767);
		assert_int_equal(cfg_r32(f, CFG_U_OFF + 8), 0);
	}
	select_cfg(f, CFG_ABS_INFO, 2);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0);
}

/* Every select and subsel, every width and offset: nothing out of bounds, unknown is size 0,
 * and the read-only part ignores writes. */
static void test_hostile_config(void **state)
{
	struct fx *f = *state;
	static const uint8_t known[] = {CFG_ID_NAME, CFG_ID_SERIAL, CFG_ID_DEVIDS, CFG_EV_BITS,
					CFG_ABS_INFO};

	for (unsigned sel = 0; sel < 256; sel++) {
		bool is_known = false;
		for (size_t k = 0; k < sizeof(known); k++)
			is_known |= known[k] == sel;
		for (unsigned sub = 0; sub < 256; sub += 17) {
			select_cfg(f, (uint8_t)sel, (uint8_t)sub);
			uint8_t size = cfg_r8(f, CFG_SIZE_OFF);
			assert_true(size <= 128);
			if (!is_known)
				assert_int_equal(size, 0);
		}
	}
	/* A 4-byte write over select, subsel, size and reserved sets only the first two. */
	uint32_t v = htole32(0xffff0000u | (3u << 8) | CFG_EV_BITS);
	hv_virtio_mmio_access(&f->t, REG_CONFIG, &v, 4, true);
	assert_int_equal(cfg_r8(f, 0), CFG_EV_BITS);
	assert_int_equal(cfg_r8(f, 1), 3);
	assert_int_equal(cfg_r8(f, CFG_SIZE_OFF), 0); /* a keyboard has no EV_ABS */
	assert_int_equal(cfg_r8(f, 3), 0);
	/* Writes into the payload change nothing; accesses past the end read zero. */
	select_cfg(f, CFG_ID_NAME, 0);
	cfg_w8(f, CFG_U_OFF, 'X');
	assert_int_equal(cfg_r8(f, CFG_U_OFF), 'h');
	assert_int_equal(cfg_r8(f, 136), 0);
	uint64_t big = ~0ull;
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 132, &big, 8, false);
	assert_int_equal(big, 0); /* straddles the end: refused by the transport */
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 128, &big, 8, false);
	hv_virtio_mmio_access(&f->t, REG_CONFIG + 0xeff, &big, 1, true);
}

static void send_key(struct fx *f, uint16_t code, int32_t value)
{
	struct hv_input_event ev[2] = {{EV_KEY, code, value}, {EV_SYN, 0, 0}};
	hv_input_send(f->dev, ev, 2);
}

static void test_delivery(void **state)
{
	struct fx *f = *state;
	struct hv_input_event ev;
	struct hv_input_stats st;
	uint32_t len;

	/* Before DRIVER_OK nothing is kept. */
	send_key(f, KEY_A, 1);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.pending, 0);

	driver_start(f);
	post(f, 0, 4, 8, false, true);
	assert_false(take_event(f, &ev, &len));
	send_key(f, KEY_A, 1);
	assert_int_equal(f->irq_level, 1);
	assert_true(mmio_r(f, REG_INTERRUPT_STATUS) & 1);
	mmio_w(f, REG_INTERRUPT_ACK, 1);
	assert_int_equal(f->irq_level, 0);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(len, 8);
	assert_int_equal(ev.type, EV_KEY);
	assert_int_equal(ev.code, KEY_A);
	assert_int_equal(ev.value, 1);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.type, EV_SYN);
	assert_false(take_event(f, &ev, &len));

	/* Two buffers left, three events: one waits until the guest adds a buffer. */
	struct hv_input_event abs[3] = {{EV_ABS, 0, 16384}, {EV_ABS, 1, -5}, {EV_SYN, 0, 0}};
	hv_input_send(f->dev, abs, 3);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 1);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.value, 16384);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.value, -5);
	assert_false(take_event(f, &ev, &len));
	post(f, 0, 1, 8, false, true);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.type, EV_SYN);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.delivered, 5);

	/* A buffer too small for an event comes back empty; the event waits for the next. */
	post(f, 0, 1, 4, false, true);
	send_key(f, KEY_A, 0);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(len, 0);
	post(f, 0, 2, 8, false, true);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(len, 8);
	assert_int_equal(ev.code, KEY_A);
	assert_int_equal(ev.value, 0);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.bad_buffers, 1);
}

/* While the VM is paused nothing reaches guest RAM: events wait, in order, and go in on
 * resume. */
static void test_paused(void **state)
{
	struct fx *f = *state;
	struct hv_input_event ev;
	struct hv_input_stats st;
	uint32_t len;

	driver_start(f);
	post(f, 0, 4, 8, false, true);
	uint16_t used_before = used_idx(f, 0);
	hv_input_virtio_ops()->pause(f->dev, true);
	struct hv_input_event abs[3] = {{EV_ABS, 0, 100}, {EV_ABS, 1, 200}, {EV_SYN, 0, 0}};
	hv_input_send(f->dev, abs, 3);
	assert_int_equal(used_idx(f, 0), used_before);
	assert_int_equal(f->irq_level, 0);
	assert_false(take_event(f, &ev, &len));
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.dropped, 0);
	/* New buffers from the guest while paused (its last notify) change nothing either. */
	post(f, 0, 1, 8, false, true);
	assert_int_equal(used_idx(f, 0), used_before);

	hv_input_virtio_ops()->pause(f->dev, false);
	assert_int_equal(f->irq_level, 1);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.value, 100);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.value, 200);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.type, EV_SYN);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.delivered, 3);
}

static void test_overflow(void **state)
{
	struct fx *f = *state;
	struct hv_input_event ev;
	struct hv_input_stats st;
	uint32_t len;

	driver_start(f);
	/* No buffers: the ring fills, then the oldest go. */
	for (int i = 0; i < HV_INPUT_RING + 10; i++) {
		struct hv_input_event e = {EV_ABS, 0, i};
		hv_input_send(f->dev, &e, 1);
	}
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, HV_INPUT_RING);
	assert_int_equal(st.dropped, 10);
	post(f, 0, QSIZE, 8, false, true);
	for (int i = 0; i < QSIZE; i++) {
		assert_true(take_event(f, &ev, &len));
		assert_int_equal(ev.value, 10 + i);
	}
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, HV_INPUT_RING - QSIZE);
}

static void test_status_queue(void **state)
{
	struct fx *f = *state;
	struct hv_input_stats st;

	driver_start(f);
	/* LED on: EV_LED, LED_CAPSL, 1; then some garbage; both consumed. */
	uint8_t led[8] = {EV_LED, 0, 1, 0, 1, 0, 0, 0};
	assert_int_equal(hv_mem_write(&f->mem, BUF_GPA(1), led, 8), 0);
	post(f, 1, 1, 8, true, false);
	uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
	assert_int_equal(hv_mem_write(&f->mem, BUF_GPA(1) + 64, junk, 8), 0);
	post(f, 1, 1, 3, true, true);
	assert_int_equal(used_idx(f, 1), 2);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.status_events, 2);
	assert_int_equal(st.leds, 2);
}

static void test_reset(void **state)
{
	struct fx *f = *state;
	struct hv_input_event ev;
	struct hv_input_stats st;
	uint32_t len;

	driver_start(f);
	select_cfg(f, CFG_EV_BITS, EV_KEY);
	send_key(f, KEY_A, 1);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 2);
	mmio_w(f, REG_STATUS, 0);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(cfg_r8(f, 0), 0);
	/* After a reset and before DRIVER_OK, input is dropped, not queued for later. */
	send_key(f, KEY_A, 0);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.pending, 0);
	driver_start(f);
	post(f, 0, 2, 8, false, true);
	assert_false(take_event(f, &ev, &len));
	send_key(f, 2, 1);
	assert_true(take_event(f, &ev, &len));
	assert_int_equal(ev.code, 2);
}

/* A broken eventq (an avail index far ahead) marks the device for reset, no crash. */
static void test_broken_ring(void **state)
{
	struct fx *f = *state;
	struct hv_input_stats st;

	driver_start(f);
	__atomic_store_n(avail_idx(f, 0), htole16(1000), __ATOMIC_RELEASE);
	send_key(f, KEY_A, 1);
	assert_true(mmio_r(f, REG_STATUS) & 0x40);
	hv_input_get_stats(f->dev, &st);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.pending, 2);
}

int main(void)
{
	hd_log_set_level(HD_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup_kbd, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_bits, setup_kbd, teardown),
		cmocka_unit_test_setup_teardown(test_tablet_bits, setup_tablet, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_config, setup_kbd, teardown),
		cmocka_unit_test_setup_teardown(test_delivery, setup_tablet, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup_tablet, teardown),
		cmocka_unit_test_setup_teardown(test_paused, setup_tablet, teardown),
		cmocka_unit_test_setup_teardown(test_status_queue, setup_kbd, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup_kbd, teardown),
		cmocka_unit_test_setup_teardown(test_broken_ring, setup_kbd, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
