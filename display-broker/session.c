/* session.c: one VNC client session on a thread of its own, with an rfbScreenInfo of its own
 * (libvncserver resizes every client of a screen together, and sessions have shapes of their
 * own): copies its head's damage from the VM's framebuffer, resizes when the head's mode
 * changes, turns SetDesktopSize into the session's wanted shape, and forwards input. Not the
 * listener or the policy (broker.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "broker-internal.h"

#define TAG "session"
#define POLL_US 5000 /* how long rfbProcessEvents waits before we look for new frames */
#define PLACEHOLDER_W 640
#define PLACEHOLDER_H 480
#define PLACEHOLDER_PIXEL 0x00202428u

/* What the session thread alone owns. */
struct session_local {
	struct broker *b;
	struct bk_session *s;
	rfbScreenInfoPtr screen;
	char *fb; /* the screen's framebuffer: our copy of the head's */
	uint32_t width, height;
	struct bk_fb *src; /* the VM framebuffer we copy from, or NULL (placeholder) */
	uint64_t mode_serial;
	uint64_t cursor_serial;
	bool attached;
};

static void vlog(const char *fmt, va_list ap, enum hd_log_level level)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = 0;
	if (n)
		hd_log(level, "vnc", "%s", line);
}

static void rfb_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap, HD_LOG_DEBUG);
	va_end(ap);
}

static void rfb_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap, HD_LOG_INFO);
	va_end(ap);
}

void session_log_init(void)
{
	rfbLog = rfb_log;
	rfbErr = rfb_err;
	/* A client that stops reading holds only its own session's thread, and not for long. */
	rfbMaxClientWait = 5000;
}

/* Our pixels are XRGB8888 little-endian: bytes B, G, R, X. rfbNewFramebuffer resets the
 * format to its own default, so this runs after each. */
static void set_format(rfbScreenInfoPtr screen)
{
	screen->serverFormat.redShift = 16;
	screen->serverFormat.greenShift = 8;
	screen->serverFormat.blueShift = 0;
	rfbClientIteratorPtr it = rfbGetClientIterator(screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it)))
		screen->setTranslateFunction(cl);
	rfbReleaseClientIterator(it);
}

static void copy_rect(struct session_local *l, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	const struct bk_fb *src = l->src;
	if (!src || src->width != l->width || src->height != l->height)
		return;
	if (x >= l->width || y >= l->height)
		return;
	w = w < l->width - x ? w : l->width - x;
	h = h < l->height - y ? h : l->height - y;
	for (uint32_t row = y; row < y + h; row++)
		memcpy(l->fb + ((size_t)row * l->width + x) * 4,
		       src->map + (size_t)row * src->stride + (size_t)x * 4, (size_t)w * 4);
	rfbMarkRectAsModified(l->screen, (int)x, (int)y, (int)(x + w), (int)(y + h));
}

