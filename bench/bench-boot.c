/* bench-boot.c: times `hyperdesk vmm` from process start to the guest's first serial line and
 * to guest power-off, over repeated runs, and prints the median. Not a test: it asserts nothing. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-stats.h"


/* One run: returns 0 and the two times, or -1. */
static int run_once(char **argv, double *first_line, double *exit_time)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	double t0 = bench_now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*first_line = -1;
	char buf[4096];
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		if (poll(&pf, 1, 60000) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (*first_line < 0 && memchr(buf, '\n', (size_t)n))
			*first_line = bench_now_ms() - t0;
	}
	int status;
	waitpid(pid, &status, 0);
	*exit_time = bench_now_ms() - t0;
	close(p[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || *first_line < 0) {
		fprintf(stderr, "bench-boot: run failed (status 0x%x)\n", status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 20;
	const char *hyperdesk = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--"))
			break;
		else if (!hyperdesk)
			hyperdesk = argv[i];
		else
			break;
	}
	if (!hyperdesk || runs < 1 || runs > 10000) {
		fprintf(stderr, "usage: bench-boot [--runs N] PATH-TO-hyperdesk [-- EXTRA VMM ARGS]\n");
		return 2;
	}
	/* argv for the VMM: hyperdesk vmm --guest-cmdline exit=0 [extra...] */
	int extra = (i < argc && !strcmp(argv[i], "--")) ? argc - i - 1 : 0;
	char **vargv = calloc((size_t)extra + 5, sizeof(char *));
	vargv[0] = (char *)hyperdesk;
	vargv[1] = "vmm";
	vargv[2] = "--guest-cmdline";
	vargv[3] = "exit=0";
	for (int k = 0; k < extra; k++)
		vargv[4 + k] = argv[i + 1 + k];

	printf("command: %s vmm --guest-cmdline exit=0", hyperdesk);
	for (int k = 0; k < extra; k++)
		printf(" %s", vargv[4 + k]);
	printf("\nruns: %d\n", runs);

	double *first = calloc((size_t)runs, sizeof(double));
	double *done = calloc((size_t)runs, sizeof(double));
	double warm1, warm2;
	run_once(vargv, &warm1, &warm2); /* page cache and KVM module warm-up, not counted */
	for (int r = 0; r < runs; r++)
		if (run_once(vargv, &first[r], &done[r]) < 0)
			return 1;
	bench_report("start -> first serial line", "ms", first, runs);
	bench_report("start -> power-off (exit=0)", "ms", done, runs);
	free(first);
	free(done);
	free(vargv);
	return 0;
}
