/* migrate-in.c: the receiving side of a live migration: the machine's configuration, RAM and
 * device state from the stream, and the answers to the source. Nothing received runs before
 * the whole stream was checked. Not the stream parser (migrate-stream.c), the listener
 * (migrate-net.c) nor the sender (migrate.c). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG          "migrate"
#define IO_TIMEOUT_S 60

struct hv_incoming {
	int fd;
	struct hv_mig_recv rx;
	struct hv_snapshot *config;
};

static ssize_t sock_recv(void *opaque, void *buf, size_t n)
{
	struct hv_incoming *in = opaque;
	for (;;) {
		ssize_t r = recv(in->fd, buf, n, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	}
}

int hv_incoming_accept(int listen_fd, struct hv_incoming **out, struct hv_vm_config *cfg,
		       char *err, size_t errlen)
{
	int fd;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		snprintf(err, errlen, "accept failed: %s", strerror(errno));
		return -errno;
	}
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct hv_incoming *in = hd_xzalloc(sizeof(*in));
	in->fd = fd;
	hv_mig_recv_init(&in->rx, sock_recv, in);
	char why[512];
	int r = hv_mig_recv_start(&in->rx, why, sizeof(why));
	if (r == 0) {
		r = hv_snapshot_from_buf(in->rx.config, in->rx.config_len, &in->config, why,
					 sizeof(why));
		in->rx.config = NULL; /* the snapshot owns it, or freed it */
	}
	if (r == 0)
		r = hv_snapshot_vm_config(in->config, cfg, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "%s", why);
		hv_incoming_ack(in, why);
		hv_incoming_close(in);
		return r;
	}
	cfg->display_heads = in->rx.heads;
	cfg->vm_id = in->rx.vm_id;
	*out = in;
	return 0;
}

int hv_incoming_finish(struct hv_incoming *in, struct hv_vm *vm, char *err, size_t errlen)
{
	/* From all zeroes (the ELF loader wrote some pages); the stream skips zero pages. */
	if (fallocate(vm->mem.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)vm->mem.size) < 0)
		memset(vm->mem.base, 0, vm->mem.size);
	char why[512];
	/* The VM exists: the source may start copying (migrate.c waits for this). */
	if (send(in->fd, "ready\n", 6, MSG_NOSIGNAL) != 6) {
		snprintf(err, errlen, "the source went away: %s", strerror(errno));
		return -EPIPE;
	}
	int r = hv_mig_recv_body(&in->rx, &vm->mem, why, sizeof(why));
	struct hv_snapshot *state = NULL;
	if (r == 0) {
		r = hv_snapshot_from_buf(in->rx.device, in->rx.device_len, &state, why,
					 sizeof(why));
		in->rx.device = NULL;
		if (r < 0) {
			char tmp[400];
			snprintf(tmp, sizeof(tmp), "%.390s", why);
			snprintf(why, sizeof(why), "device state: %s", tmp);
		}
	}
	if (r == 0)
		r = hv_vm_restore_state(vm, state, why, sizeof(why));
	hv_snapshot_close(state);
	/* Recorded, not fenced off with a faulting mapping: device code reading guest RAM must
	 * not die of a page a peer declared bad. Its contents never arrived: it reads as zero. */
	if (r == 0 && in->rx.nr_poison) {
		vm->poison = hd_xmalloc(in->rx.nr_poison * sizeof(*vm->poison));
		memcpy(vm->poison, in->rx.poison, in->rx.nr_poison * sizeof(*vm->poison));
		vm->nr_poison = in->rx.nr_poison;
	}
	for (unsigned i = 0; r == 0 && i < in->rx.nr_poison; i++)
		hd_warn(TAG, "guest page 0x%llx arrived poisoned (a memory error on the source): "
			     "its contents are lost; recorded, and sent as poisoned by a further "
			     "migration",
			(unsigned long long)in->rx.poison[i]);
	if (r < 0) {
		snprintf(err, errlen, "%s", why);
		hv_incoming_ack(in, why);
		return r;
	}
	hd_info(TAG, "received %llu pages, %llu bytes, %u poisoned",
		(unsigned long long)in->rx.pages, (unsigned long long)in->rx.bytes,
		in->rx.nr_poison);
	return 0;
}

unsigned hv_incoming_poisoned(const struct hv_incoming *in)
{
	return in->rx.nr_poison;
}

int hv_incoming_ack(struct hv_incoming *in, const char *error)
{
	char line[600];
	int n = error ? snprintf(line, sizeof(line), "error: %.500s\n", error)
		      : snprintf(line, sizeof(line), "running\n");
	for (int i = 0; i < n - 1; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	return send(in->fd, line, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -EPIPE;
}

void hv_incoming_close(struct hv_incoming *in)
{
	if (!in)
		return;
	if (in->fd >= 0)
		close(in->fd);
	hv_mig_recv_free(&in->rx);
	hv_snapshot_close(in->config);
	free(in);
}
