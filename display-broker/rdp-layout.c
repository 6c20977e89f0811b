/* rdp-layout.c: a client's display layout as the broker serves it: the monitors of its
 * connection settings or of a Display Control monitor layout PDU, primary first, moved so the
 * desktop's top-left is 0,0 (monitors left of or above the primary have negative
 * coordinates), checked against the broker's limits, with a physical size from the client's
 * scale factor. Not the channel (rdp-disp.c) nor the policy that gives monitors heads. */
#include <string.h>

#include <freerdp/channels/disp.h>
#include <freerdp/settings.h>

#include "rdp-internal.h"

#define TAG RDP_TAG
#define SCALE_MIN 100 /* [MS-RDPBCGR] 2.2.1.3.2: desktopScaleFactor 100..500 */
#define SCALE_MAX 500
#define BASE_DPI 96 /* what a scale of 100% means */

struct raw_monitor {
	int64_t x, y;
	uint32_t w, h;
	bool primary;
};

void rdp_scale_mm(uint32_t w, uint32_t h, uint32_t scale, uint32_t *wmm, uint32_t *hmm)
{
	if (scale < SCALE_MIN || scale > SCALE_MAX) {
		*wmm = *hmm = 0;
		return;
	}
	broker_size_mm(w, h, BASE_DPI * scale, wmm, hmm);
}

static bool shape_ok(uint32_t w, uint32_t h)
{
	return w >= BROKER_MIN_SHAPE && h >= BROKER_MIN_SHAPE && w <= BROKER_MAX_SHAPE &&
	       h <= BROKER_MAX_SHAPE;
}

/* Builds out from n raw monitors; false if none is usable. */
static bool build(const struct raw_monitor *raw, unsigned n, uint32_t scale,
		  struct rdp_layout *out)
{
	memset(out, 0, sizeof(*out));
	int64_t minx = INT64_MAX, miny = INT64_MAX, maxx = INT64_MIN, maxy = INT64_MIN;
	unsigned primary = n;
	for (unsigned i = 0; i < n; i++) {
		if (!shape_ok(raw[i].w, raw[i].h))
			continue;
		if (raw[i].primary && primary == n)
			primary = i;
		minx = raw[i].x < minx ? raw[i].x : minx;
		miny = raw[i].y < miny ? raw[i].y : miny;
		maxx = raw[i].x + raw[i].w > maxx ? raw[i].x + raw[i].w : maxx;
		maxy = raw[i].y + raw[i].h > maxy ? raw[i].y + raw[i].h : maxy;
	}
	if (minx == INT64_MAX || maxx - minx > BROKER_MAX_SHAPE || maxy - miny > BROKER_MAX_SHAPE)
		return false;
	/* Primary first, then the others in the client's order. */
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n && out->nr < RDP_MAX_MONITORS; i++) {
			bool first = primary == n ? i == 0 : i == primary;
			if (!shape_ok(raw[i].w, raw[i].h) || first != (pass == 0))
				continue;
			struct rdp_monitor_shape *m = &out->mon[out->nr++];
			m->x = (uint32_t)(raw[i].x - minx);
			m->y = (uint32_t)(raw[i].y - miny);
			m->width = raw[i].w;
			m->height = raw[i].h;
			rdp_scale_mm(m->width, m->height, scale, &m->width_mm, &m->height_mm);
		}
	out->width = (uint32_t)(maxx - minx);
	out->height = (uint32_t)(maxy - miny);
	return out->nr > 0;
}

static uint32_t scale_of(uint32_t desktop, uint32_t device)
{
	/* The desktop scale is what the user asked the desktop to look like; the device scale
	 * (100, 140, 180) is the client's hint when it sent no desktop scale. */
	if (desktop >= SCALE_MIN && desktop <= SCALE_MAX)
		return desktop;
	return device >= SCALE_MIN && device <= SCALE_MAX ? device : 0;
}

bool rdp_layout_from_settings(const rdpSettings *st, struct rdp_layout *out)
{
	struct raw_monitor raw[RDP_MAX_MONITORS];
	unsigned n = 0;
	uint32_t scale = scale_of(st->DesktopScaleFactor, st->DeviceScaleFactor);
	uint32_t count = st->MonitorCount;
	if (count > 1 && st->MonitorDefArray) {
		if (count > RDP_MAX_MONITORS) {
			hd_info(TAG, "the client has %u monitors: serving the first %d", count,
				RDP_MAX_MONITORS);
			count = RDP_MAX_MONITORS;
		}
		for (uint32_t i = 0; i < count; i++) {
			const rdpMonitor *m = &st->MonitorDefArray[i];
			if (m->width <= 0 || m->height <= 0)
				continue;
			raw[n++] = (struct raw_monitor){m->x, m->y, (uint32_t)m->width,
							(uint32_t)m->height, m->is_primary != 0};
		}
	}
	if (n > 1 && build(raw, n, scale, out))
		return true;
	raw[0] = (struct raw_monitor){0, 0, st->DesktopWidth, st->DesktopHeight, true};
	return build(raw, 1, scale, out);
}

bool rdp_layout_from_pdu(const DISPLAY_CONTROL_MONITOR_LAYOUT_PDU *pdu, struct rdp_layout *out)
{
	struct raw_monitor raw[RDP_MAX_MONITORS];
	unsigned n = 0;
	uint32_t scale = 0;
	for (uint32_t i = 0; i < pdu->NumMonitors && n < RDP_MAX_MONITORS; i++) {
		const DISPLAY_CONTROL_MONITOR_LAYOUT *m = &pdu->Monitors[i];
		bool primary = (m->Flags & DISPLAY_CONTROL_MONITOR_PRIMARY) != 0;
		raw[n++] = (struct raw_monitor){m->Left, m->Top, m->Width, m->Height, primary};
		uint32_t s = scale_of(m->DesktopScaleFactor, m->DeviceScaleFactor);
		if (s && (!scale || primary))
			scale = s; /* the primary's, else the first given */
	}
	return n && build(raw, n, scale, out);
}
