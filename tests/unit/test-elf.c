/* test-elf.c: the ELF loader on good, truncated, corrupt and overlapping images built in
 * memory; a rejected image must leave guest RAM untouched. Not a test of real guest files. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elf-header.h"
#include "hv.h"

#define RAM (8u << 20)

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	uint8_t code[64];
	uint8_t data[64];
};

/* Two segments: code at 1 MiB (entry), data with a bss tail at 2 MiB; a NOTE for good measure. */
static void make_image(struct image *im)
{
	memset(im, 0, sizeof(*im));
	elf_header_init(&im->eh, 0x100010, offsetof(struct image, ph), 3);
	im->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_X,
				 .p_offset = offsetof(struct image, code), .p_paddr = 0x100000,
				 .p_vaddr = 0x100000, .p_filesz = 64, .p_memsz = 64};
	im->ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0, .p_filesz = 4};
	im->ph[2] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_W,
				 .p_offset = offsetof(struct image, data), .p_paddr = 0x200000,
				 .p_vaddr = 0x200000, .p_filesz = 64, .p_memsz = 4096};
	memset(im->code, 0x90, sizeof(im->code));
	memset(im->data, 0xd7, sizeof(im->data));
}

static struct hv_mem mem;

static int setup(void **state)
{
	assert_int_equal(hv_mem_init(&mem, RAM), 0);
	return 0;
}

static int teardown(void **state)
{
	hv_mem_fini(&mem);
	return 0;
}

static bool ram_is_zero(void)
{
	for (size_t i = 0; i < RAM; i++)
		if (mem.base[i])
			return false;
	return true;
}

/* Expects a rejection whose message contains want, with RAM untouched. */
static void expect_reject(const struct image *im, size_t len, const char *want)
{
	struct hv_elf_image out;
	char err[256];
	memset(mem.base, 0, RAM);
	assert_int_equal(hv_elf_load(&mem, im, len, &out, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' does not mention '%s'", err, want);
	assert_true(ram_is_zero());
}

static void test_good_image(void **state)
{
	struct image im;
	struct hv_elf_image out;
	char err[256];
	make_image(&im);
	memset(mem.base, 0xee, RAM); /* the bss tail must be zeroed over old contents */
	assert_int_equal(hv_elf_load(&mem, &im, sizeof(im), &out, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(out.entry, 0x100010);
	assert_int_equal(out.start, 0x100000);
	assert_int_equal(out.end, 0x201000);
	assert_memory_equal(mem.base + 0x100000, im.code, 64);
	assert_memory_equal(mem.base + 0x200000, im.data, 64);
	for (size_t i = 64; i < 4096; i++)
		assert_int_equal(mem.base[0x200000 + i], 0);
	assert_int_equal(mem.base[0x201000], 0xee);
}

static void test_every_truncation(void **state)
{
	struct image im;
	make_image(&im);
	for (size_t len = 0; len < sizeof(im); len++) {
		struct hv_elf_image out;
		char err[256];
		memset(mem.base, 0, RAM);
		/* Each prefix lives in its own exact-size allocation so a sanitizer sees overreads. */
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, &im, len);
		assert_int_equal(hv_elf_load(&mem, copy, len, &out, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		free(copy);
	}
	assert_true(ram_is_zero());
}

static void test_corrupt_headers(void **state)
{
	struct image im;
	make_image(&im);
	im.eh.e_ident[1] = 'X';
	expect_reject(&im, sizeof(im), "bad magic");
	make_image(&im);
	im.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(&im, sizeof(im), "ELF64");
	make_image(&im);
	im.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject(&im, sizeof(im), "little-endian");
	make_image(&im);
	im.eh.e_type = ET_DYN;
	expect_reject(&im, sizeof(im), "static executable");
	make_image(&im);
	im.eh.e_machine = EM_AARCH64;
	expect_reject(&im, sizeof(im), "x86-64");
	make_image(&im);
	im.eh.e_phentsize = 32;
	expect_reject(&im, sizeof(im), "program header size");
	make_image(&im);
	im.eh.e_phnum = 0;
	expect_reject(&im, sizeof(im), "program header count");
	make_image(&im);
	im.eh.e_phnum = 1000;
	expect_reject(&im, sizeof(im), "program header count");
	make_image(&im);
	im.eh.e_phoff = UINT64_MAX - 8;
	expect_reject(&im, sizeof(im), "outside the file");
}

static void test_bad_segments(void **state)
{
	struct image im;
	make_image(&im);
	im.ph[2].p_filesz = 8192;
	expect_reject(&im, sizeof(im), "file size exceeds");
	make_image(&im);
	im.ph[2].p_offset = sizeof(im) - 10;
	expect_reject(&im, sizeof(im), "outside the file");
	make_image(&im);
	im.ph[2].p_offset = UINT64_MAX - 4;
	expect_reject(&im, sizeof(im), "outside the file");
	make_image(&im);
	im.ph[0].p_paddr = 0x9000; /* over the boot page tables */
	expect_reject(&im, sizeof(im), "below");
	make_image(&im);
	im.ph[2].p_paddr = RAM - 100;
	expect_reject(&im, sizeof(im), "does not fit in guest RAM");
	make_image(&im);
	im.ph[2].p_paddr = UINT64_MAX - 100;
	expect_reject(&im, sizeof(im), "wraps");
	make_image(&im);
	im.ph[2].p_paddr = 0x100020; /* inside the code segment */
	expect_reject(&im, sizeof(im), "overlap");
	make_image(&im);
	im.eh.e_entry = 0x200000; /* data segment: not executable */
	expect_reject(&im, sizeof(im), "entry point");
	make_image(&im);
	im.eh.e_entry = 0x100040; /* one past the code */
	expect_reject(&im, sizeof(im), "entry point");
	make_image(&im);
	im.ph[0].p_type = PT_NULL;
	im.ph[2].p_type = PT_NULL;
	expect_reject(&im, sizeof(im), "no loadable segments");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_corrupt_headers),
		cmocka_unit_test(test_bad_segments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
