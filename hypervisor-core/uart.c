/* uart.c: an 8250/16550A UART on 8 I/O ports: transmit to a file descriptor, a 16-byte
 * receive FIFO, the interrupt identification logic and IRQ line. Not a terminal emulator. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hv-internal.h"

#define TAG "uart"

/* Register offsets (PC16550D data sheet). */
#define UART_RBR_THR 0
#define UART_IER     1
#define UART_IIR_FCR 2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_SCR     7

#define IER_RDI  0x01 /* received data available */
#define IER_THRI 0x02 /* transmit holding register empty */
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_FIFO 0xc0 /* FIFOs enabled (16550A) */
#define LCR_DLAB 0x80
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define MCR_OUT2 0x08
#define MSR_DCD  0x80
#define MSR_DSR  0x20
#define MSR_CTS  0x10

void hv_uart_init(struct hv_uart *u, struct hv_vm *vm, unsigned irq, int out_fd)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->vm = vm;
	u->irq = irq;
	u->out_fd = out_fd;
	u->lcr = 0x03; /* 8N1 */
}

static uint8_t uart_iir(const struct hv_uart *u)
{
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI | IIR_FIFO;
	if ((u->ier & IER_THRI) && u->thr_irq_pending)
		return IIR_THRI | IIR_FIFO;
	return IIR_NONE | IIR_FIFO;
}

/* Drives the IRQ line from the interrupt state; called with the lock held. */
static void uart_update_irq(struct hv_uart *u)
{
	bool level = (uart_iir(u) & IIR_NONE) == 0;
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->vm && u->vm->vm_fd >= 0)
		hv_kvm_set_irq(u->vm, u->irq, level);
}

static void uart_transmit(struct hv_uart *u, uint8_t c)
{
	u->tx_bytes++;
	if (u->mcr & MCR_LOOP) {
		if (u->rx_count < HV_UART_FIFO)
			u->rx[(u->rx_head + u->rx_count++) % HV_UART_FIFO] = c;
		return;
	}
	if (u->out_fd < 0)
		return;
	/* The guest waits for a real UART too; a blocked console blocks the vCPU the same way.
	 * A broken output (closed pipe) is dropped, never fatal. */
	for (;;) {
		ssize_t n = write(u->out_fd, &c, 1);
		if (n == 1 || (n < 0 && errno != EINTR))
			return;
	}
}

static uint8_t uart_read(struct hv_uart *u, unsigned reg)
{
	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_count)
			return 0;
		uint8_t c = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % HV_UART_FIFO;
		u->rx_count--;
		return c;
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR_FCR: {
		uint8_t iir = uart_iir(u);
		/* Reading IIR while it reports THRE acknowledges that interrupt. */
		if ((iir & 0x0f) == IIR_THRI)
			u->thr_irq_pending = false;
		return iir;
	}
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		/* Output is written synchronously, so the transmitter is always empty. */
		return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case UART_MSR:
		if (u->mcr & MCR_LOOP)
			return (uint8_t)(((u->mcr & 0x0c) << 4) | ((u->mcr & 0x03) << 4));
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void uart_write(struct hv_uart *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			return;
		}
		uart_transmit(u, v);
		u->thr_irq_pending = true; /* the holding register is empty again at once */
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			return;
		}
		/* Enabling the THRE interrupt while the register is empty raises it. */
		if (!(u->ier & IER_THRI) && (v & IER_THRI))
			u->thr_irq_pending = true;
		u->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		u->fcr = v;
		if (v & 0x02) { /* clear receive FIFO */
			u->rx_head = 0;
			u->rx_count = 0;
		}
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}

void hv_uart_io(void *opaque, uint64_t offset, void *data, uint32_t len, bool is_write)
{
	struct hv_uart *u = opaque;
	uint8_t *d = data;

	pthread_mutex_lock(&u->lock);
	/* Wider accesses touch consecutive registers, as on a real ISA bus. */
	for (uint32_t i = 0; i < len; i++) {
		unsigned reg = (unsigned)((offset + i) & 7);
		if (is_write)
			uart_write(u, reg, d[i]);
		else
			d[i] = uart_read(u, reg);
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t hv_uart_receive(struct hv_uart *u, const uint8_t *data, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_count < HV_UART_FIFO) {
		u->rx[(u->rx_head + u->rx_count++) % HV_UART_FIFO] = data[n++];
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

/* ---- snapshot: registers, receive FIFO and interrupt line (section "uart") ---- */

void hv_uart_save(void *opaque, struct hd_buf *out)
{
	struct hv_uart *u = opaque;
	pthread_mutex_lock(&u->lock);
	uint8_t regs[] = {u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm, u->fcr,
			  u->thr_irq_pending, u->irq_level};
	hv_snap_put(out, regs, sizeof(regs));
	hv_snap_put_u32(out, u->rx_count);
	for (unsigned i = 0; i < u->rx_count; i++)
		hv_snap_put_u8(out, u->rx[(u->rx_head + i) % HV_UART_FIFO]);
	hv_snap_put_u64(out, u->tx_bytes);
	pthread_mutex_unlock(&u->lock);
}

int hv_uart_load(void *opaque, struct hv_snap_in *in, char *err, size_t errlen)
{
	struct hv_uart *u = opaque;
	uint8_t regs[9];
	hv_snap_get(in, regs, sizeof(regs));
	uint32_t n = hv_snap_get_u32(in);
	if (n > HV_UART_FIFO) {
		snprintf(err, errlen, "section 'uart': %u bytes in a %d-byte FIFO", n, HV_UART_FIFO);
		return -EINVAL;
	}
	uint8_t rx[HV_UART_FIFO];
	hv_snap_get(in, rx, n);
	uint64_t tx = hv_snap_get_u64(in);
	if (!hv_snap_in_done(in)) {
		snprintf(err, errlen, "section 'uart' has the wrong size");
		return -EINVAL;
	}
	pthread_mutex_lock(&u->lock);
	u->ier = regs[0];
	u->lcr = regs[1];
	u->mcr = regs[2];
	u->scr = regs[3];
	u->dll = regs[4];
	u->dlm = regs[5];
	u->fcr = regs[6];
	u->thr_irq_pending = regs[7] != 0;
	u->irq_level = regs[8] != 0; /* the line itself lives in KVM's irqchip state */
	memcpy(u->rx, rx, n);
	u->rx_head = 0;
	u->rx_count = n;
	u->tx_bytes = tx;
	pthread_mutex_unlock(&u->lock);
	return 0;
}
