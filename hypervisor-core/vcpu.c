/* vcpu.c: the vCPU thread: runs the guest on the engine in charge, asks the selector after
 * each stretch, and moves the vCPU's state between KVM and the soft engine. Not the engines
 * (kvm.c, soft.c) nor the heuristics (select.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "engine"
#define SAMPLE_SIGNAL SIGUSR1 /* the kick signal: a sample is a kick that changes nothing */

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	atomic_store(&vcpu->soft_kick, true);
	if (vcpu->fd >= 0)
		hv_kvm_vcpu_kick(vcpu);
}

/* ---- the sampling timer (auto and soft modes, only while in KVM) ---- */

static void sample_timer_init(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	if (!vm->have_kvm || vm->engine_mode == HV_ENGINE_MODE_KVM || !vm->tune.sample_us)
		return;
	struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SAMPLE_SIGNAL};
	sev._sigev_un._tid = gettid();
	vcpu->sample_timer_ok = timer_create(CLOCK_MONOTONIC, &sev, &vcpu->sample_timer) == 0;
}

static void sample_timer_arm(struct hv_vcpu *vcpu, bool on)
{
	if (!vcpu->sample_timer_ok)
		return;
	uint64_t ns = on ? vcpu->vm->tune.sample_us * 1000ull : 0;
	struct itimerspec its = {
		.it_value = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)},
	};
	its.it_interval = its.it_value;
	timer_settime(vcpu->sample_timer, 0, &its, NULL);
}

/* ---- switches ---- */

static bool switch_to_soft(struct hv_vcpu *vcpu, const char *why)
{
	struct hv_vm *vm = vcpu->vm;
	uint64_t t0 = hd_now_ns();
	if (hv_kvm_complete_io(vcpu) < 0)
		return false;
	struct kvm_mp_state mp;
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state != KVM_MP_STATE_RUNNABLE) {
		vcpu->sel.hlt_rip = hv_kvm_exit_rip(vcpu);
		return false; /* halted: KVM waits for the interrupt */
	}
	if (hv_kvm_get_state(vcpu, vcpu->cpu) < 0)
		return false;
	const struct kvm_sregs *sr = &vcpu->cpu->sregs;
	for (size_t i = 0; i < HD_ARRAY_SIZE(sr->interrupt_bitmap); i++)
		if (sr->interrupt_bitmap[i])
			return false; /* KVM is injecting an interrupt: let it finish */
	if (!(sr->efer & (1ull << 10)))
		return false; /* the soft engine runs long mode only */
	/* Code KVM wrote since the last look must be translated afresh (KVM's dirty log; the
	 * soft engine's own stores are not in it, see soft.c). */
	hv_dirty_sync_kvm(vm); /* also keeps a migration's record of those pages */
	if (hv_soft_set_state(vcpu, vcpu->cpu) < 0) {
		hd_warn(TAG, "vCPU %u: cannot load state into the soft engine; staying on KVM",
			vcpu->index);
		return false;
	}
	sample_timer_arm(vcpu, false);
	atomic_store(&vcpu->engine, HV_ENGINE_SOFT);
	atomic_fetch_add(&vcpu->estats.to_soft, 1);
	atomic_fetch_add(&vcpu->estats.switch_ns, hd_now_ns() - t0);
	hd_debug(TAG, "vCPU %u: kvm -> soft at rip=0x%llx (%s)", vcpu->index,
		 (unsigned long long)vcpu->cpu->regs.rip, why);
	return true;
}

static bool switch_to_kvm(struct hv_vcpu *vcpu, enum hv_soft_exit why)
{
	static const char *const names[] = {"stop", "hlt", "interrupt", "cpl3", "slice",
					    "unsupported", "crash"};
	uint64_t t0 = hd_now_ns();
	if (hv_soft_get_state(vcpu, vcpu->cpu) < 0 || hv_kvm_set_state(vcpu, vcpu->cpu) < 0) {
		hv_vm_request_stop(vcpu->vm, HV_EXIT_GUEST_CRASH, true,
				   "guest crashed: cannot move a vCPU from the soft engine to KVM");
		return false;
	}
	if (why == HV_SOFT_EXIT_HLT) {
		/* RIP is past the hlt: halt in KVM, which wakes the vCPU on an interrupt. */
		struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_HALTED};
		ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
		vcpu->sel.hlt_rip = vcpu->cpu->regs.rip;
	}
	atomic_store(&vcpu->engine, HV_ENGINE_KVM);
	atomic_fetch_add(&vcpu->estats.to_kvm, 1);
	atomic_fetch_add(&vcpu->estats.switch_ns, hd_now_ns() - t0);
	vcpu->sel.cpl0_run = 0;
	vcpu->sel.burst_count = 0;
	sample_timer_arm(vcpu, true);
	hd_debug(TAG, "vCPU %u: soft -> kvm at rip=0x%llx (%s)", vcpu->index,
		 (unsigned long long)vcpu->cpu->regs.rip, names[why]);
	return true;
}

/* ---- the loop ---- */

static void account(struct hv_vcpu *vcpu, enum hv_engine_kind k, uint64_t t0)
{
	atomic_fetch_add(&vcpu->estats.ns[k], hd_now_ns() - t0);
}

/* Soft-only VM: a halted vCPU has nothing to wake it (no interrupt controller without KVM);
 * it waits for the VM to stop or pause. */
static void soft_only_halt(struct hv_vcpu *vcpu)
{
	while (!atomic_load(&vcpu->vm->stop_requested) && !atomic_load(&vcpu->soft_kick))
		usleep(2000);
}

