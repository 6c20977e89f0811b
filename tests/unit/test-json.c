/* test-json.c: cmocka tests for the JSON reader and string writer in common/json.c.
 * Not a fuzzer: fixed inputs with exact expected trees, bytes and errors. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hd-common.h"

/* Mirrors the limit documented in json.c; the test below fails if the two drift apart. */
#define MAX_VALUES 65536

/* Parses a copy of exactly len bytes in its own allocation with no NUL after it, so a read
 * past the end is a heap overflow that ASan reports. */
static int parse_n(const char *text, size_t len, struct hd_json **out, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = hd_json_parse(copy, len, out, err, errlen);
	free(copy);
	return rc;
}

static struct hd_json *parse_ok_n(const char *text, size_t len)
{
	struct hd_json *v = NULL;
	char err[256] = "";
	int rc = parse_n(text, len, &v, err, sizeof(err));

	if (rc != 0)
		print_error("unexpected rejection of %.*s: %s\n", (int)len, text, err);
	assert_int_equal(rc, 0);
	assert_non_null(v);
	return v;
}

static struct hd_json *parse_ok(const char *text)
{
	return parse_ok_n(text, strlen(text));
}

/* Expects -EINVAL, no tree, and a one-line reason that carries a byte offset. */
static void reject_n(const char *text, size_t len)
{
	struct hd_json *v = (struct hd_json *)&v; /* must be overwritten with NULL */
	char err[256];
	int rc;

	memset(err, 0, sizeof(err));
	rc = parse_n(text, len, &v, err, sizeof(err));
	if (rc != -EINVAL)
		print_error("expected rejection of %.*s (len %zu), got %d\n",
			    (int)(len > 200 ? 200 : len), text, len, rc);
	assert_int_equal(rc, -EINVAL);
	assert_null(v);
	assert_true(err[0] != '\0');
	assert_non_null(strstr(err, "byte "));
	assert_null(strchr(err, '\n'));
}

static void reject(const char *text)
{
	reject_n(text, strlen(text));
}

static void expect_error_at(const char *text, const char *where)
{
	struct hd_json *v;
	char err[256] = "";

	assert_int_equal(parse_n(text, strlen(text), &v, err, sizeof(err)), -EINVAL);
	if (!strstr(err, where))
		print_error("%s: error \"%s\" lacks \"%s\"\n", text, err, where);
	assert_non_null(strstr(err, where));
}

static void test_scalars(void **state)
{
	(void)state;
	struct hd_json *v;

	v = parse_ok("null");
	assert_int_equal(v->type, HD_JSON_NULL);
	hd_json_free(v);

	v = parse_ok("true");
	assert_int_equal(v->type, HD_JSON_BOOL);
	assert_true(v->boolean);
	hd_json_free(v);

	v = parse_ok("false");
	assert_int_equal(v->type, HD_JSON_BOOL);
	assert_false(v->boolean);
	hd_json_free(v);

	v = parse_ok("\"\"");
	assert_int_equal(v->type, HD_JSON_STRING);
	assert_int_equal(v->string_len, 0);
	assert_string_equal(v->string, "");
	hd_json_free(v);

	v = parse_ok("\"hello\"");
	assert_int_equal(v->type, HD_JSON_STRING);
	assert_int_equal(v->string_len, 5);
	assert_string_equal(v->string, "hello");
	hd_json_free(v);

	v = parse_ok(" \t\r\n 17 \n\r\t ");
	assert_int_equal(v->type, HD_JSON_NUMBER);
	assert_true(v->number == 17.0);
	hd_json_free(v);

	hd_json_free(NULL);
}

