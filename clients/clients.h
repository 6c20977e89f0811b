/* clients.h: the public interface of hyperdesk's headless clients: VNC and RDP capture clients
 * that ask the server for a display shape, wait for a stable frame at that shape and save it as
 * a PNG. Not a viewer, and nothing here runs inside the broker. */
#ifndef CLIENTS_H
#define CLIENTS_H

#include <stdbool.h>
#include <stdint.h>

#define SHOT_MAX_MONITORS 16

struct shot_monitor {
	int32_t x, y;		/* of its top-left corner; the first monitor is the primary */
	uint32_t width, height;
};

struct shot_config {
	const char *host;	/* numeric address or name */
	unsigned port;
	uint32_t width, height; /* the shape to ask for; 0 x 0: keep the server's */
	const char *output;	/* PNG path */
	const char *encodings;	/* libvncclient's list, e.g. "zrle copyrect raw" */
	const char *password;	/* or NULL */
	unsigned timeout_ms;	/* for the whole capture */
	unsigned settle_ms;	/* a frame is stable after this long without an update */
	unsigned depth;		/* bits a pixel to ask for (VNC 16 or 24, RDP 15, 16, 24, 32;
				 * 0: the default, full colour) */
	/* RDP only. */
	bool gfx;		/* offer the graphics pipeline */
	bool gfx_h264;		/* with H.264 (AVC420) */
	bool gfx_required;	/* fail when frames come without it */
	unsigned scale;		/* desktop scale factor in percent (0: none) */
	unsigned slow_ms;	/* hold each GFX frame this long before it is acknowledged */
	unsigned stream_ms;	/* receive for this long after the first frame, not until still */
	unsigned nr_monitors;	/* a monitor layout to announce (0: none) */
	struct shot_monitor monitors[SHOT_MAX_MONITORS];
};

struct shot_result {
	uint32_t width, height;
	unsigned connect_ms;	/* connect to the first frame */
	unsigned active_ms;	/* RDP: connection sequence done (active) to the first frame */
	unsigned shape_ms;	/* SetDesktopSize to the first frame at the shape (0: not asked) */
	unsigned updates;	/* framebuffer updates (RDP: frames) received */
	unsigned gfx_frames;	/* RDP: of them through the graphics pipeline */
	unsigned stream_ms, stream_frames; /* RDP with stream_ms: how long, how many frames */
};

/* Returns 0, or -1 after printing why on stderr (prefixed "hyperdesk shot: "). */
int shot_run(const struct shot_config *cfg, struct shot_result *res);
/* The same for RDP (libfreerdp, TLS, the server's certificate accepted for this session). */
int rdpshot_run(const struct shot_config *cfg, struct shot_result *res);
/* Whether this build has the RDP client. */
bool rdpshot_available(void);
/* Writes an RGBX buffer (4 bytes a pixel, stride width * 4) as an RGB PNG. 0 or -errno. */
int shot_write_png(const char *path, const uint8_t *rgbx, uint32_t width, uint32_t height);

#endif
