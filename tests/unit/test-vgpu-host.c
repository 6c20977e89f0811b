/* test-vgpu-host.c: cmocka tests of the virtual GPU through its virtio-mmio transport (queues
 * answered before the notify returns, config events, reset), its EDID, and the host side
 * (display-set, display-info, screendump decoded back). Not the command details
 * (test-vgpu.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>

#include "hd-common.h"
#include "vgpu-wire.h"
#include "vgpu.h"

#define MEM_SIZE (16ull << 20)
#define HEADS	 3
#define QSIZE	 16
/* Per queue q: descriptors, avail and used rings 64 KiB apart. */
#define DESC_GPA(q)  (0x10000ull + (q)*0x30000ull)
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x10000ull)
#define USED_GPA(q)  (DESC_GPA(q) + 0x20000ull)
#define REQ_GPA	     0x100000ull
#define RESP_GPA     0x140000ull
#define BACK_GPA     0x200000ull

/* virtio 1.2 §4.2.2 registers, written out here rather than taken from the code under test. */
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_DEVICE_ID		0x008
#define REG_DEVICE_FEATURES	0x010
#define REG_CONFIG_GENERATION	0x0fc
#define REG_CONFIG		0x100

struct fx {
	struct hv_mem mem;
	struct hv_virtio_mmio t;
	struct vgpu *g;
	int irq_level, irq_raises;
	uint16_t avail_idx[2];
};

static void irq_cb(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;
	if (level && !f->irq_level)
		f->irq_raises++;
	f->irq_level = level;
}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
	hv_virtio_mmio_access(&f->t, off, &v, 4, true);
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	uint32_t v;
	hv_virtio_mmio_access(&f->t, off, &v, 4, false);
	return v;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vgpu_config cfg = {.heads = HEADS, .memory_limit = 32ull << 20};

	hd_log_set_level(HD_LOG_ERROR);
	assert_int_equal(hv_mem_init(&f->mem, MEM_SIZE), 0);
	assert_int_equal(vgpu_new(&cfg, &f->mem, &f->g), 0);
	assert_int_equal(hv_virtio_mmio_init(&f->t, vgpu_virtio_ops(), f->g, &f->mem, irq_cb, f, 5),
			 0);
	vgpu_set_transport(f->g, &f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	vgpu_destroy(f->g);
	hv_mem_fini(&f->mem);
	free(f);
	return 0;
}

/* The driver side of §3.1.1: features EDID + RESOURCE_BLOB + VERSION_1, two queues. */
static void driver_init(struct fx *f)
{
	assert_int_equal(rd(f, REG_DEVICE_ID), 16);
	wr(f, REG_STATUS, 1 | 2);
	assert_int_equal(rd(f, REG_DEVICE_FEATURES) & 0xa, 0xa);
	assert_int_equal(rd(f, REG_DEVICE_FEATURES) & 1, 0); /* no VIRGL */
	wr(f, REG_DRIVER_FEATURES_SEL, 0);
	wr(f, REG_DRIVER_FEATURES, 0xa);
	wr(f, REG_DRIVER_FEATURES_SEL, 1);
	wr(f, REG_DRIVER_FEATURES, 1);
	wr(f, REG_STATUS, 1 | 2 | 8);
	for (uint32_t q = 0; q < 2; q++) {
		wr(f, REG_QUEUE_SEL, q);
		wr(f, REG_QUEUE_NUM, QSIZE);
		wr(f, REG_QUEUE_DESC_LOW, (uint32_t)DESC_GPA(q));
		wr(f, REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA(q));
		wr(f, REG_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA(q));
		wr(f, REG_QUEUE_READY, 1);
		assert_int_equal(rd(f, REG_QUEUE_READY), 1);
	}
	wr(f, REG_STATUS, 1 | 2 | 8 | 4);
	assert_int_equal(rd(f, REG_STATUS), 1 | 2 | 8 | 4);
}

static void put_desc(struct fx *f, unsigned q, unsigned i, uint64_t gpa, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &gpa, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(hv_mem_write(&f->mem, DESC_GPA(q) + i * 16ull, d, 16), 0);
}

/* Offers the chain starting at descriptor head on queue q (not yet notified). */
static void offer(struct fx *f, unsigned q, uint16_t head)
{
	uint16_t idx = f->avail_idx[q];
	assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA(q) + 4 + 2ull * (idx % QSIZE), &head, 2),
			 0);
	idx++;
	assert_int_equal(hv_mem_write(&f->mem, AVAIL_GPA(q) + 2, &idx, 2), 0);
	f->avail_idx[q] = idx;
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
	uint16_t v;
	assert_int_equal(hv_mem_read(&f->mem, USED_GPA(q) + 2, &v, 2), 0);
	return v;
}

