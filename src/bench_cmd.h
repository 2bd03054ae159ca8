/* SPDX-License-Identifier: MIT */
#ifndef HVKVM_BENCH_CMD_H
#define HVKVM_BENCH_CMD_H

/* hvkvm bench BENCHMARK ...: runs bench/<script> with this binary. */
int bench_main(int argc, char **argv);

#endif /* HVKVM_BENCH_CMD_H */
