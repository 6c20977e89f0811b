/* vm-options.c: the options that describe one VM (guest, memory, vCPUs, serial, control
 * socket, engine), their validation, and building and running the VM from them. Not the
 * argument loop of any subcommand. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hd-common.h"
#include "vgpu.h"

#define DEFAULT_MEMORY_MIB 256
#define MIN_MEMORY_MIB     2
#define MAX_MEMORY_MIB     (1024ul * 1024) /* 1 TiB */
#define MAX_GUEST_FILE     (256ul << 20)
#define MAX_GPU_MEMORY_MIB (1024ul * 1024)

const char vm_options_usage[] =
	"VM options:\n"
	"  -g, --guest demo|PATH     guest to boot: the built-in demo guest (default) or an\n"
	"                            ELF64 x86-64 file built to the same boot interface\n"
	"  -m, --memory MiB          guest RAM in MiB (default 256, at least 2)\n"
	"      --memory-file PATH    keep guest RAM in this image file (created, or emptied\n"
	"                            and reused; locked while the VM runs) instead of\n"
	"                            anonymous memory; the host pages it to the file and\n"
	"                            'memory-release' on the control socket drops it\n"
	"  -c, --cpus N              vCPUs (default 1, at most 64)\n"
	"  -s, --serial stdio|none|FILE\n"
	"                            where the guest's serial console goes (default stdio;\n"
	"                            with stdio and a terminal, typed input reaches the guest)\n"
	"  -C, --guest-cmdline STR   command line passed to the guest (demo guest: exit=N\n"
	"                            powers off with status N)\n"
	"      --control PATH        listen for JSON commands on this unix socket\n"
	"                            (see 'hyperdesk ctl' and docs/PROTOCOL.md)\n"
	"  -e, --engine auto|kvm|soft\n"
	"                            execution engine: auto (default) picks KVM or the\n"
	"                            software engine as the guest runs; without KVM: soft\n"
	"      --engine-tune KEY=VALUE\n"
	"                            a selector tunable (docs/PERFORMANCE.md); repeatable\n"
	"      --kvm-device PATH     KVM device (default /dev/kvm)\n"
	"      --heads N             displays of the virtual GPU (default 1, at most 16)\n"
	"      --gpu-memory MiB      host memory the guest may make the GPU use for its\n"
	"                            resources and framebuffers (default 256)\n"
	"      --display PATH        serve the display to the broker listening on this\n"
	"                            unix socket ('hyperdesk broker --channel PATH');\n"
	"                            the VM keeps running while no broker is there\n"
	"      --restore FILE        start from a snapshot ('snapshot PATH' on the control\n"
	"                            socket); the machine (guest, memory, vCPUs, heads,\n"
	"                            command line) comes from it\n"
	"      --incoming tcp:ADDR:PORT\n"
	"                            wait for a VM sent by 'hyperdesk migrate' and run it\n"
	"                            (port 0: any free port, printed); the machine comes\n"
	"                            from the stream, so --guest, --memory, --cpus,\n"
	"                            --guest-cmdline, --heads and --restore conflict.\n"
	"                            The stream is unauthenticated and unencrypted: only\n"
	"                            loopback addresses are accepted unless\n"
	"      --incoming-insecure   is given too (trusted networks only)\n"
	"      --fault-inject poison=GPA[,GPA...]\n"
	"                            test switch: these guest pages read as if they had\n"
	"                            an uncorrectable memory error (SIGBUS)\n"
	"  -v, --verbose             log more (repeat for debug output)\n"
	"  -q, --quiet               log errors only\n";

void vm_options_defaults(struct vm_options *o)
{
	memset(o, 0, sizeof(*o));
	o->guest = "demo";
	o->memory_mib = DEFAULT_MEMORY_MIB;
	o->cpus = 1;
	o->serial = "stdio";
	o->cmdline = "";
	o->engine = "auto";
	o->kvm_device = "/dev/kvm";
	o->verbose = 0;
	o->heads = 1;
	o->gpu_memory_mib = VGPU_DEFAULT_MEMORY_MIB;
}

