// SPDX-License-Identifier: MIT
/*
 * Unit tests: i8042. Replays Linux's i8042 probe (flush, self-test, CTR
 * handshake, AUX check) and atkbd's keyboard probe, then the reset paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "fake_irq.h"
#include "hvkvm/bus.h"
#include "hvkvm/i8042.h"
#include "hvkvm/platform.h"

#define STR_OBF 0x01
#define STR_AUXDATA 0x20
#define CTR_KBDINT 0x01
#define CTR_KBDDIS 0x10
#define CTR_XLATE 0x40

struct env {
	struct bus pio;
	struct fake_irq irq;
	struct platform_events ev;
	unsigned int resets;
	struct i8042 *k;
};

static void ev_reset(void *opaque)
{
	struct env *e = opaque;

	e->resets++;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	bus_init(&e->pio, "pio");
	fake_irq_init(&e->irq);
	e->ev.reset = ev_reset;
	e->ev.opaque = e;
	assert_int_equal(i8042_create(&e->pio, &e->irq.sink, &e->ev, &e->k), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	i8042_destroy(e->k);
	free(e);
	return 0;
}

static uint8_t status(struct env *e)
{
	uint64_t v;

	assert_true(bus_read(&e->pio, I8042_CMD_PORT, 1, &v));
	return (uint8_t)v;
}

static uint8_t data(struct env *e)
{
	uint64_t v;

	assert_true(bus_read(&e->pio, I8042_DATA_PORT, 1, &v));
	return (uint8_t)v;
}

static void cmd(struct env *e, uint8_t c)
{
	assert_true(bus_write(&e->pio, I8042_CMD_PORT, 1, c));
}

static void put(struct env *e, uint8_t b)
{
	assert_true(bus_write(&e->pio, I8042_DATA_PORT, 1, b));
}

/* i8042_command(): send, then expect one byte in the output buffer. */
static uint8_t cmd_result(struct env *e, uint8_t c)
{
	cmd(e, c);
	assert_true(status(e) & STR_OBF);
	return data(e);
}

/* Through the keyboard port: every byte arrives with its own IRQ 1 edge. */
static void kbd_expect(struct env *e, uint8_t b, const uint8_t *reply,
		       unsigned int n)
{
	unsigned int i, raises = e->irq.raises[I8042_KBD_IRQ];

	put(e, b);
	for (i = 0; i < n; i++) {
		assert_true(e->irq.level[I8042_KBD_IRQ]);
		assert_int_equal(e->irq.raises[I8042_KBD_IRQ], raises + i + 1);
		assert_int_equal(status(e) & (STR_OBF | STR_AUXDATA), STR_OBF);
		assert_int_equal(data(e), reply[i]);
	}
	assert_false(e->irq.level[I8042_KBD_IRQ]);
	assert_false(status(e) & STR_OBF);
}

