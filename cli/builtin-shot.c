/* builtin-shot.c: `hyperdesk shot vnc://HOST:PORT|rdp://HOST:PORT --size WxH -o FILE.png`:
 * captures what a VNC or RDP session at that shape shows, for CI and benchmarks. Not a viewer
 * (clients/shot.c and clients/rdpshot.c do the work). */
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
		"usage: hyperdesk shot vnc://HOST:PORT [--size WxH] -o FILE.png [OPTIONS]\n"
		"       hyperdesk shot rdp://HOST:PORT [--size WxH] [--gfx] -o FILE.png [OPTIONS]\n\n"
		"Connects to a VNC server and asks for a display of WxH (SetDesktopSize), or to\n"
		"an RDP server (TLS; its certificate is accepted for this connection only, never\n"
		"stored) with a desktop of WxH, waits until the frame at that size has been\n"
		"still for --settle ms, and saves it as a PNG. Without --size it keeps the\n"
		"server's size (RDP: 1024x768). No X display is needed. Exits 0 when saved, 1\n"
		"when not (unreachable, refused, no stable frame in time), 2 on a usage error.\n\n"
		"  -s, --size WxH            the display shape to ask for (16..8192 each way)\n"
		"  -o, --output FILE.png     where to save the frame\n"
		"  -e, --encodings LIST      VNC encodings, best first (default \"zrle copyrect\n"
		"                            hextile raw\": lossless; \"tight\" is JPEG)\n"
		"      --gfx[=h264|planar]   RDP: offer the graphics pipeline, with H.264 (AVC420;\n"
		"                            the default) or without (the server picks a lossless\n"
		"                            codec), and fail if frames arrive without it; by\n"
		"                            default the client takes SurfaceBits\n"
		"      --depth BITS          bits a pixel to ask for: VNC 16 (R5 G6 B5) or 24,\n"
		"                            RDP 15, 16, 24 or 32 (default: full colour); the PNG\n"
		"                            shows what such a client shows\n"
		"      --scale PERCENT       RDP: the desktop scale factor to announce (100..500)\n"
		"      --monitors LAYOUT     RDP: announce monitors, WxH+X+Y[,WxH+X+Y...] (X and Y\n"
		"                            may be negative: 1280x720-1280+0), the first the\n"
		"                            primary at +0+0; the desktop size is their bounding\n"
		"                            box unless --size says otherwise (at most 16)\n"
		"      --slow MS             RDP with --gfx: hold every frame MS before it is\n"
		"                            acknowledged (a slow client, for tests)\n"
		"      --stream MS           receive for MS after the first frame instead of\n"
		"                            waiting for a still one (with --stats: frames, fps)\n"
		"      --timeout MS          give up after MS (default 30000)\n"
		"      --settle MS           still for this long counts as stable (default 400)\n"
		"      --password-file FILE  the VNC password, if the server wants one\n"
		"      --stats               print connect and resize times on stdout\n"
		"  -v, --verbose             log the client's messages\n");
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

/* A whole decimal number in s. */
static bool parse_ulong(const char *s, unsigned long *v)
{
	char *end;
	*v = strtoul(s, &end, 10);
	return end != s && !*end;
}

static bool scale_ok(unsigned long v)
{
	return v >= 100 && v <= 500;
}

static bool depth_ok(unsigned long v)
{
	return v == 15 || v == 16 || v == 24 || v == 32;
}

