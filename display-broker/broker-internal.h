/* broker-internal.h: what the files of display-broker/ share: the broker's state (VMs, their
 * heads, sessions) under one lock, and the calls between the main loop and session threads.
 * Not for anything outside this folder. */
#ifndef BROKER_INTERNAL_H
#define BROKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "hd-channel.h"
#include "hd-common.h"

#define BROKER_TAG "broker"
#define SESSION_MAX_DAMAGE 16
/* A session whose SetDesktopSize the guest has not followed by then gets an error reply. */
#define SESSION_REPLY_TIMEOUT_NS (5000ull * 1000 * 1000)
/* One display request in flight a head: the next waits for the mode, or this long. */
#define HEAD_REQUEST_TIMEOUT_NS (1000ull * 1000 * 1000)

/* A VM's framebuffer, mapped read-only; sessions hold references while they copy. */
struct bk_fb {
	atomic_int refs;
	const uint8_t *map;
	size_t size;
	uint32_t width, height, stride;
};

struct bk_fb *bk_fb_ref(struct bk_fb *fb);
void bk_fb_unref(struct bk_fb *fb);

struct bk_head {
	struct bk_fb *fb;     /* NULL while the guest scans nothing out */
	uint64_t mode_serial; /* bumps on every MODE */
	uint64_t frames;
	/* The display request in flight. */
	bool req_inflight;
	uint32_t req_w, req_h;
	uint64_t req_ns;
	uint32_t req_wmm, req_hmm; /* the physical size last asked for */
	uint32_t req_depth;	   /* the depth last asked for (0: none yet) */
	/* The cursor as the VMM last sent it. */
	uint64_t cursor_serial; /* bumps on every CURSOR */
	bool cursor_visible, cursor_has_image;
	int32_t cursor_x, cursor_y;
	uint32_t hot_x, hot_y;
	uint8_t cursor_image[HD_CHAN_CURSOR_BYTES];
};

struct bk_vm {
	struct bk_vm *next;
	unsigned id;
	int sock;
	bool hello_seen;
	char name[HD_CHAN_NAME_MAX + 1];
	unsigned nr_heads;
	struct bk_head heads[HD_CHAN_MAX_HEADS];
	uint64_t vm_id; /* from VMID; 0 until then */
	bool moved;     /* said BYE "moved": its sessions wait for it to arrive elsewhere */
};

/* A monitor of a session beyond its first (an RDP client with several): a head of the same
 * VM shown at (x, y) of the client's desktop. */
struct bk_more {
	unsigned head;
	uint32_t x, y;
	uint32_t want_w, want_h, want_wmm, want_hmm;
};

struct bk_session {
	struct bk_session *next;
	unsigned id;
	int sock; /* the client's TCP socket; libvncserver owns it once the client exists */
	pthread_t thread;
	atomic_bool done; /* the thread has finished: join and free */
	bool rdp;	  /* an RDP session (rdp.c), else VNC (session.c) */
	bool hold;	  /* under the lock: not placed on a VM until the client is in (an RDP
			   * client until its logon and layout are known) */
	/* Under the broker lock. */
	struct bk_vm *vm; /* NULL: waiting for a VM, or its VM went away */
	unsigned head;
	bool closing;	  /* the session must end (its VM died, the broker stops) */
	bool ever_attached;
	struct hd_chan_rect damage[SESSION_MAX_DAMAGE];
	unsigned nr_damage;
	bool want_set;	  /* the client asked for a shape */
	uint32_t want_w, want_h;
	uint32_t want_wmm, want_hmm; /* its physical size; 0 x 0: the broker's --dpi */
	uint64_t want_ns;
	/* The client's colour depth in bits a pixel (for all its monitors), when depth_ns is
	 * set: a head takes the depth of the session that stated one last. */
	uint32_t want_depth;
	uint64_t depth_ns;
	/* Multi-monitor clients (RDP): the first monitor is head/want_* above, at (x0, y0) of
	 * the client's desktop; the others get heads when the session is placed on a VM. */
	uint32_t x0, y0;
	unsigned nr_more;
	bool more_placed;  /* their heads are chosen */
	bool more_dropped; /* the VM had too few heads: only the first monitor is served */
	struct bk_more more[HD_CHAN_MAX_HEADS - 1];
	bool reply_pending; /* a SetDesktopSize waits for the guest */
	uint64_t reply_deadline;
	/* Its VM moved away (live migration): waiting for a VM with this id until then. */
	uint64_t wait_id, wait_until;
};

