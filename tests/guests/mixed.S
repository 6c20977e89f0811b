/* mixed.S: engine workload: rounds of CPL3 compute, bursts of system calls and a kernel
 * port-I/O burst (system call 2), the mix the automatic selector exists for. */
#include "cpl3.inc"
#define ROUNDS  4
#define ITERS   4000000
#define CALLS   1000
#define PIO     2000

kernel_main:
	ret
/* 1: rax = f(rdi); 2: PIO out/in pairs on the UART scratch register, rax = their fold */
sys_handler:
	cmp	$2, %eax
	je	2f
	mov	%rdi, %rax
	mov	$16, %ecx
1:	lea	1(%rax,%rax,4), %rax
	dec	%ecx
	jnz	1b
	ret
2:	mov	$PIO, %ecx
	mov	%rdi, %r8
3:	mov	%ecx, %eax
	mov	$0x3ff, %dx
	out	%al, %dx
	in	%dx, %al
	movzbl	%al, %eax
	rol	$3, %r8
	add	%rax, %r8
	dec	%ecx
	jnz	3b
	mov	%r8, %rax
	ret
user_main:
	mov	$ROUNDS, %r14d
	mov	$0x12345678, %rax
	movabs	$6364136223846793005, %rbx
	movabs	$1442695040888963407, %rsi
	lea	buf(%rip), %rdi
round:
	mov	$ITERS, %r13d
1:	imul	%rbx, %rax
	add	%rsi, %rax
	mov	%rax, %rdx
	shr	$54, %rdx
	add	%rax, (%rdi,%rdx,8)
	xor	(%rdi,%rdx,8), %r12
	dec	%r13d
	jnz	1b
	push	%rax
	push	%rdi
	push	%rsi
	mov	$CALLS, %r13d
2:	mov	$1, %eax
	mov	%r13, %rdi
	xor	%r12, %rdi
	int	$0x80
	rol	$7, %r12
	add	%rax, %r12
	dec	%r13d
	jnz	2b
	mov	$2, %eax
	mov	%r12, %rdi
	int	$0x80
	xor	%rax, %r12
	pop	%rsi
	pop	%rdi
	pop	%rax
	dec	%r14d
	jnz	round
	jmp	finish
name_str:
	.asciz	"mixed checksum "
	.bss
	.balign	64
buf:	.skip	8192
	.text
