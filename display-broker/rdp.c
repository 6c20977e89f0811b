/* rdp.c: one RDP client session (FreeRDP 2 server, TLS) on a thread of its own: the client's
 * desktop size becomes the session's wanted shape, the head's framebuffer goes out through the
 * graphics pipeline (rdp-gfx.c) or as raw SurfaceBits (damaged rectangles only), DesktopResize
 * or ResetGraphics follows the guest's mode, and keyboard (scancodes) and mouse go to the VM as
 * INPUT. Not the listener or the policy (broker.c); no NLA or Display Control yet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <freerdp/channels/channels.h>
#include <freerdp/channels/wtsvc.h>
#include <freerdp/freerdp.h>
#include <freerdp/peer.h>
#include <freerdp/settings.h>
#include <freerdp/update.h>
#include <winpr/synch.h>
#include <winpr/wtsapi.h>
#include <winpr/wlog.h>

#include "broker-internal.h"
#include "rdp-gfx.h"

#define TAG "rdp"
#define POLL_MS 5 /* how long we wait for the client before we look for new frames */
/* A SurfaceBits command and its fast-path framing must fit the client's request size. */
#define SURFACE_OVERHEAD 64
#define RDP_BUTTON_LEFT 1u
#define RDP_BUTTON_MIDDLE 2u
#define RDP_BUTTON_RIGHT 4u
#define RDP_WHEEL_UP 8u
#define RDP_WHEEL_DOWN 16u