static void test_containers(void **state)
{
	(void)state;
	struct hd_json *v;
	const struct hd_json *a, *b, *c;

	v = parse_ok("[]");
	assert_int_equal(v->type, HD_JSON_ARRAY);
	assert_int_equal(v->count, 0);
	hd_json_free(v);

	v = parse_ok("{ }");
	assert_int_equal(v->type, HD_JSON_OBJECT);
	assert_int_equal(v->count, 0);
	assert_null(hd_json_get(v, "a"));
	hd_json_free(v);

	v = parse_ok(
	    "{\"cmd\":\"display-set\",\"args\":[0,1280,720],"
	    "\"opts\":{\"scale\":1.5,\"vsync\":true,\"name\":null,\"deep\":[[{\"x\":[]}]]}}");
	assert_int_equal(v->type, HD_JSON_OBJECT);
	assert_int_equal(v->count, 3);
	assert_string_equal(v->keys[0], "cmd");
	assert_string_equal(v->keys[1], "args");
	assert_string_equal(v->keys[2], "opts");
	assert_string_equal(hd_json_get_string(v, "cmd"), "display-set");

	a = hd_json_get(v, "args");
	assert_non_null(a);
	assert_ptr_equal(a, v->items[1]);
	assert_int_equal(a->type, HD_JSON_ARRAY);
	assert_int_equal(a->count, 3);
	assert_true(a->items[0]->number == 0.0);
	assert_true(a->items[1]->number == 1280.0);
	assert_true(a->items[2]->number == 720.0);

	b = hd_json_get(v, "opts");
	assert_non_null(b);
	assert_int_equal(b->type, HD_JSON_OBJECT);
	assert_int_equal(b->count, 4);
	assert_true(hd_json_get(b, "scale")->number == 1.5);
	assert_true(hd_json_get(b, "vsync")->boolean);
	assert_int_equal(hd_json_get(b, "name")->type, HD_JSON_NULL);
	c = hd_json_get(b, "deep");
	assert_int_equal(c->type, HD_JSON_ARRAY);
	assert_int_equal(c->items[0]->type, HD_JSON_ARRAY);
	c = c->items[0]->items[0];
	assert_int_equal(c->type, HD_JSON_OBJECT);
	c = hd_json_get(c, "x");
	assert_int_equal(c->type, HD_JSON_ARRAY);
	assert_int_equal(c->count, 0);
	hd_json_free(v);

	/* Enough items to make the item arrays grow several times. */
	v = parse_ok("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]");
	assert_int_equal(v->count, 25);
	for (size_t i = 0; i < v->count; i++)
		assert_true(v->items[i]->number == (double)(i + 1));
	hd_json_free(v);
}

static void test_lookups(void **state)
{
	(void)state;
	struct hd_json *v =
	    parse_ok("{\"s\":\"str\",\"n\":5,\"o\":{\"s\":\"inner\"},\"a\":[\"x\"]}");
	struct hd_json *arr = parse_ok("[\"s\"]");
	int64_t i = -1;

	assert_string_equal(hd_json_get_string(v, "s"), "str");
	assert_null(hd_json_get_string(v, "n"));
	assert_null(hd_json_get_string(v, "o"));
	assert_null(hd_json_get_string(v, "missing"));
	assert_null(hd_json_get(v, "missing"));
	assert_null(hd_json_get(v, "S"));
	assert_null(hd_json_get(v, NULL));
	assert_null(hd_json_get(NULL, "s"));
	assert_null(hd_json_get_string(NULL, "s"));
	assert_false(hd_json_get_int(NULL, "n", &i));
	/* Lookups do not descend: "s" inside "o" is not a member of the top object. */
	assert_string_equal(hd_json_get_string(hd_json_get(v, "o"), "s"), "inner");
	/* Not objects. */
	assert_null(hd_json_get(arr, "s"));
	assert_null(hd_json_get(v->items[0], "s"));
	assert_null(hd_json_get_string(arr, "s"));
	assert_false(hd_json_get_int(arr, "s", &i));
	assert_false(hd_json_get_int(v, "s", &i));
	assert_false(hd_json_get_int(v, "missing", &i));
	assert_int_equal(i, -1);
	assert_true(hd_json_get_int(v, "n", &i));
	assert_int_equal(i, 5);
	hd_json_free(arr);
	hd_json_free(v);
}

