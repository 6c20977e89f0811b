/* hv-internal.h: structures shared between the files of hypervisor-core (VM, vCPUs, KVM
 * engine, UART, control socket). Private to this folder; other components use hv.h. */
#ifndef HV_INTERNAL_H
#define HV_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

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

/* ---- execution engines (engine.c, kvm.c, soft.c, select.c) ----
 * A vCPU runs on one engine at a time; its architectural state moves between them at an
 * instruction boundary as a struct hv_cpu_state, which is KVM's own format (so the KVM side
 * is a plain copy and the soft side converts). */
enum hv_engine_kind { HV_ENGINE_KVM, HV_ENGINE_SOFT, HV_ENGINE_COUNT };
enum hv_engine_mode { HV_ENGINE_MODE_KVM, HV_ENGINE_MODE_SOFT, HV_ENGINE_MODE_AUTO };

/* MSRs carried across a switch, in this order (HV_MSR_LIST in kvm.c). */
enum {
	HV_MSR_STAR, HV_MSR_LSTAR, HV_MSR_CSTAR, HV_MSR_SFMASK, HV_MSR_KERNEL_GS_BASE,
	HV_MSR_SYSENTER_CS, HV_MSR_SYSENTER_ESP, HV_MSR_SYSENTER_EIP, HV_MSR_TSC_AUX, HV_MSR_PAT,
	HV_MSR_COUNT
};
extern const uint32_t hv_msr_index[HV_MSR_COUNT];

struct hv_cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs; /* segments with hidden parts, CRs, EFER, descriptor tables */
	uint64_t msr[HV_MSR_COUNT];
	struct kvm_xsave xsave; /* legacy FXSAVE area + header (+ extended state KVM keeps) */
};

/* Why an engine handed control back to the vCPU loop. */
enum hv_soft_exit {
	HV_SOFT_EXIT_STOP,     /* the VM is stopping or pausing: checkpoint */
	HV_SOFT_EXIT_HLT,      /* guest halted: KVM waits for the interrupt */
	HV_SOFT_EXIT_IRQ,      /* an interrupt is pending and RFLAGS.IF = 1: KVM delivers it */
	HV_SOFT_EXIT_USER,     /* the stream turned unprivileged (CPL3): KVM runs it natively */
	HV_SOFT_EXIT_SLICE,    /* the time slice ended (soft-only VM checks in) */
	HV_SOFT_EXIT_UNSUPPORTED, /* an instruction or access the soft engine cannot do */
	HV_SOFT_EXIT_CRASH,    /* unrecoverable guest error without KVM to hand it to */
};

/* Tunables of the selector (select.c documents them; docs/PERFORMANCE.md too). */
struct hv_engine_tune {
	unsigned burst_exits;      /* exits within burst_window_us that make a burst */
	unsigned burst_window_us;
	unsigned cpl0_samples;     /* consecutive CPL0 samples in KVM before moving to soft */
	unsigned sample_us;        /* KVM sampling period (0 = no sampling) */
	unsigned user_check_insns; /* soft: check CPL / interrupts every N instructions */
	unsigned soft_min_us;      /* stay in soft at least this long before leaving on CPL3 */
	unsigned hot_rips;         /* RIP cache entries (0 = no cache) */
	unsigned slice_ms;         /* soft: longest uninterrupted run */
};

struct hv_engine_stats {
	_Atomic uint64_t ns[HV_ENGINE_COUNT];    /* time spent in each engine */
	_Atomic uint64_t insns_soft;             /* instructions the soft engine ran */
	_Atomic uint64_t exits[HV_ENGINE_COUNT]; /* I/O, MMIO, hlt, interrupt exits */
	_Atomic uint64_t to_soft, to_kvm;        /* switches */
	_Atomic uint64_t switch_ns;              /* total time spent switching */
	_Atomic uint64_t hot_hits;               /* switches decided by the RIP cache */
	_Atomic uint64_t soft_ints;              /* interrupts delivered through the IDT by soft */
};

#define HV_HOT_RIPS_MAX 64

