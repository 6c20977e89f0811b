/* rdp-gfx.c: the Graphics Pipeline (MS-RDPEGFX) of one RDP session, on FreeRDP 2's
 * rdpgfx server channel: capability choice, ResetGraphics and one surface mapped to the output,
 * frames of damaged rectangles as H.264 AVC420 (h264.c) or Planar, paced by the client's
 * FrameAcknowledge. Not the session (rdp.c) and not the encoder. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <freerdp/channels/wtsvc.h>
#include <freerdp/codec/color.h>
#include <freerdp/codec/planar.h>
#include <freerdp/server/rdpgfx.h>

#include "h264.h"
#include "rdp-gfx.h"

#define TAG	   "rdp-gfx"
#define SURFACE_ID 1
/* How long a client that announced GFX may take to open the channel and send its
 * capabilities before the session gives up on GFX and sends SurfaceBits. */
#define NEGOTIATE_TIMEOUT_NS (5000ull * 1000 * 1000)
/* AVC420 quality byte (0..100) sent with every region: each region is coded whole at the
 * frame's QP (no progressive refinement), which MS-RDPEGFX calls full quality. */
#define AVC_QUALITY 100

enum gfx_state {
	GFX_WAIT_DRDYNVC, /* the dynamic channel transport is not up yet */
	GFX_WAIT_CAPS,	  /* channel open, the client's CapsAdvertise not seen */
	GFX_ACTIVE,	  /* caps confirmed */
	GFX_OFF,	  /* failed or refused: SurfaceBits */
};

struct rdp_gfx {
	freerdp_peer *peer;
	HANDLE vcm;
	unsigned sid;
	RdpgfxServerContext *ctx;
	enum gfx_state state;
	uint64_t start_ns;
	bool avc; /* the confirmed caps allow AVC420 and the encoder loads */
	/* Written by the channel's own thread (FreeRDP reads the channel there), under lock. */
	pthread_mutex_t lock;
	bool caps_seen;
	RDPGFX_CAPSET caps;	  /* the set we will confirm */
	bool caps_avc;		  /* it allows AVC420 */
	struct rdp_gfx_pace pace; /* pace.sent: the last frame id sent */
	uint64_t acks;
	/* The session thread's. */
	bool surface;		/* a surface exists */
	uint32_t width, height; /* its size */
	bool idr_next;
	uint64_t reset_ns; /* the last ResetGraphics, until the first frame after it */
	struct h264_enc *enc;
	BITMAP_PLANAR_CONTEXT *planar;
	RECTANGLE_16 *rects;
	RDPGFX_H264_QUANT_QUALITY *qq;
	unsigned rects_cap;
	uint8_t *flip; /* a rectangle upside down, for the planar compressor */
	size_t flip_cap;
	/* Totals. */
	uint64_t frames, avc_frames, planar_cmds, enc_ns, max_unacked;
};

static bool use_planar(struct rdp_gfx *g);
static bool send_planar(struct rdp_gfx *g, const struct bk_fb *src, unsigned nr, uint64_t *bytes);

/* ---- the channel's thread ---- */

/* Whether a set says AVC420 is welcome: 8.1 with AVC420_ENABLED, 10.x without AVC_DISABLED.
 * 10.1 carries no flags (MS-RDPEGFX 2.2.3.4), so it says nothing either way. */
static bool caps_allow_avc(const RDPGFX_CAPSET *c)
{
	if (c->version == RDPGFX_CAPVERSION_81)
		return c->flags & RDPGFX_CAPS_FLAG_AVC420_ENABLED;
	if (c->version >= RDPGFX_CAPVERSION_10 && c->version != RDPGFX_CAPVERSION_101)
		return !(c->flags & RDPGFX_CAPS_FLAG_AVC_DISABLED);
	return false;
}

static bool caps_deny_avc(const RDPGFX_CAPSET *c)
{
	return c->version >= RDPGFX_CAPVERSION_10 && (c->flags & RDPGFX_CAPS_FLAG_AVC_DISABLED);
}

