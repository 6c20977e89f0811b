/* entry.S: the demo kernel's assembly edges: vCPU entry, exception stubs, the system-call
 * entry and the first drop to CPL3. Not an interrupt framework: only the syscall #UD returns. */
#include "kernel.h"

	.section .text, "ax", @progbits

/*
 * Every vCPU arrives here (hv-guest-abi.h): RDI = vCPU index, RSI = boot info, RSP = 0.
 * APs must not touch anything the BSP is building, so they only take their own stack slot,
 * check in and halt; they keep the VMM's boot GDT and page tables, which stay valid.
 */
	.globl _start
	.type _start, @function
_start:
	test	%rdi, %rdi
	jnz	1f
	lea	kstack_bsp_top(%rip), %rsp
	mov	%rsi, %rdi
	call	kmain
	ud2
1:
	/* An index past the stack array still counts; it just never gets a stack. */
	cmp	$DEMO_MAX_VCPUS, %rdi
	jae	2f
	mov	%rdi, %rax
	shl	$AP_STACK_SHIFT, %rax
	lea	kstack_ap(%rip), %rsp
	add	%rax, %rsp
	add	$(1 << AP_STACK_SHIFT), %rsp
2:
	lock incl	ap_online(%rip)
3:
	cli
	hlt
	jmp	3b
	.size _start, . - _start

/*
 * Exception stubs, 16 bytes apart so kernel.c can compute each one's address instead of
 * keeping a table. Vectors without a CPU error code push a 0 so the frame is uniform:
 * [vector, error, rip, cs, rflags, rsp, ss]. All run on IST1 (kernel.c), so even a fault
 * with a broken RSP reaches the handler.
 */
.macro EXC_STUB vec
	.balign 16
	.if \vec == 6
	jmp	ud_entry
	.else
	.if (\vec != 8) && (\vec != 10) && (\vec != 11) && (\vec != 12) && (\vec != 13) && \
	    (\vec != 14) && (\vec != 17) && (\vec != 21) && (\vec != 29) && (\vec != 30)
	pushq	$0
	.endif
	pushq	$\vec
	jmp	exc_common
	.endif
.endm

	.balign 16
	.globl exc_stubs
exc_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC_STUB \vec
	.endr

exc_common:
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	exc_handler
	ud2

/*
 * #UD. Some hosts without hardware virtualisation (PVM, on the development machine) turn an
 * INT n at CPL3 into #UD instead of taking the gate, so a #UD from the program whose RIP
 * points at "int $0x80" (cd 80) is that system call: step over it and carry on as the gate
 * would have. RCX is free to use because the system-call ABI clobbers it. Anything else is
 * fatal like every other exception.
 */
ud_entry:
	testb	$3, 8(%rsp)		/* CS of the faulting code */
	jz	1f
	mov	(%rsp), %rcx		/* its RIP */
	cmp	$__user_start, %rcx
	jb	1f
	cmp	$(__user_end - 2), %rcx
	ja	1f
	cmpw	$0x80cd, (%rcx)
	jne	1f
	addq	$2, (%rsp)
	jmp	int80_entry
1:
	pushq	$0
	pushq	$6
	jmp	exc_common

/*
 * INT 0x80, the system-call entry (demo-abi.h). The CPU has switched to TSS.RSP0 (IST1 when
 * the call came as #UD) and saved the user frame, and the gate cleared IF; it does not clear
 * DF, which copy() relies on. The 5-word frame left RSP 8 bytes off the alignment a C call
 * expects.
 *
 * Why not SYSCALL: on the development host a SYSCALL from CPL3 reaches LSTAR still at CPL3,
 * and even where it works it would save no measurable time for a program that makes a
 * handful of calls. INT + IRET behave the same on every host.
 */
	.globl int80_entry
	.type int80_entry, @function
int80_entry:
	cld
	sub	$8, %rsp
	mov	%rax, %rcx		/* number becomes the 4th C argument */
	call	syscall_dispatch
	add	$8, %rsp
	iretq
	.size int80_entry, . - int80_entry

/*
 * enter_user(entry, stack_top): the one drop to CPL3, through the same IRETQ every system
 * call returns with. The program starts with every other register zero so no kernel address
 * leaks to it, and with IF clear: this kernel owns no interrupt controller and takes no
 * interrupts.
 */
	.globl enter_user
	.type enter_user, @function
enter_user:
	pushq	$(USEL_DATA | 3)
	pushq	%rsi
	pushq	$0x2
	pushq	$(USEL_CODE | 3)
	pushq	%rdi
	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%ebp, %ebp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	iretq
	.size enter_user, . - enter_user

/*
 * Kernel stacks, first in the kernel's .bss (linker.ld). The BSP's serves boot and, as
 * TSS.RSP0, system calls that come through the gate; IST1 serves exceptions (and so system
 * calls that arrive as #UD), so a fault on a bad kernel stack still lands on a good one.
 * AP stacks are small because APs only ever halt.
 */
	.section .bss.kstack, "aw", @nobits
	.balign 4096
kstack_bsp:
	.skip	BSP_STACK_SIZE
	.globl kstack_bsp_top
kstack_bsp_top:
	.skip	IST_STACK_SIZE
	.globl kstack_ist_top
kstack_ist_top:
kstack_ap:
	.skip	DEMO_MAX_VCPUS << AP_STACK_SHIFT

	.section .note.GNU-stack, "", @progbits
