/* gen-snapshot-seeds.c: writes small seeds for fuzz-snapshot into a directory, with the
 * format's own writer and the devices' own save functions. Not run by any test; the seeds
 * it wrote are in tests/fuzz/corpus/snapshot/ (usage: gen-snapshot-seeds DIR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv-internal.h"

static const char *dir;
static struct hv_mem mem;
static struct hv_virtio_mmio tr;
static struct hv_input *kbd;
static struct hv_uart uart;
static struct hd_buf vm_sec, gpu_sec, uart_sec, virtio_sec, mem_sec;

static void irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static void put_string(struct hd_buf *b, const char *s)
{
	hv_snap_put_u32(b, (uint32_t)strlen(s));
	hv_snap_put(b, s, strlen(s));
}

static char *path(const char *name)
{
	static char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_raw(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(path(name), "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		abort();
}

/* A whole file; dup repeats the uart section. */
static void write_snapshot(const char *name, bool dup)
{
	struct hv_snap_writer *w;
	char err[512];
	if (hv_snap_writer_open(path(name), &w, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	hv_snap_writer_section(w, "vm", 1, vm_sec.data, vm_sec.len);
	hv_snap_writer_section(w, "uart", 1, uart_sec.data, uart_sec.len);
	if (dup)
		hv_snap_writer_section(w, "uart", 1, uart_sec.data, uart_sec.len);
	hv_snap_writer_section(w, "virtio.1", 1, virtio_sec.data, virtio_sec.len);
	hv_snap_writer_section(w, "gpu", 2, gpu_sec.data, gpu_sec.len);
	hv_snap_writer_section(w, "memory", 1, mem_sec.data, mem_sec.len);
	if (hv_snap_writer_commit(w, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

static uint8_t *slurp(const char *name, size_t *len)
{
	FILE *f = fopen(path(name), "rb");
	static uint8_t buf[1 << 16];
	if (!f)
		abort();
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint8_t *r = malloc(*len);
	memcpy(r, buf, *len);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-snapshot-seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (hv_mem_init(&mem, 1 << 20) < 0 || hv_input_new(HV_INPUT_KEYBOARD, &kbd) < 0 ||
	    hv_virtio_mmio_init(&tr, hv_input_virtio_ops(), kbd, &mem, irq, NULL,
				HV_MMIO_IRQ_BASE + 1) < 0)
		return 1;
	hv_uart_init(&uart, NULL, HV_IRQ_UART0, -1);
	hd_buf_init(&vm_sec);
	hd_buf_init(&gpu_sec);
	hd_buf_init(&uart_sec);
	hd_buf_init(&virtio_sec);
	hd_buf_init(&mem_sec);

	/* vm: 2 MiB, 1 vCPU, engine auto, no KVM, devices gpu + keyboard + tablet, no image */
	hv_snap_put_u64(&vm_sec, 2u << 20);
	hv_snap_put_u32(&vm_sec, 1);
	hv_snap_put_u32(&vm_sec, 0);
	hv_snap_put_u32(&vm_sec, 0);
	put_string(&vm_sec, "exit=0");
	put_string(&vm_sec, "seed");
	hv_snap_put_u32(&vm_sec, 3);
	hv_snap_put_u32(&vm_sec, 16);
	hv_snap_put_u32(&vm_sec, 18);
	hv_snap_put_u32(&vm_sec, 18);
	hv_snap_put_u64(&vm_sec, 0);
	/* gpu (layout 2): one head, one 4x4 2D resource backed by guest bytes [0x1000, 0x1040)
	 * and shown whole on head 0, and a blob of 64 bytes at 0x2000 */
	hv_snap_put_u32(&gpu_sec, 1);
	hv_snap_put_u32(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 2); /* resources */
	hv_snap_put_u32(&gpu_sec, 1); /* id, blob, format, width, height, size */
	hv_snap_put_u8(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 2);
	hv_snap_put_u32(&gpu_sec, 4);
	hv_snap_put_u32(&gpu_sec, 4);
	hv_snap_put_u64(&gpu_sec, 64);
	hv_snap_put_u32(&gpu_sec, 1); /* entries: gpa, length */
	hv_snap_put_u64(&gpu_sec, 0x1000);
	hv_snap_put_u64(&gpu_sec, 64);
	for (unsigned i = 0; i < 64; i++)
		hv_snap_put_u8(&gpu_sec, (uint8_t)(i * 7));
	hv_snap_put_u32(&gpu_sec, 2);
	hv_snap_put_u8(&gpu_sec, 1);
	hv_snap_put_u32(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 0);
	hv_snap_put_u64(&gpu_sec, 64);
	hv_snap_put_u32(&gpu_sec, 1);
	hv_snap_put_u64(&gpu_sec, 0x2000);
	hv_snap_put_u64(&gpu_sec, 64);
	hv_snap_put_u8(&gpu_sec, 1); /* head 0: enabled 1024x768, 270 x 203 mm */
	hv_snap_put_u32(&gpu_sec, 1024);
	hv_snap_put_u32(&gpu_sec, 768);
	hv_snap_put_u32(&gpu_sec, 270);
	hv_snap_put_u32(&gpu_sec, 203);
	hv_snap_put_u32(&gpu_sec, 1); /* scanout: resource 1, 2D, format, 4x4, stride 16 */
	hv_snap_put_u8(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 2);
	hv_snap_put_u32(&gpu_sec, 4);
	hv_snap_put_u32(&gpu_sec, 4);
	hv_snap_put_u32(&gpu_sec, 16);
	hv_snap_put_u64(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 0);
	hv_snap_put_u32(&gpu_sec, 4);
	hv_snap_put_u32(&gpu_sec, 4);
	hv_snap_put_u64(&gpu_sec, 3); /* frames */
	hv_snap_put_u8(&gpu_sec, 1);  /* cursor: visible at (10, 20), hot (1, 2), serial 1 */
	hv_snap_put_u32(&gpu_sec, 10);
	hv_snap_put_u32(&gpu_sec, 20);
	hv_snap_put_u32(&gpu_sec, 1);
	hv_snap_put_u32(&gpu_sec, 2);
	hv_snap_put_u64(&gpu_sec, 1);
	hv_snap_put_u32(&gpu_sec, 1);
	for (unsigned i = 0; i < 64 * 64 * 4; i++)
		hv_snap_put_u8(&gpu_sec, 0);
	hv_uart_receive(&uart, (const uint8_t *)"hi", 2);
	hv_uart_save(&uart, &uart_sec);
	hv_virtio_mmio_save(&tr, &virtio_sec);
	/* memory: 2 MiB, 512 pages, all zero (empty bitmap, no pages) */
	hv_snap_put_u64(&mem_sec, 2u << 20);
	hv_snap_put_u64(&mem_sec, 512);
	static const uint8_t bm[64];
	hv_snap_put(&mem_sec, bm, sizeof(bm));

	write_snapshot("minimal.snap", false);
	write_snapshot("duplicate-section.snap", true);
	write_raw("raw-vm", vm_sec.data, vm_sec.len);
	write_raw("raw-gpu", gpu_sec.data, gpu_sec.len);
	write_raw("raw-uart", uart_sec.data, uart_sec.len);
	write_raw("raw-virtio", virtio_sec.data, virtio_sec.len);

	size_t n;
	uint8_t *f = slurp("minimal.snap", &n);
	f[0] ^= 0x20; /* magic */
	write_raw("bad-magic.snap", f, n);
	f[0] ^= 0x20;
	f[8] = 2; /* version */
	write_raw("version-2.snap", f, n);
	f[8] = 1;
	write_raw("truncated.snap", f, n / 2);
	f[64 + 32 + 3] ^= 1; /* first byte in the "vm" payload past its u64 size */
	write_raw("flipped-payload.snap", f, n);
	f[64 + 32 + 3] ^= 1;
	f[64 + 16] ^= 0x40; /* the "vm" section's length */
	write_raw("bad-length.snap", f, n);
	f[64 + 16] ^= 0x40;
	uint8_t *g = malloc(n + 3);
	memcpy(g, f, n);
	memcpy(g + n, "xyz", 3);
	write_raw("trailing-bytes.snap", g, n + 3);
	free(g);
	free(f);
	return 0;
}
