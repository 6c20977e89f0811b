/* main.c: the hyperdesk binary's entry point: dispatches to a subcommand (run, vmm, ctl, broker, shot),
 * prints --help and --version. Not where any subcommand's own options live. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"run", cmd_run, "start a broker and the built-in guest VM, served over VNC (the default job)"},
	{"vmm", cmd_vmm, "run one VM: a guest, its devices and its control socket"},
	{"ctl", cmd_ctl, "send one command to a VM's control socket and print the reply"},
	{"broker", cmd_broker, "serve VMs' displays to VNC clients, each session at its own shape"},
	{"shot", cmd_shot, "capture a VNC or RDP session at a chosen shape to a PNG"},
	{"migrate", cmd_migrate, "move a running VM to a 'vmm --incoming' over TCP, live"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hyperdesk COMMAND [OPTIONS]\n"
		   "       hyperdesk COMMAND --help\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  -h, --help     show this help\n"
		   "  -V, --version  show the version\n"
		   "\nSee hyperdesk(1) for details.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	/* A console reader that goes away (hyperdesk vmm | head) must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("hyperdesk %s\n", HD_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hyperdesk: unknown command '%s'; try 'hyperdesk --help'\n", cmd);
	return CLI_EXIT_USAGE;
}
