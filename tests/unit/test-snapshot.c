/* test-snapshot.c: the snapshot file format through its own writer and parser: round trip,
 * section readers, and every kind of damage refused with a one-line reason. Not the VM's
 * save/restore (tests/integration/snapshot.sh runs those on KVM). */
#include <errno.h>
#include <fcntl.h>
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

#include "hd-common.h"
#include "hv-internal.h"

#define FILE_HDR 64
#define SEC_HDR  32

static char dir[] = "/tmp/test-snapshot.XXXXXX";
static char path[256];
static uint8_t *img;
static size_t img_len;
/* Where each section's header starts in img, in order, then the end record's. */
static size_t sec_at[8];
static unsigned nsec;

static const uint8_t payload_a[] = "alpha payload";
static uint8_t payload_big[10000];

static uint8_t *slurp(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void spill(const char *p, const void *b, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
}

/* Three sections: "a" (v1, in one piece), "big" (v7, streamed in pieces), "empty" (v2). */
static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.snap", dir);
	for (size_t i = 0; i < sizeof(payload_big); i++)
		payload_big[i] = (uint8_t)(i * 7 + 3);
	struct hv_snap_writer *w;
	char err[512];
	assert_int_equal(hv_snap_writer_open(path, &w, err, sizeof(err)), 0);
	hv_snap_writer_section(w, "a", 1, payload_a, sizeof(payload_a));
	hv_snap_writer_begin(w, "big", 7, sizeof(payload_big));
	for (size_t off = 0; off < sizeof(payload_big); off += 1000)
		hv_snap_writer_data(w, payload_big + off, 1000);
	hv_snap_writer_end(w);
	hv_snap_writer_section(w, "empty", 2, "", 0);
	uint64_t bytes = 0;
	assert_int_equal(hv_snap_writer_commit(w, &bytes, err, sizeof(err)), 0);
	img = slurp(path, &img_len);
	assert_int_equal(bytes, img_len);
	size_t off = FILE_HDR;
	nsec = 0;
	while (off < img_len) {
		uint64_t len;
		memcpy(&len, img + off + 16, 8);
		sec_at[nsec++] = off;
		off += SEC_HDR + len;
	}
	assert_int_equal(off, img_len);
	assert_int_equal(nsec, 4);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(img);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Parses buf; asserts a refusal whose one-line reason contains want (NULL: any). */
static void refused(const uint8_t *buf, size_t len, const char *want)
{
	struct hv_snap_index *idx = malloc(sizeof(*idx));
	char err[256] = "";
	int r = hv_snapshot_parse(buf, len, idx, err, sizeof(err));
	if (r != -EINVAL || !err[0] || strchr(err, '\n') || (want && !strstr(err, want)))
		fail_msg("len %zu: got %d '%s', wanted a refusal saying '%s'", len, r, err,
			 want ? want : "(anything)");
	free(idx);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct hv_snap_index *idx = malloc(sizeof(*idx));
	char err[256] = "";
	assert_int_equal(hv_snapshot_parse(img, img_len, idx, err, sizeof(err)), 0);
	assert_int_equal(idx->count, 3);
	assert_string_equal(idx->sec[0].name, "a");
	assert_int_equal(idx->sec[0].version, 1);
	assert_int_equal(idx->sec[0].len, sizeof(payload_a));
	assert_memory_equal(idx->sec[0].data, payload_a, sizeof(payload_a));
	assert_string_equal(idx->sec[1].name, "big");
	assert_int_equal(idx->sec[1].version, 7);
	assert_int_equal(idx->sec[1].len, sizeof(payload_big));
	assert_memory_equal(idx->sec[1].data, payload_big, sizeof(payload_big));
	assert_string_equal(idx->sec[2].name, "empty");
	assert_int_equal(idx->sec[2].version, 2);
	assert_int_equal(idx->sec[2].len, 0);

	struct hv_snap_in in;
	assert_false(hv_snap_index_find(idx, "missing", &in));
	assert_true(hv_snap_index_find(idx, "big", &in));
	assert_true(idx->sec[1].used);
	assert_false(idx->sec[0].used);
	assert_int_equal(in.version, 7);
	assert_int_equal(in.len, sizeof(payload_big));
	free(idx);

	/* The same through the file API, and the no-temporary-left promise of the writer. */
	struct hv_snapshot *s;
	assert_int_equal(hv_snapshot_open(path, &s, err, sizeof(err)), 0);
	assert_true(hv_snapshot_section(s, "a", &in));
	assert_memory_equal(in.p, payload_a, sizeof(payload_a));
	hv_snapshot_close(s);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) = 1", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_readers(void **state)
{
	(void)state;
	struct hd_buf b;
	hd_buf_init(&b);
	hv_snap_put_u8(&b, 0xab);
	hv_snap_put_u32(&b, 0x12345678);
	hv_snap_put_u64(&b, 0x1122334455667788ull);
	hv_snap_put(&b, "xyz", 3);
	struct hv_snap_in in = {.p = (const uint8_t *)b.data, .len = b.len};
	assert_int_equal(hv_snap_get_u8(&in), 0xab);
	assert_int_equal(hv_snap_get_u32(&in), 0x12345678);
	assert_true(hv_snap_get_u64(&in) == 0x1122334455667788ull);
	assert_false(hv_snap_in_done(&in));
	assert_memory_equal(hv_snap_get_ptr(&in, 3), "xyz", 3);
	assert_true(hv_snap_in_done(&in));
	/* Past the end: zeroes, and the input is marked bad for good. */
	assert_int_equal(hv_snap_get_u32(&in), 0);
	assert_true(in.bad);
	assert_false(hv_snap_in_done(&in));
	assert_null(hv_snap_get_ptr(&in, 0));
	struct hv_snap_in in2 = {.p = (const uint8_t *)b.data, .len = b.len};
	assert_null(hv_snap_get_ptr(&in2, SIZE_MAX));
	assert_true(in2.bad);
	hd_buf_free(&b);
}

static void test_uart_round_trip(void **state)
{
	(void)state;
	struct hv_uart u, v;
	hv_uart_init(&u, NULL, HV_IRQ_UART0, -1);
	hv_uart_init(&v, NULL, HV_IRQ_UART0, -1);
	assert_int_equal(hv_uart_receive(&u, (const uint8_t *)"hello", 5), 5);
	uint8_t scr = 0x5a;
	hv_uart_io(&u, 7, &scr, 1, true);
	struct hd_buf b;
	hd_buf_init(&b);
	hv_uart_save(&u, &b);
	struct hv_snap_in in = {.p = (const uint8_t *)b.data, .len = b.len, .version = 1};
	char err[256] = "";
	assert_int_equal(hv_uart_load(&v, &in, err, sizeof(err)), 0);
	assert_int_equal(v.rx_count, 5);
	uint8_t c = 0;
	hv_uart_io(&v, 7, &c, 1, false);
	assert_int_equal(c, 0x5a);
	hv_uart_io(&v, 0, &c, 1, false);
	assert_int_equal(c, 'h');
	/* One byte short or one too many: refused. */
	in = (struct hv_snap_in){.p = (const uint8_t *)b.data, .len = b.len - 1};
	assert_int_equal(hv_uart_load(&v, &in, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "wrong size"));
	hd_buf_append(&b, "", 1);
	in = (struct hv_snap_in){.p = (const uint8_t *)b.data, .len = b.len};
	assert_int_equal(hv_uart_load(&v, &in, err, sizeof(err)), -EINVAL);
	hd_buf_free(&b);
}

static void test_bad_magic(void **state)
{
	(void)state;
	uint8_t *b = malloc(img_len);
	memcpy(b, img, img_len);
	b[2] ^= 1;
	refused(b, img_len, "bad magic");
	refused((const uint8_t *)"hello, world\n", 13, "bad magic");
	refused(b, 0, "bad magic");
	free(b);
}

static void test_unsupported_version(void **state)
{
	(void)state;
	uint8_t *b = malloc(img_len);
	memcpy(b, img, img_len);
	uint32_t v = HV_SNAP_VERSION + 1;
	memcpy(b + 8, &v, 4);
	refused(b, img_len, "unsupported snapshot format version 2 (this build reads 1)");
	v = 0;
	memcpy(b + 8, &v, 4);
	refused(b, img_len, "version 0");
	free(b);
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	for (size_t n = 0; n < img_len; n++) {
		uint8_t *b = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
		memcpy(b, img, n);
		refused(b, n, n < FILE_HDR ? "bad magic" : "truncated");
		free(b);
	}
}

static void test_flipped_payload_byte(void **state)
{
	(void)state;
	static const char *const names[] = {"'a'", "'big'"};
	for (unsigned s = 0; s < 2; s++) {
		uint64_t len;
		memcpy(&len, img + sec_at[s] + 16, 8);
		for (size_t i = 0; i < len; i += s ? 97 : 1) {
			uint8_t *b = malloc(img_len);
			memcpy(b, img, img_len);
			b[sec_at[s] + SEC_HDR + i] ^= 0x10;
			char want[64];
			snprintf(want, sizeof(want), "checksum mismatch in section %s", names[s]);
			refused(b, img_len, want);
			free(b);
		}
	}
}

static void test_flipped_header_byte(void **state)
{
	(void)state;
	/* Every byte of the file header and of every section header, end record included:
	 * payload checksums do not cover those, the end record's whole-file checksum does. */
	for (size_t i = 0; i < img_len; i++) {
		bool hdr = i < FILE_HDR;
		for (unsigned s = 0; s < nsec; s++)
			hdr |= i >= sec_at[s] && i < sec_at[s] + SEC_HDR;
		if (!hdr)
			continue;
		uint8_t *b = malloc(img_len);
		memcpy(b, img, img_len);
		b[i] ^= 0x01;
		refused(b, img_len, NULL);
		b[i] ^= 0x81; /* a high bit too */
		refused(b, img_len, NULL);
		free(b);
	}
	/* and the reasons for a few that matter */
	uint8_t *b = malloc(img_len);
	memcpy(b, img, img_len);
	b[16] = 'a'; /* arch */
	refused(b, img_len, "another host (arch 'a86_64'");
	b[17] = '\n'; /* bytes from the file never break the one-line message */
	refused(b, img_len, "another host (arch 'a?6_64'");
	b[16] = 'x';
	b[17] = '8';
	b[FILE_HDR - 1] ^= 1; /* producer: only the whole-file checksum sees it */
	refused(b, img_len, "whole-file checksum mismatch");
	b[FILE_HDR - 1] ^= 1;
	b[sec_at[0] + 15] = 'z'; /* the name is no longer NUL-terminated */
	refused(b, img_len, "bad section name at byte 64");
	b[sec_at[0] + 15] = 0;
	b[sec_at[1] + 1] = '\n'; /* "b\ng": a name that would break the message */
	refused(b, img_len, "bad section name at byte");
	b[sec_at[1] + 1] = 'i';
	b[sec_at[1] + 24] ^= 1; /* the "big" section's version */
	refused(b, img_len, "whole-file checksum mismatch");
	free(b);
}

static void set_len(uint8_t *b, unsigned s, uint64_t len)
{
	memcpy(b + sec_at[s] + 16, &len, 8);
}

static void test_length_past_end(void **state)
{
	(void)state;
	uint8_t *b = malloc(img_len);
	memcpy(b, img, img_len);
	size_t left = img_len - sec_at[1] - SEC_HDR;
	uint64_t lens[] = {left + 1, left + 4096, 1ull << 40, UINT64_MAX, UINT64_MAX - 31};
	for (size_t i = 0; i < HD_ARRAY_SIZE(lens); i++) {
		set_len(b, 1, lens[i]);
		refused(b, img_len, "truncated: section 'big' needs");
	}
	/* Exactly to the end: the payload checksum fails first, nothing is read past it. */
	set_len(b, 1, left);
	refused(b, img_len, "checksum mismatch in section 'big'");
	/* The end record with a length. */
	memcpy(b, img, img_len);
	set_len(b, 3, 1);
	refused(b, img_len, "whole-file checksum mismatch");
	free(b);
}

static void test_duplicate_section(void **state)
{
	(void)state;
	char err[512];
	struct hv_snap_writer *w;
	assert_int_equal(hv_snap_writer_open(path, &w, err, sizeof(err)), 0);
	hv_snap_writer_section(w, "a", 1, payload_a, sizeof(payload_a));
	hv_snap_writer_section(w, "b", 1, payload_a, 3);
	hv_snap_writer_section(w, "a", 1, payload_a, 4);
	assert_int_equal(hv_snap_writer_commit(w, NULL, err, sizeof(err)), 0);
	size_t n;
	uint8_t *b = slurp(path, &n);
	refused(b, n, "section 'a' twice");
	free(b);
	/* More sections than the index holds. */
	assert_int_equal(hv_snap_writer_open(path, &w, err, sizeof(err)), 0);
	for (int i = 0; i <= HV_SNAP_MAX_SECTIONS; i++) {
		char name[HV_SNAP_NAME_MAX];
		snprintf(name, sizeof(name), "s%d", i);
		hv_snap_writer_section(w, name, 1, "", 0);
	}
	assert_int_equal(hv_snap_writer_commit(w, NULL, err, sizeof(err)), 0);
	b = slurp(path, &n);
	refused(b, n, "more than 64 sections");
	free(b);
}

static void test_bytes_after_end(void **state)
{
	(void)state;
	uint8_t *b = malloc(img_len + SEC_HDR);
	memcpy(b, img, img_len);
	memset(b + img_len, 0, SEC_HDR);
	refused(b, img_len + 1, "1 bytes after the end marker");
	/* A second end record after the first. */
	memcpy(b + img_len, img + sec_at[3], SEC_HDR);
	refused(b, img_len + SEC_HDR, "32 bytes after the end marker");
	free(b);
}

static void test_writer_misuse_leaves_nothing(void **state)
{
	(void)state;
	char err[512] = "", p[300];
	snprintf(p, sizeof(p), "%s/bad.snap", dir);
	struct hv_snap_writer *w;
	assert_int_equal(hv_snap_writer_open(p, &w, err, sizeof(err)), 0);
	hv_snap_writer_begin(w, "x", 1, 4);
	hv_snap_writer_data(w, "toolong", 7); /* more than announced */
	hv_snap_writer_end(w);
	assert_true(hv_snap_writer_commit(w, NULL, err, sizeof(err)) < 0);
	assert_true(err[0] != '\0');
	assert_int_equal(access(p, F_OK), -1);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls '%s' | grep tmp)\"", dir);
	assert_int_equal(system(cmd), 0);
	/* A directory that does not exist. */
	snprintf(p, sizeof(p), "%s/no/such/dir/s.snap", dir);
	assert_true(hv_snap_writer_open(p, &w, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot create"));
}

static void test_open_refusals(void **state)
{
	(void)state;
	char err[512] = "", p[300];
	struct hv_snapshot *s = NULL;
	snprintf(p, sizeof(p), "%s/missing.snap", dir);
	assert_int_equal(hv_snapshot_open(p, &s, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open snapshot"));
	assert_int_equal(hv_snapshot_open(dir, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular, non-empty file"));
	snprintf(p, sizeof(p), "%s/empty.snap", dir);
	spill(p, "", 0);
	assert_int_equal(hv_snapshot_open(p, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular, non-empty file"));
	spill(p, img, img_len - 1);
	assert_int_equal(hv_snapshot_open(p, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "refusing snapshot"));
	assert_non_null(strstr(err, "truncated"));
	assert_null(strchr(err, '\n'));
}

int main(void)
{
	hd_log_set_level(HD_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_readers),
		cmocka_unit_test(test_uart_round_trip),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_unsupported_version),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_flipped_payload_byte),
		cmocka_unit_test(test_flipped_header_byte),
		cmocka_unit_test(test_length_past_end),
		cmocka_unit_test(test_duplicate_section),
		cmocka_unit_test(test_bytes_after_end),
		cmocka_unit_test(test_writer_misuse_leaves_nothing),
		cmocka_unit_test(test_open_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