/* The selector's per-vCPU memory. */
struct hv_select {
	uint64_t burst_start_ns, burst_start_rip;
	unsigned burst_count;
	unsigned cpl0_run;
	uint64_t hlt_rip;  /* RIP after the last hlt handed back by soft: CPL0 there is idle */
	uint64_t hot[HV_HOT_RIPS_MAX];
	unsigned hot_next;
	bool return_soon;  /* soft mode: KVM runs one stretch then hands back */
};

struct hv_soft; /* soft.c */

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

	_Atomic int engine; /* enum hv_engine_kind now in charge */
	_Atomic bool soft_kick; /* asks the soft engine to return to the vCPU loop */
	struct hv_soft *soft;
	struct hv_select sel;
	struct hv_engine_stats estats;
	struct hv_cpu_state *cpu; /* scratch for switches (large: xsave) */
	timer_t sample_timer;
	bool sample_timer_ok;
	bool io_pending; /* KVM: an I/O exit was handled but not yet completed by KVM_RUN */
	bool captured;   /* parked with its state in cpu (vm->snap_capture) */
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


/* ---- snapshots (snapshot.c: the format; snapshot-vm.c: what goes in it) ---- */
#define HV_SNAP_VERSION      1
#define HV_SNAP_MAX_SECTIONS 64
#define HV_SNAP_MAX_DEVICES  32

uint32_t hv_crc32c(uint32_t crc, const void *data, size_t len);

struct hv_snap_section {
	char name[HV_SNAP_NAME_MAX];
	uint32_t version;
	const uint8_t *data;
	size_t len;
	bool used; /* a loader took it */
};

struct hv_snap_index {
	unsigned count;
	struct hv_snap_section sec[HV_SNAP_MAX_SECTIONS];
};

/* Checks a whole snapshot image: magic, version, host, section sizes, every section's CRC
 * and the trailer. Returns 0 with idx pointing into buf, or -EINVAL and a reason in err. */
int hv_snapshot_parse(const void *buf, size_t len, struct hv_snap_index *idx, char *err,
		      size_t errlen);
bool hv_snap_index_find(struct hv_snap_index *idx, const char *name, struct hv_snap_in *in);

struct hv_snapshot {
	uint8_t *map;
	size_t len;
	struct hv_snap_index idx;
	char *cmdline, *guest_name; /* handed out by hv_snapshot_vm_config */
	bool heap;                  /* map came from malloc, not mmap */
};

/* snapshot-vm.c */
struct hv_snap_writer;
void hv_vcpu_capture(struct hv_vcpu *vcpu);
/* With the VM paused: every vCPU stores its state (0, or -errno if one could not). */
int hv_vm_capture(struct hv_vm *vm);
/* Writes the "vm" section (configuration and guest image): safe while the VM runs. */
void hv_vm_save_config(struct hv_vm *vm, struct hv_snap_writer *w);
/* Writes every section but memory; the VM paused and captured. */
void hv_vm_save_state(struct hv_vm *vm, struct hv_snap_writer *w);
/* hv_vm_restore without the memory section: RAM was filled by other means (a migration). */
int hv_vm_restore_state(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen);
void hv_snapshot_register_control(struct hv_vm *vm);

struct hv_snap_writer;
int hv_snap_writer_open(const char *path, struct hv_snap_writer **out, char *err, size_t errlen);
void hv_snap_writer_section(struct hv_snap_writer *w, const char *name, uint32_t version,
			    const void *data, size_t len);
/* A section of known length written in pieces. */
void hv_snap_writer_begin(struct hv_snap_writer *w, const char *name, uint32_t version,
			  uint64_t len);
void hv_snap_writer_data(struct hv_snap_writer *w, const void *p, size_t n);
void hv_snap_writer_end(struct hv_snap_writer *w);
/* Writes the trailer, syncs and renames into place; frees w either way. */
int hv_snap_writer_commit(struct hv_snap_writer *w, uint64_t *bytes, char *err, size_t errlen);
void hv_snap_writer_abort(struct hv_snap_writer *w);
/* A snapshot image in memory rather than a file (a migration's state blob). */
int hv_snap_writer_open_mem(struct hv_snap_writer **out, char *err, size_t errlen);
/* Writes the trailer and hands the image over (free() it); frees w either way. */
int hv_snap_writer_take(struct hv_snap_writer *w, uint8_t **buf, size_t *len, char *err,
			size_t errlen);
