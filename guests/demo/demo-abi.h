/* demo-abi.h: the system-call interface between the demo guest's kernel and its CPL3 program.
 * Not a stable ABI and not Linux's: both sides are built together, from this one tree. */
#ifndef DEMO_ABI_H
#define DEMO_ABI_H

#define DEMO_VERSION "0.1"

/*
 * Exit status of the VMM when the guest kernel takes a CPU exception (any vector 0-31, from
 * the kernel or the program) or finds the boot info unusable. 125 sits outside the 0..2 the
 * program uses for its own outcomes and below the 126/127/128+n that shells reserve, so a
 * test can tell "the guest crashed" from "the guest chose to exit N".
 */
#define DEMO_EXIT_FAULT 125

/*
 * System call: "int $0x80" with the number in rax, arguments in rdi, rsi, rdx, r10, r8,
 * result in rax (negative = error). Preserved: rbx, rbp, rsp, r12-r15, rflags and all SSE/x87 state.
 * Clobbered: rcx, r11, rdi, rsi, rdx, r8-r10, like the SYSCALL convention plus the C
 * caller-saved registers: the kernel does not spend emulated instructions saving registers a
 * C caller does not expect to survive a call.
 */
#define DEMO_INT_SYSCALL 0x80

#define SYS_WRITE    0 /* (const void *buf, size_t len) -> len */
#define SYS_EXIT     1 /* (int code) -> does not return */
#define SYS_BOOTINFO 2 /* (struct demo_bootinfo *dst) -> 0 */
#define SYS_IDLE     3 /* () -> does not return */
#define SYS_TIME_NS  4 /* (clock) -> ns: DEMO_CLOCK_WALL (UTC) or DEMO_CLOCK_MONO (since boot) */
#define SYS_SLEEP    5 /* (ms) -> 0, on the timer interrupt */
/* Graphics (gfx-sys.c). Every call but SYS_MEM_STATS needs SYS_GPU_OPEN to have succeeded. */
#define SYS_GPU_OPEN		6  /* (flags) -> heads, or -ENODEV without a GPU */
#define SYS_DISPLAY_INFO	7  /* (struct demo_display_info *) -> 0 */
#define SYS_DISPLAY_WAIT	8  /* (timeout_ms, struct demo_display_info *) -> 1 changed, 0 timeout */
#define SYS_SURFACE_CREATE	9  /* (width, height, struct demo_surface_info *) -> handle */
#define SYS_SURFACE_FLUSH	10 /* (handle, x, y, w, h) -> 0 */
#define SYS_SURFACE_SET_SCANOUT 11 /* (handle or 0 to switch off, head) -> 0 */
#define SYS_SURFACE_DESTROY	12 /* (handle) -> 0 */
#define SYS_MEM_STATS		13 /* (struct demo_mem_stats *) -> 0 */
#define SYS_CURSOR_SET		14 /* (const uint32_t pixels[64*64] or NULL, hot_x | hot_y << 16, head) */
#define SYS_CURSOR_MOVE		15 /* (head, x, y) -> 0 */
/* Input (input.c): the virtio-input keyboard and tablet. */
#define SYS_INPUT_OPEN 16 /* () -> DEMO_INPUT_KEYBOARD | DEMO_INPUT_TABLET found, or -ENODEV */
#define SYS_INPUT_READ 17 /* (struct demo_input_event *, max, timeout_ms) -> events read */
/* memfill= (memfill-sys.c): free RAM lent to the program before the GPU's pool takes it. */
#define SYS_MEMFILL_MAP 18 /* (offset, max) -> bytes mapped at DEMO_MEMFILL_BASE, 0 = none */
/* Engine workloads (workload=compute|pio|syscall|mixed, workloads.c). Numbered apart from the
 * others; both never fail and return all 64 bits as the value, even where it looks negative. */
#define SYS_WORK_ARITH 32 /* (x) -> x after 16 rounds of x = x * 5 + 1 */
#define SYS_WORK_PIO   33 /* (count, acc) -> acc after count OUT+IN pairs on DEMO_WORK_PORT */

/* The one port the program may use itself (the TSS I/O bitmap allows it, IOPL stays 0): the
 * UART's scratch register, which reads back what was written and changes nothing else. */
#define DEMO_WORK_PORT 0x3ff

