/* broker.c: the broker's main loop: the VNC and RDP listeners (sessions run on threads of their
 * own),
 * the display channel to every VMM (mode, damage, cursor in; display requests and acks out)
 * and the display policy that turns sessions' shapes into requests. Not VNC itself
 * (session.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "broker-internal.h"
#include "http.h"

#define TAG BROKER_TAG
#define MAX_VMS 32
#define TICK_MS 20
#define DEFAULT_WIDTH 1024
#define DEFAULT_HEIGHT 768
/* How long the sessions of a VM that moved away wait for it to attach from its new VMM. */
#define MOVE_WAIT_NS (10000ull * 1000 * 1000)

enum { EV_SIGNAL = 1, EV_CHANNEL, EV_VNC, EV_TICK, EV_RDP, EV_VM_BASE = 1000 };

int broker_policy_parse(const char *s, enum broker_policy *out)
{
	if (!strcmp(s, "follow"))
		*out = BROKER_POLICY_FOLLOW;
	else if (!strcmp(s, "heads"))
		*out = BROKER_POLICY_HEADS;
	else if (!strcmp(s, "fixed"))
		*out = BROKER_POLICY_FIXED;
	else
		return -EINVAL;
	return 0;
}

const char *broker_policy_name(enum broker_policy p)
{
	return p == BROKER_POLICY_HEADS ? "heads" : p == BROKER_POLICY_FIXED ? "fixed" : "follow";
}

bool broker_addr_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

struct bk_fb *bk_fb_ref(struct bk_fb *fb)
{
	if (fb)
		atomic_fetch_add(&fb->refs, 1);
	return fb;
}

void bk_fb_unref(struct bk_fb *fb)
{
	if (!fb || atomic_fetch_sub(&fb->refs, 1) != 1)
		return;
	munmap((void *)fb->map, fb->size);
	free(fb);
}

void broker_size_mm(uint32_t w, uint32_t h, uint32_t dpi_x100, uint32_t *wmm, uint32_t *hmm)
{
	/* mm = pixels * 25.4 / dpi, rounded to the nearest */
	*wmm = dpi_x100 ? (uint32_t)(((uint64_t)w * 25400 / dpi_x100 + 5) / 10) : 0;
	*hmm = dpi_x100 ? (uint32_t)(((uint64_t)h * 25400 / dpi_x100 + 5) / 10) : 0;
}

void broker_shape_mm(const struct broker *b, uint32_t w, uint32_t h, uint32_t *wmm, uint32_t *hmm)
{
	broker_size_mm(w, h, b->cfg->dpi * 100, wmm, hmm);
}

void broker_vm_send(struct bk_vm *vm, const struct hd_chan_msg *m)
{
	if (vm->sock < 0)
		return;
	int r = hd_chan_send(vm->sock, m, -1);
	if (r < 0 && r != -EAGAIN)
		hd_debug(TAG, "vm %u: send %s: %s", vm->id, hd_chan_type_name(m->type),
			 strerror(-r));
}

/* ---- policy ---- */

/* Which of s's monitors shows head of vm: 0 the first, 1 + i more[i], -1 none. */
static int session_monitor_of(const struct bk_session *s, const struct bk_vm *vm, unsigned head)
{
	if (s->vm != vm)
		return -1;
	if (s->head == head)
		return 0;
	if (s->more_placed)
		for (unsigned i = 0; i < s->nr_more; i++)
			if (s->more[i].head == head)
				return 1 + (int)i;
	return -1;
}

static unsigned sessions_on_head(struct broker *b, struct bk_vm *vm, unsigned head,
				 struct bk_session *except)
{
	unsigned n = 0;
	for (struct bk_session *s = b->sessions; s; s = s->next)
		if (s != except && !s->closing && session_monitor_of(s, vm, head) >= 0)
			n++;
	return n;
}

