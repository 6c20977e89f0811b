/* mem.c: guest RAM in a memfd or an image file (--memory-file), its residency in blocks, and
 * the bounds-checked accessors every device uses. Not dirty tracking (migration). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-common.h"
#include "hv.h"

#define TAG "mem"
#define MEM_ALIGN 4096ull
#define MEM_MIN (1ull << 20)

static int mem_check_size(uint64_t size)
{
	if (size < MEM_MIN || size % MEM_ALIGN)
		return -EINVAL;
	if (size > (1ull << 46)) /* far beyond any host; keeps gpa arithmetic trivially safe */
		return -E2BIG;
	return 0;
}

/* Maps fd (already size bytes long) whole and lays out the RAM regions; takes fd. */
static int mem_map(struct hv_mem *m, int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	m->fd = fd;
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

int hv_mem_init(struct hv_mem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	int r = mem_check_size(size);
	if (r < 0)
		return r;
	int fd = hd_memfd_sized("hyperdesk-guest-ram", 0, size);
	return fd < 0 ? fd : mem_map(m, fd, size);
}

int hv_mem_init_file(struct hv_mem *m, uint64_t size, const char *path, char *err,
		     size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	int r = mem_check_size(size);
	if (r < 0) {
		snprintf(err, errlen, "%llu bytes of RAM cannot be mapped",
			 (unsigned long long)size);
		return r;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "memory file '%s': %s", path, strerror(errno));
		return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "memory file '%s' is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	/* One VM per image: two writing the same RAM would corrupt each other. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(err, errlen, "memory file '%s' %s", path,
			 errno == EWOULDBLOCK ? "is in use by another VM" : strerror(errno));
		close(fd);
		return r;
	}
	/* A fresh machine starts with zeroed RAM: what the file held before is dropped. The
	 * blocks are then reserved, so a full filesystem is an error now rather than a SIGBUS
	 * when the guest first writes a page; where reserving is unsupported, RAM stays sparse. */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		snprintf(err, errlen, "memory file '%s': cannot size it to %llu MiB: %s", path,
			 (unsigned long long)(size >> 20), strerror(errno));
		close(fd);
		return r;
	}
	r = posix_fallocate(fd, 0, (off_t)size);
	if (r == ENOSPC || r == EFBIG) {
		snprintf(err, errlen, "memory file '%s': no room for %llu MiB: %s", path,
			 (unsigned long long)(size >> 20), strerror(r));
		if (ftruncate(fd, 0) < 0) { /* give the space back; the error is said already */
		}
		close(fd);
		return -r;
	}
	if (r)
		hd_warn(TAG, "memory file '%s': blocks not reserved (%s); a full filesystem will "
			     "stop the VM", path, strerror(r));
	r = mem_map(m, fd, size);
	if (r < 0) {
		snprintf(err, errlen, "memory file '%s': cannot map %llu MiB: %s", path,
			 (unsigned long long)(size >> 20), strerror(-r));
		return r;
	}
	m->file_backed = true;
	return 0;
}

/* Resident bytes of RAM in the VMM's mapping, and resident blocks of HV_MEM_BLOCK bytes. */
int hv_mem_residency(const struct hv_mem *m, uint64_t *bytes, uint64_t *blocks)
{
	static const size_t page = 4096;
	unsigned char vec[HV_MEM_BLOCK / 4096];
	*bytes = 0;
	*blocks = 0;
	for (uint64_t off = 0; off < m->size; off += HV_MEM_BLOCK) {
		uint64_t len = m->size - off < HV_MEM_BLOCK ? m->size - off : HV_MEM_BLOCK;
		if (mincore(m->base + off, len, vec) < 0)
			return -errno;
		uint64_t n = 0;
		for (size_t i = 0; i < (len + page - 1) / page; i++)
			n += vec[i] & 1;
		*bytes += n * page;
		*blocks += n != 0;
	}
	return 0;
}

int hv_mem_release(struct hv_mem *m, uint64_t *released)
{
	uint64_t before = 0, after = 0, blocks;
	*released = 0;
	if (!m->file_backed)
		return -EOPNOTSUPP;
	int r = hv_mem_residency(m, &before, &blocks);
	for (uint64_t off = 0; r == 0 && off < m->size; off += HV_MEM_BLOCK) {
		uint64_t len = m->size - off < HV_MEM_BLOCK ? m->size - off : HV_MEM_BLOCK;
		/* Written back, unmapped (KVM drops its mappings through its MMU notifier), then
		 * the clean pages dropped from the page cache. A write racing with this just
		 * keeps its page: nothing is lost, only less is released. */
		if (msync(m->base + off, len, MS_SYNC) < 0 ||
		    madvise(m->base + off, len, MADV_DONTNEED) < 0)
			r = -errno;
		else
			r = -posix_fadvise(m->fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
	}
	if (r == 0)
		r = hv_mem_residency(m, &after, &blocks);
	if (r == 0)
		*released = before > after ? before - after : 0;
	return r;
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

bool hv_mem_page_zero(const void *p)
{
	const uint64_t *q = p;
	uint64_t acc = 0;
	for (size_t i = 0; i < 4096 / 8; i++)
		acc |= q[i];
	return acc == 0;
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
