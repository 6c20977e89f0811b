/* bench-display.c: times display reconfiguration from the host: control-socket display-set to the
 * first flushed frame at the new size, over repeated switches. Not a test: it asserts nothing.
 *
 * It starts `hyperdesk vmm --control SOCK --serial none --guest-cmdline still=1` (the demo
 * desktop), and for each switch: waits for the desktop's once-a-second clock flush (so that no
 * other flush can fall inside the measurement), notes head 0's frame counter,
 * sends display-set, then polls display-info on the same connection until head 0's scanout
 * has the new size and its frame counter has advanced. The time from just before sending
 * display-set to that reply is one sample; it is late by at most one polling period, whose
 * mean is printed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-stats.h"

static const struct {
	unsigned w, h;
} sizes[] = {{1280, 720}, {1920, 1080}, {800, 600}, {2560, 1440}, {1024, 768}};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int sock = -1;
static char reply[1 << 16];
static double rtt_us, period_us; /* while waiting for the new frame */
static long polls, periods;


/* Sends one request line and reads its one reply line into reply. Returns 0 or -1. */
static int request(const char *line)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		ssize_t n = write(sock, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	off = 0;
	for (;;) {
		ssize_t n = read(sock, reply + off, sizeof(reply) - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
		if (reply[off - 1] == '\n' || off == sizeof(reply) - 1)
			break;
	}
	reply[off] = '\0';
	return 0;
}

/* Head 0 as display-info reports it: its scanout size (0 x 0 without one) and frame count. */
static int head0(unsigned *w, unsigned *h, unsigned long long *frames)
{
	const char *s, *f;
	unsigned res;

	if (request("{\"cmd\":\"display-info\"}\n") < 0 || !strstr(reply, "\"ok\":true"))
		return -1;
	s = strstr(reply, "\"head\":0,");
	f = s ? strstr(s, "\"frames\":") : NULL;
	s = s ? strstr(s, "\"scanout\":") : NULL;
	if (!s || !f || sscanf(f, "\"frames\":%llu", frames) != 1)
		return -1;
	*w = *h = 0;
	if (strncmp(s, "\"scanout\":null", 14) &&
	    sscanf(s, "\"scanout\":{\"resource\":%u,\"width\":%u,\"height\":%u", &res, w, h) != 3)
		return -1;
	return 0;
}

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};
	nanosleep(&ts, NULL);
}

/* Waits (5 s at most) for the static desktop's clock flush: the first flush after 200 ms
 * without any. The next one is then a second away, far longer than a switch takes. Returns 0
 * with head 0's frame count, or -1. */
static int wait_clock_flush(unsigned long long *frames)
{
	unsigned w, h;
	unsigned long long last;
	double quiet_since, deadline = bench_now_us() + 5e6;

	if (head0(&w, &h, &last) < 0)
		return -1;
	quiet_since = bench_now_us();
	while (bench_now_us() < deadline) {
		sleep_us(1000);
		if (head0(&w, &h, frames) < 0)
			return -1;
		if (*frames == last)
			continue;
		if (bench_now_us() - quiet_since >= 200e3)
			return 0;
		last = *frames;
		quiet_since = bench_now_us();
	}
	fprintf(stderr, "bench-display: no clock flush within 5 s\n");
	return -1;
}

