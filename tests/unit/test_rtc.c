// SPDX-License-Identifier: MIT
/* Unit tests: MC146818 RTC time formats, SET/UIP, flags, CMOS fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "fake_irq.h"
#include "hvkvm/bus.h"
#include "hvkvm/rtc.h"
#include "hvkvm/util.h"

/* 2024-02-29 13:45:56 UTC, a Thursday. */
#define T0 1709214356

static struct timespec fake_now;

static void fake_clock(struct timespec *ts)
{
	*ts = fake_now;
}

struct env {
	struct bus pio;
	struct fake_irq irq;
	struct rtc *rtc;
};

static struct env *env_new(uint64_t below, uint64_t above, unsigned int cpus,
			   bool utc)
{
	struct env *e = calloc(1, sizeof(*e));

	bus_init(&e->pio, "pio");
	fake_irq_init(&e->irq);
	fake_now = (struct timespec){ .tv_sec = T0, .tv_nsec = 100000000 };
	assert_int_equal(rtc_create(&e->pio, &e->irq.sink, RTC_IRQ, below,
				    above, cpus, utc, &e->rtc),
			 0);
	rtc_set_clock(e->rtc, fake_clock);
	return e;
}

static int setup(void **state)
{
	*state = env_new(512 * MiB, 1 * GiB, 4, true);
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	rtc_destroy(e->rtc);
	free(e);
	return 0;
}

static uint8_t cmos(struct env *e, uint8_t idx)
{
	uint64_t v;

	assert_true(bus_write(&e->pio, 0x70, 1, idx));
	assert_true(bus_read(&e->pio, 0x71, 1, &v));
	return (uint8_t)v;
}

static void cmos_w(struct env *e, uint8_t idx, uint8_t v)
{
	assert_true(bus_write(&e->pio, 0x70, 1, idx));
	assert_true(bus_write(&e->pio, 0x71, 1, v));
}

static void test_rtc_bcd_24h_default(void **state)
{
	struct env *e = *state;

	assert_int_equal(cmos(e, 0x0b), 0x02);
	assert_int_equal(cmos(e, 0x0d), 0x80);
	assert_int_equal(cmos(e, 0x00), 0x56);
	assert_int_equal(cmos(e, 0x02), 0x45);
	assert_int_equal(cmos(e, 0x04), 0x13);
	assert_int_equal(cmos(e, 0x06), 5); /* Sunday = 1 */
	assert_int_equal(cmos(e, 0x07), 0x29);
	assert_int_equal(cmos(e, 0x08), 0x02);
	assert_int_equal(cmos(e, 0x09), 0x24);
	assert_int_equal(cmos(e, RTC_REG_CENTURY), 0x20);
	/* The clock runs with the host. */
	fake_now.tv_sec += 3600 + 4;
	assert_int_equal(cmos(e, 0x00), 0x00);
	assert_int_equal(cmos(e, 0x02), 0x46);
	assert_int_equal(cmos(e, 0x04), 0x14);
}

static void test_rtc_binary_and_12h(void **state)
{
	struct env *e = *state;

	cmos_w(e, 0x0b, 0x04); /* binary, 12-hour */
	assert_int_equal(cmos(e, 0x00), 56);
	assert_int_equal(cmos(e, 0x04), 0x80 | 1); /* 1 PM */
	assert_int_equal(cmos(e, 0x09), 24);
	assert_int_equal(cmos(e, RTC_REG_CENTURY), 20);
	fake_now.tv_sec = T0 - 13 * 3600 - 45 * 60 - 56; /* midnight */
	assert_int_equal(cmos(e, 0x04), 12);		 /* 12 AM */
	cmos_w(e, 0x0b, 0x00);				 /* BCD, 12-hour */
	fake_now.tv_sec += 12 * 3600;			 /* noon */
	assert_int_equal(cmos(e, 0x04), 0x80 | 0x12);
	cmos_w(e, 0x0b, 0x06); /* binary, 24-hour */
	assert_int_equal(cmos(e, 0x04), 12);
}

