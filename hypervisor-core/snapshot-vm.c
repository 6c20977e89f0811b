/* snapshot-vm.c: what a snapshot of a VM holds and in which order: its configuration and
 * guest image, memory (all-zero pages skipped), vCPUs from whichever engine runs them, KVM's
 * in-kernel devices, the UART, the virtio transports and every registered device section;
 * and the `snapshot` control command. Not the file format (snapshot.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "snapshot"
#define PAGE 4096ull
#define SEC_VM     "vm"
#define SEC_MEMORY "memory"
#define SEC_VCPU   "vcpu"
#define SEC_KVM    "kvm"
#define SEC_UART   "uart"
#define MAX_IMAGE  (256ull << 20)
#define MAX_STRING 65536u
#define SCAN_PAGES 64 /* pages read at once while looking for non-zero ones */

int hv_snapshot_register(struct hv_vm *vm, const char *name, uint32_t version,
			 hv_snap_save_fn save, hv_snap_load_fn load, void *opaque)
{
	if (strlen(name) >= HV_SNAP_NAME_MAX || !*name)
		return -EINVAL;
	if (vm->nr_snap_devs == HV_SNAP_MAX_DEVICES)
		return -ENOSPC;
	for (unsigned i = 0; i < vm->nr_snap_devs; i++)
		if (!strcmp(vm->snap_devs[i].name, name))
			return -EEXIST;
	struct hv_snap_device *d = &vm->snap_devs[vm->nr_snap_devs++];
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->version = version;
	d->save = save;
	d->load = load;
	d->opaque = opaque;
	return 0;
}

/* ---- capture: each vCPU stores its own state as it parks (vm.c calls this) ---- */

void hv_vcpu_capture(struct hv_vcpu *vcpu)
{
	int r;
	if (atomic_load(&vcpu->engine) == HV_ENGINE_SOFT) {
		r = hv_soft_get_state(vcpu, vcpu->cpu);
	} else {
		r = hv_kvm_complete_io(vcpu);
		if (r == 0)
			r = hv_kvm_get_state(vcpu, vcpu->cpu);
	}
	if (r < 0)
		hd_warn(TAG, "vCPU %u: cannot read its state: %s", vcpu->index, strerror(-r));
	vcpu->captured = r == 0;
}

/* ---- saving ---- */

/* "virtio.N" for transport N; there are at most HV_BOOT_MAX_DEV, so N has two digits at most
 * (the cast tells the compiler so). */
static void virtio_section_name(char name[HV_SNAP_NAME_MAX], unsigned i)
{
	_Static_assert(HV_BOOT_MAX_DEV <= 100, "virtio section names have room for two digits");
	snprintf(name, HV_SNAP_NAME_MAX, "virtio.%u", (unsigned)(uint8_t)(i % 100));
}

static void put_string(struct hd_buf *b, const char *s)
{
	size_t n = strlen(s);
	hv_snap_put_u32(b, (uint32_t)n);
	hv_snap_put(b, s, n);
}

static void save_vm_config(struct hv_vm *vm, struct hd_buf *b)
{
	hv_snap_put_u64(b, vm->mem.size);
	hv_snap_put_u32(b, vm->nr_vcpus);
	hv_snap_put_u32(b, vm->engine_mode);
	hv_snap_put_u32(b, vm->have_kvm);
	put_string(b, vm->cmdline);
	put_string(b, vm->guest_name);
	hv_snap_put_u32(b, vm->nr_virtio);
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		hv_snap_put_u32(b, vm->virtio[i]->ops->device_id);
	hv_snap_put_u64(b, vm->cfg.image_len);
	hv_snap_put(b, vm->cfg.image, vm->cfg.image_len);
}

