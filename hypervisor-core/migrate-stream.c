/* migrate-stream.c: the live-migration stream (docs/PROTOCOL.md, "Migration stream"): its
 * header and records, the buffered writer and the receiving parser, which treats every byte
 * as hostile: each length, count and address is checked before it is used. Not when pages
 * are sent (migrate.c) nor how a VM is rebuilt from them (migrate-in.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv-internal.h"

#define TAG  "migrate"
#define PAGE 4096ull

static const char mig_magic[8] = {'H', 'D', 'M', 'I', 'G', 'R', '\r', '\n'};

const char *hv_mig_rec_name(uint32_t type)
{
	static const char *const names[] = {"?", "config", "pages", "zero", "poison", "device",
					    "end"};
	return type < HD_ARRAY_SIZE(names) ? names[type] : "unknown";
}

/* The same split of RAM as hv_mem_init (hv-guest-abi.h): both ends derive it from the size. */
unsigned hv_mig_layout(uint64_t mem_size, struct hv_mig_region out[HV_MEM_MAX_REGIONS])
{
	uint64_t low = mem_size < HV_RAM_LOW_MAX ? mem_size : HV_RAM_LOW_MAX;
	out[0] = (struct hv_mig_region){.gpa = 0, .size = low};
	if (mem_size > low) {
		out[1] = (struct hv_mig_region){.gpa = HV_RAM_HIGH_BASE, .size = mem_size - low};
		return 2;
	}
	out[1] = (struct hv_mig_region){0, 0};
	return 1;
}

void hv_mig_header_init(struct hv_mig_header *h, uint64_t mem_size)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, mig_magic, sizeof(h->magic));
	h->version = htole32(HV_MIG_VERSION);
	h->header_size = htole32(sizeof(*h));
	h->page_size = htole32(PAGE);
	struct hv_mig_region r[HV_MEM_MAX_REGIONS];
	h->nr_regions = htole32(hv_mig_layout(mem_size, r));
	h->mem_size = htole64(mem_size);
	for (unsigned i = 0; i < HV_MEM_MAX_REGIONS; i++) {
		h->regions[i].gpa = htole64(r[i].gpa);
		h->regions[i].size = htole64(r[i].size);
	}
}

int hv_mig_header_check(const struct hv_mig_header *h, char *err, size_t errlen)
{
	if (memcmp(h->magic, mig_magic, sizeof(mig_magic)) != 0) {
		snprintf(err, errlen, "not a hyperdesk migration stream (bad magic)");
		return -EINVAL;
	}
	if (le32toh(h->version) != HV_MIG_VERSION) {
		snprintf(err, errlen, "migration stream version %u; this build speaks %u",
			 le32toh(h->version), HV_MIG_VERSION);
		return -EPROTO;
	}
	if (le32toh(h->header_size) != sizeof(*h) || le32toh(h->page_size) != PAGE) {
		snprintf(err, errlen, "migration stream header size %u / page size %u unsupported",
			 le32toh(h->header_size), le32toh(h->page_size));
		return -EPROTO;
	}
	uint64_t size = le64toh(h->mem_size);
	if (size % PAGE || size < HV_MIG_MIN_MEM || size > HV_MIG_MAX_MEM) {
		snprintf(err, errlen, "migration stream describes %llu bytes of RAM: unsupported",
			 (unsigned long long)size);
		return -EINVAL;
	}
	struct hv_mig_region r[HV_MEM_MAX_REGIONS];
	unsigned n = hv_mig_layout(size, r);
	bool same = le32toh(h->nr_regions) == n;
	for (unsigned i = 0; i < HV_MEM_MAX_REGIONS && same; i++)
		same = le64toh(h->regions[i].gpa) == r[i].gpa &&
		       le64toh(h->regions[i].size) == r[i].size;
	if (!same) {
		snprintf(err, errlen, "migration stream RAM layout does not match this build's");
		return -EINVAL;
	}
	return 0;
}

