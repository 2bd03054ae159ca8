// SPDX-License-Identifier: MIT
/*
 * insn_assist: a tiny decoder for the instructions an emulating KVM cannot
 * run (see include/hvkvm/insn_assist.h). Encodings from the Intel SDM:
 *   int3            CC
 *   clac / stac     0F 01 CA / 0F 01 CB
 *   popcnt r, r/m   F3 [REX] 0F B8 /r          (register source only)
 *   rdrand r        [66|REX.W] 0F C7 /6, mod=11
 *   rdseed r        [66|REX.W] 0F C7 /7, mod=11
 *   fwait           9B (Linux's stop_this_cpu path; the guest never unmasks
 *                   x87 exceptions on these hosts, so it is a no-op)
 * Memory operands are not handled (they would need the guest's page
 * tables); such an instruction stays an emulation failure.
 */
#include "hvkvm/insn_assist.h"

#include <errno.h>

#include "hvkvm/util.h"

static const char *const kind_names[] = {
	[INSN_ASSIST_NONE] = "none",	 [INSN_ASSIST_INT3] = "int3",
	[INSN_ASSIST_CLAC] = "clac",	 [INSN_ASSIST_STAC] = "stac",
	[INSN_ASSIST_POPCNT] = "popcnt", [INSN_ASSIST_RDRAND] = "rdrand",
	[INSN_ASSIST_RDSEED] = "rdseed", [INSN_ASSIST_FWAIT] = "fwait",
	[INSN_ASSIST_IRET32] = "iret32",
};

const char *insn_assist_name(enum insn_assist_kind kind)
{
	return kind < INSN_ASSIST_KINDS ? kind_names[kind] : "?";
}

struct insn_prefixes {
	bool rep;    /* F3 */
	bool opsize; /* 66 */
	uint8_t rex; /* 0x40..0x4f, or 0 */
	size_t len;  /* bytes of prefixes */
};

static void insn_prefixes(const uint8_t *c, size_t len, bool long_mode,
			  struct insn_prefixes *p)
{
	size_t i = 0;

	*p = (struct insn_prefixes){ 0 };
	for (; i < len && i < 4; i++) {
		if (c[i] == 0xf3)
			p->rep = true;
		else if (c[i] == 0x66)
			p->opsize = true;
		else
			break;
	}
	if (long_mode && i < len && (c[i] & 0xf0) == 0x40)
		p->rex = c[i++];
	p->len = i;
}

/* Write @val to register @reg with operand size @bytes (2, 4 or 8). */
static void set_reg(struct insn_regs *r, unsigned int reg, unsigned int bytes,
		    uint64_t val)
{
	switch (bytes) {
	case 2:
		r->gpr[reg] = (r->gpr[reg] & ~0xffffULL) | (val & 0xffff);
		break;
	case 4:
		r->gpr[reg] = (uint32_t)val; /* zero-extends in 64-bit */
		break;
	default:
		r->gpr[reg] = val;
		break;
	}
}

static uint64_t get_reg(const struct insn_regs *r, unsigned int reg,
			unsigned int bytes)
{
	return bytes == 8 ? r->gpr[reg] :
	       bytes == 4 ? (uint32_t)r->gpr[reg] :
			    (uint16_t)r->gpr[reg];
}

static unsigned int op_bytes(const struct insn_prefixes *p)
{
	if (p->rex & 0x08)
		return 8;
	return p->opsize ? 2 : 4;
}