static uint32_t used_len(struct fx *f, unsigned q, uint16_t slot)
{
	uint32_t v;
	assert_int_equal(hv_mem_read(&f->mem, USED_GPA(q) + 4 + 8ull * (slot % QSIZE) + 4, &v, 4),
			 0);
	return v;
}

static void test_queue_answers_before_notify_returns(void **state)
{
	struct fx *f = *state;
	struct vgpu_ctrl_hdr h = {
	    .type = VGPU_CMD_GET_DISPLAY_INFO, .flags = VGPU_FLAG_FENCE, .fence_id = 77};
	struct vgpu_resp_display_info di;

	driver_init(f);
	assert_int_equal(hv_mem_write(&f->mem, REQ_GPA, &h, sizeof(h)), 0);
	put_desc(f, 0, 0, REQ_GPA, sizeof(h), 1 /* NEXT */, 1);
	put_desc(f, 0, 1, RESP_GPA, sizeof(di), 2 /* WRITE */, 0);
	offer(f, 0, 0);
	assert_int_equal(used_idx(f, 0), 0);
	wr(f, REG_QUEUE_NOTIFY, 0);
	/* The write has returned: the answer is already there, and the interrupt is up. */
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(used_len(f, 0, 0), sizeof(di));
	assert_int_equal(hv_mem_read(&f->mem, RESP_GPA, &di, sizeof(di)), 0);
	assert_int_equal(di.hdr.type, VGPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(di.hdr.flags, VGPU_FLAG_FENCE);
	assert_true(di.hdr.fence_id == 77);
	assert_int_equal(di.pmodes[2].enabled, 1);
	assert_int_equal(di.pmodes[3].enabled, 0);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS) & 1, 1);
	wr(f, REG_INTERRUPT_ACK, 1);
	assert_int_equal(f->irq_level, 0);

	/* Three chains, one notify; the create's request split over two descriptors. */
	struct vgpu_resource_create_2d c = {{.type = VGPU_CMD_RESOURCE_CREATE_2D}, 5, 2, 64, 64};
	struct {
		struct vgpu_resource_attach_backing a;
		struct vgpu_mem_entry e;
	} at = {{{.type = VGPU_CMD_RESOURCE_ATTACH_BACKING}, 5, 1}, {BACK_GPA, 16384, 0}};
	struct vgpu_set_scanout s = {{.type = VGPU_CMD_SET_SCANOUT}, {0, 0, 64, 64}, 2, 5};
	hv_mem_write(&f->mem, REQ_GPA, &c, sizeof(c));
	hv_mem_write(&f->mem, REQ_GPA + 0x1000, &at, sizeof(at));
	hv_mem_write(&f->mem, REQ_GPA + 0x2000, &s, sizeof(s));
	put_desc(f, 0, 2, REQ_GPA, 24, 1, 3);
	put_desc(f, 0, 3, REQ_GPA + 24, sizeof(c) - 24, 1, 4);
	put_desc(f, 0, 4, RESP_GPA, 24, 2, 0);
	put_desc(f, 0, 5, REQ_GPA + 0x1000, sizeof(at), 1, 6);
	put_desc(f, 0, 6, RESP_GPA + 0x100, 24, 2, 0);
	put_desc(f, 0, 7, REQ_GPA + 0x2000, sizeof(s), 1, 8);
	put_desc(f, 0, 8, RESP_GPA + 0x200, 24, 2, 0);
	offer(f, 0, 2);
	offer(f, 0, 5);
	offer(f, 0, 7);
	wr(f, REG_QUEUE_NOTIFY, 0);
	assert_int_equal(used_idx(f, 0), 4);
	for (uint64_t i = 0; i < 3; i++) {
		struct vgpu_ctrl_hdr r;
		hv_mem_read(&f->mem, RESP_GPA + i * 0x100, &r, sizeof(r));
		assert_int_equal(r.type, VGPU_RESP_OK_NODATA);
	}
	struct vgpu_head_info hi;
	assert_int_equal(vgpu_head_info(f->g, 2, &hi), 0);
	assert_true(hi.active);
	assert_int_equal(hi.width, 64);

	/* The cursor queue: a request with no response buffer at all still runs. */
	struct vgpu_update_cursor mv = {.hdr = {.type = VGPU_CMD_MOVE_CURSOR},
					.pos = {1, 300, 400, 0}};
	hv_mem_write(&f->mem, REQ_GPA + 0x3000, &mv, sizeof(mv));
	put_desc(f, 1, 0, REQ_GPA + 0x3000, sizeof(mv), 0, 0);
	offer(f, 1, 0);
	wr(f, REG_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(f, 1), 1);
	assert_int_equal(used_len(f, 1, 0), 0);
	struct vgpu_cursor_info ci;
	assert_int_equal(vgpu_head_cursor(f->g, 1, &ci), 0);
	assert_int_equal(ci.x, 300);
	assert_int_equal(ci.y, 400);

	/* Device reset (status 0) drops every resource and scanout. */
	wr(f, REG_STATUS, 0);
	struct vgpu_stats st;
	vgpu_get_stats(f->g, &st);
	assert_int_equal(st.resources, 0);
	assert_true(st.memory_used == 0);
	assert_int_equal(vgpu_head_info(f->g, 2, &hi), 0);
	assert_false(hi.active);
}

