/* input.c: the demo kernel's virtio-input driver (virtio 1.2 §5.8: keyboard, tablet) and its
 * system calls input_open/input_read. Not a keymap or a cursor: the program interprets events. */
#include "kernel.h"
#include "virtq.h"

#define VIRTIO_ID_INPUT 18
#define INPUT_MAX_DEVS	4
/* Events taken from the devices but not yet read by the program; the oldest go when full. */
#define INPUT_RING	256

/* §5.8.5 config: select, subsel, size at bytes 0..2, the payload from byte 8. */
#define CFG_SELECT   0
#define CFG_SUBSEL   1
#define CFG_SIZE     2
#define CFG_U	     8
#define CFG_EV_BITS  0x11
#define CFG_ABS_INFO 0x12
#define EV_ABS	     3

struct input_dev {
	uintptr_t mmio;
	uint32_t gsi;
	int kind;		   /* DEMO_INPUT_KEYBOARD or DEMO_INPUT_TABLET */
	int32_t abs_min[2], abs_max[2]; /* tablet: X and Y ranges */
	struct virtq evq;
	uint16_t used_seen;
};

static struct input_dev devs[INPUT_MAX_DEVS];
static struct vq_ring rings[INPUT_MAX_DEVS];
static struct demo_input_event bufs[INPUT_MAX_DEVS][VQ_SIZE];
static unsigned ndevs;
static int opened; /* 0 not yet, else the result of the first input_open */
static struct demo_input_event ring[INPUT_RING];
static unsigned ring_head, ring_count;
static uint32_t ring_dropped;

static uint8_t cfg_r8(uintptr_t m, uint32_t off)
{
	return *(volatile uint8_t *)(m + VMMIO_CONFIG + off);
}

static void cfg_w8(uintptr_t m, uint32_t off, uint8_t v)
{
	*(volatile uint8_t *)(m + VMMIO_CONFIG + off) = v;
}

static uint8_t cfg_select(uintptr_t m, uint8_t sel, uint8_t sub)
{
	cfg_w8(m, CFG_SELECT, sel);
	cfg_w8(m, CFG_SUBSEL, sub);
	return cfg_r8(m, CFG_SIZE);
}

/* Puts descriptor i (one 8-byte device-writable buffer) on the avail ring. */
static void post(struct input_dev *d, unsigned dev_index, uint16_t i)
{
	struct vq_ring *r = d->evq.ring;

	r->desc[i].addr = (uint64_t)(uintptr_t)&bufs[dev_index][i];
	r->desc[i].len = sizeof(struct demo_input_event);
	r->desc[i].flags = VQ_DESC_F_WRITE;
	r->desc[i].next = 0;
	r->avail.ring[d->evq.next_avail & (d->evq.size - 1)] = i;
	d->evq.next_avail++;
	__atomic_store_n(&r->avail.idx, d->evq.next_avail, __ATOMIC_RELEASE);
}

static int32_t normalise(const struct input_dev *d, unsigned axis, int32_t v)
{
	int64_t lo = d->abs_min[axis], hi = d->abs_max[axis];

	if (hi <= lo)
		return 0;
	if (v < lo)
		v = (int32_t)lo;
	if (v > hi)
		v = (int32_t)hi;
	return (int32_t)(((int64_t)v - lo) * DEMO_INPUT_ABS_MAX / (hi - lo));
}

static void ring_put(const struct demo_input_event *e)
{
	if (ring_count == INPUT_RING) {
		ring_head = (ring_head + 1) % INPUT_RING;
		ring_count--;
		ring_dropped++;
	}
	ring[(ring_head + ring_count) % INPUT_RING] = *e;
	ring_count++;
}

/* Takes what the devices wrote and gives the buffers back. Interrupts off. */
static void harvest(void)
{
	for (unsigned k = 0; k < ndevs; k++) {
		struct input_dev *d = &devs[k];
		struct vq_ring *r = d->evq.ring;
		uint16_t end = __atomic_load_n(&r->used.idx, __ATOMIC_ACQUIRE);
		int reposted = 0;

		/* At most a ring's worth: a device claiming more is not believed. */
		for (unsigned n = 0; d->used_seen != end && n < d->evq.size; n++) {
			struct vq_used_elem u = r->used.ring[d->used_seen & (d->evq.size - 1)];
			d->used_seen++;
			if (u.id >= d->evq.size)
				continue;
			struct demo_input_event e = bufs[k][u.id];
			if (u.len >= sizeof(e)) {
				if (d->kind == DEMO_INPUT_TABLET && e.type == EV_ABS && e.code < 2)
					e.value = normalise(d, e.code, e.value);
				ring_put(&e);
			}
			post(d, k, (uint16_t)u.id);
			reposted = 1;
		}
		if (reposted)
			mmio_write32(d->mmio, VMMIO_QUEUE_NOTIFY, 0);
	}
}

void input_interrupt(void)
{
	for (unsigned k = 0; k < ndevs; k++) {
		uint32_t isr = mmio_read32(devs[k].mmio, VMMIO_INT_STATUS);
		if (isr)
			mmio_write32(devs[k].mmio, VMMIO_INT_ACK, isr);
	}
	harvest();
}

