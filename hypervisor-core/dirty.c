/* dirty.c: which guest pages changed while a migration copies RAM: one bitmap over guest RAM
 * fed by KVM's dirty log, the soft engine's write hook and device writes. Not the migration
 * stream nor what is done with the pages (migrate.c).
 *
 * Granularity: one bit per 4 KiB page, indexed by offset in the memory file (the two RAM
 * regions end to end). KVM reports 4 KiB pages anyway, and a device write marks only the
 * pages it touched; the sender turns neighbouring bits into runs of up to 1 MiB, so a coarser
 * bitmap would only send more bytes for no fewer records. Marking is one atomic OR on a
 * word, so device threads and vCPUs never take a lock for it. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hv-internal.h"

#define TAG  "dirty"
#define PAGE 4096ull

struct hv_dirty {
	_Atomic bool active;
	uint64_t pages;
	_Atomic uint64_t *bits;
};

struct hv_dirty *hv_dirty_new(uint64_t pages)
{
	struct hv_dirty *d = hd_xzalloc(sizeof(*d));
	d->pages = pages;
	d->bits = hd_xzalloc(hv_dirty_words(d) * sizeof(uint64_t) + 8);
	return d;
}

void hv_dirty_free(struct hv_dirty *d)
{
	if (!d)
		return;
	free((void *)d->bits);
	free(d);
}

size_t hv_dirty_words(const struct hv_dirty *d)
{
	return (size_t)((d->pages + 63) / 64);
}

uint64_t hv_dirty_pages(const struct hv_dirty *d)
{
	return d->pages;
}

void hv_dirty_set_active(struct hv_dirty *d, bool on)
{
	atomic_store(&d->active, on);
}

bool hv_dirty_active(const struct hv_dirty *d)
{
	return d && atomic_load_explicit(&d->active, memory_order_relaxed);
}

void hv_dirty_set_range(struct hv_dirty *d, uint64_t first, uint64_t n)
{
	if (first >= d->pages)
		return;
	if (n > d->pages - first)
		n = d->pages - first;
	while (n) {
		uint64_t w = first / 64, bit = first % 64;
		uint64_t take = 64 - bit < n ? 64 - bit : n;
		uint64_t mask = take == 64 ? ~0ull : ((1ull << take) - 1) << bit;
		atomic_fetch_or_explicit(&d->bits[w], mask, memory_order_relaxed);
		first += take;
		n -= take;
	}
}

uint64_t hv_dirty_take(struct hv_dirty *d, uint64_t *out)
{
	uint64_t count = 0;
	size_t words = hv_dirty_words(d);
	for (size_t w = 0; w < words; w++) {
		uint64_t v = atomic_load_explicit(&d->bits[w], memory_order_relaxed);
		if (v)
			v = atomic_exchange_explicit(&d->bits[w], 0, memory_order_acq_rel);
		out[w] = v;
		count += (uint64_t)__builtin_popcountll(v);
	}
	return count;
}

bool hv_dirty_next_run(const uint64_t *bits, uint64_t pages, uint64_t *pos, uint64_t max_run,
		       uint64_t *start, uint64_t *n)
{
	uint64_t i = *pos;
	/* Skip clear bits a word at a time. */
	while (i < pages) {
		uint64_t v = bits[i / 64] >> (i % 64);
		if (v) {
			i += (uint64_t)__builtin_ctzll(v);
			break;
		}
		i = (i / 64 + 1) * 64;
	}
	if (i >= pages) {
		*pos = pages;
		return false;
	}
	uint64_t j = i;
	while (j < pages && j - i < max_run && (bits[j / 64] >> (j % 64)) & 1)
		j++;
	*start = i;
	*n = j - i;
	*pos = j;
	return true;
}

/* gpa -> offset in the memory file, for a range inside one region. */
static bool mem_offset(const struct hv_mem *m, uint64_t gpa, uint64_t len, uint64_t *off)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct hv_mem_region *r = &m->regions[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size || len > r->size - (gpa - r->gpa))
			continue;
		*off = r->fd_offset + (gpa - r->gpa);
		return true;
	}
	return false;
}

void hv_mem_mark_dirty(const struct hv_mem *m, uint64_t gpa, uint64_t len)
{
	struct hv_dirty *d = m->dirty;
	uint64_t off;
	if (!hv_dirty_active(d) || !len || !mem_offset(m, gpa, len, &off))
		return;
	hv_dirty_set_range(d, off / PAGE, (off + len - 1) / PAGE - off / PAGE + 1);
}

/* ---- the VM's side: KVM's log, the soft engine, start and stop ---- */

static void kvm_run_dirty(void *opaque, uint64_t gpa, uint64_t len)
{
	struct hv_vm *vm = opaque;
	/* Code KVM rewrote must be translated afresh by the soft engine. */
	if (vm->engine_mode != HV_ENGINE_MODE_KVM)
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			hv_soft_invalidate(&vm->vcpus[i], gpa, len);
	hv_mem_mark_dirty(&vm->mem, gpa, len);
}

int hv_dirty_sync_kvm(struct hv_vm *vm)
{
	if (!vm->have_kvm)
		return 0;
	pthread_mutex_lock(&vm->dirty_lock);
	int r = hv_kvm_dirty_log(vm, kvm_run_dirty, vm);
	pthread_mutex_unlock(&vm->dirty_lock);
	return r;
}

int hv_dirty_start(struct hv_vm *vm, char *err, size_t errlen)
{
	if (!vm->mem.dirty)
		vm->mem.dirty = hv_dirty_new(vm->mem.size / PAGE);
	struct hv_dirty *d = vm->mem.dirty;
	/* With every vCPU parked, nothing writes unseen between here and the copy: KVM's log is
	 * switched on and emptied, and each soft vCPU installs its write hook before it runs
	 * again (hv_soft_run). */
	int r = hv_vm_pause(vm);
	bool was_paused = r == -EALREADY;
	if (r < 0 && !was_paused) {
		snprintf(err, errlen, "the VM is not running");
		return r;
	}
	r = 0;
	if (vm->have_kvm) {
		r = hv_kvm_log_dirty(vm, true);
		if (r < 0)
			snprintf(err, errlen, "cannot switch on KVM's dirty log: %s", strerror(-r));
		else if ((r = hv_dirty_sync_kvm(vm)) < 0) /* drop what was logged before */
			snprintf(err, errlen, "KVM_GET_DIRTY_LOG failed: %s", strerror(-r));
	}
	if (r == 0) {
		uint64_t *scratch = hd_xzalloc(hv_dirty_words(d) * 8 + 8);
		hv_dirty_take(d, scratch);
		free(scratch);
		hv_dirty_set_active(d, true);
	}
	if (r < 0 && vm->have_kvm)
		hv_kvm_log_dirty(vm, false);
	if (!was_paused)
		hv_vm_resume(vm);
	return r;
}

void hv_dirty_stop(struct hv_vm *vm)
{
	struct hv_dirty *d = vm->mem.dirty;
	if (!d)
		return;
	hv_dirty_set_active(d, false);
	if (vm->have_kvm)
		hv_kvm_log_dirty(vm, false);
}

uint64_t hv_dirty_harvest(struct hv_vm *vm, uint64_t *out, int *err)
{
	*err = hv_dirty_sync_kvm(vm);
	return hv_dirty_take(vm->mem.dirty, out);
}