void broker_session_place_more(struct broker *b, struct bk_session *s)
{
	struct bk_vm *vm = s->vm;
	if (!vm || s->more_placed || !s->nr_more)
		return;
	unsigned picked = 0;
	for (unsigned h = 0; h < vm->nr_heads && picked < s->nr_more; h++) {
		if (h == s->head)
			continue;
		/* follow and fixed: the session's monitors are the VM's heads in order; heads:
		 * free heads only. */
		if (b->cfg->policy == BROKER_POLICY_HEADS && sessions_on_head(b, vm, h, s))
			continue;
		s->more[picked++].head = h;
	}
	s->more_placed = true;
	if (picked < s->nr_more) {
		hd_warn(TAG, "session %u: the client has %u monitors but vm %u has %u head(s)%s: "
			     "serving its primary monitor only",
			s->id, s->nr_more + 1, vm->id, vm->nr_heads,
			b->cfg->policy == BROKER_POLICY_HEADS ? " free" : "");
		s->nr_more = 0;
		s->more_dropped = true;
		s->x0 = s->y0 = 0;
		return;
	}
	for (unsigned i = 0; i < s->nr_more; i++)
		hd_info(TAG, "session %u: monitor %u on vm %u head %u", s->id, i + 1, vm->id,
			s->more[i].head);
}

void broker_session_attach(struct broker *b, struct bk_session *s)
{
	if (s->vm || s->closing || s->ever_attached || s->hold)
		return; /* a session whose VM went away is closed, not moved */
	struct bk_vm *vm = NULL;
	for (struct bk_vm *v = b->vms; v; v = v->next)
		if (v->hello_seen)
			vm = v; /* the oldest VM: the list is newest first */
	if (!vm)
		return;
	unsigned head = 0;
	if (b->cfg->policy == BROKER_POLICY_HEADS) {
		head = vm->nr_heads; /* none free yet */
		for (unsigned i = 0; i < vm->nr_heads && head == vm->nr_heads; i++)
			if (!sessions_on_head(b, vm, i, s))
				head = i;
		if (head == vm->nr_heads) {
			hd_warn(TAG, "session %u: every head of vm %u is taken; sharing head 0",
				s->id, vm->id);
			head = 0;
		}
	}
	s->vm = vm;
	s->head = head;
	s->ever_attached = true;
	hd_info(TAG, "session %u: on vm %u (%s) head %u", s->id, vm->id, vm->name, head);
	broker_session_place_more(b, s);
}

void broker_session_depth(struct bk_session *s, uint32_t depth)
{
	if (!hd_chan_depth_ok(depth))
		depth = 0;
	if (s->depth_ns && s->want_depth == depth)
		return;
	s->want_depth = depth;
	s->depth_ns = hd_now_ns();
	hd_info(TAG, "session %u: the client shows %u bits a pixel", s->id, depth);
}

/* What shape the policy wants for a head now (and its physical size, 0 x 0 for the broker's
 * --dpi, and the viewer's depth, 0 when no session stated one): false for "leave it". */
static bool head_target(struct broker *b, struct bk_vm *vm, unsigned head, uint32_t *w,
			uint32_t *h, uint32_t *wmm, uint32_t *hmm, uint32_t *depth)
{
	if (b->cfg->policy == BROKER_POLICY_FIXED)
		return false;
	struct bk_session *latest = NULL, *deepest = NULL;
	int latest_mon = -1;
	unsigned n = 0;
	for (struct bk_session *s = b->sessions; s; s = s->next) {
		int mon = s->closing ? -1 : session_monitor_of(s, vm, head);
		if (mon < 0)
			continue;
		n++;
		if (s->want_set && (!latest || s->want_ns > latest->want_ns)) {
			latest = s;
			latest_mon = mon;
		}
		if (s->depth_ns && (!deepest || s->depth_ns > deepest->depth_ns))
			deepest = s;
	}
	*depth = deepest ? deepest->want_depth : 0;
	*wmm = *hmm = 0;
	if (latest && latest_mon == 0) {
		*w = latest->want_w;
		*h = latest->want_h;
		*wmm = latest->want_wmm;
		*hmm = latest->want_hmm;
		return true;
	}
	if (latest) {
		const struct bk_more *m = &latest->more[latest_mon - 1];
		*w = m->want_w;
		*h = m->want_h;
		*wmm = m->want_wmm;
		*hmm = m->want_hmm;
		return true;
	}
	if (b->cfg->policy == BROKER_POLICY_HEADS && head > 0) {
		/* A head of its own for every session; none without one. */
		*w = n ? DEFAULT_WIDTH : 0;
		*h = n ? DEFAULT_HEIGHT : 0;
		return true;
	}
	/* Nobody asked for a size, but a viewer's depth (or its going) is news to the guest:
	 * the mode it has, at that depth. */
	const struct bk_head *hd = &vm->heads[head];
	if (hd->fb &&
	    hd_chan_depth_bpc(*depth) != hd_chan_depth_bpc(hd->req_depth)) {
		*w = hd->fb->width;
		*h = hd->fb->height;
		*wmm = hd->req_wmm;
		*hmm = hd->req_hmm;
		return true;
	}
	return false;
}