static bool caps_known(uint32_t v)
{
	switch (v) {
	case RDPGFX_CAPVERSION_8:
	case RDPGFX_CAPVERSION_81:
	case RDPGFX_CAPVERSION_10:
	case RDPGFX_CAPVERSION_101:
	case RDPGFX_CAPVERSION_102:
	case RDPGFX_CAPVERSION_103:
	case RDPGFX_CAPVERSION_104:
	case RDPGFX_CAPVERSION_105:
	case RDPGFX_CAPVERSION_106:
	case RDPGFX_CAPVERSION_106_ERR:
	case RDPGFX_CAPVERSION_107:
		return true;
	default:
		return false;
	}
}

bool rdp_gfx_choose_caps(const RDPGFX_CAPSET *sets, unsigned n, RDPGFX_CAPSET *out, bool *avc)
{
	/* FreeRDP marks every 10.x set AVC_DISABLED when it will not decode H.264, but cannot
	 * mark 10.1, which has no flags. */
	const RDPGFX_CAPSET *best = NULL, *best_avc = NULL;
	bool denied = false;
	for (unsigned i = 0; i < n; i++) {
		const RDPGFX_CAPSET *c = &sets[i];
		if (!caps_known(c->version))
			continue;
		denied |= caps_deny_avc(c);
		if (!best || c->version > best->version)
			best = c;
		if (caps_allow_avc(c) && (!best_avc || c->version > best_avc->version))
			best_avc = c;
	}
	*avc = best_avc && !denied;
	if (*avc)
		best = best_avc;
	if (!best)
		return false;
	*out = *best;
	out->length = 4; /* capsDataLength: the flags */
	return true;
}

/* The sets come parsed by FreeRDP (count and lengths checked there); we only compare
 * fields. Answered from the session thread (rdp_gfx_poll). */
static UINT on_caps_advertise(RdpgfxServerContext *ctx, const RDPGFX_CAPS_ADVERTISE_PDU *pdu)
{
	struct rdp_gfx *g = ctx->custom;
	RDPGFX_CAPSET chosen = {0};
	bool avc = false;
	bool found = rdp_gfx_choose_caps(pdu->capsSets, pdu->capsSetCount, &chosen, &avc);
	pthread_mutex_lock(&g->lock);
	if (!g->caps_seen) {
		g->caps_seen = true;
		g->caps = found ? chosen : (RDPGFX_CAPSET){0};
		g->caps_avc = avc;
	}
	pthread_mutex_unlock(&g->lock);
	return CHANNEL_RC_OK;
}

void rdp_gfx_pace_ack(struct rdp_gfx_pace *p, uint32_t queue_depth, uint32_t frame_id)
{
	if (queue_depth == SUSPEND_FRAME_ACKNOWLEDGEMENT) {
		p->suspended = true;
		return;
	}
	p->suspended = false;
	/* Serial arithmetic (ids wrap): forward of acked and not beyond sent, else stale or
	 * invented, and ignored. */
	if ((int32_t)(frame_id - p->acked) > 0 && (int32_t)(p->sent - frame_id) >= 0)
		p->acked = frame_id;
}

uint32_t rdp_gfx_pace_unacked(const struct rdp_gfx_pace *p)
{
	return p->sent - p->acked;
}

bool rdp_gfx_pace_can_send(const struct rdp_gfx_pace *p)
{
	return p->suspended || rdp_gfx_pace_unacked(p) < RDP_GFX_MAX_UNACKED;
}

static UINT on_frame_ack(RdpgfxServerContext *ctx, const RDPGFX_FRAME_ACKNOWLEDGE_PDU *pdu)
{
	struct rdp_gfx *g = ctx->custom;
	pthread_mutex_lock(&g->lock);
	g->acks++;
	rdp_gfx_pace_ack(&g->pace, pdu->queueDepth, pdu->frameId);
	pthread_mutex_unlock(&g->lock);
	return CHANNEL_RC_OK;
}

