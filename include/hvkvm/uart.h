/* SPDX-License-Identifier: MIT */
/*
 * uart: a National Semiconductor 16550A serial port (COM1 = 0x3f8, IRQ 4).
 * Guest writes to THR go straight to an output fd; host input enters the RX
 * FIFO through uart_receive() from any thread.
 */
#ifndef HVKVM_UART_H
#define HVKVM_UART_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct irq_sink;
struct uart;

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ 4
#define UART_COM2_BASE 0x2f8
#define UART_COM2_IRQ 3
#define UART_NR_PORTS 8 /* I/O ports claimed at @base */
#define UART_FIFO_SIZE 16

/*
 * Called (without the UART lock held, on the vCPU thread) when the guest has
 * drained the RX FIFO after uart_receive() had to refuse bytes: the
 * terminal reader may resume.
 */
typedef void (*uart_rx_ready_fn)(void *opaque);

/*
 * Register a 16550A at @base on @pio, raising ISA IRQ @irq. Transmitted bytes
 * are written to @out_fd (not owned; -1 discards them). 0 or -errno.
 */
int uart_create(struct bus *pio, struct irq_sink *irq, uint16_t base,
		unsigned int irq_line, int out_fd, struct uart **out);
/* Unregisters and frees; the caller's threads must no longer use @u. */
void uart_destroy(struct uart *u);
/* Power-on state (guest reboot). Queued input is discarded. */
void uart_reset(struct uart *u);

/*
 * Host input: append up to @len bytes to the RX FIFO and raise the interrupt.
 * Returns how many were accepted (0 when the FIFO is full or the UART is in
 * loopback); the caller keeps the rest and retries after the rx_ready
 * callback. Thread-safe.
 */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);
/* Bytes uart_receive() would accept right now. Thread-safe. */
size_t uart_rx_space(struct uart *u);
void uart_set_rx_ready(struct uart *u, uart_rx_ready_fn fn, void *opaque);

struct uart_stats {
	uint64_t tx_bytes;    /* written to the output fd */
	uint64_t tx_dropped;  /* EAGAIN or write error */
	uint64_t rx_bytes;    /* accepted from uart_receive() */
	uint64_t rx_overruns; /* bytes lost to a full FIFO (OE) */
};
void uart_get_stats(struct uart *u, struct uart_stats *st);

#endif /* HVKVM_UART_H */
