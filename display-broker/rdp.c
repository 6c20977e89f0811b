/* rdp.c: one RDP client session (FreeRDP 2 server, TLS or NLA) on a thread of its own: the
 * client's layout (one head a monitor) becomes the session's wanted shapes, the heads'
 * framebuffers go out through the graphics pipeline (one monitor) or as raw SurfaceBits
 * (damaged rectangles only), ResetGraphics or DesktopResize follows the guest's mode, and
 * keyboard (scancodes) and mouse go to the VM as INPUT. Not the listener or the policy
 * (broker.c), NLA (rdp-nla.c), layouts (rdp-layout.c), Display Control (rdp-disp.c) or the
 * graphics pipeline itself (rdp-gfx.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <freerdp/channels/channels.h>
#include <freerdp/channels/wtsvc.h>
#include <freerdp/settings.h>
#include <freerdp/update.h>
#include <winpr/synch.h>
#include <winpr/wlog.h>

#include "rdp-gfx.h"
#include "rdp-internal.h"

#define TAG RDP_TAG
#define POLL_MS 5 /* how long we wait for the client before we look for new frames */
/* A client that has not logged on by then is closed: it holds a session slot. */
#define HANDSHAKE_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)
/* A SurfaceBits command and its fast-path framing must fit the client's request size. */
#define SURFACE_OVERHEAD 64
#define RDP_BUTTON_LEFT 1u
#define RDP_BUTTON_MIDDLE 2u
#define RDP_BUTTON_RIGHT 4u
#define RDP_WHEEL_UP 8u
#define RDP_WHEEL_DOWN 16u

/* What a monitor of the client shows: a head's framebuffer. */
struct rdp_view {
	struct bk_fb *src; /* the VM framebuffer we copy from, or NULL */
	uint64_t mode_serial;
	bool attached;
};

/* What the session thread alone owns. */
struct rdp_local {
	struct broker *b;
	struct bk_session *s;
	freerdp_peer *peer;
	char peer_addr[64];
	bool activated;		/* the client is active at width x height */
	uint32_t width, height; /* the client's desktop */
	/* The client's monitors; with one, the desktop follows its head's mode; with several,
	 * each shows its head at its place and the desktop keeps the client's size. */
	struct rdp_layout layout;
	struct rdp_view view[RDP_MAX_MONITORS];
	bool full;		/* send the whole screen next */
	bool suppressed;	/* the client asked for no updates (minimised) */
	uint64_t want_until;	/* until then, wait for the guest to take the client's size */
	uint32_t want_w, want_h;
	/* The size we last resized the client to on our own: a Display Control client echoes
	 * it as a layout, which is no request of its user. */
	uint32_t echo_w, echo_h;
	struct rdp_nla nla;
	HANDLE vcm; /* the virtual channel manager (Display Control, GFX), or NULL */
	struct rdp_disp *disp;
	struct rdp_gfx *gfx; /* the graphics pipeline (one-monitor clients that have it), or NULL */
	uint8_t *buf; /* one SurfaceBits payload, bottom-up rows */
	size_t buf_cap;
	uint32_t buttons; /* the RFB-style mask we last sent */
	uint32_t frame_id;
	uint64_t frames_sent, bytes_sent;
	bool bits_logged; /* the SurfaceBits depth was logged */
};

struct rdp_ctx {
	rdpContext base; /* first: FreeRDP allocates ContextSize and hands this back */
	struct rdp_local *l;
};

static struct rdp_local *local_of_ctx(rdpContext *c)
{
	return ((struct rdp_ctx *)c)->l;
}

static void send_input(struct rdp_local *l, uint32_t kind, uint32_t a, uint32_t bb, uint32_t c)
{
	broker_session_input(l->b, l->s, kind, a, bb, c);
}

/* Whether several monitors are served, each on a head of its own. */
static bool multi(const struct rdp_local *l)
{
	return l->layout.nr > 1;
}

