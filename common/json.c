/* json.c: a strict RFC 8259 reader (bytes -> struct hd_json tree) and a string-literal writer
 * for requests from untrusted peers. Not a general JSON library: no streaming, no tree writer. */
#include <errno.h>
#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"

/* Total values (scalars and containers, keys not counted) in one document. A 1 MiB input can
 * spell ~500k values ("[0,0,0,..."), each a ~64-byte node plus allocator overhead and an item
 * pointer; 65536 keeps the worst tree at a few MiB while being far beyond any real request. */
#define JSON_MAX_VALUES 65536

/* Duplicate keys are rejected so that a request has one meaning (RFC 8259 leaves duplicates
 * to the implementation and peers disagree on "first" vs "last wins"). The first this many
 * keys of an object are checked as they are read, so the error points at the duplicate; an
 * object with more members is sorted once when it closes, so a hostile object with 65536
 * members costs O(n log n) comparisons rather than O(n^2). */
#define JSON_DUP_LINEAR 16

/* Number tokens shorter than this are copied to the stack for strtod; longer ones (valid
 * JSON puts no bound on digits) to the heap. */
#define JSON_NUM_STACK 64

/* Integers beyond +-(2^53 - 1) may not survive as a double, so hd_json_get_int refuses them
 * rather than hand back a value the peer did not send. */
#define JSON_MAX_SAFE_INT 9007199254740991.0

struct parser {
	const unsigned char *s; /* not NUL-terminated: every read is checked against len */
	size_t len;
	size_t pos;
	size_t values;
	unsigned depth;
	char *err;
	size_t errlen;
};

static int parse_value(struct parser *p, struct hd_json **out);