struct broker {
	const struct broker_config *cfg;
	pthread_mutex_t lock; /* VMs, heads, sessions and their shared fields */
	struct bk_vm *vms;
	struct bk_session *sessions;
	unsigned nr_sessions;
	unsigned next_vm_id, next_session_id;
	uint64_t serial; /* mode and cursor serials, unique across VMs: a session that moves to
			  * another VM sees its modes as new */
	atomic_bool stopping;
	char *passwords[2]; /* for libvncserver's rfbCheckPasswordByList */
	/* RDP's TLS certificate and key (PEM), loaded or generated at the first RDP client. */
	pthread_mutex_t tls_lock;
	char *tls_cert_pem, *tls_key_pem;
};

/* rdp-users.c: the parsed users file. Names are matched ignoring ASCII case, as NTLM does. */
#define BROKER_USERS_MAX 256
#define BROKER_USER_MAX 64
#define BROKER_PASSWORD_MAX 256
#define BROKER_USERS_LINE_MAX 1024
#define BROKER_USERS_FILE_MAX (64 * 1024)
struct broker_user {
	char name[BROKER_USER_MAX + 1];
	bool has_hash;	     /* nt_hash given; else password */
	uint8_t nt_hash[16]; /* MD4 of the UTF-16LE password */
	char password[BROKER_PASSWORD_MAX + 1];
};
struct broker_users {
	unsigned nr;
	struct broker_user users[BROKER_USERS_MAX];
};
const struct broker_user *broker_users_find(const struct broker_users *u, const char *name);

/* broker.c, under the lock: picks a VM and head for s (by policy), or leaves it waiting. */
void broker_session_attach(struct broker *b, struct bk_session *s);
/* Sends a message to a VM without blocking (dropped if the socket is full). Under the lock. */
void broker_vm_send(struct bk_vm *vm, const struct hd_chan_msg *m);
/* Sends one input event from session s to the head it watches (none while it has no VM); takes
 * the broker's lock. */
void broker_session_input(struct broker *b, struct bk_session *s, uint32_t kind, uint32_t a,
			  uint32_t bb, uint32_t c);
/* The same for the head of the session's monitor mon (0: the first, 1 + i: more[i]). */
void broker_session_input_on(struct broker *b, struct bk_session *s, unsigned mon,
			     uint32_t kind, uint32_t a, uint32_t bb, uint32_t c);
/* Under the lock: gives the monitors beyond the first heads of s's VM by policy, or drops
 * them (logged) when the VM has too few; nothing until s is on a VM. */
void broker_session_place_more(struct broker *b, struct bk_session *s);
/* A non-blocking TCP listener on addr (IPv4 or IPv6 literal) and port (0: any); returns the
 * socket or -errno, and the port actually bound in *port_out. */
int broker_tcp_listen(const char *addr, unsigned port, int backlog, unsigned *port_out);
/* Under the lock: records the depth (bits a pixel) s's client shows; a new one reshapes the
 * heads it watches by policy. Depths the channel cannot carry are taken as not known. */
void broker_session_depth(struct bk_session *s, uint32_t depth);
/* The physical size for a shape at the configured DPI (0 x 0 without one). */
void broker_shape_mm(const struct broker *b, uint32_t w, uint32_t h, uint32_t *wmm,
		     uint32_t *hmm);
/* The physical size of w x h pixels at dpi_x100 / 100 dots per inch, rounded (0 x 0 for 0). */
void broker_size_mm(uint32_t w, uint32_t h, uint32_t dpi_x100, uint32_t *wmm, uint32_t *hmm);

/* damage.c: drops empty rectangles and ones inside others from r[0..n), and makes a list
 * that covers its bounding box at least once over that box; returns the new count. */
unsigned bk_damage_simplify(struct hd_chan_rect *r, unsigned n);

/* session.c: the thread that serves one VNC client on socket sock. */
void *session_thread(void *arg);
struct session_arg {
	struct broker *b;
	struct bk_session *s;
};
/* Routes libvncserver's log to ours, once. */
void session_log_init(void);

/* rdp.c: the thread that serves one RDP client on socket sock (same argument). */
void *rdp_session_thread(void *arg);
/* Quietens FreeRDP's own log (stdout) unless we log debug output. */
void rdp_log_init(void);
/* rdp-cert.c: fills b->tls_cert_pem/tls_key_pem once (from --tls-cert/--tls-key, the state
 * folder, or a new self-signed RSA-2048 certificate saved there). 0 or -errno. */
int rdp_tls_load(struct broker *b);

#endif
