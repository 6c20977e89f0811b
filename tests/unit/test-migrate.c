/* test-migrate.c: the pieces of live migration that need no VM: the dirty bitmap (ranges,
 * word edges, take-and-clear, runs), device writes marking it, the SIGBUS-safe copy, and the
 * stream codec: a round trip through the writer and the receiving parser, and every kind of
 * bad header or record refused. Not a migration between VMs (tests/integration/migrate.sh). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hd-common.h"
#include "hv-internal.h"

#define PAGE 4096u

/* ---- dirty bitmap ---- */

static uint64_t count_bits(const uint64_t *w, size_t n)
{
	uint64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (uint64_t)__builtin_popcountll(w[i]);
	return c;
}

static void test_dirty_ranges(void **state)
{
	(void)state;
	struct hv_dirty *d = hv_dirty_new(200); /* not a multiple of 64 */
	uint64_t out[4];
	assert_int_equal(hv_dirty_words(d), 4);
	assert_int_equal(hv_dirty_take(d, out), 0);

	hv_dirty_set_range(d, 0, 1);
	hv_dirty_set_range(d, 63, 2);  /* across a word edge */
	hv_dirty_set_range(d, 128, 64); /* exactly one whole word */
	hv_dirty_set_range(d, 199, 5); /* clipped at the end */
	hv_dirty_set_range(d, 500, 5); /* wholly outside: ignored */
	hv_dirty_set_range(d, 10, 0);  /* empty */
	assert_int_equal(hv_dirty_take(d, out), 1 + 2 + 64 + 1);
	assert_int_equal(out[0], 1ull | 1ull << 63);
	assert_int_equal(out[1], 1ull);
	assert_int_equal(out[2], ~0ull);
	assert_int_equal(out[3], 1ull << (199 - 192));
	/* take cleared it */
	assert_int_equal(hv_dirty_take(d, out), 0);
	assert_int_equal(count_bits(out, 4), 0);
	/* setting twice counts once */
	hv_dirty_set_range(d, 5, 3);
	hv_dirty_set_range(d, 6, 3);
	assert_int_equal(hv_dirty_take(d, out), 4);
	hv_dirty_free(d);
}

static void test_dirty_runs(void **state)
{
	(void)state;
	uint64_t bits[3] = {0, 0, 0};
	uint64_t pages = 150, pos = 0, start, n;
	/* 3..5, 62..70 (across a word), 140..149 (to the end) */
	for (uint64_t i = 3; i <= 5; i++)
		bits[i / 64] |= 1ull << (i % 64);
	for (uint64_t i = 62; i <= 70; i++)
		bits[i / 64] |= 1ull << (i % 64);
	for (uint64_t i = 140; i < 150; i++)
		bits[i / 64] |= 1ull << (i % 64);
	bits[2] |= 1ull << 40; /* page 168: beyond pages, never reported */

	assert_true(hv_dirty_next_run(bits, pages, &pos, 256, &start, &n));
	assert_int_equal(start, 3);
	assert_int_equal(n, 3);
	assert_true(hv_dirty_next_run(bits, pages, &pos, 256, &start, &n));
	assert_int_equal(start, 62);
	assert_int_equal(n, 9);
	/* a run longer than max_run comes in pieces */
	assert_true(hv_dirty_next_run(bits, pages, &pos, 4, &start, &n));
	assert_int_equal(start, 140);
	assert_int_equal(n, 4);
	assert_true(hv_dirty_next_run(bits, pages, &pos, 4, &start, &n));
	assert_int_equal(start, 144);
	assert_int_equal(n, 4);
	assert_true(hv_dirty_next_run(bits, pages, &pos, 4, &start, &n));
	assert_int_equal(start, 148);
	assert_int_equal(n, 2);
	assert_false(hv_dirty_next_run(bits, pages, &pos, 4, &start, &n));
	assert_int_equal(pos, pages);
	/* an empty map */
	uint64_t none[3] = {0, 0, 0};
	pos = 0;
	assert_false(hv_dirty_next_run(none, pages, &pos, 256, &start, &n));
}