static void test_rtc_guest_sets_time(void **state)
{
	struct env *e = *state;

	/* Linux mc146818_set_time(): SET, write BCD fields, clear SET. */
	cmos_w(e, 0x0b, 0x02 | 0x80);
	cmos_w(e, 0x09, 0x30);
	cmos_w(e, 0x08, 0x01);
	cmos_w(e, 0x07, 0x01);
	cmos_w(e, 0x04, 0x23);
	cmos_w(e, 0x02, 0x59);
	cmos_w(e, 0x00, 0x58);
	cmos_w(e, RTC_REG_CENTURY, 0x20);
	/* Frozen while SET: time passes, registers do not move. */
	fake_now.tv_sec += 10;
	assert_int_equal(cmos(e, 0x00), 0x58);
	assert_false(cmos(e, 0x0a) & 0x80); /* no UIP */
	cmos_w(e, 0x0b, 0x02);
	assert_int_equal(cmos(e, 0x00), 0x58);
	fake_now.tv_sec += 3; /* into 2030 */
	assert_int_equal(cmos(e, 0x00), 0x01);
	assert_int_equal(cmos(e, 0x02), 0x00);
	assert_int_equal(cmos(e, 0x04), 0x00);
	assert_int_equal(cmos(e, 0x07), 0x02);
	assert_int_equal(cmos(e, 0x09), 0x30);
	/* A write without SET edits the running clock. */
	cmos_w(e, 0x04, 0x05);
	assert_int_equal(cmos(e, 0x04), 0x05);
	assert_int_equal(cmos(e, 0x07), 0x02);
	/* Garbage (bad BCD, month 0x99) must not hurt. */
	cmos_w(e, 0x0b, 0x82);
	cmos_w(e, 0x08, 0x99);
	cmos_w(e, 0x07, 0xff);
	cmos_w(e, RTC_REG_CENTURY, 0xff);
	cmos_w(e, 0x0b, 0x02);
	(void)cmos(e, 0x09);
	(void)cmos(e, 0x0c);
}

static void test_rtc_uip_window(void **state)
{
	struct env *e = *state;

	fake_now.tv_nsec = 500000000;
	assert_int_equal(cmos(e, 0x0a), 0x26);
	fake_now.tv_nsec = 999800000; /* last 244 us */
	assert_int_equal(cmos(e, 0x0a), 0xa6);
	cmos_w(e, 0x0a, 0xa0 | 0x23); /* UIP is read-only */
	fake_now.tv_nsec = 0;
	assert_int_equal(cmos(e, 0x0a), 0x23);
}

static void test_rtc_update_and_periodic_flags(void **state)
{
	struct env *e = *state;

	/* The default 1024 Hz rate has long elapsed: PF is set. */
	assert_int_equal(cmos(e, 0x0c), 0x40);
	cmos_w(e, 0x0a, 0x20); /* periodic off */
	assert_int_equal(cmos(e, 0x0c), 0);
	cmos_w(e, 0x0b, 0x02 | 0x10); /* UIE */
	assert_false(e->irq.level[RTC_IRQ]);
	fake_now.tv_sec++;
	rtc_poll(e->rtc);
	assert_true(e->irq.level[RTC_IRQ]);
	assert_int_equal(cmos(e, 0x0c), 0x80 | 0x10); /* IRQF | UF */
	assert_false(e->irq.level[RTC_IRQ]);
	assert_int_equal(cmos(e, 0x0c), 0);
	/* UF without UIE: flag, no IRQF, no line. */
	cmos_w(e, 0x0b, 0x02);
	fake_now.tv_sec++;
	rtc_poll(e->rtc);
	assert_false(e->irq.level[RTC_IRQ]);
	assert_int_equal(cmos(e, 0x0c), 0x10);
	/* Periodic: rate 6 = 976.5625 us. */
	cmos_w(e, 0x0a, 0x26);
	cmos_w(e, 0x0b, 0x02 | 0x40);
	(void)cmos(e, 0x0c);
	fake_now.tv_nsec += 500000;
	assert_int_equal(cmos(e, 0x0c), 0);
	fake_now.tv_nsec += 2000000;
	assert_int_equal(cmos(e, 0x0c), 0x80 | 0x40);
	/*
	 * Edges: UIE above, and enabling PIE with PF pending. Reading C
	 * itself never pulses the line.
	 */
	assert_int_equal(e->irq.raises[RTC_IRQ], 2);
	/* Alarm: hh:mm:ss of the next second, then don't-care hours. */
	cmos_w(e, 0x0b, 0x02 | 0x20);
	cmos_w(e, 0x0a, 0x20); /* no periodic */
	(void)cmos(e, 0x0c);
	cmos_w(e, 0x01, 0x59);
	cmos_w(e, 0x03, 0x45);
	cmos_w(e, 0x05, 0xc0);
	fake_now.tv_sec = T0 + 2; /* :58 */
	assert_int_equal(cmos(e, 0x0c) & 0x20, 0);
	fake_now.tv_sec = T0 + 3; /* :59 */
	rtc_poll(e->rtc);
	assert_true(e->irq.level[RTC_IRQ]);
	assert_int_equal(cmos(e, 0x0c), 0x80 | 0x20 | 0x10);
	/* Reset clears enables and flags. */
	fake_now.tv_sec++;
	rtc_reset(e->rtc);
	assert_int_equal(cmos(e, 0x0b), 0x02);
}