/* A pointer event at (x, y) of the client's desktop, to the head of the monitor under it. */
static void send_pointer(struct rdp_local *l, uint32_t x, uint32_t y, uint32_t buttons)
{
	unsigned mon = 0;
	for (unsigned i = 0; multi(l) && i < l->layout.nr; i++) {
		const struct rdp_monitor_shape *m = &l->layout.mon[i];
		if (x >= m->x && x < m->x + m->width && y >= m->y && y < m->y + m->height) {
			mon = i;
			break;
		}
	}
	if (multi(l)) {
		const struct rdp_monitor_shape *m = &l->layout.mon[mon];
		x = x < m->x ? 0 : x - m->x;
		y = y < m->y ? 0 : y - m->y;
		x = x < m->width ? x : m->width - 1;
		y = y < m->height ? y : m->height - 1;
	}
	broker_session_input_on(l->b, l->s, mon, HD_CHAN_INPUT_POINTER, x, y, buttons);
}

/* ---- input (the peer's thread, from CheckFileDescriptor) ---- */

static BOOL on_keyboard(rdpInput *input, UINT16 flags, UINT16 code)
{
	struct rdp_local *l = local_of_ctx(input->context);
	/* Set 1 make codes are 7 bits; EXTENDED1 is Pause's E1 prefix, which we do not map. */
	if (code > 0x7f || (flags & KBD_FLAGS_EXTENDED1))
		return TRUE;
	uint32_t sc = code | ((flags & KBD_FLAGS_EXTENDED) ? 0xe000u : 0);
	send_input(l, HD_CHAN_INPUT_SCANCODE, sc, (flags & KBD_FLAGS_RELEASE) ? 0 : 1, 0);
	return TRUE;
}

static BOOL on_unicode(rdpInput *input, UINT16 flags, UINT16 code)
{
	/* A character without a key: its X11 keysym (Latin-1 as is, others 0x01000000 + code). */
	uint32_t keysym = code < 0x100 ? code : 0x01000000u | code;
	send_input(local_of_ctx(input->context), HD_CHAN_INPUT_KEY, keysym,
		   (flags & KBD_FLAGS_RELEASE) ? 0 : 1, 0);
	return TRUE;
}

static BOOL on_synchronize(rdpInput *input, UINT32 flags)
{
	(void)input;
	(void)flags; /* lock key states: the guest keeps its own */
	return TRUE;
}

static BOOL on_mouse(rdpInput *input, UINT16 flags, UINT16 x, UINT16 y)
{
	struct rdp_local *l = local_of_ctx(input->context);
	if (!l->width || !l->height)
		return TRUE;
	uint32_t px = x < l->width ? x : l->width - 1, py = y < l->height ? y : l->height - 1;
	if (flags & PTR_FLAGS_WHEEL) {
		/* A wheel event carries no position: a notch is a press and a release. */
		uint32_t bit = (flags & PTR_FLAGS_WHEEL_NEGATIVE) ? RDP_WHEEL_DOWN : RDP_WHEEL_UP;
		send_pointer(l, px, py, l->buttons | bit);
		send_pointer(l, px, py, l->buttons);
		return TRUE;
	}
	if (flags & PTR_FLAGS_HWHEEL)
		return TRUE;
	uint32_t bit = (flags & PTR_FLAGS_BUTTON1)   ? RDP_BUTTON_LEFT
		       : (flags & PTR_FLAGS_BUTTON2) ? RDP_BUTTON_RIGHT
		       : (flags & PTR_FLAGS_BUTTON3) ? RDP_BUTTON_MIDDLE
						     : 0;
	if (bit)
		l->buttons = (flags & PTR_FLAGS_DOWN) ? l->buttons | bit : l->buttons & ~bit;
	send_pointer(l, px, py, l->buttons);
	return TRUE;
}

static BOOL on_extended_mouse(rdpInput *input, UINT16 flags, UINT16 x, UINT16 y)
{
	(void)flags; /* buttons 4 and 5 (back/forward): no virtio-input mapping yet */
	return on_mouse(input, PTR_FLAGS_MOVE, x, y);
}

static BOOL on_refresh_rect(rdpContext *c, BYTE count, const RECTANGLE_16 *areas)
{
	(void)count;
	(void)areas;
	local_of_ctx(c)->full = true;
	return TRUE;
}

static BOOL on_suppress_output(rdpContext *c, BYTE allow, const RECTANGLE_16 *area)
{
	(void)area;
	struct rdp_local *l = local_of_ctx(c);
	l->suppressed = !allow;
	if (allow)
		l->full = true;
	return TRUE;
}

/* ---- connection ---- */

/* Makes lay the session's wanted shapes: the first monitor's, and with several monitors the
 * others' (which get heads of their own). A layout with another number of monitors than
 * the session has placed changes only the first monitor's shape. */