int input_pending(void)
{
	return ring_count != 0;
}

/* §3.1.1 for one device: VERSION_1 only, the eventq filled, statusq left unused. */
static int probe_one(const struct hv_boot_device *bd)
{
	struct input_dev *d = &devs[ndevs];
	uintptr_t m = (uintptr_t)bd->base;

	if (mmio_read32(m, VMMIO_MAGIC) != VMMIO_MAGIC_VALUE || mmio_read32(m, VMMIO_VERSION) != 2 ||
	    mmio_read32(m, VMMIO_DEVICE_ID) != VIRTIO_ID_INPUT)
		return -1;
	mmio_write32(m, VMMIO_STATUS, 0);
	mmio_write32(m, VMMIO_STATUS, VSTAT_ACK | VSTAT_DRIVER);
	mmio_write32(m, VMMIO_DEVICE_FEAT_SEL, 1);
	if (!(mmio_read32(m, VMMIO_DEVICE_FEATURES) & 1))
		goto fail;
	mmio_write32(m, VMMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(m, VMMIO_DRIVER_FEATURES, 0);
	mmio_write32(m, VMMIO_DRIVER_FEAT_SEL, 1);
	mmio_write32(m, VMMIO_DRIVER_FEATURES, 1);
	mmio_write32(m, VMMIO_STATUS, VSTAT_ACK | VSTAT_DRIVER | VSTAT_FEATURES_OK);
	if (!(mmio_read32(m, VMMIO_STATUS) & VSTAT_FEATURES_OK))
		goto fail;

	d->mmio = m;
	d->gsi = bd->irq;
	d->kind = cfg_select(m, CFG_EV_BITS, EV_ABS) ? DEMO_INPUT_TABLET : DEMO_INPUT_KEYBOARD;
	for (unsigned axis = 0; axis < 2; axis++) {
		d->abs_min[axis] = 0;
		d->abs_max[axis] = DEMO_INPUT_ABS_MAX;
		if (d->kind == DEMO_INPUT_TABLET && cfg_select(m, CFG_ABS_INFO, (uint8_t)axis) >= 8) {
			uint32_t lo = 0, hi = 0;
			for (unsigned b = 0; b < 4; b++) {
				lo |= (uint32_t)cfg_r8(m, CFG_U + b) << (8 * b);
				hi |= (uint32_t)cfg_r8(m, CFG_U + 4 + b) << (8 * b);
			}
			d->abs_min[axis] = (int32_t)lo;
			d->abs_max[axis] = (int32_t)hi;
		}
	}
	if (vq_setup(&d->evq, &rings[ndevs], m, 0) < 0)
		goto fail;
	rings[ndevs].avail.flags = 0; /* events come unasked: the interrupt is the point */
	for (uint16_t i = 0; i < d->evq.size; i++)
		post(d, ndevs, i);
	d->used_seen = 0;
	mmio_write32(m, VMMIO_STATUS, VSTAT_ACK | VSTAT_DRIVER | VSTAT_FEATURES_OK | VSTAT_DRIVER_OK);
	mmio_write32(m, VMMIO_QUEUE_NOTIFY, 0);
	intr_route(d->gsi, VEC_INPUT);
	ndevs++;
	return d->kind;
fail:
	mmio_write32(m, VMMIO_STATUS, VSTAT_FAILED);
	return -1;
}

long ksys_input_open(void)
{
	uint32_t n;
	int kinds = 0;

	if (opened)
		return opened;
	n = boot_info->device_count < HV_BOOT_MAX_DEV ? boot_info->device_count : HV_BOOT_MAX_DEV;
	for (uint32_t i = 0; i < n && ndevs < INPUT_MAX_DEVS; i++) {
		if (boot_info->devices[i].virtio_id != VIRTIO_ID_INPUT ||
		    boot_info->devices[i].size < 0x200)
			continue;
		int k = probe_one(&boot_info->devices[i]);
		if (k > 0)
			kinds |= k;
	}
	opened = kinds ? kinds : -DEMO_ENODEV;
	return opened;
}

long ksys_input_read(uint64_t uev, uint64_t max, uint64_t timeout_ms)
{
	struct demo_input_event *out = (struct demo_input_event *)uev;
	uint64_t deadline = ~0ull;
	long n = 0;

	if (opened <= 0)
		return -DEMO_ENODEV;
	if (max > INPUT_RING)
		max = INPUT_RING;
	if ((uev & 7) || !max || !user_range_ok(uev, max * sizeof(*out)))
		return -DEMO_EFAULT;
	if (timeout_ms != DEMO_WAIT_FOREVER) {
		if (timeout_ms > DEMO_SLEEP_MAX_MS)
			return -DEMO_EINVAL;
		deadline = rdtsc() + timeout_ms * tsc_khz();
	}
	intr_poll();
	harvest(); /* as display_wait: a pending interrupt may not be injected without an exit */
	while (!ring_count && timeout_ms && rdtsc() < deadline) {
		kwait_until(deadline);
		harvest();
	}
	while (ring_count && (uint64_t)n < max) {
		kcopy(&out[n++], &ring[ring_head], sizeof(*out));
		ring_head = (ring_head + 1) % INPUT_RING;
		ring_count--;
	}
	return n;
}
