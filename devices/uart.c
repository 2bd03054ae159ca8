// SPDX-License-Identifier: MIT
/*
 * National Semiconductor PC16550D UART ("16550A"), per the PC16550D
 * datasheet (registers table 2, interrupt priorities table 4, loopback in
 * 8.6/MCR bit 4), as a PC serial port: the interrupt reaches the ISA IRQ
 * only while MCR.OUT2 is set (the board's gate), and never in loopback
 * (OUT2's pin is forced inactive there).
 *
 * Transmission is instantaneous: a THR write goes straight to the output fd,
 * so THR and the shifter are always empty again when the guest next looks
 * (LSR.THRE and LSR.TEMT read 1); a THRE interrupt still drops and re-rises
 * on each THR write, as Linux's 8250 driver expects. The character timeout
 * interrupt (IIR 0x0c) is reported as soon as the RX FIFO holds data below
 * the trigger level (a zero-length timeout).
 *
 * Not implemented: baud-rate timing, parity/framing/break errors (PE, FE,
 * BI never set), the TX FIFO as a queue, DMA mode signals, host modem lines
 * (outside loopback CTS, DSR and DCD read 1, RI 0).
 */
#include "hvkvm/uart.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvkvm/bus.h"
#include "hvkvm/irq.h"
#include "hvkvm/util.h"

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0/1). */
#define UART_RBR 0 /* read, DLAB 0 */
#define UART_THR 0 /* write, DLAB 0 */
#define UART_DLL 0 /* DLAB 1 */
#define UART_IER 1 /* DLAB 0 */
#define UART_DLM 1 /* DLAB 1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c /* character timeout */
#define IIR_FIFO_ENABLED 0xc0

#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define FCR_CLEAR_XMIT 0x04
#define FCR_TRIGGER_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFOE 0x80 /* error in RX FIFO */
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0f

static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

struct uart {
	/* Guest-visible registers. */
	uint8_t ier; /* low 4 bits */
	uint8_t lcr;
	uint8_t mcr;	    /* low 5 bits */
	uint8_t lsr_errors; /* OE (PE/FE/BI never) until LSR read */
	uint8_t msr;	    /* lines (high nibble) + deltas */
	uint8_t scr;
	uint8_t fcr;	  /* FIFO enable + trigger bits */
	uint16_t divisor; /* DLM:DLL */
	/* Internal state. */
	uint8_t rx_fifo[UART_FIFO_SIZE]; /* ring */
	unsigned int rx_head;		 /* index of the oldest byte */
	unsigned int rx_count;		 /* bytes queued */
	bool thre_pending; /* THRE interrupt not yet acknowledged */
	bool irq_level;	   /* what we last drove on the line */
	bool rx_refused;   /* uart_receive() had to say no */
	struct uart_stats stats;
	/* Host plumbing. */
	pthread_mutex_t lock; /* everything above */
	struct bus *pio;
	struct irq_sink *irq;
	uint16_t base;
	unsigned int irq_line;
	int out_fd;
	bool tx_error_warned;	   /* a write error was logged once */
	uart_rx_ready_fn rx_ready; /* may be NULL */
	void *rx_ready_opaque;
};

/* ---- helpers ---------------------------------------------------------- */

static unsigned int uart_rx_capacity(const struct uart *u)
{
	return (u->fcr & FCR_FIFO_ENABLE) ? UART_FIFO_SIZE : 1;
}

static bool uart_loopback(const struct uart *u)
{
	return u->mcr & MCR_LOOP;
}

/* The highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t uart_pending(const struct uart *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr_errors & LSR_ERRORS))
		return IIR_RLSI;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		if (!(u->fcr & FCR_FIFO_ENABLE) ||
		    u->rx_count >= rx_trigger[u->fcr >> FCR_TRIGGER_SHIFT])
			return IIR_RDI;
		return IIR_CTI;
	}
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRI;
	if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* The one place the IRQ line is derived. Lock held. */
static void uart_update_irq(struct uart *u)
{
	bool level = uart_pending(u) != IIR_NO_INT && (u->mcr & MCR_OUT2) &&
		     !uart_loopback(u);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	irq_set_line(u->irq, u->irq_line, level);
}

