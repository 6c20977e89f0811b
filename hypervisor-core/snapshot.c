/* snapshot.c: the snapshot file format: header, typed checksummed sections, trailer; the
 * atomic writer and the parser that checks a whole file before anything uses it. Not what
 * goes into the sections (snapshot-vm.c and each device's own save/load). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "snapshot"

/* ---- CRC32C (Castagnoli, reflected 0x82f63b78): SSE4.2 when the CPU has it ---- */

static uint32_t crc_table[8][256];

static void crc_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= c;
		c = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
		    crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
		    crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
		    crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

uint32_t hv_crc32c(uint32_t crc, const void *data, size_t len)
{
	static int mode; /* 0 unknown, 1 software, 2 hardware */
	int m = __atomic_load_n(&mode, __ATOMIC_ACQUIRE);
	if (!m) {
		crc_init_table();
		m = 1;
#if defined(__x86_64__)
		if (__builtin_cpu_supports("sse4.2"))
			m = 2;
#endif
		__atomic_store_n(&mode, m, __ATOMIC_RELEASE);
	}
	uint32_t c = ~crc;
#if defined(__x86_64__)
	if (m == 2)
		return ~crc_hw(c, data, len);
#endif
	return ~crc_sw(c, data, len);
}

/* ---- wire layout (docs/ARCHITECTURE.md, "Snapshots"); little-endian ---- */

struct snap_file_header {
	char magic[8];        /* HV_SNAP_MAGIC */
	uint32_t version;     /* HV_SNAP_VERSION */
	uint32_t header_size; /* sizeof this struct */
	char arch[16];        /* "x86_64" */
	uint32_t page_size;
	uint32_t flags;       /* none yet */
	uint64_t created_ns;  /* CLOCK_REALTIME */
	char producer[16];    /* "hyperdesk" */
};
_Static_assert(sizeof(struct snap_file_header) == 64, "snapshot header layout");

struct snap_section_header {
	char name[HV_SNAP_NAME_MAX]; /* NUL-padded */
	uint64_t len;                /* payload bytes that follow */
	uint32_t version;            /* of the section's own layout */
	uint32_t crc;                /* CRC32C of the payload; of the headers for "end" */
};
_Static_assert(sizeof(struct snap_section_header) == 32, "snapshot section layout");

static const char snap_magic[8] = {'H', 'D', 'S', 'N', 'A', 'P', '\r', '\n'};
#define SNAP_END "end"

/* ---- writer ---- */

struct hv_snap_writer {
	char *path, *tmp;
	FILE *f;
	uint32_t file_crc; /* over the file header and every section header */
	bool in_section, failed;
	struct snap_section_header cur;
	long cur_pos;
	uint64_t cur_left;
	uint64_t bytes;
	bool mem; /* a memfd: hv_snap_writer_take, never renamed */
};

static void w_write(struct hv_snap_writer *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	if (n && fwrite(p, 1, n, w->f) != n)
		w->failed = true;
	w->bytes += n;
}

static int writer_open(const char *path, struct hv_snap_writer **out, char *err, size_t errlen)
{
	struct hv_snap_writer *w = hd_xzalloc(sizeof(*w));
	w->path = hd_xstrdup(path ? path : "(memory)");
	size_t tl = strlen(w->path) + 16;
	w->tmp = hd_xmalloc(tl);
	snprintf(w->tmp, tl, "%s.tmp.%d", w->path, (int)getpid());
	int fd = path ? open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
		      : memfd_create("hyperdesk-state", MFD_CLOEXEC);
	w->mem = !path;
	if (fd < 0 || !(w->f = fdopen(fd, path ? "wb" : "w+b"))) {
		int e = errno;
		snprintf(err, errlen, "cannot create '%s': %s", w->tmp, strerror(e));
		if (fd >= 0)
			close(fd);
		free(w->tmp);
		free(w->path);
		free(w);
		return -e;
	}
	setvbuf(w->f, NULL, _IOFBF, 1 << 20);
	struct snap_file_header h = {.version = HV_SNAP_VERSION, .header_size = sizeof(h),
				     .page_size = 4096};
	memcpy(h.magic, snap_magic, sizeof(h.magic));
	snprintf(h.arch, sizeof(h.arch), "x86_64");
	snprintf(h.producer, sizeof(h.producer), "hyperdesk");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.created_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	w->file_crc = hv_crc32c(0, &h, sizeof(h));
	w_write(w, &h, sizeof(h));
	*out = w;
	return 0;
}

