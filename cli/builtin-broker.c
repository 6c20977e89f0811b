/* builtin-broker.c: `hyperdesk broker`: runs the display broker in the foreground (VNC/RDP for the
 * VMs that attach to its display channel) until SIGINT/SIGTERM; also the broker options that
 * `run` shares. Not the broker itself (display-broker/). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "cli.h"
#include "hd-common.h"

#define MAX_PASSWORD 64

const char broker_options_usage[] =
	"Broker options:\n"
	"      --vnc ADDR:PORT       listen for VNC clients (and noVNC over websockets) here\n"
	"                            (default 127.0.0.1:5900; port 0 picks a free one)\n"
	"      --policy follow|heads|fixed\n"
	"                            follow (default): a head takes the shape of the latest\n"
	"                            session; heads: every session gets a head of its own;\n"
	"                            fixed: the display is never reconfigured\n"
	"      --password-file FILE  a VNC password (its first line); required for any\n"
	"                            address that is not loopback\n"
	"      --dpi N               tell the guest the sessions' displays have N dots per\n"
	"                            inch (VNC carries none; default: the VM's own, 96)\n"
	"      --web ADDR:PORT       also serve the noVNC web client over HTTP here (port 0\n"
	"                            picks a free one); open http://ADDR:PORT/ in a browser:\n"
	"                            it connects to the VNC port over websockets and the\n"
	"                            display takes the window's size. Loopback unless a\n"
	"                            --password-file is given\n"
	"      --novnc DIR           the noVNC client for --web (the @novnc/novnc npm package\n"
	"                            that scripts/setup installs; default: found beside the\n"
	"                            binary, in ../share/hyperdesk/novnc or, in a build tree,\n"
	"                            ../../web/node_modules/@novnc/novnc)\n"
	"      --rdp ADDR:PORT|off   serve RDP clients here; each client's monitors (one head\n"
	"                            each), size and scale become its session's shape, and\n"
	"                            its window resizes follow (Display Control) (broker: off\n"
	"                            unless given; run: 127.0.0.1:3389, skipped with a warning\n"
	"                            if that port is busy). Clients with the graphics pipeline\n"
	"                            get H.264 (AVC420, libx264 through FFmpeg, loaded at the\n"
	"                            first such client) or Planar; others raw SurfaceBits.\n"
	"                            Without --rdp-users: TLS, loopback only\n"
	"      --rdp-users FILE      RDP logons (NLA required): one 'user:password' or\n"
	"                            'user::NTHASH' (32 hex digits) a line, '#' comments; the\n"
	"                            file must be private (chmod 600). Required for an --rdp\n"
	"                            address that is not loopback\n"
	"      --state-dir DIR       where the broker keeps its generated TLS certificate\n"
	"                            (default $XDG_STATE_HOME/hyperdesk, or\n"
	"                            ~/.local/state/hyperdesk); made at the first RDP client\n"
	"      --tls-cert FILE, --tls-key FILE\n"
	"                            PEM certificate and key for RDP instead of the generated\n"
	"                            one\n";

void broker_options_defaults(struct broker_options *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->vnc_host, sizeof(o->vnc_host), "127.0.0.1");
	o->vnc_port = 5900;
	o->policy = BROKER_POLICY_FOLLOW;
	snprintf(o->rdp_host, sizeof(o->rdp_host), "127.0.0.1");
	o->rdp_port = 3389;
}

void broker_options_free(struct broker_options *o)
{
	broker_users_free(o->rdp_users);
	o->rdp_users = NULL;
}

void broker_options_default_rdp(struct broker_options *o)
{
	o->has_rdp = true;
	o->rdp_optional = true;
}

int cli_parse_hostport(const char *cmd, const char *opt, const char *s, char *host,
		       size_t hostlen, unsigned *port)
{
	const char *colon;
	size_t hl;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			goto bad;
		hl = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		goto bad;
	memcpy(host, s, hl);
	host[hl] = 0;
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p > 65535)
		goto bad;
	*port = (unsigned)p;
	return 0;
bad:
	fprintf(stderr, "hyperdesk %s: %s: '%s' is not ADDR:PORT (IPv6 as [ADDR]:PORT)\n", cmd,
		opt, s);
	return -1;
}

static int read_password(const char *cmd, const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hyperdesk %s: cannot open password file '%s': %s\n", cmd, path,
			strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	if (!out[0]) {
		fprintf(stderr, "hyperdesk %s: password file '%s' is empty\n", cmd, path);
		return -1;
	}
	return 0;
}

int broker_options_parse(struct broker_options *o, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case OPT_VNC:
		return cli_parse_hostport(cmd, "--vnc", arg, o->vnc_host, sizeof(o->vnc_host),
					  &o->vnc_port);
	case OPT_POLICY:
		if (broker_policy_parse(arg, &o->policy) < 0) {
			fprintf(stderr, "hyperdesk %s: --policy: '%s' is not follow, heads or fixed\n",
				cmd, arg);
			return -1;
		}
		return 0;
	case OPT_PASSWORD_FILE:
		if (read_password(cmd, arg, o->password, sizeof(o->password)) < 0)
			return -1;
		o->has_password = true;
		return 0;
	case OPT_DPI: {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);
		if (*end || end == arg || v < 24 || v > 1200) {
			fprintf(stderr, "hyperdesk %s: --dpi: '%s' is not a number from 24 to 1200\n",
				cmd, arg);
			return -1;
		}
		o->dpi = (unsigned)v;
		return 0;
	}
	case OPT_WEB:
		if (cli_parse_hostport(cmd, "--web", arg, o->web_host, sizeof(o->web_host),
				       &o->web_port) < 0)
			return -1;
		o->has_web = true;
		return 0;
	case OPT_RDP:
		o->rdp_optional = false;
		if (!strcmp(arg, "off")) {
			o->has_rdp = false;
			return 0;
		}
		if (cli_parse_hostport(cmd, "--rdp", arg, o->rdp_host, sizeof(o->rdp_host),
				       &o->rdp_port) < 0)
			return -1;
		o->has_rdp = true;
		return 0;
	case OPT_STATE_DIR:
		if (strlen(arg) >= sizeof(o->state_dir) - 64) {
			fprintf(stderr, "hyperdesk %s: --state-dir: the path is too long\n", cmd);
			return -1;
		}
		snprintf(o->state_dir, sizeof(o->state_dir), "%s", arg);
		return 0;
	case OPT_TLS_CERT:
		o->tls_cert = arg;
		return 0;
	case OPT_TLS_KEY:
		o->tls_key = arg;
		return 0;
	case OPT_RDP_USERS: {
		char err[300];
		broker_users_free(o->rdp_users);
		o->rdp_users = NULL;
		if (broker_users_load(arg, &o->rdp_users, err, sizeof(err)) < 0) {
			fprintf(stderr, "hyperdesk %s: --rdp-users %s: %s\n", cmd, arg, err);
			return -1;
		}
		o->rdp_users_path = arg;
		return 0;
	}
	case OPT_NOVNC:
		if (strlen(arg) >= sizeof(o->novnc)) {
			fprintf(stderr, "hyperdesk %s: --novnc: the path is too long\n", cmd);
			return -1;
		}
		snprintf(o->novnc, sizeof(o->novnc), "%s", arg);
		return 0;
	}
	return 1;
}

/* The default noVNC folder: beside the binary (installed), or in the source tree of a build
 * tree's binary (BUILD/cli/hyperdesk). "" if neither holds it. */
