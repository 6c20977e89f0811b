/* broker.h: the public interface of the display broker: serves the display of the VMs that
 * attach over the display channel to VNC clients (and browsers through VNC websockets), one
 * libvncserver screen per session, and to RDP clients (FreeRDP, rdp.c), and asks each VM for the shape its sessions want. Not the
 * VMM's side of the channel (cli/display-link.c) and never a mapper of guest RAM. */
#ifndef BROKER_H
#define BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum broker_policy {
	BROKER_POLICY_FOLLOW, /* a head follows the most recent session's shape */
	BROKER_POLICY_HEADS,  /* every session gets a head of its own */
	BROKER_POLICY_FIXED,  /* no reconfiguration */
};

#define BROKER_MAX_SESSIONS 64
/* SetDesktopSize beyond this (each way) is refused with OutOfResources. */
#define BROKER_MAX_SHAPE 8192
#define BROKER_MIN_SHAPE 16

struct broker_config {
	const char *channel_path; /* unix socket the VMMs connect to */
	const char *vnc_addr;	  /* numeric IPv4 or IPv6 address */
	unsigned vnc_port;	  /* 0 picks a free port (printed) */
	enum broker_policy policy;
	const char *password;	  /* VNC password, or NULL for none (loopback only) */
	unsigned dpi;		  /* sent as the display's physical size; 0 = the VM's default */
	int ready_fd;		  /* if >= 0, "ready PORT\n" is written here once listening
				   * ("ready PORT web WEBPORT\n" with the web client;
				   * " rdp RDPPORT" is added while RDP listens) */
	const char *web_addr;	  /* serve the noVNC web client here (numeric), or NULL */
	unsigned web_port;	  /* 0 picks a free port */
	const char *web_root;	  /* the noVNC package folder (holds core/rfb.js) */
	const char *rdp_addr;	  /* serve RDP here (numeric; loopback unless rdp_users), or NULL */
	unsigned rdp_port;	  /* 0 picks a free port */
	bool rdp_optional;	  /* a busy RDP port is a warning, not a failure (run's default) */
	const char *state_dir;	  /* where the generated TLS certificate is kept, or NULL */
	const char *tls_cert;	  /* PEM files to use instead of the generated certificate */
	const char *tls_key;
	/* RDP users (--rdp-users): with them NLA is required; without, RDP is loopback only. */
	const struct broker_users *rdp_users;
};

/* The RDP users file (rdp-users.c; its format is in docs/RDP.md): one "user:password" or
 * "user::NTHASH" (32 hex digits) a line, '#' comments. Parsing takes untrusted text and
 * returns 0, or -errno with a one-line reason ("line N: ...") in err. */
struct broker_users;
int broker_users_parse(const char *text, size_t len, struct broker_users **out, char *err,
		       size_t errlen);
/* Reads and parses path; refuses a file that group or others may access. */
int broker_users_load(const char *path, struct broker_users **out, char *err, size_t errlen);
void broker_users_free(struct broker_users *u);
unsigned broker_users_count(const struct broker_users *u);

/* Whether this build serves RDP (FreeRDP 2 was found at build time). */
bool broker_rdp_available(void);

/* Parses "follow", "heads" or "fixed". Returns 0 or -EINVAL. */
int broker_policy_parse(const char *s, enum broker_policy *out);
const char *broker_policy_name(enum broker_policy p);
/* Whether addr (numeric) is a loopback address. */
bool broker_addr_is_loopback(const char *addr);
/* Whether dir holds the noVNC client; 0, or -1 with why in err. */
int broker_web_check(const char *dir, char *err, size_t errlen);
/* Runs until SIGINT/SIGTERM. Returns 0, or 1 after printing why it could not start. */
int broker_run(const struct broker_config *cfg);

#endif
