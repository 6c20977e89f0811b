/* hide-avcodec.c: an LD_PRELOAD shim for the tests: dlopen of FFmpeg's libavcodec fails as on
 * a host without it, so the broker's fallback from H.264 can be tested. Everything else goes to
 * the real dlopen. Not part of hyperdesk. */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

__attribute__((visibility("default"))) void *dlopen(const char *file, int mode);

void *dlopen(const char *file, int mode)
{
	static void *(*real)(const char *, int);
	if (file && !strncmp(file, "libavcodec.so", 13))
		return NULL;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "dlopen");
	return real ? real(file, mode) : NULL;
}