/* A run of count pages at gpa lies wholly inside one RAM region of the layout. */
static bool run_inside(uint64_t mem_size, uint64_t gpa, uint64_t count)
{
	struct hv_mig_region r[HV_MEM_MAX_REGIONS];
	unsigned n = hv_mig_layout(mem_size, r);
	if (gpa % PAGE || count > HV_MIG_MAX_RUN)
		return false;
	uint64_t len = count * PAGE;
	for (unsigned i = 0; i < n; i++)
		if (gpa >= r[i].gpa && gpa - r[i].gpa < r[i].size && len <= r[i].size - (gpa - r[i].gpa))
			return true;
	return false;
}

int hv_mig_rec_check(const struct hv_mig_rec *rec, uint64_t mem_size, char *err, size_t errlen)
{
	uint32_t type = le32toh(rec->type), count = le32toh(rec->count);
	uint64_t gpa = le64toh(rec->gpa), len = le64toh(rec->len);
	bool ok;
	switch (type) {
	case HV_MIG_REC_CONFIG:
		/* gpa carries the VM's identity: any value. */
		ok = count >= 1 && count <= HV_MIG_MAX_HEADS && len >= 1 && len <= HV_MIG_MAX_BLOB;
		break;
	case HV_MIG_REC_PAGES:
		ok = count >= 1 && len == (uint64_t)count * PAGE && run_inside(mem_size, gpa, count);
		break;
	case HV_MIG_REC_ZERO:
		ok = count >= 1 && len == 0 && run_inside(mem_size, gpa, count);
		break;
	case HV_MIG_REC_POISON:
		ok = count == 1 && len == 0 && run_inside(mem_size, gpa, 1);
		break;
	case HV_MIG_REC_DEVICE:
		ok = gpa == 0 && count == 0 && len >= 1 && len <= HV_MIG_MAX_BLOB;
		break;
	case HV_MIG_REC_END:
		ok = count == 0 && len == 0 && gpa <= UINT32_MAX;
		break;
	default:
		snprintf(err, errlen, "migration stream: unknown record type %u", type);
		return -EPROTO;
	}
	if (!ok) {
		snprintf(err, errlen,
			 "migration stream: bad %s record (count %u, gpa 0x%llx, %llu bytes)",
			 hv_mig_rec_name(type), count, (unsigned long long)gpa,
			 (unsigned long long)len);
		return -EPROTO;
	}
	return 0;
}

void hv_mig_rec_init(struct hv_mig_rec *rec, uint32_t type, uint32_t count, uint64_t gpa,
		     uint64_t len)
{
	rec->type = htole32(type);
	rec->count = htole32(count);
	rec->gpa = htole64(gpa);
	rec->len = htole64(len);
}

/* ---- writer ---- */

void hv_mig_writer_init(struct hv_mig_writer *w, hv_mig_io_fn fn, void *opaque)
{
	memset(w, 0, sizeof(*w));
	w->io = fn;
	w->opaque = opaque;
	w->cap = HV_MIG_WRITE_BUF;
	w->buf = hd_xmalloc(w->cap);
}

void hv_mig_writer_free(struct hv_mig_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}

int hv_mig_flush(struct hv_mig_writer *w)
{
	size_t off = 0;
	while (!w->err && off < w->len) {
		ssize_t n = w->io(w->opaque, w->buf + off, w->len - off);
		if (n <= 0)
			w->err = n < 0 ? (int)n : -EPIPE;
		else
			off += (size_t)n;
	}
	w->len = 0;
	return w->err;
}

int hv_mig_write(struct hv_mig_writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	w->crc = hv_crc32c(w->crc, p, n);
	w->bytes += n;
	while (n && !w->err) {
		size_t room = w->cap - w->len, take = n < room ? n : room;
		memcpy(w->buf + w->len, b, take);
		w->len += take;
		b += take;
		n -= take;
		if (w->len == w->cap)
			hv_mig_flush(w);
	}
	return w->err;
}

