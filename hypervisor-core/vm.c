/* vm.c: the VM's lifecycle: building memory, devices and vCPUs, the event loop (signals,
 * control socket, console input), pause/resume and stop. Not the execution engine (kvm.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "vm"

/* epoll tags: small integers for the fixed fds, client slots above. */
enum { EV_WAKE = 1, EV_SIGNAL, EV_CONTROL, EV_SERIAL_IN, EV_CLIENT_BASE = 64 };

_Static_assert(sizeof(struct hv_boot_info) <= HV_BOOT_CMDLINE_GPA - HV_BOOT_INFO_GPA,
	       "boot info must fit below the command line");

static void poweroff_io(void *opaque, uint64_t offset, void *data, uint32_t len, bool is_write)
{
	struct hv_vm *vm = opaque;
	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	uint8_t code = *(uint8_t *)data;
	char msg[64];
	snprintf(msg, sizeof(msg), "guest powered off with status %u", code);
	hv_vm_request_stop(vm, code, false, msg);
}

int hv_vm_add_virtio(struct hv_vm *vm, const struct hv_virtio_dev_ops *ops, void *opaque,
		     struct hv_virtio_mmio **out)
{
	if (vm->state != HV_VM_CREATED)
		return -EBUSY;
	if (vm->nr_virtio == HV_BOOT_MAX_DEV)
		return -ENOSPC;
	unsigned n = vm->nr_virtio;
	struct hv_virtio_mmio *t = hd_xzalloc(sizeof(*t));
	int r = hv_virtio_mmio_init(t, ops, opaque, &vm->mem, hv_kvm_set_irq, vm,
				    HV_MMIO_IRQ_BASE + n);
	if (r == 0)
		r = hv_bus_register(&vm->mmio, HV_MMIO_BASE + n * HV_MMIO_SLOT, HV_MMIO_SLOT,
				    hv_virtio_mmio_access, t, "virtio-mmio");
	if (r < 0) {
		free(t);
		return r;
	}
	vm->virtio[vm->nr_virtio++] = t;
	*out = t;
	return 0;
}

struct hv_mem *hv_vm_mem(struct hv_vm *vm)
{
	return &vm->mem;
}

static void vm_free(struct hv_vm *vm)
{
	hv_migrate_fini(vm); /* its thread uses everything below */
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		free(vm->virtio[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		hv_soft_destroy(&vm->vcpus[i]);
		hv_kvm_vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus[i].cpu);
	}
	hv_control_close(vm);
	hv_kvm_close(vm);
	hv_soft_vm_fini(vm);
	for (unsigned i = 0; i < HV_MEM_MAX_REGIONS; i++)
		free(vm->dirty_bits[i]);
	pthread_mutex_destroy(&vm->dirty_lock);
	hv_dirty_free(vm->mem.dirty);
	hv_mem_fini(&vm->mem);
	free(vm->migrated_to);
	free(vm->poison);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	if (vm->epoll_fd >= 0)
		close(vm->epoll_fd);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->state_cond);
	free(vm->cmdline);
	free(vm->guest_name);
	free(vm->memory_file);
	free(vm);
}

