// SPDX-License-Identifier: MIT
/*
 * config_check: parse and validate domain XML files the way `hvkvm run
 * --config` will, and print what was understood. Used by the examples test;
 * handy for users checking a file before starting a VM.
 *
 *   config_check FILE.xml...     exit 0 when every file is good
 */
#include <stdio.h>

#include <uuid/uuid.h>

#include "hvkvm/config.h"
#include "hvkvm/util.h"

static void config_print(const struct vm_config *cfg)
{
	static const char *const serials[] = { "stdio", "file", "pty", "none" };
	const struct config_hyperv *hv = &cfg->hyperv;
	char uuid[37];
	unsigned int i;

	uuid_unparse(cfg->uuid, uuid);
	printf("  name %s uuid %s%s\n", cfg->name, uuid,
	       cfg->uuid_set ? "" : " (generated)");
	printf("  memory %llu MiB, %u vCPU(s), boot %s\n",
	       (unsigned long long)(cfg->memory / MiB), cfg->vcpus,
	       cfg->kernel ? cfg->kernel : cfg->loader);
	printf("  serial %s%s%s\n", serials[cfg->serial],
	       cfg->serial_path ? " " : "",
	       cfg->serial_path ? cfg->serial_path : "");
	for (i = 0; i < cfg->nr_disks; i++)
		printf("  disk %s %s %s%s\n", cfg->disks[i].target,
		       cfg->disks[i].path,
		       cfg->disks[i].format == CONFIG_FORMAT_VHD ? "vhd" :
								   "raw/auto",
		       cfg->disks[i].readonly ? " ro" : "");
	for (i = 0; i < cfg->nr_nics; i++)
		printf("  nic %s %s\n", cfg->nics[i].tap,
		       cfg->nics[i].model == CONFIG_NIC_NETVSC ? "netvsc" :
								 "dec21140");
	if (hv->enabled)
		printf("  hyperv%s%s%s%s%s%s%s%s%s%s%s%s\n",
		       hv->relaxed ? " relaxed" : "",
		       hv->vpindex ? " vpindex" : "",
		       hv->runtime ? " runtime" : "", hv->synic ? " synic" : "",
		       hv->stimer ? " stimer" : "",
		       hv->stimer_direct ? " stimer-direct" : "",
		       hv->reset ? " reset" : "",
		       hv->frequencies ? " frequencies" : "",
		       hv->spinlocks ? " spinlocks" : "",
		       hv->vendor_id_set ? " vendor-id" : "",
		       hv->hypervclock ? " hypervclock" : "",
		       hv->crash ? " crash" : "");
}

int main(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	int i, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE.xml...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		config_init(&cfg);
		if (config_parse_file(&cfg, argv[i], err, sizeof(err)) ||
		    config_validate(&cfg, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
		} else {
			printf("%s: ok\n", argv[i]);
			config_print(&cfg);
		}
		config_free(&cfg);
	}
	return bad;
}
