/* select.c: the engine selector: its tunables, and the decision, at each KVM exit, whether the
 * next stretch of guest code should run on the soft engine. Not the switch itself (vcpu.c).
 *
 * The rules (defaults in hv_engine_tune_defaults, documented in docs/PERFORMANCE.md):
 *  - a burst: burst_exits I/O or MMIO exits within burst_window_us moves to soft, and the RIP
 *    of the burst's first exit goes into a small cache (hot_rips entries, round robin);
 *  - an exit at a cached RIP moves to soft at once;
 *  - time at CPL0: the vCPU is sampled every sample_us while in KVM; cpl0_samples samples in a
 *    row at CPL0 (not at the idle hlt) move to soft (this KVM emulates CPL0 ~1000x slower than
 *    it runs CPL3, FACTS.md);
 *  - the soft engine hands back when the guest is at CPL3, has done no I/O for
 *    user_check_insns instructions and soft_min_us have passed (soft.c), on hlt, on an
 *    interrupt for a guest with IF=1, and on anything it cannot run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv-internal.h"

struct tune_key {
	const char *name;
	size_t off;
	unsigned min, max;
};

#define KEY(n, lo, hi) {#n, offsetof(struct hv_engine_tune, n), lo, hi}
static const struct tune_key keys[] = {
	KEY(burst_exits, 1, 1000000),    KEY(burst_window_us, 1, 10000000),
	KEY(cpl0_samples, 1, 1000),      KEY(sample_us, 0, 10000000),
	KEY(user_check_insns, 16, 100000000), KEY(soft_min_us, 0, 10000000),
	KEY(hot_rips, 0, HV_HOT_RIPS_MAX), KEY(slice_ms, 1, 10000),
};

void hv_engine_tune_defaults(struct hv_engine_tune *t)
{
	*t = (struct hv_engine_tune){
		.burst_exits = 4,
		.burst_window_us = 200,
		.cpl0_samples = 2,
		.sample_us = 1000,
		.user_check_insns = 4096,
		.soft_min_us = 500,
		.hot_rips = 16,
		.slice_ms = 20,
	};
}

int hv_engine_tune_set(struct hv_engine_tune *t, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	if (!eq) {
		snprintf(err, errlen, "engine tunable '%s' is not KEY=VALUE", kv);
		return -EINVAL;
	}
	size_t klen = (size_t)(eq - kv);
	for (size_t i = 0; i < HD_ARRAY_SIZE(keys); i++) {
		if (strlen(keys[i].name) != klen || strncmp(keys[i].name, kv, klen) != 0)
			continue;
		char *end;
		errno = 0;
		unsigned long v = strtoul(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end || eq[1] == '-' || v < keys[i].min ||
		    v > keys[i].max) {
			snprintf(err, errlen, "engine tunable %s: '%s' is not a number in %u..%u",
				 keys[i].name, eq + 1, keys[i].min, keys[i].max);
			return -EINVAL;
		}
		*(unsigned *)((char *)t + keys[i].off) = (unsigned)v;
		return 0;
	}
	char names[256] = "";
	for (size_t i = 0; i < HD_ARRAY_SIZE(keys); i++) {
		strncat(names, keys[i].name, sizeof(names) - strlen(names) - 1);
		if (i + 1 < HD_ARRAY_SIZE(keys))
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
	}
	snprintf(err, errlen, "unknown engine tunable '%.*s' (known: %s)", (int)klen, kv, names);
	return -EINVAL;
}

int hv_engine_tune_check(const char *kv, char *err, size_t errlen)
{
	struct hv_engine_tune t;
	hv_engine_tune_defaults(&t);
	return hv_engine_tune_set(&t, kv, err, errlen);
}

const char *hv_engine_mode_name(enum hv_engine_mode m)
{
	switch (m) {
	case HV_ENGINE_MODE_KVM:
		return "kvm";
	case HV_ENGINE_MODE_SOFT:
		return "soft";
	case HV_ENGINE_MODE_AUTO:
		return "auto";
	}
	return "?";
}

const char *hv_engine_name(enum hv_engine_kind k)
{
	return k == HV_ENGINE_SOFT ? "soft" : "kvm";
}

bool hv_select_hot_hit(struct hv_vcpu *vcpu, uint64_t rip)
{
	unsigned n = vcpu->vm->tune.hot_rips;
	if (!rip)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (vcpu->sel.hot[i] == rip)
			return true;
	return false;
}

void hv_select_hot_add(struct hv_vcpu *vcpu, uint64_t rip)
{
	unsigned n = vcpu->vm->tune.hot_rips;
	if (!n || !rip || hv_select_hot_hit(vcpu, rip))
		return;
	vcpu->sel.hot[vcpu->sel.hot_next % n] = rip;
	vcpu->sel.hot_next = (vcpu->sel.hot_next + 1) % n;
}

bool hv_select_kvm_exit(struct hv_vcpu *vcpu, enum hv_kvm_event ev, uint64_t now_ns)
{
	struct hv_select *s = &vcpu->sel;
	const struct hv_engine_tune *t = &vcpu->vm->tune;
	uint64_t rip = hv_kvm_exit_rip(vcpu);
	unsigned cpl = hv_kvm_exit_cpl(vcpu);

	if (ev == HV_KVM_EV_IO || ev == HV_KVM_EV_MMIO) {
		if (hv_select_hot_hit(vcpu, rip)) {
			atomic_fetch_add(&vcpu->estats.hot_hits, 1);
			s->burst_count = 0;
			return true;
		}
		if (s->burst_count == 0 || now_ns - s->burst_start_ns > t->burst_window_us * 1000ull) {
			s->burst_start_ns = now_ns;
			s->burst_start_rip = rip;
			s->burst_count = 1;
		} else {
			s->burst_count++;
		}
		/* The window slides: each exit close to the last one extends the burst. */
		if (s->burst_count >= t->burst_exits) {
			hv_select_hot_add(vcpu, s->burst_start_rip);
			s->burst_count = 0;
			return true;
		}
		s->burst_start_ns = now_ns;
		return false;
	}
	if (ev == HV_KVM_EV_INTR) {
		if (cpl == 0 && rip != s->hlt_rip) {
			if (++s->cpl0_run >= t->cpl0_samples) {
				s->cpl0_run = 0;
				return true;
			}
		} else {
			s->cpl0_run = 0;
		}
	}
	return false;
}