static int parse_ulong(const char *cmd, const char *opt, const char *arg, unsigned long lo,
		       unsigned long hi, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "hyperdesk %s: %s: '%s' is not a number from %lu to %lu\n", cmd,
			opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* poison=GPA[,GPA...]: hexadecimal (0x...) or decimal guest-physical addresses. */
static int parse_fault_inject(struct vm_options *o, const char *cmd, const char *arg)
{
	if (strncmp(arg, "poison=", 7) != 0 || !arg[7]) {
		fprintf(stderr, "hyperdesk %s: --fault-inject: '%s' is not poison=GPA[,GPA...]\n",
			cmd, arg);
		return -1;
	}
	const char *p = arg + 7;
	for (;;) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 0);
		if (errno || end == p || *p == '-' || (*end && *end != ',')) {
			fprintf(stderr, "hyperdesk %s: --fault-inject: bad address in '%s'\n", cmd,
				arg);
			return -1;
		}
		if (o->nr_poison == HD_ARRAY_SIZE(o->poison)) {
			fprintf(stderr, "hyperdesk %s: --fault-inject: at most %zu pages\n", cmd,
				HD_ARRAY_SIZE(o->poison));
			return -1;
		}
		o->poison[o->nr_poison++] = v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int vm_options_parse(struct vm_options *o, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case 'g':
		o->guest = arg;
		o->machine_set |= VM_SET_GUEST;
		return 0;
	case OPT_MEMORY_FILE:
		if (!*arg) {
			fprintf(stderr, "hyperdesk %s: --memory-file needs a path\n", cmd);
			return -1;
		}
		o->memory_file = arg;
		return 0;
	case OPT_RESTORE:
		o->restore = arg;
		return 0;
	case OPT_INCOMING: {
		char host[256], port[16];
		if (hv_migrate_parse_uri(arg, host, sizeof(host), port, sizeof(port)) < 0) {
			fprintf(stderr, "hyperdesk %s: --incoming: '%s' is not tcp:ADDR:PORT\n", cmd,
				arg);
			return -1;
		}
		o->incoming = arg;
		return 0;
	}
	case OPT_INCOMING_INSECURE:
		o->incoming_insecure = true;
		return 0;
	case OPT_FAULT_INJECT:
		return parse_fault_inject(o, cmd, arg);
	case 'm':
		o->machine_set |= VM_SET_MEMORY;
		if (parse_ulong(cmd, "--memory", arg, 0, MAX_MEMORY_MIB, &o->memory_mib) < 0)
			return -1;
		if (o->memory_mib < MIN_MEMORY_MIB) {
			fprintf(stderr, "hyperdesk %s: --memory: %lu MiB is too little; the VM needs "
					"at least %d MiB\n",
				cmd, o->memory_mib, MIN_MEMORY_MIB);
			return -1;
		}
		return 0;
	case 'c':
		o->machine_set |= VM_SET_CPUS;
		return parse_ulong(cmd, "--cpus", arg, 1, HV_MAX_VCPUS, &o->cpus);
	case 's':
		o->serial = arg;
		return 0;
	case 'C':
		if (strlen(arg) >= HV_BOOT_CMDLINE_MAX) {
			fprintf(stderr, "hyperdesk %s: --guest-cmdline is %zu bytes; at most %u\n",
				cmd, strlen(arg), HV_BOOT_CMDLINE_MAX - 1);
			return -1;
		}
		o->cmdline = arg;
		o->machine_set |= VM_SET_CMDLINE;
		return 0;
	case 'S':
		o->control = arg;
		return 0;
	case 'e':
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "kvm") != 0 && strcmp(arg, "soft") != 0) {
			fprintf(stderr,
				"hyperdesk %s: --engine: '%s' is not an engine (auto, kvm or soft)\n",
				cmd, arg);
			return -1;
		}
		o->engine = arg;
		return 0;
	case OPT_ENGINE_TUNE: {
		char why[256];
		if (hv_engine_tune_check(arg, why, sizeof(why)) < 0) {
			fprintf(stderr, "hyperdesk %s: --engine-tune: %s\n", cmd, why);
			return -1;
		}
		if (o->nr_engine_tune + 1 >= HD_ARRAY_SIZE(o->engine_tune)) {
			fprintf(stderr, "hyperdesk %s: --engine-tune: at most %zu\n", cmd,
				HD_ARRAY_SIZE(o->engine_tune) - 1);
			return -1;
		}
		o->engine_tune[o->nr_engine_tune++] = arg;
		return 0;
	}
	case OPT_HEADS:
		o->machine_set |= VM_SET_HEADS;
		return parse_ulong(cmd, "--heads", arg, 1, VGPU_MAX_HEADS, &o->heads);
	case OPT_GPU_MEMORY:
		return parse_ulong(cmd, "--gpu-memory", arg, 1, MAX_GPU_MEMORY_MIB,
				   &o->gpu_memory_mib);
	case OPT_DISPLAY:
		o->display = arg;
		return 0;
	case OPT_KVM_DEVICE:
		o->kvm_device = arg;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'q':
		o->verbose = -1;
		return 0;
	}
	return 1;
}

