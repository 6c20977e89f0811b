/* display-link.c: the VMM's end of the display channel (`vmm --display PATH`): a thread that
 * connects to the broker (again, with backoff, whenever it goes away), forwards the GPU's
 * modes, damage and cursor, and applies the broker's display requests. Not the broker; no
 * vCPU ever waits on this socket: the GPU's listener only records state and wakes the thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli.h"
#include "hd-channel.h"
#include "hd-common.h"
#include "hv.h"
#include "keymap.h"
#include "vgpu.h"

#define TAG		"display-link"
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	2000
/* A frame not acknowledged within this time is given up on (the broker may be stuck); the
 * next damage goes out anyway, at most this often. */
#define ACK_TIMEOUT_NS	(1000ull * 1000 * 1000)

/* evdev numbers (linux/input-event-codes.h) the link emits. */
#define EV_SYN	   0x00
#define EV_KEY	   0x01
#define EV_REL	   0x02
#define EV_ABS	   0x03
#define SYN_REPORT 0
#define ABS_X	   0x00
#define ABS_Y	   0x01
#define REL_WHEEL  0x08
#define BTN_LEFT   0x110
#define BTN_RIGHT  0x111
#define BTN_MIDDLE 0x112
/* RFB's pointer button mask (RFC 6143 §7.5.5), which the channel carries as is. */
#define RFB_BUTTON_LEFT	      0x01u
#define RFB_BUTTON_MIDDLE     0x02u
#define RFB_BUTTON_RIGHT      0x04u
#define RFB_BUTTON_WHEEL_UP   0x08u
#define RFB_BUTTON_WHEEL_DOWN 0x10u
#define KEY_CODES 256

struct link_head {
	/* Written by the GPU's listener (vCPU threads) under link->lock. */
	int fd; /* our dup of the current framebuffer memfd, -1 without a scanout */
	uint32_t width, height, stride;
	uint64_t fb_size;
	uint64_t mode_serial; /* bumps on every mode callback */
	uint64_t frame;	      /* the latest flushed frame */
	bool cursor_dirty;
	/* The link thread's own. */
	uint64_t mode_sent;   /* mode_serial last sent, 0: none since connecting */
	uint64_t frame_sent;  /* frame number of the DAMAGE in flight, 0: none */
	uint64_t frame_sent_ns;
	uint64_t frame_reported; /* the frame number of the last DAMAGE sent */
	bool full_damage;     /* send the whole framebuffer next (after a (re)connect) */
	uint64_t cursor_serial_sent; /* image serial last sent, UINT64_MAX: none */
};

struct display_link {
	char *path;
	uint64_t vm_id;     /* said after HELLO (VMID) */
	bool arrived;       /* the VM came by live migration: the broker moves its sessions */
	atomic_bool moved;  /* the VM went elsewhere: the last BYE says so */
	struct vgpu *gpu;
	unsigned nr_heads;
	pthread_t thread;
	int wake_fd;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct link_head heads[VGPU_MAX_HEADS];
	int sock;
	bool hello_seen;
	/* Input: the link thread's own. */
	struct hv_input *keyboard, *tablet;
	uint32_t buttons;		 /* the tablet's RFB button mask as last sent */
	bool shift_added[KEY_CODES];	 /* a key pressed with a Shift we added for it */
	uint64_t input_dropped;		 /* unmapped keysyms, pointer events without a mode */
	struct vgpu_cursor_info cursor; /* 16 KiB: not on the stack */
};