int main(int argc, char **argv)
{
	int switches = 20, interval_us = 100, i = 1;
	const char *hyperdesk = NULL;
	char dir[] = "/tmp/bench-display.XXXXXX", path[64], line[128];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pid_t pid;
	int status, rc = 1;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--switches") && i + 1 < argc)
			switches = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--interval-us") && i + 1 < argc)
			interval_us = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--"))
			break;
		else if (!hyperdesk)
			hyperdesk = argv[i];
		else
			break;
	}
	if (!hyperdesk || switches < 1 || switches > 10000 || interval_us < 0 ||
	    interval_us > 1000000) {
		fprintf(stderr, "usage: bench-display [--switches N] [--interval-us U] "
				"PATH-TO-hyperdesk [-- EXTRA VMM ARGS]\n");
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("bench-display: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vm.sock", dir);

	int extra = (i < argc && !strcmp(argv[i], "--")) ? argc - i - 1 : 0;
	char **vargv = calloc((size_t)extra + 10, sizeof(char *));
	int k = 0;
	vargv[k++] = (char *)hyperdesk;
	vargv[k++] = "vmm";
	vargv[k++] = "--control";
	vargv[k++] = path;
	vargv[k++] = "--serial";
	vargv[k++] = "none";
	vargv[k++] = "--guest-cmdline";
	vargv[k++] = "still=1";
	for (int e = 0; e < extra; e++)
		vargv[k++] = argv[i + 1 + e];
	printf("command: %s vmm --control SOCK --serial none --guest-cmdline still=1", hyperdesk);
	for (int e = 0; e < extra; e++)
		printf(" %s", argv[i + 1 + e]);
	printf("\nswitches: %d, cycling through", switches);
	for (size_t s = 0; s < NSIZES; s++)
		printf(" %ux%u", sizes[s].w, sizes[s].h);
	printf("; poll interval %d us\n", interval_us);
	fflush(stdout);

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execv(hyperdesk, vargv);
		_exit(127);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int t = 0; t < 1000; t++) {
		sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(sock);
		sock = -1;
		sleep_us(10000);
	}
	if (sock < 0) {
		fprintf(stderr, "bench-display: no control socket after 10 s\n");
		goto out;
	}

	double *all = calloc((size_t)switches, sizeof(double));
	double *per[NSIZES];
	int nper[NSIZES] = {0};
	unsigned w, h;
	unsigned long long frames, before;
	double deadline = bench_now_us() + 10e6;

	for (size_t s = 0; s < NSIZES; s++)
		per[s] = calloc((size_t)switches, sizeof(double));
	/* The desktop is up at its boot mode. */
	while (head0(&w, &h, &frames) == 0 && (w == 0 || frames == 0) && bench_now_us() < deadline)
		sleep_us(1000);
	if (w == 0) {
		fprintf(stderr, "bench-display: the guest never showed a picture\n");
		goto out;
	}
	for (int n = 0; n < switches; n++) {
		size_t s = (size_t)n % NSIZES;
		double t0, t;

		if (wait_clock_flush(&before) < 0)
			goto fail;
		snprintf(line, sizeof(line), "{\"cmd\":\"display-set\",\"args\":[0,%u,%u]}\n",
			 sizes[s].w, sizes[s].h);
		t0 = bench_now_us();
		if (request(line) < 0 || !strstr(reply, "\"ok\":true"))
			goto fail;
		deadline = t0 + 10e6;
		for (;;) {
			double tp = bench_now_us();

			if (head0(&w, &h, &frames) < 0)
				goto fail;
			t = bench_now_us();
			rtt_us += t - tp;
			polls++;
			if (w == sizes[s].w && h == sizes[s].h && frames > before)
				break;
			if (t > deadline) {
				fprintf(stderr, "bench-display: no %ux%u frame after 10 s\n",
					sizes[s].w, sizes[s].h);
				goto out;
			}
			if (interval_us)
				sleep_us(interval_us);
			period_us += bench_now_us() - tp;
			periods++;
		}
		all[n] = (t - t0) / 1e3;
		per[s][nper[s]++] = all[n];
	}
	printf("polling while waiting: %ld display-info round trips of %.1f us (mean); one poll "
	       "every %.1f us (the granularity)\n",
	       polls, rtt_us / (double)polls, periods ? period_us / (double)periods : 0.0);
	for (size_t s = 0; s < NSIZES; s++) {
		char what[64];

		if (!nper[s])
			continue;
		snprintf(what, sizeof(what), "display-set -> frame %ux%u", sizes[s].w, sizes[s].h);
		bench_report(what, "ms", per[s], nper[s]);
	}
	bench_report("display-set -> frame, all sizes", "ms", all, switches);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "bench-display: control request failed: %s", reply);
out:
	if (sock >= 0)
		request("{\"cmd\":\"quit\"}\n");
	for (int t = 0; t < 100 && waitpid(pid, &status, WNOHANG) == 0; t++)
		sleep_us(50000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	unlink(path);
	rmdir(dir);
	return rc;
}
