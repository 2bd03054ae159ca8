// SPDX-License-Identifier: MIT
/* Unit tests: the instruction assist for emulating KVMs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
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

/* SYSLINUX's interrupt return: popa; add esp,4; iret at CPL 0. */
static void test_insn_iret32(void **state)
{
	/* GDT entry 0x20: flat 4 GiB 32-bit code, DPL 0, present. */
	static const uint8_t code32[8] = { 0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0 };
	static const uint8_t code64[8] = { 0xff, 0xff, 0, 0, 0, 0x9a, 0xaf, 0 };
	static const uint8_t data[8] = { 0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0 };
	static const uint8_t dpl3[8] = { 0xff, 0xff, 0, 0, 0, 0xfa, 0xcf, 0 };
	static const uint8_t small[8] = {
		0xff, 0x0f, 0, 0, 0x10, 0x9a, 0x40, 0
	}; /* base 1 MiB, 4 KiB, byte gran */
	uint8_t frame[12];
	struct insn_regs r, before;
	struct insn_seg cs;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.gpr[4] = 0x329fb4;
	r.rip = 0x8ffc;
	r.rflags = 0x2;
	put_le32(frame, 0x9123);
	put_le32(frame + 4, 0x20);
	put_le32(frame + 8, 0x246 | (3u << 12) | BIT(17));
	before = r;
	/* A return to virtual-8086 mode is not ours. */
	assert_int_equal(insn_iret32(&r, frame, code32, 0, &cs), -EOPNOTSUPP);
	assert_memory_equal(&r, &before, sizeof(r));
	put_le32(frame + 8, 0x246 | (3u << 12));
	assert_int_equal(insn_iret32(&r, frame, code32, 0, &cs), 0);
	assert_int_equal(r.rip, 0x9123);
	assert_int_equal(r.gpr[4], 0x329fb4 + 12);
	assert_int_equal(r.rflags, 0x246 | (3u << 12));
	assert_int_equal(cs.selector, 0x20);
	assert_int_equal(cs.base, 0);
	assert_int_equal(cs.limit, 0xffffffff);
	assert_int_equal(cs.db, 1);
	assert_int_equal(cs.type, 0xb); /* code, readable, accessed */
	/* Byte granularity and a base: EIP must lie within the limit. */
	r = before;
	put_le32(frame, 0xfff);
	assert_int_equal(insn_iret32(&r, frame, small, 0, &cs), 0);
	assert_int_equal(cs.base, 0x100000);
	assert_int_equal(cs.limit, 0xfff);
	put_le32(frame, 0x1000);
	r = before;
	assert_int_equal(insn_iret32(&r, frame, small, 0, &cs), -EINVAL);
	put_le32(frame, 0x9123);
	/* Not a 32-bit code segment, wrong DPL, another ring, null, LDT. */
	assert_int_equal(insn_iret32(&r, frame, data, 0, &cs), -EINVAL);
	assert_int_equal(insn_iret32(&r, frame, code64, 0, &cs), -EINVAL);
	assert_int_equal(insn_iret32(&r, frame, dpl3, 0, &cs), -EINVAL);
	put_le32(frame + 4, 0x23);
	assert_int_equal(insn_iret32(&r, frame, code32, 0, &cs), -EOPNOTSUPP);
	put_le32(frame + 4, 0x0);
	assert_int_equal(insn_iret32(&r, frame, code32, 0, &cs), -EINVAL);
	put_le32(frame + 4, 0x24);
	assert_int_equal(insn_iret32(&r, frame, code32, 0, &cs), -EOPNOTSUPP);
	assert_memory_equal(&r, &before, sizeof(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insn_assist_popcnt_forms),
		cmocka_unit_test(test_insn_assist_clac_stac_int3),
		cmocka_unit_test(test_insn_assist_rdrand),
		cmocka_unit_test(test_insn_assist_rejects_others),
		cmocka_unit_test(test_insn_iret32),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
