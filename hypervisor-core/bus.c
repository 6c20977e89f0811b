/* bus.c: PIO and MMIO dispatch: a sorted table of non-overlapping ranges and a binary search.
 * Not a device model: devices register a handler and get offsets relative to their base. */
#include <errno.h>
#include <string.h>

#include "hd-common.h"
#include "hv.h"

void hv_bus_init(struct hv_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int hv_bus_register(struct hv_bus *bus, uint64_t base, uint64_t len, hv_io_fn fn, void *opaque,
		    const char *name)
{
	if (!len || !fn || base + len - 1 < base)
		return -EINVAL;
	if (bus->count == HV_BUS_MAX_RANGES)
		return -ENOSPC;

	unsigned pos = 0;
	while (pos < bus->count && bus->ranges[pos].base < base)
		pos++;
	/* Overlap with the neighbour below or above? Ends are inclusive to avoid wrap. */
	if (pos > 0) {
		const struct hv_bus_range *lo = &bus->ranges[pos - 1];
		if (lo->base + lo->len - 1 >= base)
			return -EEXIST;
	}
	if (pos < bus->count && base + len - 1 >= bus->ranges[pos].base)
		return -EEXIST;

	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->count - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct hv_bus_range){base, len, fn, opaque, name};
	bus->count++;
	return 0;
}

static const struct hv_bus_range *bus_find(const struct hv_bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->count;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct hv_bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int hv_bus_dispatch(struct hv_bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	const struct hv_bus_range *r = bus_find(bus, addr);
	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return -ENOENT;
	}
	uint64_t off = addr - r->base;
	if (len > r->len - off) {
		if (!is_write)
			memset(data, 0xff, len);
		return -EINVAL;
	}
	r->fn(r->opaque, off, data, len, is_write);
	return 0;
}
