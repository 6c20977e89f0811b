/* cmdline.c: parses the demo program's key=value command line into struct demo_opts. Not
 * where options take effect: main.c acts on them once parsing is done. */
#include "cmdline.h"
#include "ulib.h"

/* val is NULL for a bare word without '='; it is not NUL-terminated at len. */
struct option {
	const char *key;
	int (*set)(struct demo_opts *o, const char *key, const char *val, size_t len);
};

static int bad_value(const char *key, const char *val, size_t len)
{
	uprintf("error: bad value for %s: %.*s\n", key, (int)len, val ? val : "");
	return -1;
}

/* Decimal only, so "exit=0x10" or "exit=-1" is refused rather than half-read. */
static int parse_uint(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!s || !len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

static int opt_exit(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	unsigned v;

	if (parse_uint(val, len, 255, &v) < 0)
		return bad_value(key, val, len);
	o->exit_set = 1;
	o->exit_code = v;
	return 0;
}

static int opt_fault(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	unsigned v;

	if (parse_uint(val, len, 2, &v) < 0)
		return bad_value(key, val, len);
	o->fault = (int)v;
	return 0;
}

static int opt_frames(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	if (parse_uint(val, len, 1000000000, &o->frames) < 0)
		return bad_value(key, val, len);
	return 0;
}

static int opt_sleep(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	if (parse_uint(val, len, 60000, &o->sleep_ms) < 0)
		return bad_value(key, val, len);
	o->sleep_set = 1;
	return 0;
}

/* Matches one of names[] (NULL-terminated); returns its index or -1. */
static int parse_word_choice(const char *val, size_t len, const char *const *names)
{
	for (int i = 0; val && names[i]; i++)
		if (strlen(names[i]) == len && !memcmp(names[i], val, len))
			return i;
	return -1;
}

static int opt_workload(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	static const char *const names[] = {"static",  "typing", "scroll",  "video",
					    "compute", "pio",	 "syscall", "mixed", "checksum", NULL};
	int i = parse_word_choice(val, len, names);

	if (i < 0)
		return bad_value(key, val, len);
	o->workload = (unsigned)i;
	return 0;
}

static int opt_gfxtest(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	unsigned v;

	if (parse_uint(val, len, 1, &v) < 0)
		return bad_value(key, val, len);
	o->gfxtest = (int)v;
	return 0;
}

static int opt_blob(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	unsigned v;

	if (parse_uint(val, len, 1, &v) < 0)
		return bad_value(key, val, len);
	o->no_blob = !v;
	return 0;
}

static int opt_cursor(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	static const char *const names[] = {"sw", "hw", NULL};
	int i = parse_word_choice(val, len, names);

	if (i < 0)
		return bad_value(key, val, len);
	o->hw_cursor = i;
	return 0;
}

static int opt_still(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	unsigned v;

	if (parse_uint(val, len, 1, &v) < 0)
		return bad_value(key, val, len);
	o->still = (int)v;
	return 0;
}

static int opt_iterations(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	if (parse_uint(val, len, 1000000000, &o->iterations) < 0)
		return bad_value(key, val, len);
	return 0;
}

#define MEMFILL_MAX_MIB 1048576u /* the VMM's largest --memory; the RAM decides the rest */

/* MiB, or "all"; whether the RAM has that much is known only when the fill starts (memfill.c). */
static int opt_memfill(struct demo_opts *o, const char *key, const char *val, size_t len)
{
	if (val && len == 3 && !memcmp(val, "all", 3)) {
		o->memfill_all = 1;
		return 0;
	}
	if (parse_uint(val, len, MEMFILL_MAX_MIB, &o->memfill_mib) < 0)
		return bad_value(key, val, len);
	o->memfill_all = 0;
	return 0;
}

/* New workloads add a field to struct demo_opts and a row here. */
static const struct option options[] = {
    {"exit", opt_exit},
    {"fault", opt_fault},
    {"frames", opt_frames},
    {"sleep", opt_sleep},
    {"workload", opt_workload},
    {"blob", opt_blob},
    {"cursor", opt_cursor},
    {"gfxtest", opt_gfxtest},
    {"still", opt_still},
    {"iterations", opt_iterations},
    {"memfill", opt_memfill},
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int parse_word(const char *w, size_t len, struct demo_opts *o)
{
	size_t klen = 0;
	const char *val = NULL;

	while (klen < len && w[klen] != '=')
		klen++;
	if (klen < len)
		val = w + klen + 1;

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const struct option *opt = &options[i];

		if (strlen(opt->key) == klen && !memcmp(opt->key, w, klen))
			return opt->set(o, opt->key, val, val ? len - klen - 1 : 0);
	}
	/* An empty key ("=x") is named by its whole word. */
	uprintf("warning: unknown option %.*s\n", (int)(klen ? klen : len), w);
	return 0;
}

int cmdline_parse(const char *s, struct demo_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (;;) {
		size_t len = 0;

		while (is_space(*s))
			s++;
		if (!*s)
			return 0;
		while (s[len] && !is_space(s[len]))
			len++;
		if (parse_word(s, len, o) < 0)
			return -1;
		s += len;
	}
}
