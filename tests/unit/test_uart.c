// SPDX-License-Identifier: MIT
/*
 * Unit tests: 16550A UART. Replays Linux 8250 autoconfig()/size_fifo() and
 * serial8250_do_startup()'s THRE test, then TX/RX interrupt traffic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "fake_irq.h"
#include "hvkvm/bus.h"
#include "hvkvm/uart.h"
#include "hvkvm/util.h"

#define BASE UART_COM1_BASE
#define IRQ UART_COM1_IRQ

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR
#define THR RBR

struct env {
	struct bus pio;
	struct fake_irq irq;
	struct uart *u;
	int pipe[2];
	unsigned int rx_ready;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	bus_init(&e->pio, "pio");
	fake_irq_init(&e->irq);
	assert_int_equal(pipe2(e->pipe, O_NONBLOCK), 0);
	assert_int_equal(uart_create(&e->pio, &e->irq.sink, BASE, IRQ,
				     e->pipe[1], &e->u),
			 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	uart_destroy(e->u);
	close(e->pipe[0]);
	close(e->pipe[1]);
	free(e);
	return 0;
}

static uint8_t in(struct env *e, unsigned int reg)
{
	uint64_t v;

	assert_true(bus_read(&e->pio, BASE + reg, 1, &v));
	return (uint8_t)v;
}

static void out(struct env *e, unsigned int reg, uint8_t v)
{
	assert_true(bus_write(&e->pio, BASE + reg, 1, v));
}

/* drivers/tty/serial/8250/8250_port.c size_fifo(), step by step. */
static int linux_size_fifo(struct env *e)
{
	uint8_t old_fcr, old_mcr, old_lcr, dll, dlm;
	int count;

	old_lcr = in(e, LCR);
	out(e, LCR, 0);
	old_fcr = in(e, IIR);
	old_mcr = in(e, MCR);
	out(e, FCR, 0x07); /* enable, clear RX and TX */
	out(e, MCR, 0x10); /* loopback */
	out(e, LCR, 0x80);
	dll = in(e, 0);
	dlm = in(e, 1);
	out(e, 0, 1);
	out(e, 1, 0);
	out(e, LCR, 0x03);
	for (count = 0; count < 256; count++)
		out(e, THR, (uint8_t)count);
	for (count = 0; (in(e, LSR) & 0x01) && count < 256; count++)
		in(e, RBR);
	out(e, FCR, old_fcr);
	out(e, MCR, old_mcr);
	out(e, LCR, 0x80);
	out(e, 0, dll);
	out(e, 1, dlm);
	out(e, LCR, old_lcr);
	return count;
}

static void test_uart_linux_autoconfig_finds_16550a(void **state)
{
	struct env *e = *state;
	uint8_t scratch, scratch2, scratch3, save_mcr, status1, status2;

	/* IER read-back test. */
	scratch = in(e, IER);
	out(e, IER, 0);
	scratch2 = in(e, IER) & 0x0f;
	out(e, IER, 0x0f);
	scratch3 = in(e, IER) & 0x0f;
	out(e, IER, scratch);
	assert_int_equal(scratch2, 0);
	assert_int_equal(scratch3, 0x0f);
	/* Loopback test: MCR LOOP|OUT2|RTS must show DCD|CTS. */
	save_mcr = in(e, MCR);
	in(e, LCR);
	out(e, MCR, 0x10 | 0x0a);
	status1 = in(e, MSR) & 0xf0;
	out(e, MCR, save_mcr);
	assert_int_equal(status1, 0x90);
	/* FIFO probe. */
	out(e, LCR, 0xbf);
	out(e, 2, 0); /* EFR on 650s; FCR here */
	out(e, LCR, 0);
	out(e, FCR, 0x01);
	assert_int_equal(in(e, IIR) >> 6, 3);
	/* autoconfig_16550a(): no EFR behind DLAB or 0xbf ... */
	out(e, LCR, 0x80);
	assert_int_not_equal(in(e, 2), 0);
	out(e, LCR, 0xbf);
	assert_int_not_equal(in(e, 2), 0);
	/* ... not a National SuperIO (EXCR1 would track MCR LOOP) ... */
	out(e, LCR, 0);
	status1 = in(e, MCR);
	out(e, LCR, 0xe0);
	status2 = in(e, 2);
	assert_false((status2 ^ status1) & 0x10);
	out(e, LCR, 0);
	out(e, MCR, status1 ^ 0x10);
	out(e, LCR, 0xe0);
	status2 = in(e, 2);
	out(e, LCR, 0);
	out(e, MCR, status1);
	assert_false((status2 ^ status1) & 0x10);
	/* ... IER bit 6 (UUE) does not stick: not an XScale ... */
	scratch = in(e, IER);
	out(e, IER, scratch ^ 0x40);
	assert_false((in(e, IER) ^ scratch) & 0x40);
	out(e, IER, scratch);
	/* ... and the FIFO holds 16 bytes, not 64. */
	assert_int_equal(linux_size_fifo(e), 16);
	/* None of this reached the host or the interrupt line. */
	char buf[8];
	assert_int_equal(read(e->pipe[0], buf, sizeof(buf)), -1);
	assert_int_equal(e->irq.raises[IRQ], 0);
}