static void test_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		double value;
	} cases[] = {
	    {"0", 0.0},
	    {"-0", -0.0},
	    {"1", 1.0},
	    {"-1", -1.0},
	    {"1e10", 1e10},
	    {"1E10", 1e10},
	    {"1e+10", 1e10},
	    {"-1.5e-3", -1.5e-3},
	    {"0.5", 0.5},
	    {"-0.0", -0.0},
	    {"0e0", 0.0},
	    {"12.25E-2", 0.1225},
	    {"123456789012345678901234567890", 123456789012345678901234567890.0},
	    {"9007199254740993", 9007199254740992.0},
	    {"-9223372036854775808", -9223372036854775808.0},
	    {"1.7976931348623157e308", 1.7976931348623157e308},
	    {"4.9e-324", 4.9e-324},
	    {"1e-400", 0.0}, /* underflow keeps the nearest double */
	    /* Longer than the on-stack copy in json.c. */
	    {"0.10000000000000000000000000000000000000000000000000000000000000000000000001", 0.1},
	};

	for (size_t k = 0; k < HD_ARRAY_SIZE(cases); k++) {
		struct hd_json *v = parse_ok(cases[k].text);
		assert_int_equal(v->type, HD_JSON_NUMBER);
		if (v->number != cases[k].value)
			print_error("%s parsed as %.17g\n", cases[k].text, v->number);
		assert_true(v->number == cases[k].value);
		assert_int_equal(!!signbit(v->number), !!signbit(cases[k].value));
		hd_json_free(v);
	}
}

static void test_get_int(void **state)
{
	(void)state;
	struct hd_json *v = parse_ok("{\"half\":3.5,\"two63\":9223372036854775808,\"i\":42,"
				     "\"neg\":-7,\"exp\":1e2,\"negzero\":-0,\"str\":\"5\","
				     "\"safe\":9007199254740991,\"unsafe\":9007199254740992,"
				     "\"negsafe\":-9007199254740991,\"min\":-9223372036854775808,"
				     "\"huge\":1e300,\"tiny\":1e-300,\"null\":null,\"t\":true,"
				     "\"frac\":1.0000001,\"intfrac\":2.000}");
	int64_t i;

	i = 99;
	assert_false(hd_json_get_int(v, "half", &i));
	assert_false(hd_json_get_int(v, "two63", &i));
	assert_false(hd_json_get_int(v, "min", &i));
	assert_false(hd_json_get_int(v, "unsafe", &i));
	assert_false(hd_json_get_int(v, "huge", &i));
	assert_false(hd_json_get_int(v, "tiny", &i));
	assert_false(hd_json_get_int(v, "str", &i));
	assert_false(hd_json_get_int(v, "null", &i));
	assert_false(hd_json_get_int(v, "t", &i));
	assert_false(hd_json_get_int(v, "frac", &i));
	assert_int_equal(i, 99); /* untouched on failure */

	assert_true(hd_json_get_int(v, "i", &i));
	assert_int_equal(i, 42);
	assert_true(hd_json_get_int(v, "neg", &i));
	assert_int_equal(i, -7);
	assert_true(hd_json_get_int(v, "exp", &i));
	assert_int_equal(i, 100);
	i = 5;
	assert_true(hd_json_get_int(v, "negzero", &i));
	assert_int_equal(i, 0);
	assert_true(hd_json_get_int(v, "safe", &i));
	assert_int_equal(i, INT64_C(9007199254740991));
	assert_true(hd_json_get_int(v, "negsafe", &i));
	assert_int_equal(i, INT64_C(-9007199254740991));
	assert_true(hd_json_get_int(v, "intfrac", &i));
	assert_int_equal(i, 2);
	assert_true(hd_json_get_int(v, "i", NULL));
	hd_json_free(v);
}

