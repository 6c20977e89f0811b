/* ustart.S: where the demo program starts at CPL3, and its stack. Not a C runtime: there is
 * no argc/argv, no constructors, and main never returns. */

#define USER_STACK_SIZE 65536

	.section .text, "ax", @progbits
	.globl user_entry
	.type user_entry, @function
user_entry:
	/* The kernel drops here with RSP 16-byte aligned; the call leaves umain the usual
	 * RSP+8 alignment the ABI promises, which SSE spills depend on. */
	xor	%ebp, %ebp
	call	umain
	ud2
	.size user_entry, . - user_entry

/* First in the program's .bss (linker.ld): with no .data before it (the program has none
 * today) it sits directly above the read-only text, so an overflow faults (exit 125). */
	.section .bss.ustack, "aw", @nobits
	.balign 16
	.skip	USER_STACK_SIZE
	.globl user_stack_top
user_stack_top:

	.section .note.GNU-stack, "", @progbits
