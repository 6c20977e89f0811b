/* resource.c: the guest's GPU resources: 2D resources with host copies, guest blobs read in
 * place, their backing (scatter-gather lists of guest pages), transfers and the memory limit.
 * Not scanouts or flushes (scanout.c). Every request field is guest-chosen and checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpu-internal.h"

#define OOM_WARN_INTERVAL_NS (10ull * 1000 * 1000 * 1000)

static unsigned bucket(uint32_t id)
{
	/* Multiplicative hash: drivers hand out ids 1, 2, 3... and this spreads them. */
	return (uint32_t)(id * 2654435761u) >> 20;
}
_Static_assert(VGPU_RES_BUCKETS == 1u << 12, "bucket() yields 12 bits");

struct vgpu_resource *vgpu_res_find(struct vgpu *g, uint32_t id)
{
	for (struct vgpu_resource *r = g->res[bucket(id)]; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

bool vgpu_format_known(uint32_t format)
{
	switch (format) {
	case VGPU_FORMAT_B8G8R8A8_UNORM:
	case VGPU_FORMAT_B8G8R8X8_UNORM:
	case VGPU_FORMAT_A8R8G8B8_UNORM:
	case VGPU_FORMAT_X8R8G8B8_UNORM:
	case VGPU_FORMAT_R8G8B8A8_UNORM:
	case VGPU_FORMAT_X8B8G8R8_UNORM:
	case VGPU_FORMAT_A8B8G8R8_UNORM:
	case VGPU_FORMAT_R8G8B8X8_UNORM:
		return true;
	default:
		return false;
	}
}

bool vgpu_mem_charge(struct vgpu *g, uint64_t bytes, const char *what)
{
	if (bytes <= g->mem_limit && g->mem_used <= g->mem_limit - bytes) {
		g->mem_used += bytes;
		return true;
	}
	/* A guest can retry in a loop: one warning per interval, with a count of the rest. */
	uint64_t now = hd_now_ns();
	if (!g->oom_warn_ns || now - g->oom_warn_ns >= OOM_WARN_INTERVAL_NS) {
		hd_warn(VGPU_TAG,
			"guest GPU memory limit reached: %s needs %llu bytes, %llu of %llu bytes "
			"in use (%u more refused since the last warning); see --gpu-memory",
			what, (unsigned long long)bytes, (unsigned long long)g->mem_used,
			(unsigned long long)g->mem_limit, g->oom_suppressed);
		g->oom_warn_ns = now;
		g->oom_suppressed = 0;
	} else {
		g->oom_suppressed++;
	}
	return false;
}

void vgpu_mem_uncharge(struct vgpu *g, uint64_t bytes)
{
	g->mem_used = bytes <= g->mem_used ? g->mem_used - bytes : 0;
}

static void backing_free(struct vgpu *g, struct vgpu_resource *r)
{
	uint64_t bytes = (uint64_t)r->nr_sg * sizeof(*r->sg);

	vgpu_mem_uncharge(g, bytes);
	r->charged -= bytes;
	free(r->sg);
	r->sg = NULL;
	r->nr_sg = 0;
	r->backing_len = 0;
}

static void res_free(struct vgpu *g, struct vgpu_resource *r)
{
	backing_free(g, r);
	vgpu_mem_uncharge(g, r->charged);
	free(r->host);
	free(r);
}

static void res_insert(struct vgpu *g, struct vgpu_resource *r)
{
	unsigned b = bucket(r->id);

	r->next = g->res[b];
	g->res[b] = r;
	g->nr_resources++;
}

static void res_remove(struct vgpu *g, struct vgpu_resource *r)
{
	for (struct vgpu_resource **p = &g->res[bucket(r->id)]; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			g->nr_resources--;
			return;
		}
	}
}

void vgpu_res_destroy_all(struct vgpu *g)
{
	for (unsigned b = 0; b < VGPU_RES_BUCKETS; b++) {
		while (g->res[b]) {
			struct vgpu_resource *r = g->res[b];
			g->res[b] = r->next;
			res_free(g, r);
		}
	}
	g->nr_resources = 0;
}

/* A new resource id must be non-zero and unused; the table must have room. */
static uint32_t check_new_id(struct vgpu *g, uint32_t id)
{
	if (id == 0 || vgpu_res_find(g, id))
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (g->nr_resources >= VGPU_MAX_RESOURCES)
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	return VGPU_RESP_OK_NODATA;
}

uint32_t vgpu_cmd_create_2d(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_resource_create_2d c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t id = vgpu_le32(c.resource_id), format = vgpu_le32(c.format);
	uint32_t w = vgpu_le32(c.width), h = vgpu_le32(c.height);
	uint32_t code = check_new_id(g, id);
	if (code != VGPU_RESP_OK_NODATA)
		return code;
	if (!vgpu_format_known(format) || !w || !h || w > VGPU_MAX_DIM || h > VGPU_MAX_DIM)
		return VGPU_RESP_ERR_INVALID_PARAMETER;

	uint64_t size = (uint64_t)w * VGPU_BPP * h; /* at most 2^30: no overflow */
	uint64_t charge = size + sizeof(struct vgpu_resource);
	if (!vgpu_mem_charge(g, charge, "a 2D resource"))
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	struct vgpu_resource *r = calloc(1, sizeof(*r));
	/* calloc: large copies come from fresh zeroed pages without touching them now. */
	uint8_t *host = r ? calloc(1, (size_t)size) : NULL;
	if (!host) {
		free(r);
		vgpu_mem_uncharge(g, charge);
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	}
	r->id = id;
	r->format = format;
	r->width = w;
	r->height = h;
	r->stride = w * VGPU_BPP;
	r->size = size;
	r->host = host;
	r->charged = charge;
	res_insert(g, r);
	return VGPU_RESP_OK_NODATA;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct vgpu_sg *x = a, *y = b;
	return (x->gpa > y->gpa) - (x->gpa < y->gpa);
}

/* Translates nr memory entries (ents, avail bytes of request left) into r's backing, which
 * must cover need bytes. Every entry must be non-empty and wholly inside guest RAM, and no two
 * may overlap (a page twice in one resource is no driver's doing). */
static uint32_t backing_attach(struct vgpu *g, struct vgpu_resource *r, const uint8_t *ents,
			       size_t avail, uint32_t nr, uint64_t need)
{
	if (nr == 0 || nr > VGPU_MAX_ENTRIES)
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	if (avail / sizeof(struct vgpu_mem_entry) < nr)
		return VGPU_RESP_ERR_UNSPEC; /* the request ends before its entries do */

	struct vgpu_sg *sg = malloc(nr * sizeof(*sg));
	struct vgpu_sg *sorted = malloc(nr * sizeof(*sorted));
	uint32_t code = VGPU_RESP_ERR_INVALID_PARAMETER;
	uint64_t total = 0;
	unsigned n = 0;

	if (!sg || !sorted) {
		code = VGPU_RESP_ERR_OUT_OF_MEMORY;
		goto fail;
	}
	for (uint32_t i = 0; i < nr; i++) {
		struct vgpu_mem_entry e;
		memcpy(&e, ents + (size_t)i * sizeof(e), sizeof(e));
		uint64_t gpa = vgpu_le64(e.addr), elen = vgpu_le32(e.length);
		uint8_t *host = elen ? hv_mem_ptr(g->mem, gpa, elen) : NULL;
		if (!host)
			goto fail;
		sorted[i] = (struct vgpu_sg){.off = total, .len = elen, .host = host, .gpa = gpa};
		/* Pages next to each other in guest and host memory become one entry. */
		if (n && sg[n - 1].gpa + sg[n - 1].len == gpa &&
		    sg[n - 1].host + sg[n - 1].len == host)
			sg[n - 1].len += elen;
		else
			sg[n++] = sorted[i];
		total += elen; /* at most 2^14 * 2^32: no overflow */
	}
	qsort(sorted, nr, sizeof(*sorted), cmp_entry);
	for (uint32_t i = 1; i < nr; i++)
		if (sorted[i - 1].gpa + sorted[i - 1].len > sorted[i].gpa)
			goto fail;
	if (total < need)
		goto fail;
	free(sorted);
	sorted = NULL;

	struct vgpu_sg *shrunk = realloc(sg, n * sizeof(*sg));
	if (shrunk)
		sg = shrunk;
	uint64_t bytes = (uint64_t)n * sizeof(*sg);
	if (!vgpu_mem_charge(g, bytes, "a backing list")) {
		code = VGPU_RESP_ERR_OUT_OF_MEMORY;
		goto fail;
	}
	r->charged += bytes;
	r->sg = sg;
	r->nr_sg = n;
	r->backing_len = total;
	return VGPU_RESP_OK_NODATA;
fail:
	free(sorted);
	free(sg);
	return code;
}

uint32_t vgpu_cmd_attach_backing(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_resource_attach_backing c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	struct vgpu_resource *r = vgpu_res_find(g, vgpu_le32(c.resource_id));
	if (!r)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (r->nr_sg)
		return VGPU_RESP_ERR_UNSPEC; /* detach first */
	return backing_attach(g, r, req + sizeof(c), len - sizeof(c), vgpu_le32(c.nr_entries),
			      r->size);
}

uint32_t vgpu_cmd_detach_backing(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_resource_unref c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	struct vgpu_resource *r = vgpu_res_find(g, vgpu_le32(c.resource_id));
	if (!r)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!r->nr_sg)
		return VGPU_RESP_ERR_UNSPEC;
	backing_free(g, r);
	return VGPU_RESP_OK_NODATA;
}

