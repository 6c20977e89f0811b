/* rdp-gfx.h: one RDP session's Graphics Pipeline channel (MS-RDPEGFX): what rdp.c calls to
 * open it, size its surface and send frames (H.264 AVC420, else Planar). Private to
 * display-broker/; not the session itself. */
#ifndef BROKER_RDP_GFX_H
#define BROKER_RDP_GFX_H

#include <stdbool.h>
#include <stdint.h>

#include <freerdp/channels/rdpgfx.h>
#include <freerdp/peer.h>

#include "broker-internal.h"

/* Frames sent and not yet acknowledged that hold back the next one (MS-RDPEGFX 3.2.5.x:
 * the client's FrameAcknowledge paces the server). */
#define RDP_GFX_MAX_UNACKED 2

struct rdp_gfx;

/* ---- the parts that judge what the client sends, pure (unit-tested and fuzzed) ---- */

/* Frame pacing: frames sent, the last one acknowledged, and whether the client suspended
 * acknowledgements (queueDepth SUSPEND_FRAME_ACKNOWLEDGEMENT, MS-RDPEGFX 2.2.2.13). */
struct rdp_gfx_pace {
	uint32_t sent, acked;
	bool suspended;
};
/* Takes one FrameAcknowledge: only ever moves acked forward, never past what was sent. */
void rdp_gfx_pace_ack(struct rdp_gfx_pace *p, uint32_t queue_depth, uint32_t frame_id);
/* Frames sent and not acknowledged. */
uint32_t rdp_gfx_pace_unacked(const struct rdp_gfx_pace *p);
/* Whether one more frame may go. */
bool rdp_gfx_pace_can_send(const struct rdp_gfx_pace *p);
/* Picks the capability set to confirm from the client's: the newest version we know, and
 * AVC420 when some set welcomes it and none disables it (*avc). false: none we know. */
bool rdp_gfx_choose_caps(const RDPGFX_CAPSET *sets, unsigned n, RDPGFX_CAPSET *out, bool *avc);

/* A channel for a client that announced the graphics pipeline, or NULL (no GFX: SurfaceBits).
 * vcm is the session's virtual channel manager. */
struct rdp_gfx *rdp_gfx_new(freerdp_peer *peer, void *vcm, unsigned session_id);
void rdp_gfx_free(struct rdp_gfx *g);
/* Drives negotiation from the session thread: opens the channel once drdynvc is ready and
 * answers the client's capabilities. Returns false when GFX is off for good (the session
 * falls back to SurfaceBits). */
bool rdp_gfx_poll(struct rdp_gfx *g);
/* Capabilities confirmed: frames go through GFX. */
bool rdp_gfx_active(const struct rdp_gfx *g);
/* Whether a frame may go now (active, and fewer than RDP_GFX_MAX_UNACKED unacknowledged).
 * While not, the session leaves its damage to accumulate. */
bool rdp_gfx_can_send(const struct rdp_gfx *g);
/* Whether the surface is width x height already. */
bool rdp_gfx_surface_is(const struct rdp_gfx *g, uint32_t width, uint32_t height);
/* ResetGraphics to width x height (one monitor), a new surface mapped at 0,0 and a new encoder;
 * the next frame is a full one. For a live resize too. false: the connection failed. */
bool rdp_gfx_reset(struct rdp_gfx *g, uint32_t width, uint32_t height);
/* One frame: the damaged rectangles of src (or all of it when full) between StartFrame and
 * EndFrame. Adds the bytes sent to *bytes. false: the connection failed. */
bool rdp_gfx_send_frame(struct rdp_gfx *g, const struct bk_fb *src,
			const struct hd_chan_rect *damage, unsigned n, bool full, uint64_t *bytes);
/* Logs the channel's totals (frames, codec, encoder time, acknowledgement waits). */
void rdp_gfx_log_stats(const struct rdp_gfx *g);

#endif