static void find_novnc(char *out, size_t cap)
{
	static const char *const rel[] = {"/../share/hyperdesk/novnc",
					  "/../../web/node_modules/@novnc/novnc"};
	char exe[1024], err[600];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	out[0] = 0;
	if (n <= 0)
		return;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	for (size_t i = 0; i < HD_ARRAY_SIZE(rel); i++) {
		char dir[2100];
		snprintf(dir, sizeof(dir), "%s%s", exe, rel[i]);
		char *real = realpath(dir, NULL);
		if (real && strlen(real) < cap && broker_web_check(real, err, sizeof(err)) == 0) {
			snprintf(out, cap, "%s", real);
			free(real);
			return;
		}
		free(real);
	}
}

/* RDP's checks, and the default state folder. */
static int rdp_options_check(struct broker_options *o, const char *cmd)
{
	if (!broker_rdp_available()) {
		if (o->rdp_optional) {
			o->has_rdp = false; /* run's default: no RDP in this build, say nothing */
			return 0;
		}
		fprintf(stderr, "hyperdesk %s: --rdp: this build has no RDP (FreeRDP 2 was not "
				"found when it was built)\n",
			cmd);
		return -1;
	}
	if (!o->rdp_users && !broker_addr_is_loopback(o->rdp_host)) {
		fprintf(stderr, "hyperdesk %s: --rdp %s is not a loopback address: RDP elsewhere "
				"needs NLA logons (--rdp-users FILE)\n",
			cmd, o->rdp_host);
		return -1;
	}
	if (!o->tls_cert != !o->tls_key) {
		fprintf(stderr, "hyperdesk %s: --tls-cert and --tls-key go together\n", cmd);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		const char *f = i ? o->tls_key : o->tls_cert;
		if (f && access(f, R_OK) < 0) {
			fprintf(stderr, "hyperdesk %s: %s '%s': %s\n", cmd,
				i ? "--tls-key" : "--tls-cert", f, strerror(errno));
			return -1;
		}
	}
	if (!o->state_dir[0]) {
		const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
		if (xdg && xdg[0] == '/' && strlen(xdg) < sizeof(o->state_dir) - 64)
			snprintf(o->state_dir, sizeof(o->state_dir), "%s/hyperdesk", xdg);
		else if (home && home[0] == '/' && strlen(home) < sizeof(o->state_dir) - 64)
			snprintf(o->state_dir, sizeof(o->state_dir), "%s/.local/state/hyperdesk",
				 home);
		/* else: the certificate lives as long as the broker */
	}
	return 0;
}

