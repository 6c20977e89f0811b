/* clients.h: the public interface of hyperdesk's headless clients: a VNC capture client that
 * asks the server for a display shape, waits for a stable frame at that shape and saves it as
 * a PNG. Not a viewer, and nothing here runs inside the broker. */
#ifndef CLIENTS_H
#define CLIENTS_H

#include <stdint.h>

struct shot_config {
	const char *host;	/* numeric address or name */
	unsigned port;
	uint32_t width, height; /* the shape to ask for; 0 x 0: keep the server's */
	const char *output;	/* PNG path */
	const char *encodings;	/* libvncclient's list, e.g. "zrle copyrect raw" */
	const char *password;	/* or NULL */
	unsigned timeout_ms;	/* for the whole capture */
	unsigned settle_ms;	/* a frame is stable after this long without an update */
};

struct shot_result {
	uint32_t width, height;
	unsigned connect_ms;	/* connect to the first frame */
	unsigned shape_ms;	/* SetDesktopSize to the first frame at the shape (0: not asked) */
	unsigned updates;	/* framebuffer updates received */
};

/* Returns 0, or -1 after printing why on stderr (prefixed "hyperdesk shot: "). */
int shot_run(const struct shot_config *cfg, struct shot_result *res);
/* Writes an RGBX buffer (4 bytes a pixel, stride width * 4) as an RGB PNG. 0 or -errno. */
int shot_write_png(const char *path, const uint8_t *rgbx, uint32_t width, uint32_t height);

#endif
