/* hv.h: the public interface of hypervisor-core: guest memory, the PIO/MMIO bus, the
 * virtio-mmio transport, the ELF loader and the VM lifecycle. Nothing here knows about
 * displays, VNC or RDP. */
#ifndef HV_H
#define HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hv-guest-abi.h"

/* ======================= guest memory =======================
 * Guest RAM lives in one memfd, mapped once into the VMM, laid out as hv-guest-abi.h says
 * (low RAM below HV_RAM_LOW_MAX, the rest from HV_RAM_HIGH_BASE). Every access from device
 * code goes through these bounds-checked helpers: an out-of-range guest address is an error
 * (-EFAULT / NULL), never a crash. Arithmetic is overflow-safe. */
#define HV_MEM_MAX_REGIONS 2

struct hv_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;      /* mapping of this region */
	uint64_t fd_offset; /* offset in the memfd */
};

struct hv_dirty; /* dirty.c: write tracking for live migration */

struct hv_mem {
	int fd;           /* the memfd, or the memory file */
	uint64_t size;    /* total bytes of RAM */
	uint8_t *base;    /* whole mapping (address space only: pages come on first touch) */
	bool file_backed; /* RAM lives in an image file (--memory-file) */
	unsigned nr_regions;
	struct hv_mem_region regions[HV_MEM_MAX_REGIONS];
	struct hv_dirty *dirty; /* set once a migration traced writes; see hv_mem_mark_dirty */
};

/* Residency is handled in blocks of this size (hv_mem_residency, hv_mem_release). */
#define HV_MEM_BLOCK (2ull << 20)

/* size: bytes, a multiple of 4 KiB, at least 1 MiB. Returns 0 or -errno. */
int hv_mem_init(struct hv_mem *m, uint64_t size);
/* RAM in the regular file at path (created mode 600 if missing, locked against a second VM,
 * emptied and sized, its blocks reserved where the filesystem can). -errno and a one-line
 * reason in err on failure. */
int hv_mem_init_file(struct hv_mem *m, uint64_t size, const char *path, char *err,
		     size_t errlen);
/* Bytes of RAM resident in the VMM's mapping and how many blocks hold any. 0 or -errno. */
int hv_mem_residency(const struct hv_mem *m, uint64_t *bytes, uint64_t *blocks);
/* File-backed RAM only: writes every block back to the file and drops it from memory; the
 * next access by a vCPU or device reads it back. *released: resident bytes freed.
 * -EOPNOTSUPP for memfd RAM. Safe while vCPUs run. */
int hv_mem_release(struct hv_mem *m, uint64_t *released);
void hv_mem_fini(struct hv_mem *m);
/* Whether the 4 KiB page at p (8-byte aligned) is all zero bytes. */
bool hv_mem_page_zero(const void *p);
/* Host pointer for [gpa, gpa+len) if it lies wholly inside one RAM region, else NULL. */
void *hv_mem_ptr(const struct hv_mem *m, uint64_t gpa, uint64_t len);
int hv_mem_read(const struct hv_mem *m, uint64_t gpa, void *dst, uint64_t len);
int hv_mem_write(const struct hv_mem *m, uint64_t gpa, const void *src, uint64_t len);
/* Device code that wrote guest RAM through a pointer (hv_mem_ptr, a popped chain's segments)
 * says so here, as an IOMMU's dirty bit would: while a migration traces writes, those pages
 * are sent again. hv_mem_write does it itself. Cheap when nothing traces (dirty.c). */
void hv_mem_mark_dirty(const struct hv_mem *m, uint64_t gpa, uint64_t len);

/* ======================= PIO / MMIO bus ======================= */
/* Called with offset relative to the registered base; data is len bytes (1, 2, 4 or 8),
 * little-endian. A read handler fills data; unhandled reads should return all-ones. */
typedef void (*hv_io_fn)(void *opaque, uint64_t offset, void *data, uint32_t len,
			 bool is_write);

struct hv_bus_range {
	uint64_t base;
	uint64_t len;
	hv_io_fn fn;
	void *opaque;
	const char *name;
};

#define HV_BUS_MAX_RANGES 64

struct hv_bus {
	const char *name;
	unsigned count;
	struct hv_bus_range ranges[HV_BUS_MAX_RANGES]; /* sorted by base, non-overlapping */
};