static void test_i8042_linux_probe(void **state)
{
	struct env *e = *state;
	uint8_t ctr, ctr2, param;
	unsigned int i;

	/* i8042_flush(): nothing pending. */
	for (i = 0; i < 16 && (status(e) & STR_OBF); i++)
		data(e);
	assert_int_equal(i, 0);
	/* i8042_controller_selftest(). */
	assert_int_equal(cmd_result(e, 0xaa), 0x55);
	/* i8042_controller_init(): read CTR until stable, then write it. */
	ctr = cmd_result(e, 0x20);
	ctr2 = cmd_result(e, 0x20);
	assert_int_equal(ctr, ctr2);
	assert_true(ctr & CTR_XLATE);
	ctr |= CTR_KBDDIS;
	ctr &= (uint8_t)~CTR_KBDINT;
	cmd(e, 0x60);
	put(e, ctr);
	assert_int_equal(cmd_result(e, 0x20), ctr);
	/* i8042_check_aux(): loop-back answers without AUXDATA ... */
	cmd(e, 0xd3);
	put(e, 0x5a);
	assert_int_equal(status(e) & (STR_OBF | STR_AUXDATA), STR_OBF);
	/* ... (Linux gives up without reading) and the AUX test fails. */
	param = cmd_result(e, 0xa9);
	assert_true(param && param != 0xfa && param != 0xff);
	assert_false(status(e) & STR_OBF);
	assert_int_equal(e->irq.raises[I8042_AUX_IRQ], 0);
	/* i8042_setup_kbd(): KBDINT on, port enabled; KBD test passes. */
	assert_int_equal(cmd_result(e, 0xab), 0x00);
	ctr |= CTR_KBDINT;
	ctr &= (uint8_t)~CTR_KBDDIS;
	cmd(e, 0x60);
	put(e, ctr);
	assert_false(e->irq.level[I8042_KBD_IRQ]);

	/* atkbd_probe(): GETID; translated MF2 keyboard is ab 41. */
	kbd_expect(e, 0xf2, (const uint8_t[]){ 0xfa, 0xab, 0x41 }, 3);
	/* atkbd_activate(): LEDs, typematic rate, enable. */
	kbd_expect(e, 0xed, (const uint8_t[]){ 0xfa }, 1);
	kbd_expect(e, 0x00, (const uint8_t[]){ 0xfa }, 1);
	kbd_expect(e, 0xf3, (const uint8_t[]){ 0xfa }, 1);
	kbd_expect(e, 0x20, (const uint8_t[]){ 0xfa }, 1);
	kbd_expect(e, 0xf4, (const uint8_t[]){ 0xfa }, 1);
	/* Reset and echo; unknown commands ask for a resend. */
	kbd_expect(e, 0xff, (const uint8_t[]){ 0xfa, 0xaa }, 2);
	kbd_expect(e, 0xee, (const uint8_t[]){ 0xee }, 1);
	kbd_expect(e, 0x12, (const uint8_t[]){ 0xfe }, 1);
	/* Scan-code set query through translation reads 0x41 (set 2). */
	kbd_expect(e, 0xf0, (const uint8_t[]){ 0xfa }, 1);
	kbd_expect(e, 0x00, (const uint8_t[]){ 0xfa, 0x41 }, 2);
	/* Untranslated, the ID is ab 83. */
	cmd(e, 0x60);
	put(e, ctr & (uint8_t)~CTR_XLATE);
	kbd_expect(e, 0xf2, (const uint8_t[]){ 0xfa, 0xab, 0x83 }, 3);
	/* KBDINT off: bytes still arrive, the line stays low. */
	cmd(e, 0x60);
	put(e, 0);
	put(e, 0xf4);
	assert_false(e->irq.level[I8042_KBD_IRQ]);
	assert_int_equal(data(e), 0xfa);
	assert_int_equal(e->resets, 0);
}

static void test_i8042_reset_pulse(void **state)
{
	struct env *e = *state;
	uint64_t v;

	/* Pulse output lines: 0xfe pulses reset (bit 0 low). */
	cmd(e, 0xff);
	assert_int_equal(e->resets, 0);
	cmd(e, 0xfe);
	assert_int_equal(e->resets, 1);
	cmd(e, 0xf0);
	assert_int_equal(e->resets, 2);
	/* Output port: read it, write it back with bit 0 cleared. */
	uint8_t port = cmd_result(e, 0xd0);
	assert_true(port & 0x01);
	cmd(e, 0xd1);
	put(e, port);
	assert_int_equal(e->resets, 2);
	cmd(e, 0xd1);
	put(e, port & (uint8_t)~1);
	assert_int_equal(e->resets, 3);
	/* Port 0x92 fast reset; A20 bit reads back, reset bit does not. */
	assert_true(bus_read(&e->pio, I8042_PORT_A, 1, &v));
	assert_int_equal(v, 0x02);
	assert_true(bus_write(&e->pio, I8042_PORT_A, 1, 0x02));
	assert_int_equal(e->resets, 3);
	assert_true(bus_write(&e->pio, I8042_PORT_A, 1, 0x03));
	assert_int_equal(e->resets, 4);
	assert_true(bus_read(&e->pio, I8042_PORT_A, 1, &v));
	assert_int_equal(v, 0x02);
	/* i8042_reset() brings the defaults back. */
	cmd(e, 0x60);
	put(e, 0);
	put(e, 0xf4);
	i8042_reset(e->k);
	assert_false(status(e) & STR_OBF);
	assert_int_equal(cmd_result(e, 0x20) & CTR_XLATE, CTR_XLATE);
}

static void test_i8042_new_command_drops_stale_output(void **state)
{
	struct env *e = *state;

	put(e, 0xf2); /* fa ab 41 queued */
	assert_true(e->irq.level[I8042_KBD_IRQ]);
	assert_int_equal(cmd_result(e, 0xaa), 0x55);
	assert_false(status(e) & STR_OBF);
	assert_false(e->irq.level[I8042_KBD_IRQ]);
	/* Reading an empty buffer repeats the last byte, harmlessly. */
	assert_int_equal(data(e), 0x55);
	/* Controller RAM reads are zeros, unknown commands ignored. */
	assert_int_equal(cmd_result(e, 0x21), 0);
	cmd(e, 0x07);
	assert_false(status(e) & STR_OBF);
	/* A command byte sets the CMD/DATA status bit. */
	assert_true(status(e) & 0x08);
	put(e, 0xf4);
	assert_false(status(e) & 0x08);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_i8042_linux_probe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_i8042_reset_pulse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_i8042_new_command_drops_stale_output, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
