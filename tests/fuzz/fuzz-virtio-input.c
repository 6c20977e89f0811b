/* fuzz-virtio-input.c: libFuzzer target for what a guest feeds the virtio-input devices: config
 * space accesses (select/subsel) and statusq descriptor tables, mixed with host events. Not a
 * fuzzer of the ring parser itself (fuzz-virtqueue.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv.h"

/*
 * Input: [0] bit 0 tablet instead of keyboard; [1] statusq size = 1 << (byte % 7);
 * then ops of 4 bytes until a 0xff op byte:
 *   op % 4 == 0: config write of (len = 1 << (b1 % 4)) bytes at offset b2 with value b3...
 *   op % 4 == 1: config read of that shape (must stay zero past the config's 136 bytes)
 *   op % 4 == 2: host sends an event (type b1, code b2, value b3)
 *   op % 4 == 3: eventq notify
 * then the statusq's descriptor table and avail ring, then buffer memory; statusq is notified.
 */
#define MEM_SIZE   (1u << 20)
#define EDESC_GPA  0x1000u
#define EAVAIL_GPA 0x2000u
#define EUSED_GPA  0x3000u
#define SDESC_GPA  0x4000u
#define SAVAIL_GPA 0x5000u
#define SUSED_GPA  0x6000u
#define BUF_GPA	   0x10000u

#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_CONFIG		0x100
#define CONFIG_BYTES		136

static struct hv_mem mem;
static struct hv_virtio_mmio tr[2];
static struct hv_input *dev[2];

static void irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static void wr(struct hv_virtio_mmio *t, uint64_t off, uint32_t v)
{
	hv_virtio_mmio_access(t, off, &v, 4, true);
}

static void once(void)
{
	if (mem.base)
		return;
	hd_log_set_level(HD_LOG_ERROR);
	if (hv_mem_init(&mem, MEM_SIZE) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		if (hv_input_new(i ? HV_INPUT_TABLET : HV_INPUT_KEYBOARD, &dev[i]) < 0 ||
		    hv_virtio_mmio_init(&tr[i], hv_input_virtio_ops(), dev[i], &mem, irq, NULL, 5) < 0)
			abort();
		hv_input_set_transport(dev[i], &tr[i]);
	}
}

static void queue(struct hv_virtio_mmio *t, unsigned q, unsigned size, uint32_t d, uint32_t a,
		  uint32_t u)
{
	wr(t, REG_QUEUE_SEL, q);
	wr(t, REG_QUEUE_NUM, size);
	wr(t, REG_QUEUE_DESC_LOW, d);
	wr(t, REG_QUEUE_DRIVER_LOW, a);
	wr(t, REG_QUEUE_DEVICE_LOW, u);
	wr(t, REG_QUEUE_READY, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	once();
	if (size < 2)
		return 0;
	struct hv_virtio_mmio *t = &tr[data[0] & 1];
	struct hv_input *d = dev[data[0] & 1];
	unsigned ssize = 1u << (data[1] % 7);
	data += 2;
	size -= 2;

	memset(mem.base, 0, MEM_SIZE);
	wr(t, REG_STATUS, 0);
	wr(t, REG_STATUS, 3);
	wr(t, REG_DRIVER_FEATURES_SEL, 1);
	wr(t, REG_DRIVER_FEATURES, 1);
	wr(t, REG_STATUS, 3 | 8);
	queue(t, 0, 8, EDESC_GPA, EAVAIL_GPA, EUSED_GPA);
	queue(t, 1, ssize, SDESC_GPA, SAVAIL_GPA, SUSED_GPA);
	wr(t, REG_STATUS, 3 | 8 | 4);

	while (size >= 4 && data[0] != 0xff) {
		uint8_t op = data[0], b1 = data[1], b2 = data[2], b3 = data[3];
		uint32_t len = 1u << (b1 % 4);
		uint64_t v = 0x0101010101010101ull * b3;
		switch (op % 4) {
		case 0:
			hv_virtio_mmio_access(t, REG_CONFIG + b2, &v, len, true);
			break;
		case 1:
			v = ~0ull; /* bytes past len stay ones; those read must be zero past the end */
			hv_virtio_mmio_access(t, REG_CONFIG + b2, &v, len, false);
			if (len < 8)
				v &= (1ull << (8 * len)) - 1;
			if (b2 >= CONFIG_BYTES && v)
				__builtin_trap();
			break;
		case 2: {
			struct hv_input_event ev = {b1, b2, (int32_t)v};
			hv_input_send(d, &ev, 1);
			break;
		}
		default:
			wr(t, REG_QUEUE_NOTIFY, 0);
			break;
		}
		data += 4;
		size -= 4;
	}
	if (size) {
		data++;
		size--;
	}
	size_t n = size < 16u * ssize ? size : 16u * ssize;
	memcpy(mem.base + SDESC_GPA, data, n);
	data += n;
	size -= n;
	n = size < 6u + 2u * ssize ? size : 6u + 2u * ssize;
	memcpy(mem.base + SAVAIL_GPA, data, n);
	data += n;
	size -= n;
	n = size < MEM_SIZE - BUF_GPA ? size : MEM_SIZE - BUF_GPA;
	memcpy(mem.base + BUF_GPA, data, n);
	wr(t, REG_QUEUE_NOTIFY, 1);

	struct hv_input_stats st;
	hv_input_get_stats(d, &st);
	if (st.pending > HV_INPUT_RING)
		__builtin_trap();
	return 0;
}
