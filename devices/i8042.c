// SPDX-License-Identifier: MIT
/*
 * Intel 8042 keyboard controller as on PC/AT boards (IBM PC/AT Technical
 * Reference "Keyboard Controller"; PS/2 command set), with an MF2 keyboard
 * attached to the first port and nothing on the auxiliary port; plus System
 * Control Port A (0x92: bit 0 fast reset, bit 1 fast A20).
 *
 * Choices for a quick, quiet Linux boot: every controller command answers at
 * once (IBF never stays set); a new command discards unread output; the AUX
 * loop-back command (0xd3) answers on the keyboard side and the AUX interface
 * test (0xa9) reports "clock line stuck low" (0x01), so i8042_check_aux()
 * decides there is no AUX port after two commands and no timeout. The
 * keyboard ACKs what atkbd sends (reset 0xff -> fa aa, get ID 0xf2 -> fa ab
 * 41 translated / 83 raw, LEDs, typematic, enable, scan-code set) so its
 * probe finds "AT Translated Set 2 keyboard" without timeouts.
 *
 * Not implemented: key input (no host keyboard is wired), scan-code
 * translation tables (no scan codes are ever produced), A20 masking (A20 is
 * always on), password/keylock, the mouse.
 */
#include "hvkvm/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "hvkvm/bus.h"
#include "hvkvm/irq.h"
#include "hvkvm/platform.h"
#include "hvkvm/util.h"

/* Status register (read 0x64). */
#define STR_OBF 0x01	 /* output buffer full */
#define STR_IBF 0x02	 /* input buffer full (never) */
#define STR_SYSFLAG 0x04 /* self-test passed (CTR copy) */
#define STR_CMDDAT 0x08	 /* last write went to 0x64 */
#define STR_KEYLOCK 0x10 /* 1 = keyboard not inhibited */
#define STR_AUXDATA 0x20 /* output byte is from AUX */

/* Controller command byte (CTR). */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYSFLAG 0x04
#define CTR_IGNKEYLOCK 0x08
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

/* Controller commands (write 0x64). */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_KBD_LOOP 0xd2
#define CMD_AUX_LOOP 0xd3
#define CMD_AUX_SEND 0xd4
#define CMD_A20_DISABLE 0xdd
#define CMD_A20_ENABLE 0xdf
#define CMD_READ_TEST 0xe0
#define CMD_PULSE_FIRST 0xf0 /* 0xf0..0xff: low nibble = lines */

#define SELF_TEST_OK 0x55
#define PORT_TEST_OK 0x00
#define PORT_TEST_CLOCK_LOW 0x01

/* Output port (0xd0/0xd1). */
#define OUT_RESET 0x01 /* 0 = hold the CPU in reset */
#define OUT_A20 0x02
#define OUT_DEFAULT (OUT_RESET | OUT_A20)

/* Keyboard commands and replies. */
#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCANSET 0xf0
#define KBD_CMD_GET_ID 0xf2
#define KBD_CMD_SET_REP 0xf3
#define KBD_CMD_ENABLE 0xf4
#define KBD_CMD_RESET_DIS 0xf5
#define KBD_CMD_RESET_DEF 0xf6
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff
#define KBD_REPLY_ACK 0xfa
#define KBD_REPLY_POR 0xaa /* power-on reset (BAT) passed */
#define KBD_REPLY_RESEND 0xfe
#define KBD_ID_MF2 0xab

/* Port 0x92. */
#define PORTA_FAST_RESET 0x01
#define PORTA_A20 0x02

#define OUTQ_SIZE 16