static void policy_tick(struct broker *b)
{
	uint64_t now = hd_now_ns();
	for (struct bk_session *s = b->sessions; s; s = s->next) {
		if (!s->vm && s->wait_id && !s->closing && now > s->wait_until) {
			hd_info(TAG, "session %u: its VM did not arrive from its migration; closing",
				s->id);
			s->wait_id = 0;
			s->closing = true;
		}
		broker_session_attach(b, s);
	}
	for (struct bk_vm *vm = b->vms; vm; vm = vm->next) {
		if (!vm->hello_seen)
			continue;
		for (unsigned i = 0; i < vm->nr_heads; i++) {
			struct bk_head *hd = &vm->heads[i];
			uint32_t w, h, wmm, hmm, depth;
			if (!head_target(b, vm, i, &w, &h, &wmm, &hmm, &depth))
				continue;
			if (!wmm || !hmm)
				broker_shape_mm(b, w, h, &wmm, &hmm);
			uint32_t cw = hd->fb ? hd->fb->width : 0, ch = hd->fb ? hd->fb->height : 0;
			/* The mode has no physical size or depth the guest confirms: a new one is
			 * asked for once. A depth matters when it changes what the guest is told
			 * (its bits per colour); otherwise it rides along with the next request. */
			bool same_bpc = hd_chan_depth_bpc(hd->req_depth) == hd_chan_depth_bpc(depth);
			if (cw == w && ch == h && hd->req_wmm == wmm && hd->req_hmm == hmm && same_bpc)
				continue;
			/* Coalesce: while a request is in flight the latest shape waits for its
			 * mode; the same request again only every few seconds. */
			bool same = hd->req_w == w && hd->req_h == h && hd->req_wmm == wmm &&
				    hd->req_hmm == hmm && same_bpc;
			if (hd->req_inflight &&
			    now - hd->req_ns < (same ? 5 : 1) * HEAD_REQUEST_TIMEOUT_NS)
				continue;
			struct hd_chan_msg m = {.type = HD_CHAN_DISPLAY};
			m.u.display.head = i;
			m.u.display.width = w;
			m.u.display.height = h;
			m.u.display.width_mm = wmm;
			m.u.display.height_mm = hmm;
			m.u.display.depth = depth;
			broker_vm_send(vm, &m);
			hd->req_inflight = !(cw == w && ch == h);
			hd->req_w = w;
			hd->req_h = h;
			hd->req_wmm = wmm;
			hd->req_hmm = hmm;
			hd->req_depth = depth;
			hd->req_ns = now;
			char depth_s[40] = "";
			if (depth)
				snprintf(depth_s, sizeof(depth_s), ", %u bits a pixel", depth);
			if (wmm)
				hd_info(TAG, "vm %u head %u: asking for %ux%u (%ux%u mm%s)", vm->id,
					i, w, h, wmm, hmm, depth_s);
			else
				hd_info(TAG, "vm %u head %u: asking for %ux%u%s", vm->id, i, w, h,
					depth_s[0] ? depth_s + 2 : "");
		}
	}
}

/* ---- VM connections ---- */

static void vm_close(struct broker *b, struct bk_vm *vm, const char *why)
{
	hd_info(TAG, "vm %u (%s) detached: %s", vm->id, vm->name, why);
	uint64_t now = hd_now_ns();
	for (struct bk_session *s = b->sessions; s; s = s->next)
		if (s->vm == vm) {
			s->vm = NULL;
			if (vm->moved && vm->vm_id) {
				/* It goes on elsewhere: the client keeps its last picture meanwhile. */
				s->wait_id = vm->vm_id;
				s->wait_until = now + MOVE_WAIT_NS;
				hd_info(TAG, "session %u: waiting for vm %u to arrive from its migration",
					s->id, vm->id);
			} else {
				s->closing = true; /* its client sees the connection end cleanly */
			}
		}
	for (struct bk_vm **p = &b->vms; *p; p = &(*p)->next)
		if (*p == vm) {
			*p = vm->next;
			break;
		}
	for (unsigned i = 0; i < HD_CHAN_MAX_HEADS; i++)
		bk_fb_unref(vm->heads[i].fb);
	if (vm->sock >= 0)
		close(vm->sock);
	free(vm);
}

