// SPDX-License-Identifier: MIT
/*
 * Motorola MC146818A real-time clock and CMOS RAM, as on the PC: index port
 * 0x70 (bit 7 is the NMI mask, ignored), data port 0x71, 128 bytes. Registers
 * per the MC146818A datasheet: time/alarm 0x00-0x09, A (UIP, divider, rate),
 * B (SET, PIE/AIE/UIE, DM, 24/12, DSE), C (IRQF, PF, AF, UF; read clears), D
 * (VRT). The century lives at 0x32 in the same format as the time.
 *
 * The time is the host's CLOCK_REALTIME (UTC or local) plus a whole-second
 * offset that guest writes of the time registers move; registers are
 * computed on read. UIP reads 1 during the last 244 us of each second.
 * Flags in register C are evaluated lazily when read: UF once per second
 * boundary passed, AF when the current time matches the alarm (0xc0-0xff =
 * don't care), PF when a period of the rate in register A has elapsed.
 * IRQ 8 follows IRQF whenever register B or C is accessed and when the VM
 * calls rtc_poll(); with rtc_set_timer() the RTC asks the VM for a one-shot
 * timer at its next enabled event (second boundary for UIE/AIE, periodic
 * tick for PIE), so interrupts arrive on time. Without a timer they do not
 * arrive on their own.
 *
 * Not implemented: daylight-saving switching (DSE is stored only), the
 * square-wave output, divider chain reset/test modes (DV other than 010 is
 * stored but time keeps running), the extended 256-byte bank at 0x72/0x73.
 *
 * CMOS bytes SeaBIOS reads, filled at create: 0x10 floppy (none), 0x14
 * equipment (FPU), 0x15/0x16 base memory (640 KiB), 0x17/0x18 and 0x30/0x31
 * extended memory in KiB (1 MiB..64 MiB, capped 0xffff), 0x34/0x35 memory
 * between 16 MiB and 4 GiB in 64 KiB units (capped 0xffff), 0x5b-0x5d memory
 * above 4 GiB in 64 KiB units, 0x5f CPU count - 1; 0x2e/0x2f checksum of
 * 0x10-0x2d.
 */
#include "hvkvm/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/bus.h"
#include "hvkvm/irq.h"
#include "hvkvm/util.h"

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d

#define REG_A_UIP 0x80
#define REG_A_DV_MASK 0x70
#define REG_A_RS_MASK 0x0f
#define REG_B_SET 0x80
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_SQWE 0x08
#define REG_B_DM_BINARY 0x04
#define REG_B_24H 0x02
#define REG_B_DSE 0x01
#define REG_C_IRQF 0x80
#define REG_C_PF 0x40
#define REG_C_AF 0x20
#define REG_C_UF 0x10
#define REG_D_VRT 0x80
#define HOUR_PM 0x80	     /* 12-hour mode */
#define ALARM_DONT_CARE 0xc0 /* 0xc0..0xff in an alarm byte */

#define CMOS_INDEX_MASK 0x7f /* bit 7 of port 0x70 is NMI disable */
#define UIP_NS 244000	     /* update-in-progress window */
#define NSEC 1000000000LL

/* SeaBIOS / IBM AT CMOS layout. */
#define CMOS_FLOPPY 0x10
#define CMOS_EQUIPMENT 0x14
#define CMOS_BASE_MEM_LO 0x15
#define CMOS_EXT_MEM_LO 0x17
#define CMOS_CHECKSUM_HI 0x2e
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_MEM_16M_LO 0x34
#define CMOS_MEM_4G_LO 0x5b
#define CMOS_NR_CPUS 0x5f
#define EQUIP_FPU 0x02

struct rtc {
	/* Guest-visible registers. */
	uint8_t cmos[RTC_CMOS_SIZE]; /* RAM + A/B/D + time while SET */
	uint8_t index;		     /* last value written to 0x70 */
	uint8_t reg_c;		     /* flags not yet read */
	/* Clock. */
	int64_t offset;	     /* guest wall time - host, seconds */
	int64_t last_sec;    /* guest second last seen (for UF) */
	int64_t last_period; /* periodic tick last seen (for PF) */
	bool irq_level;
	/* Host plumbing. */
	pthread_mutex_t lock;
	struct bus *pio;
	struct irq_sink *irq;
	unsigned int irq_line;
	bool utc;
	rtc_clock_fn clock;
	rtc_timer_fn timer; /* optional: arms the VM's timer */
	void *timer_opaque;
	uint64_t timer_armed; /* last delay asked for, 0 = none */
};

