/* SPDX-License-Identifier: MIT */
/*
 * img: the `hvkvm img` disk image tool (create, info, check, convert,
 * compact, resize, commit). See docs/vhd.md.
 */
#ifndef HVKVM_IMG_H
#define HVKVM_IMG_H

/*
 * Run `hvkvm img ...`. argv[0] is "img", argv[1] the subcommand. Returns the
 * process exit status: 0 success, 1 bad usage or failure, 2 `check` found
 * corruption it did not repair. `--help` works for the tool and for each
 * subcommand.
 */
int img_main(int argc, char **argv);

#endif /* HVKVM_IMG_H */