/* Checks an image in memory like hv_snapshot_open does a file; takes buf (malloc'd) over. */
int hv_snapshot_from_buf(uint8_t *buf, size_t len, struct hv_snapshot **out, char *err,
			 size_t errlen);

struct hv_snap_device {
	char name[HV_SNAP_NAME_MAX];
	uint32_t version;
	hv_snap_save_fn save;
	hv_snap_load_fn load;
	void *opaque;
};

/* Per-vCPU state in a snapshot: the engine-neutral CPU state plus KVM's own pieces. */
struct hv_vcpu_snap {
	struct hv_cpu_state cpu;
	bool have_kvm;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	uint64_t tsc;
};

/* kvm.c: KVM's VM-wide devices (PIC, IOAPIC, PIT, clock) and per-vCPU extras. */
void hv_kvm_save_vm(struct hv_vm *vm, struct hd_buf *out);
int hv_kvm_load_vm(struct hv_vm *vm, struct hv_snap_in *in, char *err, size_t errlen);
int hv_kvm_vcpu_save(struct hv_vcpu *vcpu, struct hv_vcpu_snap *s);
int hv_kvm_vcpu_load(struct hv_vcpu *vcpu, const struct hv_vcpu_snap *s);
/* uart.c, virtio-mmio.c */
void hv_uart_save(void *uart, struct hd_buf *out);
int hv_uart_load(void *uart, struct hv_snap_in *in, char *err, size_t errlen);
void hv_virtio_mmio_save(void *t, struct hd_buf *out);
int hv_virtio_mmio_load(void *t, struct hv_snap_in *in, char *err, size_t errlen);

/* ---- dirty tracking (dirty.c) ---- */
struct hv_dirty *hv_dirty_new(uint64_t pages);
void hv_dirty_free(struct hv_dirty *d);
size_t hv_dirty_words(const struct hv_dirty *d);
uint64_t hv_dirty_pages(const struct hv_dirty *d);
void hv_dirty_set_active(struct hv_dirty *d, bool on);
bool hv_dirty_active(const struct hv_dirty *d);
/* Marks pages [first, first+n) (clipped to the bitmap). Any thread, lock-free. */
void hv_dirty_set_range(struct hv_dirty *d, uint64_t first, uint64_t n);
/* Moves the bitmap into out (hv_dirty_words words) and clears it; returns the pages set. */
uint64_t hv_dirty_take(struct hv_dirty *d, uint64_t *out);
/* The next run of set bits at or after *pos, at most max_run long: true with start/n, and
 * *pos moved past it; false at the end. */
bool hv_dirty_next_run(const uint64_t *bits, uint64_t pages, uint64_t *pos, uint64_t max_run,
		       uint64_t *start, uint64_t *n);
/* Harvests KVM's dirty log: the soft engine forgets code KVM rewrote, and a tracing
 * migration records the pages. Every consumer of KVM's log goes through here. */
int hv_dirty_sync_kvm(struct hv_vm *vm);
/* Starts tracing every write to guest RAM (a brief pause of the vCPUs); 0 or -errno. */
int hv_dirty_start(struct hv_vm *vm, char *err, size_t errlen);
void hv_dirty_stop(struct hv_vm *vm);
/* Everything written since the last harvest, by page of the memory file, into out. */
uint64_t hv_dirty_harvest(struct hv_vm *vm, uint64_t *out, int *err);
/* kvm.c: switches KVM_MEM_LOG_DIRTY_PAGES on the RAM slots (kvm-only mode; otherwise the
 * slots always log). */
int hv_kvm_log_dirty(struct hv_vm *vm, bool on);

