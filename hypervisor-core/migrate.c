/* migrate.c: the sending side of a live migration: pre-copy of RAM while the VM runs,
 * switch-over (pause, last pages, the snapshot's device sections), the `migrate` and
 * `migrate-status` control commands. Not the stream format (migrate-stream.c) nor the
 * receiving side (migrate-in.c).
 *
 * One thread per migration does everything, harvesting included; vCPUs and devices only set
 * bits (dirty.c). Any failure before the destination said "running" turns tracing off and
 * resumes the VM as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG             "migrate"
#define PAGE            4096ull
#define MAX_ITER        30   /* pre-copy passes after the first */
#define STALL_ITER      5    /* passes that do not shrink the remainder before giving up */
#define DOWNTIME_BUDGET 0.02 /* seconds of copying left that we accept to do paused */
#define MIN_REMAINDER   (256ull << 10)
#define IO_TIMEOUT_S       30
#define ACK_TIMEOUT_MS     60000
#define FINAL_READ_WAIT_MS 3000
#define HISTORY           (MAX_ITER + 2)

enum mig_state { MIG_IDLE, MIG_ACTIVE, MIG_DONE, MIG_FAILED };
static const char *const state_names[] = {"none", "active", "completed", "failed"};

struct hv_migration {
	struct hv_vm *vm;
	pthread_t thread;
	bool thread_started;
	_Atomic bool cancel;
	int fd;

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	enum mig_state state;
	const char *phase;
	char dest[256];
	char error[512];
	uint64_t start_ns;
	uint64_t bytes, ram_pages, sent_pages, remaining;
	double rate; /* bytes/s of the last pass */
	uint64_t pass_ns, pass_bytes; /* when this pass began, bytes sent before it */
	unsigned iteration;
	uint64_t iter_pages[HISTORY];
	unsigned nr_iter;
	unsigned poisoned;
	double total_ms, downtime_ms;
	bool final_read;

	/* the thread's own (set before it starts) */
	uint64_t max_rate; /* bytes/s while the VM runs (0: no limit); none once paused */
	uint64_t rate_start_ns, rate_bytes;
	struct hv_mig_writer w;
	uint64_t *pending, *scratch; /* pages to send; a harvest */
	uint8_t *copy;               /* one run of pages, read fault-safely */
};

/* ---- small helpers ---- */

static void set_phase(struct hv_migration *m, const char *phase)
{
	pthread_mutex_lock(&m->lock);
	m->phase = phase;
	pthread_mutex_unlock(&m->lock);
}

/* Keeps the average rate of this pass under max_rate: sleeps off any excess first. */
static void throttle(struct hv_migration *m, size_t n)
{
	if (!m->max_rate)
		return;
	uint64_t now = hd_now_ns();
	if (!m->rate_start_ns || now - m->rate_start_ns > 1000000000ull) {
		m->rate_start_ns = now; /* a fresh one-second window */
		m->rate_bytes = 0;
	}
	m->rate_bytes += n;
	uint64_t due = m->rate_start_ns + (uint64_t)((double)m->rate_bytes * 1e9 / (double)m->max_rate);
	while (due > now && !atomic_load(&m->cancel)) {
		uint64_t ns = due - now < 50000000ull ? due - now : 50000000ull;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};
		nanosleep(&ts, NULL);
		now = hd_now_ns();
	}
}

static ssize_t sock_send(void *opaque, void *buf, size_t n)
{
	struct hv_migration *m = opaque;
	throttle(m, n);
	for (;;) {
		if (atomic_load(&m->cancel))
			return -ECANCELED;
		ssize_t r = send(m->fd, buf, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	}
}

static int connect_to(struct hv_migration *m, char *err, size_t errlen)
{
	int fd;
	int r = hv_migrate_connect(m->dest, IO_TIMEOUT_S, &fd, err, errlen);
	if (r == 0) {
		pthread_mutex_lock(&m->lock);
		m->fd = fd;
		pthread_mutex_unlock(&m->lock);
	}
	return r;
}

/* Offset in the memory file -> guest-physical address, and where its region ends. */
static uint64_t off_to_gpa(const struct hv_mem *mem, uint64_t off, uint64_t *region_end)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct hv_mem_region *r = &mem->regions[i];
		if (off >= r->fd_offset && off - r->fd_offset < r->size) {
			*region_end = r->fd_offset + r->size;
			return r->gpa + (off - r->fd_offset);
		}
	}
	*region_end = off;
	return 0;
}

