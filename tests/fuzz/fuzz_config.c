// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for config: libvirt domain XML through
 * config_parse_buffer() + config_validate(), and the command-line value
 * parsers. An input starting with a byte 0x01..0x04 goes to --disk, --nic,
 * --serial or --hyperv respectively (the rest as a string); anything else
 * is XML. Every call must return 0 or -errno with a one-line message, never
 * crash, leak or read out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int ret, const char *err)
{
	if (ret > 0 || (ret && (!err[0] || strchr(err, '\n')))) {
		fprintf(stderr, "bad result %d, message '%s'\n", ret, err);
		abort();
	}
}

static void fuzz_arg(struct vm_config *cfg, uint8_t kind, const uint8_t *data,
		     size_t size, char *err)
{
	char *arg = malloc(size + 1);
	int ret;

	if (!arg)
		return;
	memcpy(arg, data, size);
	arg[size] = '\0';
	switch (kind) {
	case 1:
		ret = config_parse_disk_arg(cfg, arg, err, CONFIG_ERR_MAX);
		break;
	case 2:
		ret = config_parse_nic_arg(cfg, arg, err, CONFIG_ERR_MAX);
		break;
	case 3:
		ret = config_parse_serial_arg(cfg, arg, err, CONFIG_ERR_MAX);
		break;
	default:
		ret = config_parse_hyperv_arg(cfg, arg, err, CONFIG_ERR_MAX);
		break;
	}
	check_err(ret, err);
	free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_MAX] = "";
	struct vm_config cfg;
	int ret;

	config_init(&cfg);
	if (size && data[0] >= 1 && data[0] <= 4) {
		fuzz_arg(&cfg, data[0], data + 1, size - 1, err);
	} else {
		ret = config_parse_buffer(&cfg, (const char *)data, size,
					  "fuzz.xml", err, sizeof(err));
		check_err(ret, err);
	}
	err[0] = '\0';
	ret = config_validate(&cfg, err, sizeof(err));
	check_err(ret, err);
	config_free(&cfg);
	return 0;
}
