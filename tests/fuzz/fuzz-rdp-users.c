/* fuzz-rdp-users.c: libFuzzer target for the RDP users file parser (display-broker/
 * rdp-users.c), which reads a file a user wrote: parse arbitrary bytes and check that whatever
 * is accepted is a table of valid, distinct names each with a password or an NT hash. Not a
 * unit test: no expected outputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-rdp-users: check failed: %s (line %d)\n", #cond,     \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: a read past the end is the sanitizer's to find. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct broker_users *u = NULL;
	char err[256];
	err[0] = 0;
	int rc = broker_users_parse(text, size, &u, err, sizeof(err));
	free(text);
	if (rc < 0) {
		CHECK(!u);
		CHECK(err[0] && !strchr(err, '\n') && strlen(err) < sizeof(err));
		return 0;
	}
	CHECK(u && rc == 0);
	CHECK(u->nr >= 1 && u->nr <= BROKER_USERS_MAX);
	CHECK(broker_users_count(u) == u->nr);
	for (unsigned i = 0; i < u->nr; i++) {
		const struct broker_user *e = &u->users[i];
		size_t n = strnlen(e->name, sizeof(e->name));
		CHECK(n >= 1 && n <= BROKER_USER_MAX);
		for (size_t k = 0; k < n; k++) {
			char c = e->name[k];
			CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@');
		}
		if (!e->has_hash) {
			size_t pl = strnlen(e->password, sizeof(e->password));
			CHECK(pl >= 1 && pl <= BROKER_PASSWORD_MAX);
			for (size_t k = 0; k < pl; k++)
				CHECK((unsigned char)e->password[k] >= 0x20 && e->password[k] != 0x7f);
		}
		CHECK(broker_users_find(u, e->name) == e);
		for (unsigned j = 0; j < i; j++)
			CHECK(strcasecmp(u->users[j].name, e->name) != 0);
	}
	broker_users_free(u);
	return 0;
}