int hv_mig_write_rec(struct hv_mig_writer *w, uint32_t type, uint32_t count, uint64_t gpa,
		     const void *payload, uint64_t len)
{
	struct hv_mig_rec rec;
	hv_mig_rec_init(&rec, type, count, gpa, len);
	hv_mig_write(w, &rec, sizeof(rec));
	if (len)
		hv_mig_write(w, payload, (size_t)len);
	return w->err;
}

int hv_mig_write_end(struct hv_mig_writer *w)
{
	/* The checksum covers every byte before this record. */
	struct hv_mig_rec rec;
	hv_mig_rec_init(&rec, HV_MIG_REC_END, 0, w->crc, 0);
	hv_mig_write(w, &rec, sizeof(rec));
	return hv_mig_flush(w);
}

/* ---- receiving parser ---- */

static int rd(struct hv_mig_recv *rx, void *buf, size_t n, char *err, size_t errlen)
{
	uint8_t *b = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = rx->io(rx->opaque, b + got, n - got);
		if (r == 0) {
			snprintf(err, errlen, "migration stream ended early (after %llu bytes)",
				 (unsigned long long)(rx->bytes + got));
			return -EPIPE;
		}
		if (r < 0) {
			snprintf(err, errlen, "migration stream read failed after %llu bytes: %s",
				 (unsigned long long)(rx->bytes + got), strerror((int)-r));
			return (int)r;
		}
		got += (size_t)r;
	}
	rx->crc = hv_crc32c(rx->crc, buf, n);
	rx->bytes += n;
	return 0;
}

