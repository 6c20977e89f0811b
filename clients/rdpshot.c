/* rdpshot.c: a headless RDP client (libfreerdp, software GDI, no X) that connects over TLS at
 * a chosen desktop size, optionally through the graphics pipeline with H.264 (AVC420),
 * waits until the picture has been still for a while (or streams for a set time) and saves
 * it. The CI's and the benchmarks' RDP client. Not a viewer: it sends no input. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freerdp/addin.h>
#include <freerdp/client/channels.h>
#include <freerdp/client/cmdline.h>
#include <freerdp/client/rdpgfx.h>
#include <freerdp/event.h>
#include <freerdp/freerdp.h>
#include <freerdp/gdi/gdi.h>
#include <freerdp/gdi/gfx.h>
#include <freerdp/settings.h>
#include <winpr/synch.h>
#include <winpr/wlog.h>

#include "clients.h"
#include "hd-common.h"

#define CHECK_EVERY_NS (50ull * 1000 * 1000) /* how often the picture is checked for change */

struct rdpshot_ctx {
	rdpContext base; /* first: FreeRDP allocates ContextSize and hands this back */
	const struct shot_config *cfg;
	RdpgfxClientContext *_Atomic gfx; /* set and cleared on a channel thread */
	pcRdpgfxEndFrame gdi_end_frame;
	pSurfaceFrameMarker gdi_frame_marker;
	/* Written on drdynvc's thread (GFX) or the main one (SurfaceBits), read on the main one. */
	atomic_uint frames, gfx_frames;
	_Atomic uint64_t first_frame_ns;
	bool cert_seen;
};

static struct rdpshot_ctx *ctx_of(rdpContext *c)
{
	return (struct rdpshot_ctx *)c;
}

static void frame_done(struct rdpshot_ctx *c)
{
	c->frames++;
	if (!c->first_frame_ns)
		c->first_frame_ns = hd_now_ns();
}

/* GFX frames: counted, and with --slow held back before the acknowledgement goes out (the
 * channel acknowledges a frame once this returns), as a slow decoder would. */