struct i8042 {
	/* Guest-visible registers. */
	uint8_t ctr;	  /* controller command byte */
	uint8_t status;	  /* STR_SYSFLAG | STR_CMDDAT bits */
	uint8_t out_port; /* output port */
	uint8_t port_a;	  /* 0x92 */
	/* Internal state. */
	uint8_t outq[OUTQ_SIZE];  /* bytes for the guest to read */
	bool outq_aux[OUTQ_SIZE]; /* ... from the AUX side */
	unsigned int outq_head;
	unsigned int outq_count;
	uint8_t pending_cmd; /* controller cmd awaiting data, or 0 */
	uint8_t kbd_pending; /* keyboard cmd awaiting arg, or 0 */
	bool kbd_scanning;   /* keyboard enabled (F4) */
	uint8_t kbd_leds;
	uint8_t kbd_scanset; /* 1..3 */
	bool irq_kbd;	     /* levels we drive */
	bool irq_aux;
	/* Host plumbing. */
	pthread_mutex_t lock;
	struct bus *pio;
	struct irq_sink *irq;
	const struct platform_events *events;
};

/* ---- helpers ---------------------------------------------------------- */

static void i8042_queue(struct i8042 *k, uint8_t b, bool aux)
{
	unsigned int pos;

	if (k->outq_count == OUTQ_SIZE)
		return; /* a real 8042 would have waited */
	pos = (k->outq_head + k->outq_count) % OUTQ_SIZE;
	k->outq[pos] = b;
	k->outq_aux[pos] = aux;
	k->outq_count++;
}

static void i8042_flush_output(struct i8042 *k)
{
	k->outq_head = 0;
	k->outq_count = 0;
}

static void i8042_set_line(struct i8042 *k, unsigned int gsi, bool *cur,
			   bool level)
{
	if (*cur == level)
		return;
	*cur = level;
	irq_set_line(k->irq, gsi, level);
}

/* IRQ 1 / 12 follow "a byte for that side is waiting and its INT is on". */
static void i8042_update_irq(struct i8042 *k)
{
	bool full = k->outq_count != 0;
	bool aux = full && k->outq_aux[k->outq_head];

	i8042_set_line(k, I8042_KBD_IRQ, &k->irq_kbd,
		       full && !aux && (k->ctr & CTR_KBDINT));
	i8042_set_line(k, I8042_AUX_IRQ, &k->irq_aux,
		       aux && (k->ctr & CTR_AUXINT));
}

/* Reset requests leave the lock first: the VM may call i8042_reset(). */
static void i8042_request_reset(struct i8042 *k, bool *reset)
{
	pr_dbg("i8042: reset requested");
	*reset = true;
}

/* ---- the keyboard ----------------------------------------------------- */

static void i8042_kbd_reply(struct i8042 *k, uint8_t b)
{
	i8042_queue(k, b, false);
}

static void i8042_kbd_reset_state(struct i8042 *k)
{
	k->kbd_pending = 0;
	k->kbd_scanning = true;
	k->kbd_leds = 0;
	k->kbd_scanset = 2;
}

/* Argument byte of a two-byte keyboard command. */
static void i8042_kbd_write_arg(struct i8042 *k, uint8_t cmd, uint8_t b)
{
	switch (cmd) {
	case KBD_CMD_SET_LEDS:
		k->kbd_leds = b & 7;
		break;
	case KBD_CMD_SCANSET:
		if (b == 0) {
			i8042_kbd_reply(k, KBD_REPLY_ACK);
			/* Sets as seen through translation: 43, 41, 3f. */
			i8042_kbd_reply(
				k,
				(k->ctr & CTR_XLATE) ?
					(uint8_t)(0x45 - 2 * k->kbd_scanset) :
					k->kbd_scanset);
			return;
		}
		if (b <= 3)
			k->kbd_scanset = b;
		break;
	default:
		break; /* typematic rate/delay: not kept */
	}
	i8042_kbd_reply(k, KBD_REPLY_ACK);
}