/* What the session thread alone owns. */
struct rdp_local {
	struct broker *b;
	struct bk_session *s;
	freerdp_peer *peer;
	HANDLE vcm;		/* virtual channels (drdynvc) */
	struct rdp_gfx *gfx;	/* the graphics pipeline, while the client may use it */
	bool activated;		/* the client is active at width x height */
	uint32_t width, height; /* the client's desktop */
	struct bk_fb *src;	/* the VM framebuffer we copy from, or NULL */
	uint64_t mode_serial;
	bool attached;
	bool full;		/* send the whole screen next */
	bool suppressed;	/* the client asked for no updates (minimised) */
	uint64_t want_until;	/* until then, wait for the guest to take the client's size */
	uint32_t want_w, want_h;
	uint8_t *buf; /* one SurfaceBits payload, bottom-up rows */
	size_t buf_cap;
	uint32_t buttons; /* the RFB-style mask we last sent */
	uint32_t frame_id;
	uint64_t frames_sent, bytes_sent;
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
		send_input(l, HD_CHAN_INPUT_POINTER, px, py, l->buttons | bit);
		send_input(l, HD_CHAN_INPUT_POINTER, px, py, l->buttons);
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
	send_input(l, HD_CHAN_INPUT_POINTER, px, py, l->buttons);
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

static BOOL on_post_connect(freerdp_peer *peer)
{
	struct rdp_local *l = local_of_ctx(peer->context);
	rdpSettings *st = peer->settings;
	struct broker *b = l->b;
	uint32_t w = st->DesktopWidth, h = st->DesktopHeight;
	hd_info(TAG, "session %u: %s asks for %ux%u at %u bpp, %u monitor(s), scale %u%%",
		l->s->id, peer->hostname[0] ? peer->hostname : "?", w, h, st->ColorDepth,
		st->MonitorCount, st->DesktopScaleFactor);
	if (!st->SurfaceCommandsEnabled) {
		hd_info(TAG, "session %u: the client has no surface commands (not supported yet)",
			l->s->id);
		return FALSE;
	}
	l->width = w;
	l->height = h;
	l->gfx = rdp_gfx_new(peer, l->vcm, l->s->id);
	if (b->cfg->policy == BROKER_POLICY_FIXED || w < BROKER_MIN_SHAPE ||
	    h < BROKER_MIN_SHAPE || w > BROKER_MAX_SHAPE || h > BROKER_MAX_SHAPE)
		return TRUE; /* the client takes the guest's shape */
	pthread_mutex_lock(&b->lock);
	struct bk_session *s = l->s;
	s->want_set = true;
	s->want_w = w;
	s->want_h = h;
	s->want_ns = hd_now_ns();
	pthread_mutex_unlock(&b->lock);
	l->want_w = w;
	l->want_h = h;
	l->want_until = hd_now_ns() + SESSION_REPLY_TIMEOUT_NS;
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

/* Sends rectangle (x, y, w, h) of src as raw BGRX SurfaceBits, in tiles that fit the client's
 * request size. Returns false when the connection failed. */
static bool send_rect(struct rdp_local *l, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	const struct bk_fb *src = l->src;
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
			/* Codec "none" is bottom-up. */
			for (uint32_t r = 0; r < th; r++)
				memcpy(l->buf + (size_t)(th - 1 - r) * tw * 4,
				       src->map + (size_t)(ty + r) * src->stride + (size_t)tx * 4,
				       (size_t)tw * 4);
			SURFACE_BITS_COMMAND cmd = {0};
			cmd.cmdType = CMDTYPE_STREAM_SURFACE_BITS;
			cmd.destLeft = tx;
			cmd.destTop = ty;
			cmd.destRight = tx + tw;
			cmd.destBottom = ty + th;
			cmd.bmp.bpp = 32;
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
	if (!rdp_gfx_send_frame(l->gfx, l->src, damage, n, full, &l->bytes_sent))
		return false;
	l->frames_sent++;
	return true;
}

/* Brings the client up to date with the session's head. Returns false to end the session. */
static bool update(struct rdp_local *l)
{
	struct broker *b = l->b;
	struct bk_session *s = l->s;
	struct hd_chan_rect damage[SESSION_MAX_DAMAGE];
	unsigned nr_damage = 0;
	struct bk_fb *newfb = NULL;
	bool mode_changed = false;

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
	if (s->vm) {
		struct bk_head *hd = &s->vm->heads[s->head];
		if (!l->attached || hd->mode_serial != l->mode_serial) {
			l->attached = true;
			l->mode_serial = hd->mode_serial;
			newfb = bk_fb_ref(hd->fb);
			mode_changed = true;
			s->nr_damage = 0;
		} else if (l->activated && !l->suppressed && !hold) {
			nr_damage = s->nr_damage;
			memcpy(damage, s->damage, nr_damage * sizeof(damage[0]));
			s->nr_damage = 0;
		}
	}
	pthread_mutex_unlock(&b->lock);

	if (mode_changed) {
		bk_fb_unref(l->src);
		l->src = newfb;
		l->full = true;
	}
	if (!l->activated || !l->src)
		return true;
	uint32_t fw = l->src->width, fh = l->src->height;
	if (fw != l->width || fh != l->height) {
		/* Give the guest a moment to take the client's size before resizing the client. */
		if (hd_now_ns() < l->want_until && (fw != l->want_w || fh != l->want_h))
			return true;
		rdpSettings *st = l->peer->settings;
		if (rdp_gfx_active(l->gfx)) {
			/* GFX resizes with ResetGraphics alone: no reactivation round trip. */
			hd_info(TAG, "session %u: resetting the client's graphics to %ux%u", s->id,
				fw, fh);
			st->DesktopWidth = fw;
			st->DesktopHeight = fh;
			l->width = fw;
			l->height = fh;
			l->want_until = 0;
			l->full = true;
			return rdp_gfx_reset(l->gfx, fw, fh);
		}
		if (!st->DesktopResize) {
			hd_info(TAG, "session %u: the client cannot resize to %ux%u", s->id, fw, fh);
			return false;
		}
		hd_info(TAG, "session %u: resizing the client to %ux%u", s->id, fw, fh);
		st->DesktopWidth = fw;
		st->DesktopHeight = fh;
		l->width = fw;
		l->height = fh;
		l->activated = false; /* until the client has reactivated at the new size */
		l->want_until = 0;
		return l->peer->update->DesktopResize(l->peer->update->context) != FALSE;
	}
	l->want_until = 0;
	nr_damage = bk_damage_simplify(damage, nr_damage); /* no pixel twice */
	if (l->gfx)
		return hold || update_gfx(l, damage, nr_damage);
	if (l->suppressed || (!l->full && !nr_damage))
		return true;
	return send_frame(l, damage, nr_damage);
}

/* ---- the thread ---- */

/* WinPR's WTS API (virtual channels) is FreeRDP's once registered, once a process. */
static pthread_once_t wts_once = PTHREAD_ONCE_INIT;
static void wts_init(void)
{
	WTSRegisterWtsApiFunctionTable(FreeRDP_InitWtsApi());
}

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
	/* TLS only: standard RDP security is weak, NLA is not there yet (loopback only). */
	st->RdpSecurity = FALSE;
	st->TlsSecurity = TRUE;
	st->NlaSecurity = FALSE;
	st->ExtSecurity = FALSE;
	st->ColorDepth = 32;
	st->RefreshRect = TRUE;
	st->SuppressOutput = TRUE;
	st->DesktopResize = TRUE;
	st->SurfaceCommandsEnabled = TRUE;
	st->FrameMarkerCommandEnabled = TRUE;
	st->RemoteFxCodec = FALSE;
	st->NSCodec = FALSE;
	st->SupportGraphicsPipeline = TRUE; /* what the client supports is known at post-connect */
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
	if (!ok || !peer->Initialize(peer))
		return false;
	pthread_once(&wts_once, wts_init);
	l->vcm = WTSOpenServerA((LPSTR)peer->context);
	return l->vcm && l->vcm != INVALID_HANDLE_VALUE;
}

void *rdp_session_thread(void *arg)
{
	struct session_arg *a = arg;
	struct rdp_local l = {.b = a->b, .s = a->s};
	free(a);
	int sock = l.s->sock;
	uint64_t t0 = hd_now_ns();

	if (!setup(&l, sock)) {
		hd_warn(TAG, "session %u: cannot set up an RDP peer", l.s->id);
		if (!l.peer)
			close(sock);
		goto out;
	}
	hd_info(TAG, "session %u: RDP client connected", l.s->id);
	bool first_frame_logged = false;
	for (;;) {
		HANDLE handles[32];
		DWORD count = l.peer->GetEventHandles(l.peer, handles, 31);
		if (!count)
			break;
		handles[count++] = WTSVirtualChannelManagerGetEventHandle(l.vcm);
		WaitForMultipleObjects(count, handles, FALSE, POLL_MS);
		if (!l.peer->CheckFileDescriptor(l.peer) ||
		    !WTSVirtualChannelManagerCheckFileDescriptor(l.vcm))
			break;
		if (!update(&l))
			break;
		if (!first_frame_logged && l.frames_sent) {
			first_frame_logged = true;
			hd_info(TAG, "session %u: first frame %ux%u %llu ms after connect", l.s->id,
				l.width, l.height,
				(unsigned long long)((hd_now_ns() - t0) / 1000000));
		}
	}
	hd_info(TAG, "session %u: RDP client gone (%llu frames, %llu bytes)", l.s->id,
		(unsigned long long)l.frames_sent, (unsigned long long)l.bytes_sent);
	rdp_gfx_log_stats(l.gfx);
out:
	rdp_gfx_free(l.gfx); /* before the channel manager it uses */
	if (l.vcm && l.vcm != INVALID_HANDLE_VALUE)
		WTSCloseServer(l.vcm);
	if (l.peer) {
		l.peer->Disconnect(l.peer); /* closes the socket */
		freerdp_peer_context_free(l.peer);
		freerdp_peer_free(l.peer);
	}
	free(l.buf);
	bk_fb_unref(l.src);
	pthread_mutex_lock(&l.b->lock);
	l.s->vm = NULL;
	l.s->closing = true;
	pthread_mutex_unlock(&l.b->lock);
	atomic_store(&l.s->done, true);
	return NULL;
}

void rdp_log_init(void)
{
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
