// SPDX-License-Identifier: MIT
/*
 * ACPI fixed hardware (ACPI 6.5, 4.8 "ACPI Hardware Features"): PM1a event
 * block (PM1_STS/PM1_EN, 4.8.3.1), PM1a control block (SCI_EN, SLP_TYP,
 * SLP_EN, 4.8.3.2), the power-management timer (3.579545 MHz, 32 bits,
 * 4.8.3.3) and a GPE0 block of 32 status + 32 enable bits (4.8.4.1). The SCI
 * (IRQ 9, level) is high while any enabled status bit is set.
 *
 * The machine is always in ACPI mode: SMI_CMD = 0 in the FADT and SCI_EN
 * reads 1 and cannot be cleared. SLP_EN with SLP_TYP = the S5 value (5 by
 * default) powers off; other sleep states are not supported (the DSDT must
 * offer only _S5) and wake at once (WAK_STS set).
 *
 * Not implemented: TMR_STS (the timer carry bit never sets), BM_STS,
 * GBL_STS/GBL_RLS handshakes, PM1b/PM2 blocks, RTC alarm wake.
 */
#include "hvkvm/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "hvkvm/bus.h"
#include "hvkvm/irq.h"
#include "hvkvm/platform.h"
#include "hvkvm/util.h"

/* Status bits that may raise the SCI (with their enable). */
#define PM1_SCI_EVENTS                                                     \
	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | \
	 ACPI_PM1_RTC)
/* Status bits the guest clears by writing 1. */
#define PM1_STS_W1C (PM1_SCI_EVENTS | ACPI_PM1_BM | ACPI_PM1_WAK)
#define PM1_EN_MASK PM1_SCI_EVENTS
/* Control bits kept as written (SLP_EN is write-only). */
/* SLP_TYP, BM_RLD, GBL_RLS. */
#define PM1_CNT_RW (ACPI_PM1_CNT_SLP_TYP_MASK | 0x0006)

_Static_assert(ACPI_PM1_EVT_OFF + ACPI_PM1_EVT_LEN <= ACPI_PM1_CNT_OFF,
	       "PM1 blocks overlap");
_Static_assert(ACPI_GPE0_OFF + ACPI_GPE0_LEN <= ACPI_PM_LEN,
	       "GPE0 outside the window");

struct acpi_pm {
	/* Guest-visible registers. */
	uint16_t pm1_sts;
	uint16_t pm1_en;
	uint16_t pm1_cnt; /* SCI_EN always set */
	uint32_t gpe0_sts;
	uint32_t gpe0_en;
	/* Internal state. */
	uint64_t tmr_start_ns; /* monotonic time of count 0 */
	bool sci_level;
	/* Host plumbing. */
	pthread_mutex_t lock;
	struct bus *pio;
	struct irq_sink *irq;
	uint16_t base;
	unsigned int sci_irq;
	unsigned int slp_typ_s5;
	const struct platform_events *events;
};

/* ---- helpers ---------------------------------------------------------- */

static void acpi_pm_update_irq(struct acpi_pm *pm)
{
	bool level = (pm->pm1_sts & pm->pm1_en & PM1_SCI_EVENTS) ||
		     (pm->gpe0_sts & pm->gpe0_en);

	if (level == pm->sci_level)
		return;
	pm->sci_level = level;
	irq_set_line(pm->irq, pm->sci_irq, level);
}

/* 3.579545 MHz ticks since creation, without 64-bit overflow. */
static uint32_t acpi_pm_timer(const struct acpi_pm *pm)
{
	uint64_t ns = time_now_ns() - pm->tmr_start_ns;
	uint64_t s = ns / 1000000000ULL, rem = ns % 1000000000ULL;

	return (uint32_t)(s * ACPI_PM_TMR_HZ +
			  rem * ACPI_PM_TMR_HZ / 1000000000ULL);
}

/* Byte @i of a little-endian register. */
static uint8_t acpi_pm_reg_byte(uint32_t v, unsigned int i)
{
	return (uint8_t)(v >> (8 * i));
}

static uint32_t acpi_pm_reg_merge(uint32_t old, unsigned int i, uint8_t b)
{
	return (old & ~(0xffu << (8 * i))) | (uint32_t)b << (8 * i);
}

/* ---- register handlers ------------------------------------------------ */

static uint8_t acpi_pm_read_byte(struct acpi_pm *pm, unsigned int off,
				 uint32_t tmr)
{
	if (off < ACPI_PM1_EVT_OFF + 2)
		return acpi_pm_reg_byte(pm->pm1_sts, off - ACPI_PM1_EVT_OFF);
	if (off < ACPI_PM1_EVT_OFF + ACPI_PM1_EVT_LEN)
		return acpi_pm_reg_byte(pm->pm1_en, off - ACPI_PM1_EVT_OFF - 2);
	if (off >= ACPI_PM1_CNT_OFF &&
	    off < ACPI_PM1_CNT_OFF + ACPI_PM1_CNT_LEN)
		return acpi_pm_reg_byte(pm->pm1_cnt, off - ACPI_PM1_CNT_OFF);
	if (off >= ACPI_PM_TMR_OFF && off < ACPI_PM_TMR_OFF + ACPI_PM_TMR_LEN)
		return acpi_pm_reg_byte(tmr, off - ACPI_PM_TMR_OFF);
	if (off >= ACPI_GPE0_OFF && off < ACPI_GPE0_OFF + 4)
		return acpi_pm_reg_byte(pm->gpe0_sts, off - ACPI_GPE0_OFF);
	if (off >= ACPI_GPE0_OFF + 4 && off < ACPI_GPE0_OFF + ACPI_GPE0_LEN)
		return acpi_pm_reg_byte(pm->gpe0_en, off - ACPI_GPE0_OFF - 4);
	return 0;
}

