// SPDX-License-Identifier: MIT
/* AML compiled by iasl at build time (dsdt.asl, vmbus_ssdt.asl). */
#include <stddef.h>

#include "hvkvm/acpi.h"
#include "dsdt.hex"
#include "vmbus_ssdt.hex"

const unsigned char *const acpi_dsdt_aml = dsdt_aml_code;
const size_t acpi_dsdt_aml_len = sizeof(dsdt_aml_code);
const unsigned char *const acpi_vmbus_ssdt_aml = vmbus_ssdt_aml_code;
const size_t acpi_vmbus_ssdt_aml_len = sizeof(vmbus_ssdt_aml_code);
