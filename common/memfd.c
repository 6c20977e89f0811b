/* memfd.c: anonymous shared memory of a given size (guest RAM, framebuffers). Not the
 * mapping or sealing of it, which each user does its own way. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hd-common.h"

int hd_memfd_sized(const char *name, unsigned flags, uint64_t size)
{
	int fd = memfd_create(name, flags | MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}