static void test_strings(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		const char *bytes;
		size_t len;
	} cases[] = {
	    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
	    {"\"\\u0041\"", "A", 1},
	    {"\"\\u0001\"", "\x01", 1},
	    {"\"\\u007f\"", "\x7f", 1},
	    {"\"\\u0080\"", "\xc2\x80", 2},
	    {"\"\\u00e9\"", "\xc3\xa9", 2},
	    {"\"\\u00E9\"", "\xc3\xa9", 2},
	    {"\"\\u07FF\"", "\xdf\xbf", 2},
	    {"\"\\u0800\"", "\xe0\xa0\x80", 3},
	    {"\"\\u20ac\"", "\xe2\x82\xac", 3},
	    {"\"\\ud7ff\"", "\xed\x9f\xbf", 3},
	    {"\"\\ue000\"", "\xee\x80\x80", 3},
	    {"\"\\uffff\"", "\xef\xbf\xbf", 3},
	    {"\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", 4},
	    {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
	    {"\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e", 4},
	    {"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4},
	    {"\"a\\u00e9b\\nc\"",
	     "a\xc3\xa9"
	     "b\nc",
	     6},
	    /* Raw UTF-8 at the edges of each sequence length passes through unchanged. */
	    {"\"\xc2\x80\xdf\xbf\"", "\xc2\x80\xdf\xbf", 4},
	    {"\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"",
	     "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 12},
	    {"\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8},
	    {"\"\x7f ~\"", "\x7f ~", 3},
	};

	for (size_t k = 0; k < HD_ARRAY_SIZE(cases); k++) {
		struct hd_json *v = parse_ok(cases[k].json);
		assert_int_equal(v->type, HD_JSON_STRING);
		assert_int_equal(v->string_len, cases[k].len);
		assert_memory_equal(v->string, cases[k].bytes, cases[k].len);
		assert_int_equal(v->string[v->string_len], '\0');
		hd_json_free(v);
	}

	/* Keys decode the same way. */
	struct hd_json *v = parse_ok("{\"\\u00e9t\\u00e9\":1,\"a\\tb\":2}");
	assert_string_equal(v->keys[0], "\xc3\xa9t\xc3\xa9");
	assert_string_equal(v->keys[1], "a\tb");
	assert_non_null(hd_json_get(v, "a\tb"));
	hd_json_free(v);
}

static void test_reject_syntax(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    " ",
	    "\n\t",
	    /* trailing commas, missing or doubled separators */
	    "[1,]",
	    "[1,2,]",
	    "[,]",
	    "[,1]",
	    "[1,,2]",
	    "{\"a\":1,}",
	    "{,}",
	    "{\"a\":1,,\"b\":2}",
	    "[1 2]",
	    "{\"a\" 1}",
	    "{\"a\":1 \"b\":2}",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{:1}",
	    /* comments */
	    "/* c */ 1",
	    "1 // c",
	    "[1 /* c */]",
	    "# c\n1",
	    /* quoting */
	    "'a'",
	    "{'a':1}",
	    "{a:1}",
	    "{1:2}",
	    "{null:1}",
	    "\"abc",
	    "\"abc\\\"",
	    "[\"a]",
	    /* literals */
	    "tru",
	    "nul",
	    "fals",
	    "True",
	    "NULL",
	    "nulll",
	    "truex",
	    "undefined",
	    /* numbers */
	    "01",
	    "-01",
	    "00",
	    "0.0.0",
	    "-",
	    "+1",
	    ".5",
	    "1.",
	    "1.e3",
	    "1e",
	    "1e+",
	    "1E-",
	    "-e1",
	    "0x10",
	    "NaN",
	    "-NaN",
	    "Infinity",
	    "-Infinity",
	    "inf",
	    "1e400",
	    "-1e400",
	    "1_000",
	    "- 1",
	    "--1",
	    "1ee1",
	    /* structure */
	    "1 2",
	    "[1]]",
	    "[",
	    "]",
	    "{",
	    "}",
	    "[[]",
	    "{\"a\":{}",
	    "[}",
	    "{]",
	    "\"a\" \"b\"",
	    /* whitespace JSON does not allow */
	    "\v1",
	    "1\f",
	    "\xc2\xa0\x31",
	    "\xef\xbb\xbf{}",
	};

	for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++)
		reject(bad[k]);
	reject_n("1\0", 2);
	reject_n("\0", 1);
	reject_n("[1,\0]", 5);
}

static void test_reject_strings(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    /* lone or malformed surrogates */
	    "\"\\ud800\"",
	    "\"\\udbff\"",
	    "\"\\udc00\"",
	    "\"\\udfff\"",
	    "\"\\ud800x\"",
	    "\"\\ud800\\u0041\"",
	    "\"\\ud800\\ud800\"",
	    "\"\\udc00\\ud800\"",
	    "\"\\ud800\\n\"",
	    "\"\\ud800\\\"",
	    "\"\\ud800\\u12\"",
	    "\"\\ud800\\\\udc00\"",
	    /* NUL */
	    "\"\\u0000\"",
	    "\"a\\u0000b\"",
	    /* bad escapes */
	    "\"\\x41\"",
	    "\"\\U0041\"",
	    "\"\\u41\"",
	    "\"\\u004\"",
	    "\"\\u12G4\"",
	    "\"\\u-123\"",
	    "\"\\a\"",
	    "\"\\0\"",
	    "\"\\'\"",
	    "\"\\ \"",
	    "\"\\",
	    "\"\\u",
	    "\"\\u00",
	    /* raw control characters */
	    "\"a\x01\"",
	    "\"\x1f\"",
	    "\"a\nb\"",
	    "\"a\tb\"",
	    "\"\r\"",
	    "{\"a\x02\":1}",
	    /* invalid UTF-8 */
	    "\"\x80\"",
	    "\"\xbf\"",
	    "\"\xc0\x80\"",
	    "\"\xc1\xbf\"",
	    "\"\xc2\"",
	    "\"\xc2\x41\"",
	    "\"\xe0\x80\x80\"",
	    "\"\xe0\x9f\xbf\"",
	    "\"\xed\xa0\x80\"",
	    "\"\xed\xbf\xbf\"",
	    "\"\xe2\x82\"",
	    "\"\xe2\x82\x41\"",
	    "\"\xf0\x80\x80\x80\"",
	    "\"\xf0\x8f\xbf\xbf\"",
	    "\"\xf4\x90\x80\x80\"",
	    "\"\xf5\x80\x80\x80\"",
	    "\"\xf7\xbf\xbf\xbf\"",
	    "\"\xf0\x9f\x98\"",
	    "\"\xf0\x9f\x98\x41\"",
	    "\"\xf8\x88\x80\x80\x80\"",
	    "\"\xfe\"",
	    "\"\xff\"",
	    "{\"\xc0\xaf\":1}",
	    "[\"ok\", \"\xed\xa0\x80\xed\xb0\x80\"]",
	    /* non-ASCII outside strings */
	    "\xc3\xa9",
	    "[\xc3\xa9]",
	};

	for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++)
		reject(bad[k]);
	/* A raw NUL inside a string. */
	reject_n("\"a\0b\"", 5);
}

