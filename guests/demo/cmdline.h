/* cmdline.h: the demo program's command-line options, as parsed from the VMM's
 * --guest-cmdline. Not the kernel's: the kernel only copies the string through. */
#ifndef DEMO_CMDLINE_H
#define DEMO_CMDLINE_H

struct demo_opts {
	int exit_set;	    /* exit=N seen: exit with N instead of idling */
	unsigned exit_code; /* 0..255 */
	int fault;	    /* test hook (exit 125): 1 = page fault, 2 = invalid opcode */
};

/* Space-separated key=value words; a later word overrides an earlier one. Unknown keys only
 * warn. Returns 0, or -1 after printing "error: ..." for a value a known key rejects. */
int cmdline_parse(const char *cmdline, struct demo_opts *opts);

#endif