/* Reads a guest file whole, refusing what cannot be a guest before reading it. */
static void *read_guest(const char *cmd, const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hyperdesk %s: cannot open guest '%s': %s\n", cmd, path,
			strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "hyperdesk %s: guest '%s' is not a regular file\n", cmd, path);
		close(fd);
		return NULL;
	}
	if ((unsigned long)st.st_size > MAX_GUEST_FILE) {
		fprintf(stderr, "hyperdesk %s: guest '%s' is larger than %lu MiB\n", cmd, path,
			MAX_GUEST_FILE >> 20);
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = hd_xmalloc(size);
	size_t off = 0;
	while (off < size) {
		ssize_t n = read(fd, buf + off, size - off);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			fprintf(stderr, "hyperdesk %s: cannot read guest '%s': %s\n", cmd, path,
				n < 0 ? strerror(errno) : "file shrank while reading");
			free(buf);
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	*len = size;
	return buf;
}

int vm_options_check(const struct vm_options *o, const char *cmd)
{
	static const char *const names[] = {"--guest", "--memory", "--cpus", "--guest-cmdline",
					    "--heads"};
	if (o->restore && o->incoming) {
		fprintf(stderr, "hyperdesk %s: --restore conflicts with --incoming\n", cmd);
		return -1;
	}
	if (!o->restore && !o->incoming)
		return 0;
	for (unsigned i = 0; i < HD_ARRAY_SIZE(names); i++)
		if (o->machine_set & (1u << i)) {
			fprintf(stderr,
				"hyperdesk %s: %s conflicts with %s: the %s brings the machine "
				"with it\n",
				cmd, names[i], o->restore ? "--restore" : "--incoming",
				o->restore ? "snapshot" : "migration stream");
			return -1;
		}
	return 0;
}

int vm_options_run(const struct vm_options *o, const char *cmd)
{
	struct hv_vm_config cfg = {
		.mem_size = (uint64_t)o->memory_mib << 20,
		.vcpus = (unsigned)o->cpus,
		.kvm_device = o->kvm_device,
		.engine = o->engine,
		.engine_tune = o->engine_tune,
		.cmdline = o->cmdline,
		.control_path = o->control,
		.memory_file = o->memory_file,
		.serial_out_fd = -1,
		.serial_in_fd = -1,
	};
	void *file = NULL;
	int status = HV_EXIT_FAILURE;

	hd_log_set_level(o->verbose < 0    ? HD_LOG_ERROR
			 : o->verbose == 0 ? HD_LOG_WARN
			 : o->verbose == 1 ? HD_LOG_INFO
					   : HD_LOG_DEBUG);

	unsigned long heads = o->heads;
	struct hv_snapshot *snap = NULL;
	struct hv_incoming *incoming = NULL;
	if (vm_options_check(o, cmd) < 0)
		return HV_EXIT_FAILURE;
	if (o->incoming) {
		char why[512], bound[300];
		int lfd;
		if (hv_migrate_listen(o->incoming, o->incoming_insecure, &lfd, bound, sizeof(bound),
				      why, sizeof(why)) < 0) {
			fprintf(stderr, "hyperdesk %s: --incoming: %s\n", cmd, why);
			return HV_EXIT_FAILURE;
		}
		fprintf(stderr, "hyperdesk %s: waiting for a migration on %s\n", cmd, bound);
		int r = hv_incoming_accept(lfd, &incoming, &cfg, why, sizeof(why));
		close(lfd);
		if (r < 0) {
			fprintf(stderr, "hyperdesk %s: incoming migration refused: %s\n", cmd, why);
			return HV_EXIT_FAILURE;
		}
		heads = cfg.display_heads;
	} else if (o->restore) {
		char why[512];
		uint32_t snap_heads = 0;
		if (hv_snapshot_open(o->restore, &snap, why, sizeof(why)) < 0 ||
		    hv_snapshot_vm_config(snap, &cfg, why, sizeof(why)) < 0 ||
		    vgpu_snapshot_heads(snap, &snap_heads, why, sizeof(why)) < 0) {
			fprintf(stderr, "hyperdesk %s: %s\n", cmd, why);
			hv_snapshot_close(snap);
			return HV_EXIT_FAILURE;
		}
		heads = snap_heads;
	} else if (!strcmp(o->guest, "demo")) {
		cfg.image = hd_demo_guest_elf;
		cfg.image_len = hd_demo_guest_elf_len;
		cfg.guest_name = "demo";
	} else {
		file = read_guest(cmd, o->guest, &cfg.image_len);
		if (!file)
			return HV_EXIT_FAILURE;
		cfg.image = file;
		const char *slash = strrchr(o->guest, '/');
		cfg.guest_name = slash ? slash + 1 : o->guest;
	}

	int serial_file = -1;
	if (!strcmp(o->serial, "stdio")) {
		cfg.serial_out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO))
			cfg.serial_in_fd = STDIN_FILENO;
	} else if (strcmp(o->serial, "none") != 0) {
		serial_file = open(o->serial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (serial_file < 0) {
			fprintf(stderr, "hyperdesk %s: cannot open serial output '%s': %s\n", cmd,
				o->serial, strerror(errno));
			goto out;
		}
		cfg.serial_out_fd = serial_file;
	}

	cfg.display_heads = (unsigned)heads;
	struct hv_vm *vm;
	char err[512] = "";
	if (hv_vm_create(&cfg, &vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "hyperdesk %s: %s\n", cmd, err);
		if (incoming)
			hv_incoming_ack(incoming, err);
		goto out;
	}
	hd_info("vmm", "%s guest, %u vCPU(s), %llu MiB RAM, engine %s%s", cfg.guest_name, cfg.vcpus,
		(unsigned long long)(cfg.mem_size >> 20), o->engine, snap ? ", restored" : "");
	/* Every VM gets the GPU. It outlives the VM: vCPUs and the control socket use it until
	 * hv_vm_destroy returns. */
	struct vgpu_config gpu_cfg = {
		.heads = (unsigned)heads,
		.memory_limit = (uint64_t)o->gpu_memory_mib << 20,
	};
	struct vgpu *gpu;
	if (vgpu_create(vm, &gpu_cfg, &gpu, err, sizeof(err)) < 0) {
		fprintf(stderr, "hyperdesk %s: %s\n", cmd, err);
		if (incoming)
			hv_incoming_ack(incoming, err);
		hv_vm_destroy(vm);
		goto out;
	}
	/* And a keyboard and a tablet (virtio-input), fed by the display link; like the GPU
	 * they outlive the VM. */
	struct hv_input *keyboard = NULL, *tablet = NULL;
	int r = hv_input_create(vm, HV_INPUT_KEYBOARD, &keyboard);
	if (r == 0)
		r = hv_input_create(vm, HV_INPUT_TABLET, &tablet);
	if (r < 0) {
		fprintf(stderr, "hyperdesk %s: cannot add the input devices: %s\n", cmd,
			strerror(-r));
		goto out_devices;
	}
	if (snap) {
		/* Everything is loaded before any vCPU runs: a refusal leaves nothing behind. */
		r = hv_vm_restore(vm, snap, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "hyperdesk %s: cannot restore '%s': %s\n", cmd, o->restore,
				err);
			goto out_devices;
		}
	}
	if (incoming) {
		/* Nothing runs until the whole stream was checked and loaded. */
		r = hv_incoming_finish(incoming, vm, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "hyperdesk %s: incoming migration failed: %s\n", cmd, err);
			goto out_devices;
		}
	}
	for (unsigned i = 0; i < o->nr_poison; i++) {
		r = hv_vm_poison_page(vm, o->poison[i]);
		if (r < 0) {
			fprintf(stderr, "hyperdesk %s: --fault-inject: page 0x%llx: %s\n", cmd,
				(unsigned long long)o->poison[i], strerror(-r));
			goto out_devices;
		}
	}
	if (incoming) {
		/* The source stops its copy of the VM on this word: say it only now, and from
		 * here on never fail without running the VM. */
		if (hv_incoming_ack(incoming, NULL) < 0) {
			fprintf(stderr, "hyperdesk %s: incoming migration: the source went away "
					"before the switch-over; not running the VM\n",
				cmd);
			goto out_devices;
		}
		fprintf(stderr, "hyperdesk %s: migration received; the VM runs here now%s\n", cmd,
			hv_incoming_poisoned(incoming) ? " (with poisoned pages, see above)" : "");
	}
	struct display_link *link = NULL;
	if (o->display) {
		r = display_link_start(gpu, keyboard, tablet, o->display, hv_vm_id(vm),
				       incoming != NULL, &link);
		if (r < 0) {
			fprintf(stderr, "hyperdesk %s: cannot start the display link: %s\n", cmd,
				strerror(-r));
			if (!incoming)
				goto out_devices;
			link = NULL; /* the VM is ours now: it runs without a display */
		}
	}
	status = hv_vm_run(vm);
	if (hv_vm_migrated_to(vm)) {
		display_link_moved(link);
		fprintf(stderr, "hyperdesk %s: the VM moved to %s; this VMM exits\n", cmd,
			hv_vm_migrated_to(vm));
	}
	/* The link calls into the GPU and the input devices, whose transports the VM owns. */
	display_link_stop(link);
	hv_vm_destroy(vm);
	vgpu_destroy(gpu);
	hv_input_destroy(keyboard);
	hv_input_destroy(tablet);
	goto out;
out_devices:
	hv_vm_destroy(vm);
	vgpu_destroy(gpu);
	hv_input_destroy(keyboard);
	hv_input_destroy(tablet);
out:
	if (serial_file >= 0)
		close(serial_file);
	free(file);
	hv_snapshot_close(snap);
	hv_incoming_close(incoming);
	return status;
}

int vm_options_getopt(struct vm_options *o, const char *cmd, int argc, char **argv,
		      void (*usage)(FILE *f))
{
	static const struct option longopts[] = {VM_LONG_OPTIONS, {NULL, 0, NULL, 0}};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, VM_OPTIONS_SHORT, longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		int r = vm_options_parse(o, cmd, opt, optarg);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r > 0) {
			fprintf(stderr, "try 'hyperdesk %s --help'\n", cmd);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hyperdesk %s: unexpected argument '%s'; try 'hyperdesk %s --help'\n",
			cmd, argv[optind], cmd);
		return CLI_EXIT_USAGE;
	}
	return -1;
}
