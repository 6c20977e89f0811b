/* h264.c: H.264 encoding for RDPGFX AVC420 sessions with FFmpeg's libx264 encoder (ultrafast,
 * zerolatency, constant QP, no B-frames), libavcodec loaded with dlopen on first use; and the
 * BGRX to YUV 4:2:0 conversion in plain C. Not the GFX channel (rdp-gfx.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>

#include "h264.h"
#include "hd-av.h"
#include "hd-common.h"

#define TAG "h264"
/* H.264 codes whole 16 x 16 macroblocks; AVC420 frames are sent at those sizes. */
#define MB_ALIGN(v) (((v) + 15u) & ~15u)
/* No periodic key frames: the transport is reliable, the client decodes every frame. */
#define GOP_INFINITE (1 << 30)

/* libavcodec is loaded (hd-av.h) when the first AVC420 session needs it, not at start-up. */
static struct {
	const struct hd_av *f;
	const AVCodec *codec;
	char error[160];
} av;
static pthread_once_t av_once = PTHREAD_ONCE_INIT;

struct h264_enc {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	uint32_t width, height; /* the picture; the coded size is MB_ALIGN of each */
	int64_t pts;
};

static void av_load(void)
{
	av.f = hd_av_get(av.error, sizeof(av.error));
	if (av.f) {
		/* FFmpeg logs on stderr: only its errors, unless we log debug output. */
		av.f->log_set_level(hd_log_get_level() >= HD_LOG_DEBUG ? AV_LOG_INFO : AV_LOG_ERROR);
		av.codec = av.f->find_encoder_by_name("libx264");
		if (!av.codec)
			snprintf(av.error, sizeof(av.error), "this FFmpeg has no libx264 encoder");
	}
	if (av.error[0])
		hd_warn(TAG, "no H.264 for RDP clients (GFX falls back to lossless codecs): %s",
			av.error);
}

bool h264_available(void)
{
	pthread_once(&av_once, av_load);
	return !av.error[0];
}

void h264_enc_free(struct h264_enc *e)
{
	if (!e)
		return;
	av.f->packet_free(&e->pkt);
	av.f->frame_free(&e->frame);
	av.f->free_context(&e->ctx);
	free(e);
}

struct h264_enc *h264_enc_new(uint32_t width, uint32_t height)
{
	if (!h264_available() || !width || !height || width > 8192 || height > 8192)
		return NULL;
	struct h264_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->width = width;
	e->height = height;
	e->ctx = av.f->alloc_context3(av.codec);
	e->frame = av.f->frame_alloc();
	e->pkt = av.f->packet_alloc();
	if (!e->ctx || !e->frame || !e->pkt)
		goto fail;
	AVCodecContext *c = e->ctx;
	c->width = (int)MB_ALIGN(width);
	c->height = (int)MB_ALIGN(height);
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->color_range = AVCOL_RANGE_JPEG;
	c->colorspace = AVCOL_SPC_BT709;
	c->color_primaries = AVCOL_PRI_BT709;
	c->color_trc = AVCOL_TRC_BT709;
	c->time_base = (AVRational){1, 60};
	c->gop_size = GOP_INFINITE;
	c->max_b_frames = 0;
	/* One thread: the broker serves many sessions on a few cores. */
	c->thread_count = 1;
	/* ultrafast already means CAVLC, one reference and no B-frames: constrained baseline
	 * tools, which every AVC420 decoder takes. zerolatency: no lookahead, a frame in gives
	 * a frame out. */
	if (av.f->opt_set(c->priv_data, "preset", "ultrafast", 0) < 0 ||
	    av.f->opt_set(c->priv_data, "tune", "zerolatency", 0) < 0 ||
	    av.f->opt_set(c->priv_data, "profile", "baseline", 0) < 0 ||
	    av.f->opt_set(c->priv_data, "forced-idr", "1", 0) < 0)
		goto fail;
	char qp[8];
	snprintf(qp, sizeof(qp), "%d", H264_QP);
	if (av.f->opt_set(c->priv_data, "qp", qp, 0) < 0)
		goto fail;
	if (av.f->open2(c, av.codec, NULL) < 0) {
		hd_warn(TAG, "libx264 does not open at %ux%u", c->width, c->height);
		goto fail;
	}
	e->frame->width = c->width;
	e->frame->height = c->height;
	e->frame->format = c->pix_fmt;
	if (av.f->frame_get_buffer(e->frame, 0) < 0)
		goto fail;
	/* Black where nothing was drawn yet (and in the padding): Y 0, U and V 128. */
	for (int p = 0; p < 3; p++) {
		int rows = p ? c->height / 2 : c->height;
		memset(e->frame->data[p], p ? 128 : 0,
		       (size_t)e->frame->linesize[p] * (size_t)rows);
	}
	return e;
fail:
	h264_enc_free(e);
	return NULL;
}

/* Full-range BT.709 in 8.8 fixed point (Kr 0.2126, Kb 0.0722): each row of the chroma
 * matrix sums to 0 and the luma row to 256, so greys stay grey and white stays 255. */
static inline uint8_t luma(int r, int g, int b)
{
	return (uint8_t)((54 * r + 183 * g + 19 * b + 128) >> 8);
}

/* A chroma sum over four pixels in 8.8: scale by 1/1024, centre on 128, clamp (pure blue or
 * red lands half a step past 255). */
