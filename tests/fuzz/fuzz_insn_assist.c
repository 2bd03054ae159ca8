// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for insn_assist (src/insn_assist.c): the instruction
 * bytes at a stopped guest's RIP are guest-controlled. Checks: no crash or
 * sanitizer report, a known kind, RIP advanced by 1..15 bytes and never
 * past the bytes available when an instruction is taken, and the register
 * file untouched when it is not.
 *
 * Input: [u8 flags][u8 rflags-low][16 x u8 register seeds][code...];
 * flags bit 0: long mode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/insn_assist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_random(void)
{
	return 0x0123456789abcdefULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct insn_regs r, before;
	enum insn_assist_kind kind;
	unsigned int i;
	size_t len;

	if (size < 18)
		return 0;
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 16; i++)
		r.gpr[i] = 0x0101010101010101ULL * data[2 + i];
	r.rip = 0xffffffff81000000ULL;
	r.rflags = 0x2 | data[1];
	before = r;
	len = size - 18;
	kind = insn_assist(data + 18, len, data[0] & 1, &r, fuzz_random);
	if ((unsigned int)kind >= INSN_ASSIST_KINDS || !insn_assist_name(kind))
		abort();
	if (kind == INSN_ASSIST_NONE) {
		if (memcmp(&r, &before, sizeof(r)))
			abort(); /* refused, yet changed state */
		return 0;
	}
	if (r.rip <= before.rip || r.rip - before.rip > 15 ||
	    r.rip - before.rip > len)
		abort();
	return 0;
}
