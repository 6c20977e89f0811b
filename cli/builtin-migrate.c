/* builtin-migrate.c: `hyperdesk migrate SOCKET tcp:HOST:PORT`: asks the VMM at SOCKET to move
 * its VM to a `vmm --incoming` there, draws the progress and prints the summary. Not the
 * migration itself (hypervisor-core/migrate.c); this only drives the control socket. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hd-common.h"

#define POLL_MS           100
#define PLAIN_EVERY_MS    500
#define DEFAULT_TIMEOUT_S 600
#define REPLY_TIMEOUT_MS  10000
#define MAX_REPLY         (1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk migrate [--max-rate MB/S] [--timeout SECONDS] SOCKET "
		"tcp:HOST:PORT\n\n"
		"Moves the running VM whose control socket is SOCKET ('vmm --control SOCKET') to\n"
		"the VMM waiting at HOST:PORT ('hyperdesk vmm --incoming tcp:ADDR:PORT'), live:\n"
		"RAM is copied while the guest runs, then the guest pauses for the last pages and\n"
		"its device state, and resumes over there. The source VMM then exits 0.\n"
		"Progress is redrawn on one line on a terminal, printed as lines otherwise; a\n"
		"summary follows (time, downtime, bytes, passes, poisoned pages).\n\n"
		"The stream is neither authenticated nor encrypted: use it on loopback or a\n"
		"network you trust.\n\n"
		"Exits 0 when the VM runs at the destination, 1 when the migration failed (the VM\n"
		"then goes on running at the source, as before), 2 on a usage error.\n\n"
		"Options:\n"
		"  -r, --max-rate MB/S    copy at most this many MB (10^6 bytes) a second while\n"
		"                         the guest runs (default: no limit); the last pages,\n"
		"                         sent paused, go at full speed\n"
		"  -t, --timeout SECONDS  give up waiting after this long (default %d); the\n"
		"                         migration itself goes on\n",
		DEFAULT_TIMEOUT_S);
}

struct conn {
	int fd;
	struct hd_buf in;
};

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	hd_buf_init(&c->in);
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hyperdesk migrate: socket path '%s' is too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "hyperdesk migrate: cannot reach a VM at %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Sends one request and parses its reply line; NULL (after a message) when the VMM is gone. */
static struct hd_json *request(struct conn *c, const char *cmd, const char *arg,
			       const char *number)
{
	struct hd_buf req;
	hd_buf_init(&req);
	hd_buf_puts(&req, "{\"cmd\":");
	hd_json_write_string(&req, cmd);
	hd_buf_puts(&req, ",\"args\":[");
	if (arg)
		hd_json_write_string(&req, arg);
	if (arg && number)
		hd_buf_printf(&req, ",%s", number); /* checked by the caller: a plain number */
	hd_buf_puts(&req, "]}\n");
	ssize_t n = send(c->fd, req.data, req.len, MSG_NOSIGNAL);
	bool sent = n == (ssize_t)req.len;
	hd_buf_free(&req);
	if (!sent)
		return NULL;
	uint64_t deadline = hd_now_ns() + REPLY_TIMEOUT_MS * 1000000ull;
	char *nl;
	while (!(c->in.len && (nl = memchr(c->in.data, '\n', c->in.len)))) {
		uint64_t now = hd_now_ns();
		if (now >= deadline || c->in.len > MAX_REPLY)
			return NULL;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int k = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
		if (k < 0 && errno != EINTR)
			return NULL;
		if (k <= 0)
			continue;
		char buf[4096];
		ssize_t got = recv(c->fd, buf, sizeof(buf), 0);
		if (got == 0 || (got < 0 && errno != EINTR))
			return NULL;
		if (got > 0)
			hd_buf_append(&c->in, buf, (size_t)got);
	}
	size_t linelen = (size_t)(nl - c->in.data);
	struct hd_json *v = NULL;
	char perr[160];
	if (hd_json_parse(c->in.data, linelen, &v, perr, sizeof(perr)) < 0)
		v = NULL;
	memmove(c->in.data, nl + 1, c->in.len - linelen - 1);
	c->in.len -= linelen + 1;
	return v;
}

static double num(const struct hd_json *o, const char *key)
{
	const struct hd_json *v = hd_json_get(o, key);
	return v && v->type == HD_JSON_NUMBER ? v->number : 0;
}

static void progress(const struct hd_json *st, bool tty)
{
	double ram = num(st, "ram_bytes"), sent = num(st, "bytes"), left = num(st, "remaining_bytes");
	const char *phase = hd_json_get_string(st, "phase");
	char bar[21];
	/* Of what is known to be sent: the first pass's pages, then each pass's remainder. */
	double done = num(st, "pages_sent") * 4096.0;
	double frac = done + left > 0 ? done / (done + left) : 0;
	(void)ram;
	for (int i = 0; i < 20; i++)
		bar[i] = i < (int)(frac * 20 + 0.5) ? '#' : '.';
	bar[20] = '\0';
	printf("%s[%s] %.1f MiB sent, %.1f MiB left, %.1f MB/s, pass %d, %s%s", tty ? "\r" : "",
	       bar, sent / 1048576.0, left / 1048576.0, num(st, "rate_mbps"),
	       (int)num(st, "iteration"), phase ? phase : "", tty ? "\033[K" : "\n");
	fflush(stdout);
}