static void test_error_offsets(void **state)
{
	(void)state;
	expect_error_at("[1,]", "byte 3");
	expect_error_at("{\"a\":01}", "byte 5");
	expect_error_at("\"ab\x01\"", "byte 3");
	expect_error_at("[\"\\ud800\"]", "byte 2");
	expect_error_at("  \"\xc0\x80\"", "byte 3");
	expect_error_at("{\"a\":1,\"b\":2,\"a\":3}", "byte 13");
	expect_error_at("1 x", "byte 2");
	expect_error_at("[1", "byte 2");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	struct hd_buf b;
	struct hd_json *v;

	reject("{\"a\":1,\"a\":2}");
	reject("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}");
	/* Keys compare after decoding. */
	reject("{\"a\":1,\"\\u0061\":2}");
	/* Same key in different objects is fine, as is a key differing in case. */
	v = parse_ok("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}],\"A\":0}");
	hd_json_free(v);

	/* Large objects take the sorted check: 100 distinct keys pass... */
	hd_buf_init(&b);
	hd_buf_puts(&b, "{");
	for (int i = 0; i < 100; i++)
		hd_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	hd_buf_puts(&b, "}");
	v = parse_ok_n(b.data, b.len);
	assert_int_equal(v->count, 100);
	int64_t n;
	assert_true(hd_json_get_int(v, "k73", &n));
	assert_int_equal(n, 73);
	hd_json_free(v);

	/* ...a duplicate of an early key at the end fails... */
	b.len--;
	hd_buf_puts(&b, ",\"k3\":0}");
	reject_n(b.data, b.len);

	/* ...and so does one where both copies are past the linearly checked prefix. */
	hd_buf_reset(&b);
	hd_buf_puts(&b, "{");
	for (int i = 0; i < 60; i++)
		hd_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i == 50 ? 20 : i, i);
	hd_buf_puts(&b, "}");
	reject_n(b.data, b.len);

	/* Exactly 16 keys with the duplicate as the 16th: the last linearly checked one. */
	hd_buf_reset(&b);
	hd_buf_puts(&b, "{");
	for (int i = 0; i < 16; i++)
		hd_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i == 15 ? 0 : i, i);
	hd_buf_puts(&b, "}");
	reject_n(b.data, b.len);

	/* 17 keys, duplicate as the 17th: the first one only the sorted check sees. */
	hd_buf_reset(&b);
	hd_buf_puts(&b, "{");
	for (int i = 0; i < 17; i++)
		hd_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i == 16 ? 0 : i, i);
	hd_buf_puts(&b, "}");
	reject_n(b.data, b.len);
	hd_buf_free(&b);
}

