/* fuzz-migrate.c: libFuzzer target for the live-migration stream as a destination reads it
 * (hv_mig_recv_start + hv_mig_recv_body into a guest RAM of 2 MiB), then the config and device
 * blobs it accepted, as migrate-in.c checks them. Not the restore into a VM (needs KVM).
 *
 * A stream is only accepted whole when its end record's CRC32C matches; every record before
 * it is checked (and its pages written) on the way, which is where mutations land. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd-common.h"
#include "hv-internal.h"

#define MEM_SIZE (2u << 20)

static struct hv_mem mem;

struct input {
	const uint8_t *p;
	size_t len, off;
};

static ssize_t in_read(void *opaque, void *buf, size_t n)
{
	struct input *in = opaque;
	size_t left = in->len - in->off;
	if (n > left)
		n = left;
	/* Short reads too: never more than 4 KiB + 3 at once. */
	if (n > 4099)
		n = 4099;
	memcpy(buf, in->p + in->off, n);
	in->off += n;
	return (ssize_t)n;
}

static void check_err(int r, const char *err)
{
	if (r < 0 && (!err[0] || strchr(err, '\n')))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem.base) {
		hd_log_set_level(HD_LOG_ERROR);
		if (hv_mem_init(&mem, MEM_SIZE) < 0)
			abort();
	}
	struct input in = {.p = data, .len = size};
	struct hv_mig_recv rx;
	char err[512] = "";
	hv_mig_recv_init(&rx, in_read, &in);
	int r = hv_mig_recv_start(&rx, err, sizeof(err));
	check_err(r, err);
	if (r == 0 && (rx.heads < 1 || rx.heads > HV_MIG_MAX_HEADS || !rx.config ||
		       rx.config_len > size))
		__builtin_trap();
	if (r == 0) {
		err[0] = '\0';
		r = hv_mig_recv_body(&rx, &mem, err, sizeof(err));
		check_err(r, err);
		if (rx.nr_poison > HV_MIG_MAX_POISON || rx.bytes > size)
			__builtin_trap();
		for (unsigned i = 0; i < rx.nr_poison; i++)
			if (rx.poison[i] % 4096 || rx.poison[i] >= MEM_SIZE)
				__builtin_trap();
	}
	if (r == 0) {
		/* What migrate-in.c does with the blobs before any VM sees them. */
		struct hv_snapshot *s = NULL;
		err[0] = '\0';
		r = hv_snapshot_from_buf(rx.config, rx.config_len, &s, err, sizeof(err));
		rx.config = NULL;
		check_err(r, err);
		if (r == 0) {
			struct hv_vm_config cfg;
			memset(&cfg, 0, sizeof(cfg));
			err[0] = '\0';
			check_err(hv_snapshot_vm_config(s, &cfg, err, sizeof(err)), err);
		}
		hv_snapshot_close(s);
		s = NULL;
		err[0] = '\0';
		r = hv_snapshot_from_buf(rx.device, rx.device_len, &s, err, sizeof(err));
		rx.device = NULL;
		check_err(r, err);
		hv_snapshot_close(s);
	}
	hv_mig_recv_free(&rx);
	return 0;
}
