/* poison.c: reading guest RAM so that a memory error on a page (SIGBUS) becomes -EIO for that
 * read instead of the end of the VMM, and the test switch that makes chosen pages fail that
 * way. Not what a migration does with a poisoned page (migrate.c, migrate-in.c).
 *
 * A read of guest RAM through our mapping can raise SIGBUS: a page the kernel found an
 * uncorrectable error in, or (the test switch) a page of the mapping replaced by a page of
 * an empty file. pread() on the memory file would not see the second kind and the first only
 * on some kernels, so the copy is a plain memcpy guarded by a SIGBUS handler that returns
 * through siglongjmp when, and only when, this thread armed it around the copy. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG  "poison"
#define PAGE 4096ull

static _Thread_local sigjmp_buf *armed;
static struct sigaction old_bus;
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	sigjmp_buf *env = armed;
	if (env) {
		armed = NULL;
		siglongjmp(*env, 1);
	}
	/* Not a guarded copy: whoever handled SIGBUS before us, else the default (which ends
	 * the process when the faulting instruction runs again, as it would have). */
	if ((old_bus.sa_flags & SA_SIGINFO) && old_bus.sa_sigaction) {
		old_bus.sa_sigaction(sig, si, uctx);
		return;
	}
	if (!(old_bus.sa_flags & SA_SIGINFO) && old_bus.sa_handler != SIG_DFL &&
	    old_bus.sa_handler != SIG_IGN) {
		old_bus.sa_handler(sig);
		return;
	}
	signal(SIGBUS, SIG_DFL);
}

/* Installs the handler unless it is in place (someone may have replaced it since: a test
 * harness does); what was there is chained to. */
static void install_handler(void)
{
	struct sigaction cur;
	if (sigaction(SIGBUS, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == on_sigbus)
		return;
	pthread_mutex_lock(&bus_lock);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	/* NODEFER: we leave the handler by siglongjmp without restoring the mask. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	struct sigaction prev;
	if (sigaction(SIGBUS, &sa, &prev) == 0 &&
	    !((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == on_sigbus))
		old_bus = prev;
	pthread_mutex_unlock(&bus_lock);
}

int hv_mem_copy_safe(void *dst, const void *src, size_t len)
{
	install_handler();
	sigjmp_buf env;
	if (sigsetjmp(env, 0))
		return -EIO; /* the handler disarmed */
	armed = &env;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, len);
	atomic_signal_fence(memory_order_seq_cst);
	armed = NULL;
	return 0;
}

int hv_mem_poison(struct hv_mem *m, uint64_t gpa)
{
	static int empty_fd = -1;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uint8_t *p = hv_mem_ptr(m, gpa & ~(PAGE - 1), PAGE);
	if (!p)
		return -EFAULT;
	pthread_mutex_lock(&lock);
	if (empty_fd < 0)
		empty_fd = memfd_create("hyperdesk-poison", MFD_CLOEXEC);
	int fd = empty_fd;
	pthread_mutex_unlock(&lock);
	if (fd < 0)
		return -errno;
	/* A page past the end of an empty file: any access raises SIGBUS, as a hardware-poisoned
	 * page does; the guest (through KVM) sees a fault on it. */
	if (mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

int hv_vm_poison_page(struct hv_vm *vm, uint64_t gpa)
{
	/* Give the page contents first, as a page in use would have: a hole in the memory file
	 * is known to be zero and never read. */
	uint8_t *p = hv_mem_ptr(&vm->mem, gpa & ~(PAGE - 1), PAGE);
	if (!p)
		return -EFAULT;
	memset(p, 0xa5, PAGE);
	int r = hv_mem_poison(&vm->mem, gpa);
	if (r == 0)
		hd_warn(TAG, "fault injection: guest page 0x%llx now reads as poisoned",
			(unsigned long long)(gpa & ~(PAGE - 1)));
	return r;
}
