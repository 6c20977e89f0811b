/* hd-common.h: host-side helpers every hyperdesk component shares: logging, bookkeeping
 * allocation, a growable text buffer and a small JSON reader/writer. Not guest code. */
#ifndef HD_COMMON_H
#define HD_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- logging: one helper with levels and a component tag ---- */
enum hd_log_level {
	HD_LOG_ERROR = 0,
	HD_LOG_WARN = 1,
	HD_LOG_INFO = 2,
	HD_LOG_DEBUG = 3,
};

void hd_log_set_level(enum hd_log_level level);
enum hd_log_level hd_log_get_level(void);
void hd_log(enum hd_log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define hd_err(tag, ...)   hd_log(HD_LOG_ERROR, tag, __VA_ARGS__)
#define hd_warn(tag, ...)  hd_log(HD_LOG_WARN, tag, __VA_ARGS__)
#define hd_info(tag, ...)  hd_log(HD_LOG_INFO, tag, __VA_ARGS__)
#define hd_debug(tag, ...) hd_log(HD_LOG_DEBUG, tag, __VA_ARGS__)

/* ---- allocation ----
 * hd_x* abort on failure and are for host bookkeeping of bounded size only. Anything whose
 * size a guest or a client chooses uses plain malloc/calloc, checks for NULL, and is bounded. */
void *hd_xmalloc(size_t size);
void *hd_xzalloc(size_t size);
void *hd_xrealloc(void *p, size_t size);
char *hd_xstrdup(const char *s);

/* ---- monotonic time ---- */
uint64_t hd_now_ns(void);

/* ---- text ---- */
/* The value of a hexadecimal digit, or -1 if c is none. */
static inline int hd_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- shared memory ---- */
/* A memfd named name (MFD_* flags; MFD_CLOEXEC always) of size bytes: the fd, or -errno. */
int hd_memfd_sized(const char *name, unsigned flags, uint64_t size);

/* ---- growable buffer ---- */
struct hd_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
};

void hd_buf_init(struct hd_buf *b);
void hd_buf_free(struct hd_buf *b);
void hd_buf_reset(struct hd_buf *b);
void hd_buf_append(struct hd_buf *b, const void *data, size_t len);
void hd_buf_puts(struct hd_buf *b, const char *s);
void hd_buf_printf(struct hd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hd_buf_vprintf(struct hd_buf *b, const char *fmt, va_list ap);

/* ---- JSON (RFC 8259) ----
 * A DOM reader for small documents from untrusted peers (control socket, display channel):
 * bounded depth and size, never aborts on bad input. */
#define HD_JSON_MAX_DEPTH 32
#define HD_JSON_MAX_INPUT (1u << 20)

enum hd_json_type {
	HD_JSON_NULL,
	HD_JSON_BOOL,
	HD_JSON_NUMBER,
	HD_JSON_STRING,
	HD_JSON_ARRAY,
	HD_JSON_OBJECT,
};

struct hd_json {
	enum hd_json_type type;
	bool boolean;
	double number;
	char *string;   /* HD_JSON_STRING: NUL-terminated UTF-8; embedded NUL is rejected */
	size_t string_len;
	size_t count;           /* ARRAY: items; OBJECT: members */
	struct hd_json **items; /* ARRAY items, OBJECT values */
	char **keys;            /* OBJECT keys */
};

/* Parses exactly one JSON value (surrounding whitespace allowed). Returns 0 and *out, or
 * -EINVAL with a one-line reason in err (if errlen > 0). Returns -ENOMEM when out of memory. */
int hd_json_parse(const char *text, size_t len, struct hd_json **out, char *err, size_t errlen);
void hd_json_free(struct hd_json *v);

/* Lookups return NULL when absent or of another type. */
const struct hd_json *hd_json_get(const struct hd_json *obj, const char *key);
const char *hd_json_get_string(const struct hd_json *obj, const char *key);
bool hd_json_get_int(const struct hd_json *obj, const char *key, int64_t *out);

/* Writes s as a JSON string literal (quotes included, escaped) into b. */
void hd_json_write_string(struct hd_buf *b, const char *s);

#endif
