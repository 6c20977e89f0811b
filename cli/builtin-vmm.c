/* builtin-vmm.c: `hyperdesk vmm`: runs one VM in the foreground until its guest powers off,
 * it is told to quit, or it gets SIGINT/SIGTERM. Not the broker (that arrives with `run`). */
#include <stdio.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hyperdesk vmm [OPTIONS]\n\n"
		"Boots one VM and prints its serial console. Exits with the status the guest\n"
		"powers off with (0-255), 0 after 'quit' or SIGINT/SIGTERM, 1 if the VM cannot\n"
		"start, 2 on a usage error, 3 if the guest crashes (triple fault, KVM error).\n\n"
		"%s",
		vm_options_usage);
}

int cmd_vmm(int argc, char **argv)
{
	struct vm_options o;

	vm_options_defaults(&o);
	int r = vm_options_getopt(&o, "vmm", argc, argv, usage);
	if (r >= 0)
		return r;
	return vm_options_run(&o, "vmm");
}
