/* test-uart.c: the 8250/16550A model as a guest driver sees it: transmit to the output fd,
 * line status, interrupt identification, divisor latch, loopback and receive-FIFO overrun.
 * Not a test of the IRQ line into KVM (no VM here). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "hv-internal.h"

static struct hv_uart u;
static int pipefd[2];

static int setup(void **state)
{
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	hv_uart_init(&u, NULL, HV_IRQ_UART0, pipefd[1]);
	return 0;
}

static int teardown(void **state)
{
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static uint8_t rd(unsigned reg)
{
	uint8_t v = 0;
	hv_uart_io(&u, reg, &v, 1, false);
	return v;
}

static void wr(unsigned reg, uint8_t v)
{
	hv_uart_io(&u, reg, &v, 1, true);
}

static void test_transmit(void **state)
{
	assert_true(rd(5) & 0x20); /* THRE: ready at once */
	const char *msg = "hello\n";
	for (const char *p = msg; *p; p++)
		wr(0, (uint8_t)*p);
	char buf[16] = {0};
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 6);
	assert_string_equal(buf, msg);
	assert_int_equal(u.tx_bytes, 6);
}

static void test_divisor_latch(void **state)
{
	wr(3, 0x83); /* DLAB on, 8N1 */
	wr(0, 0x0c); /* 9600 baud divisor, low */
	wr(1, 0x00);
	assert_int_equal(rd(0), 0x0c);
	char buf[4];
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), -1); /* DLL writes are not data */
	wr(3, 0x03);
	assert_int_equal(rd(3), 0x03);
	assert_int_equal(rd(1), 0); /* IER again, not DLM */
}

static void test_interrupt_identification(void **state)
{
	assert_int_equal(rd(2) & 0x0f, 0x01); /* nothing pending */
	wr(1, 0x02);                          /* enable THRE interrupt: raised at once */
	assert_int_equal(rd(2) & 0x0f, 0x02);
	assert_int_equal(rd(2) & 0x0f, 0x01); /* reading IIR acknowledged it */
	wr(0, 'x');
	assert_int_equal(rd(2) & 0x0f, 0x02); /* each write empties the register again */
	wr(1, 0x03);
	uint8_t in[2] = {'a', 'b'};
	assert_int_equal(hv_uart_receive(&u, in, 2), 2);
	assert_int_equal(rd(2) & 0x0f, 0x04); /* received data outranks THRE */
	assert_true(rd(5) & 0x01);
	assert_int_equal(rd(0), 'a');
	assert_int_equal(rd(0), 'b');
	assert_false(rd(5) & 0x01);
}

static void test_receive_overrun(void **state)
{
	uint8_t in[40];
	memset(in, 'z', sizeof(in));
	/* A full FIFO takes no more, as a real UART overruns; nothing grows without bound. */
	assert_int_equal(hv_uart_receive(&u, in, sizeof(in)), HV_UART_FIFO);
	assert_int_equal(hv_uart_receive(&u, in, 1), 0);
	wr(2, 0x02); /* FCR: clear the receive FIFO */
	assert_false(rd(5) & 0x01);
	assert_int_equal(hv_uart_receive(&u, in, 1), 1);
}

static void test_loopback_and_wide_access(void **state)
{
	wr(4, 0x10); /* MCR loopback: transmitted bytes come back, nothing reaches the output */
	wr(0, 'L');
	assert_int_equal(rd(0), 'L');
	char buf[4];
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), -1);
	wr(4, 0);
	/* A 2-byte access covers two consecutive registers, as on the ISA bus. */
	uint16_t v = 0x4241; /* 'A' to THR, 0x42 to IER */
	hv_uart_io(&u, 0, &v, 2, true);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'A');
	assert_int_equal(rd(1), 0x02); /* IER keeps only its 4 defined bits */
	assert_int_equal(rd(7), 0);
	wr(7, 0x99); /* scratch register round-trips: drivers probe with it */
	assert_int_equal(rd(7), 0x99);
}

static void test_closed_output(void **state)
{
	close(pipefd[0]);
	pipefd[0] = open("/dev/null", O_RDONLY);
	/* A reader that went away must not hurt the VMM (no SIGPIPE death, no block). */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 100; i++)
		wr(0, 'q');
	assert_int_equal(u.tx_bytes, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_identification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_and_wide_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_output, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