static void vm_protocol_error(struct broker *b, struct bk_vm *vm, const char *why)
{
	struct hd_chan_msg bye = {.type = HD_CHAN_BYE};
	bye.u.bye.code = 1;
	snprintf(bye.u.bye.text, sizeof(bye.u.bye.text), "protocol error: %.100s", why);
	broker_vm_send(vm, &bye);
	char line[200];
	snprintf(line, sizeof(line), "protocol error: %s", why);
	vm_close(b, vm, line);
}

static int vm_mode(struct broker *b, struct bk_vm *vm, const struct hd_chan_msg *m, int fd,
		   char *err, size_t errlen)
{
	struct bk_head *hd = &vm->heads[m->u.mode.head];
	struct bk_fb *fb = NULL;
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size < m->u.mode.fb_size) {
			snprintf(err, errlen, "framebuffer fd is not a file of %llu bytes",
				 (unsigned long long)m->u.mode.fb_size);
			return -EPROTO;
		}
		void *map = mmap(NULL, m->u.mode.fb_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			snprintf(err, errlen, "cannot map the framebuffer: %s", strerror(errno));
			return -EPROTO;
		}
		fb = hd_xzalloc(sizeof(*fb));
		atomic_init(&fb->refs, 1);
		fb->map = map;
		fb->size = m->u.mode.fb_size;
		fb->width = m->u.mode.width;
		fb->height = m->u.mode.height;
		fb->stride = m->u.mode.stride;
	}
	bk_fb_unref(hd->fb);
	hd->fb = fb;
	hd->mode_serial = ++b->serial;
	if (hd->req_inflight && (!fb || (fb->width == hd->req_w && fb->height == hd->req_h)))
		hd->req_inflight = false;
	hd_info(TAG, "vm %u head %u: mode %ux%u", vm->id, m->u.mode.head, m->u.mode.width,
		m->u.mode.height);
	return 0;
}

static void vm_damage(struct broker *b, struct bk_vm *vm, const struct hd_chan_msg *m)
{
	unsigned head = m->u.damage.head;
	vm->heads[head].frames++;
	for (struct bk_session *s = b->sessions; s; s = s->next) {
		int mon = session_monitor_of(s, vm, head);
		if (mon < 0)
			continue;
		/* Damage is kept in the client's desktop coordinates. */
		uint32_t dx = mon ? s->more[mon - 1].x : s->x0, dy = mon ? s->more[mon - 1].y : s->y0;
		for (unsigned i = 0; i < m->u.damage.nr_rects; i++) {
			if (s->nr_damage == SESSION_MAX_DAMAGE) {
				/* A session that falls behind gets the bounding box. */
				uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
				for (unsigned k = 0; k < s->nr_damage; k++) {
					const struct hd_chan_rect *r = &s->damage[k];
					x0 = r->x < x0 ? r->x : x0;
					y0 = r->y < y0 ? r->y : y0;
					x1 = r->x + r->width > x1 ? r->x + r->width : x1;
					y1 = r->y + r->height > y1 ? r->y + r->height : y1;
				}
				s->damage[0] = (struct hd_chan_rect){x0, y0, x1 - x0, y1 - y0};
				s->nr_damage = 1;
			}
			struct hd_chan_rect r = m->u.damage.rects[i];
			r.x += dx;
			r.y += dy;
			s->damage[s->nr_damage++] = r;
		}
	}
	/* Consumed: sessions copy from the shared framebuffer at their own pace. */
	struct hd_chan_msg ack = {.type = HD_CHAN_ACK};
	ack.u.ack.head = head;
	ack.u.ack.frame = m->u.damage.frame;
	broker_vm_send(vm, &ack);
}

static void vm_cursor(struct broker *b, struct bk_vm *vm, const struct hd_chan_msg *m)
{
	struct bk_head *hd = &vm->heads[m->u.cursor.head];
	hd->cursor_serial = ++b->serial;
	hd->cursor_visible = m->u.cursor.flags & HD_CHAN_CURSOR_VISIBLE;
	hd->cursor_x = m->u.cursor.x;
	hd->cursor_y = m->u.cursor.y;
	hd->hot_x = m->u.cursor.hot_x;
	hd->hot_y = m->u.cursor.hot_y;
	if (m->u.cursor.image) {
		memcpy(hd->cursor_image, m->u.cursor.image, HD_CHAN_CURSOR_BYTES);
		hd->cursor_has_image = true;
	}
}

