/* av-load.c: FFmpeg's libavcodec and libavutil loaded with dlopen at first use (hd-av.h says
 * why). Not the encoders that use them (vgpu/png.c, display-broker/h264.c). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include <libavutil/macros.h>

#include "hd-av.h"

#define AVCODEC_SONAME "libavcodec.so." AV_STRINGIFY(LIBAVCODEC_VERSION_MAJOR)
#define AVUTIL_SONAME  "libavutil.so." AV_STRINGIFY(LIBAVUTIL_VERSION_MAJOR)

static struct hd_av av;
static char av_error[160];
static pthread_once_t av_once = PTHREAD_ONCE_INIT;

static void *av_sym(void *lib, const char *soname, const char *name)
{
	void *p = lib ? dlsym(lib, name) : NULL;
	if (!p && !av_error[0])
		snprintf(av_error, sizeof(av_error), "%s lacks %s", soname, name);
	return p;
}

static void av_load(void)
{
	void *codec = dlopen(AVCODEC_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *util = dlopen(AVUTIL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!codec || !util) {
		snprintf(av_error, sizeof(av_error), "cannot load %s (install FFmpeg's libavcodec)",
			 !codec ? AVCODEC_SONAME : AVUTIL_SONAME);
		return;
	}
	/* POSIX allows converting dlsym's object pointer to a function pointer. */
#define CODEC(field, name) *(void **)&av.field = av_sym(codec, AVCODEC_SONAME, name)
#define UTIL(field, name)  *(void **)&av.field = av_sym(util, AVUTIL_SONAME, name)
	CODEC(find_encoder, "avcodec_find_encoder");
	CODEC(find_encoder_by_name, "avcodec_find_encoder_by_name");
	CODEC(alloc_context3, "avcodec_alloc_context3");
	CODEC(open2, "avcodec_open2");
	CODEC(send_frame, "avcodec_send_frame");
	CODEC(receive_packet, "avcodec_receive_packet");
	CODEC(free_context, "avcodec_free_context");
	CODEC(packet_alloc, "av_packet_alloc");
	CODEC(packet_free, "av_packet_free");
	CODEC(packet_unref, "av_packet_unref");
	CODEC(packet_get_side_data, "av_packet_get_side_data");
	UTIL(frame_alloc, "av_frame_alloc");
	UTIL(frame_get_buffer, "av_frame_get_buffer");
	UTIL(frame_make_writable, "av_frame_make_writable");
	UTIL(frame_free, "av_frame_free");
	UTIL(opt_set, "av_opt_set");
	UTIL(log_set_level, "av_log_set_level");
#undef CODEC
#undef UTIL
}

const struct hd_av *hd_av_get(char *err, size_t errlen)
{
	pthread_once(&av_once, av_load);
	if (av_error[0]) {
		snprintf(err, errlen, "%s", av_error);
		return NULL;
	}
	return &av;
}
