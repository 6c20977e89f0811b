/* control.c: the VMM's control socket: a unix stream socket speaking newline-delimited JSON,
 * a table of commands, and the built-in ones (help, status, stats, pause, resume, quit).
 * Not the client side (cli/ctl.c). The wire format is in docs/PROTOCOL.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "control"

int hv_control_register(struct hv_vm *vm, const char *name, const char *usage,
			hv_control_fn fn, void *opaque)
{
	struct hv_control *c = &vm->control;
	for (unsigned i = 0; i < c->nr_cmds; i++)
		if (strcmp(c->cmds[i].name, name) == 0)
			return -EEXIST;
	if (c->nr_cmds == HV_CONTROL_MAX_CMDS)
		return -ENOSPC;
	c->cmds[c->nr_cmds++] = (struct hv_control_cmd){name, usage, fn, opaque};
	return 0;
}

int hv_control_open(struct hv_vm *vm, const char *path, char *err, size_t errlen)
{
	struct hv_control *c = &vm->control;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path is too long (%zu bytes, at most %zu)",
			 strlen(path), sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	/* Replace a stale socket left by a VMM that died, but never another kind of file, and
	 * never a socket some live process still listens on. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket; not replacing it", path);
			return -EEXIST;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen, "%s is in use by another running VMM", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot listen on control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return e;
	}
	/* Only the owner may drive the VM. */
	chmod(path, 0600);
	c->listen_fd = fd;
	c->path = hd_xstrdup(path);
	for (unsigned i = 0; i < HV_CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	return 0;
}

static void client_close(struct hv_control_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd); /* closing also removes it from epoll */
	cl->fd = -1;
	hd_buf_free(&cl->in);
	cl->closing = false;
}

void hv_control_close(struct hv_vm *vm)
{
	struct hv_control *c = &vm->control;
	for (unsigned i = 0; i < HV_CONTROL_MAX_CLIENTS; i++)
		if (c->path)
			client_close(&c->clients[i]);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	c->listen_fd = -1;
	if (c->path)
		unlink(c->path);
	free(c->path);
	c->path = NULL;
}

void hv_control_accept(struct hv_vm *vm)
{
	struct hv_control *c = &vm->control;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < HV_CONTROL_MAX_CLIENTS; i++) {
		struct hv_control_client *cl = &c->clients[i];
		if (cl->fd >= 0)
			continue;
		cl->fd = fd;
		hd_buf_init(&cl->in);
		if (hv_vm_epoll_add_client(vm, fd, i) < 0)
			client_close(cl);
		return;
	}
	static const char busy[] = "{\"ok\":false,\"error\":\"too many control connections\"}\n";
	if (write(fd, busy, sizeof(busy) - 1) < 0)
		hd_debug(TAG, "busy reply: %s", strerror(errno));
	close(fd);
}

/* Replies are small; a client that does not read them gets its connection closed rather
 * than stalling the event loop. */
static void client_send(struct hv_control_client *cl, const char *data, size_t len)
{
	size_t off = 0;
	int tries = 0;
	while (off < len && tries < 100) {
		ssize_t n = send(cl->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			tries++;
			usleep(1000);
			continue;
		}
		break;
	}
	if (off < len)
		cl->closing = true;
}

static const struct hv_control_cmd *find_cmd(struct hv_control *c, const char *name)
{
	for (unsigned i = 0; i < c->nr_cmds; i++)
		if (strcmp(c->cmds[i].name, name) == 0)
			return &c->cmds[i];
	return NULL;
}

static void handle_line(struct hv_vm *vm, struct hv_control_client *cl, const char *line,
			size_t len)
{
	struct hd_buf reply, result, error;
	struct hd_json *req = NULL;
	char perr[160];
	int ok = -1;

	hd_buf_init(&reply);
	hd_buf_init(&result);
	hd_buf_init(&error);

	if (hd_json_parse(line, len, &req, perr, sizeof(perr)) < 0) {
		hd_buf_printf(&error, "request is not valid JSON: %s", perr);
	} else if (req->type != HD_JSON_OBJECT) {
		hd_buf_puts(&error, "request must be a JSON object");
	} else {
		const char *name = hd_json_get_string(req, "cmd");
		const struct hd_json *args = hd_json_get(req, "args");
		if (!name) {
			hd_buf_puts(&error, "request has no \"cmd\" string");
		} else if (args && args->type != HD_JSON_ARRAY) {
			hd_buf_puts(&error, "\"args\" must be an array");
		} else {
			const struct hv_control_cmd *cmd = find_cmd(&vm->control, name);
			if (!cmd) {
				hd_buf_puts(&error, "unknown command ");
				hd_json_write_string(&error, name);
				hd_buf_puts(&error, " (try \"help\")");
			} else {
				ok = cmd->fn(vm, cmd->opaque, args, &result, &error);
				if (ok == 0 && result.len == 0)
					hd_buf_puts(&result, "null");
			}
		}
	}

	if (ok == 0) {
		hd_buf_printf(&reply, "{\"ok\":true,\"result\":%s}\n", result.data);
	} else {
		hd_buf_puts(&reply, "{\"ok\":false,\"error\":");
		hd_json_write_string(&reply, error.len ? error.data : "command failed");
		hd_buf_puts(&reply, "}\n");
	}
	client_send(cl, reply.data, reply.len);
	hd_json_free(req);
	hd_buf_free(&reply);
	hd_buf_free(&result);
	hd_buf_free(&error);
}