/* ---- helpers ---------------------------------------------------------- */

static void rtc_clock_realtime(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Host wall time (UTC or local) in seconds and nanoseconds. */
static int64_t rtc_host_now(struct rtc *rtc, long *nsec)
{
	struct timespec ts;
	int64_t s;

	rtc->clock(&ts);
	s = ts.tv_sec;
	if (!rtc->utc) {
		time_t t = ts.tv_sec;
		struct tm tm;

		if (localtime_r(&t, &tm))
			s += tm.tm_gmtoff;
	}
	if (nsec)
		*nsec = ts.tv_nsec;
	return s;
}

static int64_t rtc_guest_now(struct rtc *rtc, long *nsec)
{
	return rtc_host_now(rtc, nsec) + rtc->offset;
}

static uint8_t rtc_to_bcd(unsigned int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | v % 10);
}

static unsigned int rtc_from_bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 0x0f);
}

/* Encode @v per register B (binary or BCD). */
static uint8_t rtc_enc(const struct rtc *rtc, unsigned int v)
{
	return (rtc->cmos[RTC_REG_B] & REG_B_DM_BINARY) ? (uint8_t)v :
							  rtc_to_bcd(v);
}

static unsigned int rtc_dec(const struct rtc *rtc, uint8_t v)
{
	return (rtc->cmos[RTC_REG_B] & REG_B_DM_BINARY) ? v : rtc_from_bcd(v);
}

static uint8_t rtc_enc_hour(const struct rtc *rtc, unsigned int h)
{
	uint8_t pm = 0;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_enc(rtc, h);
	if (h >= 12)
		pm = HOUR_PM;
	h %= 12;
	return (uint8_t)(rtc_enc(rtc, h ? h : 12) | pm);
}

static unsigned int rtc_dec_hour(const struct rtc *rtc, uint8_t v)
{
	unsigned int h;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_dec(rtc, v);
	h = rtc_dec(rtc, v & 0x7f) % 12;
	return (v & HOUR_PM) ? h + 12 : h;
}

/* Write the broken-down guest time @t into the CMOS time registers. */
static void rtc_fill_time(struct rtc *rtc, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return;
	rtc->cmos[RTC_SECONDS] = rtc_enc(rtc, (unsigned int)tm.tm_sec);
	rtc->cmos[RTC_MINUTES] = rtc_enc(rtc, (unsigned int)tm.tm_min);
	rtc->cmos[RTC_HOURS] = rtc_enc_hour(rtc, (unsigned int)tm.tm_hour);
	rtc->cmos[RTC_DAY_OF_WEEK] = rtc_enc(rtc, (unsigned int)tm.tm_wday + 1);
	rtc->cmos[RTC_DAY_OF_MONTH] = rtc_enc(rtc, (unsigned int)tm.tm_mday);
	rtc->cmos[RTC_MONTH] = rtc_enc(rtc, (unsigned int)tm.tm_mon + 1);
	rtc->cmos[RTC_YEAR] = rtc_enc(rtc, (unsigned int)(tm.tm_year % 100));
	rtc->cmos[RTC_REG_CENTURY] =
		rtc_enc(rtc, (unsigned int)(tm.tm_year + 1900) / 100);
}

/* The time the guest wrote into the registers, as seconds. */
static int64_t rtc_regs_time(struct rtc *rtc)
{
	struct tm tm = { 0 };
	unsigned int century = rtc_dec(rtc, rtc->cmos[RTC_REG_CENTURY]);

	/* Garbage in (bad BCD, month 0x99) normalizes; it never traps. */
	tm.tm_sec = (int)rtc_dec(rtc, rtc->cmos[RTC_SECONDS]);
	tm.tm_min = (int)rtc_dec(rtc, rtc->cmos[RTC_MINUTES]);
	tm.tm_hour = (int)rtc_dec_hour(rtc, rtc->cmos[RTC_HOURS]);
	tm.tm_mday = (int)rtc_dec(rtc, rtc->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)rtc_dec(rtc, rtc->cmos[RTC_MONTH]) - 1;
	if (century < 19 || century > 99)
		century = 20;
	tm.tm_year =
		(int)(century * 100 + rtc_dec(rtc, rtc->cmos[RTC_YEAR]) % 100) -
		1900;
	return (int64_t)timegm(&tm);
}