static void wake(struct display_link *l)
{
	uint64_t one = 1;
	if (write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		hd_debug(TAG, "wake: %s", strerror(errno));
}

/* ---- the GPU's listener: vCPU threads, device lock held; only record and wake ---- */

static void on_frame(void *opaque, unsigned head, const struct vgpu_rect *damage,
		     unsigned nr_damage, uint64_t frame)
{
	struct display_link *l = opaque;
	if (head >= l->nr_heads)
		return;
	pthread_mutex_lock(&l->lock);
	l->heads[head].frame = frame;
	pthread_mutex_unlock(&l->lock);
	wake(l);
}

static void on_mode(void *opaque, unsigned head, uint32_t width, uint32_t height, uint32_t stride,
		    int fb_fd)
{
	struct display_link *l = opaque;
	if (head >= l->nr_heads)
		return;
	/* The device closes fb_fd when it replaces it: keep our own. */
	int fd = fb_fd >= 0 ? fcntl(fb_fd, F_DUPFD_CLOEXEC, 0) : -1;
	pthread_mutex_lock(&l->lock);
	struct link_head *h = &l->heads[head];
	if (h->fd >= 0)
		close(h->fd);
	if (fb_fd >= 0 && fd < 0)
		hd_warn(TAG, "head %u: cannot keep the framebuffer: %s", head, strerror(errno));
	h->fd = fd;
	h->width = fd >= 0 ? width : 0;
	h->height = fd >= 0 ? height : 0;
	h->stride = fd >= 0 ? stride : 0;
	h->fb_size = fd >= 0 ? ((uint64_t)stride * height + 4095) & ~4095ull : 0;
	h->mode_serial++;
	pthread_mutex_unlock(&l->lock);
	wake(l);
}

static void on_cursor(void *opaque, unsigned head, const struct vgpu_cursor_info *cursor)
{
	struct display_link *l = opaque;
	if (head >= l->nr_heads)
		return;
	pthread_mutex_lock(&l->lock);
	l->heads[head].cursor_dirty = true;
	pthread_mutex_unlock(&l->lock);
	wake(l);
}

/* ---- the link thread ---- */

static void disconnect(struct display_link *l, const char *why)
{
	if (l->sock < 0)
		return;
	if (why)
		hd_warn(TAG, "broker connection closed: %s", why);
	close(l->sock);
	l->sock = -1;
	l->hello_seen = false;
}

static bool send_msg(struct display_link *l, const struct hd_chan_msg *m, int fd)
{
	int r = hd_chan_send(l->sock, m, fd);
	if (r == 0)
		return true;
	if (r != -EAGAIN) {
		char why[96];
		snprintf(why, sizeof(why), "send: %s", strerror(-r));
		disconnect(l, why);
	}
	return false;
}

static void on_connected(struct display_link *l)
{
	struct hd_chan_msg m = {.type = HD_CHAN_HELLO};
	m.u.hello.version = HD_CHAN_VERSION;
	m.u.hello.role = HD_CHAN_ROLE_VMM;
	m.u.hello.heads = l->nr_heads;
	m.u.hello.pid = (uint32_t)getpid();
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "vmm-%d", (int)getpid());
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->nr_heads; i++) {
		l->heads[i].mode_sent = 0;
		l->heads[i].frame_sent = 0;
		l->heads[i].full_damage = true;
		l->heads[i].cursor_dirty = true;
	}
	pthread_mutex_unlock(&l->lock);
	struct hd_chan_msg id = {.type = HD_CHAN_VMID};
	id.u.vmid.id = l->vm_id;
	id.u.vmid.flags = l->arrived ? HD_CHAN_VMID_ARRIVED : 0;
	if (send_msg(l, &m, -1) && send_msg(l, &id, -1))
		hd_info(TAG, "connected to the broker at %s", l->path);
}

static void apply_key(struct display_link *l, uint32_t keysym, bool down)
{
	bool shifted;
	int code = keymap_from_keysym(keysym, &shifted);
	struct hv_input_event ev[4];
	unsigned n = 0;

	if (code <= 0 || code >= KEY_CODES) {
		l->input_dropped++;
		hd_debug(TAG, "keysym %#x has no key", keysym);
		return;
	}
	/* VNC sends the character ('A'); the guest expects keys. A client that did not press
	 * Shift itself for a shifted character gets one added around the key. */
	if (down && shifted && !l->shift_added[code]) {
		/* Whether the client holds Shift is not tracked per session; adding one when it
		 * already does is harmless (the guest sees Shift held either way). */
		ev[n++] = (struct hv_input_event){EV_KEY, KEYMAP_KEY_LEFTSHIFT, 1};
		l->shift_added[code] = true;
	}
	ev[n++] = (struct hv_input_event){EV_KEY, (uint16_t)code, down ? 1 : 0};
	if (!down && l->shift_added[code]) {
		ev[n++] = (struct hv_input_event){EV_KEY, KEYMAP_KEY_LEFTSHIFT, 0};
		l->shift_added[code] = false;
	}
	ev[n++] = (struct hv_input_event){EV_SYN, SYN_REPORT, 0};
	hv_input_send(l->keyboard, ev, n);
}

