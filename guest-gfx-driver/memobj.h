/* memobj.h: the memory-object allocator: guest RAM handed out in 4 KiB or 2 MiB units as
 * reference-counted objects made of a few contiguous pieces. Not a heap for small structures. */
#ifndef GFX_MEMOBJ_H
#define GFX_MEMOBJ_H

#include <stdint.h>

#define MO_PAGE	      0x1000ull	  /* smallest unit */
#define MO_HUGE	      0x200000ull /* unit of objects that are mapped with 2 MiB pages */
#define MO_MAX_PIECES 16	  /* pieces of one object (virtio memory entries) */
#define MO_MAX_OBJECTS 64
/* Every piece handed out can split one free extent in two, and each region starts as one:
 * with this many slots the free list can never overflow, so freeing never fails. */
#define MO_MAX_FREE (MO_MAX_OBJECTS * MO_MAX_PIECES + 16)

/* Allocation flags. */
#define MO_F_HUGE    1u /* 2 MiB-aligned pieces, size rounded up to 2 MiB */
#define MO_F_CONTIG  2u /* one piece or nothing */

struct mo_extent {
	uint64_t start, end; /* [start, end) */
};

struct memobj {
	uint32_t refs; /* 0 = slot unused */
	uint32_t npieces;
	uint64_t size; /* bytes, the sum of the pieces */
	struct mo_extent piece[MO_MAX_PIECES];
};

struct mo_stats {
	uint64_t total;	       /* bytes managed */
	uint64_t used;	       /* bytes in live objects */
	uint64_t free;	       /* total - used */
	uint64_t largest_free; /* biggest single free extent */
	uint32_t objects;      /* live objects */
	uint32_t free_extents; /* pieces of the free list (fragmentation) */
	uint64_t allocs, frees, failures; /* since boot */
};

struct mo_pool {
	struct mo_extent free[MO_MAX_FREE]; /* sorted by address, never adjacent (coalesced) */
	uint32_t nfree;
	uint32_t nregions; /* at most 16 */
	uint64_t total, used;
	uint64_t allocs, frees, failures;
	struct memobj obj[MO_MAX_OBJECTS];
};

/* The pool must start zeroed (static storage). Adds [start, end), trimmed to whole pages;
 * regions must not overlap. Returns 0 or -GFX_EINVAL/-GFX_ENOSPC. */
int mo_add_region(struct mo_pool *p, uint64_t start, uint64_t end);
/* A new object of at least size bytes with one reference, or NULL (out of memory, out of
 * object slots, more than MO_MAX_PIECES pieces needed): failure is an answer, not a crash.
 * Contiguous when possible; with MO_F_HUGE and without MO_F_CONTIG it may be split into
 * several 2 MiB-aligned pieces. Contents are whatever was there before. */
struct memobj *mo_alloc(struct mo_pool *p, uint64_t size, unsigned flags);
void mo_get(struct memobj *o);
/* Drops a reference; the last one returns the pieces to the free list, merging neighbours. */
void mo_put(struct mo_pool *p, struct memobj *o);
void mo_get_stats(const struct mo_pool *p, struct mo_stats *s);

#endif
