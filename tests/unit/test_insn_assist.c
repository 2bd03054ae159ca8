// SPDX-License-Identifier: MIT
/* Unit tests: the instruction assist for emulating KVMs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hvkvm/insn_assist.h"

static uint64_t fixed_random(void)
{
	return 0x1122334455667788ULL;
}

static void test_insn_assist_popcnt_forms(void **state)
{
	struct insn_regs r;
	/* popcnt %rdi,%rax (what Linux's hweight64 alternative patches in) */
	static const uint8_t q[] = { 0xf3, 0x48, 0x0f, 0xb8, 0xc7, 0x90 };
	/* popcnt %r9d,%r10d: REX.R + REX.B, 32-bit */
	static const uint8_t d[] = { 0xf3, 0x45, 0x0f, 0xb8, 0xd1 };
	/* popcnt %cx,%dx: 16-bit */
	static const uint8_t w[] = { 0x66, 0xf3, 0x0f, 0xb8, 0xd1 };

	(void)state;
	memset(&r, 0, sizeof(r));
	r.gpr[7] = 0xf0f0f0f0f0f0f0f0ULL;
	r.gpr[0] = 0xdead;
	r.rip = 0x1000;
	r.rflags = 0x2 | X86_RFLAGS_ZF | X86_RFLAGS_CF;
	assert_int_equal(insn_assist(q, sizeof(q), true, &r, NULL),
			 INSN_ASSIST_POPCNT);
	assert_int_equal(r.gpr[0], 32);
	assert_int_equal(r.rip, 0x1005);
	assert_int_equal(r.rflags, 0x2); /* ZF, CF cleared */

	memset(&r, 0, sizeof(r));
	r.gpr[9] = 0xffffffff00000007ULL;
	r.gpr[10] = 0xaaaaaaaaaaaaaaaaULL;
	assert_int_equal(insn_assist(d, sizeof(d), true, &r, NULL),
			 INSN_ASSIST_POPCNT);
	assert_int_equal(r.gpr[10], 3); /* upper half zeroed */
	assert_true(r.rflags == 0);

	memset(&r, 0, sizeof(r));
	r.gpr[1] = 0x10000; /* low 16 bits are zero */
	r.gpr[2] = 0x12345678;
	assert_int_equal(insn_assist(w, sizeof(w), true, &r, NULL),
			 INSN_ASSIST_POPCNT);
	assert_int_equal(r.gpr[2], 0x12340000); /* only DX written */
	assert_true(r.rflags & X86_RFLAGS_ZF);
}

static void test_insn_assist_clac_stac_int3(void **state)
{
	struct insn_regs r;
	static const uint8_t stac[] = { 0x0f, 0x01, 0xcb };
	static const uint8_t clac[] = { 0x0f, 0x01, 0xca };
	static const uint8_t int3[] = { 0xcc };

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(insn_assist(stac, 3, true, &r, NULL),
			 INSN_ASSIST_STAC);
	assert_true(r.rflags & X86_RFLAGS_AC);
	assert_int_equal(insn_assist(clac, 3, true, &r, NULL),
			 INSN_ASSIST_CLAC);
	assert_false(r.rflags & X86_RFLAGS_AC);
	assert_int_equal(r.rip, 6);
	assert_int_equal(insn_assist(int3, 1, false, &r, NULL),
			 INSN_ASSIST_INT3);
	assert_int_equal(r.rip, 7);
	assert_int_equal(insn_assist((const uint8_t[]){ 0x9b, 0x65 }, 2, true,
				     &r, NULL),
			 INSN_ASSIST_FWAIT);
	assert_int_equal(r.rip, 8);
}

static void test_insn_assist_rdrand(void **state)
{
	struct insn_regs r;
	/* rdrand %rax; rdseed %r11d */
	static const uint8_t rdrand[] = { 0x48, 0x0f, 0xc7, 0xf0 };
	static const uint8_t rdseed[] = { 0x41, 0x0f, 0xc7, 0xfb };

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(insn_assist(rdrand, 4, true, &r, fixed_random),
			 INSN_ASSIST_RDRAND);
	assert_int_equal(r.gpr[0], 0x1122334455667788ULL);
	assert_true(r.rflags & X86_RFLAGS_CF);
	assert_int_equal(r.rip, 4);
	assert_int_equal(insn_assist(rdseed, 4, true, &r, fixed_random),
			 INSN_ASSIST_RDSEED);
	assert_int_equal(r.gpr[11], 0x55667788);
	/* No entropy source: CF=0 ("try again"), as the SDM allows. */
	assert_int_equal(insn_assist(rdrand, 4, true, &r, NULL),
			 INSN_ASSIST_RDRAND);
	assert_false(r.rflags & X86_RFLAGS_CF);
}

static void test_insn_assist_rejects_others(void **state)
{
	struct insn_regs r, before;
	/* popcnt (%rdi),%rax: memory operand */
	static const uint8_t mem[] = { 0xf3, 0x48, 0x0f, 0xb8, 0x07 };
	/* 0f b8 without F3 is jmpe, not popcnt */
	static const uint8_t jmpe[] = { 0x0f, 0xb8, 0xc0 };
	/* cmpxchg16b (%rdi) */
	static const uint8_t cx16[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x0f };
	/* truncated popcnt */
	static const uint8_t trunc[] = { 0xf3, 0x48, 0x0f };
	/* xrstor64 */
	static const uint8_t xr[] = { 0x48, 0x0f, 0xae, 0x2f };

	(void)state;
	memset(&r, 0x5a, sizeof(r));
	before = r;
	assert_int_equal(insn_assist(mem, sizeof(mem), true, &r, NULL),
			 INSN_ASSIST_NONE);
	assert_int_equal(insn_assist(jmpe, sizeof(jmpe), true, &r, NULL),
			 INSN_ASSIST_NONE);
	assert_int_equal(insn_assist(cx16, sizeof(cx16), true, &r, NULL),
			 INSN_ASSIST_NONE);
	assert_int_equal(insn_assist(trunc, sizeof(trunc), true, &r, NULL),
			 INSN_ASSIST_NONE);
	assert_int_equal(insn_assist(xr, sizeof(xr), true, &r, NULL),
			 INSN_ASSIST_NONE);
	assert_int_equal(insn_assist(xr, 0, true, &r, NULL), INSN_ASSIST_NONE);
	assert_memory_equal(&r, &before, sizeof(r)); /* untouched */
	/* In 32-bit mode 0x48 is "dec eax", not REX: not ours. */
	assert_int_equal(
		insn_assist((const uint8_t[]){ 0x48, 0x0f, 0xc7, 0xf0 }, 4,
			    false, &r, NULL),
		INSN_ASSIST_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insn_assist_popcnt_forms),
		cmocka_unit_test(test_insn_assist_clac_stac_int3),
		cmocka_unit_test(test_insn_assist_rdrand),
		cmocka_unit_test(test_insn_assist_rejects_others),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