static void test_uart_scratch_and_dlab(void **state)
{
	struct env *e = *state;

	out(e, SCR, 0xa5);
	assert_int_equal(in(e, SCR), 0xa5);
	out(e, LCR, 0x83); /* DLAB + 8N1 */
	out(e, 0, 0x01);   /* DLL: 115200 baud */
	out(e, 1, 0x00);   /* DLM */
	assert_int_equal(in(e, 0), 0x01);
	assert_int_equal(in(e, 1), 0x00);
	out(e, 1, 0x12);
	assert_int_equal(in(e, 1), 0x12);
	out(e, LCR, 0x03);
	/* Same offsets are RBR/IER again; the divisor did not leak. */
	assert_int_equal(in(e, IER), 0);
	out(e, IER, 0x05);
	assert_int_equal(in(e, IER), 0x05);
	out(e, LCR, 0x83);
	assert_int_equal(in(e, 1), 0x12);
	assert_int_equal(in(e, LCR), 0x83);
	/* THR writes under DLAB go to DLL, not to the host. */
	out(e, 0, 'x');
	char c;
	assert_int_equal(read(e->pipe[0], &c, 1), -1);
	/* After reset: LSR THRE|TEMT, IIR no interrupt, FIFOs off. */
	assert_int_equal(in(e, LSR), 0x60);
	assert_int_equal(in(e, IIR), 0x01);
}

static void test_uart_iir_priorities(void **state)
{
	struct env *e = *state;
	unsigned int i;

	out(e, FCR, 0x07); /* FIFO, trigger 1 */
	out(e, MCR, 0x10); /* loopback, every modem line low */
	in(e, MSR);
	out(e, IER, 0x0f); /* all sources; THRE pending now */
	/* 17 bytes into a 16-byte FIFO: overrun. */
	for (i = 0; i < 17; i++)
		out(e, THR, (uint8_t)('a' + i));
	out(e, MCR, 0x10 | 0x01);		   /* DTR -> DSR: DDSR delta */
	assert_int_equal(in(e, IIR), 0xc6);	   /* RLS first */
	assert_int_equal(in(e, LSR) & 0x03, 0x03); /* OE + DR; clears OE */
	assert_int_equal(in(e, IIR), 0xc4);	   /* then data */
	for (i = 0; i < 16; i++)
		assert_int_equal(in(e, RBR), 'a' + i);
	assert_int_equal(in(e, LSR) & 0x01, 0);
	assert_int_equal(in(e, IIR), 0xc2);	   /* then THRE; reading acks */
	assert_int_equal(in(e, IIR), 0xc0);	   /* then modem status */
	assert_int_equal(in(e, MSR), 0x20 | 0x02); /* DSR + DDSR */
	assert_int_equal(in(e, IIR), 0xc1);
	/* Loopback gated the line throughout. */
	assert_int_equal(e->irq.raises[IRQ], 0);
	/* Trailing edge of RI (OUT1) latches TERI, the leading one not. */
	out(e, MCR, 0x10 | 0x04); /* DTR off (DDSR), OUT1 on (RI) */
	assert_int_equal(in(e, MSR), 0x40 | 0x02);
	out(e, MCR, 0x10);
	assert_int_equal(in(e, MSR), 0x04);
	/* Trigger level 4: below it the data is a timeout interrupt. */
	out(e, FCR, 0x41);
	out(e, THR, '1');
	assert_int_equal(in(e, IIR), 0xcc);
	for (i = 0; i < 3; i++)
		out(e, THR, '2');
	assert_int_equal(in(e, IIR), 0xc4);
}