/* ---- memory errors (poison.c) ---- */
/* memcpy that returns -EIO instead of dying when src faults (SIGBUS: a poisoned page). */
int hv_mem_copy_safe(void *dst, const void *src, size_t len);
/* Makes the page at gpa raise SIGBUS on any access, as a hardware-poisoned page would
 * (the fault-injection test switch, and a poisoned page a migration brought). */
int hv_mem_poison(struct hv_mem *m, uint64_t gpa);

/* ---- migration stream (migrate-stream.c; docs/PROTOCOL.md) ---- */
#define HV_MIG_VERSION    1
#define HV_MIG_MAX_RUN    256u            /* pages in one record: 1 MiB */
#define HV_MIG_MAX_BLOB   (512ull << 20)  /* config or device state */
#define HV_MIG_MAX_HEADS  16u
#define HV_MIG_MAX_POISON 4096u
#define HV_MIG_MIN_MEM    (1ull << 20)
#define HV_MIG_MAX_MEM    (1ull << 40)
#define HV_MIG_WRITE_BUF  (2u << 20)

enum hv_mig_rec_type {
	HV_MIG_REC_CONFIG = 1, /* count = GPU heads, gpa = VM id; payload: a snapshot image with "vm" */
	HV_MIG_REC_PAGES,      /* count pages at gpa; payload: their bytes */
	HV_MIG_REC_ZERO,       /* count pages at gpa are all zero */
	HV_MIG_REC_POISON,     /* the page at gpa could not be read: a memory error */
	HV_MIG_REC_DEVICE,     /* payload: a snapshot image of every section but memory */
	HV_MIG_REC_END,        /* gpa = CRC32C of every byte before this record */
};

struct hv_mig_region {
	uint64_t gpa, size;
};

/* Little-endian on the wire. */
struct hv_mig_header {
	char magic[8]; /* "HDMIGR\r\n" */
	uint32_t version;
	uint32_t header_size;
	uint32_t page_size;
	uint32_t nr_regions;
	uint64_t mem_size;
	struct hv_mig_region regions[HV_MEM_MAX_REGIONS];
};
_Static_assert(sizeof(struct hv_mig_header) == 64, "migration header layout");

struct hv_mig_rec {
	uint32_t type;
	uint32_t count;
	uint64_t gpa;
	uint64_t len; /* payload bytes that follow */
};
_Static_assert(sizeof(struct hv_mig_rec) == 24, "migration record layout");

/* Moves bytes: returns how many (> 0), 0 at the end of the stream, or -errno. */
typedef ssize_t (*hv_mig_io_fn)(void *opaque, void *buf, size_t n);

const char *hv_mig_rec_name(uint32_t type);
unsigned hv_mig_layout(uint64_t mem_size, struct hv_mig_region out[HV_MEM_MAX_REGIONS]);
void hv_mig_header_init(struct hv_mig_header *h, uint64_t mem_size);
int hv_mig_header_check(const struct hv_mig_header *h, char *err, size_t errlen);
void hv_mig_rec_init(struct hv_mig_rec *rec, uint32_t type, uint32_t count, uint64_t gpa,
		     uint64_t len);
int hv_mig_rec_check(const struct hv_mig_rec *rec, uint64_t mem_size, char *err, size_t errlen);

struct hv_mig_writer {
	hv_mig_io_fn io;
	void *opaque;
	uint8_t *buf;
	size_t len, cap;
	uint32_t crc;
	uint64_t bytes;
	int err; /* first error, sticky */
};
void hv_mig_writer_init(struct hv_mig_writer *w, hv_mig_io_fn fn, void *opaque);
void hv_mig_writer_free(struct hv_mig_writer *w);
int hv_mig_write(struct hv_mig_writer *w, const void *p, size_t n);
int hv_mig_write_rec(struct hv_mig_writer *w, uint32_t type, uint32_t count, uint64_t gpa,
		     const void *payload, uint64_t len);
int hv_mig_flush(struct hv_mig_writer *w);
int hv_mig_write_end(struct hv_mig_writer *w);