static void want_layout(struct rdp_local *l, const struct rdp_layout *lay, bool at_connect)
{
	struct broker *b = l->b;
	struct bk_session *s = l->s;
	const struct rdp_monitor_shape *m0 = &lay->mon[0];
	bool fixed = b->cfg->policy == BROKER_POLICY_FIXED;
	pthread_mutex_lock(&b->lock);
	uint64_t now = hd_now_ns();
	s->hold = false; /* logged on, its layout known: it may have heads now */
	if (at_connect)
		broker_session_depth(s, l->peer->settings->ColorDepth);
	if (!fixed) {
		s->want_set = true;
		s->want_w = m0->width;
		s->want_h = m0->height;
		s->want_wmm = m0->width_mm;
		s->want_hmm = m0->height_mm;
		s->want_ns = now;
	}
	if (at_connect && lay->nr > 1) {
		s->x0 = m0->x;
		s->y0 = m0->y;
		s->nr_more = lay->nr - 1;
		for (unsigned i = 1; i < lay->nr; i++) {
			const struct rdp_monitor_shape *m = &lay->mon[i];
			s->more[i - 1] = (struct bk_more){.x = m->x,
							  .y = m->y,
							  .want_w = m->width,
							  .want_h = m->height,
							  .want_wmm = m->width_mm,
							  .want_hmm = m->height_mm};
		}
		broker_session_attach(b, s); /* places the other monitors too */
		broker_session_place_more(b, s);
	} else if (!at_connect && lay->nr > 1 && lay->nr == s->nr_more + 1 && s->more_placed) {
		s->x0 = m0->x;
		s->y0 = m0->y;
		for (unsigned i = 1; i < lay->nr; i++) {
			const struct rdp_monitor_shape *m = &lay->mon[i];
			struct bk_more *mo = &s->more[i - 1];
			mo->x = m->x;
			mo->y = m->y;
			mo->want_w = m->width;
			mo->want_h = m->height;
			mo->want_wmm = m->width_mm;
			mo->want_hmm = m->height_mm;
		}
	}
	pthread_mutex_unlock(&b->lock);
	if (!fixed) {
		l->want_w = m0->width;
		l->want_h = m0->height;
		l->want_until = now + SESSION_REPLY_TIMEOUT_NS;
	}
}

static BOOL on_post_connect(freerdp_peer *peer)
{
	struct rdp_local *l = local_of_ctx(peer->context);
	rdpSettings *st = peer->settings;
	uint32_t w = st->DesktopWidth, h = st->DesktopHeight;
	hd_info(TAG,
		"session %u: %s asks for %ux%u at %u bpp, %u monitor(s), scale %u%% (device "
		"%u%%)",
		l->s->id, l->peer_addr, w, h, st->ColorDepth, st->MonitorCount,
		st->DesktopScaleFactor, st->DeviceScaleFactor);
	if (l->nla.users)
		hd_info(TAG, "session %u: NLA logon of user '%s' from %s", l->s->id, l->nla.user,
			l->peer_addr);
	l->nla.users = NULL; /* logged on: an end from now on is no NLA failure */
	if (!st->SurfaceCommandsEnabled) {
		hd_info(TAG, "session %u: the client has no surface commands (not supported yet)",
			l->s->id);
		return FALSE;
	}
	l->width = w;
	l->height = h;
	struct rdp_layout lay;
	if (!rdp_layout_from_settings(st, &lay)) {
		hd_info(TAG, "session %u: the client's %ux%u is not a shape we serve: it takes the "
			     "guest's",
			l->s->id, w, h);
		pthread_mutex_lock(&l->b->lock);
		l->s->hold = false;
		pthread_mutex_unlock(&l->b->lock);
		l->gfx = rdp_gfx_new(peer, l->vcm, l->s->id);
		return TRUE;
	}
	for (unsigned i = 0; i < lay.nr; i++)
		hd_info(TAG, "session %u: monitor %u: %ux%u at %u,%u, %ux%u mm", l->s->id, i,
			lay.mon[i].width, lay.mon[i].height, lay.mon[i].x, lay.mon[i].y,
			lay.mon[i].width_mm, lay.mon[i].height_mm);
	l->layout = lay;
	if (multi(l)) {
		/* The client's desktop is the monitors' bounding box. */
		l->width = lay.width;
		l->height = lay.height;
	}
	want_layout(l, &lay, true);
	/* The graphics pipeline maps one surface to one output; several monitors get SurfaceBits. */
	if (!multi(l))
		l->gfx = rdp_gfx_new(peer, l->vcm, l->s->id);
	return TRUE;
}

