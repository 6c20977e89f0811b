/* web.c: the broker's static file server for the noVNC web client, on a thread of its own:
 * one epoll loop over non-blocking connections (at most WEB_MAX_CONNS, each with a bounded
 * request buffer and an idle timeout), files sent with sendfile from under the noVNC folder
 * only, our own page (web/vnc.html, built in) at /vnc.html, and / redirecting to it with the
 * broker's VNC port. Nothing a client sends can stop the broker: a bad request is answered
 * with an error and the connection closed. Not the request parser (http-parse.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "broker-internal.h"
#include "http.h"

#define TAG "web"
#define WEB_MAX_CONNS 64
#define WEB_IDLE_NS (15ull * 1000 * 1000 * 1000)
#define WEB_DRAIN_NS (2ull * 1000 * 1000 * 1000)
#define WEB_MAX_FILE (64u << 20)

extern const unsigned char hd_web_page[];
extern const size_t hd_web_page_len;

struct web_conn {
	int fd;
	uint64_t last_ns;
	char in[HTTP_MAX_REQUEST];
	size_t in_len;
	char out[1024 + HTTP_MAX_PATH]; /* the response header, or a small body with it */
	size_t out_len, out_off;
	const unsigned char *mem; /* a body in memory (our page) */
	size_t mem_len, mem_off;
	int file; /* a body from a file, or -1 */
	off_t file_off, file_len;
	bool keep_alive;
	bool draining; /* answered and shut down for writing: reading what is left, then closing */
};

struct web_server {
	struct web_config cfg;
	char *root_path, *vnc_host;
	int root, lsock, ep, wake;
	pthread_t thread;
	struct web_conn *conns[WEB_MAX_CONNS];
};

int web_check_root(const char *root, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/core/rfb.js", root);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the noVNC client is not installed at %s (no core/rfb.js): run "
				      "scripts/setup, or give --novnc DIR (the @novnc/novnc package)",
			 root);
		return -1;
	}
	return 0;
}

static int open_beneath(int root, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* an old kernel: the path is clean (no "..") anyway */
		fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return (int)fd;
}

static void conn_close(struct web_server *w, unsigned i)
{
	struct web_conn *c = w->conns[i];
	if (!c)
		return;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->file >= 0)
		close(c->file);
	free(c);
	w->conns[i] = NULL;
}

static void respond_error(struct web_conn *c, int status)
{
	char body[128];
	int bl = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
				      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
				      "Content-Length: %d\r\n%sConnection: close\r\n\r\n%s",
				      status, http_reason(status), bl,
				      status == 405 ? "Allow: GET, HEAD\r\n" : "", body);
	c->out_off = 0;
	c->keep_alive = false;
}

static void respond_header(struct web_conn *c, const char *type, size_t len, const char *extra)
{
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
				      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				      "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
				      "%sConnection: %s\r\n\r\n",
				      type, len, extra, c->keep_alive ? "keep-alive" : "close");
	c->out_off = 0;
}

/* Turns a whole request into a response waiting to be written. */
static void handle(struct web_server *w, struct web_conn *c, const struct http_request *req)
{
	c->keep_alive = req->keep_alive;
	if (!req->path[0]) {
		/* The landing URL: our page, connecting to the broker's VNC port. */
		char host[160] = "";
		if (w->vnc_host) {
			bool v6 = strchr(w->vnc_host, ':') != NULL;
			snprintf(host, sizeof(host), "host=%s%s%s&", v6 ? "%5B" : "", w->vnc_host,
				 v6 ? "%5D" : "");
		}
		c->out_len = (size_t)snprintf(
			c->out, sizeof(c->out),
			"HTTP/1.1 302 Found\r\nLocation: /vnc.html?%sport=%u&autoconnect=1&"
			"resize=remote\r\nContent-Length: 0\r\nConnection: %s\r\n\r\n",
			host, w->cfg.vnc_port, c->keep_alive ? "keep-alive" : "close");
		c->out_off = 0;
		return;
	}
	if (!strcmp(req->path, "vnc.html")) {
		respond_header(c, "text/html; charset=utf-8", hd_web_page_len, "");
		if (!req->head) {
			c->mem = hd_web_page;
			c->mem_len = hd_web_page_len;
			c->mem_off = 0;
		}
		return;
	}
	int fd = open_beneath(w->root, req->path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_MAX_FILE) {
		if (fd >= 0)
			close(fd);
		respond_error(c, 404);
		return;
	}
	respond_header(c, http_content_type(req->path), (size_t)st.st_size, "");
	if (req->head) {
		close(fd);
		return;
	}
	c->file = fd;
	c->file_off = 0;
	c->file_len = st.st_size;
}

/* Writes what is pending. Returns 1 when all is written, 0 to wait, -1 to close. */
static int conn_write(struct web_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->out_off += (size_t)n;
	}
	while (c->mem && c->mem_off < c->mem_len) {
		ssize_t n = send(c->fd, c->mem + c->mem_off, c->mem_len - c->mem_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->mem_off += (size_t)n;
	}
	while (c->file >= 0 && c->file_off < c->file_len) {
		ssize_t n = sendfile(c->fd, c->file, &c->file_off, (size_t)(c->file_len - c->file_off));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1; /* the file shrank */
	}
	return 1;
}

static bool conn_busy(const struct web_conn *c)
{
	return c->out_off < c->out_len || (c->mem && c->mem_off < c->mem_len) ||
	       (c->file >= 0 && c->file_off < c->file_len);
}