static UINT on_gfx_end_frame(RdpgfxClientContext *gfx, const RDPGFX_END_FRAME_PDU *end)
{
	const rdpGdi *gdi = gfx->custom; /* gdi_graphics_pipeline_init put it there */
	if (!gdi)
		return ERROR_INTERNAL_ERROR;
	struct rdpshot_ctx *c = ctx_of(gdi->context);
	UINT r = c->gdi_end_frame(gfx, end);
	c->gfx_frames++;
	frame_done(c);
	if (c->cfg->slow_ms) {
		struct timespec ts = {.tv_sec = c->cfg->slow_ms / 1000,
				      .tv_nsec = (long)(c->cfg->slow_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	return r;
}

static BOOL on_frame_marker(rdpContext *context, const SURFACE_FRAME_MARKER *m)
{
	struct rdpshot_ctx *c = ctx_of(context);
	BOOL r = c->gdi_frame_marker ? c->gdi_frame_marker(context, m) : TRUE;
	if (m->frameAction == SURFACECMD_FRAMEACTION_END)
		frame_done(c);
	return r;
}

static void on_channel_connected(void *context, ChannelConnectedEventArgs *e)
{
	struct rdpshot_ctx *c = ctx_of(context);
	if (strcmp(e->name, RDPGFX_DVC_CHANNEL_NAME) != 0)
		return;
	RdpgfxClientContext *gfx = e->pInterface;
	if (!gdi_graphics_pipeline_init(c->base.gdi, gfx))
		return;
	c->gdi_end_frame = gfx->EndFrame;
	gfx->EndFrame = on_gfx_end_frame;
	c->gfx = gfx;
	hd_debug("rdpshot", "graphics pipeline channel connected");
}

static void on_channel_disconnected(void *context, ChannelDisconnectedEventArgs *e)
{
	struct rdpshot_ctx *c = ctx_of(context);
	RdpgfxClientContext *gfx = c->gfx;
	if (strcmp(e->name, RDPGFX_DVC_CHANNEL_NAME) != 0 || !gfx)
		return;
	c->gfx = NULL;
	gdi_graphics_pipeline_uninit(c->base.gdi, gfx);
}

/* Our own broker's certificate is self-signed: accept it for this session only (FreeRDP's
 * /cert:ignore), never storing it. */
static DWORD on_verify_cert(freerdp *instance, const char *host, UINT16 port,
			    const char *common_name, const char *subject, const char *issuer,
			    const char *fingerprint, DWORD flags)
{
	(void)host, (void)port, (void)common_name, (void)subject, (void)issuer, (void)flags;
	ctx_of(instance->context)->cert_seen = true;
	hd_debug("rdpshot", "accepting the server's certificate %s", fingerprint);
	return 2;
}

static DWORD on_verify_changed_cert(freerdp *instance, const char *host, UINT16 port,
				    const char *common_name, const char *subject,
				    const char *issuer, const char *fingerprint,
				    const char *old_subject, const char *old_issuer,
				    const char *old_fingerprint, DWORD flags)
{
	(void)old_subject, (void)old_issuer, (void)old_fingerprint;
	return on_verify_cert(instance, host, port, common_name, subject, issuer, fingerprint,
			      flags);
}

static BOOL on_pre_connect(freerdp *instance)
{
	rdpContext *context = instance->context;
	PubSub_SubscribeChannelConnected(context->pubSub, on_channel_connected);
	PubSub_SubscribeChannelDisconnected(context->pubSub, on_channel_disconnected);
	/* drdynvc and rdpgfx as the settings ask (built into libfreerdp-client). */
	return freerdp_client_load_addins(context->channels, instance->settings);
}

/* The software GDI draws into its own buffer; a paint needs nothing from us, but FreeRDP's
 * GFX output fails without these. */
static BOOL on_begin_paint(rdpContext *context)
{
	(void)context;
	return TRUE;
}

static BOOL on_end_paint(rdpContext *context)
{
	(void)context;
	return TRUE;
}

static BOOL on_desktop_resize(rdpContext *context)
{
	return gdi_resize(context->gdi, context->settings->DesktopWidth,
			  context->settings->DesktopHeight);
}

static BOOL on_post_connect(freerdp *instance)
{
	/* Bytes R, G, B, X: what shot_write_png takes. */
	if (!gdi_init(instance, PIXEL_FORMAT_RGBX32))
		return FALSE;
	struct rdpshot_ctx *c = ctx_of(instance->context);
	rdpUpdate *up = instance->update;
	c->gdi_frame_marker = up->SurfaceFrameMarker;
	up->SurfaceFrameMarker = on_frame_marker;
	up->DesktopResize = on_desktop_resize;
	up->BeginPaint = on_begin_paint;
	up->EndPaint = on_end_paint;
	return TRUE;
}

static void on_post_disconnect(freerdp *instance)
{
	gdi_free(instance);
}

/* The GDI's picture is written by drdynvc's thread under the GFX context's lock while the
 * graphics pipeline is up: read it under the same lock. */
static RdpgfxClientContext *picture_lock(struct rdpshot_ctx *c)
{
	RdpgfxClientContext *gfx = c->gfx;
	if (gfx)
		EnterCriticalSection(&gfx->mux);
	return gfx;
}

static void picture_unlock(RdpgfxClientContext *gfx)
{
	if (gfx)
		LeaveCriticalSection(&gfx->mux);
}

/* FNV-1a over 64-bit words, as clients/shot.c. */
static uint64_t picture_sum(const rdpGdi *gdi)
{
	uint32_t w = (uint32_t)gdi->width, ht = (uint32_t)gdi->height;
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)w << 32 | ht);
	for (uint32_t y = 0; y < ht; y++) {
		const uint8_t *p = gdi->primary_buffer + (size_t)y * gdi->stride;
		for (size_t i = 0; i + 8 <= (size_t)w * 4; i += 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			h = (h ^ v) * 0x100000001b3ull;
		}
	}
	return h;
}

static unsigned ms_between(uint64_t a, uint64_t b)
{
	return b > a ? (unsigned)((b - a) / 1000000) : 0;
}

static int save(const rdpGdi *gdi, const char *path)
{
	uint32_t w = (uint32_t)gdi->width, h = (uint32_t)gdi->height;
	uint8_t *rgbx = malloc((size_t)w * h * 4);
	if (!rgbx)
		return -ENOMEM;
	for (uint32_t y = 0; y < h; y++)
		memcpy(rgbx + (size_t)y * w * 4, gdi->primary_buffer + (size_t)y * gdi->stride,
		       (size_t)w * 4);
	int r = shot_write_png(path, rgbx, w, h);
	free(rgbx);
	return r;
}

static bool configure(rdpSettings *st, const struct shot_config *cfg)
{
	bool gfx = cfg->gfx;
	bool ok = freerdp_settings_set_string(st, FreeRDP_ServerHostname, cfg->host) &&
		  freerdp_settings_set_string(st, FreeRDP_Username, "hyperdesk");
	st->ServerPort = cfg->port;
	if (cfg->width) {
		st->DesktopWidth = cfg->width;
		st->DesktopHeight = cfg->height;
	}
	if (cfg->scale) {
		st->DesktopScaleFactor = cfg->scale;
		st->DeviceScaleFactor = cfg->scale >= 180 ? 180 : cfg->scale >= 140 ? 140 : 100;
	}
	if (cfg->nr_monitors) {
		/* Client monitor data (MS-RDPBCGR 2.2.1.3.6): the desktop is their bounding box. */
		if (cfg->nr_monitors > st->MonitorDefArraySize)
			return false;
		for (unsigned i = 0; i < cfg->nr_monitors; i++) {
			const struct shot_monitor *m = &cfg->monitors[i];
			st->MonitorDefArray[i] = (rdpMonitor){.x = m->x,
							      .y = m->y,
							      .width = (INT32)m->width,
							      .height = (INT32)m->height,
							      .is_primary = i == 0};
		}
		st->MonitorCount = cfg->nr_monitors;
		st->UseMultimon = TRUE;
		st->ForceMultimon = TRUE;
	}
	st->ColorDepth = cfg->depth ? cfg->depth : 32;
	st->IgnoreCertificate = FALSE; /* on_verify_cert decides: this session only */
	st->AutoAcceptCertificate = FALSE;
	st->RdpSecurity = FALSE;
	st->TlsSecurity = TRUE;
	st->NlaSecurity = FALSE;
	st->ExtSecurity = FALSE;
	st->SoftwareGdi = TRUE;
	st->SurfaceCommandsEnabled = TRUE;
	st->FrameMarkerCommandEnabled = TRUE;
	st->FastPathOutput = TRUE;
	st->RemoteFxCodec = FALSE;
	st->NSCodec = FALSE;
	st->SupportGraphicsPipeline = gfx;
	st->SupportDynamicChannels = gfx;
	st->GfxH264 = gfx && cfg->gfx_h264;
	st->GfxAVC444 = FALSE;
	st->GfxAVC444v2 = FALSE;
	st->GfxProgressive = FALSE;
	st->GfxProgressiveV2 = FALSE;
	st->GfxThinClient = FALSE;
	st->GfxSmallCache = FALSE;
	st->AsyncUpdate = FALSE;
	st->AsyncChannels = FALSE;
	return ok;
}

int rdpshot_run(const struct shot_config *cfg, struct shot_result *res)
{
	if (hd_log_get_level() < HD_LOG_DEBUG && !getenv("WLOG_LEVEL"))
		WLog_SetLogLevel(WLog_GetRoot(), WLOG_OFF);
	/* Channels (drdynvc, rdpgfx) are built into libfreerdp-client: look there first. */
	freerdp_register_addin_provider(freerdp_channels_load_static_addin_entry, 0);
	freerdp *instance = freerdp_new();
	if (!instance) {
		fprintf(stderr, "hyperdesk shot: out of memory\n");
		return -1;
	}
	instance->ContextSize = sizeof(struct rdpshot_ctx);
	instance->PreConnect = on_pre_connect;
	instance->PostConnect = on_post_connect;
	instance->PostDisconnect = on_post_disconnect;
	instance->VerifyCertificateEx = on_verify_cert;
	instance->VerifyChangedCertificateEx = on_verify_changed_cert;
	if (!freerdp_context_new(instance)) {
		fprintf(stderr, "hyperdesk shot: cannot set up an RDP client\n");
		freerdp_free(instance);
		return -1;
	}
	struct rdpshot_ctx *c = ctx_of(instance->context);
	c->cfg = cfg;
	int status = -1;
	uint64_t start = hd_now_ns();
	uint64_t deadline = start + (uint64_t)cfg->timeout_ms * 1000000;
	uint64_t settle = (uint64_t)cfg->settle_ms * 1000000;
	if (!configure(instance->settings, cfg)) {
		fprintf(stderr, "hyperdesk shot: out of memory\n");
		goto out_free;
	}
	if (!freerdp_connect(instance)) {
		UINT32 e = freerdp_get_last_error(instance->context);
		fprintf(stderr,
			"hyperdesk shot: cannot connect to an RDP server at %s port %u: %s\n",
			cfg->host, cfg->port, freerdp_get_last_error_string(e));
		goto out_free;
	}

	uint64_t connected_ns = hd_now_ns(); /* the connection sequence is done: active */
	uint64_t sum = 0, changed_ns = 0, checked_ns = 0, stream_start = 0, stream_end = 0;
	unsigned frames_at_check = 0, frames_at_stream = 0;
	for (;;) {
		uint64_t now = hd_now_ns();
		rdpGdi *gdi = instance->context->gdi;
		bool at_size = gdi && (!cfg->width || ((uint32_t)gdi->width == cfg->width &&
						       (uint32_t)gdi->height == cfg->height));
		if (now > deadline) {
			if (cfg->width && gdi && !at_size)
				fprintf(stderr,
					"hyperdesk shot: the server stayed at %ux%u, not %ux%u, "
					"for %u ms\n",
					gdi->width, gdi->height, cfg->width, cfg->height,
					cfg->timeout_ms);
			else
				fprintf(stderr, "hyperdesk shot: no %s within %u ms\n",
					c->frames ? "stable frame" : "frame", cfg->timeout_ms);
			break;
		}
		if (cfg->gfx_required && c->frames && !c->gfx_frames) {
			fprintf(stderr,
				"hyperdesk shot: the server sent frames without the graphics "
				"pipeline\n");
			break;
		}
		if (at_size && c->frames && now - checked_ns >= CHECK_EVERY_NS) {
			checked_ns = now;
			if (c->frames != frames_at_check || !changed_ns) {
				frames_at_check = c->frames;
				RdpgfxClientContext *locked = picture_lock(c);
				uint64_t s = picture_sum(gdi);
				picture_unlock(locked);
				if (s != sum || !changed_ns) {
					sum = s;
					changed_ns = now;
				}
			}
			if (cfg->stream_ms) {
				if (!stream_end) {
					stream_start = now;
					stream_end = now + (uint64_t)cfg->stream_ms * 1000000;
					frames_at_stream = c->frames;
				} else if (now >= stream_end) {
					status = 0;
					break;
				}
			} else if (now - changed_ns >= settle) {
				status = 0;
				break;
			}
		}
		HANDLE handles[64];
		DWORD n = freerdp_get_event_handles(instance->context, handles, 64);
		if (!n) {
			fprintf(stderr, "hyperdesk shot: lost the connection\n");
			break;
		}
		WaitForMultipleObjects(n, handles, FALSE, 20);
		if (!freerdp_check_event_handles(instance->context) ||
		    freerdp_shall_disconnect(instance)) {
			fprintf(stderr, "hyperdesk shot: the server closed the connection\n");
			break;
		}
	}
	if (status == 0) {
		rdpGdi *gdi = instance->context->gdi;
		RdpgfxClientContext *locked = picture_lock(c);
		int r = save(gdi, cfg->output);
		picture_unlock(locked);
		if (r < 0) {
			fprintf(stderr, "hyperdesk shot: cannot write %s: %s\n", cfg->output,
				strerror(-r));
			status = -1;
		}
		res->width = (uint32_t)gdi->width;
		res->height = (uint32_t)gdi->height;
		res->updates = c->frames;
		res->gfx_frames = c->gfx_frames;
		res->connect_ms = ms_between(start, c->first_frame_ns);
		res->active_ms = ms_between(connected_ns, c->first_frame_ns);
		res->shape_ms = 0;
		res->stream_ms = stream_start ? ms_between(stream_start, hd_now_ns()) : 0;
		res->stream_frames = c->frames - frames_at_stream;
	}
	freerdp_disconnect(instance);
out_free:
	freerdp_context_free(instance);
	freerdp_free(instance);
	return status;
}

bool rdpshot_available(void)
{
	return true;
}
