/* mem.c: guest RAM in a memfd and the bounds-checked accessors every device uses.
 * Not the dirty tracking or file-backed memory (those come with snapshots/migration). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hd-common.h"
#include "hv.h"

#define TAG "mem"
#define MEM_ALIGN 4096ull
#define MEM_MIN (1ull << 20)

int hv_mem_init(struct hv_mem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (size < MEM_MIN || size % MEM_ALIGN)
		return -EINVAL;
	if (size > (1ull << 46)) /* far beyond any host; keeps gpa arithmetic trivially safe */
		return -E2BIG;

	m->fd = memfd_create("hyperdesk-guest-ram", MFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, (off_t)size) < 0) {
		int e = -errno;
		close(m->fd);
		m->fd = -1;
		return e;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(m->fd);
		m->fd = -1;
		return e;
	}
	m->base = p;
	m->size = size;

	uint64_t low = size < HV_RAM_LOW_MAX ? size : HV_RAM_LOW_MAX;
	m->regions[0] = (struct hv_mem_region){.gpa = 0, .size = low, .host = m->base};
	m->nr_regions = 1;
	if (size > low) {
		m->regions[1] = (struct hv_mem_region){
			.gpa = HV_RAM_HIGH_BASE,
			.size = size - low,
			.host = m->base + low,
			.fd_offset = low,
		};
		m->nr_regions = 2;
	}
	return 0;
}

void hv_mem_fini(struct hv_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void *hv_mem_ptr(const struct hv_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct hv_mem_region *r = &m->regions[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		/* off < size and len <= size - off: no addition that could wrap. */
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

int hv_mem_read(const struct hv_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = hv_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int hv_mem_write(const struct hv_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = hv_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	hv_mem_mark_dirty(m, gpa, len);
	return 0;
}
