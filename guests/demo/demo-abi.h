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
 * System call: "int $0x80" with the number in rax, arguments in rdi, rsi, rdx, result in
 * rax (negative = error). Preserved: rbx, rbp, rsp, r12-r15, rflags and all SSE/x87 state.
 * Clobbered: rcx, r11, rdi, rsi, rdx, r8-r10, like the SYSCALL convention plus the C
 * caller-saved registers: the kernel does not spend emulated instructions saving registers a
 * C caller does not expect to survive a call.
 */
#define DEMO_INT_SYSCALL 0x80

#define SYS_WRITE    0 /* (const void *buf, size_t len) -> len */
#define SYS_EXIT     1 /* (int code) -> does not return */
#define SYS_BOOTINFO 2 /* (struct demo_bootinfo *dst) -> 0 */
#define SYS_IDLE     3 /* () -> does not return */

#define DEMO_EFAULT 14 /* a pointer outside the program's region */
#define DEMO_ENOSYS 38 /* no such system call */

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "hv-guest-abi.h"

struct demo_bootinfo {
	struct hv_boot_info hv; /* as the VMM wrote it; hv.cmdline_gpa means nothing to CPL3 */
	uint32_t cpus_online;	/* the BSP plus every AP that checked in before the program ran */
	uint32_t cmdline_len;	/* bytes in cmdline, without the NUL */
	char cmdline[HV_BOOT_CMDLINE_MAX]; /* NUL-terminated */
};
#endif

#endif