/* ---- sending pages ---- */

/* Pages [page, page+n) copied in buf, all in one region: PAGES for non-zero stretches, ZERO
 * for zero ones (unless the destination's RAM is known to be zero there: the first pass). */
static void emit(struct hv_migration *m, uint64_t page, uint64_t n, const uint8_t *buf,
		 bool first_pass)
{
	uint64_t end;
	uint64_t i = 0;
	while (i < n) {
		bool zero = hv_mem_page_zero(buf + i * PAGE);
		uint64_t j = i + 1;
		while (j < n && hv_mem_page_zero(buf + j * PAGE) == zero)
			j++;
		uint64_t gpa = off_to_gpa(&m->vm->mem, (page + i) * PAGE, &end);
		if (!zero)
			hv_mig_write_rec(&m->w, HV_MIG_REC_PAGES, (uint32_t)(j - i), gpa,
					 buf + i * PAGE, (j - i) * PAGE);
		else if (!first_pass)
			hv_mig_write_rec(&m->w, HV_MIG_REC_ZERO, (uint32_t)(j - i), gpa, NULL, 0);
		i = j;
	}
}

/* A page this VM received poisoned from an earlier migration? */
static bool known_poisoned(const struct hv_vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->nr_poison; i++)
		if (vm->poison[i] == gpa)
			return true;
	return false;
}

static bool run_has_known_poison(const struct hv_vm *vm, uint64_t page, uint64_t n)
{
	uint64_t end, gpa = off_to_gpa(&vm->mem, page * PAGE, &end);
	for (unsigned i = 0; i < vm->nr_poison; i++)
		if (vm->poison[i] >= gpa && vm->poison[i] - gpa < n * PAGE)
			return true;
	return false;
}

static void send_poison(struct hv_migration *m, uint64_t gpa, const char *why)
{
	hv_mig_write_rec(&m->w, HV_MIG_REC_POISON, 1, gpa, NULL, 0);
	hd_warn(TAG, "guest page 0x%llx %s: sent as poisoned", (unsigned long long)gpa, why);
	pthread_mutex_lock(&m->lock);
	m->poisoned++;
	pthread_mutex_unlock(&m->lock);
}

static void send_run(struct hv_migration *m, uint64_t page, uint64_t n, bool first_pass)
{
	const uint8_t *src = m->vm->mem.base + page * PAGE;
	bool known = m->vm->nr_poison && run_has_known_poison(m->vm, page, n);
	if (!known && hv_mem_copy_safe(m->copy, src, n * PAGE) == 0) {
		emit(m, page, n, m->copy, first_pass);
		return;
	}
	/* A memory error somewhere in the run: page by page, poisoned ones as metadata. */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t end, gpa = off_to_gpa(&m->vm->mem, (page + i) * PAGE, &end);
		if (known && known_poisoned(m->vm, gpa))
			send_poison(m, gpa, "arrived poisoned");
		else if (hv_mem_copy_safe(m->copy, src + i * PAGE, PAGE) == 0)
			emit(m, page + i, 1, m->copy, first_pass);
		else
			send_poison(m, gpa, "cannot be read (memory error)");
	}
}