/* Adopt the register contents as the new time. */
static void rtc_set_from_regs(struct rtc *rtc)
{
	int64_t t = rtc_regs_time(rtc);

	rtc->offset = t - rtc_host_now(rtc, NULL);
	rtc->last_sec = t;
}

/* Period of the periodic interrupt in ns (register A RS), 0 = off. */
static int64_t rtc_period_ns(const struct rtc *rtc)
{
	unsigned int rs = rtc->cmos[RTC_REG_A] & REG_A_RS_MASK;

	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7; /* 1 and 2 alias 8 and 9 (3.90625 ms) */
	/* 32768 >> (rs - 1) Hz. */
	return (NSEC << (rs - 1)) / 32768;
}

static bool rtc_alarm_match(uint8_t alarm, uint8_t now)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

/* Latch UF/AF/PF for time that passed since the flags were last seen. */
static void rtc_update_flags(struct rtc *rtc)
{
	long ns;
	int64_t host = rtc_host_now(rtc, &ns), now = host + rtc->offset;
	int64_t period = rtc_period_ns(rtc);
	uint8_t *c = rtc->cmos;

	if (c[RTC_REG_B] & REG_B_SET)
		return;
	if (now != rtc->last_sec) {
		rtc->reg_c |= REG_C_UF;
		rtc->last_sec = now;
		rtc_fill_time(rtc, now);
		if (rtc_alarm_match(c[RTC_SECONDS_ALARM], c[RTC_SECONDS]) &&
		    rtc_alarm_match(c[RTC_MINUTES_ALARM], c[RTC_MINUTES]) &&
		    rtc_alarm_match(c[RTC_HOURS_ALARM], c[RTC_HOURS]))
			rtc->reg_c |= REG_C_AF;
	}
	if (period) {
		/* Host time: sane range whatever year the guest set. */
		int64_t tick = (host * NSEC + ns) / period;

		if (tick != rtc->last_period)
			rtc->reg_c |= REG_C_PF;
		rtc->last_period = tick;
	}
}

/* Is a flag set whose interrupt is enabled? */
static bool rtc_irqf(const struct rtc *rtc)
{
	uint8_t en = rtc->cmos[RTC_REG_B] & (REG_B_PIE | REG_B_AIE | REG_B_UIE);

	/* PIE/AIE/UIE use the same bit positions as PF/AF/UF. */
	return (rtc->reg_c & en) != 0;
}

/* The IRQ 8 line follows IRQF. Lock held. */
static void rtc_update_irq(struct rtc *rtc)
{
	bool level = rtc_irqf(rtc);

	if (level == rtc->irq_level)
		return;
	rtc->irq_level = level;
	irq_set_line(rtc->irq, rtc->irq_line, level);
}

/*
 * Ask the VM's timer for a call to rtc_poll() when the next enabled event is
 * due: the next second boundary for UIE/AIE, the next periodic tick for PIE.
 * Lock held.
 */
static void rtc_rearm(struct rtc *rtc)
{
	uint8_t b = rtc->cmos[RTC_REG_B];
	int64_t period = rtc_period_ns(rtc), delay = 0, p;
	long ns;
	int64_t host = rtc_host_now(rtc, &ns);

	if (!rtc->timer)
		return;
	if (!(b & REG_B_SET)) {
		if (b & (REG_B_UIE | REG_B_AIE))
			delay = NSEC - ns;
		if ((b & REG_B_PIE) && period) {
			p = period - (host * NSEC + ns) % period;
			if (!delay || p < delay)
				delay = p;
		}
	}
	if ((uint64_t)delay == rtc->timer_armed && !delay)
		return;
	rtc->timer_armed = (uint64_t)delay;
	rtc->timer(rtc->timer_opaque, (uint64_t)delay);
}

