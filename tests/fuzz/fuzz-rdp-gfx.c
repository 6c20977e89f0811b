/* fuzz-rdp-gfx.c: libFuzzer target for what the broker decides from a GFX client's messages
 * (display-broker/rdp-gfx.c): the capability sets of a CapsAdvertise (as FreeRDP hands them
 * over, parsed) and a stream of FrameAcknowledge values against frames being sent. Checks
 * that the choice is one of the offered sets, that AVC420 is never chosen where a set
 * disables it, and that pacing lets a frame out only while fewer than RDP_GFX_MAX_UNACKED are
 * unacknowledged or the client suspended acknowledgements. Not a unit test: no expected
 * outputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdp-gfx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-rdp-gfx: check failed: %s (line %d)\n", #cond,       \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The 10.x versions the broker knows; a set of any other version is ignored, flags and all. */
static bool known_v10(uint32_t v)
{
	static const uint32_t known[] = {
	    RDPGFX_CAPVERSION_10,  RDPGFX_CAPVERSION_101,     RDPGFX_CAPVERSION_102,
	    RDPGFX_CAPVERSION_103, RDPGFX_CAPVERSION_104,     RDPGFX_CAPVERSION_105,
	    RDPGFX_CAPVERSION_106, RDPGFX_CAPVERSION_106_ERR, RDPGFX_CAPVERSION_107};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (v == known[i])
			return true;
	return false;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Input: one byte n (capability sets, up to 32), n x (version, flags) little-endian, then
 * records of 9 bytes: an action byte (odd: the server sends a frame if pacing allows) and a
 * FrameAcknowledge's queueDepth and frameId. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	unsigned n = data[0] % 33;
	data++;
	size--;
	if (size < n * 8u)
		return 0;
	RDPGFX_CAPSET sets[32] = {0};
	for (unsigned i = 0; i < n; i++)
		sets[i] = (RDPGFX_CAPSET){
		    .version = rd32(data + i * 8), .length = 4, .flags = rd32(data + i * 8 + 4)};
	data += n * 8u;
	size -= n * 8u;
	RDPGFX_CAPSET out;
	bool avc = false;
	if (rdp_gfx_choose_caps(sets, n, &out, &avc)) {
		bool offered = false, disabled = false;
		for (unsigned i = 0; i < n; i++) {
			offered |= sets[i].version == out.version && sets[i].flags == out.flags;
			disabled |= known_v10(sets[i].version) &&
				    (sets[i].flags & RDPGFX_CAPS_FLAG_AVC_DISABLED);
		}
		CHECK(offered);
		CHECK(out.length == 4);
		CHECK(!(avc && disabled));
	} else {
		CHECK(!avc);
	}

	struct rdp_gfx_pace p = {0};
	for (; size >= 9; data += 9, size -= 9) {
		if ((data[0] & 1) && rdp_gfx_pace_can_send(&p)) {
			/* A frame goes only within the window, or while acknowledgements are
			 * suspended (after which the window is closed until they catch up). */
			CHECK(p.suspended || rdp_gfx_pace_unacked(&p) < RDP_GFX_MAX_UNACKED);
			p.sent++;
		}
		uint32_t before = p.acked;
		rdp_gfx_pace_ack(&p, rd32(data + 1), rd32(data + 5));
		/* acked moves only forward and never past what was sent. */
		CHECK(p.acked == before || (int32_t)(p.acked - before) > 0);
		CHECK((int32_t)(p.sent - p.acked) >= 0);
	}
	return 0;
}
