/* bench-vnc.c: a VNC client (libvncclient) that times the display broker from the outside.
 * Not a test: it asserts nothing, it prints figures.
 *
 *   bench-vnc connect HOST PORT RUNS WxH [WxH2]
 *       RUNS fresh connections, each asking for a shape (alternating WxH and WxH2 when both
 *       are given, so that every connection makes the guest switch): the time from starting
 *       the TCP connection to the end of the first framebuffer update at that shape.
 *   bench-vnc resize HOST PORT RUNS WxH WxH2
 *       One connection that alternates between the two shapes RUNS times: the time from
 *       sending SetDesktopSize to the end of the first framebuffer update at the new shape.
 *   bench-vnc stream HOST PORT ENCODING SECONDS [WxH]
 *       One connection that asks for ENCODING only (tight = Tight with JPEG quality 6 and
 *       compression 1, as noVNC's defaults; zrle; hextile; raw) and keeps asking for updates:
 *       framebuffer updates a second and bytes received (TCP_INFO) per update.
 * Prints one line of key=value figures (times in ms, medians, min and max). */
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <rfb/rfbclient.h>

#include "bench-stats.h"

struct state {
	unsigned want_w, want_h;
	double first_at_shape_ms; /* end of the first update at the wanted shape, or 0 */
	unsigned long updates;
};

static char tag;

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

static void on_finished(rfbClient *c)
{
	struct state *s = rfbClientGetClientData(c, &tag);
	s->updates++;
	if (!s->first_at_shape_ms && (unsigned)c->width == s->want_w &&
	    (unsigned)c->height == s->want_h)
		s->first_at_shape_ms = bench_now_ms();
}

static rfbClient *client_new(const char *host, int port, const char *encodings, struct state *s)
{
	rfbClient *c = rfbGetClient(8, 3, 4);
	if (!c)
		return NULL;
	rfbClientSetClientData(c, &tag, s);
	c->canHandleNewFBSize = TRUE;
	c->FinishedFrameBufferUpdate = on_finished;
	c->appData.encodingsString = encodings;
	c->appData.useRemoteCursor = TRUE;
	c->appData.qualityLevel = 6;
	c->appData.compressLevel = 1;
	c->appData.enableJPEG = TRUE;
	free(c->serverHost);
	c->serverHost = strdup(host);
	c->serverPort = port;
	return c;
}

static void client_free(rfbClient *c)
{
	free(c->frameBuffer);
	c->frameBuffer = NULL;
	rfbClientCleanup(c);
}

static int parse_shape(const char *s, unsigned *w, unsigned *h)
{
	return sscanf(s, "%ux%u", w, h) == 2 && *w >= 16 && *h >= 16 ? 0 : -1;
}

/* Pumps messages until the first update at the wanted shape, or timeout_ms. */
static int wait_shape(rfbClient *c, struct state *s, double timeout_ms)
{
	double end = bench_now_ms() + timeout_ms;
	while (!s->first_at_shape_ms) {
		if (bench_now_ms() > end)
			return -1;
		int n = WaitForMessage(c, 10000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(c)))
			return -1;
	}
	return 0;
}

static void print_stats(const char *what, double *v, int n)
{
	bench_sort(v, n);
	double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s runs=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f\n", what, n, med, v[0],
	       v[n - 1]);
}

/* Asks for the shape once the server has shown it can resize. */
static int ask_shape(rfbClient *c, struct state *s, double timeout_ms)
{
	double end = bench_now_ms() + timeout_ms;
	while (!c->screen.width && !c->screen.height) {
		if (bench_now_ms() > end)
			return -1;
		int n = WaitForMessage(c, 10000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(c)))
			return -1;
	}
	if ((unsigned)c->width == s->want_w && (unsigned)c->height == s->want_h)
		return 0;
	s->first_at_shape_ms = 0;
	return SendExtDesktopSize(c, (uint16_t)s->want_w, (uint16_t)s->want_h) ? 0 : -1;
}

static int bench_connect(const char *host, int port, int runs, char **shapes, int nshapes)
{
	double *v = calloc((size_t)runs, sizeof(double));
	for (int i = 0; i < runs; i++) {
		struct state s = {0};
		if (parse_shape(shapes[i % nshapes], &s.want_w, &s.want_h) < 0)
			return 2;
		rfbClient *c = client_new(host, port, "zrle copyrect hextile raw", &s);
		double t0 = bench_now_ms();
		int argc = 1;
		char *argv[] = {"bench-vnc", NULL};
		if (!c || !rfbInitClient(c, &argc, argv)) {
			fprintf(stderr, "bench-vnc: cannot connect\n");
			return 1;
		}
		if (ask_shape(c, &s, 5000) < 0 || wait_shape(c, &s, 10000) < 0) {
			fprintf(stderr, "bench-vnc: no frame at %ux%u\n", s.want_w, s.want_h);
			client_free(c);
			return 1;
		}
		v[i] = s.first_at_shape_ms - t0;
		client_free(c);
	}
	char what[96];
	snprintf(what, sizeof(what), "connect-to-first-frame %s%s%s", shapes[0],
		 nshapes > 1 ? "/" : "", nshapes > 1 ? shapes[1] : "");
	print_stats(what, v, runs);
	free(v);
	return 0;
}

