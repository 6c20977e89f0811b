/* test-engine.c: vCPU state moved KVM -> soft engine -> KVM comes back bit for bit (random
 * GPRs, flags, CR2, FS/GS bases, MSRs, x87/SSE state, CPL0 and CPL3 segments), and the
 * selector's tunables parse. Needs /dev/kvm and Unicorn for the round trip: skipped without. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf-header.h"
#include "hv-internal.h"

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t code[16];
};

static void make_image(struct image *im)
{
	memset(im, 0, sizeof(*im));
	elf_header_init(&im->eh, 0x100000, offsetof(struct image, ph), 1);
	im->ph = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_X,
			      .p_offset = offsetof(struct image, code), .p_paddr = 0x100000,
			      .p_vaddr = 0x100000, .p_filesz = 16, .p_memsz = 16};
	memset(im->code, 0xf4, sizeof(im->code)); /* hlt */
}

static uint64_t rnd(void)
{
	return ((uint64_t)(unsigned)rand() << 62) ^ ((uint64_t)(unsigned)rand() << 31) ^
	       (uint64_t)(unsigned)rand();
}

/* A canonical 48-bit address, either half. */
static uint64_t canon(void)
{
	uint64_t v = rnd() & 0x00007fffffffffffull;
	return (rand() & 1) ? v | 0xffff800000000000ull : v;
}

/* GDT with user segments: 0x08 kernel code, 0x10 kernel data, 0x20 user data, 0x28 user
 * code (64-bit). */
static const uint64_t gdt[6] = {
	0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0,
	0x00cff3000000ffffull, 0x00affb000000ffffull,
};

static void randomize(struct hv_cpu_state *s, bool user)
{
	__u64 *gprs[] = {&s->regs.rax, &s->regs.rbx, &s->regs.rcx, &s->regs.rdx,
			    &s->regs.rsi, &s->regs.rdi, &s->regs.rsp, &s->regs.rbp,
			    &s->regs.r8,  &s->regs.r9,  &s->regs.r10, &s->regs.r11,
			    &s->regs.r12, &s->regs.r13, &s->regs.r14, &s->regs.r15};
	for (size_t i = 0; i < 16; i++)
		*gprs[i] = rnd();
	s->regs.rip = canon();
	/* Arithmetic flags, DF, IF and IOPL; bit 1 is always set. */
	s->regs.rflags = 0x2 | (rnd() & (0x8d5 | 0x400 | 0x200 | 0x3000));
	s->sregs.cr2 = rnd();
	s->sregs.fs.base = canon();
	s->sregs.gs.base = canon();
	s->sregs.gdt.limit = sizeof(gdt) - 1;
	if (user) {
		struct kvm_segment cs = s->sregs.cs, ds = s->sregs.ds;
		cs.selector = 0x2b;
		cs.dpl = 3;
		ds.selector = 0x23;
		ds.dpl = 3;
		s->sregs.cs = cs;
		ds.base = 0;
		s->sregs.ss = s->sregs.ds = s->sregs.es = ds;
		struct kvm_segment fs = ds, gs = ds;
		fs.base = s->sregs.fs.base;
		gs.base = s->sregs.gs.base;
		s->sregs.fs = fs;
		s->sregs.gs = gs;
	}
	s->msr[HV_MSR_STAR] = rnd() & 0xffffffff00000000ull;
	s->msr[HV_MSR_LSTAR] = canon();
	s->msr[HV_MSR_CSTAR] = canon();
	s->msr[HV_MSR_SFMASK] = rnd() & 0xffffffffull;
	s->msr[HV_MSR_KERNEL_GS_BASE] = canon();
	s->msr[HV_MSR_SYSENTER_CS] = rnd() & 0xffff;
	s->msr[HV_MSR_SYSENTER_ESP] = canon();
	s->msr[HV_MSR_SYSENTER_EIP] = canon();
	s->msr[HV_MSR_TSC_AUX] = rnd() & 0xffffffffull;
	static const uint8_t pat_types[] = {0, 1, 4, 5, 6, 7};
	uint64_t pat = 0;
	for (int i = 0; i < 8; i++)
		pat |= (uint64_t)pat_types[rand() % 6] << (8 * i);
	s->msr[HV_MSR_PAT] = pat;

	uint8_t *x = (uint8_t *)s->xsave.region;
	uint16_t fcw = (uint16_t)(0x037f & ~(rnd() & 0x3f)) | (uint16_t)((rnd() & 3) << 10);
	uint16_t fsw = (uint16_t)((rnd() & 7) << 11); /* TOP */
	uint32_t mxcsr = 0x1f80 | (uint32_t)(rnd() & 0x3f) | (uint32_t)((rnd() & 3) << 13);
	memcpy(x, &fcw, 2);
	memcpy(x + 2, &fsw, 2);
	x[4] = (uint8_t)rnd(); /* abridged tag */
	memcpy(x + 24, &mxcsr, 4);
	for (int i = 0; i < 8; i++) {
		uint64_t mant = rnd() | (1ull << 63); /* normal numbers */
		uint16_t se = (uint16_t)(0x3fff + (int)(rnd() % 64) - 32) | (uint16_t)((rnd() & 1) << 15);
		memset(x + 32 + 16 * i, 0, 16);
		memcpy(x + 32 + 16 * i, &mant, 8);
		memcpy(x + 40 + 16 * i, &se, 2);
	}
	for (int i = 0; i < 16 * 16; i += 8) {
		uint64_t v = rnd();
		memcpy(x + 160 + i, &v, 8);
	}
}