static void test_rtc_cmos_memory_fields(void **state)
{
	struct env *e = *state;
	unsigned int i, sum = 0;

	assert_int_equal(cmos(e, 0x15) | cmos(e, 0x16) << 8, 640);
	assert_int_equal(cmos(e, 0x17) | cmos(e, 0x18) << 8, 0xffff);
	assert_int_equal(cmos(e, 0x30) | cmos(e, 0x31) << 8, 0xffff);
	assert_int_equal(cmos(e, 0x34) | cmos(e, 0x35) << 8, (512 - 16) * 16);
	assert_int_equal(cmos(e, 0x5b) | cmos(e, 0x5c) << 8 |
				 cmos(e, 0x5d) << 16,
			 16384);
	assert_int_equal(cmos(e, 0x5f), 3);
	assert_int_equal(cmos(e, 0x10), 0);
	for (i = 0x10; i < 0x2e; i++)
		sum += cmos(e, (uint8_t)i);
	assert_int_equal(cmos(e, 0x2e) << 8 | cmos(e, 0x2f), sum & 0xffff);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	assert_int_equal(cmos(e, 0x80 | 0x5f), 3);
	/* Plain CMOS bytes are storage (SeaBIOS boot flags, shutdown). */
	cmos_w(e, 0x0f, 0x0a);
	assert_int_equal(cmos(e, 0x0f), 0x0a);
	rtc_cmos_set(e->rtc, 0x3d, 0x21);
	assert_int_equal(cmos(e, 0x3d), 0x21);
	assert_int_equal(rtc_cmos_get(e->rtc, 0x3d), 0x21);
	/* C and D ignore writes. */
	cmos_w(e, 0x0d, 0);
	assert_int_equal(cmos(e, 0x0d), 0x80);
}

static void test_rtc_small_memory_and_localtime(void **state)
{
	struct env *e;

	setenv("TZ", "XXX-2", 1); /* two hours east of UTC */
	tzset();
	e = env_new(8 * MiB, 0, 1, false);
	assert_int_equal(cmos(e, 0x17) | cmos(e, 0x18) << 8, 7 * 1024);
	assert_int_equal(cmos(e, 0x34) | cmos(e, 0x35) << 8, 0);
	assert_int_equal(cmos(e, 0x5b) | cmos(e, 0x5c) | cmos(e, 0x5d), 0);
	assert_int_equal(cmos(e, 0x5f), 0);
	assert_int_equal(cmos(e, 0x04), 0x15); /* local 15:45 */
	rtc_destroy(e->rtc);
	free(e);
	unsetenv("TZ");
	tzset();
}

static uint64_t timer_delay;
static unsigned int timer_calls;

static void fake_timer(void *opaque, uint64_t delay_ns)
{
	timer_delay = delay_ns;
	timer_calls++;
}

static void test_rtc_timer_hook(void **state)
{
	struct env *e = *state;

	timer_calls = 0;
	rtc_set_timer(e->rtc, fake_timer, e);
	cmos_w(e, 0x0b, 0x02);
	assert_int_equal(timer_calls, 0); /* nothing enabled */
	/* UIE: the next second boundary, 0.9 s away. */
	cmos_w(e, 0x0b, 0x02 | 0x10);
	assert_int_equal(timer_delay, 900000000);
	/* PIE at 1024 Hz wins: due within one 976.5625 us period. */
	cmos_w(e, 0x0b, 0x02 | 0x10 | 0x40);
	assert_true(timer_delay > 0 && timer_delay <= 976562);
	/* The timer fires: poll raises IRQ 8 and re-arms. */
	fake_now.tv_nsec += (long)timer_delay;
	timer_calls = 0;
	rtc_poll(e->rtc);
	assert_true(e->irq.level[RTC_IRQ]);
	assert_int_equal(timer_calls, 1);
	assert_true(timer_delay > 0 && timer_delay <= 976563);
	assert_int_equal(cmos(e, 0x0c) & 0xc0, 0xc0);
	assert_false(e->irq.level[RTC_IRQ]);
	/* SET stops updates and the timer. */
	cmos_w(e, 0x0b, 0x80 | 0x02);
	assert_int_equal(timer_delay, 0);
	rtc_set_timer(e->rtc, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rtc_bcd_24h_default, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_binary_and_12h, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_guest_sets_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_uip_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_rtc_update_and_periodic_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtc_cmos_memory_fields,
						setup, teardown),
		cmocka_unit_test(test_rtc_small_memory_and_localtime),
		cmocka_unit_test_setup_teardown(test_rtc_timer_hook, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
