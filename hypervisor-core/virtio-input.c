/* virtio-input.c: virtio 1.2 §5.8 input devices (a keyboard and a tablet) on the virtio-mmio
 * transport: config space, eventq delivery from a bounded ring, statusq. Not a keymap. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv.h"

#define TAG "virtio-input"

#define VIRTIO_ID_INPUT 18
#define QUEUE_EVENT	0
#define QUEUE_STATUS	1
#define QUEUE_MAX	64
/* Status buffers handled per notify: bounds the time a notify holds the lock. */
#define STATUS_BATCH	256

/* §5.8.5 config selectors. */
#define CFG_UNSET     0x00
#define CFG_ID_NAME   0x01
#define CFG_ID_SERIAL 0x02
#define CFG_ID_DEVIDS 0x03
#define CFG_PROP_BITS 0x10
#define CFG_EV_BITS   0x11
#define CFG_ABS_INFO  0x12

/* evdev numbers (linux/input-event-codes.h), spelled out: they are the wire format. */
#define EV_KEY	    0x01
#define EV_REL	    0x02
#define EV_ABS	    0x03
#define EV_LED	    0x11
#define EV_REP	    0x14
#define REL_WHEEL   0x08
#define ABS_X	    0x00
#define ABS_Y	    0x01
#define BTN_LEFT    0x110
#define BTN_RIGHT   0x111
#define BTN_MIDDLE  0x112
#define BUS_VIRTUAL 0x06
#define HD_INPUT_VENDOR 0x4844 /* "HD" */

/* §5.8.4: struct virtio_input_config. */
struct input_abs_info {
	uint32_t min, max, fuzz, flat, res;
};
struct input_devids {
	uint16_t bustype, vendor, product, version;
};
struct input_config {
	uint8_t select;
	uint8_t subsel;
	uint8_t size;
	uint8_t reserved[5];
	union {
		char string[128];
		uint8_t bitmap[128];
		struct input_abs_info abs;
		struct input_devids ids;
	} u;
};
_Static_assert(sizeof(struct input_config) == 136, "virtio_input_config is 136 bytes");
_Static_assert(sizeof(struct hv_input_event) == 8, "virtio_input_event is 8 bytes");

struct hv_input {
	enum hv_input_kind kind;
	pthread_mutex_t lock;
	struct hv_virtio_mmio *transport;
	bool live; /* between driver_ok and reset: the queues may be used */
	bool paused; /* the VM is paused: events wait in the ring, guest RAM is left alone */
	uint8_t select, subsel;
	/* Events not yet in a guest buffer, oldest at head. */
	struct hv_input_event ring[HV_INPUT_RING];
	unsigned head, count;
	struct hv_input_stats stats;
	struct hv_vq_elem elem; /* large: one per device */
};

static const char *kind_name(enum hv_input_kind k)
{
	return k == HV_INPUT_KEYBOARD ? "keyboard" : "tablet";
}

