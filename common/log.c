/* log.c: the one logging helper: level filter, component tag, one line to stderr.
 * Not a tracing facility; per-event detail belongs in counters (stats), not log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd-common.h"

static enum hd_log_level log_level = HD_LOG_WARN;

void hd_log_set_level(enum hd_log_level level)
{
	log_level = level;
}

enum hd_log_level hd_log_get_level(void)
{
	return log_level;
}

void hd_log(enum hd_log_level level, const char *tag, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char line[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "hyperdesk: %s: %s: ", tag, names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}

static void *oom(size_t size)
{
	fprintf(stderr, "hyperdesk: out of memory allocating %zu bytes\n", size);
	abort();
}

void *hd_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	return p ? p : oom(size);
}

void *hd_xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);
	return p ? p : oom(size);
}

void *hd_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	return q ? q : oom(size);
}

char *hd_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(hd_xmalloc(n), s, n);
}

uint64_t hd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hd_buf_init(struct hd_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void hd_buf_free(struct hd_buf *b)
{
	free(b->data);
	hd_buf_init(b);
}

void hd_buf_reset(struct hd_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_reserve(struct hd_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = hd_xrealloc(b->data, cap);
	b->cap = cap;
}

void hd_buf_append(struct hd_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void hd_buf_puts(struct hd_buf *b, const char *s)
{
	hd_buf_append(b, s, strlen(s));
}

void hd_buf_vprintf(struct hd_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void hd_buf_printf(struct hd_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hd_buf_vprintf(b, fmt, ap);
	va_end(ap);
}