/* A key by position (RDP): no Shift games, the client sends Shift as a key of its own. */
static void apply_scancode(struct display_link *l, uint32_t scancode, bool down)
{
	int code = keymap_from_scancode(scancode);
	if (code <= 0 || code >= KEY_CODES) {
		l->input_dropped++;
		hd_debug(TAG, "scancode %#x has no key", scancode);
		return;
	}
	struct hv_input_event ev[2] = {{EV_KEY, (uint16_t)code, down ? 1 : 0},
				       {EV_SYN, SYN_REPORT, 0}};
	hv_input_send(l->keyboard, ev, 2);
}

/* Scales a coordinate in [0, size) to the tablet's [0, HV_INPUT_ABS_MAX], rounding, so that
 * the guest's inverse (abs * (size - 1) / max, rounded) gives the pixel back. */
static int32_t to_abs(uint32_t v, uint32_t size)
{
	if (size <= 1)
		return 0;
	if (v > size - 1)
		v = size - 1;
	return (int32_t)(((uint64_t)v * HV_INPUT_ABS_MAX + (size - 1) / 2) / (size - 1));
}

static void apply_pointer(struct display_link *l, unsigned head, uint32_t x, uint32_t y,
			  uint32_t mask)
{
	static const struct {
		uint32_t bit;
		uint16_t code;
	} buttons[] = {{RFB_BUTTON_LEFT, BTN_LEFT},
		       {RFB_BUTTON_MIDDLE, BTN_MIDDLE},
		       {RFB_BUTTON_RIGHT, BTN_RIGHT}};
	struct hv_input_event ev[8];
	unsigned n = 0;

	pthread_mutex_lock(&l->lock);
	uint32_t w = l->heads[head].width, h = l->heads[head].height;
	pthread_mutex_unlock(&l->lock);
	if (!w || !h) {
		l->input_dropped++; /* no picture on that head: nothing to point at */
		return;
	}
	ev[n++] = (struct hv_input_event){EV_ABS, ABS_X, to_abs(x, w)};
	ev[n++] = (struct hv_input_event){EV_ABS, ABS_Y, to_abs(y, h)};
	for (size_t i = 0; i < sizeof(buttons) / sizeof(buttons[0]); i++)
		if ((mask ^ l->buttons) & buttons[i].bit)
			ev[n++] = (struct hv_input_event){EV_KEY, buttons[i].code,
							  (mask & buttons[i].bit) ? 1 : 0};
	/* RFB sends a wheel notch as a press and a release of its button: count presses. */
	uint32_t pressed = mask & ~l->buttons;
	if (pressed & RFB_BUTTON_WHEEL_UP)
		ev[n++] = (struct hv_input_event){EV_REL, REL_WHEEL, 1};
	if (pressed & RFB_BUTTON_WHEEL_DOWN)
		ev[n++] = (struct hv_input_event){EV_REL, REL_WHEEL, -1};
	ev[n++] = (struct hv_input_event){EV_SYN, SYN_REPORT, 0};
	l->buttons = mask;
	hv_input_send(l->tablet, ev, n);
}

static void apply_input(struct display_link *l, const struct hd_chan_msg *m)
{
	/* The codec checked kind, head and ranges. */
	if (m->u.input.kind == HD_CHAN_INPUT_KEY)
		apply_key(l, m->u.input.a, m->u.input.b != 0);
	else if (m->u.input.kind == HD_CHAN_INPUT_SCANCODE)
		apply_scancode(l, m->u.input.a, m->u.input.b != 0);
	else if (m->u.input.kind == HD_CHAN_INPUT_POINTER)
		apply_pointer(l, m->u.input.head, m->u.input.a, m->u.input.b, m->u.input.c);
}