/* u64 size, u64 pages, a bitmap of non-zero pages, then those pages in order. */
static void save_memory(struct hv_vm *vm, struct hv_snap_writer *w)
{
	uint64_t pages = vm->mem.size / PAGE, bm_len = (pages + 7) / 8, nonzero = 0;
	uint8_t *bm = hd_xzalloc(bm_len ? bm_len : 1);
	uint8_t *scratch = hd_xmalloc(SCAN_PAGES * PAGE);
	/* Only the memory file's data extents are read: reading a hole would allocate it. */
	off_t data = 0, hole;
	for (;;) {
		data = lseek(vm->mem.fd, data, SEEK_DATA);
		if (data < 0 || (uint64_t)data >= vm->mem.size) {
			if (data < 0 && errno != ENXIO) /* no SEEK_DATA here: read it all */
				data = 0, hole = (off_t)vm->mem.size;
			else
				break;
		} else {
			hole = lseek(vm->mem.fd, data, SEEK_HOLE);
			if (hole < 0 || (uint64_t)hole > vm->mem.size)
				hole = (off_t)vm->mem.size;
		}
		uint64_t first = (uint64_t)data / PAGE, last = ((uint64_t)hole + PAGE - 1) / PAGE;
		for (uint64_t i = first; i < last; i += SCAN_PAGES) {
			uint64_t n = last - i < SCAN_PAGES ? last - i : SCAN_PAGES;
			/* Read fault-safely: a page with a memory error (SIGBUS) is saved as zero
			 * with a warning, not the end of the VMM. */
			bool whole = hv_mem_copy_safe(scratch, vm->mem.base + i * PAGE, n * PAGE) == 0;
			for (uint64_t k = 0; k < n; k++) {
				uint8_t *p = scratch + k * PAGE;
				if (!whole &&
				    hv_mem_copy_safe(p, vm->mem.base + (i + k) * PAGE, PAGE) < 0) {
					hd_warn(TAG, "guest page at offset 0x%llx cannot be read "
						     "(memory error): saved as zero",
						(unsigned long long)((i + k) * PAGE));
					continue;
				}
				if (!hv_mem_page_zero(p)) {
					bm[(i + k) / 8] |= (uint8_t)(1u << ((i + k) % 8));
					nonzero++;
				}
			}
		}
		if ((uint64_t)hole >= vm->mem.size)
			break;
		data = hole;
	}
	uint64_t hdr[2] = {htole64(vm->mem.size), htole64(pages)};
	hv_snap_writer_begin(w, SEC_MEMORY, 1, sizeof(hdr) + bm_len + nonzero * PAGE);
	hv_snap_writer_data(w, hdr, sizeof(hdr));
	hv_snap_writer_data(w, bm, bm_len);
	for (uint64_t i = 0; i < pages; i++)
		if (bm[i / 8] & (1u << (i % 8)))
			hv_snap_writer_data(w, vm->mem.base + i * PAGE, PAGE);
	hv_snap_writer_end(w);
	free(bm);
	free(scratch);
}

static void save_vcpus(struct hv_vm *vm, struct hd_buf *b)
{
	hv_snap_put_u32(b, vm->nr_vcpus);
	struct hv_vcpu_snap *s = hd_xzalloc(sizeof(*s));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];
		memset(s, 0, sizeof(*s));
		s->cpu = *v->cpu;
		if (vm->have_kvm && hv_kvm_vcpu_save(v, s) < 0)
			hd_warn(TAG, "vCPU %u: cannot read KVM's LAPIC/events", i);
		hv_snap_put_u32(b, (uint32_t)atomic_load(&v->engine));
		hv_snap_put_u8(b, s->have_kvm);
		hv_snap_put(b, &s->cpu, sizeof(s->cpu));
		hv_snap_put(b, &s->lapic, sizeof(s->lapic));
		hv_snap_put(b, &s->mp, sizeof(s->mp));
		hv_snap_put(b, &s->events, sizeof(s->events));
		hv_snap_put_u64(b, s->tsc);
	}
	free(s);
}

static void put_section(struct hv_snap_writer *w, const char *name, uint32_t version,
			struct hd_buf *b)
{
	hv_snap_writer_section(w, name, version, b->data ? b->data : "", b->len);
	hd_buf_reset(b);
}

