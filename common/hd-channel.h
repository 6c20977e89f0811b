/* hd-channel.h: the display channel between `hyperdesk broker` and each `hyperdesk vmm`
 * (docs/PROTOCOL.md §3): its wire format, a bounds-checked codec and the socket helpers that
 * carry one message (and at most one file descriptor) per SOCK_SEQPACKET packet. Not the
 * policy of either side: what a message means to the VMM or the broker lives with them. */
#ifndef HD_CHANNEL_H
#define HD_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HD_CHAN_MAGIC	0x43444448u /* "HDDC" little-endian */
#define HD_CHAN_VERSION 1
#define HD_CHAN_MAX_HEADS 16
#define HD_CHAN_MAX_DIM	  16384 /* a mode or a display request, each way */
#define HD_CHAN_MIN_DIM	  16
#define HD_CHAN_MAX_RECTS 64
#define HD_CHAN_CURSOR_SIZE 64 /* cursor images are this many pixels square, ARGB8888 */
#define HD_CHAN_CURSOR_BYTES (HD_CHAN_CURSOR_SIZE * HD_CHAN_CURSOR_SIZE * 4)
#define HD_CHAN_NAME_MAX  64 /* a HELLO's name field, NUL-padded */
#define HD_CHAN_BYE_MAX	  120
#define HD_CHAN_MAX_FB_BYTES (1ull << 30)
/* The largest packet: a header and a cursor with its image. */
#define HD_CHAN_HDR_SIZE 8
#define HD_CHAN_MAX_PACKET (HD_CHAN_HDR_SIZE + 32 + HD_CHAN_CURSOR_BYTES)

enum hd_chan_type {
	HD_CHAN_HELLO = 1,   /* both ways, first */
	HD_CHAN_MODE = 2,    /* vmm -> broker, carries the framebuffer memfd when enabled */
	HD_CHAN_DAMAGE = 3,  /* vmm -> broker */
	HD_CHAN_CURSOR = 4,  /* vmm -> broker */
	HD_CHAN_DISPLAY = 5, /* broker -> vmm: a session's shape for a head */
	HD_CHAN_INPUT = 6,   /* broker -> vmm */
	HD_CHAN_ACK = 7,     /* broker -> vmm: frames up to this one are consumed */
	HD_CHAN_BYE = 8,     /* both ways, last */
	HD_CHAN_VMID = 9,    /* vmm -> broker, after HELLO: the VM's identity across migrations */
};

/* VMID flags. */
#define HD_CHAN_VMID_ARRIVED 1u /* this VM came by live migration: it takes over the sessions
				 * of an earlier VM with the same id */
/* BYE codes. */
#define HD_CHAN_BYE_NORMAL   0u
#define HD_CHAN_BYE_PROTOCOL 1u
#define HD_CHAN_BYE_MOVED    2u /* the VM moved to another VMM: keep its sessions a while */

enum hd_chan_role {
	HD_CHAN_ROLE_VMM = 1,
	HD_CHAN_ROLE_BROKER = 2,
};

#define HD_CHAN_FORMAT_XRGB8888 1 /* bytes B, G, R, X */

enum hd_chan_input_kind {
	HD_CHAN_INPUT_KEY = 1,	   /* a = X11 keysym, b = 1 down / 0 up */
	HD_CHAN_INPUT_POINTER = 2, /* a = x, b = y in head pixels, c = RFB button mask */
	HD_CHAN_INPUT_SCANCODE = 3, /* a = PC scancode set 1 (0xe0xx: extended), b = 1 down */
};

/* The largest INPUT_SCANCODE code: 0xe0 prefix, 7-bit make code. */
#define HD_CHAN_SCANCODE_MAX 0xe07fu

#define HD_CHAN_CURSOR_VISIBLE 1u
#define HD_CHAN_CURSOR_IMAGE   2u /* an image follows */

struct hd_chan_rect {
	uint32_t x, y, width, height;
};

