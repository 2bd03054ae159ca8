/* SPDX-License-Identifier: MIT */
/*
 * rtc: the Motorola MC146818 CMOS real-time clock and 128 bytes of CMOS RAM
 * at ports 0x70 (index) / 0x71 (data). The clock follows the host's
 * CLOCK_REALTIME plus an offset the guest sets by writing the time.
 */
#ifndef HVKVM_RTC_H
#define HVKVM_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct bus;
struct irq_sink;
struct rtc;

#define RTC_BASE 0x70
#define RTC_IRQ 8
#define RTC_CMOS_SIZE 128
/* CMOS index of the century byte (the FADT's CENTURY field). */
#define RTC_REG_CENTURY 0x32

/*
 * Register the RTC on @pio with IRQ @irq_line (8). The CMOS memory-size fields
 * SeaBIOS reads are filled from @ram_below_4g / @ram_above_4g (bytes) and
 * @nr_cpus. @utc: the clock shows UTC (else host local time). 0 or -errno.
 */
int rtc_create(struct bus *pio, struct irq_sink *irq, unsigned int irq_line,
	       uint64_t ram_below_4g, uint64_t ram_above_4g,
	       unsigned int nr_cpus, bool utc, struct rtc **out);
void rtc_destroy(struct rtc *rtc);
/* Guest reboot: interrupt enables and flags cleared; time and CMOS kept. */
void rtc_reset(struct rtc *rtc);

/* Start-up: set/read one CMOS byte (e.g. boot order 0x38/0x3d). */
void rtc_cmos_set(struct rtc *rtc, uint8_t index, uint8_t value);
uint8_t rtc_cmos_get(struct rtc *rtc, uint8_t index);

/*
 * Re-evaluate update/alarm/periodic flags against the clock and drive IRQ 8.
 * Without it, flags are still seen when the guest reads register C, but no
 * interrupt arrives on its own.
 */
void rtc_poll(struct rtc *rtc);
/*
 * Optional: the RTC calls @fn(@opaque, delay_ns) when its next enabled event
 * (UIE/AIE: the next second; PIE: the next periodic tick) moves; the VM arms
 * a one-shot timer (e.g. a timerfd) that calls rtc_poll() after @delay_ns,
 * or disarms it for 0. Called on a vCPU thread or inside rtc_poll(), with
 * the RTC lock held: @fn must not call back into the RTC.
 */
typedef void (*rtc_timer_fn)(void *opaque, uint64_t delay_ns);
void rtc_set_timer(struct rtc *rtc, rtc_timer_fn fn, void *opaque);

/* Tests: replace the wall clock (CLOCK_REALTIME by default). */
typedef void (*rtc_clock_fn)(struct timespec *ts);
void rtc_set_clock(struct rtc *rtc, rtc_clock_fn fn);

#endif /* HVKVM_RTC_H */
