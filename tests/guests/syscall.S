/* syscall.S: engine workload: kernel entry/exit heavy, `int $0x80` round trips from CPL3,
 * each doing a little arithmetic in the kernel. */
#include "cpl3.inc"
#define CALLS 6000

kernel_main:
	ret
/* rax = f(rdi): 16 rounds of x = x * 5 + 1 */
sys_handler:
	mov	%rdi, %rax
	mov	$16, %ecx
1:	lea	1(%rax,%rax,4), %rax
	dec	%ecx
	jnz	1b
	ret
user_main:
	mov	$CALLS, %r13d
1:	mov	$1, %eax
	mov	%r13, %rdi
	xor	%r12, %rdi
	int	$0x80
	rol	$7, %r12
	add	%rax, %r12
	dec	%r13d
	jnz	1b
	jmp	finish
name_str:
	.asciz	"syscall checksum "