static inline uint8_t chroma(int v)
{
	v = (v + (128 << 10) + 512) >> 10;
	return (uint8_t)(v > 255 ? 255 : v);
}

/* One 2 x 2 block: four lumas and one chroma pair (the block's mean). */
static inline void block(const uint8_t *p00, const uint8_t *p01, const uint8_t *p10,
			 const uint8_t *p11, uint8_t *y0, uint8_t *y1, uint8_t *u, uint8_t *v)
{
	y0[0] = luma(p00[2], p00[1], p00[0]);
	y0[1] = luma(p01[2], p01[1], p01[0]);
	y1[0] = luma(p10[2], p10[1], p10[0]);
	y1[1] = luma(p11[2], p11[1], p11[0]);
	int r = p00[2] + p01[2] + p10[2] + p11[2];
	int g = p00[1] + p01[1] + p10[1] + p11[1];
	int b = p00[0] + p01[0] + p10[0] + p11[0];
	*u = chroma(-29 * r - 99 * g + 128 * b);
	*v = chroma(128 * r - 116 * g - 12 * b);
}

void h264_bgrx_to_yuv420(const uint8_t *xrgb, uint32_t stride, uint32_t x, uint32_t y, uint32_t w,
			 uint32_t h, uint32_t width, uint32_t height, uint8_t *yp, int ys,
			 uint8_t *up, int us, uint8_t *vp, int vs)
{
	/* Whole 2 x 2 blocks; a block that reaches past the picture repeats its last pixel. */
	uint32_t x0 = x & ~1u, y0 = y & ~1u;
	uint32_t x1 = (x + w + 1) & ~1u, y1 = (y + h + 1) & ~1u;
	/* Blocks wholly inside the picture take the plain loop; an odd last column does not. */
	uint32_t xin = x1 <= (width & ~1u) ? x1 : (width & ~1u);
	for (uint32_t j = y0; j < y1; j += 2) {
		const uint8_t *r0 = xrgb + (size_t)j * stride;
		const uint8_t *r1 = xrgb + (size_t)(j + 1 < height ? j + 1 : j) * stride;
		uint8_t *yd0 = yp + (size_t)j * (size_t)ys, *yd1 = yd0 + ys;
		uint8_t *ud = up + (size_t)(j / 2) * (size_t)us,
			*vd = vp + (size_t)(j / 2) * (size_t)vs;
		uint32_t i = x0;
		for (; i < xin; i += 2)
			block(r0 + i * 4, r0 + i * 4 + 4, r1 + i * 4, r1 + i * 4 + 4, yd0 + i,
			      yd1 + i, ud + i / 2, vd + i / 2);
		for (; i < x1; i += 2) {
			uint32_t i1 = i + 1 < width ? i + 1 : i;
			block(r0 + i * 4, r0 + i1 * 4, r1 + i * 4, r1 + i1 * 4, yd0 + i, yd1 + i,
			      ud + i / 2, vd + i / 2);
		}
	}
}

void h264_enc_update(struct h264_enc *e, const uint8_t *xrgb, uint32_t stride,
		     const struct hd_chan_rect *rects, unsigned n)
{
	if (av.f->frame_make_writable(e->frame) < 0)
		return; /* out of memory: the next frame repeats the old picture there */
	AVFrame *f = e->frame;
	for (unsigned k = 0; k < n; k++) {
		const struct hd_chan_rect *r = &rects[k];
		if (r->x >= e->width || r->y >= e->height || !r->width || !r->height)
			continue;
		uint32_t w = r->width < e->width - r->x ? r->width : e->width - r->x;
		uint32_t h = r->height < e->height - r->y ? r->height : e->height - r->y;
		h264_bgrx_to_yuv420(xrgb, stride, r->x, r->y, w, h, e->width, e->height, f->data[0],
				    f->linesize[0], f->data[1], f->linesize[1], f->data[2],
				    f->linesize[2]);
	}
}

int h264_enc_frame(struct h264_enc *e, bool idr, const uint8_t **data, size_t *len, unsigned *qp)
{
	AVFrame *f = e->frame;
	f->pts = e->pts++;
	f->pict_type = idr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	f->key_frame = idr;
	av.f->packet_unref(e->pkt);
	if (av.f->send_frame(e->ctx, f) < 0)
		return -EIO;
	/* zerolatency: the packet of this frame is ready at once. */
	int r = av.f->receive_packet(e->ctx, e->pkt);
	if (r < 0)
		return r == AVERROR(EAGAIN) ? -EAGAIN : -EIO;
	*data = e->pkt->data;
	*len = (size_t)e->pkt->size;
	/* The quantiser the frame was coded with (x264 codes key frames a few steps finer):
	 * the first 4 bytes of the quality side data, in lambda units. */
	size_t sd_len = 0;
	const uint8_t *sd = av.f->packet_get_side_data(e->pkt, AV_PKT_DATA_QUALITY_STATS, &sd_len);
	*qp = H264_QP;
	if (sd && sd_len >= 4) {
		uint32_t lambda = (uint32_t)sd[0] | (uint32_t)sd[1] << 8 | (uint32_t)sd[2] << 16 |
				  (uint32_t)sd[3] << 24;
		unsigned q = (lambda + FF_QP2LAMBDA / 2) / FF_QP2LAMBDA;
		if (q <= 51)
			*qp = q;
	}
	return 0;
}