static void test_device_writes_mark(void **state)
{
	(void)state;
	struct hv_mem m;
	assert_int_equal(hv_mem_init(&m, 4u << 20), 0);
	uint8_t buf[PAGE + 8];
	memset(buf, 1, sizeof(buf));
	/* Nothing traces: writes work and mark nothing. */
	assert_int_equal(hv_mem_write(&m, 0, buf, 8), 0);
	m.dirty = hv_dirty_new(m.size / PAGE);
	assert_int_equal(hv_mem_write(&m, 0, buf, 8), 0);
	uint64_t out[16];
	assert_int_equal(hv_dirty_take(m.dirty, out), 0); /* not active yet */
	hv_dirty_set_active(m.dirty, true);
	assert_int_equal(hv_mem_write(&m, 3 * PAGE - 4, buf, 8), 0); /* straddles pages 2 and 3 */
	hv_mem_mark_dirty(&m, 10 * PAGE, PAGE);                       /* exactly page 10 */
	hv_mem_mark_dirty(&m, m.size - 1, 2);                         /* past the end: ignored */
	assert_int_equal(hv_mem_write(&m, m.size - 4, buf, 8), -EFAULT);
	assert_int_equal(hv_dirty_take(m.dirty, out), 3);
	assert_int_equal(out[0], (1ull << 2) | (1ull << 3) | (1ull << 10));
	hv_dirty_set_active(m.dirty, false);
	hv_mem_mark_dirty(&m, 0, PAGE);
	assert_int_equal(hv_dirty_take(m.dirty, out), 0);
	hv_dirty_free(m.dirty);
	m.dirty = NULL;
	hv_mem_fini(&m);
}

static void test_safe_copy(void **state)
{
	(void)state;
	struct hv_mem m;
	assert_int_equal(hv_mem_init(&m, 2u << 20), 0);
	memset(m.base, 0x5a, 3 * PAGE);
	uint8_t buf[3 * PAGE];
	assert_int_equal(hv_mem_copy_safe(buf, m.base, sizeof(buf)), 0);
	assert_int_equal(buf[PAGE], 0x5a);
	/* A poisoned page in the middle: the copy fails instead of killing us, again and again,
	 * and its neighbours still read. */
	assert_int_equal(hv_mem_poison(&m, PAGE + 12), 0);
	assert_int_equal(hv_mem_copy_safe(buf, m.base, sizeof(buf)), -EIO);
	assert_int_equal(hv_mem_copy_safe(buf, m.base + PAGE, PAGE), -EIO);
	assert_int_equal(hv_mem_copy_safe(buf, m.base, PAGE), 0);
	assert_int_equal(hv_mem_copy_safe(buf, m.base + 2 * PAGE, PAGE), 0);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(hv_mem_poison(&m, m.size), -EFAULT);
	hv_mem_fini(&m);
}

/* ---- stream codec ---- */

struct pipe {
	uint8_t *data;
	size_t len, cap, off;
	size_t max_chunk; /* reads return at most this much, to exercise short reads */
};

static ssize_t pipe_write(void *opaque, void *buf, size_t n)
{
	struct pipe *p = opaque;
	if (p->len + n > p->cap) {
		p->cap = (p->len + n) * 2;
		p->data = realloc(p->data, p->cap);
		assert_non_null(p->data);
	}
	memcpy(p->data + p->len, buf, n);
	p->len += n;
	return (ssize_t)n;
}

static ssize_t pipe_read(void *opaque, void *buf, size_t n)
{
	struct pipe *p = opaque;
	size_t left = p->len - p->off;
	if (n > left)
		n = left;
	if (p->max_chunk && n > p->max_chunk)
		n = p->max_chunk;
	memcpy(buf, p->data + p->off, n);
	p->off += n;
	return (ssize_t)n;
}

/* A small but valid snapshot image to stand for the config and device blobs. */
static uint8_t *image(size_t *len)
{
	struct hv_snap_writer *w;
	char err[256];
	assert_int_equal(hv_snap_writer_open_mem(&w, err, sizeof(err)), 0);
	hv_snap_writer_section(w, "thing", 3, "payload", 7);
	uint8_t *b;
	assert_int_equal(hv_snap_writer_take(w, &b, len, err, sizeof(err)), 0);
	struct hv_snap_index idx;
	assert_int_equal(hv_snapshot_parse(b, *len, &idx, err, sizeof(err)), 0);
	assert_int_equal(idx.count, 1);
	return b;
}