static void handle_packet(struct display_link *l, const uint8_t *buf, size_t len, int fd)
{
	struct hd_chan_msg m;
	char err[128];
	if (hd_chan_decode(buf, len, fd >= 0, l->nr_heads, &m, err, sizeof(err)) < 0) {
		if (fd >= 0)
			close(fd);
		struct hd_chan_msg bye = {.type = HD_CHAN_BYE};
		bye.u.bye.code = 1;
		snprintf(bye.u.bye.text, sizeof(bye.u.bye.text), "protocol error: %.100s", err);
		hd_chan_send(l->sock, &bye, -1);
		disconnect(l, err);
		return;
	}
	if (!l->hello_seen && m.type != HD_CHAN_HELLO) {
		disconnect(l, "the broker spoke before its hello");
		return;
	}
	switch (m.type) {
	case HD_CHAN_HELLO:
		if (m.u.hello.version != HD_CHAN_VERSION || m.u.hello.role != HD_CHAN_ROLE_BROKER) {
			disconnect(l, "the broker speaks another version of the channel");
			return;
		}
		l->hello_seen = true;
		break;
	case HD_CHAN_DISPLAY: {
		int r = vgpu_display_set(l->gpu, m.u.display.head, m.u.display.width,
					 m.u.display.height, m.u.display.width_mm,
					 m.u.display.height_mm, m.u.display.depth);
		hd_info(TAG, "head %u: the broker asks for %ux%u at depth %u%s", m.u.display.head,
			m.u.display.width, m.u.display.height, m.u.display.depth,
			r < 0 ? " (refused)" : "");
		break;
	}
	case HD_CHAN_ACK: {
		struct link_head *h = &l->heads[m.u.ack.head];
		if (h->frame_sent && m.u.ack.frame >= h->frame_sent)
			h->frame_sent = 0;
		break;
	}
	case HD_CHAN_INPUT:
		apply_input(l, &m);
		break;
	case HD_CHAN_BYE:
		disconnect(l, m.u.bye.text[0] ? m.u.bye.text : "the broker said bye");
		break;
	default:
		disconnect(l, "the broker sent a message only a VMM sends");
		break;
	}
}

static void send_damage(struct display_link *l, unsigned i, uint32_t w, uint32_t ht,
			uint64_t frame)
{
	struct link_head *h = &l->heads[i];
	struct hd_chan_msg m = {.type = HD_CHAN_DAMAGE};
	struct vgpu_rect r[HD_CHAN_MAX_RECTS];
	/* Always take what the device holds, so damage does not pile up there. */
	unsigned n = vgpu_head_take_damage(l->gpu, i, r, HD_CHAN_MAX_RECTS);
	m.u.damage.head = i;
	m.u.damage.frame = frame;
	if (h->full_damage || n == HD_CHAN_MAX_RECTS) {
		/* After a (re)connect, or more pieces than a message holds: all of it. */
		m.u.damage.nr_rects = 1;
		m.u.damage.rects[0] = (struct hd_chan_rect){0, 0, w, ht};
		while (n == HD_CHAN_MAX_RECTS)
			n = vgpu_head_take_damage(l->gpu, i, r, HD_CHAN_MAX_RECTS);
	} else {
		for (unsigned k = 0; k < n; k++) {
			/* The device's damage is in framebuffer coordinates; clip to the mode
			 * we announced in case a new one raced in. */
			uint32_t x = r[k].x < w ? r[k].x : w, y = r[k].y < ht ? r[k].y : ht;
			uint32_t rw = r[k].width < w - x ? r[k].width : w - x;
			uint32_t rh = r[k].height < ht - y ? r[k].height : ht - y;
			if (rw && rh)
				m.u.damage.rects[m.u.damage.nr_rects++] =
					(struct hd_chan_rect){x, y, rw, rh};
		}
	}
	if (!send_msg(l, &m, -1))
		return; /* what was taken is lost: the next one goes out whole */
	h->full_damage = false;
	h->frame_reported = frame;
	h->frame_sent = frame ? frame : 1;
	h->frame_sent_ns = hd_now_ns();
}