uint32_t vgpu_cmd_create_blob(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_resource_create_blob c;
	const uint32_t known_flags = VGPU_BLOB_FLAG_USE_MAPPABLE | VGPU_BLOB_FLAG_USE_SHAREABLE |
				     VGPU_BLOB_FLAG_USE_CROSS_DEVICE;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	uint32_t id = vgpu_le32(c.resource_id);
	uint64_t size = vgpu_le64(c.size);
	uint32_t code = check_new_id(g, id);
	if (code != VGPU_RESP_OK_NODATA)
		return code;
	/* Only guest memory: host blobs need VIRGL or a host-visible region, neither offered. */
	if (vgpu_le32(c.blob_mem) != VGPU_BLOB_MEM_GUEST ||
	    (vgpu_le32(c.blob_flags) & ~known_flags) || size == 0 || size > VGPU_MAX_BLOB_SIZE)
		return VGPU_RESP_ERR_INVALID_PARAMETER;

	if (!vgpu_mem_charge(g, sizeof(struct vgpu_resource), "a blob resource"))
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	struct vgpu_resource *r = calloc(1, sizeof(*r));
	if (!r) {
		vgpu_mem_uncharge(g, sizeof(struct vgpu_resource));
		return VGPU_RESP_ERR_OUT_OF_MEMORY;
	}
	r->id = id;
	r->blob = true;
	r->size = size;
	r->charged = sizeof(*r);
	code =
	    backing_attach(g, r, req + sizeof(c), len - sizeof(c), vgpu_le32(c.nr_entries), size);
	if (code != VGPU_RESP_OK_NODATA) {
		res_free(g, r);
		return code;
	}
	res_insert(g, r);
	return VGPU_RESP_OK_NODATA;
}

