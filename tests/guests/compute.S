/* compute.S: engine workload: a CPL3 ALU and memory loop (an LCG scattering adds over 8 KiB),
 * checksum printed and power-off with 0. Identical output under every engine. */
#include "cpl3.inc"
#define ITERS 20000000

kernel_main:
	ret
sys_handler:
	xor	%eax, %eax
	ret
user_main:
	mov	$0x12345678, %rax
	movabs	$6364136223846793005, %rbx
	movabs	$1442695040888963407, %rsi
	lea	buf(%rip), %rdi
	mov	$ITERS, %r13d
1:	imul	%rbx, %rax
	add	%rsi, %rax
	mov	%rax, %rdx
	shr	$54, %rdx
	add	%rax, (%rdi,%rdx,8)
	xor	(%rdi,%rdx,8), %r12
	dec	%r13d
	jnz	1b
	jmp	finish
name_str:
	.asciz	"compute checksum "
	.bss
	.balign	64
buf:	.skip	8192
	.text
