/* test-guest-mem.c: the bounds-checked guest-memory accessors at their edges: first and last
 * byte, one past the end, wrap-around, the hole between low and high RAM. Not a speed test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hv.h"

static void test_init_rejects_bad_sizes(void **state)
{
	struct hv_mem m;
	assert_int_equal(hv_mem_init(&m, 0), -EINVAL);
	assert_int_equal(hv_mem_init(&m, 4096), -EINVAL);          /* below 1 MiB */
	assert_int_equal(hv_mem_init(&m, (1 << 20) + 1), -EINVAL); /* not page-aligned */
	assert_int_equal(hv_mem_init(&m, 1ull << 50), -E2BIG);
}

static void test_edges(void **state)
{
	struct hv_mem m;
	const uint64_t size = 2 << 20;
	assert_int_equal(hv_mem_init(&m, size), 0);
	assert_int_equal(m.nr_regions, 1);

	uint8_t b = 0xab, r = 0;
	assert_int_equal(hv_mem_write(&m, 0, &b, 1), 0);
	assert_int_equal(hv_mem_write(&m, size - 1, &b, 1), 0);
	assert_int_equal(hv_mem_read(&m, size - 1, &r, 1), 0);
	assert_int_equal(r, 0xab);
	assert_int_equal(m.base[size - 1], 0xab);

	/* One past the end, straddling the end, and lengths that would wrap. */
	assert_int_equal(hv_mem_write(&m, size, &b, 1), -EFAULT);
	uint32_t w = 0;
	assert_int_equal(hv_mem_read(&m, size - 2, &w, 4), -EFAULT);
	assert_null(hv_mem_ptr(&m, 1, UINT64_MAX));
	assert_null(hv_mem_ptr(&m, UINT64_MAX, 2));
	assert_null(hv_mem_ptr(&m, UINT64_MAX - 10, 20));
	assert_non_null(hv_mem_ptr(&m, 0, size));
	assert_null(hv_mem_ptr(&m, 0, size + 1));
	/* A zero-length access at the end is inside; one past it is not. */
	assert_non_null(hv_mem_ptr(&m, size - 1, 0));
	assert_null(hv_mem_ptr(&m, size, 0));
	hv_mem_fini(&m);
}

static void test_high_region(void **state)
{
	struct hv_mem m;
	/* 3 GiB + 8 MiB: low RAM ends at the MMIO hole, the rest appears from 4 GiB. Mapped with
	 * MAP_NORESERVE, so only touched pages cost anything. */
	const uint64_t size = HV_RAM_LOW_MAX + (8 << 20);
	assert_int_equal(hv_mem_init(&m, size), 0);
	assert_int_equal(m.nr_regions, 2);
	assert_int_equal(m.regions[1].gpa, HV_RAM_HIGH_BASE);
	assert_int_equal(m.regions[1].size, 8 << 20);

	uint64_t v = 0x1122334455667788ull, r = 0;
	assert_int_equal(hv_mem_write(&m, HV_RAM_HIGH_BASE, &v, 8), 0);
	assert_memory_equal(m.base + HV_RAM_LOW_MAX, &v, 8); /* same memfd, next offset */
	assert_int_equal(hv_mem_read(&m, HV_RAM_HIGH_BASE + (8 << 20) - 8, &r, 8), 0);

	/* The hole is not RAM, and an access may not span from low RAM into it. */
	assert_int_equal(hv_mem_read(&m, HV_MMIO_BASE, &r, 8), -EFAULT);
	assert_int_equal(hv_mem_read(&m, HV_RAM_LOW_MAX - 4, &r, 8), -EFAULT);
	assert_int_equal(hv_mem_read(&m, HV_RAM_HIGH_BASE - 4, &r, 8), -EFAULT);
	assert_int_equal(hv_mem_read(&m, HV_RAM_HIGH_BASE + (8 << 20) - 4, &r, 8), -EFAULT);
	hv_mem_fini(&m);
}

static void test_shared_memfd(void **state)
{
	struct hv_mem m;
	assert_int_equal(hv_mem_init(&m, 4 << 20), 0);
	assert_true(m.fd >= 0);
	/* Another mapping of the memfd sees guest writes: what snapshots and the display rely on. */
	char buf[5] = {0};
	assert_int_equal(hv_mem_write(&m, 0x12345, "ping", 4), 0);
	assert_int_equal(pread(m.fd, buf, 4, 0x12345), 4);
	assert_string_equal(buf, "ping");
	hv_mem_fini(&m);
	assert_int_equal(m.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_sizes),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_high_region),
		cmocka_unit_test(test_shared_memfd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
