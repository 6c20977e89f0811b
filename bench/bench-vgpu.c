/* bench-vgpu.c: times the virtual GPU's frame path on this host (a full 1920x1080 guest flush
 * into the head's framebuffer, 2D and blob) beside plain memcpy, the resource create/destroy
 * rate and host memory per resource, and prints them. Not a test: it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd-common.h"
#include "vgpu-wire.h"
#include "vgpu.h"

#include "bench-stats.h"

#define W	  1920u
#define H	  1080u
#define FRAME	  ((size_t)W * H * 4) /* 8294400 bytes, 7.9 MiB */
#define PAGES	  ((FRAME + 4095) / 4096)
#define MEM_SIZE  (64ull << 20)
#define BACK_2D	  (8ull << 20)
#define BACK_BLOB (24ull << 20)
#define COPY	  (8u << 20)
#define COLD_BUFS 40 /* 40 x 8 MiB: more than any last-level cache */

static struct vgpu *gpu;
static struct hv_mem mem;
static uint8_t resp[2048];


static uint32_t send(const void *req, size_t len)
{
	vgpu_ctrl_request(gpu, req, len, resp, sizeof(resp));
	return ((struct vgpu_ctrl_hdr *)resp)->type;
}

static void must(uint32_t type, const char *what)
{
	if (type != VGPU_RESP_OK_NODATA) {
		fprintf(stderr, "bench-vgpu: %s failed: %#x\n", what, type);
		exit(1);
	}
}

/* Memory entries for a frame at base: one run, or 4 KiB pages in a scrambled order (what a
 * guest allocator that hands out scattered pages gives). */
static struct vgpu_mem_entry *entries(uint64_t base, bool scattered, uint32_t *n)
{
	struct vgpu_mem_entry *e = calloc(PAGES, sizeof(*e));
	if (!scattered) {
		e[0] = (struct vgpu_mem_entry){base, (uint32_t)(PAGES * 4096), 0};
		*n = 1;
		return e;
	}
	for (uint32_t i = 0; i < PAGES; i++) {
		uint32_t page =
		    (i * 7919u) % PAGES; /* 7919 is prime and PAGES is not its multiple */
		e[i] = (struct vgpu_mem_entry){base + page * 4096ull, 4096, 0};
	}
	*n = PAGES;
	return e;
}

static uint32_t create_2d(uint32_t id, uint32_t w, uint32_t h)
{
	struct vgpu_resource_create_2d c = {
	    {.type = VGPU_CMD_RESOURCE_CREATE_2D}, id, VGPU_FORMAT_B8G8R8X8_UNORM, w, h};
	return send(&c, sizeof(c));
}

static uint32_t attach_or_blob(uint32_t type, uint32_t id, const struct vgpu_mem_entry *e,
			       uint32_t n, uint64_t size)
{
	size_t hl = type == VGPU_CMD_RESOURCE_CREATE_BLOB
			? sizeof(struct vgpu_resource_create_blob)
			: sizeof(struct vgpu_resource_attach_backing);
	uint8_t *req = calloc(1, hl + n * sizeof(*e));
	if (type == VGPU_CMD_RESOURCE_CREATE_BLOB) {
		struct vgpu_resource_create_blob b = {{.type = type},
						      id,
						      VGPU_BLOB_MEM_GUEST,
						      VGPU_BLOB_FLAG_USE_SHAREABLE,
						      n,
						      0,
						      size};
		memcpy(req, &b, sizeof(b));
	} else {
		struct vgpu_resource_attach_backing a = {{.type = type}, id, n};
		memcpy(req, &a, sizeof(a));
	}
	memcpy(req + hl, e, n * sizeof(*e));
	uint32_t r = send(req, hl + n * sizeof(*e));
	free(req);
	return r;
}

static uint32_t unref(uint32_t id)
{
	struct vgpu_resource_unref u = {{.type = VGPU_CMD_RESOURCE_UNREF}, id, 0};
	return send(&u, sizeof(u));
}

static uint64_t used(void)
{
	struct vgpu_stats st;
	vgpu_get_stats(gpu, &st);
	return st.memory_used;
}

static void bench_2d(int runs, bool scattered, double *t)
{
	uint32_t n;
	struct vgpu_mem_entry *e = entries(BACK_2D, scattered, &n);
	uint64_t before = used();
	must(create_2d(1, W, H), "create 2D");
	must(attach_or_blob(VGPU_CMD_RESOURCE_ATTACH_BACKING, 1, e, n, 0), "attach");
	printf("  2D resource, %u backing entries: %llu bytes of host memory\n", n,
	       (unsigned long long)(used() - before));
	struct vgpu_set_scanout s = {{.type = VGPU_CMD_SET_SCANOUT}, {0, 0, W, H}, 0, 1};
	must(send(&s, sizeof(s)), "set scanout");
	struct vgpu_transfer_to_host_2d tr = {
	    {.type = VGPU_CMD_TRANSFER_TO_HOST_2D}, {0, 0, W, H}, 0, 1, 0};
	struct vgpu_resource_flush fl = {{.type = VGPU_CMD_RESOURCE_FLUSH}, {0, 0, W, H}, 1, 0};
	for (int i = 0; i < runs; i++) {
		memset(hv_mem_ptr(&mem, BACK_2D, 4096), i, 4096); /* the guest drew something */
		double t0 = bench_now_us();
		must(send(&tr, sizeof(tr)), "transfer");
		must(send(&fl, sizeof(fl)), "flush");
		t[i] = bench_now_us() - t0;
	}
	must(unref(1), "unref");
	free(e);
}

