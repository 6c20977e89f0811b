/* display-channel.c: the display channel's codec (docs/PROTOCOL.md §3) and its socket helpers:
 * one message a SOCK_SEQPACKET packet, little-endian, at most one fd each. Every packet is
 * hostile until decoded. Not what the VMM or the broker do with a message. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hd-channel.h"

/* Payload sizes (after the 8-byte header: u16 type, u16 zero, u32 packet length). */
#define SZ_HELLO   (24 + HD_CHAN_NAME_MAX)
#define SZ_MODE    40
#define SZ_DAMAGE  16 /* + 16 a rectangle */
#define SZ_RECT    16
#define SZ_CURSOR  32 /* + the image with HD_CHAN_CURSOR_IMAGE */
#define SZ_DISPLAY 24
#define SZ_INPUT   24
#define SZ_ACK     16
#define SZ_BYE     8 /* + the text */
#define SZ_VMID    16

_Static_assert(HD_CHAN_HDR_SIZE + SZ_CURSOR + HD_CHAN_CURSOR_BYTES <= HD_CHAN_MAX_PACKET,
	       "a cursor packet fits the largest packet");
_Static_assert(HD_CHAN_HDR_SIZE + SZ_DAMAGE + SZ_RECT * HD_CHAN_MAX_RECTS <= HD_CHAN_MAX_PACKET,
	       "a damage packet fits the largest packet");

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

const char *hd_chan_type_name(uint32_t type)
{
	static const char *const names[] = {
		[HD_CHAN_HELLO] = "hello",     [HD_CHAN_MODE] = "mode",   [HD_CHAN_DAMAGE] = "damage",
		[HD_CHAN_CURSOR] = "cursor",   [HD_CHAN_DISPLAY] = "display",
		[HD_CHAN_INPUT] = "input",     [HD_CHAN_ACK] = "ack",     [HD_CHAN_BYE] = "bye",
		[HD_CHAN_VMID] = "vmid",
	};
	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "unknown";
}