static uint32_t cfg_rd(struct fx *f, uint32_t off)
{
	return rd(f, REG_CONFIG + off);
}

static void test_config_event(void **state)
{
	struct fx *f = *state;
	struct vgpu_ctrl_hdr h = {.type = VGPU_CMD_GET_DISPLAY_INFO};
	struct vgpu_resp_display_info di;

	driver_init(f);
	assert_int_equal(cfg_rd(f, 0), 0);     /* events_read */
	assert_int_equal(cfg_rd(f, 8), HEADS); /* num_scanouts */
	assert_int_equal(cfg_rd(f, 12), 0);    /* num_capsets */
	uint32_t gen = rd(f, REG_CONFIG_GENERATION);

	assert_int_equal(vgpu_display_set(f->g, 1, 1280, 720, 0, 0, 0), 0);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS) & 2, 2);
	assert_true(rd(f, REG_CONFIG_GENERATION) != gen);
	assert_int_equal(cfg_rd(f, 0), VGPU_EVENT_DISPLAY);
	wr(f, REG_CONFIG + 4, VGPU_EVENT_DISPLAY); /* events_clear */
	assert_int_equal(cfg_rd(f, 0), 0);
	assert_int_equal(cfg_rd(f, 4), 0);
	wr(f, REG_CONFIG + 8, 9); /* read-only: ignored */
	assert_int_equal(cfg_rd(f, 8), HEADS);
	vgpu_ctrl_request(f->g, &h, sizeof(h), &di, sizeof(di));
	assert_int_equal(di.pmodes[1].r.width, 1280);
	assert_int_equal(di.pmodes[1].r.height, 720);

	assert_int_equal(vgpu_display_set(f->g, HEADS, 800, 600, 0, 0, 0), -EINVAL);
	assert_int_equal(vgpu_display_set(f->g, 0, 15, 600, 0, 0, 0), -EINVAL);
	assert_int_equal(vgpu_display_set(f->g, 0, 800, 16385, 0, 0, 0), -EINVAL);
	assert_int_equal(vgpu_display_set(f->g, 0, 0, 600, 0, 0, 0), -EINVAL);
	assert_int_equal(vgpu_display_set(f->g, 0, 800, 600, 4096, 0, 0), -EINVAL);
	assert_int_equal(vgpu_display_set(f->g, 0, 0, 0, 0, 0, 0), 0);
	vgpu_ctrl_request(f->g, &h, sizeof(h), &di, sizeof(di));
	assert_int_equal(di.pmodes[0].enabled, 0);
	assert_int_equal(di.pmodes[1].enabled, 1);
	struct vgpu_head_info hi;
	assert_int_equal(vgpu_head_info(f->g, 1, &hi), 0);
	assert_int_equal(hi.width_mm, 339); /* 1280 px at 96 DPI */
	assert_int_equal(hi.height_mm, 191);
}