int hv_snap_writer_open(const char *path, struct hv_snap_writer **out, char *err, size_t errlen)
{
	return writer_open(path, out, err, errlen);
}

int hv_snap_writer_open_mem(struct hv_snap_writer **out, char *err, size_t errlen)
{
	return writer_open(NULL, out, err, errlen);
}

/* Sections whose length is known up front stream their payload (memory); the CRC is patched
 * into the header when the section ends. */
void hv_snap_writer_begin(struct hv_snap_writer *w, const char *name, uint32_t version,
			  uint64_t len)
{
	memset(&w->cur, 0, sizeof(w->cur));
	strncpy(w->cur.name, name, HV_SNAP_NAME_MAX - 1);
	w->cur.len = len;
	w->cur.version = version;
	w->cur_pos = w->failed ? 0 : ftell(w->f);
	w->cur_left = len;
	w->in_section = true;
	w_write(w, &w->cur, sizeof(w->cur));
}

void hv_snap_writer_data(struct hv_snap_writer *w, const void *p, size_t n)
{
	if (!w->in_section || n > w->cur_left) {
		w->failed = true;
		return;
	}
	w->cur.crc = hv_crc32c(w->cur.crc, p, n);
	w->cur_left -= n;
	w_write(w, p, n);
}

void hv_snap_writer_end(struct hv_snap_writer *w)
{
	if (!w->in_section || w->cur_left) {
		w->failed = true;
		return;
	}
	w->in_section = false;
	w->file_crc = hv_crc32c(w->file_crc, &w->cur, sizeof(w->cur));
	if (w->failed)
		return;
	long here = ftell(w->f);
	if (fseek(w->f, w->cur_pos, SEEK_SET) < 0 || fwrite(&w->cur, sizeof(w->cur), 1, w->f) != 1 ||
	    fseek(w->f, here, SEEK_SET) < 0)
		w->failed = true;
}

void hv_snap_writer_section(struct hv_snap_writer *w, const char *name, uint32_t version,
			    const void *data, size_t len)
{
	hv_snap_writer_begin(w, name, version, len);
	hv_snap_writer_data(w, data, len);
	hv_snap_writer_end(w);
}

void hv_snap_writer_abort(struct hv_snap_writer *w)
{
	if (!w)
		return;
	fclose(w->f);
	if (!w->mem)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	free(w);
}

/* Writes the end record (a section left open fails the file) and flushes: 0, or an errno. */
static int w_finish(struct hv_snap_writer *w)
{
	struct snap_section_header end = {.crc = w->file_crc};
	snprintf(end.name, sizeof(end.name), SNAP_END);
	if (w->in_section)
		w->failed = true;
	w_write(w, &end, sizeof(end));
	if (w->failed || fflush(w->f) != 0)
		return errno ? errno : EIO;
	return 0;
}

int hv_snap_writer_commit(struct hv_snap_writer *w, uint64_t *bytes, char *err, size_t errlen)
{
	int e = w_finish(w);
	if (!e && fsync(fileno(w->f)) < 0)
		e = errno;
	if (e) {
		snprintf(err, errlen, "cannot write '%s': %s", w->tmp, strerror(e));
		hv_snap_writer_abort(w);
		return -e;
	}
	if (rename(w->tmp, w->path) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", w->tmp, w->path,
			 strerror(e));
		hv_snap_writer_abort(w);
		return -e;
	}
	if (bytes)
		*bytes = w->bytes;
	fclose(w->f);
	free(w->tmp);
	free(w->path);
	free(w);
	return 0;
}