static int bench_resize(const char *host, int port, int runs, char **shapes)
{
	struct state s = {0};
	unsigned w[2], h[2];
	if (parse_shape(shapes[0], &w[0], &h[0]) < 0 || parse_shape(shapes[1], &w[1], &h[1]) < 0)
		return 2;
	rfbClient *c = client_new(host, port, "zrle copyrect hextile raw", &s);
	int argc = 1;
	char *argv[] = {"bench-vnc", NULL};
	if (!c || !rfbInitClient(c, &argc, argv)) {
		fprintf(stderr, "bench-vnc: cannot connect\n");
		return 1;
	}
	double *v = calloc((size_t)runs, sizeof(double));
	for (int i = 0; i <= runs; i++) {
		s.want_w = w[i % 2];
		s.want_h = h[i % 2];
		double t0 = bench_now_ms();
		if (ask_shape(c, &s, 5000) < 0 || wait_shape(c, &s, 10000) < 0) {
			fprintf(stderr, "bench-vnc: no frame at %ux%u\n", s.want_w, s.want_h);
			client_free(c);
			return 1;
		}
		if (i > 0) /* the first only brings the head to a known shape */
			v[i - 1] = s.first_at_shape_ms - t0;
		/* Let the guest's own repaint of the new shape pass before the next switch. */
		double settle = bench_now_ms() + 300;
		while (bench_now_ms() < settle) {
			int n = WaitForMessage(c, 10000);
			if (n < 0 || (n > 0 && !HandleRFBServerMessage(c)))
				break;
		}
	}
	client_free(c);
	char what[96];
	snprintf(what, sizeof(what), "setdesktopsize-to-first-frame %s/%s", shapes[0], shapes[1]);
	print_stats(what, v, runs);
	free(v);
	return 0;
}

static unsigned long long bytes_received(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return 0;
	return ti.tcpi_bytes_received;
}

static int bench_stream(const char *host, int port, const char *encoding, double seconds,
			const char *shape)
{
	struct state s = {0};
	if (parse_shape(shape, &s.want_w, &s.want_h) < 0)
		return 2;
	char encs[64];
	/* A lossless fallback is never used: the server picks the client's first it supports. */
	snprintf(encs, sizeof(encs), "%s", encoding);
	rfbClient *c = client_new(host, port, encs, &s);
	int argc = 1;
	char *argv[] = {"bench-vnc", NULL};
	if (!c || !rfbInitClient(c, &argc, argv)) {
		fprintf(stderr, "bench-vnc: cannot connect\n");
		return 1;
	}
	if (ask_shape(c, &s, 5000) < 0 || wait_shape(c, &s, 10000) < 0) {
		fprintf(stderr, "bench-vnc: no frame at %s\n", shape);
		client_free(c);
		return 1;
	}
	/* Warm up for half a second, then count. */
	double end = bench_now_ms() + 500;
	while (bench_now_ms() < end) {
		int n = WaitForMessage(c, 10000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(c)))
			break;
	}
	unsigned long u0 = s.updates;
	unsigned long long b0 = bytes_received(c->sock);
	double t0 = bench_now_ms();
	end = t0 + seconds * 1000;
	while (bench_now_ms() < end) {
		int n = WaitForMessage(c, 10000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(c))) {
			fprintf(stderr, "bench-vnc: the connection ended\n");
			client_free(c);
			return 1;
		}
	}
	double t = (bench_now_ms() - t0) / 1000;
	unsigned long updates = s.updates - u0;
	unsigned long long bytes = bytes_received(c->sock) - b0;
	printf("stream encoding=%s shape=%dx%d seconds=%.1f updates=%lu fps=%.1f "
	       "bytes_per_update=%.0f mbit_per_s=%.2f\n",
	       encoding, c->width, c->height, t, updates, updates / t,
	       updates ? (double)bytes / updates : 0.0, bytes * 8 / t / 1e6);
	client_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	rfbClientLog = quiet;
	rfbClientErr = quiet;
	if (argc >= 5 && strcmp(argv[1], "stream") && atoi(argv[4]) < 1) {
		fprintf(stderr, "bench-vnc: RUNS must be at least 1\n");
		return 2;
	}
	if (argc >= 6 && !strcmp(argv[1], "connect"))
		return bench_connect(argv[2], atoi(argv[3]), atoi(argv[4]), argv + 5, argc - 5 > 1 ? 2 : 1);
	if (argc == 7 && !strcmp(argv[1], "resize"))
		return bench_resize(argv[2], atoi(argv[3]), atoi(argv[4]), argv + 5);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "stream"))
		return bench_stream(argv[2], atoi(argv[3]), argv[4], atof(argv[5]),
				    argc == 7 ? argv[6] : "1280x720");
	fprintf(stderr, "usage: bench-vnc connect HOST PORT RUNS WxH [WxH2]\n"
			"       bench-vnc resize HOST PORT RUNS WxH WxH2\n"
			"       bench-vnc stream HOST PORT ENCODING SECONDS [WxH]\n");
	return 2;
}