static int epoll_add(struct hv_vm *vm, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
	return epoll_ctl(vm->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Engine mode and tunables from the configuration; the mode may still degrade when KVM or
 * Unicorn turns out to be missing (engines_open). */
static int engine_config(struct hv_vm *vm, const struct hv_vm_config *cfg, char *err,
			 size_t errlen)
{
	const char *e = cfg->engine ? cfg->engine : "auto";
	if (strcmp(e, "auto") == 0)
		vm->engine_mode = HV_ENGINE_MODE_AUTO;
	else if (strcmp(e, "kvm") == 0)
		vm->engine_mode = HV_ENGINE_MODE_KVM;
	else if (strcmp(e, "soft") == 0)
		vm->engine_mode = HV_ENGINE_MODE_SOFT;
	else {
		snprintf(err, errlen, "unknown engine '%s' (auto, kvm or soft)", e);
		return -EINVAL;
	}
	hv_engine_tune_defaults(&vm->tune);
	const char *env = getenv("HYPERDESK_ENGINE_TUNE");
	if (env && *env) {
		char *copy = hd_xstrdup(env), *save = NULL;
		for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
			if (hv_engine_tune_set(&vm->tune, kv, err, errlen) < 0) {
				free(copy);
				return -EINVAL;
			}
		}
		free(copy);
	}
	for (const char *const *kv = cfg->engine_tune; kv && *kv; kv++)
		if (hv_engine_tune_set(&vm->tune, *kv, err, errlen) < 0)
			return -EINVAL;
	if (vm->engine_mode != HV_ENGINE_MODE_KVM && !hv_soft_available) {
		hd_warn(TAG, "this build has no software engine (Unicorn 2.1 was not found at build "
			     "time): --engine %s runs on kvm", e);
		vm->engine_mode = HV_ENGINE_MODE_KVM;
	}
	return 0;
}

/* KVM (unless it is missing and the soft engine can run alone), the soft engine, vCPUs. */
static int engines_open(struct hv_vm *vm, char *err, size_t errlen)
{
	int r = hv_kvm_open(vm, err, errlen);
	if (r < 0) {
		if (vm->engine_mode == HV_ENGINE_MODE_KVM)
			return r;
		hd_warn(TAG, "no usable KVM (%s): running on the software engine only", err);
		hv_kvm_close(vm);
		vm->have_kvm = false;
		vm->engine_mode = HV_ENGINE_MODE_SOFT;
	} else {
		vm->have_kvm = true;
	}
	if (vm->engine_mode != HV_ENGINE_MODE_KVM) {
		r = hv_soft_vm_init(vm, err, errlen);
		if (r < 0)
			return r;
		if (vm->have_kvm)
			hv_kvm_cpuid_restrict(vm); /* the guest sees what both engines run */
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->index = i;
		v->cpu = hd_xzalloc(sizeof(*v->cpu));
		if (vm->have_kvm) {
			r = hv_kvm_vcpu_create(vm, v, err, errlen);
			if (r < 0)
				return r;
		}
		if (vm->engine_mode != HV_ENGINE_MODE_KVM) {
			r = hv_soft_create(v, err, errlen);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int hv_vm_create(const struct hv_vm_config *cfg, struct hv_vm **out, char *err, size_t errlen)
{
	int r;
	struct hv_vm *vm = hd_xzalloc(sizeof(*vm));

	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = vm->wake_fd = vm->epoll_fd = vm->signal_fd = -1;
	vm->control.listen_fd = -1;
	vm->mem.fd = -1;
	for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->dirty_lock, NULL);
	pthread_cond_init(&vm->state_cond, NULL);
	vm->cmdline = hd_xstrdup(cfg->cmdline ? cfg->cmdline : "");
	vm->guest_name = hd_xstrdup(cfg->guest_name ? cfg->guest_name : "guest");
	vm->cfg.cmdline = vm->cmdline;
	vm->cfg.guest_name = vm->guest_name;
	vm->cfg.control_path = NULL; /* owned by vm->control once opened */
	vm->state = HV_VM_CREATED;
	vm->id = cfg->vm_id;
	while (!vm->id && getrandom(&vm->id, sizeof(vm->id), 0) != sizeof(vm->id))
		vm->id = hd_now_ns() ^ ((uint64_t)getpid() << 32); /* no entropy: unique enough */

	if (cfg->vcpus < 1 || cfg->vcpus > HV_MAX_VCPUS) {
		snprintf(err, errlen, "vCPU count must be between 1 and %d", HV_MAX_VCPUS);
		r = -EINVAL;
		goto fail;
	}
	r = engine_config(vm, cfg, err, errlen);
	if (r < 0)
		goto fail;
	vm->nr_vcpus = cfg->vcpus;

	if (cfg->memory_file) {
		vm->memory_file = hd_xstrdup(cfg->memory_file);
		r = hv_mem_init_file(&vm->mem, cfg->mem_size, cfg->memory_file, err, errlen);
		if (r < 0)
			goto fail;
	} else {
		r = hv_mem_init(&vm->mem, cfg->mem_size);
		if (r < 0) {
			snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
				 (unsigned long long)(cfg->mem_size >> 20), strerror(-r));
			goto fail;
		}
	}
	r = hv_elf_load(&vm->mem, cfg->image, cfg->image_len, &vm->image, err, errlen);
	if (r < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "cannot load guest '%s': %s", vm->guest_name, why);
		goto fail;
	}

	r = engines_open(vm, err, errlen);
	if (r < 0)
		goto fail;
	/* Fail early on a command line that cannot fit; the boot info itself is written at run
	 * time, once every device has been added. */
	r = hv_boot_setup(vm, err, errlen);
	if (r < 0)
		goto fail;

	hv_bus_init(&vm->pio, "pio");
	hv_bus_init(&vm->mmio, "mmio");
	hv_uart_init(&vm->uart, vm, HV_IRQ_UART0, cfg->serial_out_fd);
	if ((r = hv_bus_register(&vm->pio, HV_PORT_UART0, 8, hv_uart_io, &vm->uart, "uart0")) < 0 ||
	    (r = hv_bus_register(&vm->pio, HV_PORT_POWEROFF, 1, poweroff_io, vm, "poweroff")) < 0) {
		snprintf(err, errlen, "cannot register platform devices: %s", strerror(-r));
		goto fail;
	}

	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (vm->wake_fd < 0 || vm->epoll_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create event loop: %s", strerror(errno));
		goto fail;
	}
	epoll_add(vm, vm->wake_fd, EV_WAKE);

	hv_control_register_builtins(vm);
	hv_snapshot_register_control(vm);
	hv_migrate_register_control(vm);
	if (cfg->control_path) {
		r = hv_control_open(vm, cfg->control_path, err, errlen);
		if (r < 0)
			goto fail;
		epoll_add(vm, vm->control.listen_fd, EV_CONTROL);
	}
	*out = vm;
	return 0;

fail:
	vm_free(vm);
	return r;
}

void hv_vm_request_stop(struct hv_vm *vm, int status, bool failure, const char *reason)
{
	bool first = false;
	pthread_mutex_lock(&vm->lock);
	if (!atomic_load(&vm->stop_requested)) {
		atomic_store(&vm->stop_requested, true);
		vm->exit_status = status;
		vm->state = HV_VM_STOPPING;
		first = true;
		pthread_cond_broadcast(&vm->state_cond);
	}
	pthread_mutex_unlock(&vm->lock);
	if (!first)
		return;
	if (reason) {
		if (failure)
			hd_err(TAG, "%s", reason);
		else
			hd_info(TAG, "%s", reason);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		hv_vcpu_kick(&vm->vcpus[i]);
	uint64_t one = 1;
	if (vm->wake_fd >= 0 && write(vm->wake_fd, &one, sizeof(one)) < 0)
		hd_debug(TAG, "wake write failed: %s", strerror(errno));
}

bool hv_vm_vcpu_checkpoint(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	if (atomic_load(&vm->stop_requested))
		return false;
	pthread_mutex_lock(&vm->lock);
	if (vm->state == HV_VM_PAUSED) {
		vcpu->state = HV_VCPU_PARKED;
		vm->parked++;
		pthread_cond_broadcast(&vm->state_cond);
		while (vm->state == HV_VM_PAUSED) {
			/* A snapshot wants this vCPU's state: only its own thread may finish a
			 * pending KVM exit or read the soft engine. */
			if (vm->snap_capture && !vcpu->captured) {
				hv_vcpu_capture(vcpu);
				pthread_cond_broadcast(&vm->state_cond);
				continue;
			}
			pthread_cond_wait(&vm->state_cond, &vm->lock);
		}
		vm->parked--;
		vcpu->state = HV_VCPU_RUNNING;
	}
	bool go_on = vm->state != HV_VM_STOPPING;
	pthread_mutex_unlock(&vm->lock);
	return go_on;
}

/* Devices with threads of their own stop (or go on) writing guest RAM. */
static void pause_devices(struct hv_vm *vm, bool paused)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		if (vm->virtio[i]->ops->pause)
			vm->virtio[i]->ops->pause(vm->virtio[i]->opaque, paused);
}

int hv_vm_pause(struct hv_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != HV_VM_RUNNING) {
		int r = vm->state == HV_VM_PAUSED ? -EALREADY : -EINVAL;
		pthread_mutex_unlock(&vm->lock);
		return r;
	}
	vm->state = HV_VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	pause_devices(vm, true);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		hv_vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->lock);
	while (vm->parked < vm->nr_vcpus && vm->state == HV_VM_PAUSED)
		pthread_cond_wait(&vm->state_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int hv_vm_resume(struct hv_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	int r = 0;
	if (vm->state == HV_VM_PAUSED) {
		vm->state = HV_VM_RUNNING;
		pthread_cond_broadcast(&vm->state_cond);
	} else {
		r = vm->state == HV_VM_RUNNING ? -EALREADY : -EINVAL;
	}
	pthread_mutex_unlock(&vm->lock);
	if (r == 0)
		pause_devices(vm, false);
	return r;
}

static void handle_signal(struct hv_vm *vm)
{
	struct signalfd_siginfo si;
	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	char msg[64];
	snprintf(msg, sizeof(msg), "stopping on signal %s", strsignal((int)si.ssi_signo));
	hv_vm_request_stop(vm, HV_EXIT_OK, false, msg);
}

static void handle_serial_in(struct hv_vm *vm)
{
	uint8_t buf[HV_UART_FIFO];
	ssize_t n = read(vm->cfg.serial_in_fd, buf, sizeof(buf));
	if (n <= 0) {
		/* End of input: stop watching it, the VM runs on. */
		epoll_ctl(vm->epoll_fd, EPOLL_CTL_DEL, vm->cfg.serial_in_fd, NULL);
		return;
	}
	/* A full FIFO drops input, as a real UART overruns. */
	hv_uart_receive(&vm->uart, buf, (size_t)n);
}

int hv_vm_run(struct hv_vm *vm)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1); /* vCPU threads unblock it for themselves */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd >= 0)
		epoll_add(vm, vm->signal_fd, EV_SIGNAL);
	if (vm->cfg.serial_in_fd >= 0)
		epoll_add(vm, vm->cfg.serial_in_fd, EV_SERIAL_IN);

	char err[256];
	/* A restored VM's boot structures are in its memory already, as the guest left them. */
	if (!vm->restored && hv_boot_setup(vm, err, sizeof(err)) < 0) {
		hd_err(TAG, "%s", err);
		return HV_EXIT_FAILURE;
	}
	vm->start_ns = hd_now_ns();
	pthread_mutex_lock(&vm->lock);
	if (vm->state == HV_VM_CREATED)
		vm->state = HV_VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];
		int r = pthread_create(&v->thread, NULL, hv_vcpu_thread, v);
		if (r) {
			hv_vm_request_stop(vm, HV_EXIT_FAILURE, true, "cannot start a vCPU thread");
			break;
		}
		v->thread_started = true;
	}

	while (!atomic_load(&vm->stop_requested)) {
		struct epoll_event evs[16];
		int n = epoll_wait(vm->epoll_fd, evs, 16, -1);
		if (n < 0 && errno != EINTR) {
			hv_vm_request_stop(vm, HV_EXIT_FAILURE, true, "event loop failed");
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == EV_WAKE) {
				uint64_t v;
				if (read(vm->wake_fd, &v, sizeof(v)) < 0)
					hd_debug(TAG, "wake read: %s", strerror(errno));
			} else if (tag == EV_SIGNAL) {
				handle_signal(vm);
			} else if (tag == EV_CONTROL) {
				hv_control_accept(vm);
			} else if (tag == EV_SERIAL_IN) {
				handle_serial_in(vm);
			} else if (tag >= EV_CLIENT_BASE) {
				hv_control_client_ready(vm, (unsigned)(tag - EV_CLIENT_BASE));
			}
		}
	}

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];
		if (v->thread_started) {
			hv_vcpu_kick(v);
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
	pthread_mutex_lock(&vm->lock);
	int status = vm->exit_status;
	pthread_mutex_unlock(&vm->lock);
	return status;
}

void hv_vm_destroy(struct hv_vm *vm)
{
	if (vm)
		vm_free(vm);
}

int hv_vm_epoll_add_client(struct hv_vm *vm, int fd, unsigned slot)
{
	return epoll_add(vm, fd, EV_CLIENT_BASE + slot);
}