static void seg_equal(const char *name, const struct kvm_segment *a, const struct kvm_segment *b)
{
	if (a->selector != b->selector || a->base != b->base || a->limit != b->limit ||
	    a->type != b->type || a->present != b->present || a->dpl != b->dpl || a->db != b->db ||
	    a->s != b->s || a->l != b->l || a->g != b->g) {
		print_error("%s: sel %x/%x base %llx/%llx limit %x/%x type %u/%u p %u/%u dpl %u/%u "
			    "db %u/%u s %u/%u l %u/%u g %u/%u\n",
			    name, a->selector, b->selector, (unsigned long long)a->base,
			    (unsigned long long)b->base, a->limit, b->limit, a->type, b->type,
			    a->present, b->present, a->dpl, b->dpl, a->db, b->db, a->s, b->s, a->l,
			    b->l, a->g, b->g);
		fail();
	}
}

static void state_equal(const struct hv_cpu_state *a, const struct hv_cpu_state *b)
{
	assert_memory_equal(&a->regs, &b->regs, sizeof(a->regs));
	const struct kvm_sregs *x = &a->sregs, *y = &b->sregs;
	seg_equal("cs", &x->cs, &y->cs);
	seg_equal("ds", &x->ds, &y->ds);
	seg_equal("es", &x->es, &y->es);
	seg_equal("fs", &x->fs, &y->fs);
	seg_equal("gs", &x->gs, &y->gs);
	seg_equal("ss", &x->ss, &y->ss);
	seg_equal("tr", &x->tr, &y->tr);
	assert_int_equal(x->cr0, y->cr0);
	assert_int_equal(x->cr2, y->cr2);
	assert_int_equal(x->cr3, y->cr3);
	assert_int_equal(x->cr4, y->cr4);
	assert_int_equal(x->efer, y->efer);
	assert_int_equal(x->gdt.base, y->gdt.base);
	assert_int_equal(x->gdt.limit, y->gdt.limit);
	assert_int_equal(x->idt.base, y->idt.base);
	assert_int_equal(x->idt.limit, y->idt.limit);
	for (int i = 0; i < HV_MSR_COUNT; i++)
		if (a->msr[i] != b->msr[i]) {
			print_error("MSR %#x: %llx != %llx\n", hv_msr_index[i],
				    (unsigned long long)a->msr[i], (unsigned long long)b->msr[i]);
			fail();
		}
	const uint8_t *p = (const uint8_t *)a->xsave.region, *q = (const uint8_t *)b->xsave.region;
	assert_memory_equal(p, q, 6);           /* FCW, FSW, abridged FTW */
	assert_memory_equal(p + 24, q + 24, 4); /* MXCSR */
	for (int i = 0; i < 8; i++)
		assert_memory_equal(p + 32 + 16 * i, q + 32 + 16 * i, 10);
	assert_memory_equal(p + 160, q + 160, 256); /* XMM0-15 */
}