/* Tells every client of the screen how the coming resize came about. */
static void set_resize_reason(rfbScreenInfoPtr screen, int reason, int error)
{
	rfbClientIteratorPtr it = rfbGetClientIterator(screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		LOCK(cl->updateMutex);
		cl->requestedDesktopSizeChange = reason;
		cl->lastDesktopSizeChangeError = error;
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
}

/* Answers a pending SetDesktopSize without a resize (the size stays; error says why). */
static void reply_now(rfbScreenInfoPtr screen, int error)
{
	rfbClientIteratorPtr it = rfbGetClientIterator(screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		LOCK(cl->updateMutex);
		cl->requestedDesktopSizeChange = rfbExtDesktopSize_ClientRequestedChange;
		cl->lastDesktopSizeChangeError = error;
		cl->newFBSizePending = TRUE;
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
}

/* Switches the screen to src's size (or the placeholder) and copies all of it. */
static bool resize(struct session_local *l, struct bk_fb *src, bool client_requested)
{
	uint32_t w = src ? src->width : PLACEHOLDER_W, h = src ? src->height : PLACEHOLDER_H;
	size_t bytes = (size_t)w * h * 4;
	char *fb = malloc(bytes);
	if (!fb) {
		hd_warn(TAG, "session %u: no memory for a %ux%u framebuffer", l->s->id, w, h);
		bk_fb_unref(src);
		return false;
	}
	if (src) {
		for (uint32_t row = 0; row < h; row++)
			memcpy(fb + (size_t)row * w * 4, src->map + (size_t)row * src->stride,
			       (size_t)w * 4);
	} else {
		for (size_t i = 0; i < (size_t)w * h; i++)
			memcpy(fb + i * 4, &(uint32_t){PLACEHOLDER_PIXEL}, 4);
	}
	bool size_changed = w != l->width || h != l->height;
	bk_fb_unref(l->src);
	l->src = src;
	if (size_changed || client_requested) {
		set_resize_reason(l->screen,
				  client_requested ? rfbExtDesktopSize_ClientRequestedChange
						   : rfbExtDesktopSize_OtherClientRequestedChange,
				  rfbExtDesktopSize_Success);
		rfbNewFramebuffer(l->screen, fb, (int)w, (int)h, 8, 3, 4);
		set_format(l->screen);
	} else {
		l->screen->frameBuffer = fb;
		rfbMarkRectAsModified(l->screen, 0, 0, (int)w, (int)h);
	}
	free(l->fb);
	l->fb = fb;
	l->width = w;
	l->height = h;
	return true;
}

/* A 64 x 64 ARGB image as libvncserver's rich cursor (our byte order), with a mask from its
 * alpha; an invisible cursor is the 1 x 1 empty one libvncserver sends as "none". */
static rfbCursorPtr make_cursor(bool visible, const uint8_t *argb, uint32_t hx, uint32_t hy)
{
	rfbCursorPtr c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	unsigned size = visible ? HD_CHAN_CURSOR_SIZE : 1, row_bytes = (size + 7) / 8;
	c->width = (unsigned short)size;
	c->height = (unsigned short)size;
	c->xhot = visible ? (unsigned short)hx : 0;
	c->yhot = visible ? (unsigned short)hy : 0;
	c->source = calloc(row_bytes, size);
	c->mask = calloc(row_bytes, size);
	c->richSource = calloc((size_t)size * size, 4);
	c->cleanup = c->cleanupSource = c->cleanupMask = c->cleanupRichSource = TRUE;
	c->foreRed = c->foreGreen = c->foreBlue = 0xffff;
	if (!c->source || !c->mask || !c->richSource) {
		rfbFreeCursor(c);
		return NULL;
	}
	if (visible) {
		memcpy(c->richSource, argb, HD_CHAN_CURSOR_BYTES);
		for (unsigned y = 0; y < size; y++)
			for (unsigned x = 0; x < size; x++) {
				const uint8_t *p = argb + ((size_t)y * size + x) * 4;
				if (p[3] < 0x80)
					continue;
				c->mask[y * row_bytes + x / 8] |= (unsigned char)(0x80 >> (x % 8));
				if (p[0] + p[1] + p[2] > 3 * 0x80)
					c->source[y * row_bytes + x / 8] |=
						(unsigned char)(0x80 >> (x % 8));
			}
	}
	return c;
}

/* Brings the screen up to date with the session's head. Returns false to end the session. */
static bool update(struct session_local *l)
{
	struct broker *b = l->b;
	struct bk_session *s = l->s;
	struct hd_chan_rect damage[SESSION_MAX_DAMAGE];
	unsigned nr_damage = 0;
	struct bk_fb *newfb = NULL;
	bool mode_changed = false, reply_ok_now = false, reply_timeout = false;
	bool client_requested = false;
	rfbCursorPtr cursor = NULL;
	int cursor_x = 0, cursor_y = 0;
	bool cursor_moved = false;
	uint64_t now = hd_now_ns();

	pthread_mutex_lock(&b->lock);
	if (s->closing) {
		pthread_mutex_unlock(&b->lock);
		return false;
	}
	broker_session_attach(b, s);
	struct bk_vm *vm = s->vm;
	if (vm) {
		struct bk_head *hd = &vm->heads[s->head];
		if (!l->attached || hd->mode_serial != l->mode_serial) {
			l->attached = true;
			l->mode_serial = hd->mode_serial;
			newfb = bk_fb_ref(hd->fb);
			mode_changed = true;
			s->nr_damage = 0;
			if (s->reply_pending && hd->fb && hd->fb->width == s->want_w &&
			    hd->fb->height == s->want_h) {
				client_requested = true;
				s->reply_pending = false;
			}
		} else {
			nr_damage = s->nr_damage;
			memcpy(damage, s->damage, nr_damage * sizeof(damage[0]));
			s->nr_damage = 0;
		}
		if (s->reply_pending && !mode_changed && hd->fb && hd->fb->width == s->want_w &&
		    hd->fb->height == s->want_h && l->width == s->want_w &&
		    l->height == s->want_h) {
			reply_ok_now = true; /* already that shape */
			s->reply_pending = false;
		}
		if (hd->cursor_serial != l->cursor_serial) {
			l->cursor_serial = hd->cursor_serial;
			cursor = make_cursor(hd->cursor_visible && hd->cursor_has_image,
					     hd->cursor_image, hd->hot_x, hd->hot_y);
			cursor_x = hd->cursor_x + (int)hd->hot_x;
			cursor_y = hd->cursor_y + (int)hd->hot_y;
			cursor_moved = true;
		}
	}
	if (s->reply_pending && now > s->reply_deadline) {
		reply_timeout = true;
		s->reply_pending = false;
	}
	pthread_mutex_unlock(&b->lock);

	if (mode_changed && !resize(l, newfb, client_requested))
		return false;
	for (unsigned i = 0; i < nr_damage; i++)
		copy_rect(l, damage[i].x, damage[i].y, damage[i].width, damage[i].height);
	if (reply_ok_now)
		reply_now(l->screen, rfbExtDesktopSize_Success);
	if (reply_timeout) {
		hd_info(TAG, "session %u: the guest did not switch to %ux%u in time", s->id,
			s->want_w, s->want_h);
		reply_now(l->screen, rfbExtDesktopSize_OutOfResources);
	}
	if (cursor)
		rfbSetCursor(l->screen, cursor);
	if (cursor_moved) {
		l->screen->cursorX = cursor_x < 0 ? 0 : cursor_x;
		l->screen->cursorY = cursor_y < 0 ? 0 : cursor_y;
		rfbClientIteratorPtr it = rfbGetClientIterator(l->screen);
		rfbClientPtr cl;
		while ((cl = rfbClientIteratorNext(it)))
			if (cl->enableCursorPosUpdates)
				cl->cursorWasMoved = TRUE;
		rfbReleaseClientIterator(it);
	}
	return true;
}

/* ---- libvncserver hooks (this session's thread) ---- */

static struct session_local *local_of(rfbClientPtr cl)
{
	return cl->screen->screenData;
}

/* libvncserver picks its pixel translation whenever the client's format may have changed
 * (SetPixelFormat, a new framebuffer): the client's depth is its format's (8 for a colour
 * map), and part of the session's shape. */
static rfbBool set_translate(rfbClientPtr cl)
{
	struct session_local *l = local_of(cl);
	rfbBool r = rfbSetTranslateFunction(cl);
	uint32_t depth = cl->format.trueColour ? cl->format.depth : 8;
	pthread_mutex_lock(&l->b->lock);
	broker_session_depth(l->s, depth);
	pthread_mutex_unlock(&l->b->lock);
	return r;
}

static int set_desktop_size(int width, int height, int nr_screens,
			    struct rfbExtDesktopScreen *screens, rfbClientPtr cl)
{
	struct session_local *l = local_of(cl);
	struct broker *b = l->b;
	if (b->cfg->policy == BROKER_POLICY_FIXED)
		return rfbExtDesktopSize_ResizeProhibited;
	if (width < BROKER_MIN_SHAPE || height < BROKER_MIN_SHAPE || nr_screens < 1)
		return rfbExtDesktopSize_InvalidScreenLayout;
	if (width > BROKER_MAX_SHAPE || height > BROKER_MAX_SHAPE)
		return rfbExtDesktopSize_OutOfResources;
	pthread_mutex_lock(&b->lock);
	struct bk_session *s = l->s;
	s->want_set = true;
	s->want_w = (uint32_t)width;
	s->want_h = (uint32_t)height;
	s->want_ns = hd_now_ns();
	s->reply_pending = true;
	s->reply_deadline = s->want_ns + SESSION_REPLY_TIMEOUT_NS;
	pthread_mutex_unlock(&b->lock);
	hd_info(TAG, "session %u: client asks for %dx%d", s->id, width, height);
	/* Success: the reply goes out with rfbNewFramebuffer, once the guest has switched. */
	return rfbExtDesktopSize_Success;
}

static void send_input(struct session_local *l, uint32_t kind, uint32_t a, uint32_t bb,
		       uint32_t c)
{
	broker_session_input(l->b, l->s, kind, a, bb, c);
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	send_input(local_of(cl), HD_CHAN_INPUT_KEY, (uint32_t)keysym, down ? 1 : 0, 0);
}

static void on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
	struct session_local *l = local_of(cl);
	/* libvncserver passes what the client sent; clamp to the screen. */
	x = x < 0 ? 0 : x >= (int)l->width ? (int)l->width - 1 : x;
	y = y < 0 ? 0 : y >= (int)l->height ? (int)l->height - 1 : y;
	send_input(l, HD_CHAN_INPUT_POINTER, (uint32_t)x, (uint32_t)y, (uint32_t)buttons & 0xff);
	rfbDefaultPtrAddEvent(buttons, x, y, cl);
}

/* ---- the thread ---- */

static bool setup(struct session_local *l)
{
	int argc = 0;
	l->width = PLACEHOLDER_W;
	l->height = PLACEHOLDER_H;
	l->screen = rfbGetScreen(&argc, NULL, (int)l->width, (int)l->height, 8, 3, 4);
	if (!l->screen)
		return false;
	l->fb = calloc((size_t)l->width * l->height, 4);
	if (!l->fb)
		return false;
	rfbScreenInfoPtr sc = l->screen;
	sc->frameBuffer = l->fb;
	set_format(sc);
	sc->desktopName = "hyperdesk";
	sc->port = 0; /* the broker listens; this screen only serves the one client */
	sc->ipv6port = 0;
	sc->autoPort = FALSE;
	sc->httpPort = 0;
	sc->alwaysShared = TRUE;
	sc->screenData = l;
	sc->setDesktopSizeHook = set_desktop_size;
	sc->setTranslateFunction = set_translate;
	sc->kbdAddEvent = on_key;
	sc->ptrAddEvent = on_pointer;
	sc->cursor = make_cursor(false, NULL, 0, 0);
	if (l->b->passwords[0]) {
		sc->authPasswdData = (void *)l->b->passwords;
		sc->passwordCheck = rfbCheckPasswordByList;
	}
	rfbInitServer(sc);
	return true;
}

void *session_thread(void *arg)
{
	struct session_arg *a = arg;
	struct session_local l = {.b = a->b, .s = a->s};
	free(a);
	int sock = l.s->sock;

	if (!setup(&l)) {
		hd_warn(TAG, "session %u: cannot set up a VNC screen", l.s->id);
		close(sock);
		goto out;
	}
	/* May wait ~100 ms for a websocket handshake; it closes sock itself on failure. */
	rfbClientPtr cl = rfbNewClient(l.screen, sock);
	if (!cl) {
		hd_info(TAG, "session %u: the client went away during the handshake", l.s->id);
		goto out;
	}
	hd_info(TAG, "session %u: %s connected", l.s->id, cl->host ? cl->host : "?");
	/* Start on the head's picture straight away if there is one. */
	if (!update(&l))
		goto out;
	/* The client has not seen a size yet: its first ExtendedDesktopSize is the server's
	 * (reason 0), not a change another client asked for. */
	set_resize_reason(l.screen, rfbExtDesktopSize_GenericChange, rfbExtDesktopSize_Success);
	while (l.screen->clientHead) {
		rfbProcessEvents(l.screen, POLL_US);
		if (!l.screen->clientHead || !update(&l))
			break;
	}
out:
	if (l.screen) {
		rfbShutdownServer(l.screen, TRUE);
		rfbScreenCleanup(l.screen);
	}
	free(l.fb);
	bk_fb_unref(l.src);
	pthread_mutex_lock(&l.b->lock);
	l.s->vm = NULL;
	l.s->closing = true;
	pthread_mutex_unlock(&l.b->lock);
	atomic_store(&l.s->done, true);
	return NULL;
}