static BOOL on_activate(freerdp_peer *peer)
{
	struct rdp_local *l = local_of_ctx(peer->context);
	l->activated = true;
	l->full = true;
	hd_debug(TAG, "session %u: active at %ux%u", l->s->id, l->width, l->height);
	return TRUE;
}

/* ---- frames ---- */

/* Fills a tile of th rows of tw pixels at (tx, ty) of the client's desktop, bottom-up, from
 * the heads' framebuffers; what no monitor shows stays black. */
static void fill_tile(struct rdp_local *l, uint8_t *dst, uint32_t tx, uint32_t ty, uint32_t tw,
		      uint32_t th)
{
	unsigned nr = multi(l) ? l->layout.nr : 1;
	if (multi(l))
		memset(dst, 0, (size_t)tw * th * 4);
	for (unsigned i = 0; i < nr; i++) {
		const struct bk_fb *src = l->view[i].src;
		if (!src)
			continue;
		uint32_t mx = 0, my = 0, mw = src->width, mh = src->height;
		if (multi(l)) {
			const struct rdp_monitor_shape *m = &l->layout.mon[i];
			mx = m->x;
			my = m->y;
			mw = mw < m->width ? mw : m->width;
			mh = mh < m->height ? mh : m->height;
		}
		uint32_t x0 = tx > mx ? tx : mx, x1 = tx + tw < mx + mw ? tx + tw : mx + mw;
		if (x0 >= x1)
			continue;
		for (uint32_t r = 0; r < th; r++) {
			uint32_t y = ty + r;
			if (y < my || y >= my + mh)
				continue;
			/* Codec "none" is bottom-up. */
			memcpy(dst + (size_t)(th - 1 - r) * tw * 4 + (size_t)(x0 - tx) * 4,
			       src->map + (size_t)(y - my) * src->stride + (size_t)(x0 - mx) * 4,
			       (size_t)(x1 - x0) * 4);
		}
	}
}

/* The bits a pixel of raw SurfaceBits for this client: its own colour depth where the codec
 * "none" has a format for it (15, 16, 24), else 32. */
static unsigned surface_bpp(const struct rdp_local *l)
{
	unsigned d = l->peer->settings->ColorDepth;
	return d == 15 || d == 16 || d == 24 ? d : 32;
}

/* Packs n BGRX pixels in place into bpp bits a pixel as FreeRDP's codec "none" reads them:
 * 16 = R5 G6 B5 and 15 = R5 G5 B5 in a little-endian word, 24 = bytes B, G, R. Each output
 * pixel is no longer than its input, so front to back never overwrites what is still to be
 * read. Returns the packed length. */
static size_t pack_pixels(uint8_t *buf, size_t n, unsigned bpp)
{
	uint8_t *out = buf;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + i * 4;
		uint32_t b = p[0], g = p[1], r = p[2], v;
		switch (bpp) {
		case 16:
			v = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
			*out++ = (uint8_t)v;
			*out++ = (uint8_t)(v >> 8);
			break;
		case 15:
			v = (r >> 3) << 10 | (g >> 3) << 5 | b >> 3;
			*out++ = (uint8_t)v;
			*out++ = (uint8_t)(v >> 8);
			break;
		default: /* 24 */
			*out++ = (uint8_t)b;
			*out++ = (uint8_t)g;
			*out++ = (uint8_t)r;
			break;
		}
	}
	return (size_t)(out - buf);
}

/* Sends rectangle (x, y, w, h) of the client's desktop as raw SurfaceBits at the client's
 * depth (surface_bpp), in tiles that fit the client's request size. Returns false when the
 * connection failed. */