static void vm_hello(struct broker *b, struct bk_vm *vm, const struct hd_chan_msg *m)
{
	vm->hello_seen = true;
	vm->nr_heads = m->u.hello.heads;
	snprintf(vm->name, sizeof(vm->name), "%s", m->u.hello.name);
	struct hd_chan_msg r = {.type = HD_CHAN_HELLO};
	r.u.hello.version = HD_CHAN_VERSION;
	r.u.hello.role = HD_CHAN_ROLE_BROKER;
	r.u.hello.pid = (uint32_t)getpid();
	snprintf(r.u.hello.name, sizeof(r.u.hello.name), "broker");
	broker_vm_send(vm, &r);
	hd_info(TAG, "vm %u attached: %s, %u head(s)", vm->id, vm->name, vm->nr_heads);
	/* heads policy: the heads beyond the first exist only for sessions. */
	if (b->cfg->policy == BROKER_POLICY_HEADS)
		for (unsigned i = 1; i < vm->nr_heads; i++) {
			struct hd_chan_msg d = {.type = HD_CHAN_DISPLAY};
			d.u.display.head = i;
			broker_vm_send(vm, &d);
		}
}

/* A VM says who it is. One that arrived by live migration takes over the sessions of the
 * VM it was: those still attached to the source VMM, and those left waiting by it. */
static void vm_vmid(struct broker *b, struct bk_vm *vm, const struct hd_chan_msg *m)
{
	vm->vm_id = m->u.vmid.id;
	if (!(m->u.vmid.flags & HD_CHAN_VMID_ARRIVED))
		return;
	for (struct bk_session *s = b->sessions; s; s = s->next) {
		if (s->closing || s->vm == vm)
			continue;
		bool ours = s->vm ? s->vm->vm_id == vm->vm_id : s->wait_id == vm->vm_id;
		if (!ours)
			continue;
		hd_info(TAG, "session %u: moved to vm %u (%s), which arrived by migration", s->id,
			vm->id, vm->name);
		s->vm = vm;
		s->wait_id = 0;
		s->nr_damage = 0;
		if (s->head >= vm->nr_heads)
			s->head = 0;
	}
}

/* Returns false when vm was closed. */
static bool vm_readable(struct broker *b, struct bk_vm *vm)
{
	static uint8_t buf[HD_CHAN_MAX_PACKET]; /* the main thread's */
	for (int budget = 256; budget > 0; budget--) {
		int fd;
		long n = hd_chan_recv(vm->sock, buf, sizeof(buf), &fd);
		if (n == -EAGAIN)
			return true;
		if (n <= 0) {
			vm_close(b, vm, n == 0 ? "the VMM went away" : strerror((int)-n));
			return false;
		}
		struct hd_chan_msg m;
		char err[160];
		unsigned max_heads = vm->hello_seen ? vm->nr_heads : HD_CHAN_MAX_HEADS;
		int r = hd_chan_decode(buf, (size_t)n, fd >= 0, max_heads, &m, err, sizeof(err));
		if (r == 0 && !vm->hello_seen && m.type != HD_CHAN_HELLO) {
			snprintf(err, sizeof(err), "%s before hello", hd_chan_type_name(m.type));
			r = -EPROTO;
		}
		if (r == 0 && vm->hello_seen && m.type == HD_CHAN_HELLO) {
			snprintf(err, sizeof(err), "a second hello");
			r = -EPROTO;
		}
		if (r == 0) {
			switch (m.type) {
			case HD_CHAN_HELLO:
				if (m.u.hello.role != HD_CHAN_ROLE_VMM ||
				    m.u.hello.version != HD_CHAN_VERSION) {
					snprintf(err, sizeof(err), "hello of version %u role %u",
						 m.u.hello.version, m.u.hello.role);
					r = -EPROTO;
				} else {
					vm_hello(b, vm, &m);
				}
				break;
			case HD_CHAN_MODE:
				r = vm_mode(b, vm, &m, fd, err, sizeof(err));
				break;
			case HD_CHAN_DAMAGE:
				vm_damage(b, vm, &m);
				break;
			case HD_CHAN_CURSOR:
				vm_cursor(b, vm, &m);
				break;
			case HD_CHAN_VMID:
				vm_vmid(b, vm, &m);
				break;
			case HD_CHAN_BYE:
				if (fd >= 0)
					close(fd);
				vm->moved = m.u.bye.code == HD_CHAN_BYE_MOVED;
				vm_close(b, vm, m.u.bye.text[0] ? m.u.bye.text : "bye");
				return false;
			default:
				snprintf(err, sizeof(err), "%s is not a VMM's message",
					 hd_chan_type_name(m.type));
				r = -EPROTO;
			}
		}
		if (fd >= 0)
			close(fd); /* mapped, or refused */
		if (r < 0) {
			vm_protocol_error(b, vm, err);
			return false;
		}
	}
	return true;
}