/* A blob whose length the peer chose: the buffer grows only as bytes really arrive. */
static int rd_blob(struct hv_mig_recv *rx, uint64_t len, uint8_t **out, char *err,
		   size_t errlen)
{
	uint8_t *buf = NULL;
	size_t have = 0, cap = 0;
	while (have < len) {
		size_t chunk = len - have < (1u << 20) ? (size_t)(len - have) : (1u << 20);
		if (have + chunk > cap) {
			size_t ncap = cap ? cap * 2 : (1u << 20);
			if (ncap > len)
				ncap = (size_t)len;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				snprintf(err, errlen, "out of memory for a %llu-byte state blob",
					 (unsigned long long)len);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		int r = rd(rx, buf + have, chunk, err, errlen);
		if (r < 0) {
			free(buf);
			return r;
		}
		have += chunk;
	}
	*out = buf;
	return 0;
}

static int rd_rec(struct hv_mig_recv *rx, struct hv_mig_rec *rec, char *err, size_t errlen)
{
	uint32_t crc_before = rx->crc;
	int r = rd(rx, rec, sizeof(*rec), err, errlen);
	if (r < 0)
		return r;
	rx->crc_before_rec = crc_before;
	return hv_mig_rec_check(rec, rx->mem_size, err, errlen);
}

void hv_mig_recv_init(struct hv_mig_recv *rx, hv_mig_io_fn fn, void *opaque)
{
	memset(rx, 0, sizeof(*rx));
	rx->io = fn;
	rx->opaque = opaque;
}

void hv_mig_recv_free(struct hv_mig_recv *rx)
{
	free(rx->config);
	free(rx->device);
	free(rx->poison);
	rx->config = rx->device = NULL;
	rx->poison = NULL;
}

int hv_mig_recv_start(struct hv_mig_recv *rx, char *err, size_t errlen)
{
	struct hv_mig_header h;
	int r = rd(rx, &h, sizeof(h), err, errlen);
	if (r < 0)
		return r;
	if ((r = hv_mig_header_check(&h, err, errlen)) < 0)
		return r;
	rx->mem_size = le64toh(h.mem_size);
	struct hv_mig_rec rec;
	if ((r = rd_rec(rx, &rec, err, errlen)) < 0)
		return r;
	if (le32toh(rec.type) != HV_MIG_REC_CONFIG) {
		snprintf(err, errlen, "migration stream: %s record before the machine's config",
			 hv_mig_rec_name(le32toh(rec.type)));
		return -EPROTO;
	}
	rx->heads = le32toh(rec.count);
	rx->vm_id = le64toh(rec.gpa);
	rx->config_len = (size_t)le64toh(rec.len);
	return rd_blob(rx, rx->config_len, &rx->config, err, errlen);
}

static int add_poison(struct hv_mig_recv *rx, uint64_t gpa, char *err, size_t errlen)
{
	for (unsigned i = 0; i < rx->nr_poison; i++)
		if (rx->poison[i] == gpa)
			return 0;
	if (rx->nr_poison == HV_MIG_MAX_POISON) {
		snprintf(err, errlen, "migration stream: more than %u poisoned pages",
			 HV_MIG_MAX_POISON);
		return -EPROTO;
	}
	if (!rx->poison)
		rx->poison = hd_xzalloc(HV_MIG_MAX_POISON * sizeof(*rx->poison)); /* 32 KiB */
	rx->poison[rx->nr_poison++] = gpa;
	return 0;
}

int hv_mig_recv_body(struct hv_mig_recv *rx, struct hv_mem *mem, char *err, size_t errlen)
{
	if (mem->size != rx->mem_size) {
		snprintf(err, errlen, "migration stream RAM size differs from the VM's");
		return -EINVAL;
	}
	for (;;) {
		struct hv_mig_rec rec;
		int r = rd_rec(rx, &rec, err, errlen);
		if (r < 0)
			return r;
		uint32_t type = le32toh(rec.type), count = le32toh(rec.count);
		uint64_t gpa = le64toh(rec.gpa), len = le64toh(rec.len);
		switch (type) {
		case HV_MIG_REC_PAGES: {
			/* Checked by rd_rec; hv_mem_ptr checks again against the real mapping. */
			uint8_t *dst = hv_mem_ptr(mem, gpa, len);
			if (!dst) {
				snprintf(err, errlen, "migration stream: pages at 0x%llx outside RAM",
					 (unsigned long long)gpa);
				return -EPROTO;
			}
			if ((r = rd(rx, dst, (size_t)len, err, errlen)) < 0)
				return r;
			rx->pages += count;
			break;
		}
		case HV_MIG_REC_ZERO: {
			uint8_t *dst = hv_mem_ptr(mem, gpa, (uint64_t)count * PAGE);
			if (!dst) {
				snprintf(err, errlen, "migration stream: pages at 0x%llx outside RAM",
					 (unsigned long long)gpa);
				return -EPROTO;
			}
			memset(dst, 0, (size_t)count * PAGE);
			rx->pages += count;
			break;
		}
		case HV_MIG_REC_POISON:
			if ((r = add_poison(rx, gpa, err, errlen)) < 0)
				return r;
			break;
		case HV_MIG_REC_DEVICE:
			if (rx->device) {
				snprintf(err, errlen, "migration stream: device state sent twice");
				return -EPROTO;
			}
			rx->device_len = (size_t)len;
			if ((r = rd_blob(rx, len, &rx->device, err, errlen)) < 0)
				return r;
			break;
		case HV_MIG_REC_END:
			if (!rx->device) {
				snprintf(err, errlen, "migration stream ended without the device state");
				return -EPROTO;
			}
			if ((uint32_t)gpa != rx->crc_before_rec) {
				snprintf(err, errlen,
					 "migration stream checksum mismatch (stream damaged)");
				return -EBADMSG;
			}
			return 0;
		default: /* a second config */
			snprintf(err, errlen, "migration stream: unexpected %s record",
				 hv_mig_rec_name(type));
			return -EPROTO;
		}
	}
}
