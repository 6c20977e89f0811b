/* test-rdp-gfx.c: the RDP graphics pipeline's pure parts and its encoder: capability choice
 * for real clients' advertisements, frame pacing against stale and invented acknowledgements,
 * damage tidying before encoding, the BGRX to YUV 4:2:0 conversion, and H.264 frames (an IDR
 * with its parameter sets, then P frames) at sizes that are not multiples of 16. Not the
 * channel or a client (tests/integration/rdp.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker-internal.h"
#include "h264.h"
#include "rdp-gfx.h"

#define CAPS(v, f)                                                                                 \
	{                                                                                          \
		.version = (v), .length = 4, .flags = (f)                                          \
	}

static void test_caps(void **state)
{
	(void)state;
	RDPGFX_CAPSET out;
	bool avc;
	/* xfreerdp 2.11 without options: 10.7 without AVC_DISABLED. */
	const RDPGFX_CAPSET plain[] = {
	    CAPS(RDPGFX_CAPVERSION_8, 2), CAPS(RDPGFX_CAPVERSION_81, 0x12),
	    CAPS(RDPGFX_CAPVERSION_10, 2), CAPS(RDPGFX_CAPVERSION_101, 0),
	    CAPS(RDPGFX_CAPVERSION_107, 0xc2)};
	assert_true(rdp_gfx_choose_caps(plain, 5, &out, &avc));
	assert_true(avc);
	assert_int_equal(out.version, RDPGFX_CAPVERSION_107);
	assert_int_equal(out.flags, 0xc2);
	assert_int_equal(out.length, 4);
	/* xfreerdp /gfx: every 10.x set but 10.1 says AVC_DISABLED, and 10.1 cannot say it. */
	const RDPGFX_CAPSET off[] = {CAPS(RDPGFX_CAPVERSION_8, 0), CAPS(RDPGFX_CAPVERSION_81, 0),
				     CAPS(RDPGFX_CAPVERSION_101, 0),
				     CAPS(RDPGFX_CAPVERSION_107, RDPGFX_CAPS_FLAG_AVC_DISABLED)};
	assert_true(rdp_gfx_choose_caps(off, 4, &out, &avc));
	assert_false(avc);
	assert_int_equal(out.version, RDPGFX_CAPVERSION_107);
	/* Only 8.1 welcomes AVC420: 8.1 is confirmed. */
	const RDPGFX_CAPSET v81[] = {CAPS(RDPGFX_CAPVERSION_8, 0),
				     CAPS(RDPGFX_CAPVERSION_81, RDPGFX_CAPS_FLAG_AVC420_ENABLED)};
	assert_true(rdp_gfx_choose_caps(v81, 2, &out, &avc));
	assert_true(avc);
	assert_int_equal(out.version, RDPGFX_CAPVERSION_81);
	/* 8.0 alone: GFX without H.264. */
	assert_true(rdp_gfx_choose_caps(v81, 1, &out, &avc));
	assert_false(avc);
	assert_int_equal(out.version, RDPGFX_CAPVERSION_8);
	/* Versions we do not know, or none at all. */
	const RDPGFX_CAPSET odd[] = {CAPS(0x12345678, 0), CAPS(0xffffffff, 0xffffffff)};
	assert_false(rdp_gfx_choose_caps(odd, 2, &out, &avc));
	assert_false(rdp_gfx_choose_caps(odd, 0, &out, &avc));
}

static void test_pace(void **state)
{
	(void)state;
	struct rdp_gfx_pace p = {0};
	assert_true(rdp_gfx_pace_can_send(&p));
	p.sent = 1;
	assert_true(rdp_gfx_pace_can_send(&p));
	p.sent = RDP_GFX_MAX_UNACKED;
	assert_false(rdp_gfx_pace_can_send(&p));
	/* An acknowledgement of a frame never sent changes nothing. */
	rdp_gfx_pace_ack(&p, 0, RDP_GFX_MAX_UNACKED + 5);
	assert_int_equal(p.acked, 0);
	rdp_gfx_pace_ack(&p, 0, 0xffffffffu - 3); /* far behind, or wrapped around */
	assert_int_equal(p.acked, 0);
	rdp_gfx_pace_ack(&p, 3, 1);
	assert_int_equal(p.acked, 1);
	assert_true(rdp_gfx_pace_can_send(&p));
	/* Stale: an older id does not move it back. */
	rdp_gfx_pace_ack(&p, 0, 0);
	assert_int_equal(p.acked, 1);
	/* SUSPEND lifts the limit; the next ordinary acknowledgement restores it. */
	p.sent = 100;
	assert_false(rdp_gfx_pace_can_send(&p));
	rdp_gfx_pace_ack(&p, SUSPEND_FRAME_ACKNOWLEDGEMENT, 0);
	assert_true(rdp_gfx_pace_can_send(&p));
	rdp_gfx_pace_ack(&p, 1, 99);
	assert_false(p.suspended);
	assert_int_equal(rdp_gfx_pace_unacked(&p), 1);
	/* Ids wrap. */
	p = (struct rdp_gfx_pace){.sent = 2, .acked = 0xfffffffeu};
	assert_int_equal(rdp_gfx_pace_unacked(&p), 4);
	rdp_gfx_pace_ack(&p, 0, 1);
	assert_int_equal(p.acked, 1);
}

