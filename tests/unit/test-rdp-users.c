/* test-rdp-users.c: cmocka tests for the RDP users file parser (display-broker/rdp-users.c):
 * what it accepts, exactly what it stores, and that each malformed line is refused with its
 * line number. Not NLA itself (that needs a client: tests/integration/rdp-topology.sh). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker-internal.h"

/* Parses a copy of exactly len bytes with no NUL after it (ASan sees any overread). */
static int parse_n(const char *text, size_t len, struct broker_users **out, char *err,
		   size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	int rc = broker_users_parse(copy, len, out, err, errlen);
	free(copy);
	return rc;
}

static struct broker_users *parse_ok(const char *text)
{
	struct broker_users *u = NULL;
	char err[256] = "";
	int rc = parse_n(text, strlen(text), &u, err, sizeof(err));
	if (rc)
		print_error("unexpected rejection of '%s': %s\n", text, err);
	assert_int_equal(rc, 0);
	assert_non_null(u);
	return u;
}

/* Expects a refusal whose one-line reason contains want. */
static void reject(const char *text, const char *want)
{
	struct broker_users *u = (struct broker_users *)&u;
	char err[256] = "";
	int rc = parse_n(text, strlen(text), &u, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_null(u);
	if (!strstr(err, want))
		print_error("for '%s': want '%s' in '%s'\n", text, want, err);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
}

static void test_password_and_hash(void **state)
{
	(void)state;
	struct broker_users *u = parse_ok("# users\n"
					  "\n"
					  "alice:s3cret pass:with colon\r\n"
					  "Bob.Smith@example::8846F7EAEE8FB117AD06BDD830B7586C\n");
	assert_int_equal(broker_users_count(u), 2);
	const struct broker_user *a = broker_users_find(u, "ALICE");
	assert_non_null(a);
	assert_false(a->has_hash);
	assert_string_equal(a->name, "alice");
	assert_string_equal(a->password, "s3cret pass:with colon");
	const struct broker_user *b = broker_users_find(u, "bob.smith@example");
	assert_non_null(b);
	assert_true(b->has_hash);
	static const uint8_t want[16] = {0x88, 0x46, 0xf7, 0xea, 0xee, 0x8f, 0xb1, 0x17,
					 0xad, 0x06, 0xbd, 0xd8, 0x30, 0xb7, 0x58, 0x6c};
	assert_memory_equal(b->nt_hash, want, 16);
	assert_null(broker_users_find(u, "carol"));
	broker_users_free(u);
}

static void test_utf8_password_and_no_final_newline(void **state)
{
	(void)state;
	struct broker_users *u = parse_ok("jo:p\xc3\xa4ss\xe2\x82\xac");
	assert_string_equal(broker_users_find(u, "jo")->password, "p\xc3\xa4ss\xe2\x82\xac");
	broker_users_free(u);
}

static void test_refusals(void **state)
{
	(void)state;
	reject("", "no users");
	reject("# only a comment\n\n", "no users");
	reject("alice\n", "line 1: no ':'");
	reject("ok:fine\n:pw\n", "line 2: empty user name");
	reject("alice:\n", "line 1: empty password");
	reject("al ice:pw\n", "line 1: user name: character 3");
	reject(" alice:pw\n", "line 1: begins with white space");
	reject("alice:pw\nALICE:other\n", "line 2: user 'ALICE' again");
	reject("bob::8846F7EAEE8FB117AD06BDD830B7586\n", "line 1: an NT hash is 32 hex digits");
	reject("bob::8846F7EAEE8FB117AD06BDD830B7586CC\n", "32 hex digits, not 33");
	reject("bob::8846F7EAEE8FB117AD06BDD830B7586G\n", "not hex");
	reject("alice:pw\x01x\n", "control characters");
	reject("alice:pw\xff\n", "not UTF-8");
	reject("alice:pw\xc3\n", "not UTF-8");
	reject("alice:\xed\xa0\x80\n", "not UTF-8"); /* a surrogate */
	reject("alice:\xe0\x80\xaf\n", "not UTF-8"); /* overlong */
}

static void test_nul_byte(void **state)
{
	(void)state;
	struct broker_users *u = NULL;
	char err[256];
	assert_int_equal(parse_n("a:b\nc:d\0e\n", 10, &u, err, sizeof(err)), -EINVAL);
	assert_null(u);
	assert_non_null(strstr(err, "line 2: a NUL byte"));
}

static void test_limits(void **state)
{
	(void)state;
	char name[BROKER_USER_MAX + 2];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	char line[BROKER_USERS_LINE_MAX + 8];
	snprintf(line, sizeof(line), "%s:pw\n", name);
	reject(line, "user name longer than 64");
	name[BROKER_USER_MAX] = 0; /* exactly 64: fine */
	snprintf(line, sizeof(line), "%s:pw\n", name);
	broker_users_free(parse_ok(line));

	char pw[BROKER_PASSWORD_MAX + 2];
	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = 0;
	snprintf(line, sizeof(line), "u:%s\n", pw);
	reject(line, "password longer than 256");

	char *long_line = malloc(BROKER_USERS_LINE_MAX + 16);
	assert_non_null(long_line);
	memset(long_line, '#', BROKER_USERS_LINE_MAX + 1);
	strcpy(long_line + BROKER_USERS_LINE_MAX + 1, "\n");
	reject(long_line, "line 1: longer than 1024");
	free(long_line);

	/* BROKER_USERS_MAX users, then one more. */
	size_t cap = (BROKER_USERS_MAX + 1) * 16 + 1, len = 0;
	char *many = malloc(cap);
	assert_non_null(many);
	for (int i = 0; i < BROKER_USERS_MAX; i++)
		len += (size_t)snprintf(many + len, cap - len, "u%d:pw\n", i);
	struct broker_users *u = parse_ok(many);
	assert_int_equal(broker_users_count(u), BROKER_USERS_MAX);
	broker_users_free(u);
	snprintf(many + len, cap - len, "extra:pw\n");
	reject(many, "more than 256 users");
	free(many);

	char *huge = calloc(1, BROKER_USERS_FILE_MAX + 2);
	assert_non_null(huge);
	memset(huge, '\n', BROKER_USERS_FILE_MAX + 1);
	reject(huge, "larger than");
	free(huge);
}

static void test_load_refuses_open_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test-rdp-users-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "alice:pw\n", 9), 9);
	close(fd);
	struct broker_users *u = NULL;
	char err[256];
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(broker_users_load(path, &u, err, sizeof(err)), -EPERM);
	assert_null(u);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(broker_users_load(path, &u, err, sizeof(err)), 0);
	assert_int_equal(broker_users_count(u), 1);
	broker_users_free(u);
	unlink(path);
	assert_true(broker_users_load(path, &u, err, sizeof(err)) < 0);
	assert_null(u);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_and_hash),
		cmocka_unit_test(test_utf8_password_and_no_final_newline),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load_refuses_open_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