/* Sends every page set in bits, clearing them; returns the pages sent or -errno. */
static int64_t send_bitmap(struct hv_migration *m, uint64_t *bits, bool first_pass)
{
	uint64_t pages = m->vm->mem.size / PAGE, pos = 0, start, n, total = 0;
	pthread_mutex_lock(&m->lock);
	m->pass_ns = hd_now_ns();
	m->pass_bytes = m->w.bytes;
	pthread_mutex_unlock(&m->lock);
	while (hv_dirty_next_run(bits, pages, &pos, HV_MIG_MAX_RUN, &start, &n)) {
		/* Runs never cross from one RAM region to the next. */
		uint64_t end;
		off_to_gpa(&m->vm->mem, start * PAGE, &end);
		if ((start + n) * PAGE > end) {
			n = end / PAGE - start;
			pos = start + n;
		}
		send_run(m, start, n, first_pass);
		for (uint64_t p = start; p < start + n; p++)
			bits[p / 64] &= ~(1ull << (p % 64));
		total += n;
		if (atomic_load(&m->cancel))
			return -ECANCELED;
		if (m->w.err)
			return m->w.err;
		uint64_t now = hd_now_ns();
		pthread_mutex_lock(&m->lock);
		if (now - m->pass_ns > 50000000ull)
			m->rate = (m->w.bytes - m->pass_bytes) / ((now - m->pass_ns) / 1e9);
		m->bytes = m->w.bytes;
		m->sent_pages += n;
		if (m->remaining >= n)
			m->remaining -= n;
		pthread_mutex_unlock(&m->lock);
	}
	return (int64_t)total;
}

/* The first pass: every page the memory file holds data for (holes are zero, and reading
 * them would allocate them). */
static uint64_t mark_data_pages(struct hv_migration *m, uint64_t *bits)
{
	const struct hv_mem *mem = &m->vm->mem;
	uint64_t count = 0;
	off_t data = 0, hole;
	for (;;) {
		data = lseek(mem->fd, data, SEEK_DATA);
		if (data < 0 || (uint64_t)data >= mem->size) {
			if (data < 0 && errno != ENXIO)
				data = 0, hole = (off_t)mem->size; /* no SEEK_DATA: all of it */
			else
				break;
		} else {
			hole = lseek(mem->fd, data, SEEK_HOLE);
			if (hole < 0 || (uint64_t)hole > mem->size)
				hole = (off_t)mem->size;
		}
		uint64_t first = (uint64_t)data / PAGE, last = ((uint64_t)hole + PAGE - 1) / PAGE;
		if (last > mem->size / PAGE)
			last = mem->size / PAGE;
		for (uint64_t i = first; i < last; i++)
			bits[i / 64] |= 1ull << (i % 64);
		count += last - first;
		if ((uint64_t)hole >= mem->size)
			break;
		data = hole;
	}
	return count;
}

static uint64_t merge_harvest(struct hv_migration *m, int *err)
{
	uint64_t words = hv_dirty_words(m->vm->mem.dirty), count = 0;
	hv_dirty_harvest(m->vm, m->scratch, err);
	for (uint64_t i = 0; i < words; i++) {
		m->pending[i] |= m->scratch[i];
		count += (uint64_t)__builtin_popcountll(m->pending[i]);
	}
	return count;
}

/* ---- the migration ---- */

static int send_config(struct hv_migration *m, char *err, size_t errlen)
{
	struct hv_mig_header h;
	hv_mig_header_init(&h, m->vm->mem.size);
	hv_mig_write(&m->w, &h, sizeof(h));
	struct hv_snap_writer *sw;
	int r = hv_snap_writer_open_mem(&sw, err, errlen);
	if (r < 0)
		return r;
	hv_vm_save_config(m->vm, sw);
	uint8_t *blob;
	size_t len;
	if ((r = hv_snap_writer_take(sw, &blob, &len, err, errlen)) < 0)
		return r;
	unsigned heads = m->vm->cfg.display_heads ? m->vm->cfg.display_heads : 1;
	hv_mig_write_rec(&m->w, HV_MIG_REC_CONFIG, heads, m->vm->id, blob, len);
	free(blob);
	if (hv_mig_flush(&m->w) < 0)
		return m->w.err;
	/* The destination builds its VM from the config first: copying starts once it can take
	 * pages (else the time it takes would land in the downtime), or not at all if it cannot. */
	return hv_migrate_read_line(m->fd, "ready", ACK_TIMEOUT_MS, err, errlen);
}