/* One byte of a write; returns true if it requested S5. */
static bool acpi_pm_write_byte(struct acpi_pm *pm, unsigned int off, uint8_t b)
{
	unsigned int i;
	uint16_t cnt;

	if (off < ACPI_PM1_EVT_OFF + 2) {
		i = off - ACPI_PM1_EVT_OFF;
		pm->pm1_sts &=
			(uint16_t) ~((uint32_t)b << (8 * i) & PM1_STS_W1C);
	} else if (off < ACPI_PM1_EVT_OFF + ACPI_PM1_EVT_LEN) {
		i = off - ACPI_PM1_EVT_OFF - 2;
		pm->pm1_en = (uint16_t)(acpi_pm_reg_merge(pm->pm1_en, i, b) &
					PM1_EN_MASK);
	} else if (off >= ACPI_PM1_CNT_OFF &&
		   off < ACPI_PM1_CNT_OFF + ACPI_PM1_CNT_LEN) {
		i = off - ACPI_PM1_CNT_OFF;
		cnt = (uint16_t)acpi_pm_reg_merge(pm->pm1_cnt, i, b);
		pm->pm1_cnt =
			(uint16_t)((cnt & PM1_CNT_RW) | ACPI_PM1_CNT_SCI_EN);
		if (cnt & ACPI_PM1_CNT_SLP_EN) {
			unsigned int typ = (cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >>
					   ACPI_PM1_CNT_SLP_TYP_SHIFT;

			if (typ == pm->slp_typ_s5)
				return true;
			guest_err("acpi_pm: sleep type %u not supported", typ);
			pm->pm1_sts |= ACPI_PM1_WAK;
		}
	} else if (off >= ACPI_GPE0_OFF && off < ACPI_GPE0_OFF + 4) {
		i = off - ACPI_GPE0_OFF;
		pm->gpe0_sts &= ~((uint32_t)b << (8 * i));
	} else if (off >= ACPI_GPE0_OFF + 4 &&
		   off < ACPI_GPE0_OFF + ACPI_GPE0_LEN) {
		i = off - ACPI_GPE0_OFF - 4;
		pm->gpe0_en = acpi_pm_reg_merge(pm->gpe0_en, i, b);
	}
	/* The PM timer and the holes are read-only. */
	return false;
}

static uint64_t acpi_pm_read(void *opaque, uint64_t off, unsigned int size)
{
	struct acpi_pm *pm = opaque;
	uint32_t tmr = acpi_pm_timer(pm);
	uint64_t v = 0;
	unsigned int i;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < size && off + i < ACPI_PM_LEN; i++)
		v |= (uint64_t)acpi_pm_read_byte(pm, (unsigned int)off + i, tmr)
		     << (8 * i);
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void acpi_pm_write(void *opaque, uint64_t off, unsigned int size,
			  uint64_t value)
{
	struct acpi_pm *pm = opaque;
	bool s5 = false;
	unsigned int i;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < size && off + i < ACPI_PM_LEN; i++)
		s5 |= acpi_pm_write_byte(pm, (unsigned int)off + i,
					 (uint8_t)(value >> (8 * i)));
	acpi_pm_update_irq(pm);
	pthread_mutex_unlock(&pm->lock);
	if (s5) {
		pr_dbg("acpi_pm: S5 requested");
		if (pm->events && pm->events->poweroff)
			pm->events->poweroff(pm->events->opaque);
	}
}

static const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

/* ---- host API --------------------------------------------------------- */

bool acpi_pm_power_button(struct acpi_pm *pm)
{
	bool listening;

	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= ACPI_PM1_PWRBTN;
	listening = pm->pm1_en & ACPI_PM1_PWRBTN;
	acpi_pm_update_irq(pm);
	pthread_mutex_unlock(&pm->lock);
	return listening;
}

void acpi_pm_gpe_set(struct acpi_pm *pm, unsigned int bit)
{
	if (bit >= 32)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->gpe0_sts |= 1u << bit;
	acpi_pm_update_irq(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* ---- lifecycle -------------------------------------------------------- */

void acpi_pm_reset(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts = 0;
	pm->pm1_en = 0;
	pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
	pm->gpe0_sts = 0;
	pm->gpe0_en = 0;
	acpi_pm_update_irq(pm);
	pthread_mutex_unlock(&pm->lock);
}

int acpi_pm_create(struct bus *pio, struct irq_sink *irq, uint16_t base,
		   unsigned int sci_irq, unsigned int slp_typ_s5,
		   const struct platform_events *events, struct acpi_pm **out)
{
	struct acpi_pm *pm;
	int r;

	if (slp_typ_s5 > 7)
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pthread_mutex_init(&pm->lock, NULL);
	pm->pio = pio;
	pm->irq = irq;
	pm->base = base;
	pm->sci_irq = sci_irq;
	pm->slp_typ_s5 = slp_typ_s5;
	pm->events = events;
	pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
	pm->tmr_start_ns = time_now_ns();

	r = bus_register(pio, base, ACPI_PM_LEN, &acpi_pm_ops, pm, "acpi-pm");
	if (r)
		goto err_free;
	*out = pm;
	return 0;

err_free:
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	return r;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	bus_unregister(pm->pio, pm->base);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
