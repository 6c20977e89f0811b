/* soft-internal.h: what the soft engine's files share: the per-vCPU engine (struct hv_soft),
 * its constants, and the page walk, CPL and delivery helpers. Private to soft*.c; the rest of
 * hypervisor-core uses the hv_soft_* calls in hv-internal.h. Only built with Unicorn. */
#ifndef HV_SOFT_INTERNAL_H
#define HV_SOFT_INTERNAL_H

#include <unicorn/unicorn.h>

#include "hv-internal.h"

#define RFLAGS_TF  (1ull << 8)
#define RFLAGS_IF  (1ull << 9)
#define RFLAGS_NT  (1ull << 14)
#define RFLAGS_RF  (1ull << 16)
#define RFLAGS_VM  (1ull << 17)
#define EFER_MSR   0xc0000080u
#define HFLAGS_OFF 176 /* QEMU CPUX86State: regs[16], eip, eflags, cc_dst/src/src2, cc_op, df */
#define HF_LONG    ((1u << 7) | (1u << 14) | (1u << 15)) /* PE, LMA, CS64 */
#define CODE_PAGES 256 /* code pages remembered for invalidation (power of two) */
#define STOP_NONE  (-1)

/* The CPUID of the soft engine's CPU model, taken once per VM from a scratch engine. */
struct hv_soft_cpuid {
	unsigned n;
	struct {
		uint32_t leaf, sub, r[4];
	} e[16];
};

struct code_page {
	uint64_t vpage; /* guest-virtual page the soft engine ran code from; 0 = free */
	uint64_t gpa;   /* its guest-physical page then */
	_Atomic bool stale;
};

struct hv_soft {
	struct hv_vcpu *vcpu;
	uc_engine *uc;
	uc_context *ctx;
	size_t hflags_off; /* offset of hflags in the context blob */
	int stop;          /* enum hv_soft_exit once a hook decided to stop, else STOP_NONE */
	bool leave_on_user;
	uint64_t insns, next_check, last_io_insn, start_ns;
	unsigned irq_seen;
	/* An `int n` or fault seen by the INTR hook, delivered after uc_emu_start returns. */
	bool intr_pending;
	uint32_t intr_no;
	uint64_t fixup_rip; /* RIP to resume at after a hook-initiated hand-back, or 0 */
	uint64_t last_vpage;
	pthread_mutex_t lock; /* code_pages inserts and stale marks */
	struct code_page code[CODE_PAGES];
	bool warned_seg;
	struct hv_cpu_state base; /* the state last loaded: hidden parts and xsave beyond SSE */
	/* Write tracing for a migration (soft.c): the UC_HOOK_MEM_WRITE hook, installed only
	 * while the VM's dirty tracking is active, and its last translation. */
	uc_hook write_hook;
	bool write_hooked;
	bool code_overflow; /* some code page ran that code[] could not remember */
	uint64_t wr_cr3, wr_vpage, wr_gpage;
};

/* Page walk (soft-intr.c): guest-virtual to guest-physical with the 4-level tables at cr3
 * (the soft engine only runs long mode), and reads/writes through it. */
int hv_soft_gva_to_gpa(struct hv_vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa);
int hv_soft_gva_rw(struct hv_vm *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len,
		   bool write);
/* Is the instruction before rip `int no`? (soft-intr.c) */
bool hv_soft_is_int(struct hv_soft *sf, uint64_t rip, uint32_t no, uint64_t cr3);
/* Delivers vector vec through the guest IDT with the return address rip (soft-intr.c);
 * 0 or -errno. */
int hv_soft_deliver(struct hv_soft *sf, uint32_t vec, uint64_t rip, bool soft_int);
/* CPL through the saved context (soft-state.c). */
int hv_soft_set_cpl(struct hv_soft *sf, unsigned cpl);
int hv_soft_find_hflags(struct hv_soft *sf);

#endif
