/* shot.c: a headless VNC client (libvncclient) that asks the server for a display shape with
 * SetDesktopSize, waits until the frame at that shape has been still for a while, and saves it.
 * The CI's way to see what a session sees. Not a viewer: it sends no input. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rfb/rfbclient.h>

#include "clients.h"
#include "hd-common.h"

#define EXT_DESKTOP_WAIT_MS 3000 /* how long a server may take to show it can resize */

struct shot_state {
	const struct shot_config *cfg;
	uint64_t start_ns, asked_ns, last_update_ns, first_at_shape_ns, first_update_ns;
	unsigned updates;
	bool asked;
	bool dirty;		/* updates arrived since the last checksum */
	uint64_t sum;		/* of the frame when it last changed */
	uint64_t changed_ns;	/* when it last changed */
};

/* FNV-1a over 64-bit words: enough to tell a changed frame from a repainted one. */
static uint64_t frame_sum(const rfbClient *c)
{
	const uint8_t *p = c->frameBuffer;
	size_t n = (size_t)c->width * (size_t)c->height * (c->format.bitsPerPixel / 8) / 8;
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)c->width << 32 | (uint32_t)c->height);
	for (size_t i = 0; p && i < n; i++) {
		uint64_t w;
		memcpy(&w, p + i * 8, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	return h;
}

static void quiet_log(const char *fmt, ...)
{
	if (hd_log_get_level() < HD_LOG_DEBUG)
		return;
	va_list ap;
	va_start(ap, fmt);
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	hd_debug("vncclient", "%s", line);
}

static char shot_tag; /* the key of our client data */

static struct shot_state *state_of(rfbClient *c)
{
	return rfbClientGetClientData(c, &shot_tag);
}

static void on_update(rfbClient *c, int x, int y, int w, int h)
{
	struct shot_state *s = state_of(c);
	uint64_t now = hd_now_ns();
	s->updates++;
	s->last_update_ns = now;
	s->dirty = true;
	if (!s->first_update_ns)
		s->first_update_ns = now;
	if (!s->first_at_shape_ns && (!s->cfg->width || ((uint32_t)c->width == s->cfg->width &&
							 (uint32_t)c->height == s->cfg->height)))
		s->first_at_shape_ns = now;
}

static char *get_password(rfbClient *c)
{
	struct shot_state *s = state_of(c);
	return strdup(s->cfg->password ? s->cfg->password : "");
}

/* The client's 16-bit R5 G6 B5 frame as RGBX, each channel expanded to 8 bits by repeating
 * its top bits (what a guest drawing 5-6-5 wrote). NULL without memory. */
static uint8_t *rgbx_from_565(const rfbClient *c)
{
	size_t n = (size_t)c->width * (size_t)c->height;
	uint8_t *out = malloc(n * 4);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint16_t v;
		memcpy(&v, c->frameBuffer + i * 2, 2);
		uint32_t r = v >> 11, g = (v >> 5) & 63, b = v & 31;
		out[i * 4] = (uint8_t)(r << 3 | r >> 2);
		out[i * 4 + 1] = (uint8_t)(g << 2 | g >> 4);
		out[i * 4 + 2] = (uint8_t)(b << 3 | b >> 2);
		out[i * 4 + 3] = 0;
	}
	return out;
}

static unsigned ms_between(uint64_t a, uint64_t b)
{
	return b > a ? (unsigned)((b - a) / 1000000) : 0;
}

