/* fuzz-vgpu.c: libFuzzer target for the virtual GPU: the input is a stream of control-queue
 * and cursor-queue requests, guest memory writes and host display changes, run against a
 * small guest. Not a fuzzer of the virtqueue parser (fuzz-virtqueue.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hd-common.h"
#include "vgpu-wire.h"
#include "vgpu.h"

/*
 * Input: records of [kind u8][len u16 little-endian][len bytes], until the input ends:
 *   kind % 4 == 0: a control-queue request; kind & 0x80: a response buffer of only 24 bytes
 *   kind % 4 == 1: a cursor-queue request
 *   kind % 4 == 2: display-set: head u8, width u16, height u16, width_mm u16, height_mm u16
 *   kind % 4 == 3: guest RAM write: gpa u32 (modulo RAM size), then the bytes
 * Every input starts from a reset device and zeroed RAM, so it reproduces on its own.
 */
#define MEM_SIZE (2u << 20)
#define LIMIT	 (4u << 20)
#define HEADS	 2

static struct hv_mem mem;
static struct vgpu *gpu;
static uint8_t resp[2048];

static uint32_t fb_w[HEADS], fb_h[HEADS];

/* What the device promises its listener; a violation is a bug, so crash. */
static void on_frame(void *o, unsigned head, const struct vgpu_rect *d, unsigned n, uint64_t frame)
{
	if (head >= HEADS || n != 1 || !d[0].width || !d[0].height ||
	    (uint64_t)d[0].x + d[0].width > fb_w[head] ||
	    (uint64_t)d[0].y + d[0].height > fb_h[head])
		__builtin_trap();
}

static void on_mode(void *o, unsigned head, uint32_t w, uint32_t h, uint32_t stride, int fd)
{
	struct stat st;

	if (head >= HEADS || stride != w * 4)
		__builtin_trap();
	if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_size < (uint64_t)stride * h))
		__builtin_trap();
	fb_w[head] = w;
	fb_h[head] = h;
}

static void once(void)
{
	static const struct vgpu_listener l = {on_frame, on_mode, NULL, NULL};
	struct vgpu_config cfg = {.heads = HEADS, .memory_limit = LIMIT};

	if (gpu)
		return;
	hd_log_set_level(HD_LOG_ERROR);
	if (hv_mem_init(&mem, MEM_SIZE) < 0 || vgpu_new(&cfg, &mem, &gpu) < 0)
		abort();
	vgpu_set_listener(gpu, &l);
}

static bool valid_resp(uint32_t type)
{
	return (type >= VGPU_RESP_OK_NODATA && type <= VGPU_RESP_OK_EDID) ||
	       (type >= VGPU_RESP_ERR_UNSPEC && type <= VGPU_RESP_ERR_INVALID_PARAMETER);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vgpu_stats st;

	once();
	memset(mem.base, 0, MEM_SIZE);
	while (size >= 3) {
		uint8_t kind = data[0];
		size_t len = le16(data + 1);
		data += 3;
		size -= 3;
		len = len < size ? len : size;
		const uint8_t *p = data;
		data += len;
		size -= len;

		switch (kind % 4) {
		case 0:
		case 1: {
			size_t cap = kind & 0x80 ? 24 : sizeof(resp);
			size_t n = kind % 4 ? vgpu_cursor_request(gpu, p, len, resp, cap)
					    : vgpu_ctrl_request(gpu, p, len, resp, cap);
			uint32_t type;
			memcpy(&type, resp, 4);
			if (n < 24 || n > cap || !valid_resp(type))
				__builtin_trap();
			break;
		}
		case 2:
			if (len >= 9)
				vgpu_display_set(gpu, p[0], le16(p + 1), le16(p + 3), le16(p + 5),
						 le16(p + 7), len >= 10 ? p[9] : 0);
			break;
		case 3:
			if (len >= 4) {
				uint32_t gpa;
				memcpy(&gpa, p, 4);
				gpa %= MEM_SIZE;
				size_t n = len - 4 < MEM_SIZE - gpa ? len - 4 : MEM_SIZE - gpa;
				memcpy(mem.base + gpa, p + 4, n);
			}
			break;
		}
		vgpu_get_stats(gpu, &st);
		if (st.memory_used > st.memory_limit)
			__builtin_trap();
	}
	/* A reset must give back every byte and forget every resource. */
	vgpu_reset(gpu);
	vgpu_get_stats(gpu, &st);
	if (st.memory_used != 0 || st.resources != 0)
		__builtin_trap();
	for (unsigned i = 0; i < HEADS; i++)
		vgpu_display_set(gpu, i, VGPU_DEFAULT_WIDTH, VGPU_DEFAULT_HEIGHT, 0, 0, 0);
	return 0;
}