static void conn_reset_response(struct web_conn *c)
{
	if (c->file >= 0)
		close(c->file);
	c->file = -1;
	c->mem = NULL;
	c->out_len = c->out_off = 0;
}

/* Reads, parses, answers; returns false to close. */
static bool conn_event(struct web_server *w, struct web_conn *c, uint32_t events)
{
	c->last_ns = hd_now_ns();
	if (events & (EPOLLERR | EPOLLHUP))
		return false;
	if (c->draining) {
		/* Closing with unread input would reset the connection and could lose the
		 * answer: read and drop the rest until the client closes (or the timeout). */
		char sink[4096];
		for (int budget = 64; budget > 0; budget--) {
			ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
			if (n == 0)
				return false;
			if (n < 0)
				return errno == EAGAIN || errno == EINTR;
		}
		return true;
	}
	for (;;) {
		if (conn_busy(c)) {
			int r = conn_write(c);
			if (r < 0)
				return false;
			if (r == 0) {
				struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
				epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
				return true;
			}
			conn_reset_response(c);
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
			epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
			if (!c->keep_alive) {
				shutdown(c->fd, SHUT_WR);
				c->draining = true;
				return true;
			}
		}
		/* A whole request already buffered (pipelined)? */
		struct http_request req;
		int r = http_parse_request(c->in, c->in_len, &req);
		if (r > 0) {
			memmove(c->in, c->in + r, c->in_len - (size_t)r);
			c->in_len -= (size_t)r;
			handle(w, c, &req);
			continue;
		}
		if (r < 0) {
			hd_debug(TAG, "refusing a request: %d %s", -r, http_reason(-r));
			respond_error(c, -r);
			c->in_len = 0;
			continue;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->in_len += (size_t)n;
	}
}

static void web_accept(struct web_server *w)
{
	for (int budget = 32; budget > 0; budget--) {
		int fd = accept4(w->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		unsigned slot = WEB_MAX_CONNS;
		for (unsigned i = 0; i < WEB_MAX_CONNS && slot == WEB_MAX_CONNS; i++)
			if (!w->conns[i])
				slot = i;
		if (slot == WEB_MAX_CONNS) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
						   "Content-Length: 0\r\nConnection: close\r\n\r\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				hd_debug(TAG, "busy: %s", strerror(errno));
			close(fd);
			continue;
		}
		struct web_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->file = -1;
		c->last_ns = hd_now_ns();
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		w->conns[slot] = c;
	}
}

static void *web_thread(void *arg)
{
	struct web_server *w = arg;
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(w->ep, evs, 16, 1000);
		if (n < 0 && errno != EINTR)
			break;
		bool stop = false;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &w->lsock) {
				web_accept(w);
			} else if (p == &w->wake) {
				stop = true;
			} else {
				for (unsigned k = 0; k < WEB_MAX_CONNS; k++)
					if (w->conns[k] == p) {
						if (!conn_event(w, p, evs[i].events))
							conn_close(w, k);
						break;
					}
			}
		}
		if (stop)
			break;
		uint64_t now = hd_now_ns();
		for (unsigned k = 0; k < WEB_MAX_CONNS; k++)
			if (w->conns[k] && now - w->conns[k]->last_ns >
						   (w->conns[k]->draining ? WEB_DRAIN_NS : WEB_IDLE_NS))
				conn_close(w, k);
	}
	for (unsigned k = 0; k < WEB_MAX_CONNS; k++)
		conn_close(w, k);
	return NULL;
}

struct web_server *web_start(const struct web_config *cfg, unsigned *port_out, char *err,
			     size_t errlen)
{
	if (web_check_root(cfg->root, err, errlen) < 0)
		return NULL;
	struct web_server *w = hd_xzalloc(sizeof(*w));
	w->cfg = *cfg;
	w->root = w->lsock = w->ep = w->wake = -1;
	w->root_path = hd_xstrdup(cfg->root);
	w->vnc_host = cfg->vnc_host ? hd_xstrdup(cfg->vnc_host) : NULL;
	w->root = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->root < 0) {
		snprintf(err, errlen, "cannot open %s: %s", cfg->root, strerror(errno));
		goto fail;
	}
	int s = broker_tcp_listen(cfg->addr, cfg->port, 32, port_out);
	if (s < 0) {
		snprintf(err, errlen, "cannot listen for HTTP on %s port %u: %s", cfg->addr,
			 cfg->port, strerror(-s));
		goto fail;
	}
	w->lsock = s;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ep < 0 || w->wake < 0) {
		snprintf(err, errlen, "cannot set up the web server: %s", strerror(errno));
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->lsock};
	epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lsock, &ev);
	ev.data.ptr = &w->wake;
	epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wake, &ev);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&w->thread, NULL, web_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, errlen, "cannot start the web server's thread: %s", strerror(r));
		goto fail;
	}
	return w;
fail:
	if (w->lsock >= 0)
		close(w->lsock);
	if (w->ep >= 0)
		close(w->ep);
	if (w->wake >= 0)
		close(w->wake);
	if (w->root >= 0)
		close(w->root);
	free(w->root_path);
	free(w->vnc_host);
	free(w);
	return NULL;
}

void web_stop(struct web_server *w)
{
	if (!w)
		return;
	uint64_t one = 1;
	if (write(w->wake, &one, sizeof(one)) < 0)
		hd_debug(TAG, "wake: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	close(w->lsock);
	close(w->ep);
	close(w->wake);
	close(w->root);
	free(w->root_path);
	free(w->vnc_host);
	free(w);
}