/* ---- listeners ---- */

void broker_session_input(struct broker *b, struct bk_session *s, uint32_t kind, uint32_t a,
			  uint32_t bb, uint32_t c)
{
	broker_session_input_on(b, s, 0, kind, a, bb, c);
}

void broker_session_input_on(struct broker *b, struct bk_session *s, unsigned mon,
			     uint32_t kind, uint32_t a, uint32_t bb, uint32_t c)
{
	pthread_mutex_lock(&b->lock);
	if (s->vm && (mon == 0 || (s->more_placed && mon <= s->nr_more))) {
		struct hd_chan_msg m = {.type = HD_CHAN_INPUT};
		m.u.input.head = mon ? s->more[mon - 1].head : s->head;
		m.u.input.kind = kind;
		m.u.input.a = a;
		m.u.input.b = bb;
		m.u.input.c = c;
		broker_vm_send(s->vm, &m);
	}
	pthread_mutex_unlock(&b->lock);
}

int broker_tcp_listen(const char *addr, unsigned port, int backlog, unsigned *port_out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof(*a6);
	} else {
		return -EINVAL;
	}
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, backlog) < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	getsockname(s, (struct sockaddr *)&ss, &len);
	*port_out = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	return s;
}

static void reap_sessions(struct broker *b, bool all)
{
	for (;;) {
		struct bk_session *done = NULL;
		pthread_mutex_lock(&b->lock);
		for (struct bk_session **p = &b->sessions; *p; p = &(*p)->next)
			if (atomic_load(&(*p)->done)) {
				done = *p;
				*p = done->next;
				b->nr_sessions--;
				break;
			}
		pthread_mutex_unlock(&b->lock);
		if (!done) {
			if (!all || !b->sessions)
				return;
			usleep(10000);
			continue;
		}
		pthread_join(done->thread, NULL);
		hd_info(TAG, "session %u ended", done->id);
		free(done);
	}
}

/* Accepts clients on lsock, a session thread each (VNC, or RDP when rdp). */
static void clients_accept(struct broker *b, int lsock, bool rdp)
{
	for (int budget = 64; budget > 0; budget--) {
		int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return;
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_mutex_lock(&b->lock);
		if (b->nr_sessions >= BROKER_MAX_SESSIONS) {
			pthread_mutex_unlock(&b->lock);
			hd_warn(TAG, "refusing a client: %d sessions already", BROKER_MAX_SESSIONS);
			close(c);
			continue;
		}
		struct bk_session *s = hd_xzalloc(sizeof(*s));
		s->id = ++b->next_session_id;
		s->sock = c;
		s->rdp = rdp;
		s->hold = rdp; /* no head for a client that has not logged on */
		struct session_arg *arg = hd_xzalloc(sizeof(*arg));
		arg->b = b;
		arg->s = s;
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int r = pthread_create(&s->thread, NULL, rdp ? rdp_session_thread : session_thread,
				       arg);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r) {
			pthread_mutex_unlock(&b->lock);
			hd_warn(TAG, "cannot start a session thread: %s", strerror(r));
			close(c);
			free(arg);
			free(s);
			continue;
		}
		s->next = b->sessions;
		b->sessions = s;
		b->nr_sessions++;
		pthread_mutex_unlock(&b->lock);
	}
}

static void channel_accept(struct broker *b, int lsock, int ep)
{
	for (int budget = 16; budget > 0; budget--) {
		int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		pthread_mutex_lock(&b->lock);
		unsigned n = 0;
		for (struct bk_vm *v = b->vms; v; v = v->next)
			n++;
		if (n >= MAX_VMS) {
			pthread_mutex_unlock(&b->lock);
			hd_warn(TAG, "refusing a VMM: %d attached already", MAX_VMS);
			close(c);
			continue;
		}
		struct bk_vm *vm = hd_xzalloc(sizeof(*vm));
		vm->id = ++b->next_vm_id;
		vm->sock = c;
		snprintf(vm->name, sizeof(vm->name), "vm-%u", vm->id);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_VM_BASE + vm->id};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0) {
			pthread_mutex_unlock(&b->lock);
			close(c);
			free(vm);
			continue;
		}
		vm->next = b->vms;
		b->vms = vm;
		pthread_mutex_unlock(&b->lock);
	}
}