static void i8042_kbd_write(struct i8042 *k, uint8_t b)
{
	uint8_t pending = k->kbd_pending;

	k->kbd_pending = 0;
	if (pending && b < 0xed) {
		i8042_kbd_write_arg(k, pending, b);
		return;
	}
	switch (b) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SET_REP:
	case KBD_CMD_SCANSET:
		k->kbd_pending = b;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_ECHO:
		i8042_kbd_reply(k, KBD_CMD_ECHO);
		break;
	case KBD_CMD_GET_ID:
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		i8042_kbd_reply(k, KBD_ID_MF2);
		i8042_kbd_reply(k, (k->ctr & CTR_XLATE) ? 0x41 : 0x83);
		break;
	case KBD_CMD_ENABLE:
		k->kbd_scanning = true;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESET_DIS:
		k->kbd_scanning = false;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESET_DEF:
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESET:
		i8042_kbd_reset_state(k);
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		i8042_kbd_reply(k, KBD_REPLY_POR);
		break;
	case KBD_CMD_RESEND:
	default:
		/* 0xf7..0xfd (set-3 key modes) are ACKed; others refused. */
		i8042_kbd_reply(k,
				b >= 0xf7 ? KBD_REPLY_ACK : KBD_REPLY_RESEND);
		break;
	}
}

/* ---- controller commands ---------------------------------------------- */

static void i8042_write_output_port(struct i8042 *k, uint8_t v, bool *reset)
{
	k->out_port = v;
	if (!(v & OUT_RESET))
		i8042_request_reset(k, reset);
}

static void i8042_command(struct i8042 *k, uint8_t cmd, bool *reset)
{
	/* Unread output is dropped: the answer below is what counts. */
	i8042_flush_output(k);
	k->pending_cmd = 0;

	if (cmd == CMD_READ_CTR || (cmd > CMD_READ_CTR && cmd < 0x40)) {
		/* 0x21..0x3f read controller RAM: zeros. */
		i8042_queue(k, cmd == CMD_READ_CTR ? k->ctr : 0, false);
		return;
	}
	if ((cmd >= CMD_WRITE_CTR && cmd < 0x80) || cmd == CMD_WRITE_OUTPUT ||
	    cmd == CMD_KBD_LOOP || cmd == CMD_AUX_LOOP || cmd == CMD_AUX_SEND) {
		k->pending_cmd = cmd;
		return;
	}
	if (cmd >= CMD_PULSE_FIRST) {
		/* A 0 in bit 0 pulses the reset line. */
		if (!(cmd & 1))
			i8042_request_reset(k, reset);
		return;
	}
	switch (cmd) {
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		i8042_queue(k, PORT_TEST_CLOCK_LOW, false);
		break;
	case CMD_SELF_TEST:
		k->status |= STR_SYSFLAG;
		i8042_queue(k, SELF_TEST_OK, false);
		break;
	case CMD_KBD_TEST:
		i8042_queue(k, PORT_TEST_OK, false);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
		i8042_queue(k, 0x80, false); /* keyboard not inhibited */
		break;
	case CMD_READ_OUTPUT:
		i8042_queue(k, k->out_port, false);
		break;
	case CMD_A20_DISABLE:
	case CMD_A20_ENABLE:
		break;
	case CMD_READ_TEST:
		i8042_queue(k, 0, false);
		break;
	default:
		guest_err("i8042: unknown command %#x", cmd);
		break;
	}
}

/* The data byte a pending controller command waited for. */
static void i8042_command_data(struct i8042 *k, uint8_t cmd, uint8_t b,
			       bool *reset)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = b;
		if (b & CTR_SYSFLAG)
			k->status |= STR_SYSFLAG;
		else
			k->status &= (uint8_t)~STR_SYSFLAG;
		break;
	case CMD_WRITE_OUTPUT:
		i8042_write_output_port(k, b, reset);
		break;
	case CMD_KBD_LOOP:
		i8042_queue(k, b, false);
		break;
	case CMD_AUX_LOOP:
		/* No AUX port: the byte comes back without AUXDATA. */
		i8042_queue(k, b, false);
		break;
	case CMD_AUX_SEND:
		break; /* nobody on the AUX port */
	default:
		break; /* 0x61..0x7f: controller RAM */
	}
}

/* ---- register handlers ------------------------------------------------ */

static uint8_t i8042_read_data(struct i8042 *k)
{
	uint8_t b;

	if (!k->outq_count)
		return k->outq[(k->outq_head + OUTQ_SIZE - 1) % OUTQ_SIZE];
	b = k->outq[k->outq_head];
	k->outq_head = (k->outq_head + 1) % OUTQ_SIZE;
	k->outq_count--;
	/* Drop the lines so the next queued byte makes a fresh edge. */
	i8042_set_line(k, I8042_KBD_IRQ, &k->irq_kbd, false);
	i8042_set_line(k, I8042_AUX_IRQ, &k->irq_aux, false);
	return b;
}