/* A number for option opt that ok() accepts, else one line saying it is not want. */
static int parse_uint_opt(const char *opt, const char *s, bool (*ok)(unsigned long),
			  const char *want, unsigned *out)
{
	unsigned long v;
	if (!parse_ulong(s, &v) || !ok(v)) {
		fprintf(stderr, "hyperdesk shot: %s: '%s' is not %s\n", opt, s, want);
		return -1;
	}
	*out = (unsigned)v;
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

enum {
	OPT_TIMEOUT = 300,
	OPT_SETTLE,
	OPT_PW,
	OPT_STATS,
	OPT_GFX,
	OPT_SCALE,
	OPT_SLOW,
	OPT_STREAM,
	OPT_MONITORS,
	OPT_DEPTH,
};

/* One signed coordinate of a geometry: '+' or '-' and digits. */
static int parse_coord(const char **s, int32_t *out)
{
	char sign = **s;
	if (sign != '+' && sign != '-')
		return -1;
	char *end;
	unsigned long v = strtoul(*s + 1, &end, 10);
	if (end == *s + 1 || v > 65535)
		return -1;
	*out = sign == '-' ? -(int32_t)v : (int32_t)v;
	*s = end;
	return 0;
}

/* WxH+X+Y[,WxH+X+Y...] into cfg->monitors; the first must be at +0+0 (the primary, which RDP
 * puts at the origin), and the bounding box must fit a desktop (at most 8192 each way). */
static int parse_monitors(const char *arg, struct shot_config *cfg)
{
	const char *s = arg;
	int32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
	for (cfg->nr_monitors = 0; *s; cfg->nr_monitors++) {
		if (cfg->nr_monitors == SHOT_MAX_MONITORS)
			return -1;
		struct shot_monitor *m = &cfg->monitors[cfg->nr_monitors];
		char *end;
		unsigned long w = strtoul(s, &end, 10);
		if (end == s || (*end != 'x' && *end != 'X'))
			return -1;
		s = end + 1;
		unsigned long h = strtoul(s, &end, 10);
		if (end == s || w < 16 || h < 16 || w > 8192 || h > 8192)
			return -1;
		s = end;
		if (parse_coord(&s, &m->x) < 0 || parse_coord(&s, &m->y) < 0)
			return -1;
		m->width = (uint32_t)w;
		m->height = (uint32_t)h;
		if (!cfg->nr_monitors && (m->x || m->y))
			return -1;
		x0 = m->x < x0 ? m->x : x0;
		y0 = m->y < y0 ? m->y : y0;
		x1 = m->x + (int32_t)w > x1 ? m->x + (int32_t)w : x1;
		y1 = m->y + (int32_t)h > y1 ? m->y + (int32_t)h : y1;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	if (!cfg->nr_monitors || x1 - x0 > 8192 || y1 - y0 > 8192)
		return -1;
	if (!cfg->width) {
		cfg->width = (uint32_t)(x1 - x0);
		cfg->height = (uint32_t)(y1 - y0);
	}
	return 0;
}

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
		{"gfx", optional_argument, NULL, OPT_GFX},
		{"scale", required_argument, NULL, OPT_SCALE},
		{"slow", required_argument, NULL, OPT_SLOW},
		{"stream", required_argument, NULL, OPT_STREAM},
		{"monitors", required_argument, NULL, OPT_MONITORS},
		{"depth", required_argument, NULL, OPT_DEPTH},
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
	const char *monitors = NULL;
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
		case OPT_GFX:
			if (optarg && strcmp(optarg, "h264") && strcmp(optarg, "planar")) {
				fprintf(stderr, "hyperdesk shot: --gfx: '%s' is not h264 or planar\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			cfg.gfx = true;
			cfg.gfx_h264 = !optarg || !strcmp(optarg, "h264");
			cfg.gfx_required = true;
			break;
		case OPT_SCALE:
			if (parse_uint_opt("--scale", optarg, scale_ok, "a percentage from 100 to 500",
					   &cfg.scale) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_SLOW:
			if (parse_ms("--slow", optarg, &cfg.slow_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_STREAM:
			if (parse_ms("--stream", optarg, &cfg.stream_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_MONITORS:
			monitors = optarg;
			break;
		case OPT_DEPTH:
			if (parse_uint_opt("--depth", optarg, depth_ok, "15, 16, 24 or 32",
					   &cfg.depth) < 0)
				return CLI_EXIT_USAGE;
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
		fprintf(stderr, "hyperdesk shot: need one vnc://HOST:PORT or rdp://HOST:PORT and -o "
				"FILE.png; try 'hyperdesk shot --help'\n");
		return CLI_EXIT_USAGE;
	}
	const char *url = argv[optind];
	bool rdp = !strncmp(url, "rdp://", 6);
	if (!strncmp(url, "vnc://", 6) || rdp)
		url += 6;
	if (rdp)
		cfg.port = 3389;
	if (!rdp && (cfg.gfx || cfg.scale || cfg.slow_ms || cfg.stream_ms || monitors)) {
		fprintf(stderr, "hyperdesk shot: --gfx, --scale, --slow, --stream and --monitors are "
				"for rdp:// only\n");
		return CLI_EXIT_USAGE;
	}
	if (!rdp && cfg.depth && cfg.depth != 16 && cfg.depth != 24) {
		fprintf(stderr, "hyperdesk shot: --depth on vnc:// is 16 or 24\n");
		return CLI_EXIT_USAGE;
	}
	if (!rdp && cfg.depth == 24)
		cfg.depth = 0; /* the full-colour default */
	/* After --size, whichever came first: the bounding box is only the default size. */
	if (monitors && parse_monitors(monitors, &cfg) < 0) {
		fprintf(stderr, "hyperdesk shot: --monitors: '%s' is not WxH+X+Y[,WxH+X+Y...] with "
				"the first at +0+0, at most 16, within 8192x8192\n",
			monitors);
		return CLI_EXIT_USAGE;
	}
	if (rdp && !rdpshot_available()) {
		fprintf(stderr, "hyperdesk shot: this build has no RDP client\n");
		return 1;
	}
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
	if ((rdp ? rdpshot_run(&cfg, &res) : shot_run(&cfg, &res)) < 0)
		return 1;
	if (stats && rdp && cfg.stream_ms)
		printf("size %ux%u connect_ms %u active_ms %u frames %u gfx_frames %u stream_ms %u "
		       "stream_frames %u fps %.1f\n",
		       res.width, res.height, res.connect_ms, res.active_ms, res.updates, res.gfx_frames,
		       res.stream_ms, res.stream_frames,
		       res.stream_ms ? res.stream_frames * 1000.0 / res.stream_ms : 0.0);
	else if (stats && rdp)
		printf("size %ux%u connect_ms %u active_ms %u frames %u gfx_frames %u\n", res.width,
		       res.height, res.connect_ms, res.active_ms, res.updates, res.gfx_frames);
	else if (stats)
		printf("size %ux%u connect_ms %u shape_ms %u updates %u\n", res.width, res.height,
		       res.connect_ms, res.shape_ms, res.updates);
	return 0;
}
