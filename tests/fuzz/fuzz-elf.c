/* fuzz-elf.c: libFuzzer target for the ELF loader: any byte string is either loaded inside
 * guest RAM or refused with a message. Not a test of what the loaded guest does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_mem mem;
	static bool ready;
	if (!ready) {
		if (hv_mem_init(&mem, 4u << 20) < 0)
			abort();
		ready = true;
	}
	struct hv_elf_image img;
	char err[256];
	err[0] = 'x';
	/* An exact-size copy, so reads past the end are caught by the sanitizer. */
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	int r = hv_elf_load(&mem, copy, size, &img, err, sizeof(err));
	if (r == 0 && (img.start < HV_GUEST_LOAD_MIN || img.end > mem.size || img.entry < img.start ||
		       img.entry >= img.end))
		abort(); /* the loader accepted something outside its own rules */
	if (r != 0 && err[0] == '\0')
		abort(); /* every refusal explains itself */
	free(copy);
	return 0;
}