static void test_round_trip(void **state)
{
	if (!hv_soft_engine_built())
		skip();
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		skip();
	struct image im;
	make_image(&im);
	struct hv_vm_config cfg = {
		.mem_size = 8u << 20,
		.vcpus = 1,
		.engine = "soft",
		.image = &im,
		.image_len = sizeof(im),
		.guest_name = "round-trip",
		.serial_out_fd = -1,
		.serial_in_fd = -1,
	};
	struct hv_vm *vm;
	char err[256];
	if (hv_vm_create(&cfg, &vm, err, sizeof(err)) < 0) {
		print_message("cannot create a VM: %s\n", err);
		skip();
	}
	if (!vm->have_kvm) {
		hv_vm_destroy(vm);
		skip();
	}
	assert_int_equal(hv_mem_write(hv_vm_mem(vm), HV_BOOT_GDT_GPA, gdt, sizeof(gdt)), 0);
	struct hv_vcpu *vcpu = &vm->vcpus[0];
	struct hv_cpu_state *want = calloc(1, sizeof(*want));
	struct hv_cpu_state *mid = calloc(1, sizeof(*mid));
	struct hv_cpu_state *got = calloc(1, sizeof(*got));
	assert_non_null(want);
	assert_non_null(mid);
	assert_non_null(got);
	srand(42);
	for (int round = 0; round < 40; round++) {
		hv_cpu_entry_state(vcpu, want);
		assert_int_equal(hv_kvm_get_state(vcpu, mid), 0);
		want->sregs.apic_base = mid->sregs.apic_base;
		memcpy((uint8_t *)want->xsave.region + 512, (uint8_t *)mid->xsave.region + 512,
		       sizeof(want->xsave.region) - 512);
		randomize(want, round & 1);
		assert_int_equal(hv_kvm_set_state(vcpu, want), 0);
		/* What KVM holds is the reference: it normalises some fields itself. */
		assert_int_equal(hv_kvm_get_state(vcpu, want), 0);
		assert_int_equal(hv_soft_set_state(vcpu, want), 0);
		memset(mid, 0, sizeof(*mid));
		assert_int_equal(hv_soft_get_state(vcpu, mid), 0);
		assert_int_equal(hv_kvm_set_state(vcpu, mid), 0);
		assert_int_equal(hv_kvm_get_state(vcpu, got), 0);
		state_equal(want, got);
	}
	free(want);
	free(mid);
	free(got);
	hv_vm_destroy(vm);
}

static void test_tunables(void **state)
{
	struct hv_engine_tune t;
	char err[256];
	hv_engine_tune_defaults(&t);
	assert_int_equal(hv_engine_tune_set(&t, "burst_exits=9", err, sizeof(err)), 0);
	assert_int_equal(t.burst_exits, 9);
	assert_int_equal(hv_engine_tune_set(&t, "burst_exits=0", err, sizeof(err)), -EINVAL);
	assert_int_equal(hv_engine_tune_set(&t, "burst_exits=-1", err, sizeof(err)), -EINVAL);
	assert_int_equal(hv_engine_tune_set(&t, "burst_exits", err, sizeof(err)), -EINVAL);
	assert_int_equal(hv_engine_tune_set(&t, "nope=1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown"));
	assert_int_equal(hv_engine_tune_set(&t, "hot_rips=65", err, sizeof(err)), -EINVAL);
	assert_int_equal(hv_engine_tune_set(&t, "sample_us=0", err, sizeof(err)), 0);
	assert_int_equal(t.sample_us, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tunables),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
