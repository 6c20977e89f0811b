/* hv-internal.h: structures shared between the files of hypervisor-core (VM, vCPUs, KVM
 * engine, UART, control socket). Private to this folder; other components use hv.h. */
#ifndef HV_INTERNAL_H
#define HV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "hd-common.h"
#include "hv.h"

struct kvm_run;

/* ---- 8250/16550A UART ---- */
#define HV_UART_FIFO 16

struct hv_uart {
	pthread_mutex_t lock;
	int out_fd;
	struct hv_vm *vm;
	unsigned irq;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_irq_pending; /* THRE interrupt raised, cleared by reading IIR or writing THR */
	uint8_t rx[HV_UART_FIFO];
	unsigned rx_head, rx_count;
	bool irq_level;
	uint64_t tx_bytes;
};

void hv_uart_init(struct hv_uart *u, struct hv_vm *vm, unsigned irq, int out_fd);
void hv_uart_io(void *opaque, uint64_t offset, void *data, uint32_t len, bool is_write);
/* Feeds bytes typed by the user; returns how many fitted in the receive FIFO. */
size_t hv_uart_receive(struct hv_uart *u, const uint8_t *data, size_t len);

/* ---- vCPUs ---- */
enum hv_vcpu_state {
	HV_VCPU_RUNNING,
	HV_VCPU_PARKED, /* paused by the VM, waiting on vm->state_cond */
	HV_VCPU_DONE,
};

struct hv_vcpu_stats {
	_Atomic uint64_t exits;
	_Atomic uint64_t io_exits;
	_Atomic uint64_t mmio_exits;
	_Atomic uint64_t hlt_exits;
	_Atomic uint64_t intr_exits; /* kicked out of KVM_RUN by a signal */
};

struct hv_vcpu {
	struct hv_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	enum hv_vcpu_state state; /* under vm->lock */
	struct hv_vcpu_stats stats;
};

/* ---- control socket ---- */
#define HV_CONTROL_MAX_CMDS    32
#define HV_CONTROL_MAX_CLIENTS 16
#define HV_CONTROL_MAX_LINE    (64 * 1024)

struct hv_control_cmd {
	const char *name;
	const char *usage;
	hv_control_fn fn;
	void *opaque;
};

struct hv_control_client {
	int fd;
	struct hd_buf in;
	bool closing; /* reply sent for a request that ends the connection */
};

struct hv_control {
	char *path;
	int listen_fd;
	unsigned nr_cmds;
	struct hv_control_cmd cmds[HV_CONTROL_MAX_CMDS];
	struct hv_control_client clients[HV_CONTROL_MAX_CLIENTS];
};

int hv_control_open(struct hv_vm *vm, const char *path, char *err, size_t errlen);
void hv_control_close(struct hv_vm *vm);
/* Event-loop callbacks: the listening socket or a client fd became readable. */
void hv_control_accept(struct hv_vm *vm);
void hv_control_client_ready(struct hv_vm *vm, unsigned slot);
void hv_control_register_builtins(struct hv_vm *vm);

/* ---- the VM ---- */
enum hv_vm_state {
	HV_VM_CREATED,
	HV_VM_RUNNING,
	HV_VM_PAUSED,
	HV_VM_STOPPING,
};

struct hv_vm {
	struct hv_vm_config cfg;
	char *cmdline;
	char *guest_name;
	struct hv_mem mem;
	struct hv_bus pio, mmio;
	struct hv_uart uart;
	struct hv_elf_image image;

	/* KVM */
	int kvm_fd;
	int vm_fd;
	uint64_t tsc_khz;
	struct kvm_cpuid2 *cpuid;

	unsigned nr_vcpus;
	struct hv_vcpu vcpus[HV_MAX_VCPUS];

	pthread_mutex_t lock;
	pthread_cond_t state_cond;
	enum hv_vm_state state; /* under lock */
	unsigned parked;        /* vCPUs parked, under lock */
	_Atomic bool stop_requested;
	int exit_status;      /* first stop request wins, under lock */
	int wake_fd;          /* eventfd: wakes the event loop */
	int epoll_fd;
	int signal_fd;
	uint64_t start_ns;

	struct hv_control control;

	unsigned nr_virtio;
	struct hv_virtio_mmio *virtio[HV_BOOT_MAX_DEV];
};

/* KVM engine (kvm.c). */
int hv_kvm_open(struct hv_vm *vm, char *err, size_t errlen);
int hv_kvm_vcpu_create(struct hv_vm *vm, struct hv_vcpu *vcpu, char *err, size_t errlen);
void hv_kvm_vcpu_destroy(struct hv_vcpu *vcpu);
void hv_kvm_close(struct hv_vm *vm);
void hv_kvm_set_irq(void *vm, unsigned gsi, int level);
/* Runs the vCPU until the VM stops; the body of a vCPU thread. */
void *hv_kvm_vcpu_thread(void *vcpu);
/* The guest's TSC now, as the guest would read it; 0 if unknown. */
uint64_t hv_kvm_guest_tsc(struct hv_vcpu *vcpu);
/* Makes the vCPU leave KVM_RUN soon (immediate_exit + signal). */
void hv_kvm_vcpu_kick(struct hv_vcpu *vcpu);

/* Boot structures (boot.c): GDT, page tables, boot info, command line. */
int hv_boot_setup(struct hv_vm *vm, char *err, size_t errlen);

/* vm.c: a vCPU thread calls this between runs; returns false when it must exit. Parks the
 * thread while the VM is paused. */
bool hv_vm_vcpu_checkpoint(struct hv_vcpu *vcpu);
int hv_vm_pause(struct hv_vm *vm);
int hv_vm_resume(struct hv_vm *vm);
/* Watches a control client's fd in the event loop under the given slot. */
int hv_vm_epoll_add_client(struct hv_vm *vm, int fd, unsigned slot);

#endif