#define MEM (2u << 20)

/* header, config, pages at 0 and in the middle, a zero run, a poisoned page, device, end */
static void build_stream(struct pipe *p, struct hv_mig_writer *w)
{
	memset(p, 0, sizeof(*p));
	hv_mig_writer_init(w, pipe_write, p);
	struct hv_mig_header h;
	hv_mig_header_init(&h, MEM);
	hv_mig_write(w, &h, sizeof(h));
	size_t len;
	uint8_t *img = image(&len);
	hv_mig_write_rec(w, HV_MIG_REC_CONFIG, 2, 0, img, len);
	static uint8_t pages[3 * PAGE];
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 7 + 1);
	hv_mig_write_rec(w, HV_MIG_REC_PAGES, 3, 0, pages, sizeof(pages));
	hv_mig_write_rec(w, HV_MIG_REC_PAGES, 1, MEM - PAGE, pages, PAGE);
	hv_mig_write_rec(w, HV_MIG_REC_ZERO, 1, PAGE, NULL, 0);
	hv_mig_write_rec(w, HV_MIG_REC_POISON, 1, 16 * PAGE, NULL, 0);
	hv_mig_write_rec(w, HV_MIG_REC_POISON, 1, 16 * PAGE, NULL, 0); /* twice: recorded once */
	hv_mig_write_rec(w, HV_MIG_REC_DEVICE, 0, 0, img, len);
	assert_int_equal(hv_mig_write_end(w), 0);
	free(img);
}