/* Refuses what the broker would refuse, before anything starts. */
int broker_options_check(struct broker_options *o, const char *cmd)
{
	if (!o->has_password && !broker_addr_is_loopback(o->vnc_host)) {
		fprintf(stderr, "hyperdesk %s: --vnc %s is not a loopback address: a VNC password "
				"(--password-file) is required\n",
			cmd, o->vnc_host);
		return -1;
	}
	if (o->has_rdp && rdp_options_check(o, cmd) < 0)
		return -1;
	if (o->rdp_users && !o->has_rdp) {
		fprintf(stderr, "hyperdesk %s: --rdp-users needs RDP (--rdp ADDR:PORT)\n", cmd);
		return -1;
	}
	if (!o->has_web)
		return 0;
	if (!o->has_password && !broker_addr_is_loopback(o->web_host)) {
		fprintf(stderr, "hyperdesk %s: --web %s is not a loopback address: a VNC password "
				"(--password-file) is required\n",
			cmd, o->web_host);
		return -1;
	}
	char err[600];
	if (o->novnc[0]) {
		if (broker_web_check(o->novnc, err, sizeof(err)) < 0) {
			fprintf(stderr, "hyperdesk %s: --web: %s\n", cmd, err);
			return -1;
		}
		return 0;
	}
	find_novnc(o->novnc, sizeof(o->novnc));
	if (!o->novnc[0]) {
		fprintf(stderr, "hyperdesk %s: --web: the noVNC client is not installed (looked "
				"beside the binary in ../share/hyperdesk/novnc and "
				"../../web/node_modules/@novnc/novnc): run scripts/setup, or give "
				"--novnc DIR (the @novnc/novnc package)\n",
			cmd);
		return -1;
	}
	return 0;
}

void broker_options_config(const struct broker_options *o, struct broker_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vnc_addr = o->vnc_host;
	cfg->vnc_port = o->vnc_port;
	cfg->policy = o->policy;
	cfg->password = o->has_password ? o->password : NULL;
	cfg->dpi = o->dpi;
	cfg->ready_fd = -1;
	cfg->web_addr = o->has_web ? o->web_host : NULL;
	cfg->web_port = o->web_port;
	cfg->web_root = o->novnc;
	cfg->rdp_addr = o->has_rdp ? o->rdp_host : NULL;
	cfg->rdp_port = o->rdp_port;
	cfg->rdp_optional = o->rdp_optional;
	cfg->state_dir = o->state_dir[0] ? o->state_dir : NULL;
	cfg->tls_cert = o->tls_cert;
	cfg->tls_key = o->tls_key;
	cfg->rdp_users = o->rdp_users;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk broker --channel PATH [OPTIONS]\n\n"
		"Serves the displays of the VMs that attach to the display channel at PATH\n"
		"('hyperdesk vmm --display PATH') to VNC clients until SIGINT/SIGTERM. Every\n"
		"session asks for its own display shape (SetDesktopSize) and the VM follows\n"
		"it as --policy says. Once listening it prints 'ready PORT' on stdout ('ready\n"
		"PORT web WEBPORT' with --web, ' rdp RDPPORT' added with --rdp). Exits 0 when stopped, 1 if it cannot start, 2 on\n"
		"a usage error.\n\n"
		"      --channel PATH        the display channel's unix socket\n"
		"%s"
		"  -v, --verbose             log more (repeat for debug output)\n"
		"  -q, --quiet               log errors only\n",
		broker_options_usage);
}

int cmd_broker(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"channel", required_argument, NULL, OPT_CHANNEL},
		BROKER_LONG_OPTIONS,
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	/* Freed on every return (the RDP users file it may have read). */
	struct broker_options o __attribute__((cleanup(broker_options_free)));
	const char *channel = NULL;
	int verbose = 0, opt;

	broker_options_defaults(&o);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == 'v') {
			verbose++;
			continue;
		}
		if (opt == 'q') {
			verbose = -1;
			continue;
		}
		if (opt == OPT_CHANNEL) {
			channel = optarg;
			continue;
		}
		int r = broker_options_parse(&o, "broker", opt, optarg);
		if (r != 0) {
			if (r > 0)
				fprintf(stderr, "try 'hyperdesk broker --help'\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hyperdesk broker: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (!channel) {
		fprintf(stderr, "hyperdesk broker: --channel PATH is required\n");
		return CLI_EXIT_USAGE;
	}
	if (broker_options_check(&o, "broker") < 0)
		return CLI_EXIT_USAGE;
	hd_log_set_level(verbose < 0 ? HD_LOG_ERROR : verbose == 0 ? HD_LOG_WARN
				    : verbose == 1 ? HD_LOG_INFO : HD_LOG_DEBUG);
	struct broker_config cfg;
	broker_options_config(&o, &cfg);
	cfg.channel_path = channel;
	cfg.ready_fd = verbose >= 0 ? STDOUT_FILENO : -1;
	return broker_run(&cfg);
}
