/* migrate-net.c: the TCP side of live migration: tcp:HOST:PORT addresses, the listener
 * (loopback unless told otherwise), the sender's connection and the short answer lines the
 * destination writes back. Not the stream itself (migrate-stream.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv-internal.h"

#define CONNECT_TIMEOUT_MS 5000

/* "tcp:HOST:PORT" or "tcp:[V6]:PORT" into host and port strings. */
int hv_migrate_parse_uri(const char *uri, char *host, size_t hostlen, char *port,
			 size_t portlen)
{
	if (strncmp(uri, "tcp:", 4) != 0)
		return -EINVAL;
	const char *hp = uri + 4, *colon;
	size_t hl;
	if (*hp == '[') {
		const char *close = strchr(hp, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - hp - 1);
		hp++;
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - hp);
	}
	const char *p = colon + 1;
	if (!hl || hl >= hostlen || !*p || strlen(p) >= portlen || strspn(p, "0123456789") != strlen(p))
		return -EINVAL;
	long v = strtol(p, NULL, 10);
	if (v < 0 || v > 65535)
		return -EINVAL;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%s", p);
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

int hv_migrate_listen(const char *uri, bool insecure, int *out_fd, char *bound, size_t boundlen,
		      char *err, size_t errlen)
{
	char host[256], port[16];
	if (hv_migrate_parse_uri(uri, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "'%s' is not tcp:ADDR:PORT", uri);
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
			*res;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(g));
		return -EINVAL;
	}
	int r = -EADDRNOTAVAIL;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (!insecure && !is_loopback(a->ai_addr)) {
			snprintf(err, errlen,
				 "refusing to listen on %s: the migration stream is unauthenticated "
				 "and unencrypted; use a loopback address, or --incoming-insecure on "
				 "a network you trust",
				 host);
			r = -EPERM;
			break;
		}
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 1) < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot listen on %s: %s", uri, strerror(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char h[INET6_ADDRSTRLEN] = "?", p[16] = "?";
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
				    NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(bound, boundlen, ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s", h,
			 p);
		*out_fd = fd;
		r = 0;
		break;
	}
	freeaddrinfo(res);
	return r;
}

int hv_migrate_connect(const char *uri, int io_timeout_s, int *out_fd, char *err,
		       size_t errlen)
{
	char host[256], port[16];
	if (hv_migrate_parse_uri(uri, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "'%s' is not tcp:HOST:PORT", uri);
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(g));
		return -EINVAL;
	}
	int r = -ECONNREFUSED;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			r = -errno;
			close(fd);
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n = poll(&p, 1, CONNECT_TIMEOUT_MS);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (n <= 0)
			soerr = n == 0 ? ETIMEDOUT : errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			r = -soerr;
			close(fd);
			continue;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		struct timeval tv = {.tv_sec = io_timeout_s};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		*out_fd = fd;
		r = 0;
		break;
	}
	freeaddrinfo(res);
	if (r < 0)
		snprintf(err, errlen, "cannot connect to %s: %s", uri, strerror(-r));
	return r;
}

int hv_migrate_read_line(int fd, const char *want, int timeout_ms, char *err, size_t errlen)
{
	char line[600];
	size_t len = 0;
	uint64_t deadline = hd_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	while (len < sizeof(line) - 1) {
		uint64_t now = hd_now_ns();
		if (now >= deadline) {
			snprintf(err, errlen, "the destination did not confirm within %d s",
				 timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "waiting for the destination: %s", strerror(errno));
			return -errno;
		}
		if (n <= 0)
			continue;
		ssize_t r = recv(fd, line + len, 1, 0);
		if (r <= 0) {
			snprintf(err, errlen, "the destination closed the connection before "
					      "confirming");
			return -ECONNRESET;
		}
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (!strcmp(line, want))
		return 0;
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	snprintf(err, errlen, "the destination refused the VM: %.400s",
		 strncmp(line, "error: ", 7) ? line : line + 7);
	return -EPROTO;
}