static int read_password_ok(const struct broker_config *cfg)
{
	if (cfg->password || broker_addr_is_loopback(cfg->vnc_addr))
		return 0;
	fprintf(stderr, "hyperdesk broker: %s is not a loopback address: a VNC password "
			"(--password-file) is required\n",
		cfg->vnc_addr);
	return -1;
}

/* RDP without NLA (no --rdp-users) is for loopback only. */
static int rdp_config_ok(const struct broker_config *cfg)
{
	if (!cfg->rdp_addr)
		return 0;
	if (!broker_rdp_available()) {
		fprintf(stderr, "hyperdesk broker: --rdp: this build has no RDP (FreeRDP 2 was not "
				"found when it was built)\n");
		return -1;
	}
	if (!cfg->rdp_users && !broker_addr_is_loopback(cfg->rdp_addr)) {
		fprintf(stderr, "hyperdesk broker: --rdp %s is not a loopback address: RDP "
				"elsewhere needs NLA logons (--rdp-users FILE)\n",
			cfg->rdp_addr);
		return -1;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, "hyperdesk broker: --tls-cert and --tls-key go together\n");
		return -1;
	}
	return 0;
}

int broker_web_check(const char *dir, char *err, size_t errlen)
{
	return web_check_root(dir, err, errlen);
}

