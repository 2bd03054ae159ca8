/* SPDX-License-Identifier: MIT */
/*
 * acpi_pm: ACPI fixed-hardware power-management registers (ACPI 6.x
 * chapter 4.8): PM1a event and control blocks, the PM timer and a GPE0
 * block, all in one PIO window, with the SCI on IRQ 9. The FADT built by
 * the VM must describe exactly the constants below.
 */
#ifndef HVKVM_ACPI_PM_H
#define HVKVM_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

struct bus;
struct irq_sink;
struct platform_events;
struct acpi_pm;

/* PIO layout: FADT fields in brackets. */
#define ACPI_PM_BASE 0x600
#define ACPI_PM_LEN 0x20      /* bytes claimed at the base */
#define ACPI_PM1_EVT_OFF 0x00 /* [PM1a_EVT_BLK] */
#define ACPI_PM1_EVT_LEN 4    /* [PM1_EVT_LEN] STS + EN */
#define ACPI_PM1_CNT_OFF 0x04 /* [PM1a_CNT_BLK] */
#define ACPI_PM1_CNT_LEN 2    /* [PM1_CNT_LEN] */
#define ACPI_PM_TMR_OFF 0x08  /* [PM_TMR_BLK] */
#define ACPI_PM_TMR_LEN 4     /* [PM_TMR_LEN] */
#define ACPI_GPE0_OFF 0x10    /* [GPE0_BLK] */
#define ACPI_GPE0_LEN 8	      /* [GPE0_BLK_LEN]: 4 STS + 4 EN */
#define ACPI_PM_SCI_IRQ 9     /* [SCI_INT], level, active high */
/* PM timer is 32 bits wide: set TMR_VAL_EXT (FADT flags bit 8). */
#define ACPI_PM_TMR_32BIT 1
#define ACPI_PM_TMR_HZ 3579545
/*
 * SMI_CMD = 0: there is no SMM; SCI_EN reads 1 from power-on and cannot
 * be cleared, so the OS finds the machine already in ACPI mode.
 */
#define ACPI_PM_SMI_CMD 0
/* SLP_TYP for S5; the DSDT's _S5 package must carry this value. */
#define ACPI_PM_SLP_TYP_S5 5
/* Reset register: [RESET_REG] = SystemIO 0xcf9 (8 bits), [RESET_VALUE]. */
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06

/* PM1_STS / PM1_EN bits. */
#define ACPI_PM1_TMR 0x0001
#define ACPI_PM1_BM 0x0010 /* STS only */
#define ACPI_PM1_GBL 0x0020
#define ACPI_PM1_PWRBTN 0x0100
#define ACPI_PM1_SLPBTN 0x0200
#define ACPI_PM1_RTC 0x0400
#define ACPI_PM1_WAK 0x8000 /* STS only */
/* PM1_CNT bits. */
#define ACPI_PM1_CNT_SCI_EN 0x0001
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK 0x1c00
#define ACPI_PM1_CNT_SLP_EN 0x2000

/*
 * Register the block at @base on @pio; SCI on @sci_irq. @slp_typ_s5 is the
 * SLP_TYP value that means S5 (ACPI_PM_SLP_TYP_S5). 0 or -errno.
 */
int acpi_pm_create(struct bus *pio, struct irq_sink *irq, uint16_t base,
		   unsigned int sci_irq, unsigned int slp_typ_s5,
		   const struct platform_events *events, struct acpi_pm **out);
void acpi_pm_destroy(struct acpi_pm *pm);
void acpi_pm_reset(struct acpi_pm *pm);

/*
 * Press the power button: set PWRBTN_STS and raise the SCI if the guest
 * enabled it. Returns true if PWRBTN_EN was set (an OS is listening);
 * false means the caller should fall back to something harder.
 * Thread-safe.
 */
bool acpi_pm_power_button(struct acpi_pm *pm);
/* Set GPE0 status bit @bit (0..31), e.g. for hot-plug. Thread-safe. */
void acpi_pm_gpe_set(struct acpi_pm *pm, unsigned int bit);

#endif /* HVKVM_ACPI_PM_H */