/* Asks every vCPU to store its state while parked; returns when all did. */
static int capture_all(struct hv_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].captured = false;
	vm->snap_capture = true;
	pthread_cond_broadcast(&vm->state_cond);
	int r = 0;
	for (;;) {
		unsigned done = 0;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			done += vm->vcpus[i].captured || vm->vcpus[i].state == HV_VCPU_DONE;
		if (done == vm->nr_vcpus)
			break;
		if (vm->state != HV_VM_PAUSED) {
			r = -ECANCELED;
			break;
		}
		pthread_cond_wait(&vm->state_cond, &vm->lock);
	}
	vm->snap_capture = false;
	for (unsigned i = 0; i < vm->nr_vcpus && !r; i++)
		if (!vm->vcpus[i].captured)
			r = -EIO;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int hv_vm_capture(struct hv_vm *vm)
{
	return capture_all(vm);
}

void hv_vm_save_config(struct hv_vm *vm, struct hv_snap_writer *w)
{
	struct hd_buf b;
	hd_buf_init(&b);
	save_vm_config(vm, &b);
	put_section(w, SEC_VM, 1, &b);
	hd_buf_free(&b);
}

void hv_vm_save_state(struct hv_vm *vm, struct hv_snap_writer *w)
{
	struct hd_buf b;
	hd_buf_init(&b);
	save_vm_config(vm, &b);
	put_section(w, SEC_VM, 1, &b);
	save_vcpus(vm, &b);
	put_section(w, SEC_VCPU, 1, &b);
	if (vm->have_kvm) {
		hv_kvm_save_vm(vm, &b);
		put_section(w, SEC_KVM, 1, &b);
	}
	hv_uart_save(&vm->uart, &b);
	put_section(w, SEC_UART, 1, &b);
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		char name[HV_SNAP_NAME_MAX];
		virtio_section_name(name, i);
		hv_virtio_mmio_save(vm->virtio[i], &b);
		put_section(w, name, 1, &b);
	}
	for (unsigned i = 0; i < vm->nr_snap_devs; i++) {
		struct hv_snap_device *d = &vm->snap_devs[i];
		d->save(d->opaque, &b);
		put_section(w, d->name, d->version, &b);
	}
	hd_buf_free(&b);
}

int hv_vm_snapshot(struct hv_vm *vm, const char *path, uint64_t *bytes, char *err, size_t errlen)
{
	int r = hv_vm_pause(vm);
	bool was_paused = r == -EALREADY;
	if (r < 0 && !was_paused) {
		snprintf(err, errlen, "the VM is not running");
		return r;
	}
	r = capture_all(vm);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the vCPUs' state: %s", strerror(-r));
		goto out;
	}
	struct hv_snap_writer *w;
	r = hv_snap_writer_open(path, &w, err, errlen);
	if (r < 0)
		goto out;
	hv_vm_save_state(vm, w);
	/* Memory last: device saves above may have written into it (none do while paused). */
	save_memory(vm, w);
	r = hv_snap_writer_commit(w, bytes, err, errlen);
out:
	if (!was_paused)
		hv_vm_resume(vm);
	return r;
}

/* ---- restoring ---- */

static const char *get_string(struct hv_snap_in *in)
{
	uint32_t n = hv_snap_get_u32(in);
	if (n > MAX_STRING)
		in->bad = true;
	const char *p = hv_snap_get_ptr(in, n);
	if (!p)
		return NULL;
	char *s = hd_xmalloc(n + 1); /* bounded by MAX_STRING */
	memcpy(s, p, n);
	s[n] = '\0';
	if (strlen(s) != n) {
		free(s);
		in->bad = true;
		return NULL;
	}
	return s;
}

struct vm_section {
	uint64_t mem_size;
	uint32_t vcpus, engine, have_kvm;
	char *cmdline, *guest_name;
	uint32_t nr_virtio;
	uint32_t device_id[HV_BOOT_MAX_DEV];
	const void *image;
	uint64_t image_len;
};

