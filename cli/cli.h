/* cli.h: what the subcommands of the hyperdesk binary share: their entry points, the VM
 * options common to `vmm` and `run`, and the built-in guest image. Not a library interface. */
#ifndef HD_CLI_H
#define HD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "broker.h"
#include "hv.h"

/* Exit statuses of the command line itself (the VM's own are HV_EXIT_* in hv.h). */
#define CLI_EXIT_USAGE 2

extern const unsigned char hd_demo_guest_elf[];
extern const size_t hd_demo_guest_elf_len;

int cmd_vmm(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_broker(int argc, char **argv);
int cmd_shot(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

/* The VMM's end of the display channel (display-link.c): a thread that serves the GPU's heads
 * to the broker listening at path, reconnecting whenever it goes away, and feeds the broker's
 * input to the keyboard and tablet. Start after vgpu_create and hv_input_create; stop before
 * hv_vm_destroy. */
struct vgpu;
struct display_link;
int display_link_start(struct vgpu *gpu, struct hv_input *keyboard, struct hv_input *tablet,
		       const char *path, uint64_t vm_id, bool arrived, struct display_link **out);
/* The VM moved to another VMM (live migration): the link's last BYE tells the broker, which
 * keeps the sessions for the VM to arrive there (its VMID with the same id). */
void display_link_moved(struct display_link *l);
void display_link_stop(struct display_link *l);

/* Options that describe one VM, shared by `vmm` and `run`. */
struct vm_options {
	const char *guest;   /* "demo" or a path */
	unsigned long memory_mib;
	unsigned long cpus;
	const char *serial;  /* "stdio", "none" or a file */
	const char *cmdline;
	const char *control;
	const char *engine;
	const char *engine_tune[17]; /* --engine-tune KEY=VALUE, NULL-terminated */
	unsigned nr_engine_tune;
	const char *kvm_device;
	int verbose;
	unsigned long heads;          /* GPU heads */
	unsigned long gpu_memory_mib; /* GPU memory limit */
	const char *display;          /* the broker's display channel socket, or NULL */
	const char *restore;          /* --restore: a snapshot file, or NULL */
	const char *memory_file;      /* --memory-file: guest RAM in this file, or NULL */
	const char *incoming;         /* --incoming tcp:ADDR:PORT, or NULL */
	bool incoming_insecure;       /* --incoming-insecure: listen off loopback too */
	uint64_t poison[16];          /* --fault-inject poison=GPA,...: a test switch */
	unsigned nr_poison;
	unsigned machine_set;         /* VM_SET_* bits: machine options given explicitly */
};

/* Options that describe the machine, which a snapshot brings with it (--restore). */
enum { VM_SET_GUEST = 1, VM_SET_MEMORY = 2, VM_SET_CPUS = 4, VM_SET_CMDLINE = 8,
       VM_SET_HEADS = 16 };

/* getopt_long table entries and the usage text for them. */
#define VM_OPTIONS_SHORT "g:m:c:s:C:e:vqh"
extern const char vm_options_usage[];

void vm_options_defaults(struct vm_options *o);
/* Handles one option parsed by getopt_long; returns 0, 1 if the option is not a VM option,
 * or -1 after printing an error. */
int vm_options_parse(struct vm_options *o, const char *cmd, int opt, const char *arg);
/* Parses a subcommand's whole argument list into o. Returns -1 to go on, or the exit status
 * to return at once (0 after --help, CLI_EXIT_USAGE after an error). */
int vm_options_getopt(struct vm_options *o, const char *cmd, int argc, char **argv,
		      void (*usage)(FILE *f));
/* Options that contradict each other (the machine of a --restore given again): -1 after
 * printing why, else 0. vm_options_run checks too; run checks before starting a broker. */
int vm_options_check(const struct vm_options *o, const char *cmd);
/* Builds and runs the VM described by o; returns the process exit status. */
int vm_options_run(const struct vm_options *o, const char *cmd);

/* Long options: VM options use these values (>= 256 for long-only ones). */
enum {
	OPT_KVM_DEVICE = 256,
	OPT_ENGINE_TUNE,
	OPT_HELP_LONG,
	OPT_HEADS,
	OPT_GPU_MEMORY,
	OPT_DISPLAY,
	OPT_VNC,
	OPT_WEB,
	OPT_POLICY,
	OPT_PASSWORD_FILE,
	OPT_DPI,
	OPT_CHANNEL,
	OPT_NOVNC,
	OPT_RDP,
	OPT_STATE_DIR,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_RESTORE,
	OPT_MEMORY_FILE,
	OPT_INCOMING,
	OPT_INCOMING_INSECURE,
	OPT_FAULT_INJECT,
};

/* Options of the broker, shared by `broker` and `run` (builtin-broker.c). */
struct broker_options {
	char vnc_host[64];
	unsigned vnc_port;
	enum broker_policy policy;
	bool has_password;
	char password[64];
	unsigned dpi;
	bool has_web;
	char web_host[64];
	unsigned web_port;
	char novnc[1024]; /* the noVNC package folder; "" until found */
	bool has_rdp;	  /* serve RDP (run: on unless --rdp off) */
	bool rdp_optional; /* run's default: a busy port only warns */
	char rdp_host[64];
	unsigned rdp_port;
	char state_dir[1024]; /* "" until defaulted by broker_options_check */
	const char *tls_cert, *tls_key;
};

#define BROKER_LONG_OPTIONS                                                              \
	{"vnc", required_argument, NULL, OPT_VNC}, {"web", required_argument, NULL, OPT_WEB}, \
		{"policy", required_argument, NULL, OPT_POLICY},                              \
		{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},                \
		{"dpi", required_argument, NULL, OPT_DPI},                                    \
		{"novnc", required_argument, NULL, OPT_NOVNC},                                \
		{"rdp", required_argument, NULL, OPT_RDP},                                    \
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},                        \
		{"tls-cert", required_argument, NULL, OPT_TLS_CERT},                          \
		{"tls-key", required_argument, NULL, OPT_TLS_KEY}

extern const char broker_options_usage[];
void broker_options_defaults(struct broker_options *o);
/* run's default: RDP on 127.0.0.1:3389 unless --rdp says otherwise. */
void broker_options_default_rdp(struct broker_options *o);
/* Like vm_options_parse: 0, 1 if not a broker option, or -1 after printing an error. */
int broker_options_parse(struct broker_options *o, const char *cmd, int opt, const char *arg);
/* -1 after printing why, if the options cannot be served (no password off loopback, no
 * noVNC for --web); finds the default noVNC folder. */
int broker_options_check(struct broker_options *o, const char *cmd);
void broker_options_config(const struct broker_options *o, struct broker_config *cfg);
/* Parses ADDR:PORT or [ADDR]:PORT; -1 after printing an error. */
int cli_parse_hostport(const char *cmd, const char *opt, const char *s, char *host,
		       size_t hostlen, unsigned *port);

#define VM_LONG_OPTIONS                                                                  \
	{"guest", required_argument, NULL, 'g'}, {"memory", required_argument, NULL, 'm'},  \
		{"cpus", required_argument, NULL, 'c'},                                       \
		{"serial", required_argument, NULL, 's'},                                     \
		{"guest-cmdline", required_argument, NULL, 'C'},                              \
		{"control", required_argument, NULL, 'S'},                                    \
		{"engine", required_argument, NULL, 'e'},                                     \
		{"kvm-device", required_argument, NULL, OPT_KVM_DEVICE},                      \
		{"engine-tune", required_argument, NULL, OPT_ENGINE_TUNE},                    \
		{"restore", required_argument, NULL, OPT_RESTORE},                            \
		{"memory-file", required_argument, NULL, OPT_MEMORY_FILE},                    \
		{"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},       \
		{"heads", required_argument, NULL, OPT_HEADS},                               \
		{"gpu-memory", required_argument, NULL, OPT_GPU_MEMORY},                     \
		{"display", required_argument, NULL, OPT_DISPLAY},                           \
		{"incoming", required_argument, NULL, OPT_INCOMING},                         \
		{"incoming-insecure", no_argument, NULL, OPT_INCOMING_INSECURE},             \
		{"fault-inject", required_argument, NULL, OPT_FAULT_INJECT},                 \
		{"help", no_argument, NULL, 'h'}

#endif