static void send_cursor(struct display_link *l, unsigned i)
{
	struct link_head *h = &l->heads[i];
	if (vgpu_head_cursor(l->gpu, i, &l->cursor) < 0)
		return;
	struct hd_chan_msg m = {.type = HD_CHAN_CURSOR};
	m.u.cursor.head = i;
	m.u.cursor.flags = l->cursor.visible ? HD_CHAN_CURSOR_VISIBLE : 0;
	m.u.cursor.x = l->cursor.x;
	m.u.cursor.y = l->cursor.y;
	m.u.cursor.hot_x = l->cursor.hot_x;
	m.u.cursor.hot_y = l->cursor.hot_y;
	m.u.cursor.serial = l->cursor.serial;
	bool image = l->cursor.visible && l->cursor.serial != h->cursor_serial_sent;
	if (image) {
		m.u.cursor.flags |= HD_CHAN_CURSOR_IMAGE;
		m.u.cursor.image = l->cursor.image;
	}
	if (send_msg(l, &m, -1)) {
		if (image)
			h->cursor_serial_sent = l->cursor.serial;
	} else if (l->sock >= 0) {
		pthread_mutex_lock(&l->lock);
		h->cursor_dirty = true; /* the socket is full: again later */
		pthread_mutex_unlock(&l->lock);
	}
}

/* Sends what changed, as far as the socket takes it; what does not fit stays pending. */
static void flush_state(struct display_link *l)
{
	for (unsigned i = 0; i < l->nr_heads && l->sock >= 0; i++) {
		struct link_head *h = &l->heads[i];
		struct hd_chan_msg m = {.type = HD_CHAN_MODE};
		pthread_mutex_lock(&l->lock);
		if (!h->mode_sent || (h->mode_serial && h->mode_sent != h->mode_serial)) {
			m.u.mode.head = i;
			m.u.mode.width = h->width;
			m.u.mode.height = h->height;
			m.u.mode.stride = h->stride;
			m.u.mode.format = h->fd >= 0 ? HD_CHAN_FORMAT_XRGB8888 : 0;
			m.u.mode.fb_size = h->fb_size;
			/* A serial of 0 (no mode yet) is sent once as "no scanout". */
			if (send_msg(l, &m, h->fd)) {
				h->mode_sent = h->mode_serial ? h->mode_serial : UINT64_MAX;
				h->full_damage = true;
				h->frame_sent = 0;
				h->cursor_serial_sent = UINT64_MAX;
			}
		}
		bool active = h->fd >= 0 && h->mode_sent == h->mode_serial;
		uint32_t w = h->width, ht = h->height;
		uint64_t frame = h->frame;
		bool cursor = h->cursor_dirty;
		h->cursor_dirty = false;
		pthread_mutex_unlock(&l->lock);
		if (l->sock < 0 || !active)
			continue;
		if (h->frame_sent && hd_now_ns() - h->frame_sent_ns > ACK_TIMEOUT_NS)
			h->frame_sent = 0;
		if (!h->frame_sent && (h->full_damage || frame != h->frame_reported))
			send_damage(l, i, w, ht, frame);
		if (cursor && l->sock >= 0)
			send_cursor(l, i);
	}
}

static void read_socket(struct display_link *l)
{
	static _Thread_local uint8_t buf[HD_CHAN_MAX_PACKET];
	for (int budget = 64; budget > 0 && l->sock >= 0; budget--) {
		int fd;
		long n = hd_chan_recv(l->sock, buf, sizeof(buf), &fd);
		if (n == -EAGAIN)
			return;
		if (n == 0) {
			disconnect(l, "the broker went away");
			return;
		}
		if (n < 0) {
			char why[96];
			snprintf(why, sizeof(why), "receive: %s", strerror((int)-n));
			disconnect(l, why);
			return;
		}
		handle_packet(l, buf, (size_t)n, fd);
	}
}

/* Waits until the next ack timeout could matter, at most a second. */
static int poll_timeout_ms(struct display_link *l)
{
	for (unsigned i = 0; i < l->nr_heads; i++)
		if (l->heads[i].frame_sent)
			return 100;
	return 1000;
}

