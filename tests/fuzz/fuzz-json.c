/* fuzz-json.c: libFuzzer target for common/json.c: parse arbitrary bytes, check the tree's
 * invariants and round-trip it through the writer. Not a unit test: no expected outputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() so both libFuzzer and the replay build report the input that broke an invariant. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-json: check failed: %s (line %d)\n", #cond,          \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_string_roundtrip(const char *s, size_t len)
{
	struct hd_buf b;
	struct hd_json *v = NULL;
	char err[256];
	int rc;

	CHECK(strlen(s) == len);
	hd_buf_init(&b);
	hd_json_write_string(&b, s);
	rc = hd_json_parse(b.data, b.len, &v, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fuzz-json: re-parse failed: %s\n", err);
	CHECK(rc == 0);
	CHECK(v->type == HD_JSON_STRING);
	CHECK(v->string_len == len);
	CHECK(memcmp(v->string, s, len + 1) == 0);
	hd_json_free(v);
	hd_buf_free(&b);
}

/* Writes a whole tree back as JSON. Numbers use %.17g, which reproduces every finite double
 * exactly, so the re-parsed tree must equal the original value for value. */
static void serialize(struct hd_buf *b, const struct hd_json *v)
{
	switch (v->type) {
	case HD_JSON_NULL:
		hd_buf_puts(b, "null");
		break;
	case HD_JSON_BOOL:
		hd_buf_puts(b, v->boolean ? "true" : "false");
		break;
	case HD_JSON_NUMBER:
		hd_buf_printf(b, "%.17g", v->number);
		break;
	case HD_JSON_STRING:
		hd_json_write_string(b, v->string);
		break;
	case HD_JSON_ARRAY:
		hd_buf_puts(b, "[");
		for (size_t i = 0; i < v->count; i++) {
			if (i)
				hd_buf_puts(b, ",");
			serialize(b, v->items[i]);
		}
		hd_buf_puts(b, "]");
		break;
	case HD_JSON_OBJECT:
		hd_buf_puts(b, "{");
		for (size_t i = 0; i < v->count; i++) {
			if (i)
				hd_buf_puts(b, ",");
			hd_json_write_string(b, v->keys[i]);
			hd_buf_puts(b, ":");
			serialize(b, v->items[i]);
		}
		hd_buf_puts(b, "}");
		break;
	}
}

static bool same_tree(const struct hd_json *a, const struct hd_json *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case HD_JSON_NULL:
		return true;
	case HD_JSON_BOOL:
		return a->boolean == b->boolean;
	case HD_JSON_NUMBER:
		/* memcmp, not ==, so -0 and 0 are told apart. */
		return memcmp(&a->number, &b->number, sizeof(a->number)) == 0;
	case HD_JSON_STRING:
		return a->string_len == b->string_len &&
		       memcmp(a->string, b->string, a->string_len) == 0;
	case HD_JSON_ARRAY:
	case HD_JSON_OBJECT:
		if (a->count != b->count)
			return false;
		for (size_t i = 0; i < a->count; i++) {
			if (a->type == HD_JSON_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0)
				return false;
			if (!same_tree(a->items[i], b->items[i]))
				return false;
		}
		return true;
	}
	return false;
}

static void walk(const struct hd_json *v, unsigned depth, size_t *values)
{
	(*values)++;
	switch (v->type) {
	case HD_JSON_NULL:
	case HD_JSON_BOOL:
		break;
	case HD_JSON_NUMBER:
		/* No NaN or infinity ever comes out of the parser. */
		CHECK(v->number == v->number);
		CHECK(v->number - v->number == 0);
		break;
	case HD_JSON_STRING:
		CHECK(v->string != NULL);
		check_string_roundtrip(v->string, v->string_len);
		break;
	case HD_JSON_ARRAY:
	case HD_JSON_OBJECT:
		CHECK(depth < HD_JSON_MAX_DEPTH);
		CHECK(v->count == 0 || v->items != NULL);
		for (size_t i = 0; i < v->count; i++) {
			if (v->type == HD_JSON_OBJECT) {
				const struct hd_json *got;
				int64_t n;

				check_string_roundtrip(v->keys[i], strlen(v->keys[i]));
				/* Keys are unique, so lookup finds this very member. */
				got = hd_json_get(v, v->keys[i]);
				CHECK(got == v->items[i]);
				CHECK((hd_json_get_string(v, v->keys[i]) != NULL) ==
				      (got->type == HD_JSON_STRING));
				if (hd_json_get_int(v, v->keys[i], &n))
					CHECK(got->type == HD_JSON_NUMBER &&
					      (double)n == got->number);
			}
			walk(v->items[i], depth + 1, values);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hd_json *v = NULL, *again = NULL;
	struct hd_buf b;
	size_t values = 0;
	char err[256];
	int rc;

	rc = hd_json_parse((const char *)data, size, &v, err, sizeof(err));
	if (rc != 0) {
		CHECK(v == NULL);
		CHECK(err[0] != '\0');
		CHECK(memchr(err, '\n', strlen(err)) == NULL);
		return 0;
	}
	CHECK(v != NULL);
	walk(v, 0, &values);
	CHECK(values <= 65536);

	/* Re-serializing can outgrow the input limit (one DEL byte becomes six); skip then. */
	hd_buf_init(&b);
	serialize(&b, v);
	if (b.len <= HD_JSON_MAX_INPUT) {
		rc = hd_json_parse(b.data, b.len, &again, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "fuzz-json: re-parse of the tree failed: %s\n", err);
		CHECK(rc == 0);
		CHECK(same_tree(v, again));
		hd_json_free(again);
	}
	hd_buf_free(&b);
	hd_json_free(v);
	return 0;
}
