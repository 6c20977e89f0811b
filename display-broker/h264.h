/* h264.h: the broker's H.264 encoder for RDPGFX AVC420: FFmpeg's libavcodec with libx264,
 * loaded with dlopen at the first use. Private to display-broker/; not a general video API. */
#ifndef BROKER_H264_H
#define BROKER_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-channel.h"

struct h264_enc;

/* The encoder's fixed quantiser (constant QP): sharp enough for text, small for still areas. */
#define H264_QP 22

/* Whether libavcodec with libx264 can be loaded; the first call loads it and logs once why not. */
bool h264_available(void);
/* An encoder for width x height frames (coded at multiples of 16), or NULL (logged). */
struct h264_enc *h264_enc_new(uint32_t width, uint32_t height);
void h264_enc_free(struct h264_enc *e);
/* Converts rectangles rects[0..n) of the XRGB picture (stride bytes a row, width x height) into
 * the encoder's YUV 4:2:0 picture; the rest of the picture keeps what it had. */
void h264_enc_update(struct h264_enc *e, const uint8_t *xrgb, uint32_t stride,
		     const struct hd_chan_rect *rects, unsigned n);
/* Encodes the current picture (an IDR frame when idr, else a P frame) as an Annex B byte
 * stream; *data stays valid until the next call; *qp is the quantiser it was coded with.
 * 0 or -errno. */
int h264_enc_frame(struct h264_enc *e, bool idr, const uint8_t **data, size_t *len, unsigned *qp);
/* The conversion alone, for tests and benchmarks: full-range BT.709, which FreeRDP's
 * AVC420 decoder path assumes. y: width x height (stride ys); u, v: half each way. */
void h264_bgrx_to_yuv420(const uint8_t *xrgb, uint32_t stride, uint32_t x, uint32_t y, uint32_t w,
			 uint32_t h, uint32_t width, uint32_t height, uint8_t *yp, int ys,
			 uint8_t *up, int us, uint8_t *vp, int vs);

#endif
