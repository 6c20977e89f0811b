/* builtin-run.c: `hyperdesk run`, the default job: starts a display broker (its own process,
 * so the VM outlives it) and one VM with the built-in guest attached to it, prints how to
 * connect, and stops both on Ctrl-C. Not the broker or the VMM themselves. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "hd-common.h"

#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS	 5000
#define HEADS_FOR_HEADS_POLICY 4

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk run [OPTIONS]\n\n"
		"Starts a display broker and boots the built-in demo guest (or --guest) attached\n"
		"to it, or carries on from a snapshot (--restore FILE), prints how to connect\n"
		"with a VNC, RDP or web client, and shows the guest's serial console until\n"
		"Ctrl-C, which stops both. The broker listens on loopback unless told\n"
		"otherwise. Exit statuses are those of 'hyperdesk vmm'.\n\n"
		"%s\n%s",
		broker_options_usage, vm_options_usage);
}

/* Waits for the broker's "ready PORT [web WEBPORT] [rdp RDPPORT]" line. Returns the port or
 * -1. */
static int wait_ready(int fd, unsigned *web_port, unsigned *rdp_port)
{
	char line[64];
	size_t len = 0;
	uint64_t deadline = hd_now_ns() + (uint64_t)READY_TIMEOUT_MS * 1000000;
	while (len < sizeof(line) - 1) {
		uint64_t now = hd_now_ns();
		if (now >= deadline)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			continue;
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		line[len] = 0;
		unsigned port;
		if (strchr(line, '\n') && sscanf(line, "ready %u", &port) == 1) {
			if (sscanf(line, "ready %*u web %u", web_port) != 1)
				*web_port = 0;
			const char *r = strstr(line, " rdp ");
			if (!r || sscanf(r, " rdp %u", rdp_port) != 1)
				*rdp_port = 0;
			return (int)port;
		}
	}
	return -1;
}

static void stop_broker(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, WNOHANG) == pid)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < STOP_TIMEOUT_MS / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {VM_LONG_OPTIONS, BROKER_LONG_OPTIONS,
						 {NULL, 0, NULL, 0}};
	struct vm_options o;
	struct broker_options bo;
	bool heads_given = false;
	int opt;

	vm_options_defaults(&o);
	broker_options_defaults(&bo);
	broker_options_default_rdp(&bo);
	o.verbose = 1; /* an interactive default: say what is happening */
	optind = 1;
	while ((opt = getopt_long(argc, argv, VM_OPTIONS_SHORT, longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		heads_given |= opt == OPT_HEADS;
		int r = broker_options_parse(&bo, "run", opt, optarg);
		if (r > 0)
			r = vm_options_parse(&o, "run", opt, optarg);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r > 0) {
			fprintf(stderr, "try 'hyperdesk run --help'\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hyperdesk run: unexpected argument '%s'; try 'hyperdesk run --help'\n",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (broker_options_check(&bo, "run") < 0)
		return CLI_EXIT_USAGE;
	if (vm_options_check(&o, "run") < 0)
		return HV_EXIT_FAILURE;
	if (bo.policy == BROKER_POLICY_HEADS && !heads_given && !o.restore)
		o.heads = HEADS_FOR_HEADS_POLICY;

	/* The display channel lives in a private directory unless --display names it. */
	char dir[256] = "", channel[300];
	if (o.display) {
		snprintf(channel, sizeof(channel), "%s", o.display);
	} else {
		const char *base = getenv("XDG_RUNTIME_DIR");
		snprintf(dir, sizeof(dir), "%s/hyperdesk-XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(dir)) {
			fprintf(stderr, "hyperdesk run: cannot create a directory for the display "
					"channel: %s\n",
				strerror(errno));
			return HV_EXIT_FAILURE;
		}
		snprintf(channel, sizeof(channel), "%s/display.sock", dir);
	}

	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		fprintf(stderr, "hyperdesk run: pipe: %s\n", strerror(errno));
		if (dir[0])
			rmdir(dir);
		return HV_EXIT_FAILURE;
	}
	fflush(NULL);
	pid_t broker = fork();
	if (broker == 0) {
		close(ready[0]);
		hd_log_set_level(o.verbose < 0 ? HD_LOG_ERROR : o.verbose <= 1 ? HD_LOG_WARN
						 : o.verbose == 2 ? HD_LOG_INFO : HD_LOG_DEBUG);
		struct broker_config cfg;
		broker_options_config(&bo, &cfg);
		cfg.channel_path = channel;
		cfg.ready_fd = ready[1];
		_exit(broker_run(&cfg));
	}
	close(ready[1]);
	if (broker < 0) {
		fprintf(stderr, "hyperdesk run: cannot start the broker: %s\n", strerror(errno));
		close(ready[0]);
		if (dir[0])
			rmdir(dir);
		return HV_EXIT_FAILURE;
	}
	unsigned web_port = 0;
	unsigned rdp_port = 0;
	int port = wait_ready(ready[0], &web_port, &rdp_port);
	close(ready[0]);
	if (port < 0) {
		fprintf(stderr, "hyperdesk run: the broker did not start\n");
		stop_broker(broker);
		if (dir[0])
			rmdir(dir);
		return HV_EXIT_FAILURE;
	}
	if (o.verbose > 0) {
		const char *h = bo.vnc_host;
		bool v6 = strchr(h, ':') != NULL;
		if (o.restore)
			fprintf(stderr, "hyperdesk: restoring %s; press Ctrl-C to stop\n",
				o.restore);
		else
			fprintf(stderr, "hyperdesk: booting the %s guest; press Ctrl-C to stop\n",
				o.guest);
		fprintf(stderr,
			"hyperdesk: VNC at %s%s%s:%d (vncviewer %s%s%s::%d; policy %s)\n"
			"hyperdesk: noVNC: connect it to ws://%s%s%s:%d/ (websockets on the VNC port)\n"
			"hyperdesk: display channel %s%s%s\n",
			v6 ? "[" : "", h, v6 ? "]" : "", port, v6 ? "[" : "", h,
			v6 ? "]" : "", port, broker_policy_name(bo.policy), v6 ? "[" : "", h,
			v6 ? "]" : "", port, channel, o.control ? ", control socket " : "",
			o.control ? o.control : "");
		if (bo.has_web) {
			const char *w = bo.web_host;
			bool w6 = strchr(w, ':') != NULL;
			fprintf(stderr, "hyperdesk: web client at http://%s%s%s:%u/ (noVNC)\n",
				w6 ? "[" : "", w, w6 ? "]" : "", web_port);
		}
		if (rdp_port) {
			bool r6 = strchr(bo.rdp_host, ':') != NULL;
			fprintf(stderr, "hyperdesk: RDP at %s%s%s:%u (xfreerdp /v:%s%s%s:%u)\n",
				r6 ? "[" : "", bo.rdp_host, r6 ? "]" : "", rdp_port, r6 ? "[" : "",
				bo.rdp_host, r6 ? "]" : "", rdp_port);
		}
	}
	o.display = channel;
	int status = vm_options_run(&o, "run");
	stop_broker(broker);
	if (dir[0]) {
		unlink(channel);
		rmdir(dir);
	}
	return status;
}