void hv_bus_init(struct hv_bus *bus, const char *name);
/* Returns 0, -EINVAL (empty or wrapping range), -EEXIST (overlap) or -ENOSPC. */
int hv_bus_register(struct hv_bus *bus, uint64_t base, uint64_t len, hv_io_fn fn, void *opaque,
		    const char *name);
/* Returns 0 if a device took the access, -ENOENT if nothing is mapped there (reads then see
 * all-ones), -EINVAL for a bad length or an access that straddles a range's end. */
int hv_bus_dispatch(struct hv_bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write);

/* ======================= virtio-mmio transport =======================
 * virtio 1.2 §4.2 (modern, version 2 only) and split virtqueues (§2.7).
 *
 * Threads: register accesses (hv_virtio_mmio_access) come from vCPU threads, possibly several
 * at once; the transport lock serialises them with hv_virtio_interrupt/needs_reset/
 * config_changed. A device processes each queue (hv_vq_pop/push/notify) serially — on a
 * thread of its own, or synchronously in ops->queue_notify under a device lock (the GPU does
 * this, so answers are ready when the guest's notify returns) — and only between
 * ops->driver_ok and ops->reset; ops->reset must stop that processing before it returns. ops callbacks are called without the lock held; irq is called with it
 * held (so raise and lower are never reordered) and must not call back into the transport. */
#include <pthread.h> /* here rather than above: this section owns the lock */

#define HV_VIRTIO_MAX_QUEUES   8
#define HV_VIRTQ_MAX_SIZE      1024 /* largest queue size a device may offer */
#define HV_VIRTQ_MAX_CHAIN     1024 /* longest descriptor chain accepted */
#define HV_VIRTIO_F_VERSION_1  (1ull << 32)
#define HV_VIRTIO_F_INDIRECT   (1ull << 28)
#define HV_VIRTIO_F_EVENT_IDX  (1ull << 29)
#define HV_VIRTIO_MMIO_VENDOR_ID 0x4b534448u /* "HDSK" little-endian */

/* Device status bits, virtio 1.2 §2.1. */
#define HV_VIRTIO_STATUS_ACKNOWLEDGE        0x01u
#define HV_VIRTIO_STATUS_DRIVER             0x02u
#define HV_VIRTIO_STATUS_DRIVER_OK          0x04u
#define HV_VIRTIO_STATUS_FEATURES_OK        0x08u
#define HV_VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40u
#define HV_VIRTIO_STATUS_FAILED             0x80u
/* InterruptStatus bits, virtio 1.2 §4.2.2. */
#define HV_VIRTIO_ISR_USED   0x1u
#define HV_VIRTIO_ISR_CONFIG 0x2u

/* Bytes of each part of a split ring of n entries, virtio 1.2 §2.7 (the event fields of the
 * avail and used rings are always counted). */
#define HV_VIRTQ_DESC_BYTES(n)  (16ull * (n))
#define HV_VIRTQ_AVAIL_BYTES(n) (6ull + 2ull * (n))
#define HV_VIRTQ_USED_BYTES(n)  (6ull + 8ull * (n))

struct hv_virtio_mmio;

/* One buffer segment of a popped chain, translated and bounds-checked: host points into
 * guest RAM (hv_mem_ptr of gpa/len). */
struct hv_vq_seg {
	uint64_t gpa;
	uint32_t len;
	void *host;
};

/* A popped descriptor chain: out segments (device reads) come first in the chain, then in
 * segments (device writes): segs[0, nr_out) then segs[nr_out, nr_out + nr_in). Zero-length
 * descriptors are validated but not recorded. Large (24 KiB): keep one per queue, not on a
 * small stack. */
struct hv_vq_elem {
	uint16_t head;
	unsigned nr_out;
	unsigned nr_in;
	uint64_t out_bytes;
	uint64_t in_bytes;
	struct hv_vq_seg segs[HV_VIRTQ_MAX_CHAIN];
};

struct hv_virtqueue {
	struct hv_virtio_mmio *dev;
	uint16_t index;
	uint16_t size;  /* negotiated queue size, a power of two */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail; /* next avail ring slot the device will consume */
	uint16_t used_idx;   /* next used ring slot the device will fill */
	bool broken;         /* the driver broke the ring: device needs reset */
	/* VIRTIO_F_EVENT_IDX: used_idx at the last hv_vq_notify, valid once one happened. */
	uint16_t signalled_used;
	bool signalled_used_valid;
};