int shot_run(const struct shot_config *cfg, struct shot_result *res)
{
	struct shot_state s = {.cfg = cfg, .start_ns = hd_now_ns()};
	rfbClientLog = quiet_log;
	rfbClientErr = quiet_log;

	bool low = cfg->depth == 16;
	/* Bytes R, G, B, X; or 16-bit words R5 G6 B5, little-endian. */
	rfbClient *c = low ? rfbGetClient(5, 3, 2) : rfbGetClient(8, 3, 4);
	if (!c) {
		fprintf(stderr, "hyperdesk shot: out of memory\n");
		return -1;
	}
	if (low) {
		c->format.depth = 16;
		c->format.redMax = 31;
		c->format.greenMax = 63;
		c->format.blueMax = 31;
		c->format.redShift = 11;
		c->format.greenShift = 5;
		c->format.blueShift = 0;
	}
	rfbClientSetClientData(c, &shot_tag, &s);
	c->canHandleNewFBSize = TRUE;
	c->GotFrameBufferUpdate = on_update;
	c->GetPassword = get_password;
	c->appData.encodingsString = cfg->encodings;
	c->appData.useRemoteCursor = TRUE; /* the pointer is not drawn into the capture */
	free(c->serverHost); /* rfbGetClient's empty default; rfbClientCleanup frees ours */
	c->serverHost = strdup(cfg->host);
	c->serverPort = (int)cfg->port;
	int argc = 1;
	char *argv[] = {"hyperdesk-shot", NULL};
	/* rfbInitClient frees the client when it fails. */
	if (!rfbInitClient(c, &argc, argv)) {
		fprintf(stderr, "hyperdesk shot: cannot connect to a VNC server at %s port %u\n",
			cfg->host, cfg->port);
		return -1;
	}

	uint64_t deadline = s.start_ns + (uint64_t)cfg->timeout_ms * 1000000;
	uint64_t settle = (uint64_t)cfg->settle_ms * 1000000;
	int status = -1;
	for (;;) {
		uint64_t now = hd_now_ns();
		if (now > deadline) {
			if (cfg->width && ((uint32_t)c->width != cfg->width ||
					   (uint32_t)c->height != cfg->height))
				fprintf(stderr, "hyperdesk shot: the server stayed at %dx%d, not %ux%u, "
						"for %u ms\n",
					c->width, c->height, cfg->width, cfg->height, cfg->timeout_ms);
			else
				fprintf(stderr, "hyperdesk shot: no stable frame within %u ms\n",
					cfg->timeout_ms);
			break;
		}
		bool at_shape = !cfg->width || ((uint32_t)c->width == cfg->width &&
						(uint32_t)c->height == cfg->height);
		if (cfg->width && !at_shape && !s.asked) {
			if (c->screen.width || c->screen.height) {
				if (!SendExtDesktopSize(c, (uint16_t)cfg->width,
							(uint16_t)cfg->height)) {
					fprintf(stderr, "hyperdesk shot: connection lost\n");
					break;
				}
				s.asked = true;
				s.asked_ns = now;
				s.first_at_shape_ns = 0;
			} else if (ms_between(s.start_ns, now) > EXT_DESKTOP_WAIT_MS) {
				fprintf(stderr, "hyperdesk shot: the server does not offer "
						"SetDesktopSize (ExtendedDesktopSize)\n");
				break;
			}
		}
		if (s.dirty) {
			/* Stable means unchanged, not unpainted: a guest may repaint the same. */
			uint64_t sum = frame_sum(c);
			if (sum != s.sum || !s.changed_ns) {
				s.sum = sum;
				s.changed_ns = now;
			}
			s.dirty = false;
		}
		if (at_shape && s.first_at_shape_ns && now - s.changed_ns >= settle &&
		    now - s.first_at_shape_ns >= settle) {
			status = 0;
			break;
		}
		int n = WaitForMessage(c, 20000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(c))) {
			fprintf(stderr, "hyperdesk shot: the server closed the connection\n");
			break;
		}
	}
	if (status == 0) {
		uint8_t *rgbx = low ? rgbx_from_565(c) : c->frameBuffer;
		int r = rgbx ? shot_write_png(cfg->output, rgbx, (uint32_t)c->width,
					      (uint32_t)c->height)
			     : -ENOMEM;
		if (low)
			free(rgbx);
		if (r < 0) {
			fprintf(stderr, "hyperdesk shot: cannot write %s: %s\n", cfg->output,
				strerror(-r));
			status = -1;
		}
		res->width = (uint32_t)c->width;
		res->height = (uint32_t)c->height;
		res->updates = s.updates;
		res->shape_ms = s.asked ? ms_between(s.asked_ns, s.first_at_shape_ns) : 0;
		res->connect_ms = ms_between(s.start_ns, s.first_update_ns);
	}
	/* The default MallocFrameBuffer's buffer is the application's to free. */
	free(c->frameBuffer);
	c->frameBuffer = NULL;
	rfbClientCleanup(c);
	return status;
}
