/* gen-migrate-seeds.c: writes small seeds for fuzz-migrate into a directory with the stream's
 * own writer. Not run by any test; the seeds it wrote are in tests/fuzz/corpus/migrate/
 * (usage: gen-migrate-seeds DIR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv-internal.h"

#define MEM (2u << 20)

static const char *dir;

struct sink {
	struct hd_buf b;
};

static ssize_t to_buf(void *opaque, void *p, size_t n)
{
	hd_buf_append(&((struct sink *)opaque)->b, p, n);
	return (ssize_t)n;
}

static void save(const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		abort();
}

/* A snapshot image with a "vm" section for a 2 MiB, 1-vCPU machine (and a uart one). */
static uint8_t *image(bool device, size_t *len)
{
	struct hd_buf vm;
	hd_buf_init(&vm);
	hv_snap_put_u64(&vm, MEM);
	hv_snap_put_u32(&vm, 1);
	hv_snap_put_u32(&vm, 0);
	hv_snap_put_u32(&vm, 0);
	hv_snap_put_u32(&vm, 6);
	hv_snap_put(&vm, "exit=0", 6);
	hv_snap_put_u32(&vm, 4);
	hv_snap_put(&vm, "seed", 4);
	hv_snap_put_u32(&vm, 0);
	hv_snap_put_u64(&vm, 0);
	struct hv_snap_writer *w;
	char err[256];
	if (hv_snap_writer_open_mem(&w, err, sizeof(err)) < 0)
		abort();
	hv_snap_writer_section(w, "vm", 1, vm.data, vm.len);
	if (device)
		hv_snap_writer_section(w, "uart", 1, "\0\0\0\0\0\0\0\0", 8);
	uint8_t *b;
	if (hv_snap_writer_take(w, &b, len, err, sizeof(err)) < 0)
		abort();
	hd_buf_free(&vm);
	return b;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-migrate-seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	struct sink s;
	hd_buf_init(&s.b);
	struct hv_mig_writer w;
	hv_mig_writer_init(&w, to_buf, &s);
	struct hv_mig_header h;
	hv_mig_header_init(&h, MEM);
	hv_mig_write(&w, &h, sizeof(h));
	size_t clen, dlen;
	uint8_t *cfg = image(false, &clen), *dev = image(true, &dlen);
	hv_mig_write_rec(&w, HV_MIG_REC_CONFIG, 1, 0, cfg, clen);
	hv_mig_flush(&w);
	save("header-config.mig", s.b.data, s.b.len);
	static uint8_t pages[2 * 4096];
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 13);
	hv_mig_write_rec(&w, HV_MIG_REC_PAGES, 2, 0x1000, pages, sizeof(pages));
	hv_mig_write_rec(&w, HV_MIG_REC_ZERO, 3, 0x10000, NULL, 0);
	hv_mig_write_rec(&w, HV_MIG_REC_POISON, 1, 0x20000, NULL, 0);
	hv_mig_write_rec(&w, HV_MIG_REC_DEVICE, 0, 0, dev, dlen);
	hv_mig_write_end(&w);
	save("valid.mig", s.b.data, s.b.len);
	save("truncated.mig", s.b.data, s.b.len - 30);
	/* the end record's checksum off by one */
	s.b.data[s.b.len - 16] ^= 1;
	save("bad-checksum.mig", s.b.data, s.b.len);
	save("header-only.mig", &h, sizeof(h));
	hv_mig_writer_free(&w);
	hd_buf_free(&s.b);
	free(cfg);
	free(dev);
	return 0;
}
