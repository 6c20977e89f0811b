/* entry.S: the demo kernel's assembly edges: vCPU entry, exception and interrupt stubs, the
 * system-call entry and the first drop to CPL3. Not a framework: exceptions other than the
 * syscall #UD never return. */
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
 * DF, which kcopy() relies on. The 5-word frame left RSP 8 bytes off the alignment a C call
 * expects. Arguments come in rdi, rsi, rdx, r10, r8 (Linux's order, since rcx is taken by
 * the number's old slot): r10 moves to rcx and the number to r9, the C ABI's 4th and 6th.
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
	mov	%rax, %r9		/* number becomes the 6th C argument */
	mov	%r10, %rcx		/* 4th argument */
	call	syscall_dispatch
	add	$8, %rsp
	iretq
	.size int80_entry, . - int80_entry

/*
 * Device and timer interrupts (intr.c). They are only ever enabled while the kernel waits
 * (sti; hlt) inside a system call, so they arrive at CPL0 on that call's stack, which the
 * gate keeps (no IST). The C handler may clobber what the C ABI lets it; the rest is saved
 * here. Frame: 5 CPU words + vector + 9 registers = 15 words, so one more word aligns the
 * call. The kernel never uses SSE, so there is no vector state to save.
 */
.macro IRQ_STUB name, vec
	.globl \name
	.type \name, @function
\name:
	pushq	$\vec
	jmp	irq_common
	.size \name, . - \name
.endm

	IRQ_STUB irq_stub_timer, VEC_TIMER
	IRQ_STUB irq_stub_gpu, VEC_GPU
	IRQ_STUB irq_stub_input, VEC_INPUT
	IRQ_STUB irq_stub_spurious, VEC_SPURIOUS

irq_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	mov	72(%rsp), %rdi		/* the vector */
	cld
	sub	$8, %rsp
	call	irq_dispatch
	add	$8, %rsp
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$8, %rsp		/* the vector */
	iretq

/*
 * enter_user(entry, stack_top): the one drop to CPL3, through the same IRETQ every system
 * call returns with. The program starts with every other register zero so no kernel address
 * leaks to it, and with IF clear: interrupts are taken only while the kernel waits
 * (intr.c), never while the program runs, so the program is never preempted.
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