bool hd_chan_wants_fd(const struct hd_chan_msg *m)
{
	return m->type == HD_CHAN_MODE && m->u.mode.width != 0;
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

size_t hd_chan_encode(const struct hd_chan_msg *m, uint8_t *buf, size_t cap)
{
	size_t len;
	uint8_t *p = buf + HD_CHAN_HDR_SIZE;

	switch (m->type) {
	case HD_CHAN_HELLO:
		len = SZ_HELLO;
		break;
	case HD_CHAN_MODE:
		len = SZ_MODE;
		break;
	case HD_CHAN_DAMAGE:
		if (m->u.damage.nr_rects > HD_CHAN_MAX_RECTS)
			return 0;
		len = SZ_DAMAGE + SZ_RECT * (size_t)m->u.damage.nr_rects;
		break;
	case HD_CHAN_CURSOR:
		len = SZ_CURSOR;
		if (m->u.cursor.flags & HD_CHAN_CURSOR_IMAGE) {
			if (!m->u.cursor.image)
				return 0;
			len += HD_CHAN_CURSOR_BYTES;
		}
		break;
	case HD_CHAN_DISPLAY:
		len = SZ_DISPLAY;
		break;
	case HD_CHAN_INPUT:
		len = SZ_INPUT;
		break;
	case HD_CHAN_ACK:
		len = SZ_ACK;
		break;
	case HD_CHAN_BYE:
		len = SZ_BYE + strnlen(m->u.bye.text, HD_CHAN_BYE_MAX);
		break;
	case HD_CHAN_VMID:
		len = SZ_VMID;
		break;
	default:
		return 0;
	}
	len += HD_CHAN_HDR_SIZE;
	if (len > cap)
		return 0;
	memset(buf, 0, len);
	put16(buf, (uint16_t)m->type);
	put32(buf + 4, (uint32_t)len);

	switch (m->type) {
	case HD_CHAN_HELLO:
		put32(p, HD_CHAN_MAGIC);
		put32(p + 4, m->u.hello.version);
		put32(p + 8, m->u.hello.role);
		put32(p + 12, m->u.hello.heads);
		put32(p + 16, m->u.hello.pid);
		memcpy(p + 24, m->u.hello.name, strnlen(m->u.hello.name, HD_CHAN_NAME_MAX));
		break;
	case HD_CHAN_MODE:
		put32(p, m->u.mode.head);
		put32(p + 4, m->u.mode.width);
		put32(p + 8, m->u.mode.height);
		put32(p + 12, m->u.mode.stride);
		put32(p + 16, m->u.mode.format);
		put32(p + 20, m->u.mode.width_mm);
		put32(p + 24, m->u.mode.height_mm);
		put64(p + 32, m->u.mode.fb_size);
		break;
	case HD_CHAN_DAMAGE:
		put32(p, m->u.damage.head);
		put32(p + 4, m->u.damage.nr_rects);
		put64(p + 8, m->u.damage.frame);
		for (uint32_t i = 0; i < m->u.damage.nr_rects; i++) {
			uint8_t *r = p + SZ_DAMAGE + SZ_RECT * i;
			put32(r, m->u.damage.rects[i].x);
			put32(r + 4, m->u.damage.rects[i].y);
			put32(r + 8, m->u.damage.rects[i].width);
			put32(r + 12, m->u.damage.rects[i].height);
		}
		break;
	case HD_CHAN_CURSOR:
		put32(p, m->u.cursor.head);
		put32(p + 4, m->u.cursor.flags);
		put32(p + 8, (uint32_t)m->u.cursor.x);
		put32(p + 12, (uint32_t)m->u.cursor.y);
		put32(p + 16, m->u.cursor.hot_x);
		put32(p + 20, m->u.cursor.hot_y);
		put64(p + 24, m->u.cursor.serial);
		if (m->u.cursor.flags & HD_CHAN_CURSOR_IMAGE)
			memcpy(p + SZ_CURSOR, m->u.cursor.image, HD_CHAN_CURSOR_BYTES);
		break;
	case HD_CHAN_DISPLAY:
		put32(p, m->u.display.head);
		put32(p + 4, m->u.display.width);
		put32(p + 8, m->u.display.height);
		put32(p + 12, m->u.display.width_mm);
		put32(p + 16, m->u.display.height_mm);
		put32(p + 20, m->u.display.depth);
		break;
	case HD_CHAN_INPUT:
		put32(p, m->u.input.head);
		put32(p + 4, m->u.input.kind);
		put32(p + 8, m->u.input.a);
		put32(p + 12, m->u.input.b);
		put32(p + 16, m->u.input.c);
		break;
	case HD_CHAN_ACK:
		put32(p, m->u.ack.head);
		put64(p + 8, m->u.ack.frame);
		break;
	case HD_CHAN_BYE: {
		size_t n = len - HD_CHAN_HDR_SIZE - SZ_BYE;
		put32(p, m->u.bye.code);
		put32(p + 4, (uint32_t)n);
		memcpy(p + SZ_BYE, m->u.bye.text, n);
		break;
	}
	case HD_CHAN_VMID:
		put64(p, m->u.vmid.id);
		put32(p + 8, m->u.vmid.flags);
		break;
	}
	return len;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						       ...)
{
	if (errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

static bool dim_ok(uint32_t v)
{
	return v >= HD_CHAN_MIN_DIM && v <= HD_CHAN_MAX_DIM;
}

int hd_chan_decode(const uint8_t *buf, size_t len, unsigned nr_fds, unsigned max_heads,
		   struct hd_chan_msg *m, char *err, size_t errlen)
{
	if (len < HD_CHAN_HDR_SIZE)
		return fail(err, errlen, "packet of %zu bytes is shorter than a header", len);
	uint32_t type = get16(buf), plen = get32(buf + 4);
	if (get16(buf + 2) != 0)
		return fail(err, errlen, "reserved header bits set");
	if (plen != len)
		return fail(err, errlen, "header says %u bytes, packet has %zu", plen, len);
	if (max_heads > HD_CHAN_MAX_HEADS)
		max_heads = HD_CHAN_MAX_HEADS;
	const uint8_t *p = buf + HD_CHAN_HDR_SIZE;
	size_t n = len - HD_CHAN_HDR_SIZE;
	const char *name = hd_chan_type_name(type);

	memset(m, 0, sizeof(*m));
	m->type = (enum hd_chan_type)type;
	switch (type) {
	case HD_CHAN_HELLO:
		if (n != SZ_HELLO)
			goto bad_size;
		if (get32(p) != HD_CHAN_MAGIC)
			return fail(err, errlen, "hello without the channel's magic");
		m->u.hello.version = get32(p + 4);
		m->u.hello.role = get32(p + 8);
		m->u.hello.heads = get32(p + 12);
		m->u.hello.pid = get32(p + 16);
		memcpy(m->u.hello.name, p + 24, HD_CHAN_NAME_MAX);
		m->u.hello.name[HD_CHAN_NAME_MAX] = 0;
		if (m->u.hello.role != HD_CHAN_ROLE_VMM && m->u.hello.role != HD_CHAN_ROLE_BROKER)
			return fail(err, errlen, "hello with unknown role %u", m->u.hello.role);
		if (m->u.hello.role == HD_CHAN_ROLE_VMM &&
		    (m->u.hello.heads < 1 || m->u.hello.heads > HD_CHAN_MAX_HEADS))
			return fail(err, errlen, "hello with %u heads", m->u.hello.heads);
		if (!printable(m->u.hello.name, HD_CHAN_NAME_MAX))
			return fail(err, errlen, "hello with a name that is not printable ASCII");
		break;
	case HD_CHAN_MODE:
		if (n != SZ_MODE)
			goto bad_size;
		m->u.mode.head = get32(p);
		m->u.mode.width = get32(p + 4);
		m->u.mode.height = get32(p + 8);
		m->u.mode.stride = get32(p + 12);
		m->u.mode.format = get32(p + 16);
		m->u.mode.width_mm = get32(p + 20);
		m->u.mode.height_mm = get32(p + 24);
		m->u.mode.fb_size = get64(p + 32);
		if (m->u.mode.head >= max_heads)
			return fail(err, errlen, "mode for head %u of %u", m->u.mode.head, max_heads);
		if (m->u.mode.width == 0 && m->u.mode.height == 0) {
			if (m->u.mode.stride || m->u.mode.fb_size)
				return fail(err, errlen, "disabled mode with a framebuffer");
			break;
		}
		if (m->u.mode.width > HD_CHAN_MAX_DIM || m->u.mode.height > HD_CHAN_MAX_DIM ||
		    !m->u.mode.width || !m->u.mode.height)
			return fail(err, errlen, "mode %ux%u out of range", m->u.mode.width,
				    m->u.mode.height);
		if (m->u.mode.format != HD_CHAN_FORMAT_XRGB8888)
			return fail(err, errlen, "mode with unknown format %u", m->u.mode.format);
		/* width <= 16384, so width * 4 and stride * height stay far below 2^64. */
		if (m->u.mode.stride < m->u.mode.width * 4u || m->u.mode.stride % 4)
			return fail(err, errlen, "stride %u too small for width %u",
				    m->u.mode.stride, m->u.mode.width);
		if ((uint64_t)m->u.mode.stride * m->u.mode.height > m->u.mode.fb_size ||
		    m->u.mode.fb_size > HD_CHAN_MAX_FB_BYTES)
			return fail(err, errlen, "framebuffer of %llu bytes does not fit %ux%u",
				    (unsigned long long)m->u.mode.fb_size, m->u.mode.width,
				    m->u.mode.height);
		break;
	case HD_CHAN_DAMAGE:
		if (n < SZ_DAMAGE)
			goto bad_size;
		m->u.damage.head = get32(p);
		m->u.damage.nr_rects = get32(p + 4);
		m->u.damage.frame = get64(p + 8);
		if (m->u.damage.nr_rects > HD_CHAN_MAX_RECTS)
			return fail(err, errlen, "damage with %u rectangles", m->u.damage.nr_rects);
		if (n != SZ_DAMAGE + SZ_RECT * (size_t)m->u.damage.nr_rects)
			goto bad_size;
		if (m->u.damage.head >= max_heads)
			return fail(err, errlen, "damage for head %u of %u", m->u.damage.head,
				    max_heads);
		for (uint32_t i = 0; i < m->u.damage.nr_rects; i++) {
			const uint8_t *r = p + SZ_DAMAGE + SZ_RECT * i;
			struct hd_chan_rect *d = &m->u.damage.rects[i];
			d->x = get32(r);
			d->y = get32(r + 4);
			d->width = get32(r + 8);
			d->height = get32(r + 12);
			if ((uint64_t)d->x + d->width > HD_CHAN_MAX_DIM ||
			    (uint64_t)d->y + d->height > HD_CHAN_MAX_DIM)
				return fail(err, errlen, "damage rectangle out of range");
		}
		break;
	case HD_CHAN_CURSOR:
		if (n < SZ_CURSOR)
			goto bad_size;
		m->u.cursor.head = get32(p);
		m->u.cursor.flags = get32(p + 4);
		m->u.cursor.x = (int32_t)get32(p + 8);
		m->u.cursor.y = (int32_t)get32(p + 12);
		m->u.cursor.hot_x = get32(p + 16);
		m->u.cursor.hot_y = get32(p + 20);
		m->u.cursor.serial = get64(p + 24);
		if (m->u.cursor.flags & ~(HD_CHAN_CURSOR_VISIBLE | HD_CHAN_CURSOR_IMAGE))
			return fail(err, errlen, "cursor with unknown flags 0x%x", m->u.cursor.flags);
		if (n != (size_t)SZ_CURSOR +
				 (m->u.cursor.flags & HD_CHAN_CURSOR_IMAGE ? HD_CHAN_CURSOR_BYTES : 0u))
			goto bad_size;
		if (m->u.cursor.head >= max_heads)
			return fail(err, errlen, "cursor for head %u of %u", m->u.cursor.head,
				    max_heads);
		if (m->u.cursor.hot_x >= HD_CHAN_CURSOR_SIZE || m->u.cursor.hot_y >= HD_CHAN_CURSOR_SIZE)
			return fail(err, errlen, "cursor hot spot outside the image");
		if (m->u.cursor.x < -HD_CHAN_MAX_DIM || m->u.cursor.x > 2 * HD_CHAN_MAX_DIM ||
		    m->u.cursor.y < -HD_CHAN_MAX_DIM || m->u.cursor.y > 2 * HD_CHAN_MAX_DIM)
			return fail(err, errlen, "cursor position out of range");
		if (m->u.cursor.flags & HD_CHAN_CURSOR_IMAGE)
			m->u.cursor.image = p + SZ_CURSOR;
		break;
	case HD_CHAN_DISPLAY:
		if (n != SZ_DISPLAY)
			goto bad_size;
		m->u.display.head = get32(p);
		m->u.display.width = get32(p + 4);
		m->u.display.height = get32(p + 8);
		m->u.display.width_mm = get32(p + 12);
		m->u.display.height_mm = get32(p + 16);
		m->u.display.depth = get32(p + 20);
		if (m->u.display.head >= max_heads)
			return fail(err, errlen, "display request for head %u of %u",
				    m->u.display.head, max_heads);
		if (!(m->u.display.width == 0 && m->u.display.height == 0) &&
		    (!dim_ok(m->u.display.width) || !dim_ok(m->u.display.height)))
			return fail(err, errlen, "display request %ux%u out of range",
				    m->u.display.width, m->u.display.height);
		if (m->u.display.width_mm > 100000 || m->u.display.height_mm > 100000)
			return fail(err, errlen, "display request with a %ux%u mm screen",
				    m->u.display.width_mm, m->u.display.height_mm);
		if (!hd_chan_depth_ok(m->u.display.depth))
			return fail(err, errlen, "display request at %u bits a pixel",
				    m->u.display.depth);
		break;
	case HD_CHAN_INPUT:
		if (n != SZ_INPUT)
			goto bad_size;
		m->u.input.head = get32(p);
		m->u.input.kind = get32(p + 4);
		m->u.input.a = get32(p + 8);
		m->u.input.b = get32(p + 12);
		m->u.input.c = get32(p + 16);
		if (m->u.input.head >= max_heads)
			return fail(err, errlen, "input for head %u of %u", m->u.input.head,
				    max_heads);
		if (m->u.input.kind == HD_CHAN_INPUT_KEY ||
		    m->u.input.kind == HD_CHAN_INPUT_SCANCODE) {
			if (m->u.input.b > 1 || m->u.input.c ||
			    (m->u.input.kind == HD_CHAN_INPUT_SCANCODE &&
			     (m->u.input.a > HD_CHAN_SCANCODE_MAX ||
			      (m->u.input.a > 0x7f && (m->u.input.a >> 8) != 0xe0))))
				return fail(err, errlen, "key event with bad fields");
		} else if (m->u.input.kind == HD_CHAN_INPUT_POINTER) {
			if (m->u.input.a >= HD_CHAN_MAX_DIM || m->u.input.b >= HD_CHAN_MAX_DIM ||
			    m->u.input.c > 0xff)
				return fail(err, errlen, "pointer event out of range");
		} else {
			return fail(err, errlen, "input of unknown kind %u", m->u.input.kind);
		}
		break;
	case HD_CHAN_ACK:
		if (n != SZ_ACK)
			goto bad_size;
		m->u.ack.head = get32(p);
		m->u.ack.frame = get64(p + 8);
		if (m->u.ack.head >= max_heads)
			return fail(err, errlen, "ack for head %u of %u", m->u.ack.head, max_heads);
		break;
	case HD_CHAN_BYE: {
		if (n < SZ_BYE)
			goto bad_size;
		uint32_t tl = get32(p + 4);
		if (tl > HD_CHAN_BYE_MAX || n != SZ_BYE + (size_t)tl)
			goto bad_size;
		m->u.bye.code = get32(p);
		memcpy(m->u.bye.text, p + SZ_BYE, tl);
		m->u.bye.text[tl] = 0;
		if (strlen(m->u.bye.text) != tl || !printable(m->u.bye.text, tl))
			return fail(err, errlen, "bye with a text that is not printable ASCII");
		break;
	}
	case HD_CHAN_VMID:
		if (n != SZ_VMID)
			goto bad_size;
		m->u.vmid.id = get64(p);
		m->u.vmid.flags = get32(p + 8);
		if (!m->u.vmid.id || (m->u.vmid.flags & ~HD_CHAN_VMID_ARRIVED) || get32(p + 12))
			return fail(err, errlen, "vmid with id 0 or unknown flags");
		break;
	default:
		return fail(err, errlen, "unknown message type %u", type);
	}
	if (nr_fds != (hd_chan_wants_fd(m) ? 1u : 0u))
		return fail(err, errlen, "%s message with %u file descriptors", name, nr_fds);
	return 0;
bad_size:
	return fail(err, errlen, "%s message of %zu bytes has the wrong size", name, n);
}

int hd_chan_send(int sock, const struct hd_chan_msg *m, int fd)
{
	uint8_t buf[HD_CHAN_MAX_PACKET];
	size_t len = hd_chan_encode(m, buf, sizeof(buf));
	if (!len)
		return -EINVAL;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t r = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == (ssize_t)len)
			return 0;
		if (r >= 0)
			return -EIO; /* a seqpacket socket sends all or nothing */
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

#define RECV_MAX_FDS 8

long hd_chan_recv(int sock, uint8_t *buf, size_t cap, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t r;

	*fd = -1;
	do
		r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	int nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				*fd = f;
			else
				close(f);
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EMSGSIZE;
	}
	return (long)r;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int hd_chan_connect(const char *path)
{
	struct sockaddr_un sa;
	int r = fill_addr(&sa, path);
	if (r < 0)
		return r;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(s);
		return r;
	}
	return s;
}

int hd_chan_listen(const char *path)
{
	struct sockaddr_un sa;
	int r = fill_addr(&sa, path);
	if (r < 0)
		return r;
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		int probe = hd_chan_connect(path);
		if (probe >= 0) {
			close(probe);
			return -EADDRINUSE;
		}
		unlink(path); /* a stale socket of a broker that died */
	}
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0) {
		r = -errno;
		close(s);
		return r;
	}
	chmod(path, 0600);
	return s;
}