static void edid_get(struct fx *f, unsigned head, uint8_t e[128])
{
	struct vgpu_get_edid c = {{.type = VGPU_CMD_GET_EDID}, head, 0};
	static struct vgpu_resp_edid r;

	assert_int_equal(vgpu_ctrl_request(f->g, &c, sizeof(c), &r, sizeof(r)), sizeof(r));
	assert_int_equal(r.hdr.type, VGPU_RESP_OK_EDID);
	assert_int_equal(r.size, 128);
	memcpy(e, r.edid, 128);
	uint8_t sum = 0;
	for (int i = 0; i < 128; i++)
		sum = (uint8_t)(sum + e[i]);
	assert_int_equal(sum, 0);
	static const uint8_t magic[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
	assert_memory_equal(e, magic, 8);
	assert_int_equal(e[18], 1);
	assert_int_equal(e[19], 4);
	assert_int_equal(e[20] & 0x80, 0x80); /* digital */
	assert_int_equal(e[126], 0);
}

struct dtd {
	unsigned clock_10khz, hact, hblank, vact, vblank, wmm, hmm;
};

static struct dtd dtd_parse(const uint8_t *d)
{
	return (struct dtd){
	    .clock_10khz = d[0] | d[1] << 8,
	    .hact = d[2] | (d[4] >> 4) << 8,
	    .hblank = d[3] | (d[4] & 15) << 8,
	    .vact = d[5] | (d[7] >> 4) << 8,
	    .vblank = d[6] | (d[7] & 15) << 8,
	    .wmm = d[12] | (d[14] >> 4) << 8,
	    .hmm = d[13] | (d[14] & 15) << 8,
	};
}

static void test_edid(void **state)
{
	struct fx *f = *state;
	uint8_t e[128];

	assert_int_equal(vgpu_display_set(f->g, 0, 1920, 1080, 600, 340, 0), 0);
	edid_get(f, 0, e);
	assert_int_equal(e[21], 60); /* cm */
	assert_int_equal(e[22], 34);
	assert_int_equal(e[24] & 2, 2); /* preferred timing is native */
	struct dtd d = dtd_parse(e + 54);
	assert_true(d.clock_10khz != 0);
	assert_int_equal(d.hact, 1920);
	assert_int_equal(d.vact, 1080);
	assert_int_equal(d.wmm, 600);
	assert_int_equal(d.hmm, 340);
	double hz = d.clock_10khz * 10000.0 / ((d.hact + d.hblank) * (double)(d.vact + d.vblank));
	assert_true(hz > 59.5 && hz < 60.5);
	/* A monitor name descriptor follows. */
	assert_int_equal(e[72 + 3], 0xfc);
	assert_memory_equal(e + 72 + 5, "hyperdesk\n", 10);

	/* Sizes from 96 DPI when none is given. */
	assert_int_equal(vgpu_display_set(f->g, 1, 1920, 1080, 0, 0, 0), 0);
	edid_get(f, 1, e);
	d = dtd_parse(e + 54);
	assert_int_equal(d.wmm, 508);
	assert_int_equal(d.hmm, 286);
	assert_int_equal(e[21], 51);
	assert_int_equal(e[22], 29);

	/* Too big for a DTD: clamped, clock within its 16 bits, checksum still right. */
	assert_int_equal(vgpu_display_set(f->g, 2, 16384, 16384, 4095, 4095, 0), 0);
	edid_get(f, 2, e);
	d = dtd_parse(e + 54);
	assert_int_equal(d.hact, 4095);
	assert_int_equal(d.vact, 4095);
	assert_true(d.clock_10khz > 0 && d.clock_10khz <= 65535);
	assert_int_equal(e[21], 255);
	/* A wide mode at the default 96 DPI is 4335 mm across: scaled as a whole into the
	 * DTD's 12 bits, never wrapped (4335 mod 4096 would claim 239 mm). */
	assert_int_equal(vgpu_display_set(f->g, 2, 16384, 1024, 0, 0, 0), 0);
	edid_get(f, 2, e);
	d = dtd_parse(e + 54);
	assert_int_equal(d.wmm, 4095);
	assert_int_equal(d.hmm, 255); /* 271 mm scaled by 4095/4335 */
	assert_int_equal(vgpu_display_set(f->g, 2, 16, 16, 1, 1, 0), 0);
	edid_get(f, 2, e);
	assert_int_equal(e[21], 1);
	assert_int_equal(dtd_parse(e + 54).hact, 16);

	/* The viewer's depth is the EDID's bits per colour: 6 for 16-bit viewers and below,
	 * 8 for full colour or when not known; anything but a real depth is refused. */
	static const uint32_t depths[][2] = {{0, 0xa5}, {8, 0x95}, {15, 0x95}, {16, 0x95},
					     {24, 0xa5}, {32, 0xa5}};
	for (unsigned i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		assert_int_equal(vgpu_display_set(f->g, 1, 1280, 720, 0, 0, depths[i][0]), 0);
		edid_get(f, 1, e);
		assert_int_equal(e[20], depths[i][1]);
		uint8_t sum = 0;
		for (unsigned k = 0; k < 128; k++)
			sum = (uint8_t)(sum + e[k]);
		assert_int_equal(sum, 0);
		struct vgpu_head_info hi;
		assert_int_equal(vgpu_head_info(f->g, 1, &hi), 0);
		assert_int_equal(hi.depth, depths[i][0]);
	}
	assert_int_equal(vgpu_display_set(f->g, 1, 1280, 720, 0, 0, 17), -EINVAL);
	assert_int_equal(vgpu_display_set(f->g, 1, 1280, 720, 0, 0, 64), -EINVAL);

	struct vgpu_get_edid c = {{.type = VGPU_CMD_GET_EDID}, HEADS, 0};
	struct vgpu_resp_edid r;
	vgpu_ctrl_request(f->g, &c, sizeof(c), &r, sizeof(r));
	assert_int_equal(r.hdr.type, VGPU_RESP_ERR_INVALID_SCANOUT_ID);
	/* A response buffer with room for only the header gets an error. */
	c.scanout = 0;
	assert_int_equal(vgpu_ctrl_request(f->g, &c, sizeof(c), &r, 100), 24);
	assert_int_equal(r.hdr.type, VGPU_RESP_ERR_UNSPEC);
}

static int ctl(struct fx *f, const char *cmd, const char *args_json, struct hd_buf *result,
	       struct hd_buf *error)
{
	struct hd_json *args;
	char perr[128];

	hd_buf_reset(result);
	hd_buf_reset(error);
	assert_int_equal(hd_json_parse(args_json, strlen(args_json), &args, perr, sizeof(perr)), 0);
	int r = vgpu_control_exec(f->g, cmd, args, result, error);
	hd_json_free(args);
	return r;
}

/* Decodes a PNG file with libavcodec into RGB24; returns the frame. */
static AVFrame *png_decode(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	assert_true(n > 8);
	assert_memory_equal(buf, "\x89PNG\r\n\x1a\n", 8);
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_PNG);
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	assert_int_equal(avcodec_open2(ctx, codec, NULL), 0);
	pkt->data = buf;
	pkt->size = (int)n;
	assert_int_equal(avcodec_send_packet(ctx, pkt), 0);
	assert_int_equal(avcodec_receive_frame(ctx, frame), 0);
	assert_int_equal(frame->format, AV_PIX_FMT_RGB24);
	av_packet_free(&pkt);
	avcodec_free_context(&ctx);
	return frame;
}

