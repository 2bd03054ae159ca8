/* SPDX-License-Identifier: MIT */
/*
 * insn_assist: finish, in the VMM, the few instructions an emulating KVM
 * (kvm_pvm) stops on with an emulation failure although the guest was told
 * — or, because that KVM passes some host CPUID bits through regardless of
 * KVM_SET_CPUID2, believes — it may use them: int3, clac/stac, popcnt,
 * rdrand/rdseed (register forms), fwait. Pure logic over the instruction bytes and
 * a register file, so it is unit-tested without KVM.
 */
#ifndef HVKVM_INSN_ASSIST_H
#define HVKVM_INSN_ASSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvkvm/util.h"

enum insn_assist_kind {
	INSN_ASSIST_NONE, /* not ours: the failure stands */
	INSN_ASSIST_INT3, /* RIP advanced; inject #BP */
	INSN_ASSIST_CLAC,
	INSN_ASSIST_STAC,
	INSN_ASSIST_POPCNT,
	INSN_ASSIST_RDRAND,
	INSN_ASSIST_RDSEED,
	INSN_ASSIST_FWAIT,  /* x87 wait: no-op (no x87 exception pending) */
	INSN_ASSIST_IRET32, /* 32-bit same-privilege iret (insn_iret32) */
	INSN_ASSIST_KINDS,
};

/* General registers in the x86 encoding order (RAX=0 .. R15=15). */
struct insn_regs {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
};

#define X86_RFLAGS_CF BIT(0)
#define X86_RFLAGS_PF BIT(2)
#define X86_RFLAGS_AF BIT(4)
#define X86_RFLAGS_ZF BIT(6)
#define X86_RFLAGS_SF BIT(7)
#define X86_RFLAGS_OF BIT(11)
#define X86_RFLAGS_AC BIT(18)

/*
 * Decode @code (@len bytes available at RIP) and, if it is one of ours,
 * perform it on @r (RIP advanced past it). @long_mode selects 64-bit
 * decoding (REX prefixes); @random supplies RDRAND/RDSEED values.
 */
enum insn_assist_kind insn_assist(const uint8_t *code, size_t len,
				  bool long_mode, struct insn_regs *r,
				  uint64_t (*random)(void));
const char *insn_assist_name(enum insn_assist_kind kind);

/* A segment register as KVM describes it (struct kvm_segment's fields). */
struct insn_seg {
	uint64_t base;
	uint32_t limit; /* in bytes, granularity applied */
	uint16_t selector;
	uint8_t type, s, dpl, present, avl, l, db, g;
};

/*
 * A 32-bit protected-mode IRET (opcode CF, no prefix) that returns to the
 * same privilege level — what SYSLINUX's interrupt handlers do, and what
 * kvm_pvm's emulator cannot run. @frame: the 12 bytes at SS:ESP (EIP, CS,
 * EFLAGS); @desc: the GDT descriptor of the new CS; @cpl: the current
 * privilege level. On success RIP, RSP (+12) and RFLAGS in @r and the new
 * CS in @cs are set: 0. A return to virtual-8086 mode or to another
 * privilege level, an LDT, null, non-code, absent or wrong-DPL selector,
 * or an EIP beyond the limit: -EOPNOTSUPP or -EINVAL, @r untouched (the
 * emulation failure then stands).
 */
int insn_iret32(struct insn_regs *r, const uint8_t frame[12],
		const uint8_t desc[8], unsigned int cpl, struct insn_seg *cs);

#endif /* HVKVM_INSN_ASSIST_H */