void hv_control_client_ready(struct hv_vm *vm, unsigned slot)
{
	if (slot >= HV_CONTROL_MAX_CLIENTS)
		return;
	struct hv_control_client *cl = &vm->control.clients[slot];
	if (cl->fd < 0)
		return;
	char buf[4096];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_close(cl);
		return;
	}
	if (n < 0)
		return;
	hd_buf_append(&cl->in, buf, (size_t)n);

	char *nl;
	while (!cl->closing && cl->in.len && (nl = memchr(cl->in.data, '\n', cl->in.len))) {
		size_t linelen = (size_t)(nl - cl->in.data);
		handle_line(vm, cl, cl->in.data, linelen);
		memmove(cl->in.data, nl + 1, cl->in.len - linelen - 1);
		cl->in.len -= linelen + 1;
		cl->in.data[cl->in.len] = '\0';
	}
	if (!cl->closing && cl->in.len > HV_CONTROL_MAX_LINE) {
		static const char big[] = "{\"ok\":false,\"error\":\"request line too long\"}\n";
		client_send(cl, big, sizeof(big) - 1);
		cl->closing = true;
	}
	if (cl->closing)
		client_close(cl);
}

/* ---- built-in commands ---- */

static const char *state_name(enum hv_vm_state s)
{
	switch (s) {
	case HV_VM_CREATED:
		return "created";
	case HV_VM_RUNNING:
		return "running";
	case HV_VM_PAUSED:
		return "paused";
	case HV_VM_STOPPING:
		return "stopping";
	}
	return "unknown";
}

static bool no_args(const struct hd_json *args, struct hd_buf *error)
{
	if (args && args->count) {
		hd_buf_puts(error, "this command takes no arguments");
		return false;
	}
	return true;
}

static int cmd_help(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		    struct hd_buf *result, struct hd_buf *error)
{
	hd_buf_puts(result, "{");
	for (unsigned i = 0; i < vm->control.nr_cmds; i++) {
		const struct hv_control_cmd *c = &vm->control.cmds[i];
		hd_buf_puts(result, i ? "," : "");
		hd_json_write_string(result, c->name);
		hd_buf_puts(result, ":");
		hd_json_write_string(result, c->usage);
	}
	hd_buf_puts(result, "}");
	return 0;
}

static int cmd_status(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		      struct hd_buf *result, struct hd_buf *error)
{
	if (!no_args(args, error))
		return -1;
	pthread_mutex_lock(&vm->lock);
	const char *state = state_name(vm->state);
	pthread_mutex_unlock(&vm->lock);
	hd_buf_printf(result,
		      "{\"state\":\"%s\",\"engine\":\"%s\",\"kvm\":%s,\"vcpu_engines\":[",
		      state, hv_engine_mode_name(vm->engine_mode), vm->have_kvm ? "true" : "false");
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		hd_buf_printf(result, "%s\"%s\"", i ? "," : "",
			      hv_engine_name((enum hv_engine_kind)atomic_load(&vm->vcpus[i].engine)));
	hd_buf_printf(result,
		      "],\"vcpus\":%u,\"memory_mib\":%llu,"
		      "\"uptime_ms\":%llu,\"pid\":%d,\"guest\":",
		      vm->nr_vcpus, (unsigned long long)(vm->mem.size >> 20),
		      (unsigned long long)((hd_now_ns() - vm->start_ns) / 1000000), (int)getpid());
	hd_json_write_string(result, vm->guest_name);
	hd_buf_puts(result, ",\"cmdline\":");
	hd_json_write_string(result, vm->cmdline);
	hd_buf_puts(result, ",\"memory_file\":");
	if (vm->memory_file)
		hd_json_write_string(result, vm->memory_file);
	else
		hd_buf_puts(result, "null");
	uint64_t bytes, blocks;
	if (hv_mem_residency(&vm->mem, &bytes, &blocks) == 0)
		hd_buf_printf(result, ",\"memory_resident_bytes\":%llu,\"memory_resident_blocks\":%llu",
			      (unsigned long long)bytes, (unsigned long long)blocks);
	hd_buf_puts(result, "}");
	return 0;
}

static int cmd_memory_release(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			      struct hd_buf *result, struct hd_buf *error)
{
	if (!no_args(args, error))
		return -1;
	if (!vm->mem.file_backed) {
		hd_buf_puts(error, "guest RAM is in a memfd, not an image file (--memory-file)");
		return -1;
	}
	uint64_t t0 = hd_now_ns(), released, bytes = 0, blocks = 0;
	int r = hv_mem_release(&vm->mem, &released);
	if (r < 0 || hv_mem_residency(&vm->mem, &bytes, &blocks) < 0) {
		hd_buf_printf(error, "cannot release guest RAM: %s", strerror(r < 0 ? -r : errno));
		return -1;
	}
	hd_buf_printf(result,
		      "{\"released_bytes\":%llu,\"resident_bytes\":%llu,\"resident_blocks\":%llu,"
		      "\"ms\":%.1f}",
		      (unsigned long long)released, (unsigned long long)bytes,
		      (unsigned long long)blocks, (hd_now_ns() - t0) / 1e6);
	return 0;
}