struct hd_chan_msg {
	enum hd_chan_type type;
	union {
		struct {
			uint32_t version;
			uint32_t role;
			uint32_t heads;
			uint32_t pid;
			char name[HD_CHAN_NAME_MAX + 1]; /* NUL-terminated, printable ASCII */
		} hello;
		struct {
			uint32_t head;
			uint32_t width, height, stride; /* 0 x 0: no scanout, no fd */
			uint32_t format;
			uint32_t width_mm, height_mm;
			uint64_t fb_size; /* bytes of the memfd the receiver may map */
		} mode;
		struct {
			uint32_t head;
			uint32_t nr_rects;
			uint64_t frame;
			struct hd_chan_rect rects[HD_CHAN_MAX_RECTS];
		} damage;
		struct {
			uint32_t head;
			uint32_t flags;
			int32_t x, y;
			uint32_t hot_x, hot_y;
			uint64_t serial;
			const uint8_t *image; /* decode: points into the packet; NULL without one */
		} cursor;
		struct {
			uint32_t head;
			uint32_t width, height; /* 0 x 0 disables the head */
			uint32_t width_mm, height_mm;
			uint32_t depth; /* the client's bits a pixel (8, 15, 16, 24, 32), 0: not known */
		} display;
		struct {
			uint32_t head;
			uint32_t kind;
			uint32_t a, b, c;
		} input;
		struct {
			uint32_t head;
			uint64_t frame;
		} ack;
		struct {
			uint32_t code;
			char text[HD_CHAN_BYE_MAX + 1];
		} bye;
		struct {
			uint64_t id; /* not 0 */
			uint32_t flags;
		} vmid;
	} u;
};

/* Writes m into buf (cap bytes). Returns the packet's length, or 0 if m is invalid or does
 * not fit. */
size_t hd_chan_encode(const struct hd_chan_msg *m, uint8_t *buf, size_t cap);
/* Parses one packet of len bytes that came with nr_fds descriptors. Every field is checked
 * (sizes, counts, ranges, heads below max_heads, an fd exactly where one belongs). Returns 0,
 * or -EPROTO with a one-line reason in err. */
int hd_chan_decode(const uint8_t *buf, size_t len, unsigned nr_fds, unsigned max_heads,
		   struct hd_chan_msg *m, char *err, size_t errlen);
/* Whether a decoded message of this kind carries a descriptor. */
bool hd_chan_wants_fd(const struct hd_chan_msg *m);
/* A DISPLAY depth the channel carries: 0 (not known) or a client's bits a pixel. */
static inline bool hd_chan_depth_ok(uint32_t depth)
{
	return depth == 0 || depth == 8 || depth == 15 || depth == 16 || depth == 24 ||
	       depth == 32;
}
/* The bits per colour a VM is told (its EDID) for a viewer of depth bits a pixel: 6 up to
 * 16 bits a pixel, else 8 (full colour, or not known). */
static inline uint32_t hd_chan_depth_bpc(uint32_t depth)
{
	return depth && depth <= 16 ? 6 : 8;
}
/* A readable name of a message type, for logs. */
const char *hd_chan_type_name(uint32_t type);

/* Encodes and sends m as one packet without blocking, passing fd along when fd >= 0.
 * Returns 0, -EAGAIN when the socket is full (nothing was sent), or -errno. */
int hd_chan_send(int sock, const struct hd_chan_msg *m, int fd);
/* Receives one packet into buf (at least HD_CHAN_MAX_PACKET bytes) without blocking. The
 * descriptor that came with it, if any, is stored in *fd (else -1); extra descriptors are
 * closed. Returns the packet length, 0 when the peer closed, -EAGAIN, -EMSGSIZE for an
 * over-long packet or too many descriptors (both dropped), or -errno. */
long hd_chan_recv(int sock, uint8_t *buf, size_t cap, int *fd);

/* A connected or listening channel socket (SOCK_SEQPACKET, close-on-exec, non-blocking).
 * Return the fd or -errno. */
int hd_chan_connect(const char *path);
/* Listens on path, replacing a stale socket of a dead broker; refuses a live one (-EADDRINUSE)
 * and any other kind of file (-EEXIST). */
int hd_chan_listen(const char *path);

#endif
