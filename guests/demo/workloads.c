/* workloads.c: the engine workloads (workload=compute|pio|syscall|mixed|checksum): CPL3 loops,
 * system calls, port I/O and memory rewrites ending in a checksum that every engine (and a
 * migrated or restored run) must agree on. Not the desktop. */
#include "cmdline.h"
#include "ulib.h"

/*
 * Each workload is the one in tests/guests/NAME.S (same sizes, same arithmetic, same order),
 * so at the default sizes the checksums equal those guests'. The checksum depends only on the
 * instructions' results: no time, no vCPU count, nothing the host may vary.
 */
#define COMPUTE_ITERS 20000000u
#define PIO_PAIRS     8000u
#define SYSCALL_CALLS 6000u
#define MIXED_ROUNDS  4u
#define MIXED_ITERS   4000000u
#define MIXED_CALLS   1000u
#define MIXED_PIO     2000u
#define CHECKSUM_ROUNDS 256u
#define CHECKSUM_WORDS  (2u << 20) /* 16 MiB rewritten each round */

#define LCG_MUL 6364136223846793005ull
#define LCG_ADD 1442695040888963407ull

/* The compute loop scatters adds over 8 KiB (1024 slots, indexed by the LCG's top 10 bits). */
static uint64_t scatter[1024];

struct work {
	uint64_t x;   /* the LCG's state */
	uint64_t sum; /* the checksum so far */
};

static inline uint64_t rol(uint64_t v, unsigned n)
{
	return v << n | v >> (64 - n);
}

/* Inline rather than ulib's wrappers: these are the loops being measured. Same clobbers. */
static inline uint64_t sys_work_arith(uint64_t x)
{
	long nr = SYS_WORK_ARITH;

	asm volatile("int $0x80"
		     : "+a"(nr), "+D"(x)
		     :
		     : "rcx", "rsi", "rdx", "r8", "r9", "r10", "r11", "memory");
	return (uint64_t)nr;
}

static inline uint64_t sys_work_pio(uint64_t count, uint64_t acc)
{
	long nr = SYS_WORK_PIO;

	asm volatile("int $0x80"
		     : "+a"(nr), "+D"(count), "+S"(acc)
		     :
		     : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
	return (uint64_t)nr;
}

/*
 * x = x * LCG_MUL + LCG_ADD; scatter[x >> 54] += x; sum ^= that slot. In asm, the eight
 * instructions of tests/guests/compute.S: the C compiler's version splits the memory add into
 * load, add and store, and the soft engine's time is per instruction.
 */
static void compute(struct work *w, uint32_t iters)
{
	if (!iters)
		return;
	asm volatile("1:\n\t"
		     "imul %[mul], %[x]\n\t"
		     "add %[add], %[x]\n\t"
		     "mov %[x], %%rdx\n\t"
		     "shr $54, %%rdx\n\t"
		     "add %[x], (%[buf],%%rdx,8)\n\t"
		     "xor (%[buf],%%rdx,8), %[sum]\n\t"
		     "dec %[n]\n\t"
		     "jnz 1b"
		     : [x] "+r"(w->x), [sum] "+r"(w->sum), [n] "+r"(iters)
		     : [mul] "r"(LCG_MUL), [add] "r"(LCG_ADD), [buf] "r"(scatter)
		     : "rdx", "cc", "memory");
}

/* count OUT+IN pairs at CPL3 on the one port the TSS's I/O bitmap allows (kernel.c). */
static uint64_t pio_user(uint32_t count, uint64_t acc)
{
	for (uint32_t i = count; i; i--) {
		uint8_t v;

		asm volatile("outb %b1, %w2\n\t"
			     "inb %w2, %b0"
			     : "=a"(v)
			     : "a"(i), "Nd"(DEMO_WORK_PORT));
		acc = rol(acc, 3) + v;
	}
	return acc;
}

/*
 * workload=checksum: fills 16 MiB deterministically, then each round rewrites every word from
 * the LCG and folds it into the running sum. Every page is dirtied in every round, so a
 * migration in the middle must carry every last page, and any page lost or stale changes the
 * result.
 */
static uint64_t membuf[CHECKSUM_WORDS];

static uint64_t checksum_rounds(struct work *w, uint32_t rounds)
{
	for (uint32_t i = 0; i < CHECKSUM_WORDS; i++) {
		w->x = w->x * LCG_MUL + LCG_ADD;
		membuf[i] = w->x;
	}
	for (uint32_t r = 0; r < rounds; r++)
		for (uint32_t i = 0; i < CHECKSUM_WORDS; i++) {
			w->x = w->x * LCG_MUL + LCG_ADD;
			membuf[i] = rol(membuf[i], 5) ^ w->x;
			w->sum = rol(w->sum, 1) + membuf[i];
		}
	return w->sum;
}

static uint64_t calls(uint32_t n, uint64_t sum)
{
	for (uint32_t i = n; i; i--)
		sum = rol(sum, 7) + sys_work_arith(i ^ sum);
	return sum;
}

__attribute__((noreturn)) void engine_workload_run(const struct demo_opts *o)
{
	struct work w = {0x12345678, 0};
	uint32_t n = o->iterations;

	switch (o->workload) {
	case WORKLOAD_COMPUTE:
		n = n ? n : COMPUTE_ITERS;
		uprintf("workload: compute, %u iterations of an LCG scatter-add at CPL3\n", n);
		uflush();
		compute(&w, n);
		break;
	case WORKLOAD_PIO:
		n = n ? n : PIO_PAIRS;
		uprintf("workload: pio, %u OUT+IN pairs at CPL0, then %u at CPL3\n", n, n);
		uflush();
		w.sum = pio_user(n, sys_work_pio(n, 0));
		break;
	case WORKLOAD_SYSCALL:
		n = n ? n : SYSCALL_CALLS;
		uprintf("workload: syscall, %u int $0x80 round trips\n", n);
		uflush();
		w.sum = calls(n, 0);
		break;
	case WORKLOAD_CHECKSUM:
		n = n ? n : CHECKSUM_ROUNDS;
		uprintf("workload: checksum, %u rounds over %u MiB\n", n, CHECKSUM_WORDS >> 17);
		uflush();
		checksum_rounds(&w, n);
		break;
	default: /* WORKLOAD_MIXED */
		n = n ? n : MIXED_ROUNDS;
		uprintf("workload: mixed, %u rounds of %u compute iterations, %u system calls and "
			"%u OUT+IN pairs at CPL0\n",
			n, MIXED_ITERS, MIXED_CALLS, MIXED_PIO);
		uflush();
		for (uint32_t r = 0; r < n; r++) {
			compute(&w, MIXED_ITERS);
			w.sum = calls(MIXED_CALLS, w.sum);
			w.sum ^= sys_work_pio(MIXED_PIO, w.sum);
		}
		break;
	}
	uprintf("checksum: 0x%016llx\n", (unsigned long long)w.sum);
	uexit(0);
}
