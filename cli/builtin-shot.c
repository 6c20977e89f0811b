/* builtin-shot.c: `hyperdesk shot vnc://HOST:PORT --size WxH -o FILE.png`: captures what a VNC
 * session at that shape shows, for CI and benchmarks. Not a viewer (clients/shot.c does the
 * work). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "cli.h"
#include "hd-common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk shot vnc://HOST:PORT [--size WxH] -o FILE.png [OPTIONS]\n\n"
		"Connects to a VNC server, asks for a display of WxH (SetDesktopSize), waits\n"
		"until the frame at that size has been still for --settle ms, and saves it as\n"
		"a PNG. Without --size it keeps the server's size. Exits 0 when saved, 1 when\n"
		"not (unreachable, refused, no stable frame in time), 2 on a usage error.\n\n"
		"  -s, --size WxH            the display shape to ask for (16..8192 each way)\n"
		"  -o, --output FILE.png     where to save the frame\n"
		"  -e, --encodings LIST      VNC encodings, best first (default \"zrle copyrect\n"
		"                            hextile raw\": lossless; \"tight\" is JPEG)\n"
		"      --timeout MS          give up after MS (default 30000)\n"
		"      --settle MS           still for this long counts as stable (default 400)\n"
		"      --password-file FILE  the VNC password, if the server wants one\n"
		"      --stats               print connect and resize times on stdout\n"
		"  -v, --verbose             log the VNC client's messages\n");
}

static int parse_size(const char *s, uint32_t *w, uint32_t *h)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X'))
		return -1;
	const char *t = end + 1;
	unsigned long b = strtoul(t, &end, 10);
	if (end == t || *end || a < 16 || b < 16 || a > 8192 || b > 8192)
		return -1;
	*w = (uint32_t)a;
	*h = (uint32_t)b;
	return 0;
}

static int parse_ms(const char *opt, const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || v > 3600000) {
		fprintf(stderr, "hyperdesk shot: %s: '%s' is not a number of milliseconds\n", opt, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

enum { OPT_TIMEOUT = 300, OPT_SETTLE, OPT_PW, OPT_STATS };

int cmd_shot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"encodings", required_argument, NULL, 'e'},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"settle", required_argument, NULL, OPT_SETTLE},
		{"password-file", required_argument, NULL, OPT_PW},
		{"stats", no_argument, NULL, OPT_STATS},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct shot_config cfg = {
		.encodings = "zrle copyrect hextile raw",
		.timeout_ms = 30000,
		.settle_ms = 400,
		.port = 5900,
	};
	char host[300], password[128];
	bool stats = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:o:e:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 's':
			if (parse_size(optarg, &cfg.width, &cfg.height) < 0) {
				fprintf(stderr, "hyperdesk shot: --size: '%s' is not WxH with each "
						"from 16 to 8192\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'o':
			cfg.output = optarg;
			break;
		case 'e':
			cfg.encodings = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_ms("--timeout", optarg, &cfg.timeout_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_SETTLE:
			if (parse_ms("--settle", optarg, &cfg.settle_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_PW: {
			FILE *f = fopen(optarg, "r");
			if (!f || !fgets(password, sizeof(password), f)) {
				fprintf(stderr, "hyperdesk shot: cannot read password file '%s'\n",
					optarg);
				if (f)
					fclose(f);
				return CLI_EXIT_USAGE;
			}
			fclose(f);
			password[strcspn(password, "\r\n")] = 0;
			cfg.password = password;
			break;
		}
		case OPT_STATS:
			stats = true;
			break;
		case 'v':
			hd_log_set_level(HD_LOG_DEBUG);
			break;
		default:
			fprintf(stderr, "try 'hyperdesk shot --help'\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || !cfg.output) {
		fprintf(stderr, "hyperdesk shot: need one vnc://HOST:PORT and -o FILE.png; try "
				"'hyperdesk shot --help'\n");
		return CLI_EXIT_USAGE;
	}
	const char *url = argv[optind];
	if (!strncmp(url, "vnc://", 6))
		url += 6;
	char spec[300];
	snprintf(spec, sizeof(spec), "%s", url);
	size_t n = strlen(spec);
	if (n && spec[n - 1] == '/')
		spec[n - 1] = 0;
	if (!strchr(spec, ':') || (spec[0] == '[' && !strstr(spec, "]:"))) {
		/* no port: the default one */
		snprintf(host, sizeof(host), "%s", spec[0] == '[' ? spec + 1 : spec);
		host[strcspn(host, "]")] = 0;
	} else if (cli_parse_hostport("shot", "address", spec, host, sizeof(host), &cfg.port) < 0) {
		return CLI_EXIT_USAGE;
	}
	cfg.host = host;
	struct shot_result res = {0};
	if (shot_run(&cfg, &res) < 0)
		return 1;
	if (stats)
		printf("size %ux%u connect_ms %u shape_ms %u updates %u\n", res.width, res.height,
		       res.connect_ms, res.shape_ms, res.updates);
	return 0;
}