static int fail(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the reason (only the first failure reaches here: errors return at once). The
 * message never quotes the input, so a peer cannot put control characters into our logs. */
static int fail(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	n = snprintf(p->err, p->errlen, "byte %zu: ", off);
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int unexpected(struct parser *p, const char *wanted)
{
	unsigned char c;

	if (p->pos >= p->len)
		return fail(p, p->pos, "unexpected end of input, expected %s", wanted);
	c = p->s[p->pos];
	if (c > 0x20 && c < 0x7f)
		return fail(p, p->pos, "unexpected '%c', expected %s", c, wanted);
	return fail(p, p->pos, "unexpected byte 0x%02x, expected %s", c, wanted);
}

static bool at(const struct parser *p, unsigned char c)
{
	return p->pos < p->len && p->s[p->pos] == c;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int new_value(struct parser *p, enum hd_json_type type, struct hd_json **out)
{
	struct hd_json *v;

	if (p->values >= JSON_MAX_VALUES)
		return fail(p, p->pos, "more than %d values in one document", JSON_MAX_VALUES);
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->values++;
	v->type = type;
	*out = v;
	return 0;
}

/* Length of the valid multi-byte UTF-8 sequence at s (avail bytes readable), or 0. Follows
 * RFC 3629 table 3: no overlongs (C0, C1, E0 80-9F, F0 80-8F), no UTF-16 surrogates
 * (ED A0-BF), nothing above U+10FFFF (F4 90+, F5-FF). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at s[i..i+4), all before end. */
static bool read_hex4(const unsigned char *s, size_t i, size_t end, uint32_t *out)
{
	uint32_t v = 0;

	if (i > end || end - i < 4)
		return false;
	for (size_t k = i; k < i + 4; k++) {
		unsigned char c = s[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

/* Decodes the string literal at p->pos (a '"') into a new NUL-terminated buffer. */
static int parse_string(struct parser *p, char **out, size_t *out_len)
{
	const unsigned char *s = p->s;
	size_t open = p->pos, start = p->pos + 1, end = start, i, o = 0;
	char *buf;
	int rc;

	/* Find the closing quote first so the copy is sized by this literal, not by the rest of
	 * the input. Decoding never grows: an escape of n bytes yields at most n bytes. */
	while (end < p->len && s[end] != '"') {
		if (s[end] == '\\')
			end++;
		end++;
	}
	if (end >= p->len)
		return fail(p, open, "unterminated string");
	buf = malloc(end - start + 1);
	if (!buf)
		return -ENOMEM;

	i = start;
	while (i < end) {
		unsigned char c = s[i];

		if (c == '\\') {
			size_t esc = i;
			uint32_t cp, lo;

			i++; /* the scan above guarantees i < end */
			switch (s[i]) {
			case '"':
			case '\\':
			case '/':
				buf[o++] = (char)s[i];
				break;
			case 'b':
				buf[o++] = '\b';
				break;
			case 'f':
				buf[o++] = '\f';
				break;
			case 'n':
				buf[o++] = '\n';
				break;
			case 'r':
				buf[o++] = '\r';
				break;
			case 't':
				buf[o++] = '\t';
				break;
			case 'u':
				if (!read_hex4(s, i + 1, end, &cp)) {
					rc = fail(p, esc, "\\u needs four hex digits");
					goto err;
				}
				i += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff) {
					rc = fail(p, esc, "lone low surrogate \\u%04x",
						  (unsigned)cp);
					goto err;
				}
				if (cp >= 0xd800 && cp <= 0xdbff) {
					/* i is on the last digit; \uXXXX must follow. */
					if (end - i < 7 || s[i + 1] != '\\' || s[i + 2] != 'u' ||
					    !read_hex4(s, i + 3, end, &lo) || lo < 0xdc00 ||
					    lo > 0xdfff) {
						rc = fail(p, esc, "unpaired high surrogate \\u%04x",
							  (unsigned)cp);
						goto err;
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
				if (cp == 0) {
					/* Our strings are NUL-terminated C strings; an embedded NUL
					 * would let "ab\u0000cd" and "ab" compare equal. */
					rc = fail(p, esc, "\\u0000 is not allowed");
					goto err;
				}
				o += put_utf8(buf + o, cp);
				break;
			default:
				rc = fail(p, esc, "invalid escape");
				goto err;
			}
			i++;
			continue;
		}
		if (c < 0x20) {
			rc = fail(p, i, "raw control character 0x%02x in string", c);
			goto err;
		}
		if (c < 0x80) {
			buf[o++] = (char)c;
			i++;
			continue;
		}
		size_t n = utf8_seq_len(s + i, end - i);
		if (!n) {
			rc = fail(p, i, "invalid UTF-8 in string");
			goto err;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	p->pos = end + 1;
	return 0;
err:
	free(buf);
	return rc;
}

static int parse_number(struct parser *p, struct hd_json *v)
{
	const unsigned char *s = p->s;
	size_t start = p->pos, i = start, n;
	char stackbuf[JSON_NUM_STACK], *buf, *endp;
	double d;
	bool whole;

	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len || !is_digit(s[i])) {
		p->pos = i;
		return unexpected(p, "a digit");
	}
	if (s[i] == '0') {
		i++;
		if (i < p->len && is_digit(s[i]))
			return fail(p, start, "leading zero in number");
	} else {
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && s[i] == '.') {
		i++;
		if (i >= p->len || !is_digit(s[i])) {
			p->pos = i;
			return unexpected(p, "a digit after '.'");
		}
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(s[i])) {
			p->pos = i;
			return unexpected(p, "a digit in the exponent");
		}
		while (i < p->len && is_digit(s[i]))
			i++;
	}

	/* strtod wants a NUL-terminated string and the input has none; the grammar check above
	 * already ruled out everything strtod would accept beyond JSON (hex, inf, nan). */
	n = i - start;
	buf = n < sizeof(stackbuf) ? stackbuf : malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, s + start, n);
	buf[n] = '\0';
	d = strtod(buf, &endp);
	whole = endp == buf + n;
	if (buf != stackbuf)
		free(buf);
	/* Only a process that set LC_NUMERIC to a ',' locale gets here; refuse, never guess. */
	if (!whole)
		return fail(p, start, "number not accepted by strtod (locale?)");
	/* Overflow to infinity: JSON has no infinity and callers should not meet one. Underflow
	 * to zero or a denormal is kept; it is the nearest double. */
	if (d > DBL_MAX || d < -DBL_MAX)
		return fail(p, start, "number out of range");
	v->number = d;
	p->pos = i;
	return 0;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail(p, p->pos, "invalid literal (expected %s)", word);
	p->pos += n;
	return 0;
}

static int parse_array(struct parser *p, struct hd_json *v)
{
	size_t cap = 0;

	p->pos++;
	skip_ws(p);
	if (at(p, ']')) {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct hd_json *item;
		int rc = parse_value(p, &item);
		if (rc < 0)
			return rc;
		if (v->count == cap) {
			/* No overflow: count <= JSON_MAX_VALUES. */
			size_t ncap = cap ? cap * 2 : 4;
			struct hd_json **ni = realloc(v->items, ncap * sizeof(*ni));
			if (!ni) {
				hd_json_free(item);
				return -ENOMEM;
			}
			v->items = ni;
			cap = ncap;
		}
		v->items[v->count++] = item;

		skip_ws(p);
		if (at(p, ',')) {
			p->pos++;
			skip_ws(p);
			if (at(p, ']'))
				return fail(p, p->pos, "trailing comma in array");
			continue;
		}
		if (at(p, ']')) {
			p->pos++;
			return 0;
		}
		return unexpected(p, "',' or ']'");
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_dup_keys_sorted(struct parser *p, const struct hd_json *v, size_t open)
{
	char **sorted = malloc(v->count * sizeof(*sorted));
	bool dup = false;

	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, v->keys, v->count * sizeof(*sorted));
	qsort(sorted, v->count, sizeof(*sorted), cmp_keys);
	for (size_t i = 1; i < v->count && !dup; i++)
		dup = strcmp(sorted[i - 1], sorted[i]) == 0;
	free(sorted);
	if (dup)
		return fail(p, open, "duplicate key in the object starting here");
	return 0;
}

static int parse_object(struct parser *p, struct hd_json *v)
{
	size_t cap = 0, open = p->pos;

	p->pos++;
	skip_ws(p);
	if (at(p, '}')) {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct hd_json *item;
		size_t key_at = p->pos, key_len;
		char *key;
		int rc;

		if (!at(p, '"'))
			return unexpected(p, "a string key");
		rc = parse_string(p, &key, &key_len);
		if (rc < 0)
			return rc;
		if (v->count < JSON_DUP_LINEAR) {
			for (size_t k = 0; k < v->count; k++) {
				if (strcmp(v->keys[k], key) == 0) {
					free(key);
					return fail(p, key_at, "duplicate key");
				}
			}
		}
		skip_ws(p);
		if (!at(p, ':')) {
			free(key);
			return unexpected(p, "':' after the key");
		}
		p->pos++;
		rc = parse_value(p, &item);
		if (rc < 0) {
			free(key);
			return rc;
		}
		if (v->count == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct hd_json **ni = realloc(v->items, ncap * sizeof(*ni));
			char **nk;
			if (ni)
				v->items = ni;
			nk = ni ? realloc(v->keys, ncap * sizeof(*nk)) : NULL;
			if (!nk) {
				free(key);
				hd_json_free(item);
				return -ENOMEM;
			}
			v->keys = nk;
			cap = ncap;
		}
		v->keys[v->count] = key;
		v->items[v->count] = item;
		v->count++;

		skip_ws(p);
		if (at(p, ',')) {
			p->pos++;
			skip_ws(p);
			if (at(p, '}'))
				return fail(p, p->pos, "trailing comma in object");
			continue;
		}
		if (at(p, '}')) {
			p->pos++;
			break;
		}
		return unexpected(p, "',' or '}'");
	}
	if (v->count > JSON_DUP_LINEAR)
		return check_dup_keys_sorted(p, v, open);
	return 0;
}

/* Recursion follows nesting, which is capped at HD_JSON_MAX_DEPTH before descending, so the
 * C stack never holds more than about 2 * HD_JSON_MAX_DEPTH frames whatever the input. */
static int parse_value(struct parser *p, struct hd_json **out)
{
	enum hd_json_type type;
	struct hd_json *v = NULL; /* set by new_value; gcc -O2 cannot see that */
	unsigned char c;
	int rc;

	*out = NULL;
	skip_ws(p);
	if (p->pos >= p->len)
		return unexpected(p, "a value");
	c = p->s[p->pos];
	if (c == '{')
		type = HD_JSON_OBJECT;
	else if (c == '[')
		type = HD_JSON_ARRAY;
	else if (c == '"')
		type = HD_JSON_STRING;
	else if (c == 't' || c == 'f')
		type = HD_JSON_BOOL;
	else if (c == 'n')
		type = HD_JSON_NULL;
	else if (c == '-' || is_digit(c))
		type = HD_JSON_NUMBER;
	else
		return unexpected(p, "a value");

	if (type == HD_JSON_OBJECT || type == HD_JSON_ARRAY) {
		if (p->depth >= HD_JSON_MAX_DEPTH)
			return fail(p, p->pos, "nesting deeper than %d levels", HD_JSON_MAX_DEPTH);
	}
	rc = new_value(p, type, &v);
	if (rc < 0)
		return rc;

	switch (type) {
	case HD_JSON_OBJECT:
		p->depth++;
		rc = parse_object(p, v);
		p->depth--;
		break;
	case HD_JSON_ARRAY:
		p->depth++;
		rc = parse_array(p, v);
		p->depth--;
		break;
	case HD_JSON_STRING:
		rc = parse_string(p, &v->string, &v->string_len);
		break;
	case HD_JSON_BOOL:
		v->boolean = c == 't';
		rc = parse_literal(p, v->boolean ? "true" : "false");
		break;
	case HD_JSON_NULL:
		rc = parse_literal(p, "null");
		break;
	case HD_JSON_NUMBER:
		rc = parse_number(p, v);
		break;
	}
	if (rc < 0) {
		/* Frees whatever part of the subtree was already attached. */
		hd_json_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int hd_json_parse(const char *text, size_t len, struct hd_json **out, char *err, size_t errlen)
{
	struct parser p = {
	    .s = (const unsigned char *)text,
	    .len = len,
	    .err = err,
	    .errlen = errlen,
	};
	struct hd_json *v = NULL;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return fail(&p, 0, "no place for the result");
	*out = NULL;
	if (!text && len)
		return fail(&p, 0, "no input");
	if (len > HD_JSON_MAX_INPUT)
		return fail(&p, HD_JSON_MAX_INPUT, "input longer than %u bytes", HD_JSON_MAX_INPUT);

	rc = parse_value(&p, &v);
	if (rc == 0) {
		skip_ws(&p);
		if (p.pos < p.len) {
			hd_json_free(v);
			rc = unexpected(&p, "end of input after the value");
		}
	}
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	if (rc < 0)
		return rc;
	*out = v;
	return 0;
}

/* Recursive like the parser: trees it built are at most HD_JSON_MAX_DEPTH deep. */
void hd_json_free(struct hd_json *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->count; i++) {
		if (v->items)
			hd_json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	free(v);
}

/* Linear: requests have a handful of members, and keys are unique (duplicates rejected). */
const struct hd_json *hd_json_get(const struct hd_json *obj, const char *key)
{
	if (!obj || !key || obj->type != HD_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->count; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

const char *hd_json_get_string(const struct hd_json *obj, const char *key)
{
	const struct hd_json *v = hd_json_get(obj, key);

	return v && v->type == HD_JSON_STRING ? v->string : NULL;
}

/* True only for an integer-valued number within +-(2^53 - 1), a subset of int64: beyond it a
 * double no longer tells which integer the peer wrote (9007199254740993 reads as ...992), and
 * a control request should fail rather than act on a rounded id or size. */
bool hd_json_get_int(const struct hd_json *obj, const char *key, int64_t *out)
{
	const struct hd_json *v = hd_json_get(obj, key);
	double d;
	int64_t i;

	if (!v || v->type != HD_JSON_NUMBER)
		return false;
	d = v->number;
	/* Range first: converting an out-of-range double to int64_t is undefined. The
	 * comparisons are false for NaN, which the parser never produces anyway. */
	if (!(d >= -JSON_MAX_SAFE_INT && d <= JSON_MAX_SAFE_INT))
		return false;
	i = (int64_t)d;
	if ((double)i != d)
		return false;
	if (out)
		*out = i;
	return true;
}

/* Control characters (and DEL, harmless to escape and kinder to terminals that show the
 * output) become \u00XX; bytes >= 0x80 are copied, so the caller must pass UTF-8 for the
 * result to be valid JSON. NULL is written as "" so a missing optional field cannot crash. */
void hd_json_write_string(struct hd_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run, *q;

	if (!s)
		s = "";
	hd_buf_append(b, "\"", 1);
	for (run = q = s; *q; q++) {
		unsigned char c = (unsigned char)*q;
		char esc[6];
		size_t n;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
		} else {
			continue;
		}
		hd_buf_append(b, run, (size_t)(q - run));
		hd_buf_append(b, esc, n);
		run = q + 1;
	}
	hd_buf_append(b, run, (size_t)(q - run));
	hd_buf_append(b, "\"", 1);
}