static bool send_rect(struct rdp_local *l, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	unsigned bpp = surface_bpp(l);
	rdpUpdate *up = l->peer->update;
	uint32_t max_req = l->peer->settings->MultifragMaxRequestSize;
	size_t limit = max_req > SURFACE_OVERHEAD + 4 ? max_req - SURFACE_OVERHEAD : 4096;
	uint32_t tile_w = w < limit / 4 ? w : (uint32_t)(limit / 4);
	for (uint32_t tx = x; tx < x + w; tx += tile_w) {
		uint32_t tw = x + w - tx < tile_w ? x + w - tx : tile_w;
		uint32_t rows = (uint32_t)(limit / ((size_t)tw * 4));
		rows = rows ? rows : 1;
		for (uint32_t ty = y; ty < y + h; ty += rows) {
			uint32_t th = y + h - ty < rows ? y + h - ty : rows;
			size_t bytes = (size_t)tw * th * 4;
			if (bytes > l->buf_cap) {
				uint8_t *nb = realloc(l->buf, bytes);
				if (!nb)
					return false;
				l->buf = nb;
				l->buf_cap = bytes;
			}
			fill_tile(l, l->buf, tx, ty, tw, th);
			if (bpp != 32)
				bytes = pack_pixels(l->buf, (size_t)tw * th, bpp);
			SURFACE_BITS_COMMAND cmd = {0};
			cmd.cmdType = CMDTYPE_STREAM_SURFACE_BITS;
			cmd.destLeft = tx;
			cmd.destTop = ty;
			cmd.destRight = tx + tw;
			cmd.destBottom = ty + th;
			cmd.bmp.bpp = (BYTE)bpp;
			cmd.bmp.codecID = 0; /* RDP_CODEC_ID_NONE */
			cmd.bmp.width = (UINT16)tw;
			cmd.bmp.height = (UINT16)th;
			cmd.bmp.bitmapDataLength = (UINT32)bytes;
			cmd.bmp.bitmapData = l->buf;
			cmd.skipCompression = TRUE;
			if (!up->SurfaceBits(up->context, &cmd))
				return false;
			l->bytes_sent += bytes;
		}
	}
	return true;
}

static bool send_frame(struct rdp_local *l, const struct hd_chan_rect *damage, unsigned n)
{
	rdpUpdate *up = l->peer->update;
	bool markers = l->peer->settings->FrameMarkerCommandEnabled;
	SURFACE_FRAME_MARKER fm = {.frameAction = SURFACECMD_FRAMEACTION_BEGIN,
				   .frameId = ++l->frame_id};
	if (markers && !up->SurfaceFrameMarker(up->context, &fm))
		return false;
	if (!l->bits_logged) {
		l->bits_logged = true;
		hd_info(TAG, "session %u: raw SurfaceBits at %u bits a pixel", l->s->id,
			surface_bpp(l));
	}
	if (l->full) {
		l->full = false;
		if (!send_rect(l, 0, 0, l->width, l->height))
			return false;
	} else {
		for (unsigned i = 0; i < n; i++) {
			const struct hd_chan_rect *r = &damage[i];
			if (r->x >= l->width || r->y >= l->height)
				continue;
			uint32_t w = r->width < l->width - r->x ? r->width : l->width - r->x;
			uint32_t h = r->height < l->height - r->y ? r->height : l->height - r->y;
			if (w && h && !send_rect(l, r->x, r->y, w, h))
				return false;
		}
	}
	fm.frameAction = SURFACECMD_FRAMEACTION_END;
	if (markers && !up->SurfaceFrameMarker(up->context, &fm))
		return false;
	l->frames_sent++;
	return true;
}

/* Resizes the client's desktop to w x h: ResetGraphics when the graphics pipeline is up (no
 * reactivation round trip), else DesktopResize, after which the client reactivates. The one
 * place a session changes the client's size. Returns false to end the session. */
static bool resize_client(struct rdp_local *l, uint32_t w, uint32_t h)
{
	rdpSettings *st = l->peer->settings;
	if (rdp_gfx_active(l->gfx)) {
		hd_info(TAG, "session %u: resetting the client's graphics to %ux%u", l->s->id, w, h);
		st->DesktopWidth = w;
		st->DesktopHeight = h;
		l->width = w;
		l->height = h;
		l->full = true;
		return rdp_gfx_reset(l->gfx, w, h);
	}
	if (!st->DesktopResize) {
		hd_info(TAG, "session %u: the client cannot resize to %ux%u", l->s->id, w, h);
		return false;
	}
	hd_info(TAG, "session %u: resizing the client to %ux%u", l->s->id, w, h);
	st->DesktopWidth = w;
	st->DesktopHeight = h;
	l->width = w;
	l->height = h;
	l->activated = false; /* until the client has reactivated at the new size */
	return l->peer->update->DesktopResize(l->peer->update->context) != FALSE;
}