static void rtc_update_checksum(struct rtc *rtc)
{
	unsigned int i, sum = 0;

	for (i = CMOS_FLOPPY; i < CMOS_CHECKSUM_HI; i++)
		sum += rtc->cmos[i];
	rtc->cmos[CMOS_CHECKSUM_HI] = (uint8_t)(sum >> 8);
	rtc->cmos[CMOS_CHECKSUM_HI + 1] = (uint8_t)sum;
}

static bool rtc_is_time_reg(unsigned int idx)
{
	return idx <= RTC_YEAR || idx == RTC_REG_CENTURY;
}

/* ---- register handlers ------------------------------------------------ */

static uint8_t rtc_read_data(struct rtc *rtc)
{
	unsigned int idx = rtc->index;
	uint8_t v;
	long ns;

	if (rtc_is_time_reg(idx)) {
		/* Alarm bytes are storage; the rest come from the clock. */
		if (!(rtc->cmos[RTC_REG_B] & REG_B_SET) &&
		    idx != RTC_SECONDS_ALARM && idx != RTC_MINUTES_ALARM &&
		    idx != RTC_HOURS_ALARM)
			rtc_fill_time(rtc, rtc_guest_now(rtc, NULL));
		return rtc->cmos[idx];
	}
	switch (idx) {
	case RTC_REG_A:
		v = rtc->cmos[RTC_REG_A] & (uint8_t)~REG_A_UIP;
		rtc_guest_now(rtc, &ns);
		if (!(rtc->cmos[RTC_REG_B] & REG_B_SET) && ns >= NSEC - UIP_NS)
			v |= REG_A_UIP;
		return v;
	case RTC_REG_C:
		rtc_update_flags(rtc);
		v = rtc->reg_c;
		if (rtc_irqf(rtc))
			v |= REG_C_IRQF;
		rtc->reg_c = 0;
		rtc_update_irq(rtc);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return rtc->cmos[idx];
	}
}