struct hv_mig_recv {
	hv_mig_io_fn io;
	void *opaque;
	uint32_t crc, crc_before_rec;
	uint64_t bytes, mem_size, pages;
	uint32_t heads;
	uint64_t vm_id; /* the config record's gpa field */
	uint8_t *config, *device;
	size_t config_len, device_len;
	uint64_t *poison;
	unsigned nr_poison;
};
void hv_mig_recv_init(struct hv_mig_recv *rx, hv_mig_io_fn fn, void *opaque);
void hv_mig_recv_free(struct hv_mig_recv *rx);
/* Header and the config record. */
int hv_mig_recv_start(struct hv_mig_recv *rx, char *err, size_t errlen);
/* Every record up to and including the end record; pages land in mem. */
int hv_mig_recv_body(struct hv_mig_recv *rx, struct hv_mem *mem, char *err, size_t errlen);

/* ---- migration (migrate.c, migrate-in.c, migrate-net.c) ---- */
/* Connects to uri (5 s at most), sends time out after io_timeout_s; 0 or -errno, err says
 * why. */
int hv_migrate_connect(const char *uri, int io_timeout_s, int *fd, char *err, size_t errlen);
/* Reads one line the destination wrote: 0 when it is want; else -errno, and err says why
 * (its "error: ..." line, a timeout, the connection closing). */
int hv_migrate_read_line(int fd, const char *want, int timeout_ms, char *err, size_t errlen);
struct hv_migration;
void hv_migrate_register_control(struct hv_vm *vm);
/* A migration is under way (its thread pauses and captures the VM: a snapshot must wait). */
bool hv_migrate_active(struct hv_vm *vm);
void hv_migrate_fini(struct hv_vm *vm);

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
	char *memory_file; /* NULL: RAM in a memfd */
	struct hv_mem mem;
	struct hv_bus pio, mmio;
	struct hv_uart uart;
	struct hv_elf_image image;

	/* engines */
	enum hv_engine_mode engine_mode;
	bool have_kvm;  /* false: soft-only VM (no usable /dev/kvm) */
	struct hv_engine_tune tune;
	_Atomic unsigned irq_pending; /* a device raised a line: soft engines hand back to KVM */
	pthread_mutex_t dirty_lock;
	uint64_t *dirty_bits[HV_MEM_MAX_REGIONS]; /* KVM dirty log scratch, per slot */
	struct hv_soft_cpuid *soft_cpuid;         /* what the soft engine can run (soft.c) */

	/* KVM */
	int kvm_fd;
	int vm_fd;
	uint64_t tsc_khz;
	struct kvm_cpuid2 *cpuid;
	pthread_t pit_thread; /* turns the PIT's tick reinjection off (kvm.c) */
	bool pit_thread_started;

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

	/* snapshots */
	unsigned nr_snap_devs;
	struct hv_snap_device snap_devs[HV_SNAP_MAX_DEVICES];
	bool snap_capture;          /* under lock: parking vCPUs store their state in cpu */
	bool restored;              /* memory came from a snapshot: no boot setup at run */
	struct hv_vcpu_snap *restore_vcpus; /* nr_vcpus entries until the vCPUs took them */

	/* live migration (migrate.c) */
	struct hv_migration *mig;
	char *migrated_to; /* set when the VM left for another host */
	uint64_t id;       /* hv_vm_id */
	/* Pages that arrived poisoned by a migration: their contents are lost (zero here), and
	 * a further migration sends them as poisoned again. Written before any vCPU runs. */
	uint64_t *poison;
	unsigned nr_poison;
};