static void set_bit(uint8_t *bm, unsigned bit)
{
	bm[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* The keys a PC keyboard has: KEY_ESC (1) to KEY_F12 (88), the navigation and right-hand
 * modifier block (96 to 111), KEY_PAUSE and the Windows and menu keys. */
static void keyboard_keys(uint8_t *bm)
{
	for (unsigned k = 1; k <= 88; k++)
		set_bit(bm, k);
	for (unsigned k = 96; k <= 111; k++)
		set_bit(bm, k);
	set_bit(bm, 119);
	for (unsigned k = 125; k <= 127; k++)
		set_bit(bm, k);
}

static uint8_t bitmap_size(const uint8_t *bm)
{
	unsigned n = 128;
	while (n && !bm[n - 1])
		n--;
	return (uint8_t)n;
}

static uint8_t put_string(struct input_config *c, const char *s)
{
	size_t n = strlen(s);
	memcpy(c->u.string, s, n); /* no NUL: §5.8.4 gives the length in size */
	return (uint8_t)n;
}

/* Fills c for the current select/subsel; anything unknown or out of range is size 0. */
static void config_build(const struct hv_input *d, struct input_config *c)
{
	bool kbd = d->kind == HV_INPUT_KEYBOARD;

	memset(c, 0, sizeof(*c));
	c->select = d->select;
	c->subsel = d->subsel;
	switch (d->select) {
	case CFG_ID_NAME:
		if (!d->subsel)
			c->size = put_string(c, kbd ? "hyperdesk keyboard" : "hyperdesk tablet");
		break;
	case CFG_ID_SERIAL:
		if (!d->subsel)
			c->size = put_string(c, kbd ? "HD-KBD-0" : "HD-TAB-0");
		break;
	case CFG_ID_DEVIDS:
		if (!d->subsel) {
			c->u.ids.bustype = htole16(BUS_VIRTUAL);
			c->u.ids.vendor = htole16(HD_INPUT_VENDOR);
			c->u.ids.product = htole16(kbd ? 1 : 2);
			c->u.ids.version = htole16(1);
			c->size = sizeof(c->u.ids);
		}
		break;
	case CFG_PROP_BITS:
		/* No properties: a tablet is not INPUT_PROP_DIRECT (it is not a touch screen). */
		break;
	case CFG_EV_BITS:
		if (kbd && d->subsel == EV_KEY) {
			keyboard_keys(c->u.bitmap);
		} else if (kbd && d->subsel == EV_LED) {
			for (unsigned led = 0; led < 3; led++) /* num, caps, scroll lock */
				set_bit(c->u.bitmap, led);
		} else if (kbd && d->subsel == EV_REP) {
			c->size = 1; /* supported, no codes: the driver does autorepeat */
			break;
		} else if (!kbd && d->subsel == EV_KEY) {
			set_bit(c->u.bitmap, BTN_LEFT);
			set_bit(c->u.bitmap, BTN_RIGHT);
			set_bit(c->u.bitmap, BTN_MIDDLE);
		} else if (!kbd && d->subsel == EV_ABS) {
			set_bit(c->u.bitmap, ABS_X);
			set_bit(c->u.bitmap, ABS_Y);
		} else if (!kbd && d->subsel == EV_REL) {
			set_bit(c->u.bitmap, REL_WHEEL);
		}
		c->size = bitmap_size(c->u.bitmap);
		break;
	case CFG_ABS_INFO:
		if (!kbd && (d->subsel == ABS_X || d->subsel == ABS_Y)) {
			c->u.abs.min = htole32(0);
			c->u.abs.max = htole32(HV_INPUT_ABS_MAX);
			c->size = sizeof(c->u.abs);
		}
		break;
	default:
		break;
	}
}

static void input_config_read(void *opaque, uint32_t offset, void *data, uint32_t len)
{
	struct hv_input *d = opaque;
	struct input_config c;

	pthread_mutex_lock(&d->lock);
	config_build(d, &c);
	pthread_mutex_unlock(&d->lock);
	if (offset < sizeof(c) && len <= sizeof(c) - offset)
		memcpy(data, (const uint8_t *)&c + offset, len);
}

/* Only select (byte 0) and subsel (byte 1) are the driver's; the rest is read-only. */
static void input_config_write(void *opaque, uint32_t offset, const void *data, uint32_t len)
{
	struct hv_input *d = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t at = (uint64_t)offset + i;
		if (at == 0)
			d->select = p[i];
		else if (at == 1)
			d->subsel = p[i];
	}
	pthread_mutex_unlock(&d->lock);
}

/* Moves pending events into the guest's eventq buffers. Called with the lock held. */
static void deliver_locked(struct hv_input *d)
{
	struct hv_virtqueue *vq;
	bool pushed = false;

	if (!d->live || d->paused || !d->transport || !d->count)
		return;
	vq = &d->transport->queues[QUEUE_EVENT];
	while (d->count) {
		struct hv_vq_elem *e = &d->elem;
		if (hv_vq_pop(vq, e) != 1)
			break; /* no buffer (events wait), or a broken ring */
		const struct hv_input_event *ev = &d->ring[d->head];
		struct hv_input_event le = {htole16(ev->type), htole16(ev->code),
					    (int32_t)htole32((uint32_t)ev->value)};
		size_t n = 0;
		if (e->in_bytes >= sizeof(le))
			n = hv_vq_elem_write(e, 0, &le, sizeof(le));
		if (hv_vq_push(vq, e, (uint32_t)n) < 0)
			break;
		pushed = true;
		if (n != sizeof(le)) {
			d->stats.bad_buffers++; /* too small: returned empty, the event stays */
			continue;
		}
		d->head = (d->head + 1) % HV_INPUT_RING;
		d->count--;
		d->stats.delivered++;
	}
	if (pushed)
		hv_vq_notify(vq);
}

/* statusq (§5.8.6.2): LED state from the driver. Read, counted, otherwise ignored. */
static void status_drain_locked(struct hv_input *d, struct hv_virtqueue *vq)
{
	bool pushed = false;

	for (unsigned i = 0; i < STATUS_BATCH; i++) {
		struct hv_vq_elem *e = &d->elem;
		struct hv_input_event ev = {0};
		if (hv_vq_pop(vq, e) != 1)
			break;
		if (hv_vq_elem_read(e, 0, &ev, sizeof(ev)) == sizeof(ev) &&
		    le16toh(ev.type) == EV_LED && le16toh(ev.code) < 32) {
			uint32_t bit = 1u << le16toh(ev.code);
			d->stats.leds = ev.value ? d->stats.leds | bit : d->stats.leds & ~bit;
		}
		d->stats.status_events++;
		if (hv_vq_push(vq, e, 0) < 0)
			break;
		pushed = true;
	}
	if (pushed)
		hv_vq_notify(vq);
}

static void input_queue_notify(void *opaque, struct hv_virtqueue *vq)
{
	struct hv_input *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (d->live && vq->index == QUEUE_EVENT)
		deliver_locked(d); /* new buffers: anything waiting goes in */
	else if (d->live && vq->index == QUEUE_STATUS)
		status_drain_locked(d, vq);
	pthread_mutex_unlock(&d->lock);
}

static void input_driver_ok(void *opaque)
{
	struct hv_input *d = opaque;

	pthread_mutex_lock(&d->lock);
	d->live = true;
	deliver_locked(d);
	pthread_mutex_unlock(&d->lock);
}

/* The transport stopped the queues first; the lock waits out a delivery in progress. Events
 * typed for the old driver are not replayed to the next one. */
static void input_reset(void *opaque)
{
	struct hv_input *d = opaque;

	pthread_mutex_lock(&d->lock);
	d->live = false;
	d->select = d->subsel = 0;
	d->head = d->count = 0;
	d->stats.leds = 0;
	pthread_mutex_unlock(&d->lock);
}

/* While the VM is paused, events sent from the display link wait in the ring; whether a
 * snapshot taken meanwhile holds them or not, guest RAM and the device's state agree. */
static void input_pause(void *opaque, bool paused)
{
	struct hv_input *d = opaque;
	pthread_mutex_lock(&d->lock);
	d->paused = paused;
	deliver_locked(d);
	pthread_mutex_unlock(&d->lock);
}

static const struct hv_virtio_dev_ops input_ops = {
    .device_id = VIRTIO_ID_INPUT,
    .features = 0,
    .num_queues = 2,
    .queue_max_size = QUEUE_MAX,
    .config_size = sizeof(struct input_config),
    .config_read = input_config_read,
    .config_write = input_config_write,
    .queue_notify = input_queue_notify,
    .reset = input_reset,
    .driver_ok = input_driver_ok,
    .pause = input_pause,
};

const struct hv_virtio_dev_ops *hv_input_virtio_ops(void)
{
	return &input_ops;
}

int hv_input_new(enum hv_input_kind kind, struct hv_input **out)
{
	if (kind != HV_INPUT_KEYBOARD && kind != HV_INPUT_TABLET)
		return -EINVAL;
	struct hv_input *d = hd_xzalloc(sizeof(*d));
	int e = pthread_mutex_init(&d->lock, NULL);
	if (e) {
		free(d);
		return -e;
	}
	d->kind = kind;
	*out = d;
	return 0;
}

void hv_input_set_transport(struct hv_input *d, struct hv_virtio_mmio *t)
{
	pthread_mutex_lock(&d->lock);
	d->transport = t;
	pthread_mutex_unlock(&d->lock);
}

/* ---- snapshot: config selector, waiting events, counters (section "input.N") ---- */

static void input_save(void *opaque, struct hd_buf *out)
{
	struct hv_input *d = opaque;
	pthread_mutex_lock(&d->lock);
	hv_snap_put_u32(out, d->kind);
	hv_snap_put_u8(out, d->select);
	hv_snap_put_u8(out, d->subsel);
	hv_snap_put_u32(out, d->count);
	for (unsigned i = 0; i < d->count; i++) {
		const struct hv_input_event *e = &d->ring[(d->head + i) % HV_INPUT_RING];
		hv_snap_put_u32(out, e->type);
		hv_snap_put_u32(out, e->code);
		hv_snap_put_u32(out, (uint32_t)e->value);
	}
	const struct hv_input_stats *st = &d->stats;
	uint64_t c[] = {st->queued, st->delivered, st->dropped, st->bad_buffers, st->status_events,
			st->leds};
	for (size_t i = 0; i < HD_ARRAY_SIZE(c); i++)
		hv_snap_put_u64(out, c[i]);
	pthread_mutex_unlock(&d->lock);
}

static int input_load(void *opaque, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct hv_input *d = opaque;
	uint32_t kind = hv_snap_get_u32(in);
	uint8_t sel = hv_snap_get_u8(in), subsel = hv_snap_get_u8(in);
	uint32_t n = hv_snap_get_u32(in);
	if (kind != d->kind || n > HV_INPUT_RING) {
		snprintf(err, errlen, "input device state does not fit this %s", kind_name(d->kind));
		return -EINVAL;
	}
	struct hv_input_event ring[HV_INPUT_RING];
	for (unsigned i = 0; i < n; i++) {
		ring[i].type = (uint16_t)hv_snap_get_u32(in);
		ring[i].code = (uint16_t)hv_snap_get_u32(in);
		ring[i].value = (int32_t)hv_snap_get_u32(in);
	}
	uint64_t c[6];
	for (size_t i = 0; i < HD_ARRAY_SIZE(c); i++)
		c[i] = hv_snap_get_u64(in);
	if (!hv_snap_in_done(in)) {
		snprintf(err, errlen, "input device section has the wrong size");
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	d->select = sel;
	d->subsel = subsel;
	memcpy(d->ring, ring, n * sizeof(ring[0]));
	d->head = 0;
	d->count = n;
	d->stats.queued = c[0];
	d->stats.delivered = c[1];
	d->stats.dropped = c[2];
	d->stats.bad_buffers = c[3];
	d->stats.status_events = c[4];
	d->stats.leds = (uint32_t)c[5];
	d->stats.pending = n;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int hv_input_create(struct hv_vm *vm, enum hv_input_kind kind, struct hv_input **out)
{
	struct hv_input *d = NULL;
	struct hv_virtio_mmio *t;
	int r = hv_input_new(kind, &d);

	if (r < 0)
		return r;
	r = hv_vm_add_virtio(vm, &input_ops, d, &t);
	if (r < 0) {
		hv_input_destroy(d);
		return r;
	}
	hv_input_set_transport(d, t);
	char name[HV_SNAP_NAME_MAX];
	snprintf(name, sizeof(name), "input.%u", t->gsi - HV_MMIO_IRQ_BASE);
	r = hv_snapshot_register(vm, name, 1, input_save, input_load, d);
	if (r < 0) {
		/* The transport stays with the VM, which is torn down unrun on this error. */
		hv_input_destroy(d);
		return r;
	}
	hd_debug(TAG, "%s added", kind_name(kind));
	*out = d;
	return 0;
}

void hv_input_send(struct hv_input *d, const struct hv_input_event *ev, unsigned n)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (!d->live) {
		/* No driver: nobody to type to; input does not pile up for a later one. */
		d->stats.dropped += n;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (d->count == HV_INPUT_RING) {
			/* Full (the guest is not taking buffers back): the oldest goes. */
			d->head = (d->head + 1) % HV_INPUT_RING;
			d->count--;
			d->stats.dropped++;
		}
		d->ring[(d->head + d->count) % HV_INPUT_RING] = ev[i];
		d->count++;
		d->stats.queued++;
	}
	deliver_locked(d);
	pthread_mutex_unlock(&d->lock);
}

void hv_input_get_stats(struct hv_input *d, struct hv_input_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->stats;
	out->pending = d->count;
	pthread_mutex_unlock(&d->lock);
}

void hv_input_destroy(struct hv_input *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}