static char *nested(int depth, const char *open, const char *inner, const char *close)
{
	struct hd_buf b;

	hd_buf_init(&b);
	for (int i = 0; i < depth; i++)
		hd_buf_puts(&b, open);
	hd_buf_puts(&b, inner);
	for (int i = 0; i < depth; i++)
		hd_buf_puts(&b, close);
	return b.data;
}

static void test_depth(void **state)
{
	(void)state;
	struct hd_json *v;
	char *s;

	assert_int_equal(HD_JSON_MAX_DEPTH, 32);

	s = nested(32, "[", "", "]");
	v = parse_ok(s);
	for (int i = 1; i < 32; i++) {
		assert_int_equal(v->type, HD_JSON_ARRAY);
		assert_int_equal(v->count, 1);
		struct hd_json *inner = v->items[0];
		v->items[0] = NULL;
		hd_json_free(v);
		v = inner;
	}
	assert_int_equal(v->type, HD_JSON_ARRAY);
	assert_int_equal(v->count, 0);
	hd_json_free(v);
	free(s);

	s = nested(33, "[", "", "]");
	reject(s);
	expect_error_at(s, "byte 32");
	free(s);

	s = nested(32, "{\"a\":", "1", "}");
	hd_json_free(parse_ok(s));
	free(s);
	s = nested(33, "{\"a\":", "1", "}");
	reject(s);
	free(s);

	/* Mixed containers: 32 of them around a scalar is the limit, one more array is not. */
	s = nested(16, "[{\"k\":", "\"scalar inside 32 containers\"", "}]");
	hd_json_free(parse_ok(s));
	free(s);
	s = nested(16, "[{\"k\":", "[]", "}]");
	reject(s);
	free(s);

	/* Far deeper than the limit, unterminated: rejected without descending. */
	s = nested(200000, "[", "", "");
	reject(s);
	free(s);
}

static void test_value_limit(void **state)
{
	(void)state;
	struct hd_buf b;
	struct hd_json *v;

	/* The array itself is one value, so it may hold MAX_VALUES - 1 items. */
	hd_buf_init(&b);
	hd_buf_puts(&b, "[0");
	for (int i = 1; i < MAX_VALUES - 1; i++)
		hd_buf_puts(&b, ",0");
	hd_buf_puts(&b, "]");
	v = parse_ok_n(b.data, b.len);
	assert_int_equal(v->count, MAX_VALUES - 1);
	hd_json_free(v);

	b.len--;
	hd_buf_puts(&b, ",0]");
	reject_n(b.data, b.len);
	hd_buf_free(&b);

	/* Nested containers count too: 65536 values spelled as arrays of arrays. */
	hd_buf_init(&b);
	hd_buf_puts(&b, "[[]");
	for (int i = 1; i < MAX_VALUES; i++)
		hd_buf_puts(&b, ",[]");
	hd_buf_puts(&b, "]");
	reject_n(b.data, b.len);
	hd_buf_free(&b);
}

static void test_input_limit(void **state)
{
	(void)state;
	size_t n = HD_JSON_MAX_INPUT;
	char *s = malloc(n + 1);
	struct hd_json *v;

	assert_non_null(s);
	memset(s, ' ', n + 1);
	s[0] = '7';
	v = parse_ok_n(s, n);
	assert_true(v->number == 7.0);
	hd_json_free(v);
	reject_n(s, n + 1);

	/* A single string filling the whole limit. */
	memset(s, 'a', n);
	s[0] = '"';
	s[n - 1] = '"';
	v = parse_ok_n(s, n);
	assert_int_equal(v->string_len, n - 2);
	hd_json_free(v);
	free(s);
}

