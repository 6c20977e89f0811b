/* test-display-channel.c: the display channel's codec and socket helpers: every message round
 * trips, hostile packets are refused with a reason, a framebuffer fd crosses a socket. Not the
 * broker or the VMM's link (tests/integration/broker.sh). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hd-channel.h"

static struct hd_chan_msg sample(enum hd_chan_type t)
{
	static uint8_t image[HD_CHAN_CURSOR_BYTES];
	struct hd_chan_msg m = {.type = t};
	switch (t) {
	case HD_CHAN_HELLO:
		m.u.hello.version = HD_CHAN_VERSION;
		m.u.hello.role = HD_CHAN_ROLE_VMM;
		m.u.hello.heads = 2;
		m.u.hello.pid = 42;
		strcpy(m.u.hello.name, "vmm-42");
		break;
	case HD_CHAN_MODE:
		m.u.mode.head = 1;
		m.u.mode.width = 1280;
		m.u.mode.height = 720;
		m.u.mode.stride = 5120;
		m.u.mode.format = HD_CHAN_FORMAT_XRGB8888;
		m.u.mode.fb_size = 5120 * 720;
		break;
	case HD_CHAN_DAMAGE:
		m.u.damage.head = 0;
		m.u.damage.frame = 7;
		m.u.damage.nr_rects = 2;
		m.u.damage.rects[0] = (struct hd_chan_rect){1, 2, 3, 4};
		m.u.damage.rects[1] = (struct hd_chan_rect){0, 0, 1280, 720};
		break;
	case HD_CHAN_CURSOR:
		memset(image, 0xab, sizeof(image));
		m.u.cursor.flags = HD_CHAN_CURSOR_VISIBLE | HD_CHAN_CURSOR_IMAGE;
		m.u.cursor.x = -3;
		m.u.cursor.y = 10;
		m.u.cursor.hot_x = 1;
		m.u.cursor.serial = 9;
		m.u.cursor.image = image;
		break;
	case HD_CHAN_DISPLAY:
		m.u.display.head = 1;
		m.u.display.width = 1600;
		m.u.display.height = 900;
		m.u.display.width_mm = 423;
		m.u.display.height_mm = 238;
		m.u.display.depth = 16;
		break;
	case HD_CHAN_INPUT:
		m.u.input.kind = HD_CHAN_INPUT_POINTER;
		m.u.input.a = 100;
		m.u.input.b = 200;
		m.u.input.c = 1;
		break;
	case HD_CHAN_ACK:
		m.u.ack.head = 1;
		m.u.ack.frame = 1ull << 40;
		break;
	case HD_CHAN_BYE:
		m.u.bye.code = 3;
		strcpy(m.u.bye.text, "the VM stopped");
		break;
	case HD_CHAN_VMID:
		m.u.vmid.id = 0x0123456789abcdefull;
		m.u.vmid.flags = HD_CHAN_VMID_ARRIVED;
		break;
	}
	return m;
}

static void test_roundtrip(void **state)
{
	uint8_t buf[HD_CHAN_MAX_PACKET], again[HD_CHAN_MAX_PACKET];
	for (int t = HD_CHAN_HELLO; t <= HD_CHAN_VMID; t++) {
		struct hd_chan_msg m = sample((enum hd_chan_type)t), d;
		size_t len = hd_chan_encode(&m, buf, sizeof(buf));
		assert_true(len >= HD_CHAN_HDR_SIZE);
		char err[128] = "";
		assert_int_equal(hd_chan_decode(buf, len, hd_chan_wants_fd(&m), 2, &d, err,
						 sizeof(err)),
				 0);
		assert_int_equal(d.type, t);
		assert_int_equal(hd_chan_encode(&d, again, sizeof(again)), len);
		assert_memory_equal(buf, again, len);
	}
}

/* INPUT kind 3 (a PC scancode from RDP): 7-bit codes, or 0xe0-prefixed ones; nothing else. */
static void test_scancode(void **state)
{
	static const struct {
		uint32_t code;
		int ok;
	} cases[] = {{0x1c, 1}, {0x7f, 1}, {0xe048, 1}, {0xe07f, 1}, {0x80, 0},
		     {0xe080, 0}, {0xe100, 0}, {0xe11d, 0}, {0xffffffffu, 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[HD_CHAN_MAX_PACKET];
		struct hd_chan_msg m = {.type = HD_CHAN_INPUT}, d;
		m.u.input.kind = HD_CHAN_INPUT_SCANCODE;
		m.u.input.a = cases[i].code;
		m.u.input.b = 1;
		size_t len = hd_chan_encode(&m, buf, sizeof(buf));
		char err[128] = "";
		int r = hd_chan_decode(buf, len, 0, 1, &d, err, sizeof(err));
		assert_int_equal(r == 0, cases[i].ok);
		if (r == 0)
			assert_int_equal(d.u.input.a, cases[i].code);
	}
}

static int decode_sample(enum hd_chan_type t, void (*mutate)(uint8_t *buf, size_t *len),
			 unsigned nfds, char *err, size_t errlen)
{
	uint8_t buf[HD_CHAN_MAX_PACKET + 16];
	struct hd_chan_msg m = sample(t), d;
	size_t len = hd_chan_encode(&m, buf, HD_CHAN_MAX_PACKET);
	if (mutate)
		mutate(buf, &len);
	return hd_chan_decode(buf, len, nfds, 2, &d, err, errlen);
}

static void truncate_one(uint8_t *buf, size_t *len) { (*len)--; buf[4] = (uint8_t)*len; }
static void bad_magic(uint8_t *buf, size_t *len) { buf[8] ^= 1; }
static void head_out_of_range(uint8_t *buf, size_t *len) { buf[8] = 2; }
static void huge_mode(uint8_t *buf, size_t *len) { buf[12 + 2] = 0x10; }
static void small_stride(uint8_t *buf, size_t *len) { buf[20] = 0; buf[21] = 0; }
static void many_rects(uint8_t *buf, size_t *len) { buf[12] = 65; }
static void rect_overflow(uint8_t *buf, size_t *len) { memset(buf + 24, 0xff, 4); }
static void unknown_type(uint8_t *buf, size_t *len) { buf[0] = 99; }
static void reserved_bits(uint8_t *buf, size_t *len) { buf[2] = 1; }
static void tiny_display(uint8_t *buf, size_t *len) { buf[12] = 8; buf[13] = 0; }
static void odd_depth(uint8_t *buf, size_t *len) { buf[8 + 20] = 17; }
static void length_lies(uint8_t *buf, size_t *len) { buf[4] ^= 4; }
static void zero_id(uint8_t *buf, size_t *len) { memset(buf + 8, 0, 8); }
static void unknown_flag(uint8_t *buf, size_t *len) { buf[16] = 2; }

static void test_hostile(void **state)
{
	char err[128];
	struct {
		enum hd_chan_type t;
		void (*mutate)(uint8_t *, size_t *);
		unsigned nfds;
		const char *why;
	} cases[] = {
		{HD_CHAN_HELLO, truncate_one, 0, "wrong size"},
		{HD_CHAN_HELLO, bad_magic, 0, "magic"},
		{HD_CHAN_MODE, head_out_of_range, 1, "head 2 of 2"},
		{HD_CHAN_MODE, huge_mode, 1, "out of range"},
		{HD_CHAN_MODE, small_stride, 1, "stride"},
		{HD_CHAN_MODE, NULL, 0, "file descriptors"},
		{HD_CHAN_DAMAGE, NULL, 1, "file descriptors"},
		{HD_CHAN_DAMAGE, many_rects, 0, "65 rectangles"},
		{HD_CHAN_DAMAGE, rect_overflow, 0, "out of range"},
		{HD_CHAN_CURSOR, truncate_one, 0, "wrong size"},
		{HD_CHAN_DISPLAY, tiny_display, 0, "out of range"},
		{HD_CHAN_DISPLAY, odd_depth, 0, "17 bits a pixel"},
		{HD_CHAN_ACK, unknown_type, 0, "unknown message type"},
		{HD_CHAN_ACK, reserved_bits, 0, "reserved"},
		{HD_CHAN_BYE, length_lies, 0, "bytes"},
		{HD_CHAN_VMID, zero_id, 0, "id 0"},
		{HD_CHAN_VMID, unknown_flag, 0, "unknown flags"},
		{HD_CHAN_VMID, truncate_one, 0, "wrong size"},
		{HD_CHAN_VMID, NULL, 1, "file descriptors"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		int r = decode_sample(cases[i].t, cases[i].mutate, cases[i].nfds, err, sizeof(err));
		if (r != -EPROTO || !strstr(err, cases[i].why))
			fail_msg("case %zu: r=%d err='%s', want '%s'", i, r, err, cases[i].why);
	}
	uint8_t tiny[4] = {0};
	struct hd_chan_msg d;
	assert_int_equal(hd_chan_decode(tiny, sizeof(tiny), 0, 2, &d, err, sizeof(err)), -EPROTO);
}

static void test_socket_fd(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int mfd = memfd_create("test-fb", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 5120 * 720), 0);
	struct hd_chan_msg m = sample(HD_CHAN_MODE);
	assert_int_equal(hd_chan_send(sv[0], &m, mfd), 0);
	uint8_t buf[HD_CHAN_MAX_PACKET];
	int fd = -1;
	long n = hd_chan_recv(sv[1], buf, sizeof(buf), &fd);
	assert_true(n > 0);
	assert_true(fd >= 0 && fd != mfd);
	struct hd_chan_msg d;
	char err[128];
	assert_int_equal(hd_chan_decode(buf, (size_t)n, 1, 2, &d, err, sizeof(err)), 0);
	assert_int_equal(d.u.mode.width, 1280);
	close(fd);
	/* Nothing waiting: -EAGAIN, not a block. */
	assert_int_equal(hd_chan_recv(sv[1], buf, sizeof(buf), &fd), -EAGAIN);
	/* A packet larger than the buffer is dropped whole. */
	static uint8_t big[HD_CHAN_MAX_PACKET + 100];
	assert_int_equal(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(hd_chan_recv(sv[1], buf, sizeof(buf), &fd), -EMSGSIZE);
	close(sv[0]);
	assert_int_equal(hd_chan_recv(sv[1], buf, sizeof(buf), &fd), 0);
	close(sv[1]);
	close(mfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_scancode),
		cmocka_unit_test(test_socket_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