static void test_damage(void **state)
{
	(void)state;
	/* The same full frame five times (a session that fell behind a video): once. */
	struct hd_chan_rect r[8];
	for (int i = 0; i < 5; i++)
		r[i] = (struct hd_chan_rect){0, 0, 1280, 720};
	assert_int_equal(bk_damage_simplify(r, 5), 1);
	assert_int_equal(r[0].width, 1280);
	/* Inside another, or empty: dropped; disjoint small ones stay. */
	r[0] = (struct hd_chan_rect){0, 0, 100, 100};
	r[1] = (struct hd_chan_rect){10, 10, 5, 5};
	r[2] = (struct hd_chan_rect){500, 500, 0, 10};
	r[3] = (struct hd_chan_rect){1000, 600, 20, 20};
	assert_int_equal(bk_damage_simplify(r, 4), 2);
	assert_int_equal(r[0].x, 0);
	assert_int_equal(r[1].x, 1000);
	/* Two halves tiling a box: the box. */
	r[0] = (struct hd_chan_rect){0, 0, 50, 100};
	r[1] = (struct hd_chan_rect){50, 0, 50, 100};
	assert_int_equal(bk_damage_simplify(r, 2), 1);
	assert_int_equal(r[0].width, 100);
	assert_int_equal(r[0].height, 100);
	/* Huge values do not wrap. */
	r[0] = (struct hd_chan_rect){UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
	r[1] = (struct hd_chan_rect){0, 0, 1, 1};
	assert_int_equal(bk_damage_simplify(r, 2), 2);
	assert_int_equal(bk_damage_simplify(r, 0), 0);
}

static void bgrx(uint8_t *p, uint8_t r, uint8_t g, uint8_t b)
{
	p[0] = b;
	p[1] = g;
	p[2] = r;
	p[3] = 0;
}

static void test_yuv(void **state)
{
	(void)state;
	/* 3 x 3: odd both ways, so the last 2 x 2 block repeats the edge pixels. */
	enum { W = 3, H = 3 };
	uint8_t px[W * H * 4];
	uint8_t y[4 * 4], u[2 * 2], v[2 * 2];
	const struct {
		uint8_t r, g, b, y, u, v;
	} cases[] = {
	    {255, 255, 255, 255, 128, 128}, {0, 0, 0, 0, 128, 128},
	    {128, 128, 128, 128, 128, 128}, {0, 0, 255, 19, 255, 116},
	    {255, 0, 0, 54, 99, 255},	    {0, 255, 0, 182, 29, 12},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (int i = 0; i < W * H; i++)
			bgrx(px + i * 4, cases[k].r, cases[k].g, cases[k].b);
		memset(y, 0xee, sizeof(y));
		h264_bgrx_to_yuv420(px, W * 4, 0, 0, W, H, W, H, y, 4, u, 2, v, 2);
		for (int j = 0; j < 4; j++)
			for (int i = 0; i < 4; i++)
				assert_int_equal(y[j * 4 + i], cases[k].y);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(u[i], cases[k].u);
			assert_int_equal(v[i], cases[k].v);
		}
	}
	/* A rectangle converts only its 2 x 2 blocks. */
	for (int i = 0; i < W * H; i++)
		bgrx(px + i * 4, 255, 255, 255);
	memset(y, 7, sizeof(y));
	h264_bgrx_to_yuv420(px, W * 4, 2, 2, 1, 1, W, H, y, 4, u, 2, v, 2);
	assert_int_equal(y[0], 7);
	assert_int_equal(y[1 * 4 + 1], 7);
	assert_int_equal(y[2 * 4 + 2], 255);
	assert_int_equal(y[3 * 4 + 3], 255);
}

/* The NAL unit types in an Annex B stream, as a bit set. */
static unsigned nal_types(const uint8_t *d, size_t n)
{
	unsigned set = 0;
	for (size_t i = 0; i + 3 < n; i++)
		if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1)
			set |= 1u << (d[i + 3] & 0x1f);
	return set;
}

static void test_h264(void **state)
{
	(void)state;
	if (!h264_available())
		skip();
	enum { W = 100, H = 50 }; /* coded as 112 x 64 */
	struct h264_enc *e = h264_enc_new(W, H);
	assert_non_null(e);
	uint8_t *px = calloc(W * H, 4);
	assert_non_null(px);
	for (int i = 0; i < W * H; i++)
		bgrx(px + i * 4, (uint8_t)i, (uint8_t)(i >> 3), 200);
	struct hd_chan_rect all = {0, 0, W, H}, small = {10, 10, 5, 5};
	h264_enc_update(e, px, W * 4, &all, 1);
	const uint8_t *data;
	size_t len;
	unsigned qp;
	assert_int_equal(h264_enc_frame(e, true, &data, &len, &qp), 0);
	assert_true(qp > 0 && qp <= H264_QP); /* key frames a little finer */
	unsigned t = nal_types(data, len);
	assert_true(t & (1u << 7)); /* SPS */
	assert_true(t & (1u << 8)); /* PPS */
	assert_true(t & (1u << 5)); /* IDR slice */
	bgrx(px + (12 * W + 12) * 4, 0, 255, 0);
	h264_enc_update(e, px, W * 4, &small, 1);
	assert_int_equal(h264_enc_frame(e, false, &data, &len, &qp), 0);
	assert_int_equal(qp, H264_QP);
	t = nal_types(data, len);
	assert_true(t & (1u << 1)); /* non-IDR slice */
	assert_false(t & (1u << 5));
	/* A forced key frame later is an IDR again. */
	assert_int_equal(h264_enc_frame(e, true, &data, &len, &qp), 0);
	assert_true(nal_types(data, len) & (1u << 5));
	h264_enc_free(e);
	free(px);
	/* Sizes the encoder refuses. */
	assert_null(h264_enc_new(0, 10));
	assert_null(h264_enc_new(10000, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps), cmocka_unit_test(test_pace), cmocka_unit_test(test_damage),
	    cmocka_unit_test(test_yuv),	 cmocka_unit_test(test_h264),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
