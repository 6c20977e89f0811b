/* hd-av.h: FFmpeg's libavcodec and libavutil, loaded on first use rather than linked.
 * libavcodec pulls in about 90 shared libraries (every codec FFmpeg was built with); linking it
 * cost every VM start ~20 ms of dynamic loading before main(). The PNG screendumps (vgpu) and
 * the broker's H.264 encoder load it when they first need it instead, by the soname of the
 * headers we build against. Not an encoder of its own. */
#ifndef HD_AV_H
#define HD_AV_H

#include <stddef.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

/* The functions we call, resolved from the loaded libraries. */
struct hd_av {
	const AVCodec *(*find_encoder)(enum AVCodecID);
	const AVCodec *(*find_encoder_by_name)(const char *);
	AVCodecContext *(*alloc_context3)(const AVCodec *);
	int (*open2)(AVCodecContext *, const AVCodec *, AVDictionary **);
	int (*send_frame)(AVCodecContext *, const AVFrame *);
	int (*receive_packet)(AVCodecContext *, AVPacket *);
	void (*free_context)(AVCodecContext **);
	AVPacket *(*packet_alloc)(void);
	void (*packet_free)(AVPacket **);
	void (*packet_unref)(AVPacket *);
	uint8_t *(*packet_get_side_data)(const AVPacket *, enum AVPacketSideDataType, size_t *);
	AVFrame *(*frame_alloc)(void);
	int (*frame_get_buffer)(AVFrame *, int);
	int (*frame_make_writable)(AVFrame *);
	void (*frame_free)(AVFrame **);
	int (*opt_set)(void *, const char *, const char *, int);
	void (*log_set_level)(int);
};

/* Loads the libraries once (thread-safe) and returns their functions, or NULL with the same
 * one-line reason in err on every call (libraries missing, or a function absent). */
const struct hd_av *hd_av_get(char *err, size_t errlen);

#endif