static void test_control_and_screendump(void **state)
{
	struct fx *f = *state;
	struct hd_buf res, err;
	char path[] = "/tmp/test-vgpu-XXXXXX";

	hd_buf_init(&res);
	hd_buf_init(&err);
	assert_int_equal(ctl(f, "display-set", "[1, 800, 600]", &res, &err), 0);
	struct vgpu_head_info hi;
	vgpu_head_info(f->g, 1, &hi);
	assert_int_equal(hi.req_width, 800);
	assert_int_equal(hi.width_mm, 212);
	assert_int_equal(ctl(f, "display-set", "[1, 800, 600, 300, 200]", &res, &err), 0);
	vgpu_head_info(f->g, 1, &hi);
	assert_int_equal(hi.width_mm, 300);
	assert_int_equal(hi.height_mm, 200);
	assert_int_equal(ctl(f, "display-set", "[1, 800]", &res, &err), -1);
	assert_non_null(strstr(err.data, "usage"));
	assert_int_equal(ctl(f, "display-set", "[3, 800, 600]", &res, &err), -1);
	assert_int_equal(ctl(f, "display-set", "[0, \"x\", 600]", &res, &err), -1);
	assert_int_equal(ctl(f, "display-set", "[0, 10, 10]", &res, &err), -1);
	assert_int_equal(ctl(f, "display-set", "[0, 800.5, 600]", &res, &err), -1);
	assert_int_equal(ctl(f, "display-set", "[0, -1, 600]", &res, &err), -1);
	assert_int_equal(ctl(f, "display-set", "[0, 0, 0]", &res, &err), 0);

	assert_int_equal(ctl(f, "display-info", "[]", &res, &err), 0);
	struct hd_json *info;
	char perr[128];
	assert_int_equal(hd_json_parse(res.data, res.len, &info, perr, sizeof(perr)), 0);
	const struct hd_json *heads = hd_json_get(info, "heads");
	assert_non_null(heads);
	assert_int_equal(heads->count, HEADS);
	assert_false(hd_json_get(heads->items[0], "enabled")->boolean);
	int64_t v;
	assert_true(hd_json_get_int(hd_json_get(heads->items[1], "requested"), "width", &v));
	assert_int_equal(v, 800);
	assert_true(hd_json_get_int(hd_json_get(info, "memory"), "limit", &v));
	assert_int_equal(v, 32 << 20);
	assert_int_equal(hd_json_get(heads->items[1], "scanout")->type, HD_JSON_NULL);
	hd_json_free(info);
	assert_int_equal(ctl(f, "display-info", "[1]", &res, &err), -1);

	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char args[128];
	snprintf(args, sizeof(args), "[1, \"%s\"]", path);
	assert_int_equal(ctl(f, "screendump", args, &res, &err), -1);
	assert_non_null(strstr(err.data, "no scanout"));
	assert_int_equal(ctl(f, "screendump", "[1]", &res, &err), -1);
	assert_int_equal(ctl(f, "frobnicate", "[]", &res, &err), -1);

	/* A 40x30 R8G8B8A8 picture: red = x, green = y, blue = 0x99, shown on head 1. */
	uint8_t *g = hv_mem_ptr(&f->mem, BACK_GPA, 40 * 30 * 4);
	for (int y = 0; y < 30; y++)
		for (int x = 0; x < 40; x++) {
			uint8_t px[4] = {(uint8_t)x, (uint8_t)y, 0x99, 0xff};
			memcpy(g + (y * 40 + x) * 4, px, 4);
		}
	struct vgpu_resource_create_2d c = {
	    {.type = VGPU_CMD_RESOURCE_CREATE_2D}, 1, VGPU_FORMAT_R8G8B8A8_UNORM, 40, 30};
	struct {
		struct vgpu_resource_attach_backing a;
		struct vgpu_mem_entry e;
	} at = {{{.type = VGPU_CMD_RESOURCE_ATTACH_BACKING}, 1, 1}, {BACK_GPA, 40 * 30 * 4, 0}};
	struct vgpu_transfer_to_host_2d t = {
	    {.type = VGPU_CMD_TRANSFER_TO_HOST_2D}, {0, 0, 40, 30}, 0, 1, 0};
	struct vgpu_set_scanout s = {{.type = VGPU_CMD_SET_SCANOUT}, {0, 0, 40, 30}, 1, 1};
	struct vgpu_ctrl_hdr r;
	vgpu_ctrl_request(f->g, &c, sizeof(c), &r, sizeof(r));
	assert_int_equal(r.type, VGPU_RESP_OK_NODATA);
	vgpu_ctrl_request(f->g, &at, sizeof(at), &r, sizeof(r));
	assert_int_equal(r.type, VGPU_RESP_OK_NODATA);
	vgpu_ctrl_request(f->g, &t, sizeof(t), &r, sizeof(r));
	assert_int_equal(r.type, VGPU_RESP_OK_NODATA);
	vgpu_ctrl_request(f->g, &s, sizeof(s), &r, sizeof(r));
	assert_int_equal(r.type, VGPU_RESP_OK_NODATA);

	assert_int_equal(ctl(f, "screendump", args, &res, &err), 0);
	AVFrame *fr = png_decode(path);
	assert_int_equal(fr->width, 40);
	assert_int_equal(fr->height, 30);
	for (int y = 0; y < 30; y += 7)
		for (int x = 0; x < 40; x += 3) {
			const uint8_t *p = fr->data[0] + y * fr->linesize[0] + x * 3;
			assert_int_equal(p[0], x);
			assert_int_equal(p[1], y);
			assert_int_equal(p[2], 0x99);
		}
	av_frame_free(&fr);

	assert_int_equal(ctl(f, "display-info", "[]", &res, &err), 0);
	assert_non_null(strstr(res.data, "\"scanout\":{\"resource\":1,\"width\":40,\"height\":30"));
	/* An unwritable destination is an error, not a crash. */
	assert_int_equal(ctl(f, "screendump", "[1, \"/nonexistent/dir/x.png\"]", &res, &err), -1);
	assert_non_null(strstr(err.data, "cannot create"));
	unlink(path);
	hd_buf_free(&res);
	hd_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_queue_answers_before_notify_returns, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_and_screendump, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