/* Modem status inputs: MCR in loopback, a happy terminal otherwise. */
static uint8_t uart_msr_lines(const struct uart *u)
{
	uint8_t m = u->mcr, v = 0;

	if (!uart_loopback(u))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (m & MCR_RTS)
		v |= MSR_CTS;
	if (m & MCR_DTR)
		v |= MSR_DSR;
	if (m & MCR_OUT1)
		v |= MSR_RI;
	if (m & MCR_OUT2)
		v |= MSR_DCD;
	return v;
}

/* Recompute MSR's line bits and latch delta bits for what changed. */
static void uart_update_msr(struct uart *u)
{
	uint8_t old = u->msr & 0xf0, now = uart_msr_lines(u);
	uint8_t changed = old ^ now;

	if (changed & MSR_CTS)
		u->msr |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr |= MSR_DDSR;
	if ((changed & MSR_RI) && !(now & MSR_RI))
		u->msr |= MSR_TERI; /* trailing edge only */
	if (changed & MSR_DCD)
		u->msr |= MSR_DDCD;
	u->msr = (uint8_t)((u->msr & MSR_DELTAS) | now);
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* Queue one received byte; a full FIFO means overrun (byte lost). */
static void uart_rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_count >= uart_rx_capacity(u)) {
		u->lsr_errors |= LSR_OE;
		u->stats.rx_overruns++;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	uint8_t b;

	if (!u->rx_count)
		return 0;
	b = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	return b;
}

/* Send one byte to the host; never blocks (a full pipe drops). */
static void uart_tx_out(struct uart *u, uint8_t b)
{
	ssize_t r;

	if (u->out_fd < 0)
		return;
	do {
		r = write(u->out_fd, &b, 1);
	} while (r < 0 && errno == EINTR);
	if (r == 1) {
		u->stats.tx_bytes++;
		return;
	}
	u->stats.tx_dropped++;
	/* A full pipe drops quietly; a failing file (ENOSPC, EIO) is said. */
	if (r < 0 && errno != EAGAIN && !u->tx_error_warned) {
		u->tx_error_warned = true;
		pr_warn("uart: serial output lost: %s (further errors not shown)",
			strerror(errno));
	}
}

/* ---- register handlers ------------------------------------------------ */

static uint8_t uart_read_reg(struct uart *u, unsigned int off, bool *notify)
{
	uint8_t v;

	switch (off) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB)
			return (uint8_t)u->divisor;
		v = uart_rx_pop(u);
		if (u->rx_refused && u->rx_count < uart_rx_capacity(u)) {
			u->rx_refused = false;
			*notify = true;
		}
		return v;
	case UART_IER:
		if (u->lcr & LCR_DLAB)
			return (uint8_t)(u->divisor >> 8);
		return u->ier;
	case UART_IIR:
		v = uart_pending(u);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (v == IIR_THRI)
			u->thre_pending = false;
		if (u->fcr & FCR_FIFO_ENABLE)
			v |= IIR_FIFO_ENABLED;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = (uint8_t)(LSR_THRE | LSR_TEMT | u->lsr_errors);
		if (u->rx_count)
			v |= LSR_DR;
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = u->msr;
		u->msr &= (uint8_t)~MSR_DELTAS;
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void uart_write_thr(struct uart *u, uint8_t b)
{
	/* THR filled: the THRE interrupt drops ... */
	u->thre_pending = false;
	uart_update_irq(u);
	if (uart_loopback(u))
		uart_rx_push(u, b);
	else
		uart_tx_out(u, b);
	/* ... and rises again as the byte leaves at once. */
	u->thre_pending = true;
}

static void uart_write_fcr(struct uart *u, uint8_t v)
{
	if ((v ^ u->fcr) & FCR_FIFO_ENABLE) {
		/* Switching FIFO mode clears both FIFOs. */
		uart_rx_clear(u);
	} else if (v & FCR_CLEAR_RCVR) {
		uart_rx_clear(u);
	}
	/* The TX FIFO is always empty: FCR_CLEAR_XMIT has nothing to do. */
	u->fcr = v & (FCR_FIFO_ENABLE | 0xc0);
	if (!(u->fcr & FCR_FIFO_ENABLE))
		u->fcr = 0;
}

