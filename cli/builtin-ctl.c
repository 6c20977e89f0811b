/* builtin-ctl.c: `hyperdesk ctl SOCKET COMMAND [ARGS...]`: sends one request to a VMM's control
 * socket, prints the result as JSON and exits non-zero on an error reply. Not a shell. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "hd-common.h"

#define CTL_DEFAULT_TIMEOUT_S 30
#define CTL_MAX_REPLY         (4u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk ctl [--timeout SECONDS] SOCKET COMMAND [ARGS...]\n\n"
		"Sends COMMAND with ARGS to the control socket of a running VM ('vmm --control\n"
		"SOCKET') and prints the result as one line of JSON. ARGS that are integers are\n"
		"sent as numbers, the rest as strings. 'help' lists the VM's commands.\n"
		"Exits 0 on success, 1 on an error reply or if the VM cannot be reached, 2 on a\n"
		"usage error.\n");
}

/* Arguments that look like integers travel as JSON numbers. */
static bool is_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s || strlen(s) > 18)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The shortest of %.15g..%.17g that reads back as the same double: 1.9, not
 * 1.8999999999999999. */
static void print_number(struct hd_buf *out, double d)
{
	char text[32];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(text, sizeof(text), "%.*g", prec, d);
		if (strtod(text, NULL) == d)
			break;
	}
	hd_buf_puts(out, text);
}

static void print_json(struct hd_buf *out, const struct hd_json *v)
{
	switch (v->type) {
	case HD_JSON_NULL:
		hd_buf_puts(out, "null");
		break;
	case HD_JSON_BOOL:
		hd_buf_puts(out, v->boolean ? "true" : "false");
		break;
	case HD_JSON_NUMBER:
		if (v->number == floor(v->number) && fabs(v->number) < 9e15)
			hd_buf_printf(out, "%lld", (long long)v->number);
		else
			print_number(out, v->number);
		break;
	case HD_JSON_STRING:
		hd_json_write_string(out, v->string);
		break;
	case HD_JSON_ARRAY:
		hd_buf_puts(out, "[");
		for (size_t i = 0; i < v->count; i++) {
			hd_buf_puts(out, i ? "," : "");
			print_json(out, v->items[i]);
		}
		hd_buf_puts(out, "]");
		break;
	case HD_JSON_OBJECT:
		hd_buf_puts(out, "{");
		for (size_t i = 0; i < v->count; i++) {
			hd_buf_puts(out, i ? "," : "");
			hd_json_write_string(out, v->keys[i]);
			hd_buf_puts(out, ":");
			print_json(out, v->items[i]);
		}
		hd_buf_puts(out, "}");
		break;
	}
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hyperdesk ctl: socket path '%s' is too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "hyperdesk ctl: cannot reach a VM at %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads until the first newline or until the deadline. */
static int read_reply(int fd, int timeout_s, struct hd_buf *reply)
{
	uint64_t deadline = hd_now_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (;;) {
		if (reply->len && memchr(reply->data, '\n', reply->len))
			return 0;
		uint64_t now = hd_now_ns();
		if (now >= deadline || reply->len > CTL_MAX_REPLY)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		char buf[4096];
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		if (got == 0)
			return -ECONNRESET;
		if (got < 0 && errno != EINTR)
			return -errno;
		if (got > 0)
			hd_buf_append(reply, buf, (size_t)got);
	}
}

int cmd_ctl(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int timeout_s = CTL_DEFAULT_TIMEOUT_S, opt;

	optind = 1;
	/* '+': stop at the first non-option so command arguments may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 3600) {
				fprintf(stderr, "hyperdesk ctl: --timeout: '%s' is not a number of "
						"seconds from 1 to 3600\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			timeout_s = (int)v;
			break;
		}
		default:
			fprintf(stderr, "try 'hyperdesk ctl --help'\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "hyperdesk ctl: need a SOCKET and a COMMAND; try 'hyperdesk ctl "
				"--help'\n");
		return CLI_EXIT_USAGE;
	}
	const char *path = argv[optind];

	struct hd_buf req, reply, out;
	hd_buf_init(&req);
	hd_buf_init(&reply);
	hd_buf_init(&out);
	hd_buf_puts(&req, "{\"cmd\":");
	hd_json_write_string(&req, argv[optind + 1]);
	hd_buf_puts(&req, ",\"args\":[");
	for (int i = optind + 2; i < argc; i++) {
		hd_buf_puts(&req, i > optind + 2 ? "," : "");
		if (is_integer(argv[i]))
			hd_buf_puts(&req, argv[i]);
		else
			hd_json_write_string(&req, argv[i]);
	}
	hd_buf_puts(&req, "]}\n");

	int status = 1;
	struct hd_json *v = NULL;
	int fd = ctl_connect(path);
	if (fd < 0)
		goto out;
	if (send(fd, req.data, req.len, MSG_NOSIGNAL) != (ssize_t)req.len) {
		fprintf(stderr, "hyperdesk ctl: cannot send to %s: %s\n", path, strerror(errno));
		goto out;
	}
	int r = read_reply(fd, timeout_s, &reply);
	if (r < 0) {
		fprintf(stderr, "hyperdesk ctl: no reply from %s: %s\n", path,
			r == -ETIMEDOUT ? "timed out" : strerror(-r));
		goto out;
	}
	char perr[160];
	size_t linelen = (size_t)((char *)memchr(reply.data, '\n', reply.len) - reply.data);
	if (hd_json_parse(reply.data, linelen, &v, perr, sizeof(perr)) < 0 ||
	    v->type != HD_JSON_OBJECT || !hd_json_get(v, "ok")) {
		fprintf(stderr, "hyperdesk ctl: malformed reply from %s\n", path);
		goto out;
	}
	const struct hd_json *ok = hd_json_get(v, "ok");
	if (ok->type == HD_JSON_BOOL && ok->boolean) {
		const struct hd_json *res = hd_json_get(v, "result");
		if (res)
			print_json(&out, res);
		else
			hd_buf_puts(&out, "null");
		printf("%s\n", out.data);
		status = 0;
	} else {
		const char *e = hd_json_get_string(v, "error");
		fprintf(stderr, "hyperdesk ctl: error: %s\n", e ? e : "(no message)");
	}
out:
	if (fd >= 0)
		close(fd);
	hd_json_free(v);
	hd_buf_free(&req);
	hd_buf_free(&reply);
	hd_buf_free(&out);
	return status;
}
