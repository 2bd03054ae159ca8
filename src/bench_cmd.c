// SPDX-License-Identifier: MIT
/*
 * hvkvm bench: the benchmarks a user runs against hvkvm itself. Each
 * lives in bench/ as a script (it boots VMs, drives QEMU as the peer and
 * writes tables, JSON and SVG); this command finds it and runs it with
 * this very hvkvm binary.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cmd.h"

static const char bench_usage[] =
	"Usage: hvkvm bench BENCHMARK [OPTIONS]\n"
	"\n"
	"Benchmarks:\n"
	"  disk     emulated IDE against synthetic SCSI (storvsp), fixed\n"
	"           against dynamic VHD, with QEMU's IDE and virtio-blk as\n"
	"           the peer, in one run: IOPS, MB/s, latency, host CPU and\n"
	"           exits per I/O (bench/diskbench.py, docs/benchmarks.md)\n"
	"\n"
	"Run 'hvkvm bench BENCHMARK --help' for its options. The scripts are\n"
	"looked up in $HVKVM_BENCH_DIR, then the source tree hvkvm was built\n"
	"from, then the installed share/hvkvm/bench.\n";

static const struct {
	const char *name;
	const char *script;
} bench_list[] = {
	{ "disk", "diskbench.py" },
};

/* The script's path, or NULL with a message. */
static char *bench_find(const char *script)
{
	const char *dirs[] = { getenv("HVKVM_BENCH_DIR"), HVKVM_SOURCE_BENCH,
			       HVKVM_INSTALL_BENCH };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i] || !dirs[i][0])
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dirs[i], script) >=
		    (int)sizeof(path))
			continue;
		if (access(path, R_OK) == 0)
			return strdup(path);
	}
	fprintf(stderr,
		"hvkvm bench: %s not found (set HVKVM_BENCH_DIR to the bench/ "
		"folder of an hvkvm source tree)\n",
		script);
	return NULL;
}

int bench_main(int argc, char **argv)
{
	char self[PATH_MAX], **args;
	ssize_t n;
	char *script;
	size_t i;
	int k;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(bench_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	for (i = 0; i < sizeof(bench_list) / sizeof(bench_list[0]); i++)
		if (!strcmp(argv[1], bench_list[i].name))
			break;
	if (i == sizeof(bench_list) / sizeof(bench_list[0])) {
		fprintf(stderr,
			"hvkvm bench: unknown benchmark '%s' (see 'hvkvm bench "
			"--help')\n",
			argv[1]);
		return 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		fprintf(stderr, "hvkvm bench: /proc/self/exe: %s\n",
			strerror(errno));
		return 1;
	}
	self[n] = '\0';
	script = bench_find(bench_list[i].script);
	if (!script)
		return 1;
	args = calloc((size_t)argc + 4, sizeof(*args));
	if (!args) {
		fprintf(stderr, "hvkvm bench: out of memory\n");
		return 1;
	}
	args[0] = "python3";
	args[1] = script;
	args[2] = "--hvkvm";
	args[3] = self;
	for (k = 2; k < argc; k++)
		args[k + 2] = argv[k];
	execvp("python3", args);
	fprintf(stderr, "hvkvm bench: python3: %s (apt-get install python3)\n",
		strerror(errno));
	free(args);
	free(script);
	return 1;
}