/* A layout the client sent over Display Control (its window or monitors changed). */
static void client_layout(struct rdp_local *l, const struct rdp_layout *lay)
{
	if (lay->nr == 1 && lay->width == l->echo_w && lay->height == l->echo_h) {
		/* The echo of our own resize, not a wish of the client's user. */
		l->echo_w = l->echo_h = 0;
		hd_debug(TAG, "session %u: the client echoed %ux%u", l->s->id, lay->width,
			 lay->height);
		return;
	}
	l->echo_w = l->echo_h = 0;
	hd_info(TAG, "session %u: the client's layout is now %ux%u (%u monitor(s))", l->s->id,
		lay->width, lay->height, lay->nr);
	if (multi(l) && lay->nr == l->layout.nr) {
		l->layout = *lay;
		want_layout(l, lay, false);
		if (lay->width != l->width || lay->height != l->height)
			l->echo_w = l->echo_h = 0; /* resized by update() at the next turn */
		return;
	}
	/* One monitor (or the first of a layout we cannot follow with more heads). */
	struct rdp_layout one = *lay;
	one.nr = 1;
	one.mon[0].x = one.mon[0].y = 0;
	one.width = one.mon[0].width;
	one.height = one.mon[0].height;
	if (!multi(l))
		l->layout = one;
	want_layout(l, &one, false);
}

/* A frame through the graphics pipeline (rdp-gfx.c), after a ResetGraphics when the client's
 * size is not the surface's. */
static bool update_gfx(struct rdp_local *l, const struct hd_chan_rect *damage, unsigned n)
{
	if (!rdp_gfx_surface_is(l->gfx, l->width, l->height)) {
		if (!rdp_gfx_reset(l->gfx, l->width, l->height))
			return false;
		l->full = true;
	}
	if (l->suppressed || (!l->full && !n))
		return true;
	bool full = l->full;
	l->full = false;
	if (!rdp_gfx_send_frame(l->gfx, l->view[0].src, damage, n, full, &l->bytes_sent))
		return false;
	l->frames_sent++;
	return true;
}

/* Brings the client up to date with the session's heads. Returns false to end the session. */
static bool update(struct rdp_local *l)
{
	struct broker *b = l->b;
	struct bk_session *s = l->s;
	struct hd_chan_rect damage[SESSION_MAX_DAMAGE];
	unsigned nr_damage = 0;
	struct bk_fb *newfb[RDP_MAX_MONITORS];
	bool changed[RDP_MAX_MONITORS] = {false}, any_changed = false;

	struct rdp_layout lay;
	if (l->disp && rdp_disp_take(l->disp, &lay))
		client_layout(l, &lay);

	/* GFX: nothing goes out while the channel negotiates, and a client that has not
	 * acknowledged enough frames gets none: its damage accumulates in s->damage. */
	if (l->gfx && !rdp_gfx_poll(l->gfx)) {
		rdp_gfx_free(l->gfx);
		l->gfx = NULL;
		l->full = true;
	}
	bool hold = l->gfx && !rdp_gfx_can_send(l->gfx);

	pthread_mutex_lock(&b->lock);
	if (s->closing) {
		pthread_mutex_unlock(&b->lock);
		return false;
	}
	broker_session_attach(b, s);
	if (multi(l) && s->more_dropped) {
		/* Too few heads: the primary monitor alone, and the client resizes to it. */
		l->layout.nr = 1;
		l->layout.mon[0].x = l->layout.mon[0].y = 0;
		l->layout.width = l->layout.mon[0].width;
		l->layout.height = l->layout.mon[0].height;
		for (unsigned i = 1; i < RDP_MAX_MONITORS; i++) {
			bk_fb_unref(l->view[i].src);
			l->view[i] = (struct rdp_view){0};
		}
	}
	unsigned nr = multi(l) ? (s->more_placed ? l->layout.nr : 1) : 1;
	if (s->vm) {
		for (unsigned i = 0; i < nr; i++) {
			unsigned head = i ? s->more[i - 1].head : s->head;
			struct bk_head *hd = &s->vm->heads[head];
			struct rdp_view *v = &l->view[i];
			if (!v->attached || hd->mode_serial != v->mode_serial) {
				v->attached = true;
				v->mode_serial = hd->mode_serial;
				newfb[i] = bk_fb_ref(hd->fb);
				changed[i] = any_changed = true;
			}
		}
		if (any_changed) {
			s->nr_damage = 0;
		} else if (l->activated && !l->suppressed && !hold) {
			nr_damage = s->nr_damage;
			memcpy(damage, s->damage, nr_damage * sizeof(damage[0]));
			s->nr_damage = 0;
		}
	}
	pthread_mutex_unlock(&b->lock);

	for (unsigned i = 0; i < nr; i++)
		if (changed[i]) {
			bk_fb_unref(l->view[i].src);
			l->view[i].src = newfb[i];
			l->full = true;
		}
	if (!l->activated || !l->view[0].src)
		return true;
	if (multi(l)) {
		/* The desktop keeps the client's monitors; a new layout may change its size. */
		if (l->layout.width != l->width || l->layout.height != l->height) {
			l->echo_w = l->echo_h = 0;
			return resize_client(l, l->layout.width, l->layout.height);
		}
	} else {
		uint32_t fw = l->view[0].src->width, fh = l->view[0].src->height;
		if (fw != l->width || fh != l->height) {
			/* Give the guest a moment to take the client's size before resizing the
			 * client. */
			if (hd_now_ns() < l->want_until && (fw != l->want_w || fh != l->want_h))
				return true;
			l->want_until = 0;
			l->echo_w = fw;
			l->echo_h = fh;
			l->layout.mon[0].width = fw;
			l->layout.mon[0].height = fh;
			l->layout.width = fw;
			l->layout.height = fh;
			return resize_client(l, fw, fh);
		}
		l->want_until = 0;
	}
	nr_damage = bk_damage_simplify(damage, nr_damage); /* no pixel twice */
	if (l->gfx)
		return hold || update_gfx(l, damage, nr_damage);
	if (l->suppressed || (!l->full && !nr_damage))
		return true;
	return send_frame(l, damage, nr_damage);
}