static int cmd_stats(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		     struct hd_buf *result, struct hd_buf *error)
{
	if (!no_args(args, error))
		return -1;
	hd_buf_printf(result, "{\"uptime_ms\":%llu,\"serial_tx_bytes\":%llu,\"vcpus\":[",
		      (unsigned long long)((hd_now_ns() - vm->start_ns) / 1000000),
		      (unsigned long long)vm->uart.tx_bytes);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu_stats *s = &vm->vcpus[i].stats;
		hd_buf_printf(result,
			      "%s{\"index\":%u,\"exits\":%llu,\"io_exits\":%llu,\"mmio_exits\":%llu,"
			      "\"hlt_exits\":%llu,\"intr_exits\":%llu,",
			      i ? "," : "", i, (unsigned long long)atomic_load(&s->exits),
			      (unsigned long long)atomic_load(&s->io_exits),
			      (unsigned long long)atomic_load(&s->mmio_exits),
			      (unsigned long long)atomic_load(&s->hlt_exits),
			      (unsigned long long)atomic_load(&s->intr_exits));
		struct hv_engine_stats *e = &vm->vcpus[i].estats;
		hd_buf_printf(result,
			      "\"engine\":\"%s\",\"kvm_ms\":%.3f,\"soft_ms\":%.3f,"
			      "\"kvm_exits\":%llu,\"soft_exits\":%llu,\"soft_insns\":%llu,"
			      "\"switches_to_soft\":%llu,\"switches_to_kvm\":%llu,"
			      "\"switch_us_total\":%.1f,\"hot_rip_hits\":%llu,"
			      "\"soft_interrupts\":%llu}",
			      hv_engine_name((enum hv_engine_kind)atomic_load(&vm->vcpus[i].engine)),
			      atomic_load(&e->ns[HV_ENGINE_KVM]) / 1e6,
			      atomic_load(&e->ns[HV_ENGINE_SOFT]) / 1e6,
			      (unsigned long long)atomic_load(&e->exits[HV_ENGINE_KVM]),
			      (unsigned long long)atomic_load(&e->exits[HV_ENGINE_SOFT]),
			      (unsigned long long)atomic_load(&e->insns_soft),
			      (unsigned long long)atomic_load(&e->to_soft),
			      (unsigned long long)atomic_load(&e->to_kvm),
			      atomic_load(&e->switch_ns) / 1e3,
			      (unsigned long long)atomic_load(&e->hot_hits),
			      (unsigned long long)atomic_load(&e->soft_ints));
	}
	hd_buf_puts(result, "]}");
	return 0;
}

static int cmd_pause(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		     struct hd_buf *result, struct hd_buf *error)
{
	if (!no_args(args, error))
		return -1;
	int r = hv_vm_pause(vm);
	if (r == -EALREADY) {
		hd_buf_puts(error, "the VM is already paused");
		return -1;
	}
	if (r < 0) {
		hd_buf_puts(error, "the VM is not running");
		return -1;
	}
	return 0;
}

static int cmd_resume(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		      struct hd_buf *result, struct hd_buf *error)
{
	if (!no_args(args, error))
		return -1;
	int r = hv_vm_resume(vm);
	if (r == -EALREADY) {
		hd_buf_puts(error, "the VM is not paused");
		return -1;
	}
	if (r < 0) {
		hd_buf_puts(error, "the VM is stopping");
		return -1;
	}
	return 0;
}

static int cmd_quit(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		    struct hd_buf *result, struct hd_buf *error)
{
	if (!no_args(args, error))
		return -1;
	hv_vm_request_stop(vm, HV_EXIT_OK, false, "quit requested on the control socket");
	return 0;
}

void hv_control_register_builtins(struct hv_vm *vm)
{
	hv_control_register(vm, "help", "help: list commands", cmd_help, NULL);
	hv_control_register(vm, "status", "status: state, engine, vCPUs, memory, uptime",
			    cmd_status, NULL);
	hv_control_register(vm, "stats", "stats: per-vCPU exit counters and engine time, counts and switches", cmd_stats, NULL);
	hv_control_register(vm, "pause", "pause: stop all vCPUs", cmd_pause, NULL);
	hv_control_register(vm, "memory-release",
			    "memory-release: write file-backed guest RAM back to its file and drop "
			    "it from host memory; the guest reads back what it touches",
			    cmd_memory_release, NULL);
	hv_control_register(vm, "resume", "resume: restart paused vCPUs", cmd_resume, NULL);
	hv_control_register(vm, "quit", "quit: stop the VM; the VMM exits with status 0",
			    cmd_quit, NULL);
}
