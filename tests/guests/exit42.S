/* exit42.S: the smallest useful guest: prints "tiny guest ok" on the UART and powers off
 * with status 42. Tests the VMM without the demo guest; not a demo of anything. */
	.code64
	.globl _start
_start:
	lea	msg(%rip), %rsi
	mov	$msg_len, %ecx
	mov	$0x3f8, %dx
	rep outsb
	mov	$42, %al
	mov	$0x501, %dx
	outb	%al, %dx
1:	hlt
	jmp	1b
msg:	.ascii	"tiny guest ok\n"
	.set	msg_len, . - msg