static int send_device_state(struct hv_migration *m, char *err, size_t errlen)
{
	struct hv_snap_writer *sw;
	int r = hv_snap_writer_open_mem(&sw, err, errlen);
	if (r < 0)
		return r;
	hv_vm_save_state(m->vm, sw);
	uint8_t *blob;
	size_t len;
	if ((r = hv_snap_writer_take(sw, &blob, &len, err, errlen)) < 0)
		return r;
	hv_mig_write_rec(&m->w, HV_MIG_REC_DEVICE, 0, 0, blob, len);
	free(blob);
	return m->w.err;
}

static const char *io_error(struct hv_migration *m, int r)
{
	if (r == -ECANCELED)
		return "cancelled: the VM is stopping";
	if (r == -ETIMEDOUT)
		return "the destination stopped reading (timed out)";
	(void)m;
	return strerror(-r);
}

/* Pre-copy: returns 0 when what is left is small enough to send paused. */
static int precopy(struct hv_migration *m, char *err, size_t errlen)
{
	set_phase(m, "copying");
	uint64_t n = mark_data_pages(m, m->pending);
	/* Pages known poisoned read as zero here (holes, perhaps): they are sent as poisoned. */
	for (unsigned i = 0; i < m->vm->nr_poison; i++) {
		const struct hv_mem *mem = &m->vm->mem;
		for (unsigned k = 0; k < mem->nr_regions; k++) {
			const struct hv_mem_region *r = &mem->regions[k];
			uint64_t g = m->vm->poison[i];
			if (g >= r->gpa && g - r->gpa < r->size) {
				uint64_t pg = (r->fd_offset + g - r->gpa) / PAGE;
				m->pending[pg / 64] |= 1ull << (pg % 64);
			}
		}
	}
	pthread_mutex_lock(&m->lock);
	m->remaining = n;
	pthread_mutex_unlock(&m->lock);
	uint64_t t0 = hd_now_ns(), b0 = m->w.bytes;
	int64_t sent = send_bitmap(m, m->pending, true);
	if (sent < 0) {
		snprintf(err, errlen, "sending RAM: %s", io_error(m, (int)sent));
		return (int)sent;
	}
	uint64_t prev = UINT64_MAX;
	unsigned stalled = 0;
	for (unsigned it = 1;; it++) {
		double secs = (hd_now_ns() - t0) / 1e9;
		double rate = secs > 0 ? (m->w.bytes - b0) / secs : 0;
		int e = 0;
		uint64_t dirty = merge_harvest(m, &e);
		if (e < 0) {
			snprintf(err, errlen, "reading KVM's dirty log: %s", strerror(-e));
			return e;
		}
		hd_debug(TAG, "pass %u: %lld pages sent in %.1f ms, %llu dirty since", it - 1,
			 (long long)sent, secs * 1e3, (unsigned long long)dirty);
		pthread_mutex_lock(&m->lock);
		if (m->nr_iter < HISTORY)
			m->iter_pages[m->nr_iter++] = (uint64_t)sent;
		m->iteration = it;
		m->remaining = dirty;
		if (rate > 0)
			m->rate = rate;
		pthread_mutex_unlock(&m->lock);
		double budget = m->rate * DOWNTIME_BUDGET;
		if ((double)(dirty * PAGE) <= (budget > MIN_REMAINDER ? budget : MIN_REMAINDER))
			return 0;
		stalled = dirty >= prev ? stalled + 1 : 0;
		if (it > MAX_ITER || stalled >= STALL_ITER) {
			hd_info(TAG, "pre-copy does not converge (%llu pages dirty after pass %u): "
				     "switching over anyway",
				(unsigned long long)dirty, it);
			return 0;
		}
		prev = dirty;
		t0 = hd_now_ns();
		b0 = m->w.bytes;
		sent = send_bitmap(m, m->pending, false);
		if (sent < 0) {
			snprintf(err, errlen, "sending RAM: %s", io_error(m, (int)sent));
			return (int)sent;
		}
	}
}