uint32_t vgpu_cmd_unref(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_resource_unref c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	struct vgpu_resource *r = vgpu_res_find(g, vgpu_le32(c.resource_id));
	if (!r)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	/* A scanout must not outlive what it shows. */
	vgpu_scanout_release_resource(g, r->id);
	res_remove(g, r);
	res_free(g, r);
	return VGPU_RESP_OK_NODATA;
}

bool vgpu_sg_read(const struct vgpu_resource *r, uint64_t off, void *dst, uint64_t len)
{
	uint8_t *d = dst;

	if (off > r->backing_len || len > r->backing_len - off)
		return false;
	if (!len)
		return true;
	/* The last entry starting at or before off. */
	unsigned lo = 0, hi = r->nr_sg;
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;
		if (r->sg[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (unsigned i = lo; len && i < r->nr_sg; i++) {
		const struct vgpu_sg *s = &r->sg[i];
		uint64_t in = off - s->off;
		uint64_t n = s->len - in < len ? s->len - in : len;
		memcpy(d, s->host + in, (size_t)n);
		d += n;
		off += n;
		len -= n;
	}
	return len == 0;
}

uint32_t vgpu_cmd_transfer_2d(struct vgpu *g, const uint8_t *req, size_t len)
{
	struct vgpu_transfer_to_host_2d c;

	if (len < sizeof(c))
		return VGPU_RESP_ERR_UNSPEC;
	memcpy(&c, req, sizeof(c));
	struct vgpu_resource *r = vgpu_res_find(g, vgpu_le32(c.resource_id));
	if (!r)
		return VGPU_RESP_ERR_INVALID_RESOURCE_ID;
	/* Linux sends transfers for its guest-blob dumb buffers too; a blob is read in place,
	 * so there is nothing to copy. */
	if (r->blob)
		return VGPU_RESP_OK_NODATA;
	struct vgpu_rect rc = vgpu_rect_le(&c.r);
	uint64_t offset = vgpu_le64(c.offset);
	if (!vgpu_rect_inside(&rc, r->width, r->height))
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	if (!r->nr_sg)
		return VGPU_RESP_ERR_UNSPEC; /* nothing attached to copy from */
	if (!rc.width || !rc.height)
		return VGPU_RESP_OK_NODATA;

	/* Row i comes from offset + i * stride in the backing (offset already includes r.x and
	 * r.y); all of it must lie in the backing. */
	uint64_t row = (uint64_t)rc.width * VGPU_BPP;
	uint64_t span = (uint64_t)(rc.height - 1) * r->stride + row;
	if (offset > r->backing_len || span > r->backing_len - offset)
		return VGPU_RESP_ERR_INVALID_PARAMETER;
	uint8_t *dst = r->host + (uint64_t)rc.y * r->stride + (uint64_t)rc.x * VGPU_BPP;
	if (rc.width == r->width) {
		/* Whole rows are one run in both places. */
		vgpu_sg_read(r, offset, dst, span);
		return VGPU_RESP_OK_NODATA;
	}
	for (uint32_t y = 0; y < rc.height; y++)
		vgpu_sg_read(r, offset + (uint64_t)y * r->stride, dst + (uint64_t)y * r->stride,
			     row);
	return VGPU_RESP_OK_NODATA;
}

static int cmp_gpa(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

int vgpu_res_restore(struct vgpu *g, const struct vgpu_resource *s, const uint64_t *ents,
		     const uint8_t *data, char *err, size_t errlen)
{
	/* Everything in s and ents comes from a snapshot file: checked as a guest's request. */
	if (s->id == 0 || vgpu_res_find(g, s->id)) {
		snprintf(err, errlen, "GPU resource id %u is zero or repeated", s->id);
		return -EINVAL;
	}
	if (g->nr_resources >= VGPU_MAX_RESOURCES || s->nr_sg > VGPU_MAX_ENTRIES) {
		snprintf(err, errlen, "GPU resource %u: too many resources or memory entries",
			 s->id);
		return -EINVAL;
	}
	if (s->blob ? s->size == 0 || s->size > VGPU_MAX_BLOB_SIZE
		    : !vgpu_format_known(s->format) || !s->width || !s->height ||
			  s->width > VGPU_MAX_DIM || s->height > VGPU_MAX_DIM ||
			  s->size != (uint64_t)s->width * VGPU_BPP * s->height) {
		snprintf(err, errlen, "GPU resource %u has an invalid format or size", s->id);
		return -EINVAL;
	}
	/* The backing as guest addresses: each entry non-empty, inside guest RAM today, no two
	 * overlapping, all together covering the resource. */
	uint64_t total = 0;
	uint64_t *sorted = NULL;
	struct vgpu_sg *sg = NULL;
	if (s->nr_sg) {
		sorted = malloc((size_t)s->nr_sg * 2 * sizeof(*sorted));
		sg = malloc((size_t)s->nr_sg * sizeof(*sg));
		if (!sorted || !sg) {
			free(sorted);
			free(sg);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		memcpy(sorted, ents, (size_t)s->nr_sg * 2 * sizeof(*sorted));
	}
	for (unsigned i = 0; i < s->nr_sg; i++) {
		uint64_t gpa = ents[2 * i], len = ents[2 * i + 1];
		uint8_t *host = len ? hv_mem_ptr(g->mem, gpa, len) : NULL;
		if (!host || len > UINT64_MAX - total)
			goto bad_backing;
		sg[i] = (struct vgpu_sg){.off = total, .len = len, .host = host, .gpa = gpa};
		total += len;
	}
	if (s->nr_sg) {
		qsort(sorted, s->nr_sg, 2 * sizeof(*sorted), cmp_gpa);
		for (unsigned i = 1; i < s->nr_sg; i++)
			if (sorted[2 * (i - 1)] + sorted[2 * (i - 1) + 1] > sorted[2 * i])
				goto bad_backing;
		if (total < s->size)
			goto bad_backing;
	}
	free(sorted);
	sorted = NULL;

	uint64_t charge = sizeof(struct vgpu_resource) + (s->blob ? 0 : s->size);
	uint64_t sg_bytes = (uint64_t)s->nr_sg * sizeof(*sg);
	if (!vgpu_mem_charge(g, charge, "a restored resource")) {
		free(sg);
		snprintf(err, errlen, "GPU resources exceed the memory limit (--gpu-memory)");
		return -ENOMEM;
	}
	if (!vgpu_mem_charge(g, sg_bytes, "a restored backing list")) {
		vgpu_mem_uncharge(g, charge);
		free(sg);
		snprintf(err, errlen, "GPU resources exceed the memory limit (--gpu-memory)");
		return -ENOMEM;
	}
	struct vgpu_resource *r = calloc(1, sizeof(*r));
	uint8_t *host = r && !s->blob ? malloc((size_t)s->size) : NULL;
	if (!r || (!s->blob && !host)) {
		free(r);
		free(sg);
		vgpu_mem_uncharge(g, charge + sg_bytes);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->id = s->id;
	r->blob = s->blob;
	r->size = s->size;
	if (!s->blob) {
		r->format = s->format;
		r->width = s->width;
		r->height = s->height;
		r->stride = s->width * VGPU_BPP;
		r->host = host;
		memcpy(host, data, (size_t)s->size);
	}
	r->sg = sg;
	r->nr_sg = s->nr_sg;
	r->backing_len = total;
	r->charged = charge + sg_bytes;
	res_insert(g, r);
	return 0;
bad_backing:
	free(sorted);
	free(sg);
	snprintf(err, errlen, "GPU resource %u: its backing is not valid guest memory", s->id);
	return -EINVAL;
}