/* ---- the session thread ---- */

struct rdp_gfx *rdp_gfx_new(freerdp_peer *peer, void *vcm, unsigned session_id)
{
	if (!peer->settings->SupportGraphicsPipeline || !vcm)
		return NULL;
	struct rdp_gfx *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->peer = peer;
	g->vcm = vcm;
	g->sid = session_id;
	g->start_ns = hd_now_ns();
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

void rdp_gfx_free(struct rdp_gfx *g)
{
	if (!g)
		return;
	if (g->ctx) {
		g->ctx->Close(g->ctx); /* joins the channel's thread */
		rdpgfx_server_context_free(g->ctx);
	}
	h264_enc_free(g->enc);
	if (g->planar)
		freerdp_bitmap_planar_context_free(g->planar);
	free(g->rects);
	free(g->qq);
	free(g->flip);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static bool gfx_off(struct rdp_gfx *g, const char *why)
{
	hd_info(TAG, "session %u: no graphics pipeline (%s): SurfaceBits", g->sid, why);
	g->state = GFX_OFF;
	return false;
}

bool rdp_gfx_poll(struct rdp_gfx *g)
{
	if (!g || g->state == GFX_OFF)
		return false;
	if (g->state == GFX_ACTIVE)
		return true;
	if (hd_now_ns() - g->start_ns > NEGOTIATE_TIMEOUT_NS)
		return gfx_off(g, "the client did not negotiate it in time");
	if (g->state == GFX_WAIT_DRDYNVC) {
		BYTE st = WTSVirtualChannelManagerGetDrdynvcState(g->vcm);
		if (st == DRDYNVC_STATE_FAILED)
			return gfx_off(g, "no dynamic channels");
		if (st != DRDYNVC_STATE_READY)
			return true;
		g->ctx = rdpgfx_server_context_new(g->vcm);
		if (!g->ctx)
			return gfx_off(g, "out of memory");
		g->ctx->custom = g;
		g->ctx->rdpcontext = g->peer->context;
		g->ctx->CapsAdvertise = on_caps_advertise;
		g->ctx->FrameAcknowledge = on_frame_ack;
		if (!g->ctx->Open(g->ctx))
			return gfx_off(g, "the channel does not open");
		g->state = GFX_WAIT_CAPS;
		hd_debug(TAG, "session %u: graphics pipeline channel opened", g->sid);
		return true;
	}
	pthread_mutex_lock(&g->lock);
	bool seen = g->caps_seen;
	RDPGFX_CAPSET caps = g->caps;
	bool avc = g->caps_avc;
	pthread_mutex_unlock(&g->lock);
	if (!seen)
		return true;
	if (!caps.version)
		return gfx_off(g, "no capability set we know");
	RDPGFX_CAPS_CONFIRM_PDU confirm = {.capsSet = &caps};
	if (g->ctx->CapsConfirm(g->ctx, &confirm) != CHANNEL_RC_OK)
		return gfx_off(g, "CapsConfirm failed");
	g->avc = avc && h264_available();
	g->state = GFX_ACTIVE;
	hd_info(TAG, "session %u: graphics pipeline, caps version 0x%08x flags 0x%x, codec %s",
		g->sid, caps.version, caps.flags, g->avc ? "AVC420" : "Planar");
	return true;
}

bool rdp_gfx_active(const struct rdp_gfx *g)
{
	return g && g->state == GFX_ACTIVE;
}

bool rdp_gfx_can_send(const struct rdp_gfx *g)
{
	if (!rdp_gfx_active(g))
		return false;
	struct rdp_gfx *m = (struct rdp_gfx *)g; /* the lock is not part of the value */
	pthread_mutex_lock(&m->lock);
	bool ok = rdp_gfx_pace_can_send(&m->pace);
	pthread_mutex_unlock(&m->lock);
	return ok;
}

bool rdp_gfx_surface_is(const struct rdp_gfx *g, uint32_t width, uint32_t height)
{
	return g->surface && g->width == width && g->height == height;
}

bool rdp_gfx_reset(struct rdp_gfx *g, uint32_t width, uint32_t height)
{
	RdpgfxServerContext *c = g->ctx;
	if (!rdp_gfx_active(g) || width > UINT16_MAX || height > UINT16_MAX)
		return false;
	if (g->surface) {
		RDPGFX_DELETE_SURFACE_PDU del = {.surfaceId = SURFACE_ID};
		if (c->DeleteSurface(c, &del) != CHANNEL_RC_OK)
			return false;
		g->surface = false;
	}
	MONITOR_DEF mon = {.left = 0,
			   .top = 0,
			   .right = (INT32)width - 1,
			   .bottom = (INT32)height - 1,
			   .flags = MONITOR_PRIMARY};
	RDPGFX_RESET_GRAPHICS_PDU reset = {
	    .width = width, .height = height, .monitorCount = 1, .monitorDefArray = &mon};
	RDPGFX_CREATE_SURFACE_PDU create = {.surfaceId = SURFACE_ID,
					    .width = (UINT16)width,
					    .height = (UINT16)height,
					    .pixelFormat = GFX_PIXEL_FORMAT_XRGB_8888};
	RDPGFX_MAP_SURFACE_TO_OUTPUT_PDU map = {.surfaceId = SURFACE_ID};
	if (c->ResetGraphics(c, &reset) != CHANNEL_RC_OK ||
	    c->CreateSurface(c, &create) != CHANNEL_RC_OK ||
	    c->MapSurfaceToOutput(c, &map) != CHANNEL_RC_OK)
		return false;
	g->surface = true;
	g->width = width;
	g->height = height;
	g->idr_next = true;
	g->reset_ns = hd_now_ns();
	h264_enc_free(g->enc);
	g->enc = NULL;
	if (g->avc) {
		g->enc = h264_enc_new(width, height);
		if (!g->enc) {
			hd_warn(TAG, "session %u: no H.264 encoder at %ux%u: Planar", g->sid, width,
				height);
			g->avc = false;
		}
	}
	if (!g->avc && !use_planar(g))
		return false;
	hd_debug(TAG, "session %u: ResetGraphics %ux%u, surface %u", g->sid, width, height,
		 SURFACE_ID);
	return true;
}

/* Clips damage to the surface into g->rects (whole surface when full). Returns the count. */
static unsigned clip_damage(struct rdp_gfx *g, const struct hd_chan_rect *damage, unsigned n,
			    bool full)
{
	unsigned need = full ? 1 : n;
	if (need > g->rects_cap) {
		RECTANGLE_16 *r = realloc(g->rects, need * sizeof(*r));
		if (r)
			g->rects = r;
		RDPGFX_H264_QUANT_QUALITY *q = realloc(g->qq, need * sizeof(*q));
		if (q)
			g->qq = q;
		if (!r || !q)
			return 0;
		g->rects_cap = need;
	}
	if (full) {
		g->rects[0] = (RECTANGLE_16){0, 0, (UINT16)g->width, (UINT16)g->height};
		return 1;
	}
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct hd_chan_rect *r = &damage[i];
		if (r->x >= g->width || r->y >= g->height || !r->width || !r->height)
			continue;
		uint32_t w = r->width < g->width - r->x ? r->width : g->width - r->x;
		uint32_t h = r->height < g->height - r->y ? r->height : g->height - r->y;
		g->rects[k++] = (RECTANGLE_16){(UINT16)r->x, (UINT16)r->y, (UINT16)(r->x + w),
					       (UINT16)(r->y + h)};
	}
	return k;
}

/* Drops the encoder (if any) for the lossless codec: a client that cannot have H.264, an
 * encoder that does not open or fails. false: out of memory. */
static bool use_planar(struct rdp_gfx *g)
{
	h264_enc_free(g->enc);
	g->enc = NULL;
	g->avc = false;
	if (!g->planar)
		g->planar = freerdp_bitmap_planar_context_new(PLANAR_FORMAT_HEADER_RLE, g->width,
							      g->height);
	else if (!freerdp_bitmap_planar_context_reset(g->planar, g->width, g->height))
		return false;
	return g->planar != NULL;
}

static bool send_avc(struct rdp_gfx *g, const struct bk_fb *src, unsigned nr, uint64_t *bytes)
{
	struct hd_chan_rect conv[SESSION_MAX_DAMAGE + 1];
	unsigned nc = 0;
	for (unsigned i = 0; i < nr && nc < HD_ARRAY_SIZE(conv); i++) {
		const RECTANGLE_16 *r = &g->rects[i];
		conv[nc++] = (struct hd_chan_rect){r->left, r->top, (uint32_t)(r->right - r->left),
						   (uint32_t)(r->bottom - r->top)};
	}
	uint64_t t0 = hd_now_ns();
	h264_enc_update(g->enc, src->map, src->stride, conv, nc);
	const uint8_t *data;
	size_t len;
	bool idr = g->idr_next;
	unsigned qp;
	int r = h264_enc_frame(g->enc, idr, &data, &len, &qp);
	g->enc_ns += hd_now_ns() - t0;
	if (r < 0 || len > UINT32_MAX) {
		hd_warn(TAG, "session %u: H.264 encoding failed (%d): Planar from now on", g->sid,
			r);
		return use_planar(g) && send_planar(g, src, clip_damage(g, NULL, 0, true), bytes);
	}
	g->idr_next = false;
	for (unsigned i = 0; i < nr; i++)
		g->qq[i] = (RDPGFX_H264_QUANT_QUALITY){
		    .qpVal = (BYTE)qp, .qualityVal = AVC_QUALITY, .qp = (BYTE)qp};
	RDPGFX_AVC420_BITMAP_STREAM avc = {
	    .meta = {.numRegionRects = nr, .regionRects = g->rects, .quantQualityVals = g->qq},
	    .length = (UINT32)len,
	    .data = (BYTE *)data};
	/* The H.264 frame is the whole surface (coded at multiples of 16 and cropped by the
	 * client); the region rectangles say which parts of it the client updates. */
	RDPGFX_SURFACE_COMMAND cmd = {.surfaceId = SURFACE_ID,
				      .codecId = RDPGFX_CODECID_AVC420,
				      .format = PIXEL_FORMAT_BGRX32,
				      .right = g->width,
				      .bottom = g->height,
				      .width = g->width,
				      .height = g->height,
				      .length = (UINT32)len,
				      .data = (BYTE *)data,
				      .extra = &avc};
	if (g->ctx->SurfaceCommand(g->ctx, &cmd) != CHANNEL_RC_OK)
		return false;
	g->avc_frames++;
	*bytes += len + 10ull * nr;
	hd_debug(TAG, "session %u: AVC420 frame %u (%s, QP %u), %u region(s), %zu bytes", g->sid,
		 g->pace.sent, idr ? "IDR" : "P", qp, nr, len);
	return true;
}

static bool send_planar(struct rdp_gfx *g, const struct bk_fb *src, unsigned nr, uint64_t *bytes)
{
	for (unsigned i = 0; i < nr; i++) {
		const RECTANGLE_16 *r = &g->rects[i];
		uint32_t w = (uint32_t)(r->right - r->left), h = (uint32_t)(r->bottom - r->top);
		uint32_t size = 0;
		uint64_t t0 = hd_now_ns();
		/* FreeRDP 2's planar compressor writes rows bottom-up (as bitmap updates have
		 * them); GFX planes are top-down, so it gets the rectangle upside down. */
		size_t need = (size_t)w * h * 4;
		if (need > g->flip_cap) {
			uint8_t *nb = realloc(g->flip, need);
			if (!nb)
				return false;
			g->flip = nb;
			g->flip_cap = need;
		}
		for (uint32_t y = 0; y < h; y++)
			memcpy(g->flip + (size_t)(h - 1 - y) * w * 4,
			       src->map + (size_t)(r->top + y) * src->stride + (size_t)r->left * 4,
			       (size_t)w * 4);
		BYTE *data = freerdp_bitmap_compress_planar(g->planar, g->flip, PIXEL_FORMAT_BGRX32,
							    w, h, w * 4, NULL, &size);
		g->enc_ns += hd_now_ns() - t0;
		if (!data)
			return false;
		RDPGFX_SURFACE_COMMAND cmd = {.surfaceId = SURFACE_ID,
					      .codecId = RDPGFX_CODECID_PLANAR,
					      .format = PIXEL_FORMAT_BGRX32,
					      .left = r->left,
					      .top = r->top,
					      .right = r->right,
					      .bottom = r->bottom,
					      .width = w,
					      .height = h,
					      .length = size,
					      .data = data};
		UINT rc = g->ctx->SurfaceCommand(g->ctx, &cmd);
		free(data);
		if (rc != CHANNEL_RC_OK)
			return false;
		g->planar_cmds++;
		*bytes += size;
	}
	return true;
}

bool rdp_gfx_send_frame(struct rdp_gfx *g, const struct bk_fb *src,
			const struct hd_chan_rect *damage, unsigned n, bool full, uint64_t *bytes)
{
	if (!g->surface)
		return false;
	/* The surface is the client's desktop; the framebuffer is the same size here (rdp.c
	 * resizes first), but never read past either. */
	if (src->width < g->width || src->height < g->height)
		return true;
	if (g->idr_next)
		full = true;
	unsigned nr = clip_damage(g, damage, n, full);
	if (!nr)
		return true;
	pthread_mutex_lock(&g->lock);
	uint32_t id = g->pace.sent + 1;
	uint64_t unacked = rdp_gfx_pace_unacked(&g->pace) + 1;
	pthread_mutex_unlock(&g->lock);
	if (unacked > g->max_unacked)
		g->max_unacked = unacked;
	RDPGFX_START_FRAME_PDU start = {.timestamp = (UINT32)(hd_now_ns() / 1000000),
					.frameId = id};
	RDPGFX_END_FRAME_PDU end = {.frameId = id};
	if (g->ctx->StartFrame(g->ctx, &start) != CHANNEL_RC_OK)
		return false;
	pthread_mutex_lock(&g->lock);
	g->pace.sent = id;
	pthread_mutex_unlock(&g->lock);
	bool ok = g->enc ? send_avc(g, src, nr, bytes) : send_planar(g, src, nr, bytes);
	if (!ok || g->ctx->EndFrame(g->ctx, &end) != CHANNEL_RC_OK)
		return false;
	g->frames++;
	if (g->reset_ns) {
		hd_info(TAG, "session %u: first frame %ux%u %llu ms after ResetGraphics", g->sid,
			g->width, g->height,
			(unsigned long long)((hd_now_ns() - g->reset_ns) / 1000000));
		g->reset_ns = 0;
	}
	return true;
}

void rdp_gfx_log_stats(const struct rdp_gfx *g)
{
	if (!g || !g->frames)
		return;
	hd_info(TAG,
		"session %u: %llu GFX frames (%llu AVC420, %llu Planar commands), encoder %.2f ms "
		"a frame, at most %llu unacknowledged, %llu acknowledgements",
		g->sid, (unsigned long long)g->frames, (unsigned long long)g->avc_frames,
		(unsigned long long)g->planar_cmds, (double)g->enc_ns / 1e6 / (double)g->frames,
		(unsigned long long)g->max_unacked, (unsigned long long)g->acks);
}
