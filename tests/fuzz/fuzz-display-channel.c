/* fuzz-display-channel.c: libFuzzer target for the display channel's codec (common/
 * display-channel.c): decode arbitrary packets as either side would, and re-encode what was
 * accepted, which must decode to the same message. Not a socket test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz-display-channel: check failed: %s (line %d)\n", \
				#cond, __LINE__);                                          \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Input: one byte of set-up (low 2 bits: descriptors that came along; the next 5: heads the
 * receiver knows), then the packet. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[HD_CHAN_MAX_PACKET];
	if (size < 1)
		return 0;
	unsigned nfds = data[0] & 3, heads = (data[0] >> 2) & 31;
	struct hd_chan_msg m, m2;
	char err[160];
	if (hd_chan_decode(data + 1, size - 1, nfds, heads, &m, err, sizeof(err)) < 0) {
		CHECK(strlen(err) > 0 && strlen(err) < sizeof(err));
		return 0;
	}
	CHECK(size - 1 <= HD_CHAN_MAX_PACKET);
	CHECK(nfds == (hd_chan_wants_fd(&m) ? 1u : 0u));
	size_t len = hd_chan_encode(&m, out, sizeof(out));
	CHECK(len == size - 1);
	CHECK(memcmp(out, data + 1, len) == 0 || m.type == HD_CHAN_HELLO || m.type == HD_CHAN_MODE ||
	      m.type == HD_CHAN_ACK || m.type == HD_CHAN_DISPLAY || m.type == HD_CHAN_INPUT);
	CHECK(hd_chan_decode(out, len, nfds, heads, &m2, err, sizeof(err)) == 0);
	CHECK(m2.type == m.type);
	return 0;
}
