/* spin.S: a guest that prints "spinning" and then loops forever without exiting, so tests
 * can stop a busy VM by signal or control socket. Not a workload. */
	.code64
	.globl _start
_start:
	lea	msg(%rip), %rsi
	mov	$msg_len, %ecx
	mov	$0x3f8, %dx
	rep outsb
1:	pause
	jmp	1b
msg:	.ascii	"spinning\n"
	.set	msg_len, . - msg
