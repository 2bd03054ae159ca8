// SPDX-License-Identifier: MIT
/*
 * block_drivers: the one list of block drivers. format=auto tries each
 * driver's probe in this order; the driver without a probe (raw) takes
 * whatever no other driver recognised.
 */
#include "block_int.h"

const struct block_driver *const block_drivers[] = {
	&block_driver_vhd,
	&block_driver_raw,
	NULL,
};