static uint8_t i8042_read_status(const struct i8042 *k)
{
	uint8_t v = k->status | STR_KEYLOCK;

	if (k->outq_count) {
		v |= STR_OBF;
		if (k->outq_aux[k->outq_head])
			v |= STR_AUXDATA;
	}
	return v;
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned int size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = i8042_read_data(k);
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_data_write(void *opaque, uint64_t off, unsigned int size,
			     uint64_t value)
{
	struct i8042 *k = opaque;
	uint8_t cmd;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	k->status &= (uint8_t)~STR_CMDDAT;
	cmd = k->pending_cmd;
	k->pending_cmd = 0;
	if (cmd)
		i8042_command_data(k, cmd, (uint8_t)value, &reset);
	else
		i8042_kbd_write(k, (uint8_t)value);
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->events && k->events->reset)
		k->events->reset(k->events->opaque);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t off, unsigned int size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = i8042_read_status(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_cmd_write(void *opaque, uint64_t off, unsigned int size,
			    uint64_t value)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	k->status |= STR_CMDDAT;
	i8042_command(k, (uint8_t)value, &reset);
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->events && k->events->reset)
		k->events->reset(k->events->opaque);
}

static const struct bus_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct bus_ops i8042_cmd_ops = {
	.read = i8042_cmd_read,
	.write = i8042_cmd_write,
};

static uint64_t i8042_porta_read(void *opaque, uint64_t off, unsigned int size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = k->port_a;
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_porta_write(void *opaque, uint64_t off, unsigned int size,
			      uint64_t value)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	/* Bit 0 is a write-1 trigger and reads back 0. */
	k->port_a = (uint8_t)value & (uint8_t)~PORTA_FAST_RESET;
	if (value & PORTA_FAST_RESET)
		i8042_request_reset(k, &reset);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->events && k->events->reset)
		k->events->reset(k->events->opaque);
}

static const struct bus_ops i8042_porta_ops = {
	.read = i8042_porta_read,
	.write = i8042_porta_write,
};

/* ---- lifecycle -------------------------------------------------------- */

static void i8042_reset_locked(struct i8042 *k)
{
	k->ctr = CTR_KBDINT | CTR_SYSFLAG | CTR_AUXDIS | CTR_XLATE;
	k->status = STR_SYSFLAG;
	k->out_port = OUT_DEFAULT;
	k->port_a = PORTA_A20;
	k->pending_cmd = 0;
	i8042_flush_output(k);
	i8042_kbd_reset_state(k);
	i8042_update_irq(k);
}

void i8042_reset(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	i8042_reset_locked(k);
	pthread_mutex_unlock(&k->lock);
}

int i8042_create(struct bus *pio, struct irq_sink *irq,
		 const struct platform_events *events, struct i8042 **out)
{
	struct i8042 *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->pio = pio;
	k->irq = irq;
	k->events = events;
	i8042_reset_locked(k);

	/* Two ranges: 0x61 (speaker/PIT port B) belongs to the irqchip. */
	r = bus_register(pio, I8042_DATA_PORT, 1, &i8042_data_ops, k,
			 "i8042-data");
	if (r)
		goto err_free;
	r = bus_register(pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, k,
			 "i8042-cmd");
	if (r)
		goto err_unregister_data;
	r = bus_register(pio, I8042_PORT_A, 1, &i8042_porta_ops, k, "port92");
	if (r)
		goto err_unregister_cmd;
	*out = k;
	return 0;

err_unregister_cmd:
	bus_unregister(pio, I8042_CMD_PORT);
err_unregister_data:
	bus_unregister(pio, I8042_DATA_PORT);
err_free:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return r;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	bus_unregister(k->pio, I8042_PORT_A);
	bus_unregister(k->pio, I8042_CMD_PORT);
	bus_unregister(k->pio, I8042_DATA_PORT);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