static void rtc_write_data(struct rtc *rtc, uint8_t v)
{
	unsigned int idx = rtc->index;
	uint8_t old_b;

	if (rtc_is_time_reg(idx)) {
		bool set = rtc->cmos[RTC_REG_B] & REG_B_SET;
		bool alarm = idx == RTC_SECONDS_ALARM ||
			     idx == RTC_MINUTES_ALARM || idx == RTC_HOURS_ALARM;

		/* Outside SET mode, edit the running time in place. */
		if (!set && !alarm)
			rtc_fill_time(rtc, rtc_guest_now(rtc, NULL));
		rtc->cmos[idx] = v;
		if (!set && !alarm)
			rtc_set_from_regs(rtc);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = v & (uint8_t)~REG_A_UIP;
		rtc_rearm(rtc);
		break;
	case RTC_REG_B:
		old_b = rtc->cmos[RTC_REG_B];
		if (!(old_b & REG_B_SET) && (v & REG_B_SET))
			/* Freeze: the guest now edits a snapshot. */
			rtc_fill_time(rtc, rtc_guest_now(rtc, NULL));
		if ((old_b & REG_B_SET) && !(v & REG_B_SET)) {
			/* Format bits apply to the values just written. */
			rtc->cmos[RTC_REG_B] = v;
			rtc_set_from_regs(rtc);
		}
		/* SET stops updates: UIE is cleared with it (datasheet). */
		if (v & REG_B_SET)
			v &= (uint8_t)~REG_B_UIE;
		rtc->cmos[RTC_REG_B] = v;
		rtc_update_flags(rtc);
		rtc_update_irq(rtc);
		rtc_rearm(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		rtc->cmos[idx] = v;
		break;
	}
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned int size)
{
	struct rtc *rtc = opaque;
	uint8_t v;

	pthread_mutex_lock(&rtc->lock);
	/* Port 0x70 is write-only on most chipsets; reading shows the index. */
	v = off == 0 ? rtc->index : rtc_read_data(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t off, unsigned int size,
		      uint64_t value)
{
	struct rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	if (off == 0)
		rtc->index = (uint8_t)value & CMOS_INDEX_MASK;
	else
		rtc_write_data(rtc, (uint8_t)value);
	pthread_mutex_unlock(&rtc->lock);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

/* ---- host API --------------------------------------------------------- */

void rtc_poll(struct rtc *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	rtc_update_flags(rtc);
	rtc_update_irq(rtc);
	rtc->timer_armed = 0; /* a one-shot timer just fired */
	rtc_rearm(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_set_timer(struct rtc *rtc, rtc_timer_fn fn, void *opaque)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->timer = fn;
	rtc->timer_opaque = opaque;
	rtc->timer_armed = 0;
	rtc_rearm(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_cmos_set(struct rtc *rtc, uint8_t index, uint8_t value)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[index & CMOS_INDEX_MASK] = value;
	rtc_update_checksum(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

uint8_t rtc_cmos_get(struct rtc *rtc, uint8_t index)
{
	uint8_t v;

	pthread_mutex_lock(&rtc->lock);
	v = rtc->cmos[index & CMOS_INDEX_MASK];
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

void rtc_set_clock(struct rtc *rtc, rtc_clock_fn fn)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->clock = fn ? fn : rtc_clock_realtime;
	rtc->last_sec = rtc_guest_now(rtc, NULL);
	pthread_mutex_unlock(&rtc->lock);
}

/* ---- lifecycle -------------------------------------------------------- */

static void rtc_put_mem16(uint8_t *cmos, unsigned int idx, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	cmos[idx] = (uint8_t)v;
	cmos[idx + 1] = (uint8_t)(v >> 8);
}

static void rtc_fill_memory(struct rtc *rtc, uint64_t below, uint64_t above,
			    unsigned int nr_cpus)
{
	uint8_t *c = rtc->cmos;
	uint64_t ext = below > 1 * MiB ? (below - 1 * MiB) / KiB : 0;
	uint64_t m16 = below > 16 * MiB ? (below - 16 * MiB) / (64 * KiB) : 0;
	uint64_t m4g = above / (64 * KiB);

	c[CMOS_FLOPPY] = 0;
	c[CMOS_EQUIPMENT] = EQUIP_FPU;
	rtc_put_mem16(c, CMOS_BASE_MEM_LO, 640);
	rtc_put_mem16(c, CMOS_EXT_MEM_LO, ext);
	rtc_put_mem16(c, CMOS_EXT_MEM2_LO, ext);
	rtc_put_mem16(c, CMOS_MEM_16M_LO, m16);
	if (m4g > 0xffffff)
		m4g = 0xffffff;
	c[CMOS_MEM_4G_LO] = (uint8_t)m4g;
	c[CMOS_MEM_4G_LO + 1] = (uint8_t)(m4g >> 8);
	c[CMOS_MEM_4G_LO + 2] = (uint8_t)(m4g >> 16);
	c[CMOS_NR_CPUS] = (uint8_t)(nr_cpus ? nr_cpus - 1 : 0);
	rtc_update_checksum(rtc);
}

void rtc_reset(struct rtc *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	/* MC146818A RESET: PIE, AIE, UIE, SQWE and all flags cleared. */
	rtc->cmos[RTC_REG_B] &=
		(uint8_t) ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
	rtc->reg_c = 0;
	rtc->index = 0;
	rtc_update_irq(rtc);
	rtc_rearm(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

int rtc_create(struct bus *pio, struct irq_sink *irq, unsigned int irq_line,
	       uint64_t ram_below_4g, uint64_t ram_above_4g,
	       unsigned int nr_cpus, bool utc, struct rtc **out)
{
	struct rtc *rtc;
	int r;

	rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return -ENOMEM;
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->pio = pio;
	rtc->irq = irq;
	rtc->irq_line = irq_line;
	rtc->utc = utc;
	rtc->clock = rtc_clock_realtime;
	rtc->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz base, 1024 Hz rate */
	rtc->cmos[RTC_REG_B] = REG_B_24H;
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
	rtc->last_sec = rtc_guest_now(rtc, NULL);
	rtc_fill_time(rtc, rtc->last_sec);
	rtc_fill_memory(rtc, ram_below_4g, ram_above_4g, nr_cpus);

	r = bus_register(pio, RTC_BASE, 2, &rtc_ops, rtc, "rtc");
	if (r)
		goto err_free;
	*out = rtc;
	return 0;

err_free:
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
	return r;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	bus_unregister(rtc->pio, RTC_BASE);
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
