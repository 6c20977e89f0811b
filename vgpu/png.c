/* png.c: screendumps: a head's framebuffer encoded as an RGB24 PNG file with FFmpeg's
 * libavcodec PNG encoder, loaded on the first screendump (hd-av.h). Not a general image
 * writer, and not the framebuffer itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/imgutils.h>

#include "hd-av.h"
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

int vgpu_png_write(const char *path, const uint8_t *xrgb, uint32_t width, uint32_t height,
		   uint32_t stride, char *err, size_t errlen)
{
	AVCodecContext *ctx = NULL;
	AVFrame *frame = NULL;
	AVPacket *pkt = NULL;
	int r = -ENOMEM;

	char why[160];
	const struct hd_av *av = hd_av_get(why, sizeof(why));
	if (!av) {
		snprintf(err, errlen, "PNG encoder unavailable: %s", why);
		return -ENOSYS;
	}
	const AVCodec *codec = av->find_encoder(AV_CODEC_ID_PNG);
	if (!codec) {
		snprintf(err, errlen, "this FFmpeg has no PNG encoder");
		return -ENOSYS;
	}
	ctx = av->alloc_context3(codec);
	frame = av->frame_alloc();
	pkt = av->packet_alloc();
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
	if (av->open2(ctx, codec, NULL) < 0 || av->frame_get_buffer(frame, 0) < 0) {
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
	if (av->send_frame(ctx, frame) < 0 || av->send_frame(ctx, NULL) < 0 ||
	    av->receive_packet(ctx, pkt) < 0) {
		snprintf(err, errlen, "PNG encoding failed");
		r = -EIO;
		goto out;
	}
	r = write_all(path, pkt->data, (size_t)pkt->size, err, errlen);
out:
	av->packet_free(&pkt);
	av->frame_free(&frame);
	av->free_context(&ctx);
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
