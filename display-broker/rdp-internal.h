/* rdp-internal.h: what the FreeRDP files of display-broker/ (rdp.c, rdp-nla.c, rdp-disp.c)
 * share: one RDP session's state and the calls between them. Not for the rest of the broker,
 * which sees RDP only through broker-internal.h. */
#ifndef RDP_INTERNAL_H
#define RDP_INTERNAL_H

#include <freerdp/freerdp.h>
#include <freerdp/peer.h>

#include "broker-internal.h"

#define RDP_TAG "rdp"
/* The monitors of one client we serve (each on a head of its own). */
#define RDP_MAX_MONITORS 16

/* One client monitor: a rectangle of the client's desktop (normalised: the desktop's
 * top-left is 0,0) with its physical size. */
struct rdp_monitor_shape {
	uint32_t x, y, width, height;
	uint32_t width_mm, height_mm; /* 0: the broker's --dpi (or the VM's default) */
};

/* A client's display: its monitors, the first the primary. */
struct rdp_layout {
	unsigned nr;
	struct rdp_monitor_shape mon[RDP_MAX_MONITORS];
	uint32_t width, height; /* the bounding box: the client's desktop */
};

/* rdp-nla.c: the NLA check against the users file. */
struct rdp_nla {
	const struct broker_users *users;
	unsigned session;
	char peer_addr[64];
	char user[BROKER_USER_MAX + 1]; /* the last user name a client tried ("" none) */
	bool known;			 /* that name is in the users file */
};
/* Makes peer check NLA logons against nla->users (kept in memory: no SAM file). */
void rdp_nla_setup(freerdp_peer *peer, struct rdp_nla *nla);
/* Logs why a session ended before its logon completed, if NLA refused it. */
void rdp_nla_log_failure(const struct rdp_nla *nla);

/* rdp-layout.c: the client's layout from its connection settings (monitors, scale), or from
 * a Display Control monitor layout PDU. False when nothing in it can be served. */
bool rdp_layout_from_settings(const rdpSettings *st, struct rdp_layout *out);
struct _DISPLAY_CONTROL_MONITOR_LAYOUT_PDU;
bool rdp_layout_from_pdu(const struct _DISPLAY_CONTROL_MONITOR_LAYOUT_PDU *pdu,
			 struct rdp_layout *out);
/* The physical size of a w x h monitor at scale percent (100: 96 dpi); 0 x 0 for none. */
void rdp_scale_mm(uint32_t w, uint32_t h, uint32_t scale, uint32_t *wmm, uint32_t *hmm);

/* rdp-disp.c: the Display Control dynamic channel ([MS-RDPEDISP]) of one session: opened
 * once the client's drdynvc is ready, capabilities first; the layouts the client sends on
 * the channel's own thread are handed to the session's thread through rdp_disp_take. */
struct rdp_disp;
struct rdp_disp *rdp_disp_new(freerdp_peer *peer, HANDLE vcm, unsigned session);
/* Each turn of the session's loop: opens the channel when drdynvc has become ready. */
void rdp_disp_poll(struct rdp_disp *d);
/* The latest layout the client sent since the last call, if any. */
bool rdp_disp_take(struct rdp_disp *d, struct rdp_layout *out);
void rdp_disp_free(struct rdp_disp *d);

#endif
