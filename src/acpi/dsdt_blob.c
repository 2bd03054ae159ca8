// SPDX-License-Identifier: MIT
/* The DSDT compiled by iasl at build time (dsdt.asl -> dsdt.hex). */
#include <stddef.h>

#include "hvkvm/acpi.h"
#include "dsdt.hex"

const unsigned char *const acpi_dsdt_aml = dsdt_aml_code;
const size_t acpi_dsdt_aml_len = sizeof(dsdt_aml_code);
