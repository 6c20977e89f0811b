/* pio.S: engine workload: dense port I/O on the UART scratch register, first from CPL0, then
 * from CPL3 (IOPL=3); every value read back is folded into the checksum. */
#include "cpl3.inc"
#define ROUNDS 8000

/* r12 = rol(r12, 3) + in(scr) after out(scr, i), ROUNDS times */
pio_loop:
	mov	$ROUNDS, %ecx
1:	mov	%ecx, %eax
	mov	$0x3ff, %dx
	out	%al, %dx
	in	%dx, %al
	movzbl	%al, %eax
	rol	$3, %r12
	add	%rax, %r12
	dec	%ecx
	jnz	1b
	ret
kernel_main:
	jmp	pio_loop
sys_handler:
	xor	%eax, %eax
	ret
user_main:
	call	pio_loop
	jmp	finish
name_str:
	.asciz	"pio checksum "
