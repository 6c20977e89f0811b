/* triple-fault.S: a guest that faults with no IDT loaded, so the CPU triple-faults; the VMM
 * must report a guest crash and exit with status 3, never hang. Not a fault handler test. */
	.code64
	.globl _start
_start:
	lidt	null_idt(%rip)
	ud2
null_idt:
	.word	0
	.quad	0
