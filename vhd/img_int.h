/* SPDX-License-Identifier: MIT */
/* img_int: helpers shared by the `hvkvm img` subcommands. */
#ifndef HVKVM_IMG_INT_H
#define HVKVM_IMG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hvkvm/block.h"
#include "hvkvm/util.h"
#include "hvkvm/vhd.h"

struct img_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* printed for --help and usage errors */
};

/* One line on stderr: "hvkvm img CMD: ..." */
void img_err(const char *cmd, const char *fmt, ...) PRINTF(2, 3);
/* Parse a size argument; on error prints a line naming @what. */
int img_parse_size(const char *cmd, const char *what, const char *s,
		   uint64_t *out);
/* @size rounded up to a CHS-exact VHD size, saying so on stdout. */
uint64_t img_vhd_size(const char *cmd, const char *file, uint64_t size);
bool img_wants_help(int argc, char **argv);
void img_usage(const struct img_cmd *c, FILE *f);

/* Progress bar on a terminal (or when forced with -p). */
struct img_progress {
	bool on;
	int last;
};
void img_progress_init(struct img_progress *p, bool force);
void img_progress_update(struct img_progress *p, uint64_t done, uint64_t total);
void img_progress_end(struct img_progress *p);

int img_cmd_check(int argc, char **argv);
int img_cmd_convert(int argc, char **argv);
int img_cmd_compact(int argc, char **argv);
int img_cmd_resize(int argc, char **argv);
int img_cmd_commit(int argc, char **argv);

extern const char img_usage_check[];
extern const char img_usage_convert[];
extern const char img_usage_compact[];
extern const char img_usage_resize[];
extern const char img_usage_commit[];

bool img_is_zero(const void *buf, size_t len);
/* 4096-aligned buffer (block.c). */
void *block_aligned_alloc(size_t len);

#endif /* HVKVM_IMG_INT_H */