static void uart_write_reg(struct uart *u, unsigned int off, uint8_t v)
{
	uint8_t old;

	switch (off) {
	case UART_THR:
		if (u->lcr & LCR_DLAB)
			u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
		else
			uart_write_thr(u, v);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (uint16_t)((u->divisor & 0xff) | v << 8);
			break;
		}
		old = u->ier;
		u->ier = v & IER_MASK;
		/* Enabling ETBEI with THR empty raises THRE (datasheet 8.4). */
		if (!(old & IER_ETBEI) && (u->ier & IER_ETBEI))
			u->thre_pending = true;
		break;
	case UART_FCR:
		uart_write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & MCR_MASK;
		uart_update_msr(u);
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:
		/* LSR and MSR are read-only (factory test writes ignored). */
		break;
	}
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned int size)
{
	struct uart *u = opaque;
	bool notify = false;
	uint8_t v;

	if (size != 1)
		guest_err("uart: %u-byte read at +%u", size, (unsigned int)off);
	pthread_mutex_lock(&u->lock);
	v = uart_read_reg(u, (unsigned int)off, &notify);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (notify && u->rx_ready)
		u->rx_ready(u->rx_ready_opaque);
	return v;
}

static void uart_write(void *opaque, uint64_t off, unsigned int size,
		       uint64_t value)
{
	struct uart *u = opaque;

	if (size != 1)
		guest_err("uart: %u-byte write at +%u", size,
			  (unsigned int)off);
	pthread_mutex_lock(&u->lock);
	uart_write_reg(u, (unsigned int)off, (uint8_t)value);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct bus_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

/* ---- host input ------------------------------------------------------- */

static size_t uart_rx_space_locked(const struct uart *u)
{
	if (uart_loopback(u))
		return 0; /* the receiver listens to the transmitter */
	return uart_rx_capacity(u) - u->rx_count;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n, i;

	pthread_mutex_lock(&u->lock);
	n = MIN(len, uart_rx_space_locked(u));
	for (i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
	u->stats.rx_bytes += n;
	if (n < len)
		u->rx_refused = true;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart_rx_space(struct uart *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = uart_rx_space_locked(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void uart_set_rx_ready(struct uart *u, uart_rx_ready_fn fn, void *opaque)
{
	pthread_mutex_lock(&u->lock);
	u->rx_ready = fn;
	u->rx_ready_opaque = opaque;
	pthread_mutex_unlock(&u->lock);
}

void uart_get_stats(struct uart *u, struct uart_stats *st)
{
	pthread_mutex_lock(&u->lock);
	*st = u->stats;
	pthread_mutex_unlock(&u->lock);
}

/* ---- lifecycle -------------------------------------------------------- */

static void uart_reset_locked(struct uart *u)
{
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr_errors = 0;
	u->fcr = 0;
	u->scr = 0;
	u->divisor = 12; /* 9600 baud */
	uart_rx_clear(u);
	u->thre_pending = false;
	u->msr = uart_msr_lines(u);
	u->rx_refused = false;
	uart_update_irq(u);
}

void uart_reset(struct uart *u)
{
	bool notify;

	pthread_mutex_lock(&u->lock);
	notify = u->rx_refused;
	uart_reset_locked(u);
	pthread_mutex_unlock(&u->lock);
	if (notify && u->rx_ready)
		u->rx_ready(u->rx_ready_opaque);
}

int uart_create(struct bus *pio, struct irq_sink *irq, uint16_t base,
		unsigned int irq_line, int out_fd, struct uart **out)
{
	struct uart *u;
	int r;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	u->pio = pio;
	u->irq = irq;
	u->base = base;
	u->irq_line = irq_line;
	u->out_fd = out_fd;
	uart_reset_locked(u);

	r = bus_register(pio, base, UART_NR_PORTS, &uart_ops, u, "uart");
	if (r)
		goto err_free;
	*out = u;
	return 0;

err_free:
	pthread_mutex_destroy(&u->lock);
	free(u);
	return r;
}

void uart_destroy(struct uart *u)
{
	if (!u)
		return;
	bus_unregister(u->pio, u->base);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