/* One line a vCPU at -v. "ran" is the guest's own run time, from the vCPU's first entry to
 * the end of its loop (the power-off), without the process's start-up and teardown;
 * bench/bench-engines.sh reports it next to the wall time. */
static void log_summary(struct hv_vcpu *vcpu, uint64_t ran_ns)
{
	struct hv_engine_stats *e = &vcpu->estats;
	hd_info(TAG,
		"vCPU %u: ran %.1f ms: kvm %.1f ms, soft %.1f ms (%llu insns), switches %llu/%llu, "
		"%.1f us per switch",
		vcpu->index, ran_ns / 1e6, atomic_load(&e->ns[HV_ENGINE_KVM]) / 1e6,
		atomic_load(&e->ns[HV_ENGINE_SOFT]) / 1e6,
		(unsigned long long)atomic_load(&e->insns_soft),
		(unsigned long long)atomic_load(&e->to_soft),
		(unsigned long long)atomic_load(&e->to_kvm),
		atomic_load(&e->to_soft) + atomic_load(&e->to_kvm)
			? atomic_load(&e->switch_ns) / 1e3 /
				  (double)(atomic_load(&e->to_soft) + atomic_load(&e->to_kvm))
			: 0.0);
}

void *hv_vcpu_thread(void *arg)
{
	struct hv_vcpu *vcpu = arg;
	struct hv_vm *vm = vcpu->vm;
	enum hv_engine_mode mode = vm->engine_mode;
	bool soft_halted = false;
	uint64_t start_ns = hd_now_ns();

	if (vm->have_kvm) {
		hv_kvm_thread_init(vcpu);
		atomic_store(&vcpu->engine, HV_ENGINE_KVM);
		sample_timer_init(vcpu);
		sample_timer_arm(vcpu, true);
		/* Every vCPU starts at CPL0 (hv-guest-abi.h), which this kind of KVM emulates
		 * slowly: auto starts on soft too and lets the guest's first CPL3 stretch bring it
		 * back. */
		if (mode != HV_ENGINE_MODE_KVM && !atomic_load(&vm->stop_requested))
			switch_to_soft(vcpu, mode == HV_ENGINE_MODE_SOFT ? "engine soft" : "cpl0 entry");
	} else {
		if (!vm->restored)
			hv_cpu_entry_state(vcpu, vcpu->cpu);
		if (hv_soft_set_state(vcpu, vcpu->cpu) < 0)
			hv_vm_request_stop(vm, HV_EXIT_FAILURE, true,
					   "cannot set the entry state in the soft engine");
		atomic_store(&vcpu->engine, HV_ENGINE_SOFT);
	}

	for (;;) {
		atomic_store(&vcpu->soft_kick, false);
		if (!hv_vm_vcpu_checkpoint(vcpu))
			break;
		uint64_t t0 = hd_now_ns();
		if (atomic_load(&vcpu->engine) == HV_ENGINE_KVM) {
			enum hv_kvm_event ev = hv_kvm_run_once(vcpu);
			account(vcpu, HV_ENGINE_KVM, t0);
			if (ev == HV_KVM_EV_DEAD)
				break;
			atomic_fetch_add(&vcpu->estats.exits[HV_ENGINE_KVM], 1);
			if (atomic_load(&vm->stop_requested))
				continue;
			bool go = false;
			const char *why = "";
			if (mode == HV_ENGINE_MODE_SOFT) {
				go = true;
				why = "engine soft";
			} else if (mode == HV_ENGINE_MODE_AUTO) {
				go = hv_select_kvm_exit(vcpu, ev, t0);
				why = ev == HV_KVM_EV_INTR ? "cpl0 time" : "exit burst";
			}
			if (go)
				switch_to_soft(vcpu, why);
			continue;
		}

		if (soft_halted) {
			soft_only_halt(vcpu);
			continue;
		}
		enum hv_soft_exit why = hv_soft_run(vcpu, mode == HV_ENGINE_MODE_AUTO);
		account(vcpu, HV_ENGINE_SOFT, t0);
		switch (why) {
		case HV_SOFT_EXIT_STOP:
		case HV_SOFT_EXIT_SLICE:
			break;
		case HV_SOFT_EXIT_CRASH:
			goto out;
		case HV_SOFT_EXIT_HLT:
			if (!vm->have_kvm) {
				soft_halted = true;
				break;
			}
			/* fall through */
		case HV_SOFT_EXIT_IRQ:
		case HV_SOFT_EXIT_USER:
		case HV_SOFT_EXIT_UNSUPPORTED:
			if (!vm->have_kvm) {
				uint64_t rip = 0;
				if (hv_soft_get_state(vcpu, vcpu->cpu) == 0)
					rip = vcpu->cpu->regs.rip;
				char msg[160];
				snprintf(msg, sizeof(msg),
					 "guest crashed: the software engine cannot run the instruction "
					 "at rip=0x%llx and there is no KVM to hand it to",
					 (unsigned long long)rip);
				hv_vm_request_stop(vm, HV_EXIT_GUEST_CRASH, true, msg);
				goto out;
			}
			if (!switch_to_kvm(vcpu, why))
				goto out;
			break;
		}
	}
out:
	if (vcpu->sample_timer_ok) {
		timer_delete(vcpu->sample_timer);
		vcpu->sample_timer_ok = false;
	}
	log_summary(vcpu, hd_now_ns() - start_ns);
	return NULL;
}
