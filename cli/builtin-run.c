/* builtin-run.c: `hyperdesk run`, the default job: boots the built-in guest with sane defaults.
 * Not yet the broker: display serving arrives with the broker and joins here. */
#include <stdio.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk run [OPTIONS]\n\n"
		"Boots the built-in demo guest (or --guest) and shows its serial console until\n"
		"Ctrl-C. Exit statuses are those of 'hyperdesk vmm'.\n\n"
		"%s",
		vm_options_usage);
}

int cmd_run(int argc, char **argv)
{
	struct vm_options o;

	vm_options_defaults(&o);
	o.verbose = 1; /* an interactive default: say what is happening */
	int r = vm_options_getopt(&o, "run", argc, argv, usage);
	if (r >= 0)
		return r;
	if (o.verbose > 0)
		fprintf(stderr, "hyperdesk: booting the %s guest; press Ctrl-C to stop%s%s\n",
			o.guest, o.control ? ", control socket at " : "",
			o.control ? o.control : "");
	return vm_options_run(&o, "run");
}