static int switch_over(struct hv_migration *m, uint64_t *pause_ns, char *err, size_t errlen)
{
	set_phase(m, "switching over");
	uint64_t t0 = hd_now_ns();
	int r = hv_vm_pause(m->vm);
	if (r < 0) {
		snprintf(err, errlen, "cannot pause the VM: it is %s",
			 r == -EALREADY ? "paused already" : "stopping");
		return r;
	}
	*pause_ns = t0;
	m->max_rate = 0; /* paused: as fast as it goes */
	hd_debug(TAG, "paused for the switch-over in %.2f ms", (hd_now_ns() - t0) / 1e6);
	if ((r = hv_vm_capture(m->vm)) < 0) {
		snprintf(err, errlen, "cannot read the vCPUs' state: %s", strerror(-r));
		return r;
	}
	uint64_t t_cap = hd_now_ns();
	/* Pages written up to the pause; then the device state; then what saving it wrote. */
	int e = 0;
	uint64_t last = merge_harvest(m, &e);
	int64_t sent = e < 0 ? e : send_bitmap(m, m->pending, false);
	uint64_t t_pages = hd_now_ns();
	if (sent >= 0 && (r = send_device_state(m, err, errlen)) < 0)
		return r;
	uint64_t t_dev = hd_now_ns();
	if (sent >= 0) {
		merge_harvest(m, &e);
		sent = e < 0 ? e : send_bitmap(m, m->pending, false);
	}
	if (sent >= 0 && hv_mig_write_end(&m->w) < 0)
		sent = m->w.err;
	if (sent < 0) {
		snprintf(err, errlen, "sending the final state: %s", io_error(m, (int)sent));
		return (int)sent;
	}
	uint64_t t_sent = hd_now_ns();
	pthread_mutex_lock(&m->lock);
	if (m->nr_iter < HISTORY)
		m->iter_pages[m->nr_iter++] = last;
	m->bytes = m->w.bytes;
	m->remaining = 0;
	m->phase = "waiting for the destination";
	pthread_mutex_unlock(&m->lock);
	r = hv_migrate_read_line(m->fd, "running", ACK_TIMEOUT_MS, err, errlen);
	uint64_t t_ack = hd_now_ns();
	hd_debug(TAG,
		 "switch-over: pause+capture %.2f ms, %llu last pages %.2f ms, device state "
		 "%.2f ms, end %.2f ms, destination restore+answer %.2f ms",
		 (t_cap - *pause_ns) / 1e6, (unsigned long long)last, (t_pages - t_cap) / 1e6,
		 (t_dev - t_pages) / 1e6, (t_sent - t_dev) / 1e6, (t_ack - t_sent) / 1e6);
	return r;
}