static void test_truncated_prefixes(void **state)
{
	(void)state;
	static const char doc[] =
	    "{\"cmd\":\"display-set\",\"args\":[0,-1280,7.2e2,true,false,null,"
	    "\"\\u00e9\\ud83d\\ude00\xc3\xa9\\n\"],\"o\":{\"k\":[]}}";
	size_t len = strlen(doc);

	hd_json_free(parse_ok(doc));
	for (size_t n = 0; n < len; n++)
		reject_n(doc, n);
}

static void test_not_nul_terminated(void **state)
{
	(void)state;
	/* The byte after len would extend the token; it must not be looked at. */
	const char num[] = "123";
	struct hd_json *v = parse_ok_n(num, 2);
	assert_true(v->number == 12.0);
	hd_json_free(v);

	v = parse_ok_n("1e5", 1);
	assert_true(v->number == 1.0);
	hd_json_free(v);

	v = parse_ok_n("0.5", 1);
	assert_true(v->number == 0.0);
	hd_json_free(v);

	v = parse_ok_n("[1]garbage", 3);
	assert_int_equal(v->count, 1);
	hd_json_free(v);

	v = parse_ok_n("\"ab\"\"", 4);
	assert_string_equal(v->string, "ab");
	hd_json_free(v);

	/* ...or would complete an invalid prefix; still invalid. */
	reject_n("true", 3);
	reject_n("\"ab\"", 3);
	reject_n("\"\\u0041\"", 6);
	reject_n("\"\\ud83d\\ude00\"", 12);
	reject_n("\"\xc3\xa9\"", 2);
	reject_n("-1", 1);
	reject_n("1.5", 2);
	reject_n("1e5", 2);

	/* The same through a stack buffer: a parse must not depend on bytes past len. */
	char buf[8];
	memcpy(buf, "[1,2]", 5);
	buf[5] = ']';
	v = parse_ok_n(buf, 5);
	assert_int_equal(v->count, 2);
	hd_json_free(v);
}

static void roundtrip(const char *s)
{
	struct hd_buf b;
	struct hd_json *v;

	hd_buf_init(&b);
	hd_json_write_string(&b, s);
	v = parse_ok_n(b.data, b.len);
	assert_int_equal(v->type, HD_JSON_STRING);
	assert_int_equal(v->string_len, strlen(s));
	assert_string_equal(v->string, s);
	hd_json_free(v);
	hd_buf_free(&b);
}

static void expect_written(const char *s, const char *json)
{
	struct hd_buf b;

	hd_buf_init(&b);
	hd_json_write_string(&b, s);
	assert_string_equal(b.data, json);
	assert_int_equal(b.len, strlen(json));
	hd_buf_free(&b);
}

static void test_write_string(void **state)
{
	(void)state;
	char all[128];
	struct hd_buf b;

	expect_written("", "\"\"");
	expect_written(NULL, "\"\"");
	expect_written("plain", "\"plain\"");
	expect_written("a\"b\\c", "\"a\\\"b\\\\c\"");
	expect_written("\n\x01\x1f\x7f", "\"\\u000a\\u0001\\u001f\\u007f\"");
	expect_written("/ ~", "\"/ ~\"");
	expect_written("caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");

	/* Appends, does not replace. */
	hd_buf_init(&b);
	hd_buf_puts(&b, "{\"k\":");
	hd_json_write_string(&b, "v\"");
	hd_buf_puts(&b, "}");
	assert_string_equal(b.data, "{\"k\":\"v\\\"\"}");
	hd_buf_free(&b);

	for (int i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	roundtrip(all);
	roundtrip("\"\"\\\\\"");
	roundtrip("\\u0041 is not an escape here");
	roundtrip("tab\tnewline\ncr\rbell\a");
	roundtrip("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
	roundtrip("mixed \"\xc3\xa9\"\\\x01\xe2\x82\xac");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_containers),
	    cmocka_unit_test(test_lookups),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_get_int),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_reject_syntax),
	    cmocka_unit_test(test_reject_strings),
	    cmocka_unit_test(test_error_offsets),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_value_limit),
	    cmocka_unit_test(test_input_limit),
	    cmocka_unit_test(test_truncated_prefixes),
	    cmocka_unit_test(test_not_nul_terminated),
	    cmocka_unit_test(test_write_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