/* Returns 1 and fills elem when a chain was popped, 0 when the ring is empty or the queue is
 * not ready, or -EINVAL / -EFAULT when the driver handed a malformed chain or ring (loop,
 * out-of-range address, too long, write-only before read-only, bad index, avail idx more
 * than size ahead, bad indirect table); the queue is then marked broken, the device's status
 * gets DEVICE_NEEDS_RESET and further pops return -EIO. */
int hv_vq_pop(struct hv_virtqueue *vq, struct hv_vq_elem *elem);
/* Puts elem back on the used ring with written bytes; returns 0 or -errno. */
int hv_vq_push(struct hv_virtqueue *vq, const struct hv_vq_elem *elem, uint32_t written);
/* Raises the used-buffer interrupt unless the driver suppressed it. */
void hv_vq_notify(struct hv_virtqueue *vq);
/* Copy helpers over an element's out (readable) and in (writable) segments. Return bytes
 * copied. */
size_t hv_vq_elem_read(const struct hv_vq_elem *elem, size_t offset, void *dst, size_t len);
size_t hv_vq_elem_write(const struct hv_vq_elem *elem, size_t offset, const void *src,
			size_t len);

struct hv_virtio_dev_ops {
	uint32_t device_id; /* virtio 1.2 §5 */
	uint64_t features;  /* device features; VERSION_1 is always added */
	uint16_t num_queues;
	uint16_t queue_max_size;
	uint32_t config_size;
	/* Device-specific config space (§4.2.2 offset 0x100 onwards); offset is relative to it
	 * and offset+len <= config_size is guaranteed. */
	void (*config_read)(void *opaque, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(void *opaque, uint32_t offset, const void *data, uint32_t len);
	void (*queue_notify)(void *opaque, struct hv_virtqueue *vq);
	void (*reset)(void *opaque);
	/* DRIVER_OK was set: the device may start using its queues. */
	void (*driver_ok)(void *opaque);
	/* Optional, for devices that write guest memory from threads of their own: paused true
	 * means the VM is being paused (for a snapshot, say) and nothing may be written into
	 * guest RAM until it is called again with false. */
	void (*pause)(void *opaque, bool paused);
};

/* The line of one device's interrupt: level = 1 raise, 0 lower. */
typedef void (*hv_irq_fn)(void *irq_opaque, unsigned gsi, int level);

struct hv_virtio_mmio {
	const struct hv_virtio_dev_ops *ops;
	void *opaque;
	struct hv_mem *mem;
	hv_irq_fn irq;
	void *irq_opaque;
	unsigned gsi;
	/* transport registers (virtio 1.2 §4.2.2) */
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct hv_virtqueue queues[HV_VIRTIO_MAX_QUEUES];
	uint64_t device_features; /* what is offered: ops->features filtered, plus VERSION_1 */
	pthread_mutex_t lock;     /* the registers above and the interrupt line */
	bool warned_setup, warned_broken; /* guest-triggered warnings are logged once */
};

/* Returns 0, or -EINVAL when ops are out of range (no queues or more than
 * HV_VIRTIO_MAX_QUEUES, queue_max_size not a power of two up to HV_VIRTQ_MAX_SIZE, config
 * space beyond the 4 KiB window). */
int hv_virtio_mmio_init(struct hv_virtio_mmio *t, const struct hv_virtio_dev_ops *ops,
			void *opaque, struct hv_mem *mem, hv_irq_fn irq, void *irq_opaque,
			unsigned gsi);
/* The MMIO handler to register on the bus for this device's HV_MMIO_SLOT window. */
void hv_virtio_mmio_access(void *t, uint64_t offset, void *data, uint32_t len, bool is_write);
/* The device changed its config space: bump generation, raise the config interrupt (once
 * DRIVER_OK is set). */
void hv_virtio_config_changed(struct hv_virtio_mmio *t);
/* The device cannot go on without a reset (virtio 1.2 §2.1.2): sets DEVICE_NEEDS_RESET and,
 * once DRIVER_OK is set, sends a config change interrupt. hv_vq_pop calls it on a bad chain. */
void hv_virtio_needs_reset(struct hv_virtio_mmio *t);
/* Sets InterruptStatus bits (HV_VIRTIO_ISR_*) and raises the line if it was low. */
void hv_virtio_interrupt(struct hv_virtio_mmio *t, uint32_t isr_bits);

/* ======================= virtio-input =======================
 * virtio 1.2 §5.8 input devices (virtio-input.c): a keyboard (EV_KEY with a PC keyboard's
 * keys, EV_LED, EV_REP) or a tablet (EV_ABS X/Y over 0..HV_INPUT_ABS_MAX, BTN_LEFT/RIGHT/
 * MIDDLE, REL_WHEEL). Events are evdev's (type, code, value); the caller ends each burst with
 * EV_SYN/SYN_REPORT. hv_input_send may be called from any thread: events wait in a ring of
 * HV_INPUT_RING (the oldest dropped and counted when it is full) until the guest has eventq
 * buffers; while no driver is live (before DRIVER_OK, after a reset) they are dropped. */
#define HV_INPUT_RING	 256
#define HV_INPUT_ABS_MAX 32767

enum hv_input_kind { HV_INPUT_KEYBOARD = 1, HV_INPUT_TABLET = 2 };

/* struct virtio_input_event; little-endian on the wire, host order here. */
struct hv_input_event {
	uint16_t type, code;
	int32_t value;
};

struct hv_input_stats {
	uint64_t queued, delivered, dropped;
	uint64_t bad_buffers;   /* eventq buffers too small for an event, returned empty */
	uint64_t status_events; /* statusq buffers consumed */
	uint32_t leds;          /* LED bits the driver last set (statusq EV_LED) */
	uint32_t pending;       /* events waiting for a buffer */
};

struct hv_input;
struct hv_vm;

/* Adds the device to vm (hv_vm_add_virtio). It outlives the VM: destroy it after
 * hv_vm_destroy. Returns 0 or -errno. */
int hv_input_create(struct hv_vm *vm, enum hv_input_kind kind, struct hv_input **out);
void hv_input_send(struct hv_input *d, const struct hv_input_event *ev, unsigned n);
void hv_input_get_stats(struct hv_input *d, struct hv_input_stats *out);
void hv_input_destroy(struct hv_input *d);
/* The pieces of hv_input_create, for tests that bring their own transport. */
int hv_input_new(enum hv_input_kind kind, struct hv_input **out);
const struct hv_virtio_dev_ops *hv_input_virtio_ops(void);
void hv_input_set_transport(struct hv_input *d, struct hv_virtio_mmio *t);

/* ======================= ELF loader ======================= */
struct hv_elf_image {
	uint64_t entry;
	uint64_t start; /* lowest loaded guest-physical address */
	uint64_t end;   /* one past the highest */
};

/* Loads a static ELF64 x86-64 executable (PT_LOAD segments at p_paddr) from buf into m.
 * Rejects truncated or corrupt headers, segments outside RAM or below HV_GUEST_LOAD_MIN,
 * overlapping segments and an entry outside the loaded code. err gets a one-line reason. */
int hv_elf_load(struct hv_mem *m, const void *buf, size_t len, struct hv_elf_image *img,
		char *err, size_t errlen);

/* ======================= the VM ======================= */
#define HV_MAX_VCPUS 64

/* Exit statuses of a VM run that did not end by guest power-off (which gives 0-255). */
#define HV_EXIT_OK          0
#define HV_EXIT_FAILURE     1 /* could not start: bad arguments, files, no KVM, ... */
#define HV_EXIT_GUEST_CRASH 3 /* triple fault, KVM internal error, failed VM entry */

struct hv_vm_config {
	uint64_t mem_size;       /* bytes */
	unsigned vcpus;          /* 1..HV_MAX_VCPUS */
	const char *kvm_device;  /* default "/dev/kvm" */
	const char *engine;      /* "auto" (default, NULL too), "kvm" or "soft" */
	/* Selector tunables, "KEY=VALUE" each (docs/PERFORMANCE.md); NULL-terminated, may be
	 * NULL. HYPERDESK_ENGINE_TUNE (comma-separated) is read first. */
	const char *const *engine_tune;
	const char *cmdline;     /* guest command line, may be NULL */
	const void *image;       /* guest ELF image */
	size_t image_len;
	const char *guest_name;  /* for status: "demo" or the file name */
	int serial_out_fd;       /* UART output; -1 discards it */
	int serial_in_fd;        /* UART input; -1 for none */
	const char *control_path; /* control socket path, NULL for none */
	const char *memory_file; /* guest RAM in this image file; NULL: an anonymous memfd */
	unsigned display_heads;   /* GPU heads, carried by a migration (0: 1) */
	uint64_t vm_id;           /* identity kept across migrations; 0: a new random one */
};

struct hv_vm;

/* Builds the VM: memory, KVM, devices, vCPUs, guest image, control socket. On failure returns
 * -errno with a one-line reason in err, and nothing is left behind. */
int hv_vm_create(const struct hv_vm_config *cfg, struct hv_vm **out, char *err, size_t errlen);
/* Adds a virtio-mmio device in the next free slot (window HV_MMIO_BASE + n * HV_MMIO_SLOT,
 * GSI HV_MMIO_IRQ_BASE + n) and lists it in the guest's boot info. Call between create and
 * run. The transport is owned by the VM; *out lets the device raise interrupts. */
int hv_vm_add_virtio(struct hv_vm *vm, const struct hv_virtio_dev_ops *ops, void *opaque,
		     struct hv_virtio_mmio **out);
/* Guest RAM of the VM, for devices. */
struct hv_mem *hv_vm_mem(struct hv_vm *vm);
/* Runs the VM until the guest powers off, a `quit` arrives, SIGINT/SIGTERM, or a guest crash.
 * Returns the exit status (see HV_EXIT_*; guest power-off gives its own code). */
int hv_vm_run(struct hv_vm *vm);
/* Checks an --engine-tune KEY=VALUE; returns 0 or -EINVAL with a reason in err. */
int hv_engine_tune_check(const char *kv, char *err, size_t errlen);
/* Whether this build has the software engine. */
bool hv_soft_engine_built(void);
/* Asks the VM to stop with the given exit status; safe from any thread. The first request
 * wins. reason (may be NULL) is logged once: as an error when failure is true (a crash or a
 * VMM fault), else as information (guest power-off, quit, signal). */
void hv_vm_request_stop(struct hv_vm *vm, int status, bool failure, const char *reason);
void hv_vm_destroy(struct hv_vm *vm);

/* ======================= control socket =======================
 * Newline-delimited JSON requests {"cmd": NAME, "args": [...]} and one reply line each,
 * {"ok": true, "result": ...} or {"ok": false, "error": "..."} (docs/PROTOCOL.md). Devices
 * add their own commands with hv_control_register. */
struct hd_json;
struct hd_buf;

/* Appends a JSON value to result and returns 0, or returns -1 with a message in error. */
typedef int (*hv_control_fn)(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			     struct hd_buf *result, struct hd_buf *error);

int hv_control_register(struct hv_vm *vm, const char *name, const char *usage,
			hv_control_fn fn, void *opaque);

/* ======================= snapshots =======================
 * A snapshot file (snapshot.c; layout in docs/ARCHITECTURE.md) holds a header, typed sections
 * each with its own length, layout version and CRC32C, and a trailer that checks the whole.
 * The VM core saves its configuration, memory, vCPUs, KVM's interrupt chips and clocks, the
 * UART and the virtio-mmio transports; every other device registers a save/load pair beside
 * its own code (hv_snapshot_register). Loading reads from a struct hv_snap_in: getters are
 * bounds-checked, return zeros past the end and mark the input bad. */
#define HV_SNAP_NAME_MAX 16

struct hv_snap_in {
	const uint8_t *p;
	size_t len, off;
	uint32_t version; /* the section's layout version, as saved */
	bool bad;         /* a getter ran past the end */
};

struct hd_buf;
bool hv_snap_get(struct hv_snap_in *in, void *dst, size_t n);
const void *hv_snap_get_ptr(struct hv_snap_in *in, size_t n);
uint8_t hv_snap_get_u8(struct hv_snap_in *in);
uint32_t hv_snap_get_u32(struct hv_snap_in *in);
uint64_t hv_snap_get_u64(struct hv_snap_in *in);
/* True when every byte was consumed and nothing ran past the end. */
bool hv_snap_in_done(const struct hv_snap_in *in);
void hv_snap_put(struct hd_buf *b, const void *p, size_t n);
void hv_snap_put_u8(struct hd_buf *b, uint8_t v);
void hv_snap_put_u32(struct hd_buf *b, uint32_t v);
void hv_snap_put_u64(struct hd_buf *b, uint64_t v);

/* save runs with every vCPU parked and appends the device's state to out; load runs after
 * the devices were created and before any vCPU runs, and returns 0 or -errno with a one-line
 * reason in err. name is a section name (< HV_SNAP_NAME_MAX bytes), unique in the VM. */
typedef void (*hv_snap_save_fn)(void *opaque, struct hd_buf *out);
typedef int (*hv_snap_load_fn)(void *opaque, struct hv_snap_in *in, char *err, size_t errlen);
int hv_snapshot_register(struct hv_vm *vm, const char *name, uint32_t version,
			 hv_snap_save_fn save, hv_snap_load_fn load, void *opaque);

struct hv_snapshot; /* a snapshot file, mapped and wholly checked */
/* Opens and checks path (magic, version, host, every checksum, sizes); on failure err says
 * why in one line and nothing was created. */
int hv_snapshot_open(const char *path, struct hv_snapshot **out, char *err, size_t errlen);
void hv_snapshot_close(struct hv_snapshot *s);
/* Fills mem_size, vcpus, cmdline, guest_name and the guest image of cfg from the snapshot
 * (pointers into it: keep it open while cfg is used). */
int hv_snapshot_vm_config(struct hv_snapshot *s, struct hv_vm_config *cfg, char *err,
			  size_t errlen);
/* A device section by name, for a device that must read its configuration before it is
 * created (the GPU's head count). */
bool hv_snapshot_section(struct hv_snapshot *s, const char *name, struct hv_snap_in *in);
/* Loads memory, vCPUs, KVM state and every device from s into a VM made with
 * hv_snapshot_vm_config, after its devices were added and before hv_vm_run. On failure the
 * VM must be destroyed unrun. */
int hv_vm_restore(struct hv_vm *vm, struct hv_snapshot *s, char *err, size_t errlen);
/* Pauses the VM (if running), writes a snapshot atomically (temp file + rename), resumes. */
int hv_vm_snapshot(struct hv_vm *vm, const char *path, uint64_t *bytes, char *err,
		   size_t errlen);

/* ======================= live migration =======================
 * The source's `migrate tcp:HOST:PORT` control command (migrate.c) streams the running VM
 * to a VMM waiting with hv_migrate_listen + hv_incoming_accept + hv_incoming_finish
 * (migrate-in.c). The stream (docs/PROTOCOL.md) is neither authenticated nor encrypted:
 * listening is refused off loopback unless insecure is true. */
/* Splits "tcp:HOST:PORT" / "tcp:[V6]:PORT"; 0 or -EINVAL. */
int hv_migrate_parse_uri(const char *uri, char *host, size_t hostlen, char *port,
			 size_t portlen);
/* Listens on uri (port 0: any); bound gets the address really used. */
int hv_migrate_listen(const char *uri, bool insecure, int *fd, char *bound, size_t boundlen,
		      char *err, size_t errlen);
struct hv_incoming;
/* Waits for the source, reads the stream's header and the machine's configuration into cfg
 * (pointers into *out: keep it until the VM is destroyed). */
int hv_incoming_accept(int listen_fd, struct hv_incoming **out, struct hv_vm_config *cfg,
		       char *err, size_t errlen);
/* Receives RAM and device state into vm (created from cfg, devices added, not run). On
 * failure the source is told why and the VM must be destroyed unrun. */
int hv_incoming_finish(struct hv_incoming *in, struct hv_vm *vm, char *err, size_t errlen);
unsigned hv_incoming_poisoned(const struct hv_incoming *in);
/* Tells the source "running" (error NULL) or why not. */
int hv_incoming_ack(struct hv_incoming *in, const char *error);
void hv_incoming_close(struct hv_incoming *in);
/* The VM's identity: random at creation, the same after a migration (the display broker
 * moves its sessions by it). */
uint64_t hv_vm_id(const struct hv_vm *vm);
/* Where the VM went, after hv_vm_run returned because it migrated; else NULL. */
const char *hv_vm_migrated_to(const struct hv_vm *vm);
/* Test switch: makes the guest page at gpa fail to read like a page with an uncorrectable
 * memory error (SIGBUS). 0 or -errno. */
int hv_vm_poison_page(struct hv_vm *vm, uint64_t gpa);

#endif