/* ---- the thread ---- */

static bool setup(struct rdp_local *l, int sock)
{
	struct broker *b = l->b;
	if (rdp_tls_load(b) < 0)
		return false;
	freerdp_peer *peer = freerdp_peer_new(sock);
	if (!peer)
		return false;
	l->peer = peer;
	peer->ContextSize = sizeof(struct rdp_ctx);
	if (!freerdp_peer_context_new(peer)) {
		freerdp_peer_free(peer);
		l->peer = NULL;
		return false;
	}
	((struct rdp_ctx *)peer->context)->l = l;
	rdpSettings *st = peer->settings;
	bool ok = freerdp_settings_set_string(st, FreeRDP_CertificateContent, b->tls_cert_pem) &&
		  freerdp_settings_set_string(st, FreeRDP_PrivateKeyContent, b->tls_key_pem);
	/* Standard RDP security is weak: TLS alone on loopback without users, NLA with them. */
	st->RdpSecurity = FALSE;
	st->TlsSecurity = b->cfg->rdp_users ? FALSE : TRUE;
	st->NlaSecurity = b->cfg->rdp_users ? TRUE : FALSE;
	st->ExtSecurity = FALSE;
	if (b->cfg->rdp_users) {
		l->nla.users = b->cfg->rdp_users;
		l->nla.session = l->s->id;
		snprintf(l->nla.peer_addr, sizeof(l->nla.peer_addr), "%s", l->peer_addr);
		rdp_nla_setup(peer, &l->nla);
	}
	st->ColorDepth = 32;
	st->RefreshRect = TRUE;
	st->SuppressOutput = TRUE;
	st->DesktopResize = TRUE;
	st->SurfaceCommandsEnabled = TRUE;
	st->FrameMarkerCommandEnabled = TRUE;
	st->RemoteFxCodec = FALSE;
	st->NSCodec = FALSE;
	st->SupportGraphicsPipeline = TRUE; /* what the client supports is known at post-connect */
	st->SupportDisplayControl = TRUE;
	st->CompressionEnabled = FALSE;
	peer->PostConnect = on_post_connect;
	peer->Activate = on_activate;
	peer->input->KeyboardEvent = on_keyboard;
	peer->input->UnicodeKeyboardEvent = on_unicode;
	peer->input->SynchronizeEvent = on_synchronize;
	peer->input->MouseEvent = on_mouse;
	peer->input->ExtendedMouseEvent = on_extended_mouse;
	peer->update->RefreshRect = on_refresh_rect;
	peer->update->SuppressOutput = on_suppress_output;
	return ok && peer->Initialize(peer);
}