/* KVM engine (kvm.c). */
/* Outcome of one KVM_RUN for the vCPU loop. */
enum hv_kvm_event {
	HV_KVM_EV_IO,    /* port I/O handled (completes on the next KVM_RUN) */
	HV_KVM_EV_MMIO,  /* MMIO handled */
	HV_KVM_EV_INTR,  /* left KVM_RUN on a signal (kick or sample) */
	HV_KVM_EV_OTHER, /* hlt or other benign exit */
	HV_KVM_EV_DEAD,  /* crash reported; the loop must end */
};
enum hv_kvm_event hv_kvm_run_once(struct hv_vcpu *vcpu);
/* RIP and CPL as of the last exit (from KVM's synced registers), cheap. */
uint64_t hv_kvm_exit_rip(struct hv_vcpu *vcpu);
unsigned hv_kvm_exit_cpl(struct hv_vcpu *vcpu);
int hv_kvm_get_state(struct hv_vcpu *vcpu, struct hv_cpu_state *s);
int hv_kvm_set_state(struct hv_vcpu *vcpu, const struct hv_cpu_state *s);
/* Completes a handled I/O exit (KVM_RUN with immediate_exit) so RIP is past it. */
int hv_kvm_complete_io(struct hv_vcpu *vcpu);
/* The long-mode entry state of hv-guest-abi.h for this vCPU. */
void hv_cpu_entry_state(struct hv_vcpu *vcpu, struct hv_cpu_state *s);
/* Fetches and clears KVM's dirty log; calls fn for each run of dirty pages (gpa, len). */
int hv_kvm_dirty_log(struct hv_vm *vm, void (*fn)(void *opaque, uint64_t gpa, uint64_t len),
		     void *opaque);
/* Masks the KVM CPUID table down to what the soft engine runs too (auto/soft modes). */
void hv_kvm_cpuid_restrict(struct hv_vm *vm);
/* First thing on a vCPU thread with KVM: unblock the kick signal, set the entry state. */
void hv_kvm_thread_init(struct hv_vcpu *vcpu);

/* Soft engine (soft.c). Without Unicorn in the build, hv_soft_available is false and the rest
 * is never called. */
extern const bool hv_soft_available;
int hv_soft_vm_init(struct hv_vm *vm, char *err, size_t errlen);
void hv_soft_vm_fini(struct hv_vm *vm);
int hv_soft_create(struct hv_vcpu *vcpu, char *err, size_t errlen);
void hv_soft_destroy(struct hv_vcpu *vcpu);
int hv_soft_set_state(struct hv_vcpu *vcpu, const struct hv_cpu_state *s);
int hv_soft_get_state(struct hv_vcpu *vcpu, struct hv_cpu_state *s);
/* Runs until a reason to hand back (enum hv_soft_exit). leave_on_user: stop when CPL3. */
enum hv_soft_exit hv_soft_run(struct hv_vcpu *vcpu, bool leave_on_user);
/* Drops translations of guest-physical [gpa, gpa+len) that KVM may have changed. */
void hv_soft_invalidate(struct hv_vcpu *vcpu, uint64_t gpa, uint64_t len);
void hv_soft_kick(struct hv_vcpu *vcpu);
/* CPUID of the soft engine's CPU model for leaf/subleaf (for the intersection). */
bool hv_soft_cpuid(struct hv_vm *vm, uint32_t leaf, uint32_t sub, uint32_t out[4]);

/* Selector and vCPU loop (select.c, vcpu.c). */
void hv_engine_tune_defaults(struct hv_engine_tune *t);
/* Parses "KEY=VALUE"; returns 0 or -EINVAL with a reason in err. */
int hv_engine_tune_set(struct hv_engine_tune *t, const char *kv, char *err, size_t errlen);
const char *hv_engine_mode_name(enum hv_engine_mode m);
const char *hv_engine_name(enum hv_engine_kind k);
/* KVM side: after an exit, should this stretch move to soft? */
bool hv_select_kvm_exit(struct hv_vcpu *vcpu, enum hv_kvm_event ev, uint64_t now_ns);
void hv_select_hot_add(struct hv_vcpu *vcpu, uint64_t rip);
bool hv_select_hot_hit(struct hv_vcpu *vcpu, uint64_t rip);
void *hv_vcpu_thread(void *vcpu);
void hv_vcpu_kick(struct hv_vcpu *vcpu);
int hv_kvm_open(struct hv_vm *vm, char *err, size_t errlen);
int hv_kvm_vcpu_create(struct hv_vm *vm, struct hv_vcpu *vcpu, char *err, size_t errlen);
void hv_kvm_vcpu_destroy(struct hv_vcpu *vcpu);
void hv_kvm_close(struct hv_vm *vm);
void hv_kvm_set_irq(void *vm, unsigned gsi, int level);
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