/* The sequence serial8250_do_startup() uses to detect UART_BUG_THRE. */
static void test_uart_thre_reasserts_on_ier(void **state)
{
	struct env *e = *state;
	uint8_t iir1, iir;

	out(e, MCR, 0x0b); /* DTR, RTS, OUT2 */
	out(e, IER, 0x02);
	iir1 = in(e, IIR);
	out(e, IER, 0);
	out(e, IER, 0x02);
	iir = in(e, IIR);
	out(e, IER, 0);
	assert_int_equal(iir1 & 0x0f, 0x02);
	assert_int_equal(iir & 0x0f, 0x02);
	assert_false(e->irq.level[IRQ]);
}

static void test_uart_tx_rx_interrupt_sequence(void **state)
{
	struct env *e = *state;
	char buf[16];
	unsigned int raises;

	/* Linux startup: FIFOs, 8N1, modem lines, RX interrupts. */
	out(e, FCR, 0x07);
	out(e, FCR, 0x81); /* trigger 8 */
	out(e, LCR, 0x03);
	out(e, MCR, 0x0b);
	out(e, IER, 0x05); /* RDI | RLSI */
	assert_false(e->irq.level[IRQ]);
	/* Console output: poll LSR, write THR. */
	assert_true(in(e, LSR) & 0x20);
	out(e, THR, 'o');
	out(e, THR, 'k');
	assert_int_equal(read(e->pipe[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_false(e->irq.level[IRQ]);
	/* start_tx: ETBEI with THR empty raises THRE at once. */
	out(e, IER, 0x07);
	assert_true(e->irq.level[IRQ]);
	raises = e->irq.raises[IRQ];
	/* ISR: IIR says THRE and acks it; the line drops. */
	assert_int_equal(in(e, IIR), 0xc2);
	assert_false(e->irq.level[IRQ]);
	/* tx_chars: each byte leaves at once and THRE rises again. */
	out(e, THR, '!');
	assert_true(e->irq.level[IRQ]);
	assert_int_equal(e->irq.raises[IRQ], raises + 1);
	assert_int_equal(read(e->pipe[0], buf, sizeof(buf)), 1);
	/* Nothing left: stop_tx clears ETBEI; line drops. */
	out(e, IER, 0x05);
	assert_false(e->irq.level[IRQ]);
	assert_int_equal(in(e, IIR), 0xc1);

	/* Input: 3 bytes < trigger 8 -> character timeout interrupt. */
	assert_int_equal(uart_receive(e->u, (const uint8_t *)"abc", 3), 3);
	assert_true(e->irq.level[IRQ]);
	assert_int_equal(in(e, IIR), 0xcc);
	assert_int_equal(in(e, LSR) & 0x01, 0x01);
	assert_int_equal(in(e, RBR), 'a');
	assert_int_equal(in(e, RBR), 'b');
	assert_true(e->irq.level[IRQ]);
	assert_int_equal(in(e, RBR), 'c');
	assert_false(e->irq.level[IRQ]);
	assert_int_equal(in(e, LSR), 0x60);
	assert_int_equal(in(e, IIR), 0xc1);
	/* 8 bytes reach the trigger: RDA. */
	assert_int_equal(uart_receive(e->u, (const uint8_t *)"12345678", 8), 8);
	assert_int_equal(in(e, IIR), 0xc4);

	struct uart_stats st;
	uart_get_stats(e->u, &st);
	assert_int_equal(st.tx_bytes, 3);
	assert_int_equal(st.rx_bytes, 11);
	assert_int_equal(st.rx_overruns, 0);
}

static void test_uart_out2_gates_irq(void **state)
{
	struct env *e = *state;

	out(e, IER, 0x01);
	assert_int_equal(uart_receive(e->u, (const uint8_t *)"x", 1), 1);
	assert_false(e->irq.level[IRQ]);    /* OUT2 clear */
	assert_int_equal(in(e, IIR), 0x04); /* but pending */
	out(e, MCR, 0x08);
	assert_true(e->irq.level[IRQ]);
	out(e, MCR, 0x18); /* loopback forces OUT2 off */
	assert_false(e->irq.level[IRQ]);
	out(e, MCR, 0x08);
	assert_true(e->irq.level[IRQ]);
	uart_reset(e->u);
	assert_false(e->irq.level[IRQ]);
	assert_int_equal(in(e, LSR), 0x60);
}

static void rx_ready(void *opaque)
{
	struct env *e = opaque;

	e->rx_ready++;
}

static void test_uart_rx_backpressure(void **state)
{
	struct env *e = *state;
	uint8_t buf[20];
	unsigned int i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	uart_set_rx_ready(e->u, rx_ready, e);
	/* FIFO off: one holding register. */
	assert_int_equal(uart_rx_space(e->u), 1);
	assert_int_equal(uart_receive(e->u, buf, 2), 1);
	assert_int_equal(in(e, RBR), 0);
	assert_int_equal(e->rx_ready, 1);
	out(e, FCR, 0x01);
	assert_int_equal(uart_rx_space(e->u), 16);
	assert_int_equal(uart_receive(e->u, buf, 20), 16);
	assert_int_equal(uart_rx_space(e->u), 0);
	assert_int_equal(uart_receive(e->u, buf + 16, 4), 0);
	/* Refused bytes are not an overrun. */
	assert_int_equal(in(e, LSR) & 0x02, 0);
	assert_int_equal(in(e, RBR), 0);
	assert_int_equal(e->rx_ready, 2);
	assert_int_equal(uart_rx_space(e->u), 1);
	assert_int_equal(uart_receive(e->u, buf + 16, 4), 1);
	for (i = 1; i <= 16; i++)
		assert_int_equal(in(e, RBR), i);
	/* Loopback: the receiver is not connected to the host. */
	out(e, MCR, 0x10);
	assert_int_equal(uart_rx_space(e->u), 0);
}

static void test_uart_tx_full_pipe_drops(void **state)
{
	struct env *e = *state;
	struct uart_stats st;
	static uint8_t junk[1 << 16];
	unsigned int i;

	/* Fill the pipe so the next write gets EAGAIN. */
	while (write(e->pipe[1], junk, sizeof(junk)) > 0)
		;
	for (i = 0; i < 10; i++)
		out(e, THR, 'z');
	uart_get_stats(e->u, &st);
	assert_true(st.tx_dropped >= 9);
	/* The guest still sees an empty transmitter. */
	assert_int_equal(in(e, LSR) & 0x60, 0x60);
}

static void test_uart_create_rejects_overlap(void **state)
{
	struct env *e = *state;
	struct uart *u2;

	assert_int_equal(uart_create(&e->pio, &e->irq.sink, BASE + 4, IRQ, -1,
				     &u2),
			 -EEXIST);
	assert_int_equal(uart_create(&e->pio, &e->irq.sink, UART_COM2_BASE,
				     UART_COM2_IRQ, -1, &u2),
			 0);
	/* No output fd: bytes vanish quietly. */
	assert_true(bus_write(&e->pio, UART_COM2_BASE, 1, 'q'));
	uart_destroy(u2);
}

#define STRESS_BYTES 4000

/* The I/O thread: feed a counting sequence, retrying when refused. */
static void *stress_producer(void *opaque)
{
	struct env *e = opaque;
	unsigned int sent = 0;

	while (sent < STRESS_BYTES) {
		uint8_t b[7];
		unsigned int i, n = MIN(7u, STRESS_BYTES - sent);

		for (i = 0; i < n; i++)
			b[i] = (uint8_t)(sent + i);
		sent += (unsigned int)uart_receive(e->u, b, n);
	}
	return NULL;
}

static void test_uart_concurrent_receive_in_order(void **state)
{
	struct env *e = *state;
	pthread_t t;
	unsigned int got = 0, spins = 0;

	out(e, FCR, 0x01);
	out(e, MCR, 0x0b);
	out(e, IER, 0x01);
	assert_int_equal(pthread_create(&t, NULL, stress_producer, e), 0);
	/* The vCPU side: poll LSR.DR, read RBR, check the sequence. */
	while (got < STRESS_BYTES && spins < 100000000u) {
		if (in(e, LSR) & 0x01)
			assert_int_equal(in(e, RBR), (uint8_t)got++);
		else
			spins++;
	}
	pthread_join(t, NULL);
	assert_int_equal(got, STRESS_BYTES);
	assert_int_equal(in(e, LSR) & 0x03, 0); /* no overrun */
	assert_false(e->irq.level[IRQ]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_uart_linux_autoconfig_finds_16550a, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_uart_scratch_and_dlab,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_iir_priorities, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uart_thre_reasserts_on_ier,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_uart_tx_rx_interrupt_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_out2_gates_irq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uart_rx_backpressure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_tx_full_pipe_drops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_uart_create_rejects_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_uart_concurrent_receive_in_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
