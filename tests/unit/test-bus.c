/* test-bus.c: PIO/MMIO dispatch: registration rules (overlap, wrap, capacity), lookup at range
 * edges, offsets handed to devices, unmapped and straddling accesses. Not device behaviour. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv.h"

struct probe {
	int calls;
	uint64_t last_offset;
	uint32_t last_len;
	bool last_write;
	uint8_t last_data[8];
};

static void probe_io(void *opaque, uint64_t offset, void *data, uint32_t len, bool is_write)
{
	struct probe *p = opaque;
	p->calls++;
	p->last_offset = offset;
	p->last_len = len;
	p->last_write = is_write;
	if (is_write)
		memcpy(p->last_data, data, len);
	else
		memset(data, 0x5a, len);
}

static void test_register_rules(void **state)
{
	struct hv_bus bus;
	struct probe p = {0};
	hv_bus_init(&bus, "test");
	assert_int_equal(hv_bus_register(&bus, 0x100, 0x10, probe_io, &p, "a"), 0);
	assert_int_equal(hv_bus_register(&bus, 0x10f, 1, probe_io, &p, "overlap-end"), -EEXIST);
	assert_int_equal(hv_bus_register(&bus, 0xf0, 0x11, probe_io, &p, "overlap-start"), -EEXIST);
	assert_int_equal(hv_bus_register(&bus, 0x0, 0x1000, probe_io, &p, "covers"), -EEXIST);
	assert_int_equal(hv_bus_register(&bus, 0x110, 0x10, probe_io, &p, "adjacent"), 0);
	assert_int_equal(hv_bus_register(&bus, 0xf0, 0x10, probe_io, &p, "adjacent-below"), 0);
	assert_int_equal(hv_bus_register(&bus, 0x200, 0, probe_io, &p, "empty"), -EINVAL);
	assert_int_equal(hv_bus_register(&bus, UINT64_MAX, 2, probe_io, &p, "wraps"), -EINVAL);
	assert_int_equal(hv_bus_register(&bus, UINT64_MAX, 1, probe_io, &p, "last byte"), 0);
	assert_int_equal(hv_bus_register(&bus, 0x300, 4, NULL, &p, "no handler"), -EINVAL);
	assert_int_equal(bus.count, 4);
	for (unsigned i = 1; i < bus.count; i++)
		assert_true(bus.ranges[i - 1].base < bus.ranges[i].base);
}

static void test_capacity(void **state)
{
	struct hv_bus bus;
	struct probe p = {0};
	hv_bus_init(&bus, "test");
	/* Registered in descending order to exercise sorted insertion. */
	for (unsigned i = 0; i < HV_BUS_MAX_RANGES; i++)
		assert_int_equal(hv_bus_register(&bus, 0x10000 - i * 0x10, 0x10, probe_io, &p, "r"), 0);
	assert_int_equal(hv_bus_register(&bus, 0x20000, 1, probe_io, &p, "full"), -ENOSPC);
	uint8_t v;
	for (unsigned i = 0; i < HV_BUS_MAX_RANGES; i++)
		assert_int_equal(hv_bus_dispatch(&bus, 0x10000 - i * 0x10 + 0xf, &v, 1, false), 0);
	assert_int_equal(p.calls, HV_BUS_MAX_RANGES);
}

static void test_dispatch(void **state)
{
	struct hv_bus bus;
	struct probe a = {0}, b = {0};
	hv_bus_init(&bus, "test");
	assert_int_equal(hv_bus_register(&bus, 0x3f8, 8, probe_io, &a, "uart"), 0);
	assert_int_equal(hv_bus_register(&bus, 0xd0000000, 0x1000, probe_io, &b, "mmio"), 0);

	uint32_t w = 0x11223344;
	assert_int_equal(hv_bus_dispatch(&bus, 0x3fd, &w, 1, true), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.last_offset, 5);
	assert_true(a.last_write);
	assert_int_equal(a.last_data[0], 0x44);

	uint64_t r = 0;
	assert_int_equal(hv_bus_dispatch(&bus, 0xd0000ff8, &r, 8, false), 0);
	assert_int_equal(b.last_offset, 0xff8);
	assert_int_equal(r, 0x5a5a5a5a5a5a5a5aull);

	/* Unmapped reads see all-ones and reach no device. */
	r = 0;
	assert_int_equal(hv_bus_dispatch(&bus, 0x400, &r, 4, false), -ENOENT);
	assert_int_equal((uint32_t)r, 0xffffffffu);
	assert_int_equal(hv_bus_dispatch(&bus, 0x3f7, &r, 1, false), -ENOENT);
	assert_int_equal(hv_bus_dispatch(&bus, 0x400, &r, 1, false), -ENOENT);
	/* Straddling the end of a range or an odd size is refused. */
	assert_int_equal(hv_bus_dispatch(&bus, 0xd0000ffc, &r, 8, false), -EINVAL);
	assert_int_equal(hv_bus_dispatch(&bus, 0x3f8, &r, 3, false), -EINVAL);
	assert_int_equal(hv_bus_dispatch(&bus, 0x3f8, &r, 0, false), -EINVAL);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_rules),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
