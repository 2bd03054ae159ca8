// SPDX-License-Identifier: MIT
/*
 * Unit tests: ACPI PM block (PM1 event/control, PM timer, GPE0, SCI) and the
 * debug-exit device, both of which end in platform events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "fake_irq.h"
#include "hvkvm/acpi_pm.h"
#include "hvkvm/bus.h"
#include "hvkvm/debug_exit.h"
#include "hvkvm/platform.h"

#define BASE ACPI_PM_BASE
#define SCI ACPI_PM_SCI_IRQ
#define PM1_STS (BASE + ACPI_PM1_EVT_OFF)
#define PM1_EN (BASE + ACPI_PM1_EVT_OFF + 2)
#define PM1_CNT (BASE + ACPI_PM1_CNT_OFF)
#define PM_TMR (BASE + ACPI_PM_TMR_OFF)
#define GPE0_STS (BASE + ACPI_GPE0_OFF)
#define GPE0_EN (BASE + ACPI_GPE0_OFF + 4)

struct env {
	struct bus pio;
	struct fake_irq irq;
	struct platform_events ev;
	unsigned int poweroffs;
	unsigned int debug_exits;
	int last_status;
	struct acpi_pm *pm;
};

static void ev_poweroff(void *opaque)
{
	struct env *e = opaque;

	e->poweroffs++;
}

static void ev_debug_exit(void *opaque, int status)
{
	struct env *e = opaque;

	e->debug_exits++;
	e->last_status = status;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	bus_init(&e->pio, "pio");
	fake_irq_init(&e->irq);
	e->ev.poweroff = ev_poweroff;
	e->ev.debug_exit = ev_debug_exit;
	e->ev.opaque = e;
	assert_int_equal(acpi_pm_create(&e->pio, &e->irq.sink, BASE, SCI,
					ACPI_PM_SLP_TYP_S5, &e->ev, &e->pm),
			 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	acpi_pm_destroy(e->pm);
	free(e);
	return 0;
}

static uint32_t in(struct env *e, uint16_t port, unsigned int size)
{
	uint64_t v;

	assert_true(bus_read(&e->pio, port, size, &v));
	return (uint32_t)v;
}

static void out(struct env *e, uint16_t port, unsigned int size, uint32_t v)
{
	assert_true(bus_write(&e->pio, port, size, v));
}

static void test_acpi_pm_s5_powers_off(void **state)
{
	struct env *e = *state;

	/* Always in ACPI mode: SCI_EN reads 1 and sticks. */
	assert_int_equal(in(e, PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
	out(e, PM1_CNT, 2, 0);
	assert_int_equal(in(e, PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
	/* SLP_TYP alone does nothing; SLP_EN is write-only. */
	out(e, PM1_CNT, 2, 5 << 10 | 1);
	assert_int_equal(e->poweroffs, 0);
	assert_int_equal(in(e, PM1_CNT, 2), 5 << 10 | 1);
	/* A sleep state we do not offer: wakes at once. */
	out(e, PM1_CNT, 2, 3 << 10 | ACPI_PM1_CNT_SLP_EN | 1);
	assert_int_equal(e->poweroffs, 0);
	assert_true(in(e, PM1_STS, 2) & ACPI_PM1_WAK);
	out(e, PM1_STS, 2, ACPI_PM1_WAK);
	assert_false(in(e, PM1_STS, 2) & ACPI_PM1_WAK);
	/* Linux acpi_hw_legacy_sleep(): SLP_TYP, then SLP_TYP|SLP_EN. */
	out(e, PM1_CNT, 2, ACPI_PM_SLP_TYP_S5 << 10 | 1);
	out(e, PM1_CNT, 2, ACPI_PM_SLP_TYP_S5 << 10 | ACPI_PM1_CNT_SLP_EN | 1);
	assert_int_equal(e->poweroffs, 1);
	assert_false(in(e, PM1_CNT, 2) & ACPI_PM1_CNT_SLP_EN);
	/* Byte access to the high half works too. */
	out(e, PM1_CNT + 1, 1, (ACPI_PM_SLP_TYP_S5 << 2) | 0x20);
	assert_int_equal(e->poweroffs, 2);
}

static void test_acpi_pm_power_button_sci(void **state)
{
	struct env *e = *state;

	/* Nobody listening: status latches, no SCI. */
	assert_false(acpi_pm_power_button(e->pm));
	assert_false(e->irq.level[SCI]);
	assert_true(in(e, PM1_STS, 2) & ACPI_PM1_PWRBTN);
	/* OS enables the button: the pending status raises SCI at once. */
	out(e, PM1_EN, 2, ACPI_PM1_PWRBTN);
	assert_true(e->irq.level[SCI]);
	assert_int_equal(in(e, PM1_EN, 2), ACPI_PM1_PWRBTN);
	/* The dword view of PM1_EVT is STS | EN << 16. */
	assert_int_equal(in(e, PM1_STS, 4),
			 ACPI_PM1_PWRBTN | ACPI_PM1_PWRBTN << 16);
	/* Writing 0 clears nothing; writing 1 clears (W1C). */
	out(e, PM1_STS, 2, 0);
	assert_true(e->irq.level[SCI]);
	out(e, PM1_STS, 2, ACPI_PM1_PWRBTN);
	assert_false(e->irq.level[SCI]);
	assert_int_equal(in(e, PM1_STS, 2), 0);
	/* Second press with the OS listening. */
	assert_true(acpi_pm_power_button(e->pm));
	assert_true(e->irq.level[SCI]);
	assert_int_equal(e->irq.raises[SCI], 2);
	/* Disabling the enable drops the level. */
	out(e, PM1_EN, 2, 0);
	assert_false(e->irq.level[SCI]);
	/* Reserved enable bits do not stick. */
	out(e, PM1_EN, 2, 0xffff);
	assert_int_equal(in(e, PM1_EN, 2), 0x0721);
	acpi_pm_reset(e->pm);
	assert_false(e->irq.level[SCI]);
	assert_int_equal(in(e, PM1_STS, 4), 0);
}

static void test_acpi_pm_gpe0(void **state)
{
	struct env *e = *state;

	acpi_pm_gpe_set(e->pm, 3);
	acpi_pm_gpe_set(e->pm, 40); /* ignored */
	assert_false(e->irq.level[SCI]);
	assert_int_equal(in(e, GPE0_STS, 1), 0x08);
	out(e, GPE0_EN, 1, 0x08);
	assert_true(e->irq.level[SCI]);
	assert_int_equal(in(e, GPE0_EN, 4), 0x08);
	out(e, GPE0_STS, 1, 0x08);
	assert_false(e->irq.level[SCI]);
	assert_int_equal(in(e, GPE0_STS, 4), 0);
}

static void test_acpi_pm_timer_monotonic(void **state)
{
	struct env *e = *state;
	struct timespec d = { .tv_nsec = 10 * 1000 * 1000 };
	uint32_t a, b, c;

	a = in(e, PM_TMR, 4);
	b = in(e, PM_TMR, 4);
	assert_true(b - a < 0x80000000u);
	nanosleep(&d, NULL);
	c = in(e, PM_TMR, 4);
	/* 10 ms is ~35795 ticks; allow a slow machine, but it moved. */
	assert_true(c - b >= 35000);
	assert_true(c - b < ACPI_PM_TMR_HZ * 10u);
	/* Writes are ignored. */
	out(e, PM_TMR, 4, 0);
	assert_true(in(e, PM_TMR, 4) - c < 0x80000000u);
	/* Unused holes read 0. */
	assert_int_equal(in(e, BASE + 0x1c, 4), 0);
}

static void test_debug_exit_status(void **state)
{
	struct env *e = *state;
	struct debug_exit *d, *d2;

	assert_int_equal(debug_exit_create(&e->pio, 0xf4, 3, &e->ev, &d),
			 -EINVAL);
	assert_int_equal(debug_exit_create(&e->pio, 0xf4, 4, &e->ev, &d), 0);
	assert_int_equal(debug_exit_create(&e->pio, 0xf6, 1, &e->ev, &d2),
			 -EEXIST);
	out(e, 0xf4, 1, 0x10);
	assert_int_equal(e->debug_exits, 1);
	assert_int_equal(e->last_status, 0x21);
	out(e, 0xf4, 4, 0);
	assert_int_equal(e->last_status, 1);
	out(e, 0xf5, 2, 0x1234);
	assert_int_equal(e->last_status, 0x2469);
	assert_int_equal(in(e, 0xf4, 1), 0xff);
	debug_exit_destroy(d);
	assert_false(bus_write(&e->pio, 0xf4, 1, 0x10)); /* gone */
	assert_int_equal(e->debug_exits, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_acpi_pm_s5_powers_off,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_power_button_sci,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_gpe0, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_timer_monotonic,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_exit_status, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
