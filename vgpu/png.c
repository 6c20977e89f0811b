/* png.c: screendumps: a head's framebuffer encoded as an RGB24 PNG file with FFmpeg's
 * libavcodec PNG encoder. Not a general image writer, and not the framebuffer itself. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/macros.h>

#include "vgpu-internal.h"

static int write_all(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return e;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "cannot write %s: %s", path, strerror(-e));
			close(fd);
			return e;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return e;
	}
	return 0;
}

/* libavcodec pulls in about 90 shared libraries (every codec FFmpeg was built with); linking
 * it into the binary cost every VM start ~20 ms of dynamic loading before main(). It is
 * loaded on the first screendump instead, by the soname of the headers we built against. */
#define AVCODEC_SONAME "libavcodec.so." AV_STRINGIFY(LIBAVCODEC_VERSION_MAJOR)
#define AVUTIL_SONAME  "libavutil.so." AV_STRINGIFY(LIBAVUTIL_VERSION_MAJOR)

static struct {
	const AVCodec *(*find_encoder)(enum AVCodecID);
	AVCodecContext *(*alloc_context3)(const AVCodec *);
	int (*open2)(AVCodecContext *, const AVCodec *, AVDictionary **);
	int (*send_frame)(AVCodecContext *, const AVFrame *);
	int (*receive_packet)(AVCodecContext *, AVPacket *);
	void (*free_context)(AVCodecContext **);
	AVPacket *(*packet_alloc)(void);
	void (*packet_free)(AVPacket **);
	AVFrame *(*frame_alloc)(void);
	int (*frame_get_buffer)(AVFrame *, int);
	void (*frame_free)(AVFrame **);
	char error[160];
} av;
static pthread_once_t av_once = PTHREAD_ONCE_INIT;

static void *av_sym(void *lib, const char *soname, const char *name)
{
	void *p = lib ? dlsym(lib, name) : NULL;
	if (!p && !av.error[0])
		snprintf(av.error, sizeof(av.error), "%s lacks %s", soname, name);
	return p;
}

static void av_load(void)
{
	void *codec = dlopen(AVCODEC_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *util = dlopen(AVUTIL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!codec || !util) {
		snprintf(av.error, sizeof(av.error), "cannot load %s (install FFmpeg's libavcodec)",
			 !codec ? AVCODEC_SONAME : AVUTIL_SONAME);
		return;
	}
	/* POSIX allows converting dlsym's object pointer to a function pointer. */
#define AV_LOAD(field, lib, soname, name) *(void **)&av.field = av_sym(lib, soname, name)
	AV_LOAD(find_encoder, codec, AVCODEC_SONAME, "avcodec_find_encoder");
	AV_LOAD(alloc_context3, codec, AVCODEC_SONAME, "avcodec_alloc_context3");
	AV_LOAD(open2, codec, AVCODEC_SONAME, "avcodec_open2");
	AV_LOAD(send_frame, codec, AVCODEC_SONAME, "avcodec_send_frame");
	AV_LOAD(receive_packet, codec, AVCODEC_SONAME, "avcodec_receive_packet");
	AV_LOAD(free_context, codec, AVCODEC_SONAME, "avcodec_free_context");
	AV_LOAD(packet_alloc, codec, AVCODEC_SONAME, "av_packet_alloc");
	AV_LOAD(packet_free, codec, AVCODEC_SONAME, "av_packet_free");
	AV_LOAD(frame_alloc, util, AVUTIL_SONAME, "av_frame_alloc");
	AV_LOAD(frame_get_buffer, util, AVUTIL_SONAME, "av_frame_get_buffer");
	AV_LOAD(frame_free, util, AVUTIL_SONAME, "av_frame_free");
#undef AV_LOAD
}

int vgpu_png_write(const char *path, const uint8_t *xrgb, uint32_t width, uint32_t height,
		   uint32_t stride, char *err, size_t errlen)
{
	AVCodecContext *ctx = NULL;
	AVFrame *frame = NULL;
	AVPacket *pkt = NULL;
	int r = -ENOMEM;

	pthread_once(&av_once, av_load);
	if (av.error[0]) {
		snprintf(err, errlen, "PNG encoder unavailable: %s", av.error);
		return -ENOSYS;
	}
	const AVCodec *codec = av.find_encoder(AV_CODEC_ID_PNG);
	if (!codec) {
		snprintf(err, errlen, "this FFmpeg has no PNG encoder");
		return -ENOSYS;
	}
	ctx = av.alloc_context3(codec);
	frame = av.frame_alloc();
	pkt = av.packet_alloc();
	if (!ctx || !frame || !pkt) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ctx->width = (int)width;
	ctx->height = (int)height;
	ctx->pix_fmt = AV_PIX_FMT_RGB24;
	ctx->time_base = (AVRational){1, 1};
	frame->width = ctx->width;
	frame->height = ctx->height;
	frame->format = ctx->pix_fmt;
	if (av.open2(ctx, codec, NULL) < 0 || av.frame_get_buffer(frame, 0) < 0) {
		snprintf(err, errlen, "cannot set up the PNG encoder for %ux%u", width, height);
		r = -EINVAL;
		goto out;
	}
	/* B, G, R, X bytes to R, G, B. */
	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *s = xrgb + (size_t)y * stride;
		uint8_t *d = frame->data[0] + (size_t)y * (size_t)frame->linesize[0];
		for (uint32_t x = 0; x < width; x++, s += 4, d += 3) {
			d[0] = s[2];
			d[1] = s[1];
			d[2] = s[0];
		}
	}
	frame->pts = 0;
	if (av.send_frame(ctx, frame) < 0 || av.send_frame(ctx, NULL) < 0 ||
	    av.receive_packet(ctx, pkt) < 0) {
		snprintf(err, errlen, "PNG encoding failed");
		r = -EIO;
		goto out;
	}
	r = write_all(path, pkt->data, (size_t)pkt->size, err, errlen);
out:
	av.packet_free(&pkt);
	av.frame_free(&frame);
	av.free_context(&ctx);
	return r;
}

int vgpu_screendump(struct vgpu *g, unsigned idx, const char *path, char *err, size_t errlen)
{
	if (idx >= g->nr_heads) {
		snprintf(err, errlen, "head %u does not exist (this GPU has %u)", idx, g->nr_heads);
		return -EINVAL;
	}
	/* Copy the picture under the lock, encode without it: the guest keeps drawing. */
	pthread_mutex_lock(&g->lock);
	const struct vgpu_head *h = &g->heads[idx];
	uint32_t w = h->fb_width, ht = h->fb_height;
	uint8_t *copy = NULL;
	if (h->res_id && h->fb) {
		copy = malloc((size_t)w * ht * VGPU_BPP);
		if (copy)
			memcpy(copy, h->fb, (size_t)w * ht * VGPU_BPP);
	}
	bool active = h->res_id && h->fb;
	pthread_mutex_unlock(&g->lock);
	if (!active) {
		snprintf(err, errlen, "head %u has no scanout yet", idx);
		return -ENODATA;
	}
	if (!copy) {
		snprintf(err, errlen, "out of memory for a %ux%u screendump", w, ht);
		return -ENOMEM;
	}
	int r = vgpu_png_write(path, copy, w, ht, w * VGPU_BPP, err, errlen);
	free(copy);
	return r;
}