/* The client's address for the log ("?" if unknown). */
static void peer_address(int sock, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (getpeername(sock, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(out, cap, "%s port %u", host, port);
}

void *rdp_session_thread(void *arg)
{
	struct session_arg *a = arg;
	struct rdp_local l = {.b = a->b, .s = a->s};
	free(a);
	int sock = l.s->sock;
	uint64_t t0 = hd_now_ns();

	peer_address(sock, l.peer_addr, sizeof(l.peer_addr));
	if (!setup(&l, sock)) {
		hd_warn(TAG, "session %u: cannot set up an RDP peer", l.s->id);
		if (!l.peer)
			close(sock);
		goto out;
	}
	hd_info(TAG, "session %u: RDP client connected from %s", l.s->id, l.peer_addr);
	l.vcm = WTSOpenServerA((LPSTR)l.peer->context);
	if (l.vcm && l.vcm != INVALID_HANDLE_VALUE)
		l.disp = rdp_disp_new(l.peer, l.vcm, l.s->id);
	else
		l.vcm = NULL;
	bool first_frame_logged = false;
	for (;;) {
		HANDLE handles[32];
		DWORD count = l.peer->GetEventHandles(l.peer, handles, 31);
		if (!count)
			break;
		if (l.vcm)
			handles[count++] = WTSVirtualChannelManagerGetEventHandle(l.vcm);
		WaitForMultipleObjects(count, handles, FALSE, POLL_MS);
		if (!l.peer->CheckFileDescriptor(l.peer))
			break;
		if (!l.peer->connected && hd_now_ns() - t0 > HANDSHAKE_TIMEOUT_NS) {
			hd_warn(TAG, "session %u: %s did not log on within %llu s: closing", l.s->id,
				l.peer_addr, HANDSHAKE_TIMEOUT_NS / 1000000000ull);
			break;
		}
		if (l.vcm && !WTSVirtualChannelManagerCheckFileDescriptor(l.vcm))
			break;
		if (l.disp)
			rdp_disp_poll(l.disp);
		if (!update(&l))
			break;
		if (!first_frame_logged && l.frames_sent) {
			first_frame_logged = true;
			hd_info(TAG, "session %u: first frame %ux%u %llu ms after connect", l.s->id,
				l.width, l.height,
				(unsigned long long)((hd_now_ns() - t0) / 1000000));
		}
	}
	if (l.nla.users) /* still set: the client never got past NLA */
		rdp_nla_log_failure(&l.nla);
	rdp_gfx_log_stats(l.gfx);
	hd_info(TAG, "session %u: RDP client gone (%llu frames, %llu bytes)", l.s->id,
		(unsigned long long)l.frames_sent, (unsigned long long)l.bytes_sent);
out:
	rdp_disp_free(l.disp);
	rdp_gfx_free(l.gfx); /* before the channel manager it uses */
	if (l.vcm)
		WTSCloseServer(l.vcm);
	if (l.peer) {
		l.peer->Disconnect(l.peer); /* closes the socket */
		freerdp_peer_context_free(l.peer);
		freerdp_peer_free(l.peer);
	}
	free(l.buf);
	for (unsigned i = 0; i < RDP_MAX_MONITORS; i++)
		bk_fb_unref(l.view[i].src);
	pthread_mutex_lock(&l.b->lock);
	l.s->vm = NULL;
	l.s->closing = true;
	pthread_mutex_unlock(&l.b->lock);
	atomic_store(&l.s->done, true);
	return NULL;
}

void rdp_log_init(void)
{
	/* WinPR's WTS API (virtual channels) is FreeRDP's server side, not a FreeRDS plugin. */
	WTSRegisterWtsApiFunctionTable(FreeRDP_InitWtsApi());
	/* FreeRDP logs on stdout by default: keep it quiet unless we log debug output (or the
	 * user set WLOG_LEVEL). */
	if (!getenv("WLOG_LEVEL"))
		WLog_SetLogLevel(WLog_GetRoot(),
				 hd_log_get_level() >= HD_LOG_DEBUG ? WLOG_WARN : WLOG_OFF);
}

bool broker_rdp_available(void)
{
	return true;
}