static void *link_thread(void *arg)
{
	struct display_link *l = arg;
	unsigned backoff = BACKOFF_MIN_MS;
	uint64_t next_try = 0;
	bool warned = false;

	while (!atomic_load(&l->stop)) {
		if (l->sock < 0 && hd_now_ns() >= next_try) {
			int s = hd_chan_connect(l->path);
			if (s >= 0) {
				l->sock = s;
				backoff = BACKOFF_MIN_MS;
				warned = false;
				on_connected(l);
			} else {
				if (!warned)
					hd_info(TAG, "no broker at %s yet (%s); retrying", l->path,
						strerror(-s));
				warned = true;
				next_try = hd_now_ns() + (uint64_t)backoff * 1000000;
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			}
		}
		if (l->sock >= 0 && l->hello_seen)
			flush_state(l);
		struct pollfd p[2] = {{.fd = l->wake_fd, .events = POLLIN},
				      {.fd = l->sock, .events = POLLIN}};
		int timeout = l->sock >= 0 ? poll_timeout_ms(l) : (int)backoff;
		if (poll(p, l->sock >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(l->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				hd_debug(TAG, "wake read: %s", strerror(errno));
		}
		if (l->sock >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_socket(l);
	}
	if (l->sock >= 0) {
		struct hd_chan_msg bye = {.type = HD_CHAN_BYE};
		bool moved = atomic_load(&l->moved);
		bye.u.bye.code = moved ? HD_CHAN_BYE_MOVED : HD_CHAN_BYE_NORMAL;
		snprintf(bye.u.bye.text, sizeof(bye.u.bye.text),
			 moved ? "the VM moved to another VMM" : "the VM stopped");
		hd_chan_send(l->sock, &bye, -1);
		disconnect(l, NULL);
	}
	return NULL;
}

int display_link_start(struct vgpu *gpu, struct hv_input *keyboard, struct hv_input *tablet,
		       const char *path, uint64_t vm_id, bool arrived, struct display_link **out)
{
	struct display_link *l = hd_xzalloc(sizeof(*l));
	l->vm_id = vm_id ? vm_id : 1;
	l->arrived = arrived;
	l->keyboard = keyboard;
	l->tablet = tablet;
	l->path = hd_xstrdup(path);
	l->gpu = gpu;
	l->nr_heads = vgpu_num_heads(gpu);
	l->sock = -1;
	pthread_mutex_init(&l->lock, NULL);
	for (unsigned i = 0; i < VGPU_MAX_HEADS; i++) {
		l->heads[i].fd = -1;
		l->heads[i].cursor_serial_sent = UINT64_MAX;
	}
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		int e = -errno;
		free(l->path);
		free(l);
		return e;
	}
	struct vgpu_listener listener = {
		.frame = on_frame, .mode = on_mode, .cursor = on_cursor, .opaque = l};
	vgpu_set_listener(gpu, &listener);
	/* Heads that already show something (a VM restored from a snapshot) are announced as if
	 * they had just changed mode. The link starts before the vCPUs run, so no guest can
	 * replace a framebuffer between vgpu_head_info and the dup in on_mode. */
	for (unsigned i = 0; i < l->nr_heads; i++) {
		struct vgpu_head_info info;
		if (vgpu_head_info(gpu, i, &info) == 0 && info.active && info.fb_fd >= 0) {
			on_mode(l, i, info.width, info.height, info.stride, info.fb_fd);
			on_frame(l, i, NULL, 0, info.frame);
		}
	}

	/* The thread takes no signals: SIGINT/SIGTERM belong to the VM's event loop. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&l->thread, NULL, link_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		vgpu_set_listener(gpu, NULL);
		close(l->wake_fd);
		free(l->path);
		free(l);
		return -r;
	}
	*out = l;
	return 0;
}

void display_link_moved(struct display_link *l)
{
	if (l)
		atomic_store(&l->moved, true);
}

void display_link_stop(struct display_link *l)
{
	if (!l)
		return;
	vgpu_set_listener(l->gpu, NULL);
	atomic_store(&l->stop, true);
	wake(l);
	pthread_join(l->thread, NULL);
	for (unsigned i = 0; i < VGPU_MAX_HEADS; i++)
		if (l->heads[i].fd >= 0)
			close(l->heads[i].fd);
	close(l->wake_fd);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l);
}