static void bench_blob(int runs, bool scattered, double *t)
{
	uint32_t n;
	struct vgpu_mem_entry *e = entries(BACK_BLOB, scattered, &n);
	uint64_t before = used();
	must(attach_or_blob(VGPU_CMD_RESOURCE_CREATE_BLOB, 2, e, n, FRAME), "create blob");
	printf("  blob resource, %u backing entries: %llu bytes of host memory\n", n,
	       (unsigned long long)(used() - before));
	struct vgpu_set_scanout_blob s = {.hdr = {.type = VGPU_CMD_SET_SCANOUT_BLOB},
					  .r = {0, 0, W, H},
					  .scanout_id = 0,
					  .resource_id = 2,
					  .width = W,
					  .height = H,
					  .format = VGPU_FORMAT_B8G8R8X8_UNORM,
					  .strides = {W * 4}};
	must(send(&s, sizeof(s)), "set scanout blob");
	struct vgpu_resource_flush fl = {{.type = VGPU_CMD_RESOURCE_FLUSH}, {0, 0, W, H}, 2, 0};
	for (int i = 0; i < runs; i++) {
		memset(hv_mem_ptr(&mem, BACK_BLOB, 4096), i, 4096);
		double t0 = bench_now_us();
		must(send(&fl, sizeof(fl)), "flush");
		t[i] = bench_now_us() - t0;
	}
	must(unref(2), "unref");
	free(e);
}

static void bench_memcpy(int runs, double *warm, double *cold)
{
	uint8_t *dst = malloc(COPY), *bufs[COLD_BUFS];
	for (int i = 0; i < COLD_BUFS; i++) {
		bufs[i] = malloc(COPY);
		memset(bufs[i], i, COPY);
	}
	memset(dst, 1, COPY);
	for (int i = 0; i < runs; i++) {
		double t0 = bench_now_us();
		memcpy(dst, bufs[0], COPY);
		warm[i] = bench_now_us() - t0;
	}
	/* Each source was last touched COLD_BUFS - 1 copies ago: out of every cache. */
	for (int i = 0; i < runs; i++) {
		uint8_t *src = bufs[1 + i % (COLD_BUFS - 1)];
		double t0 = bench_now_us();
		memcpy(dst, src, COPY);
		cold[i] = bench_now_us() - t0;
	}
	for (int i = 0; i < COLD_BUFS; i++)
		free(bufs[i]);
	free(dst);
}

static void bench_churn(int n)
{
	struct vgpu_mem_entry e = {BACK_2D, 256 * 256 * 4, 0};
	double t0 = bench_now_us();
	for (int i = 0; i < n; i++) {
		must(create_2d(100, 256, 256), "create");
		must(attach_or_blob(VGPU_CMD_RESOURCE_ATTACH_BACKING, 100, &e, 1, 0), "attach");
		must(unref(100), "unref");
	}
	double dt = bench_now_us() - t0;
	printf("%-44s %8.0f per second (%.2f us each, n=%d)\n", "2D 256x256 create+attach+unref",
	       n / dt * 1e6, dt / n, n);
	t0 = bench_now_us();
	for (int i = 0; i < n; i++) {
		must(attach_or_blob(VGPU_CMD_RESOURCE_CREATE_BLOB, 101, &e, 1, e.length), "blob");
		must(unref(101), "unref");
	}
	dt = bench_now_us() - t0;
	printf("%-44s %8.0f per second (%.2f us each, n=%d)\n", "blob 256 KiB create+unref",
	       n / dt * 1e6, dt / n, n);
}

static void cpu_name(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	snprintf(out, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			snprintf(out, len, "%s", c + 2);
			out[strcspn(out, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	int runs = 200;
	char cpu[128];

	printf("command:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: bench-vgpu [--runs N]\n");
			return 2;
		}
	}
	if (runs < 10)
		runs = 10;
	cpu_name(cpu, sizeof(cpu));
	printf("host: %s; one full %ux%u XRGB frame is %zu bytes\n", cpu, W, H, FRAME);

	hd_log_set_level(HD_LOG_ERROR);
	struct vgpu_config cfg = {.heads = 1, .memory_limit = 256ull << 20};
	if (hv_mem_init(&mem, MEM_SIZE) < 0 || vgpu_new(&cfg, &mem, &gpu) < 0) {
		fprintf(stderr, "bench-vgpu: cannot set up guest memory and the GPU\n");
		return 1;
	}
	memset(mem.base, 0x5a, MEM_SIZE);
	double *t = calloc((size_t)runs, sizeof(double));
	double *t2 = calloc((size_t)runs, sizeof(double));

	printf(
	    "full-frame flush into the head's framebuffer (with each resource's host memory):\n");
	bench_2d(runs, false, t);
	bench_report("2D: transfer + flush, 1 backing entry", "us", t, runs);
	bench_2d(runs, true, t);
	bench_report("2D: transfer + flush, 4 KiB scattered pages", "us", t, runs);
	bench_blob(runs, false, t);
	bench_report("blob: flush only, 1 backing entry", "us", t, runs);
	bench_blob(runs, true, t);
	bench_report("blob: flush only, 4 KiB scattered pages", "us", t, runs);
	printf("  the head's 1920x1080 framebuffer (memfd): %zu bytes\n",
	       (size_t)((FRAME + 4095) & ~4095ul));
	bench_memcpy(runs, t, t2);
	bench_report("memcpy 8 MiB, cache-warm source", "us", t, runs);
	bench_report("memcpy 8 MiB, cold source", "us", t2, runs);

	printf("resource churn:\n");
	bench_churn(runs * 50);
	free(t);
	free(t2);
	vgpu_destroy(gpu);
	hv_mem_fini(&mem);
	return 0;
}