static int parse_vm(struct hv_snapshot *s, struct vm_section *v, char *err, size_t errlen)
{
	struct hv_snap_in in;
	memset(v, 0, sizeof(*v));
	if (!hv_snap_index_find(&s->idx, SEC_VM, &in)) {
		snprintf(err, errlen, "snapshot has no '%s' section", SEC_VM);
		return -EINVAL;
	}
	if (in.version != 1) {
		snprintf(err, errlen, "snapshot section '%s' has unsupported version %u", SEC_VM,
			 in.version);
		return -EINVAL;
	}
	v->mem_size = hv_snap_get_u64(&in);
	v->vcpus = hv_snap_get_u32(&in);
	v->engine = hv_snap_get_u32(&in);
	v->have_kvm = hv_snap_get_u32(&in);
	v->cmdline = (char *)get_string(&in);
	v->guest_name = (char *)get_string(&in);
	v->nr_virtio = hv_snap_get_u32(&in);
	if (v->nr_virtio > HV_BOOT_MAX_DEV)
		in.bad = true;
	for (unsigned i = 0; i < v->nr_virtio && !in.bad; i++)
		v->device_id[i] = hv_snap_get_u32(&in);
	v->image_len = hv_snap_get_u64(&in);
	if (v->image_len > MAX_IMAGE)
		in.bad = true;
	v->image = hv_snap_get_ptr(&in, in.bad ? 0 : (size_t)v->image_len);
	/* The name goes into messages and status, the command line to the guest as the CLI's
	 * --guest-cmdline would: the same limits. */
	for (const char *c = v->guest_name; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			in.bad = true;
	if (v->cmdline && strlen(v->cmdline) >= HV_BOOT_CMDLINE_MAX)
		in.bad = true;
	if (!hv_snap_in_done(&in) || v->vcpus < 1 || v->vcpus > HV_MAX_VCPUS ||
	    v->mem_size % PAGE || v->mem_size < (1u << 20) || v->mem_size > (1ull << 40)) {
		snprintf(err, errlen, "snapshot section '%s' is malformed", SEC_VM);
		free(v->cmdline);
		free(v->guest_name);
		return -EINVAL;
	}
	return 0;
}

/* Strings live as long as the snapshot; they are kept in a small side table. */
int hv_snapshot_vm_config(struct hv_snapshot *s, struct hv_vm_config *cfg, char *err,
			  size_t errlen)
{
	struct vm_section v;
	int r = parse_vm(s, &v, err, errlen);
	if (r < 0)
		return r;
	free(s->cmdline);
	free(s->guest_name);
	s->cmdline = v.cmdline;
	s->guest_name = v.guest_name;
	cfg->mem_size = v.mem_size;
	cfg->vcpus = v.vcpus;
	cfg->cmdline = v.cmdline;
	cfg->guest_name = v.guest_name;
	cfg->image = v.image;
	cfg->image_len = (size_t)v.image_len;
	return 0;
}

bool hv_snapshot_section(struct hv_snapshot *s, const char *name, struct hv_snap_in *in)
{
	return hv_snap_index_find(&s->idx, name, in);
}

static int load_memory(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen)
{
	struct hv_snap_in in;
	if (!hv_snap_index_find(&s->idx, SEC_MEMORY, &in) || in.version != 1) {
		snprintf(err, errlen, "snapshot has no usable '%s' section", SEC_MEMORY);
		return -EINVAL;
	}
	uint64_t size = hv_snap_get_u64(&in), pages = hv_snap_get_u64(&in);
	if (in.bad || size != vm->mem.size || pages != size / PAGE) {
		snprintf(err, errlen, "snapshot memory does not match the VM's %llu MiB",
			 (unsigned long long)(vm->mem.size >> 20));
		return -EINVAL;
	}
	const uint8_t *bm = hv_snap_get_ptr(&in, (size_t)((pages + 7) / 8));
	uint64_t nonzero = 0;
	for (uint64_t i = 0; bm && i < pages; i++)
		nonzero += (bm[i / 8] >> (i % 8)) & 1;
	if (!bm || nonzero > (in.len - in.off) / PAGE || (in.len - in.off) != nonzero * PAGE) {
		snprintf(err, errlen, "snapshot section '%s' is malformed", SEC_MEMORY);
		return -EINVAL;
	}
	/* Start from all zeroes (the ELF loader wrote some pages), then the saved ones. */
	if (fallocate(vm->mem.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)vm->mem.size) < 0)
		memset(vm->mem.base, 0, vm->mem.size);
	const uint8_t *src = in.p + in.off;
	for (uint64_t i = 0; i < pages; i++)
		if (bm[i / 8] & (1u << (i % 8))) {
			memcpy(vm->mem.base + i * PAGE, src, PAGE);
			src += PAGE;
		}
	return 0;
}