static void summary(const struct hd_json *st)
{
	printf("migrated to %s\n", hd_json_get_string(st, "to") ? hd_json_get_string(st, "to") : "?");
	printf("  total time     %.1f ms\n", num(st, "total_ms"));
	printf("  downtime       %.2f ms (pause to the destination running)\n",
	       num(st, "downtime_ms"));
	printf("  bytes sent     %.0f (%.1f MiB) of %.1f MiB RAM\n", num(st, "bytes"),
	       num(st, "bytes") / 1048576.0, num(st, "ram_bytes") / 1048576.0);
	printf("  passes         %d (and the final one, paused)\n", (int)num(st, "iteration"));
	printf("  pages per pass");
	const struct hd_json *a = hd_json_get(st, "pages_per_iteration");
	for (size_t i = 0; a && a->type == HD_JSON_ARRAY && i < a->count; i++)
		printf(" %.0f", a->items[i]->type == HD_JSON_NUMBER ? a->items[i]->number : 0);
	printf("\n  poisoned pages %d\n", (int)num(st, "poisoned"));
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"max-rate", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long timeout_s = DEFAULT_TIMEOUT_S;
	const char *max_rate = NULL;
	char rate_text[32];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "t:r:h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == 'r') {
			char *end;
			double v = strtod(optarg, &end);
			if (*end || end == optarg || !(v >= 0.001 && v <= 1e6)) {
				fprintf(stderr, "hyperdesk migrate: --max-rate: '%s' is not a number of "
						"MB/s from 0.001 to 1000000\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			snprintf(rate_text, sizeof(rate_text), "%.6g", v); /* valid JSON */
			max_rate = rate_text;
			continue;
		}
		if (opt == 't') {
			char *end;
			timeout_s = strtol(optarg, &end, 10);
			if (*end || timeout_s < 1 || timeout_s > 86400) {
				fprintf(stderr, "hyperdesk migrate: --timeout: '%s' is not a number of "
						"seconds from 1 to 86400\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			continue;
		}
		fprintf(stderr, "try 'hyperdesk migrate --help'\n");
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "hyperdesk migrate: need a SOCKET and tcp:HOST:PORT; try 'hyperdesk "
				"migrate --help'\n");
		return CLI_EXIT_USAGE;
	}
	const char *path = argv[optind], *uri = argv[optind + 1];
	char host[256], port[16];
	if (hv_migrate_parse_uri(uri, host, sizeof(host), port, sizeof(port)) < 0) {
		fprintf(stderr, "hyperdesk migrate: '%s' is not tcp:HOST:PORT\n", uri);
		return CLI_EXIT_USAGE;
	}

	struct conn c;
	int status = 1;
	bool tty = isatty(STDOUT_FILENO), drawn = false;
	struct hd_json *v = NULL;
	if (conn_open(&c, path) < 0)
		goto out;
	v = request(&c, "migrate", uri, max_rate);
	const struct hd_json *ok = v ? hd_json_get(v, "ok") : NULL;
	if (!ok || ok->type != HD_JSON_BOOL || !ok->boolean) {
		const char *e = v ? hd_json_get_string(v, "error") : NULL;
		fprintf(stderr, "hyperdesk migrate: %s\n", e ? e : "no answer from the VM");
		goto out;
	}
	uint64_t deadline = hd_now_ns() + (uint64_t)timeout_s * 1000000000ull, last_line = 0;
	for (;;) {
		hd_json_free(v);
		v = request(&c, "migrate-status", NULL, NULL);
		const struct hd_json *st = v ? hd_json_get(v, "result") : NULL;
		const char *state = st ? hd_json_get_string(st, "state") : NULL;
		if (!state) {
			fprintf(stderr, "%shyperdesk migrate: the VM went away without saying how the "
					"migration ended\n",
				drawn ? "\n" : "");
			goto out;
		}
		if (!strcmp(state, "completed") || !strcmp(state, "failed")) {
			if (drawn && tty)
				printf("\n");
			if (!strcmp(state, "completed")) {
				summary(st);
				status = 0;
			} else {
				const char *e = hd_json_get_string(st, "error");
				fprintf(stderr, "hyperdesk migrate: migration failed: %s; the VM goes on "
						"at the source\n",
					e ? e : "(no reason given)");
			}
			goto out;
		}
		uint64_t now = hd_now_ns();
		if (tty || now - last_line >= PLAIN_EVERY_MS * 1000000ull) {
			progress(st, tty);
			drawn = true;
			last_line = now;
		}
		if (now >= deadline) {
			fprintf(stderr, "%shyperdesk migrate: still running after %ld s; stopped "
					"watching (see 'ctl %s migrate-status')\n",
				tty ? "\n" : "", timeout_s, path);
			goto out;
		}
		struct timespec ts = {.tv_nsec = POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
out:
	hd_json_free(v);
	if (c.fd >= 0)
		close(c.fd);
	hd_buf_free(&c.in);
	return status;
}
