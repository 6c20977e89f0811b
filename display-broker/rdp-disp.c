/* rdp-disp.c: the Display Control channel of one RDP session (FreeRDP's disp server): opened
 * once drdynvc is ready, our capabilities (monitors, area) sent first; each monitor layout
 * PDU the client sends (its window was resized, its monitors changed) becomes an rdp_layout
 * that the session's thread takes. Not what a session does with a layout (rdp.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <freerdp/channels/wtsvc.h>
#include <freerdp/server/disp.h>

#include "rdp-internal.h"

#define TAG RDP_TAG

struct rdp_disp {
	freerdp_peer *peer;
	HANDLE vcm;
	unsigned session;
	DispServerContext *ctx;
	bool open;   /* the channel is open, caps sent */
	bool failed; /* it could not be opened: the session goes on without it */
	/* Written on the channel's thread, read on the session's. */
	pthread_mutex_t lock;
	bool pending;
	struct rdp_layout layout;
};

/* The channel's thread. */
static UINT on_monitor_layout(DispServerContext *ctx, const DISPLAY_CONTROL_MONITOR_LAYOUT_PDU *pdu)
{
	struct rdp_disp *d = ctx->custom;
	struct rdp_layout lay;
	if (!pdu || !pdu->NumMonitors || !pdu->Monitors || !rdp_layout_from_pdu(pdu, &lay)) {
		hd_info(TAG, "session %u: ignoring a monitor layout we cannot serve (%u monitors)",
			d->session, pdu ? pdu->NumMonitors : 0);
		return CHANNEL_RC_OK;
	}
	pthread_mutex_lock(&d->lock);
	d->layout = lay; /* the latest wins: a window being dragged sends many */
	d->pending = true;
	pthread_mutex_unlock(&d->lock);
	return CHANNEL_RC_OK;
}

struct rdp_disp *rdp_disp_new(freerdp_peer *peer, HANDLE vcm, unsigned session)
{
	struct rdp_disp *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->peer = peer;
	d->vcm = vcm;
	d->session = session;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

void rdp_disp_poll(struct rdp_disp *d)
{
	if (!d || d->open || d->failed)
		return;
	if (!d->peer->settings->SupportDisplayControl ||
	    WTSVirtualChannelManagerGetDrdynvcState(d->vcm) != DRDYNVC_STATE_READY)
		return;
	d->ctx = disp_server_context_new(d->vcm);
	if (!d->ctx) {
		d->failed = true;
		return;
	}
	d->ctx->custom = d;
	d->ctx->rdpcontext = d->peer->context;
	d->ctx->MaxNumMonitors = RDP_MAX_MONITORS;
	d->ctx->MaxMonitorAreaFactorA = BROKER_MAX_SHAPE;
	d->ctx->MaxMonitorAreaFactorB = BROKER_MAX_SHAPE;
	d->ctx->DispMonitorLayout = on_monitor_layout;
	if (d->ctx->Open(d->ctx) != CHANNEL_RC_OK) {
		hd_info(TAG, "session %u: no Display Control (the client did not open it)",
			d->session);
		disp_server_context_free(d->ctx);
		d->ctx = NULL;
		d->failed = true;
		return;
	}
	d->open = true;
	if (d->ctx->DisplayControlCaps(d->ctx) != CHANNEL_RC_OK) {
		hd_info(TAG, "session %u: cannot send Display Control capabilities", d->session);
		return;
	}
	hd_info(TAG, "session %u: Display Control open", d->session);
}

bool rdp_disp_take(struct rdp_disp *d, struct rdp_layout *out)
{
	pthread_mutex_lock(&d->lock);
	bool any = d->pending;
	if (any)
		*out = d->layout;
	d->pending = false;
	pthread_mutex_unlock(&d->lock);
	return any;
}

void rdp_disp_free(struct rdp_disp *d)
{
	if (!d)
		return;
	if (d->ctx) {
		if (d->open)
			d->ctx->Close(d->ctx);
		disp_server_context_free(d->ctx);
	}
	pthread_mutex_destroy(&d->lock);
	free(d);
}