static int load_vcpus(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen)
{
	struct hv_snap_in in;
	if (!hv_snap_index_find(&s->idx, SEC_VCPU, &in) || in.version != 1) {
		snprintf(err, errlen, "snapshot has no usable '%s' section", SEC_VCPU);
		return -EINVAL;
	}
	if (hv_snap_get_u32(&in) != vm->nr_vcpus) {
		snprintf(err, errlen, "snapshot vCPU count does not match");
		return -EINVAL;
	}
	struct hv_vcpu_snap *st = hd_xzalloc(sizeof(*st) * vm->nr_vcpus);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		hv_snap_get_u32(&in); /* engine at save time: informational */
		st[i].have_kvm = hv_snap_get_u8(&in) != 0;
		hv_snap_get(&in, &st[i].cpu, sizeof(st[i].cpu));
		hv_snap_get(&in, &st[i].lapic, sizeof(st[i].lapic));
		hv_snap_get(&in, &st[i].mp, sizeof(st[i].mp));
		hv_snap_get(&in, &st[i].events, sizeof(st[i].events));
		st[i].tsc = hv_snap_get_u64(&in);
	}
	int r = 0;
	if (!hv_snap_in_done(&in)) {
		snprintf(err, errlen, "snapshot section '%s' is malformed", SEC_VCPU);
		r = -EINVAL;
	}
	for (unsigned i = 0; i < vm->nr_vcpus && !r; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];
		if (st[i].have_kvm && !vm->have_kvm) {
			snprintf(err, errlen, "snapshot was taken with KVM, which this host lacks");
			r = -ENOTSUP;
			break;
		}
		r = vm->have_kvm ? hv_kvm_vcpu_load(v, &st[i]) : hv_soft_set_state(v, &st[i].cpu);
		if (r < 0)
			snprintf(err, errlen, "cannot load the state of vCPU %u: %s", i, strerror(-r));
		*v->cpu = st[i].cpu;
	}
	free(st);
	return r;
}

static int load_section(struct hv_snapshot *s, const char *name, uint32_t version,
			hv_snap_load_fn load, void *opaque, char *err, size_t errlen)
{
	struct hv_snap_in in;
	if (!hv_snap_index_find(&s->idx, name, &in)) {
		snprintf(err, errlen, "snapshot has no state for device '%s'", name);
		return -EINVAL;
	}
	if (in.version != version) {
		snprintf(err, errlen, "snapshot section '%s' has version %u, this build reads %u",
			 name, in.version, version);
		return -EINVAL;
	}
	char why[256] = "";
	int r = load(opaque, &in, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, "cannot restore '%s': %s", name, why);
	return r;
}

