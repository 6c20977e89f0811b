/* fuzz-snapshot.c: libFuzzer target for snapshot files (hv_snapshot_parse) and the section
 * readers that need no VM or KVM: the "vm" and "gpu" sections (the GPU's loader on devices of
 * 1 and 2 heads over a small guest RAM of the target's own), the UART, virtio transports.
 * Not the vCPU, KVM, memory or virtio-input loaders: they need a live VM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv-internal.h"
#include "vgpu.h"

/*
 * Each input is used twice:
 *  - as a whole snapshot file: parsed, and on success the invariants of the index are checked
 *    and every section above goes to its reader;
 *  - as the payload of each of those sections directly, so that mutations reach the readers
 *    without having to get past the file's CRC32C checksums.
 * The virtio transports are keyboard and tablet as in a real VM ("virtio.1", "virtio.2").
 */
#define MEM_SIZE (1u << 20)

static struct hv_mem mem;
static struct hv_virtio_mmio tr[2];
static struct hv_input *dev[2];
static struct hv_uart uart;
static struct vgpu *gpu[2]; /* 1 and 2 heads, a small memory limit */

static void irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static void once(void)
{
	if (mem.base)
		return;
	hd_log_set_level(HD_LOG_ERROR);
	if (hv_mem_init(&mem, MEM_SIZE) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		if (hv_input_new(i ? HV_INPUT_TABLET : HV_INPUT_KEYBOARD, &dev[i]) < 0 ||
		    hv_virtio_mmio_init(&tr[i], hv_input_virtio_ops(), dev[i], &mem, irq, NULL,
					HV_MMIO_IRQ_BASE + 1 + (unsigned)i) < 0)
			abort();
		hv_input_set_transport(dev[i], &tr[i]);
	}
	hv_uart_init(&uart, NULL, HV_IRQ_UART0, -1);
	for (unsigned i = 0; i < 2; i++) {
		struct vgpu_config gc = {.heads = i + 1, .memory_limit = 8u << 20};
		if (vgpu_new(&gc, &mem, &gpu[i]) < 0)
			abort();
	}
}

static void check_err(int r, const char *err)
{
	/* A refusal always says why, on one line. */
	if (r < 0 && (!err[0] || strchr(err, '\n')))
		__builtin_trap();
}

static void read_sections(struct hv_snap_index *idx)
{
	char err[512] = "";
	struct hv_snapshot s = {.idx = *idx};
	struct hv_vm_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	int r = hv_snapshot_vm_config(&s, &cfg, err, sizeof(err));
	check_err(r, err);
	if (r == 0 && (cfg.vcpus < 1 || cfg.vcpus > HV_MAX_VCPUS || cfg.mem_size % 4096 ||
		       strlen(cfg.cmdline) >= HV_BOOT_CMDLINE_MAX))
		__builtin_trap();
	for (const char *c = cfg.guest_name; r == 0 && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			__builtin_trap();
	free(s.cmdline);
	free(s.guest_name);

	uint32_t heads = 0;
	err[0] = '\0';
	r = vgpu_snapshot_heads(&s, &heads, err, sizeof(err));
	check_err(r, err);
	if (r == 0 && (heads < 1 || heads > VGPU_MAX_HEADS))
		__builtin_trap();

	struct hv_snap_in in;
	for (unsigned i = 0; i < 2; i++)
		if (hv_snap_index_find(&s.idx, "gpu", &in)) {
			err[0] = '\0';
			r = vgpu_snapshot_load(gpu[i], &in, err, sizeof(err));
			check_err(r, err);
			struct vgpu_stats st;
			vgpu_get_stats(gpu[i], &st);
			if (st.memory_used > st.memory_limit || (r < 0 && st.resources))
				__builtin_trap();
		}
	if (hv_snap_index_find(&s.idx, "uart", &in)) {
		err[0] = '\0';
		check_err(hv_uart_load(&uart, &in, err, sizeof(err)), err);
		if (uart.rx_count > HV_UART_FIFO)
			__builtin_trap();
	}
	static const char *const slots[2] = {"virtio.1", "virtio.2"};
	for (int i = 0; i < 2; i++)
		if (hv_snap_index_find(&s.idx, slots[i], &in)) {
			err[0] = '\0';
			check_err(hv_virtio_mmio_load(&tr[i], &in, err, sizeof(err)), err);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	once();
	struct hv_snap_index *idx = malloc(sizeof(*idx));
	char err[256] = "";
	int r = hv_snapshot_parse(data, size, idx, err, sizeof(err));
	check_err(r, err);
	if (r == 0) {
		for (unsigned i = 0; i < idx->count; i++) {
			const struct hv_snap_section *sec = &idx->sec[i];
			if (sec->data < data || sec->len > size ||
			    (size_t)(sec->data - data) > size - sec->len ||
			    !memchr(sec->name, '\0', sizeof(sec->name)) || !sec->name[0])
				__builtin_trap();
			for (unsigned j = 0; j < i; j++)
				if (!strcmp(idx->sec[j].name, sec->name))
					__builtin_trap();
		}
		read_sections(idx);
	}

	/* The input as the payload of every section at once. */
	static const char *const names[] = {"vm", "gpu", "uart", "virtio.1", "virtio.2"};
	memset(idx, 0, sizeof(*idx));
	for (size_t i = 0; i < HD_ARRAY_SIZE(names); i++) {
		struct hv_snap_section *sec = &idx->sec[idx->count++];
		strcpy(sec->name, names[i]);
		sec->version = strcmp(names[i], "gpu") ? 1 : 2;
		sec->data = data;
		sec->len = size;
	}
	read_sections(idx);
	free(idx);
	return 0;
}
