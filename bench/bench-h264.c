/* bench-h264.c: the broker's AVC420 encoder alone (display-broker/h264.c: BGRX to YUV 4:2:0
 * in C, then libx264 ultrafast/zerolatency at the fixed QP), on one thread, away from a guest
 * and a client: milliseconds a frame for the conversion and the encoder, and bytes a frame, at
 * 1280x720 and 1920x1080 for a desktop that changes a little (a 200x40 text area a frame) and
 * for full-frame motion (a moving colour field). Prints figures; asserts nothing.
 * Usage: bench-h264 [FRAMES] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-internal.h"
#include "h264.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1e6;
}

/* Frame f of a workload into px (BGRX, stride w * 4); returns the damaged rectangle. */
static struct hd_chan_rect draw(uint8_t *px, uint32_t w, uint32_t h, unsigned f, bool video)
{
	if (video) {
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				uint8_t *p = px + ((size_t)y * w + x) * 4;
				p[0] = (uint8_t)(x + f * 3);
				p[1] = (uint8_t)(y * 2 + f);
				p[2] = (uint8_t)((x ^ y) + f * 5);
			}
		return (struct hd_chan_rect){0, 0, w, h};
	}
	if (!f) { /* a desktop: flat panels and some "text" */
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				uint8_t *p = px + ((size_t)y * w + x) * 4;
				bool ink = ((x / 3) * 7 + y / 5 * 13) % 11 == 0 && (y / 16) % 2;
				p[0] = ink ? 230 : (uint8_t)(40 + y * 60 / h);
				p[1] = ink ? 230 : 30;
				p[2] = ink ? 230 : (uint8_t)(60 + x * 40 / w);
			}
		return (struct hd_chan_rect){0, 0, w, h};
	}
	uint32_t x0 = 100 + (f * 8) % (w - 400), y0 = h / 2;
	for (uint32_t y = y0; y < y0 + 40; y++)
		for (uint32_t x = x0; x < x0 + 200; x++) {
			uint8_t *p = px + ((size_t)y * w + x) * 4;
			uint8_t v = ((x + f) % 7 == 0) ? 240 : 20;
			p[0] = p[1] = p[2] = v;
		}
	return (struct hd_chan_rect){x0, y0, 200, 40};
}

int main(int argc, char **argv)
{
	unsigned frames = argc > 1 ? (unsigned)atoi(argv[1]) : 300;
	if (frames < 10 || frames > 100000)
		frames = 300;
	if (!h264_available()) {
		fprintf(stderr, "bench-h264: no libx264 through libavcodec here\n");
		return 1;
	}
	static const uint32_t sizes[][2] = {{1280, 720}, {1920, 1080}};
	uint64_t *conv = calloc(frames, sizeof(uint64_t)), *enc = calloc(frames, sizeof(uint64_t));
	for (unsigned s = 0; s < 2; s++) {
		uint32_t w = sizes[s][0], h = sizes[s][1];
		uint8_t *px = calloc((size_t)w * h, 4);
		for (int video = 0; video < 2; video++) {
			uint64_t t0 = hd_now_ns();
			struct h264_enc *e = h264_enc_new(w, h);
			uint64_t open_ns = hd_now_ns() - t0;
			if (!e || !px || !conv || !enc)
				return 1;
			uint64_t bytes = 0, idr_bytes = 0;
			for (unsigned f = 0; f < frames; f++) {
				struct hd_chan_rect r = draw(px, w, h, f, video);
				uint64_t a = hd_now_ns();
				h264_enc_update(e, px, w * 4, &r, 1);
				uint64_t b = hd_now_ns();
				const uint8_t *data;
				size_t len;
				unsigned qp;
				if (h264_enc_frame(e, f == 0, &data, &len, &qp) < 0)
					return 1;
				uint64_t c = hd_now_ns();
				conv[f] = b - a;
				enc[f] = c - b;
				if (f)
					bytes += len;
				else
					idr_bytes = len;
			}
			printf("%ux%u %-7s open %.0f ms, convert %.2f ms, encode %.2f ms a frame "
			       "(median), first (IDR) %llu bytes, then %llu bytes a frame\n",
			       w, h, video ? "video" : "desktop", (double)open_ns / 1e6,
			       median_ms(conv, frames), median_ms(enc, frames),
			       (unsigned long long)idr_bytes,
			       (unsigned long long)(bytes / (frames - 1)));
			h264_enc_free(e);
		}
		free(px);
	}
	free(conv);
	free(enc);
	return 0;
}