enum insn_assist_kind insn_assist(const uint8_t *code, size_t len,
				  bool long_mode, struct insn_regs *r,
				  uint64_t (*random)(void))
{
	struct insn_prefixes p;
	const uint8_t *c;
	size_t n;
	uint8_t modrm;
	unsigned int reg, rm, bytes;

	if (!len)
		return INSN_ASSIST_NONE;
	if (code[0] == 0xcc) {
		r->rip += 1;
		return INSN_ASSIST_INT3;
	}
	if (code[0] == 0x9b) {
		r->rip += 1;
		return INSN_ASSIST_FWAIT;
	}
	if (len >= 3 && code[0] == 0x0f && code[1] == 0x01 &&
	    (code[2] == 0xca || code[2] == 0xcb)) {
		if (code[2] == 0xca)
			r->rflags &= ~X86_RFLAGS_AC;
		else
			r->rflags |= X86_RFLAGS_AC;
		r->rip += 3;
		return code[2] == 0xca ? INSN_ASSIST_CLAC : INSN_ASSIST_STAC;
	}
	insn_prefixes(code, len, long_mode, &p);
	c = code + p.len;
	n = len - p.len;
	if (n < 3 || c[0] != 0x0f)
		return INSN_ASSIST_NONE;
	modrm = c[2];
	if ((modrm >> 6) != 3) /* memory operand: not handled */
		return INSN_ASSIST_NONE;
	reg = ((modrm >> 3) & 7) | ((p.rex & 0x04) ? 8 : 0);
	rm = (modrm & 7) | ((p.rex & 0x01) ? 8 : 0);
	bytes = op_bytes(&p);
	if (c[1] == 0xb8 && p.rep) {
		uint64_t src = get_reg(r, rm, bytes);
		unsigned int cnt = (unsigned int)__builtin_popcountll(src);

		set_reg(r, reg, bytes, cnt);
		r->rflags &= ~(X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF |
			       X86_RFLAGS_ZF | X86_RFLAGS_SF | X86_RFLAGS_OF);
		if (!src)
			r->rflags |= X86_RFLAGS_ZF;
		r->rip += p.len + 3;
		return INSN_ASSIST_POPCNT;
	}
	if (c[1] == 0xc7 && !p.rep &&
	    (((modrm >> 3) & 7) == 6 || ((modrm >> 3) & 7) == 7)) {
		bool seed = ((modrm >> 3) & 7) == 7;

		set_reg(r, rm, bytes, random ? random() : 0);
		r->rflags &= ~(X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF |
			       X86_RFLAGS_ZF | X86_RFLAGS_SF | X86_RFLAGS_OF);
		if (random)
			r->rflags |= X86_RFLAGS_CF; /* value valid */
		r->rip += p.len + 3;
		return seed ? INSN_ASSIST_RDSEED : INSN_ASSIST_RDRAND;
	}
	return INSN_ASSIST_NONE;
}

/* EFLAGS an IRET at CPL 0 loads: CF PF AF ZF SF TF IF DF OF IOPL NT RF AC ID. */
#define IRET_FLAGS_MASK 0x00257fd5ULL
#define X86_RFLAGS_VM BIT(17)

int insn_iret32(struct insn_regs *r, const uint8_t frame[12],
		const uint8_t desc[8], unsigned int cpl, struct insn_seg *cs)
{
	uint32_t eip = get_le32(frame), eflags = get_le32(frame + 8);
	uint16_t sel = get_le16(frame + 4);
	struct insn_seg c;
	uint8_t access = desc[5], flags = desc[6] >> 4;

	if ((eflags & X86_RFLAGS_VM) || (sel & 3) != cpl || (sel & 4))
		return -EOPNOTSUPP; /* v86, privilege change, LDT */
	if (!(sel & ~3u))
		return -EINVAL;
	c = (struct insn_seg){
		.selector = sel,
		.base = get_le16(desc + 2) | (uint32_t)desc[4] << 16 |
			(uint32_t)desc[7] << 24,
		.limit = get_le16(desc) | (uint32_t)(desc[6] & 0xf) << 16,
		.type = access & 0xf,
		.s = (access >> 4) & 1,
		.dpl = (access >> 5) & 3,
		.present = access >> 7,
		.avl = flags & 1,
		.l = (flags >> 1) & 1,
		.db = (flags >> 2) & 1,
		.g = (flags >> 3) & 1,
	};
	if (!c.s || !(c.type & 8) || !c.present || c.l || !c.db)
		return -EINVAL; /* not a present 32-bit code segment */
	if ((c.type & 4) ? c.dpl > cpl : c.dpl != cpl)
		return -EINVAL; /* conforming / non-conforming DPL rules */
	if (c.g)
		c.limit = c.limit << 12 | 0xfff;
	if (eip > c.limit)
		return -EINVAL;
	c.type |= 1; /* accessed */
	r->rip = eip;
	r->gpr[4] = (uint32_t)(r->gpr[4] + 12);
	r->rflags = (r->rflags & ~IRET_FLAGS_MASK & ~X86_RFLAGS_VM) |
		    (eflags & IRET_FLAGS_MASK) | 2;
	*cs = c;
	return 0;
}