static int check_machine(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen)
{
	struct vm_section v;
	int r = parse_vm(s, &v, err, errlen);
	if (r < 0)
		return r;
	free(v.cmdline);
	free(v.guest_name);
	if (v.mem_size != vm->mem.size || v.vcpus != vm->nr_vcpus || v.nr_virtio != vm->nr_virtio) {
		snprintf(err, errlen, "snapshot describes another machine (memory, vCPUs or devices)");
		return -EINVAL;
	}
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		if (v.device_id[i] != vm->virtio[i]->ops->device_id) {
			snprintf(err, errlen, "snapshot device %u is virtio id %u, here %u", i,
				 v.device_id[i], vm->virtio[i]->ops->device_id);
			return -EINVAL;
		}
	return 0;
}

static int restore_devices(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen)
{
	int r;
	struct hv_snap_in in;
	if (hv_snap_index_find(&s->idx, SEC_KVM, &in)) {
		if (!vm->have_kvm) {
			snprintf(err, errlen, "snapshot was taken with KVM, which this host lacks");
			return -ENOTSUP;
		}
		if ((r = hv_kvm_load_vm(vm, &in, err, errlen)) < 0)
			return r;
	}
	if ((r = load_vcpus(vm, s, err, errlen)) < 0)
		return r;
	if ((r = load_section(s, SEC_UART, 1, hv_uart_load, &vm->uart, err, errlen)) < 0)
		return r;
	for (unsigned i = 0; i < vm->nr_snap_devs; i++) {
		struct hv_snap_device *d = &vm->snap_devs[i];
		if ((r = load_section(s, d->name, d->version, d->load, d->opaque, err, errlen)) < 0)
			return r;
	}
	/* Transports last: their driver_ok tells devices (already restored) to go on. */
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		char name[HV_SNAP_NAME_MAX];
		virtio_section_name(name, i);
		if ((r = load_section(s, name, 1, hv_virtio_mmio_load, vm->virtio[i], err, errlen)) < 0)
			return r;
	}
	for (unsigned i = 0; i < s->idx.count; i++)
		if (!s->idx.sec[i].used) {
			snprintf(err, errlen, "snapshot section '%s' is not known to this build",
				 s->idx.sec[i].name);
			return -EINVAL;
		}
	vm->restored = true;
	return 0;
}

int hv_vm_restore(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen)
{
	int r = check_machine(vm, s, err, errlen);
	if (r == 0)
		r = load_memory(vm, s, err, errlen);
	return r < 0 ? r : restore_devices(vm, s, err, errlen);
}

int hv_vm_restore_state(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen)
{
	int r = check_machine(vm, s, err, errlen);
	return r < 0 ? r : restore_devices(vm, s, err, errlen);
}

/* ---- control command ---- */

static int cmd_snapshot(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			struct hd_buf *result, struct hd_buf *error)
{
	(void)opaque;
	if (!args || args->count != 1 || args->items[0]->type != HD_JSON_STRING ||
	    !args->items[0]->string[0]) {
		hd_buf_puts(error, "usage: snapshot PATH");
		return -1;
	}
	if (hv_migrate_active(vm)) {
		hd_buf_puts(error, "a migration is under way; snapshot after it");
		return -1;
	}
	char err[512];
	uint64_t bytes = 0, t0 = hd_now_ns();
	if (hv_vm_snapshot(vm, args->items[0]->string, &bytes, err, sizeof(err)) < 0) {
		hd_buf_puts(error, err);
		return -1;
	}
	double ms = (hd_now_ns() - t0) / 1e6;
	hd_info(TAG, "snapshot of %llu MiB RAM: %llu bytes in %.1f ms",
		(unsigned long long)(vm->mem.size >> 20), (unsigned long long)bytes, ms);
	hd_buf_printf(result, "{\"path\":");
	hd_json_write_string(result, args->items[0]->string);
	hd_buf_printf(result, ",\"bytes\":%llu,\"ms\":%.1f}", (unsigned long long)bytes, ms);
	return 0;
}

void hv_snapshot_register_control(struct hv_vm *vm)
{
	hv_control_register(vm, "snapshot",
			    "snapshot PATH: pause, write the VM's state to PATH atomically, resume",
			    cmd_snapshot, NULL);
}