int hv_snap_writer_take(struct hv_snap_writer *w, uint8_t **buf, size_t *len, char *err,
			size_t errlen)
{
	int e = w_finish(w);
	uint8_t *b = NULL;
	if (!e) {
		b = malloc(w->bytes ? (size_t)w->bytes : 1);
		size_t off = 0;
		while (b && off < w->bytes) {
			ssize_t n = pread(fileno(w->f), b + off, (size_t)w->bytes - off, (off_t)off);
			if (n <= 0) {
				e = n < 0 ? errno : EIO;
				break;
			}
			off += (size_t)n;
		}
		if (!b)
			e = ENOMEM;
	}
	if (e) {
		snprintf(err, errlen, "cannot build the state image: %s", strerror(e));
		free(b);
		hv_snap_writer_abort(w);
		return -e;
	}
	*buf = b;
	*len = (size_t)w->bytes;
	hv_snap_writer_abort(w); /* closes the memfd; nothing to unlink */
	return 0;
}

/* ---- parser: every check before anything is used ---- */

/* Bytes from the file go into one-line messages: anything but printable ASCII becomes '?'. */
static void printable(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = src[i] > 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* A section name is 1 to HV_SNAP_NAME_MAX - 1 printable ASCII characters, NUL-padded. */
static bool name_ok(const char *name)
{
	if (name[HV_SNAP_NAME_MAX - 1] != '\0' || name[0] == '\0')
		return false;
	for (const char *c = name; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	return true;
}

int hv_snapshot_parse(const void *buf, size_t len, struct hv_snap_index *idx, char *err,
		      size_t errlen)
{
	const uint8_t *p = buf;
	struct snap_file_header h;
	memset(idx, 0, sizeof(*idx));
	if (len < sizeof(h) || memcmp(p, snap_magic, sizeof(snap_magic)) != 0) {
		snprintf(err, errlen, "not a hyperdesk snapshot (bad magic)");
		return -EINVAL;
	}
	memcpy(&h, p, sizeof(h));
	if (h.version != HV_SNAP_VERSION) {
		snprintf(err, errlen, "unsupported snapshot format version %u (this build reads %u)",
			 h.version, HV_SNAP_VERSION);
		return -EINVAL;
	}
	if (h.header_size != sizeof(h) || h.page_size != 4096 ||
	    strncmp(h.arch, "x86_64", sizeof(h.arch)) != 0) {
		char arch[sizeof(h.arch) + 1];
		printable(arch, h.arch, sizeof(h.arch));
		snprintf(err, errlen, "snapshot is for another host (arch '%s', page size %u)",
			 arch, h.page_size);
		return -EINVAL;
	}
	uint32_t file_crc = hv_crc32c(0, &h, sizeof(h));
	size_t off = sizeof(h);
	for (;;) {
		struct snap_section_header s;
		if (len - off < sizeof(s)) {
			snprintf(err, errlen, "snapshot is truncated (no end marker)");
			return -EINVAL;
		}
		memcpy(&s, p + off, sizeof(s));
		off += sizeof(s);
		if (!name_ok(s.name)) {
			snprintf(err, errlen, "snapshot is corrupt: bad section name at byte %zu",
				 off - sizeof(s));
			return -EINVAL;
		}
		if (!strcmp(s.name, SNAP_END)) {
			/* All of the end record is checked: its own bytes are under no checksum. */
			static const char end_name[HV_SNAP_NAME_MAX] = SNAP_END;
			if (s.len != 0 || s.version != 0 || s.crc != file_crc ||
			    memcmp(s.name, end_name, sizeof(end_name)) != 0) {
				snprintf(err, errlen, "snapshot is corrupt: whole-file checksum mismatch");
				return -EINVAL;
			}
			if (off != len) {
				snprintf(err, errlen, "snapshot is corrupt: %zu bytes after the end marker",
					 len - off);
				return -EINVAL;
			}
			return 0;
		}
		file_crc = hv_crc32c(file_crc, &s, sizeof(s));
		if (s.len > len - off) {
			snprintf(err, errlen,
				 "snapshot is truncated: section '%s' needs %llu bytes, %zu left",
				 s.name, (unsigned long long)s.len, len - off);
			return -EINVAL;
		}
		if (hv_crc32c(0, p + off, (size_t)s.len) != s.crc) {
			snprintf(err, errlen, "snapshot is corrupt: checksum mismatch in section '%s'",
				 s.name);
			return -EINVAL;
		}
		for (unsigned i = 0; i < idx->count; i++)
			if (!strcmp(idx->sec[i].name, s.name)) {
				snprintf(err, errlen, "snapshot is corrupt: section '%s' twice", s.name);
				return -EINVAL;
			}
		if (idx->count == HV_SNAP_MAX_SECTIONS) {
			snprintf(err, errlen, "snapshot is corrupt: more than %d sections",
				 HV_SNAP_MAX_SECTIONS);
			return -EINVAL;
		}
		struct hv_snap_section *e = &idx->sec[idx->count++];
		memcpy(e->name, s.name, sizeof(e->name));
		e->version = s.version;
		e->data = p + off;
		e->len = (size_t)s.len;
		off += (size_t)s.len;
	}
}

bool hv_snap_index_find(struct hv_snap_index *idx, const char *name, struct hv_snap_in *in)
{
	for (unsigned i = 0; i < idx->count; i++)
		if (!strcmp(idx->sec[i].name, name)) {
			*in = (struct hv_snap_in){.p = idx->sec[i].data, .len = idx->sec[i].len,
						  .version = idx->sec[i].version};
			idx->sec[i].used = true;
			return true;
		}
	return false;
}

/* ---- reading a section's payload ---- */

bool hv_snap_get(struct hv_snap_in *in, void *dst, size_t n)
{
	if (in->bad || n > in->len - in->off) {
		in->bad = true;
		memset(dst, 0, n);
		return false;
	}
	memcpy(dst, in->p + in->off, n);
	in->off += n;
	return true;
}

const void *hv_snap_get_ptr(struct hv_snap_in *in, size_t n)
{
	if (in->bad || n > in->len - in->off) {
		in->bad = true;
		return NULL;
	}
	const void *r = in->p + in->off;
	in->off += n;
	return r;
}

uint8_t hv_snap_get_u8(struct hv_snap_in *in)
{
	uint8_t v;
	hv_snap_get(in, &v, 1);
	return v;
}

uint32_t hv_snap_get_u32(struct hv_snap_in *in)
{
	uint32_t v;
	hv_snap_get(in, &v, 4);
	return le32toh(v);
}

uint64_t hv_snap_get_u64(struct hv_snap_in *in)
{
	uint64_t v;
	hv_snap_get(in, &v, 8);
	return le64toh(v);
}

bool hv_snap_in_done(const struct hv_snap_in *in)
{
	return !in->bad && in->off == in->len;
}

void hv_snap_put(struct hd_buf *b, const void *p, size_t n)
{
	hd_buf_append(b, p, n);
}

void hv_snap_put_u8(struct hd_buf *b, uint8_t v)
{
	hd_buf_append(b, &v, 1);
}

void hv_snap_put_u32(struct hd_buf *b, uint32_t v)
{
	v = htole32(v);
	hd_buf_append(b, &v, 4);
}

void hv_snap_put_u64(struct hd_buf *b, uint64_t v)
{
	v = htole64(v);
	hd_buf_append(b, &v, 8);
}

/* ---- a snapshot file, mapped and checked ---- */

int hv_snapshot_open(const char *path, struct hv_snapshot **out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open snapshot '%s': %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		snprintf(err, errlen, "snapshot '%s' is not a regular, non-empty file", path);
		close(fd);
		return -EINVAL;
	}
	struct hv_snapshot *s = hd_xzalloc(sizeof(*s));
	s->len = (size_t)st.st_size;
	s->map = mmap(NULL, s->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (s->map == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "cannot map snapshot '%s': %s", path, strerror(e));
		free(s);
		return -e;
	}
	madvise(s->map, s->len, MADV_SEQUENTIAL);
	char why[256];
	int r = hv_snapshot_parse(s->map, s->len, &s->idx, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "refusing snapshot '%s': %s", path, why);
		hv_snapshot_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int hv_snapshot_from_buf(uint8_t *buf, size_t len, struct hv_snapshot **out, char *err,
			 size_t errlen)
{
	struct hv_snapshot *s = hd_xzalloc(sizeof(*s));
	s->map = buf;
	s->len = len;
	s->heap = true;
	int r = hv_snapshot_parse(s->map, s->len, &s->idx, err, errlen);
	if (r < 0) {
		hv_snapshot_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void hv_snapshot_close(struct hv_snapshot *s)
{
	if (!s)
		return;
	if (s->heap)
		free(s->map);
	else
		munmap(s->map, s->len);
	free(s->cmdline);
	free(s->guest_name);
	free(s);
}