#define DEMO_EIO       5   /* the device failed or stopped answering */
#define DEMO_EBADF     9   /* no such surface handle */
#define DEMO_ENOMEM    12  /* out of guest memory (or device memory) */
#define DEMO_EFAULT    14  /* a pointer outside the program's region */
#define DEMO_EBUSY     16  /* the fill window is closed: SYS_GPU_OPEN was called */
#define DEMO_ENODEV    19  /* no GPU (or SYS_GPU_OPEN not called) */
#define DEMO_EINVAL    22  /* an argument out of range */
#define DEMO_ENOSPC    28  /* every surface slot is in use */
#define DEMO_ENOSYS    38  /* no such system call */
#define DEMO_ENOTSUP   95  /* the device lacks the feature (cursor queue) */
#define DEMO_ETIMEDOUT 110 /* the device did not answer in time */

#define DEMO_CLOCK_WALL 0
#define DEMO_CLOCK_MONO 1
#define DEMO_SLEEP_MAX_MS 86400000ull /* a day */
#define DEMO_WAIT_FOREVER (~0ull)      /* SYS_DISPLAY_WAIT timeout: no timeout */

#define DEMO_GPU_NO_BLOB 1u /* SYS_GPU_OPEN flag: use 2D resources even if blobs are offered */

/*
 * SYS_MEMFILL_MAP maps free RAM (what the graphics pool would manage: all RAM above the image,
 * in whole 2 MiB pages) from byte offset of it, at most max bytes rounded up to 2 MiB and at
 * most one window, and unmaps what was there; it returns the bytes mapped, 0 (nothing mapped)
 * at or past the end or for max 0, -EINVAL for an offset not 2 MiB-aligned, -EBUSY once
 * SYS_GPU_OPEN has been called: from then on the pool may hand the RAM to the device.
 */
#define DEMO_MEMFILL_BASE   0x4100000000ull /* 260 GiB, just above the surfaces' 4 GiB */
#define DEMO_MEMFILL_WINDOW (1ull << 30)

#define DEMO_MAX_HEADS	  16
#define DEMO_MAX_SURFACES 16
#define DEMO_SURFACE_MAX_DIM 16384

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "hv-guest-abi.h"

struct demo_bootinfo {
	struct hv_boot_info hv; /* as the VMM wrote it; hv.cmdline_gpa means nothing to CPL3 */
	uint32_t cpus_online;	/* the BSP plus every AP that checked in before the program ran */
	uint32_t cmdline_len;	/* bytes in cmdline, without the NUL */
	char cmdline[HV_BOOT_CMDLINE_MAX]; /* NUL-terminated */
};

struct demo_head {
	uint32_t enabled;
	uint32_t x, y, width, height; /* the mode the host wants for this head */
	uint32_t mm_width, mm_height; /* physical size from EDID, 0 if unknown */
	uint32_t bpc;		      /* bits per colour the viewer shows (EDID), 0 if unknown */
	uint32_t surface;	      /* handle on this head, 0 if none */
};

#define DEMO_GPU_BLOB 1u /* flags: blob resources (the device reads guest memory directly) */
#define DEMO_GPU_EDID 2u /* flags: EDID negotiated */

struct demo_display_info {
	uint32_t num_heads;  /* scanouts the device has */
	uint32_t generation; /* display-change events handled so far */
	uint32_t flags;	     /* DEMO_GPU_* */
	uint32_t irq_count;  /* GPU interrupts taken */
	struct demo_head heads[DEMO_MAX_HEADS];
};

/* Pixels are 32-bit 0x00RRGGBB (virtio-gpu B8G8R8X8), rows stride bytes apart, at addr in the
 * program's address space. Their initial contents are undefined (memory is reused unzeroed:
 * zeroing megabytes at CPL0 costs seconds on the slow host, the program draws them anyway). */
struct demo_surface_info {
	uint32_t handle;
	uint32_t width, height, stride;
	uint64_t addr;
	uint64_t size; /* mapped bytes, stride * height rounded up to 2 MiB */
	uint32_t pieces; /* guest-memory pieces behind it (1 unless RAM is fragmented) */
	uint32_t resource_id;
};

#define DEMO_INPUT_KEYBOARD 1u
#define DEMO_INPUT_TABLET   2u
#define DEMO_INPUT_ABS_MAX  32767 /* tablet positions are scaled to 0..this on both axes */

/* An evdev event as the device sent it (EV_KEY, EV_ABS, EV_REL, EV_SYN...). */
struct demo_input_event {
	uint16_t type, code;
	int32_t value;
};

struct demo_mem_stats {
	uint64_t total, used, free, largest_free; /* bytes of the graphics memory pool */
	uint32_t objects, free_extents;
	uint64_t allocs, frees, failures;
};
#endif

#endif