static void *mig_thread(void *arg)
{
	struct hv_migration *m = arg;
	struct hv_vm *vm = m->vm;
	char err[512] = "";
	uint64_t pause_ns = 0;
	bool tracing = false;
	size_t words = (size_t)((vm->mem.size / PAGE + 63) / 64);

	m->pending = hd_xzalloc(words * 8 + 8);
	m->scratch = hd_xzalloc(words * 8 + 8);
	m->copy = hd_xmalloc(HV_MIG_MAX_RUN * PAGE);
	hv_mig_writer_init(&m->w, sock_send, m);

	set_phase(m, "connecting");
	int r = connect_to(m, err, sizeof(err));
	if (r == 0)
		set_phase(m, "waiting for the destination");
	if (r == 0 && (r = send_config(m, err, sizeof(err))) < 0 && !err[0])
		snprintf(err, sizeof(err), "sending the header: %s", io_error(m, r));
	if (r == 0) {
		r = hv_dirty_start(vm, err, sizeof(err));
		tracing = r == 0;
		hd_debug(TAG, "tracing writes after %.1f ms", (hd_now_ns() - m->start_ns) / 1e6);
	}
	if (r == 0)
		r = precopy(m, err, sizeof(err));
	if (r == 0)
		r = switch_over(m, &pause_ns, err, sizeof(err));
	uint64_t end_ns = hd_now_ns();
	if (tracing)
		hv_dirty_stop(vm);

	pthread_mutex_lock(&m->lock);
	m->total_ms = (end_ns - m->start_ns) / 1e6;
	if (r == 0) {
		m->downtime_ms = (end_ns - pause_ns) / 1e6;
		m->state = MIG_DONE;
		m->phase = "done";
	} else {
		snprintf(m->error, sizeof(m->error), "%s", err[0] ? err : strerror(-r));
		m->state = MIG_FAILED;
		m->phase = "failed";
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);

	pthread_mutex_lock(&m->lock);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	pthread_mutex_unlock(&m->lock);
	hv_mig_writer_free(&m->w);
	free(m->pending);
	free(m->scratch);
	free(m->copy);
	m->pending = m->scratch = NULL;
	m->copy = NULL;

	if (r < 0) {
		hd_err(TAG, "migration to %s failed: %s; the VM goes on here", m->dest, m->error);
		if (pause_ns)
			hv_vm_resume(vm);
		return NULL;
	}
	/* The VM runs over there now. Give `hyperdesk migrate` a moment to read the summary
	 * (migrate-status), then stop this VMM. */
	hd_info(TAG, "migrated to %s in %.0f ms (downtime %.1f ms)", m->dest, m->total_ms,
		m->downtime_ms);
	pthread_mutex_lock(&m->lock);
	uint64_t until = hd_now_ns() + FINAL_READ_WAIT_MS * 1000000ull;
	while (!m->final_read && !atomic_load(&m->cancel) && hd_now_ns() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	char msg[320];
	snprintf(msg, sizeof(msg), "the VM moved to %s", m->dest);
	vm->migrated_to = hd_xstrdup(m->dest);
	hv_vm_request_stop(vm, HV_EXIT_OK, false, msg);
	return NULL;
}

/* ---- control commands ---- */

static int cmd_migrate(struct hv_vm *vm, void *opaque, const struct hd_json *args,
		       struct hd_buf *result, struct hd_buf *error)
{
	(void)opaque;
	if (!args || args->count < 1 || args->count > 2 || args->items[0]->type != HD_JSON_STRING ||
	    (args->count == 2 && (args->items[1]->type != HD_JSON_NUMBER ||
				  args->items[1]->number < 0 || args->items[1]->number > 1e6))) {
		hd_buf_puts(error, "usage: migrate tcp:HOST:PORT [MAX-MB/S]");
		return -1;
	}
	uint64_t max_rate = args->count == 2 ? (uint64_t)(args->items[1]->number * 1e6) : 0;
	const char *uri = args->items[0]->string;
	char host[256], port[16];
	if (strlen(uri) >= sizeof(((struct hv_migration *)0)->dest) ||
	    hv_migrate_parse_uri(uri, host, sizeof(host), port, sizeof(port)) < 0) {
		hd_buf_printf(error, "'%s' is not a migration address: use tcp:HOST:PORT",
			      strlen(uri) > 200 ? "(too long)" : uri);
		return -1;
	}
	struct hv_migration *m = vm->mig;
	if (!m) {
		m = vm->mig = hd_xzalloc(sizeof(*m));
		m->vm = vm;
		m->fd = -1;
		pthread_mutex_init(&m->lock, NULL);
		pthread_cond_init(&m->cond, NULL);
	}
	pthread_mutex_lock(&m->lock);
	if (m->state == MIG_ACTIVE || m->state == MIG_DONE) {
		pthread_mutex_unlock(&m->lock);
		hd_buf_puts(error, m->state == MIG_ACTIVE ? "a migration is already under way"
							  : "the VM has moved already");
		return -1;
	}
	pthread_mutex_unlock(&m->lock);
	if (m->thread_started) {
		pthread_join(m->thread, NULL);
		m->thread_started = false;
	}
	pthread_mutex_lock(&m->lock);
	m->state = MIG_ACTIVE;
	m->phase = "starting";
	snprintf(m->dest, sizeof(m->dest), "%s", uri);
	m->error[0] = '\0';
	m->start_ns = hd_now_ns();
	m->bytes = m->sent_pages = m->remaining = 0;
	m->ram_pages = vm->mem.size / PAGE;
	m->rate = 0;
	m->iteration = 0;
	m->nr_iter = 0;
	m->poisoned = 0;
	m->total_ms = m->downtime_ms = 0;
	m->final_read = false;
	m->max_rate = max_rate;
	m->rate_start_ns = m->rate_bytes = 0;
	pthread_mutex_unlock(&m->lock);
	if (pthread_create(&m->thread, NULL, mig_thread, m) != 0) {
		m->state = MIG_FAILED;
		hd_buf_puts(error, "cannot start the migration thread");
		return -1;
	}
	m->thread_started = true;
	hd_buf_puts(result, "{\"started\":true,\"to\":");
	hd_json_write_string(result, uri);
	hd_buf_puts(result, "}");
	return 0;
}

static int cmd_migrate_status(struct hv_vm *vm, void *opaque, const struct hd_json *args,
			      struct hd_buf *result, struct hd_buf *error)
{
	(void)opaque;
	(void)args;
	(void)error;
	struct hv_migration *m = vm->mig;
	if (!m) {
		hd_buf_puts(result, "{\"state\":\"none\"}");
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	double elapsed = m->state == MIG_ACTIVE ? (hd_now_ns() - m->start_ns) / 1e6 : m->total_ms;
	hd_buf_printf(result, "{\"state\":\"%s\",\"phase\":", state_names[m->state]);
	hd_json_write_string(result, m->phase ? m->phase : "");
	hd_buf_puts(result, ",\"to\":");
	hd_json_write_string(result, m->dest);
	hd_buf_printf(result,
		      ",\"ram_bytes\":%llu,\"bytes\":%llu,\"pages_sent\":%llu,"
		      "\"remaining_bytes\":%llu,\"rate_mbps\":%.1f,\"iteration\":%u,"
		      "\"elapsed_ms\":%.1f,\"total_ms\":%.1f,\"downtime_ms\":%.2f,"
		      "\"poisoned\":%u,\"pages_per_iteration\":[",
		      (unsigned long long)(m->ram_pages * PAGE), (unsigned long long)m->bytes,
		      (unsigned long long)m->sent_pages, (unsigned long long)(m->remaining * PAGE),
		      m->rate / 1e6, m->iteration, elapsed, m->total_ms, m->downtime_ms,
		      m->poisoned);
	for (unsigned i = 0; i < m->nr_iter; i++)
		hd_buf_printf(result, "%s%llu", i ? "," : "", (unsigned long long)m->iter_pages[i]);
	hd_buf_puts(result, "]");
	if (m->state == MIG_FAILED) {
		hd_buf_puts(result, ",\"error\":");
		hd_json_write_string(result, m->error);
	}
	hd_buf_puts(result, "}");
	if (m->state == MIG_DONE || m->state == MIG_FAILED) {
		m->final_read = true;
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void hv_migrate_register_control(struct hv_vm *vm)
{
	hv_control_register(vm, "migrate",
			    "migrate tcp:HOST:PORT [MAX-MB/S]: move the running VM to a 'vmm "
			    "--incoming' there, copying at most MAX-MB/S while it runs "
			    "(unauthenticated, unencrypted: trusted networks only); follow it "
			    "with migrate-status",
			    cmd_migrate, NULL);
	hv_control_register(vm, "migrate-status",
			    "migrate-status: progress and summary of the last migration",
			    cmd_migrate_status, NULL);
}

void hv_migrate_fini(struct hv_vm *vm)
{
	struct hv_migration *m = vm->mig;
	if (!m)
		return;
	atomic_store(&m->cancel, true);
	pthread_mutex_lock(&m->lock);
	if (m->fd >= 0)
		shutdown(m->fd, SHUT_RDWR); /* unblocks a send or the wait for the answer */
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
	vm->mig = NULL;
}

bool hv_migrate_active(struct hv_vm *vm)
{
	struct hv_migration *m = vm->mig;
	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	bool active = m->state == MIG_ACTIVE;
	pthread_mutex_unlock(&m->lock);
	return active;
}

uint64_t hv_vm_id(const struct hv_vm *vm)
{
	return vm->id;
}

const char *hv_vm_migrated_to(const struct hv_vm *vm)
{
	return vm->migrated_to;
}
