/* fuzz-http.c: libFuzzer target for the broker's HTTP request parser (display-broker/
 * http-parse.c), which reads what any web client sends: parse arbitrary bytes as a request and
 * as a path, and check that whatever is accepted can only name a file under the web root.
 * Not a unit test: no expected outputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-http: check failed: %s (line %d)\n", #cond,          \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A clean path: relative, no empty, "." or ".." segment, nothing hidden, no control bytes. */
static void check_clean(const char *p, size_t cap)
{
	size_t n = strnlen(p, cap);
	CHECK(n < cap);
	if (!n)
		return;
	CHECK(p[0] != '/' && p[n - 1] != '/');
	CHECK(!strstr(p, "//"));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		CHECK(c >= 0x20 && c != 0x7f && c != '\\');
		if (i == 0 || p[i - 1] == '/')
			CHECK(c != '.');
	}
	CHECK(http_content_type(p) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so a read past the end is caught. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	struct http_request req;
	int r = http_parse_request(buf, size, &req);
	CHECK(r <= (int)size && r <= HTTP_MAX_REQUEST);
	if (r > 0) {
		CHECK(r >= 4 && !memcmp(buf + r - 4, "\r\n\r\n", 4));
		check_clean(req.path, sizeof(req.path));
		CHECK(strnlen(req.query, sizeof(req.query)) < sizeof(req.query));
	} else if (r == 0) {
		CHECK(size < HTTP_MAX_REQUEST);
	} else {
		CHECK(http_reason(-r) != NULL && -r >= 400 && -r < 600);
	}

	char out[256];
	if (http_clean_path(buf, size, out, sizeof(out)) == 0)
		check_clean(out, sizeof(out));
	free(buf);
	return 0;
}