static void test_stream_round_trip(void **state)
{
	(void)state;
	struct pipe p;
	struct hv_mig_writer w;
	build_stream(&p, &w);
	assert_int_equal(w.bytes, p.len);
	hv_mig_writer_free(&w);

	for (size_t chunk = 0; chunk <= 7; chunk += 7) {
		struct hv_mem m;
		assert_int_equal(hv_mem_init(&m, MEM), 0);
		memset(m.base + PAGE, 0xee, PAGE); /* the zero record must clear it */
		p.off = 0;
		p.max_chunk = chunk;
		struct hv_mig_recv rx;
		char err[256] = "";
		hv_mig_recv_init(&rx, pipe_read, &p);
		assert_int_equal(hv_mig_recv_start(&rx, err, sizeof(err)), 0);
		assert_int_equal(rx.heads, 2);
		assert_non_null(rx.config);
		assert_int_equal(hv_mig_recv_body(&rx, &m, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		assert_int_equal(m.base[0], 1);
		assert_int_equal(m.base[2 * PAGE + 5], (uint8_t)((2 * PAGE + 5) * 7 + 1));
		assert_int_equal(m.base[PAGE], 0);
		assert_int_equal(m.base[MEM - PAGE + 3], (uint8_t)(3 * 7 + 1));
		assert_int_equal(rx.nr_poison, 1);
		assert_int_equal(rx.poison[0], 16 * PAGE);
		assert_int_equal(rx.pages, 5);
		assert_non_null(rx.device);
		assert_int_equal(rx.bytes, p.len);
		hv_mig_recv_free(&rx);
		hv_mem_fini(&m);
	}
	free(p.data);
}

/* Feeds the stream with one byte changed (or cut), expects failure with want in err. */
static void expect_refused(struct pipe *p, size_t mem, const char *want)
{
	struct hv_mem m;
	assert_int_equal(hv_mem_init(&m, mem), 0);
	struct hv_mig_recv rx;
	char err[256] = "";
	p->off = 0;
	hv_mig_recv_init(&rx, pipe_read, p);
	int r = hv_mig_recv_start(&rx, err, sizeof(err));
	if (r == 0)
		r = hv_mig_recv_body(&rx, &m, err, sizeof(err));
	if (r >= 0 || !strstr(err, want))
		fail_msg("want an error with '%s', got %d '%s'", want, r, err);
	assert_null(strchr(err, '\n'));
	hv_mig_recv_free(&rx);
	hv_mem_fini(&m);
}

static void poke32(struct pipe *p, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(p->data + off, &v, 4);
}

static void poke64(struct pipe *p, size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(p->data + off, &v, 8);
}

static void test_stream_refusals(void **state)
{
	(void)state;
	struct pipe p;
	struct hv_mig_writer w;
	build_stream(&p, &w);
	hv_mig_writer_free(&w);
	uint8_t *orig = malloc(p.len);
	memcpy(orig, p.data, p.len);
	size_t full = p.len;
#define RESET() (memcpy(p.data, orig, full), p.len = full)
	/* offsets: header 64, config record 24 + config blob, then the first PAGES record */
	uint64_t cfg_len;
	memcpy(&cfg_len, orig + 64 + 16, 8);
	cfg_len = le64toh(cfg_len);
	size_t pages_rec = 64 + 24 + (size_t)cfg_len;

	RESET();
	p.data[0] = 'X';
	expect_refused(&p, MEM, "bad magic");
	RESET();
	poke32(&p, 8, 2);
	expect_refused(&p, MEM, "version 2");
	RESET();
	poke32(&p, 16, 65536);
	expect_refused(&p, MEM, "page size");
	RESET();
	poke64(&p, 24, MEM + 123);
	expect_refused(&p, MEM, "RAM");
	RESET();
	poke64(&p, 40, MEM / 2); /* region size disagrees with mem size */
	expect_refused(&p, MEM, "layout");
	RESET();
	expect_refused(&p, 4u << 20, "RAM size differs"); /* a VM of another size */
	RESET();
	poke32(&p, 64, HV_MIG_REC_PAGES); /* pages before the config */
	expect_refused(&p, MEM, "bad pages record");
	RESET();
	poke32(&p, 64 + 4, 0); /* zero heads */
	expect_refused(&p, MEM, "bad config record");
	RESET();
	poke64(&p, 64 + 16, HV_MIG_MAX_BLOB + 1);
	expect_refused(&p, MEM, "bad config record");
	RESET();
	poke32(&p, pages_rec, 99);
	expect_refused(&p, MEM, "unknown record type 99");
	RESET();
	poke64(&p, pages_rec + 8, MEM - PAGE); /* 3 pages from the last page: past the end */
	expect_refused(&p, MEM, "bad pages record");
	RESET();
	poke64(&p, pages_rec + 8, 1); /* not page-aligned */
	expect_refused(&p, MEM, "bad pages record");
	RESET();
	poke64(&p, pages_rec + 8, ~0ull - PAGE + 1); /* wraps */
	expect_refused(&p, MEM, "bad pages record");
	RESET();
	poke32(&p, pages_rec + 4, HV_MIG_MAX_RUN + 1);
	expect_refused(&p, MEM, "bad pages record");
	RESET();
	poke64(&p, pages_rec + 16, 3 * PAGE - 1); /* length disagrees with count */
	expect_refused(&p, MEM, "bad pages record");
	RESET();
	poke32(&p, pages_rec, HV_MIG_REC_CONFIG); /* a second config */
	poke32(&p, pages_rec + 4, 1);
	poke64(&p, pages_rec + 8, 0);
	expect_refused(&p, MEM, "unexpected config record");
	RESET();
	p.data[pages_rec + 24 + 100] ^= 1; /* a page byte: only the checksum can tell */
	expect_refused(&p, MEM, "checksum mismatch");
	RESET();
	p.len = full - 24; /* no end record */
	expect_refused(&p, MEM, "ended early");
	RESET();
	p.len = pages_rec + 24 + 10; /* cut inside a page run */
	expect_refused(&p, MEM, "ended early");
	RESET();
	p.len = 30; /* cut inside the header */
	expect_refused(&p, MEM, "ended early");

	/* An end record straight after the pages: no device state. */
	struct pipe q;
	build_stream(&q, &w);
	hv_mig_writer_free(&w);
	free(q.data);
	memset(&q, 0, sizeof(q));
	hv_mig_writer_init(&w, pipe_write, &q);
	struct hv_mig_header h;
	hv_mig_header_init(&h, MEM);
	hv_mig_write(&w, &h, sizeof(h));
	hv_mig_write_rec(&w, HV_MIG_REC_CONFIG, 1, 0, "x", 1);
	hv_mig_write_end(&w);
	hv_mig_writer_free(&w);
	expect_refused(&q, MEM, "without the device state");
	free(q.data);
	free(orig);
	free(p.data);
#undef RESET
}

static void test_header_layout(void **state)
{
	(void)state;
	struct hv_mig_region r[HV_MEM_MAX_REGIONS];
	assert_int_equal(hv_mig_layout(256u << 20, r), 1);
	assert_int_equal(r[0].size, 256u << 20);
	/* beyond the low window, the rest starts at 4 GiB as hv_mem_init lays it out */
	assert_int_equal(hv_mig_layout(4ull << 30, r), 2);
	assert_int_equal(r[0].size, HV_RAM_LOW_MAX);
	assert_int_equal(r[1].gpa, HV_RAM_HIGH_BASE);
	assert_int_equal(r[1].size, (4ull << 30) - HV_RAM_LOW_MAX);
	struct hv_mem m;
	assert_int_equal(hv_mem_init(&m, 4ull << 30), 0);
	assert_int_equal(m.nr_regions, 2);
	assert_int_equal(m.regions[1].gpa, r[1].gpa);
	assert_int_equal(m.regions[1].size, r[1].size);
	hv_mem_fini(&m);
	/* records in the high region: inside, across its end, in the hole between */
	struct hv_mig_rec rec;
	char err[200];
	hv_mig_rec_init(&rec, HV_MIG_REC_PAGES, 1, HV_RAM_HIGH_BASE, PAGE);
	assert_int_equal(hv_mig_rec_check(&rec, 4ull << 30, err, sizeof(err)), 0);
	hv_mig_rec_init(&rec, HV_MIG_REC_PAGES, 2, HV_RAM_LOW_MAX - PAGE, 2 * PAGE);
	assert_int_equal(hv_mig_rec_check(&rec, 4ull << 30, err, sizeof(err)), -EPROTO);
	hv_mig_rec_init(&rec, HV_MIG_REC_ZERO, 1, HV_RAM_LOW_MAX, 0);
	assert_int_equal(hv_mig_rec_check(&rec, 4ull << 30, err, sizeof(err)), -EPROTO);
	hv_mig_rec_init(&rec, HV_MIG_REC_POISON, 2, 0, 0);
	assert_int_equal(hv_mig_rec_check(&rec, 4ull << 30, err, sizeof(err)), -EPROTO);
	hv_mig_rec_init(&rec, HV_MIG_REC_DEVICE, 0, 0, 0);
	assert_int_equal(hv_mig_rec_check(&rec, 4ull << 30, err, sizeof(err)), -EPROTO);
	hv_mig_rec_init(&rec, HV_MIG_REC_END, 0, 1ull << 32, 0);
	assert_int_equal(hv_mig_rec_check(&rec, 4ull << 30, err, sizeof(err)), -EPROTO);
}

static void test_parse_uri(void **state)
{
	(void)state;
	char h[64], p[8];
	assert_int_equal(hv_migrate_parse_uri("tcp:127.0.0.1:4444", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_string_equal(p, "4444");
	assert_int_equal(hv_migrate_parse_uri("tcp:[::1]:0", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(hv_migrate_parse_uri("tcp:host:65536", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(hv_migrate_parse_uri("tcp::80", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(hv_migrate_parse_uri("tcp:host:", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(hv_migrate_parse_uri("tcp:host:8x", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(hv_migrate_parse_uri("udp:host:80", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(hv_migrate_parse_uri("tcp:[::1:80", h, sizeof(h), p, sizeof(p)), -EINVAL);
}

int main(void)
{
	hd_log_set_level(HD_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirty_ranges),
		cmocka_unit_test(test_dirty_runs),
		cmocka_unit_test(test_device_writes_mark),
		cmocka_unit_test(test_safe_copy),
		cmocka_unit_test(test_stream_round_trip),
		cmocka_unit_test(test_stream_refusals),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_parse_uri),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