int broker_run(const struct broker_config *cfg)
{
	struct broker b = {.cfg = cfg};
	int status = 1, ep = -1, sfd = -1, chan = -1, vnc = -1, tfd = -1, rdp = -1;
	unsigned port = 0, web_port = 0, rdp_port = 0;
	struct web_server *web = NULL;

	if (read_password_ok(cfg) < 0 || rdp_config_ok(cfg) < 0)
		return 1;
	pthread_mutex_init(&b.lock, NULL);
	pthread_mutex_init(&b.tls_lock, NULL);
	if (cfg->password) {
		b.passwords[0] = hd_xstrdup(cfg->password);
		b.passwords[1] = NULL;
	}
	session_log_init();

	chan = hd_chan_listen(cfg->channel_path);
	if (chan < 0) {
		fprintf(stderr, "hyperdesk broker: cannot listen on %s: %s\n", cfg->channel_path,
			chan == -EADDRINUSE ? "another broker is serving there"
			: chan == -EEXIST   ? "a file that is not a socket is in the way"
					    : strerror(-chan));
		goto out;
	}
	int r = broker_tcp_listen(cfg->vnc_addr, cfg->vnc_port, 64, &port);
	if (r < 0) {
		fprintf(stderr, "hyperdesk broker: cannot listen for VNC on %s port %u: %s\n",
			cfg->vnc_addr, cfg->vnc_port, strerror(-r));
		goto out;
	}
	vnc = r;
	if (cfg->rdp_addr) {
		r = broker_tcp_listen(cfg->rdp_addr, cfg->rdp_port, 64, &rdp_port);
		if (r < 0 && !cfg->rdp_optional) {
			fprintf(stderr, "hyperdesk broker: cannot listen for RDP on %s port %u: %s\n",
				cfg->rdp_addr, cfg->rdp_port, strerror(-r));
			goto out;
		}
		if (r < 0)
			hd_warn(TAG, "no RDP: cannot listen on %s port %u: %s", cfg->rdp_addr,
				cfg->rdp_port, strerror(-r));
		rdp = r;
		rdp_log_init();
	}
	if (cfg->web_addr) {
		struct web_config wc = {.addr = cfg->web_addr,
					.port = cfg->web_port,
					.root = cfg->web_root,
					.vnc_port = port};
		/* The page connects to the VNC address, or to its own host for a wildcard one. */
		if (strcmp(cfg->vnc_addr, "0.0.0.0") && strcmp(cfg->vnc_addr, "::"))
			wc.vnc_host = cfg->vnc_addr;
		char err[600];
		web = web_start(&wc, &web_port, err, sizeof(err));
		if (!web) {
			fprintf(stderr, "hyperdesk broker: --web: %s\n", err);
			goto out;
		}
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || ep < 0 || tfd < 0) {
		fprintf(stderr, "hyperdesk broker: cannot set up the event loop: %s\n",
			strerror(errno));
		goto out;
	}
	struct itimerspec its = {.it_interval = {0, TICK_MS * 1000000},
				 .it_value = {0, TICK_MS * 1000000}};
	timerfd_settime(tfd, 0, &its, NULL);
	struct {
		int fd;
		uint64_t tag;
	} fds[] = {{sfd, EV_SIGNAL}, {chan, EV_CHANNEL}, {vnc, EV_VNC}, {tfd, EV_TICK}};
	for (size_t i = 0; i < HD_ARRAY_SIZE(fds); i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = fds[i].tag};
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev);
	}
	if (rdp >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_RDP};
		epoll_ctl(ep, EPOLL_CTL_ADD, rdp, &ev);
		if (cfg->rdp_users)
			hd_info(TAG, "RDP on %s port %u, NLA for %u user(s)", cfg->rdp_addr,
				rdp_port, broker_users_count(cfg->rdp_users));
		else
			hd_info(TAG, "RDP on %s port %u, TLS without logon (loopback)",
				cfg->rdp_addr, rdp_port);
	}

	hd_info(TAG, "VNC on %s port %u, display channel %s, policy %s", cfg->vnc_addr, port,
		cfg->channel_path, broker_policy_name(cfg->policy));
	if (web)
		hd_info(TAG, "web client on %s port %u, from %s", cfg->web_addr, web_port,
			cfg->web_root);
	if (cfg->ready_fd >= 0) {
		char line[64];
		int n = snprintf(line, sizeof(line), "ready %u", port);
		if (web)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " web %u", web_port);
		if (rdp >= 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " rdp %u", rdp_port);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "\n");
		if (write(cfg->ready_fd, line, (size_t)n) < 0)
			hd_debug(TAG, "ready line: %s", strerror(errno));
	}

	bool running = true;
	while (running) {
		struct epoll_event evs[32];
		int n = epoll_wait(ep, evs, 32, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == EV_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == sizeof(si))
					hd_info(TAG, "signal %u: stopping", si.ssi_signo);
				running = false;
			} else if (tag == EV_TICK) {
				uint64_t v;
				if (read(tfd, &v, sizeof(v)) < 0)
					hd_debug(TAG, "timer: %s", strerror(errno));
				pthread_mutex_lock(&b.lock);
				policy_tick(&b);
				pthread_mutex_unlock(&b.lock);
				reap_sessions(&b, false);
			} else if (tag == EV_CHANNEL) {
				channel_accept(&b, chan, ep);
			} else if (tag == EV_VNC) {
				clients_accept(&b, vnc, false);
			} else if (tag == EV_RDP) {
				clients_accept(&b, rdp, true);
			} else if (tag >= EV_VM_BASE) {
				pthread_mutex_lock(&b.lock);
				struct bk_vm *vm = b.vms;
				while (vm && vm->id != tag - EV_VM_BASE)
					vm = vm->next;
				if (vm && vm_readable(&b, vm)) {
					/* A new mode or shape may let a request go out now. */
					policy_tick(&b);
				}
				pthread_mutex_unlock(&b.lock);
			}
		}
	}
	status = 0;

out:
	web_stop(web);
	atomic_store(&b.stopping, true);
	pthread_mutex_lock(&b.lock);
	for (struct bk_session *s = b.sessions; s; s = s->next)
		s->closing = true;
	pthread_mutex_unlock(&b.lock);
	reap_sessions(&b, true);
	pthread_mutex_lock(&b.lock);
	while (b.vms) {
		struct hd_chan_msg bye = {.type = HD_CHAN_BYE};
		snprintf(bye.u.bye.text, sizeof(bye.u.bye.text), "the broker stopped");
		broker_vm_send(b.vms, &bye);
		vm_close(&b, b.vms, "the broker stops");
	}
	pthread_mutex_unlock(&b.lock);
	if (chan >= 0) {
		close(chan);
		unlink(cfg->channel_path);
	}
	if (vnc >= 0)
		close(vnc);
	if (rdp >= 0)
		close(rdp);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	free(b.passwords[0]);
	free(b.tls_cert_pem);
	free(b.tls_key_pem);
	pthread_mutex_destroy(&b.tls_lock);
	pthread_mutex_destroy(&b.lock);
	return status;
}
