// SPDX-License-Identifier: MIT
/*
 * vcpu: one thread per vCPU looping on KVM_RUN and dispatching exits — port
 * and MMIO accesses to the buses, synthetic MSRs and the hypercall trap to
 * the Hyper-V module, triple faults and unhandled exits to a register dump.
 * APs start in wait-for-SIPI: the in-kernel LAPIC brings them up when the
 * guest sends INIT/SIPI. The machine is reached only through struct
 * vcpu_host (see vcpu.h).
 */
#include "hvkvm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hvkvm/hyperv.h"
#include "hvkvm/insn_assist.h"
#include "hvkvm/kvm_stats.h"
#include "hvkvm/util.h"

#define VCPU_KICK_SIGNAL SIGUSR1
#define X86_CR0_PE BIT(0)
#define X86_CR0_MP BIT(1)
#define X86_CR0_ET BIT(4)
#define X86_CR0_NE BIT(5)
#define X86_CR0_WP BIT(16)
#define X86_CR0_PG BIT(31)
#define X86_CR4_PAE BIT(5)
#define X86_EFER_LME BIT(8)
#define X86_EFER_LMA BIT(10)
#define X86_BP_VECTOR 3
#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define INSN_INT3 0xcc

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_SET_TPR] = "set_tpr",
	[KVM_EXIT_TPR_ACCESS] = "tpr_access",
	[KVM_EXIT_NMI] = "nmi",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[KVM_EXIT_X86_RDMSR] = "rdmsr",
	[KVM_EXIT_X86_WRMSR] = "wrmsr",
};

const char *vcpu_exit_name(unsigned int reason)
{
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "other";
}

/* ---- run state: one enum, changed under the lock, read without it ---- */

void vcpu_runstate_init(struct vcpu_runstate *rs)
{
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->cond, NULL);
	rs->state = VCPU_RUNNING;
	rs->parked = 0;
}

void vcpu_runstate_destroy(struct vcpu_runstate *rs)
{
	pthread_cond_destroy(&rs->cond);
	pthread_mutex_destroy(&rs->lock);
}

enum vcpu_state vcpu_runstate_get(struct vcpu_runstate *rs)
{
	return __atomic_load_n(&rs->state, __ATOMIC_ACQUIRE);
}

/* @from -> @to if the state is @from now; STOPPED is never left. */
static bool vcpu_runstate_move(struct vcpu_runstate *rs, enum vcpu_state from,
			       enum vcpu_state to)
{
	bool moved = false;

	pthread_mutex_lock(&rs->lock);
	if (rs->state == from) {
		__atomic_store_n(&rs->state, to, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&rs->cond);
		moved = true;
	}
	pthread_mutex_unlock(&rs->lock);
	return moved;
}

bool vcpu_runstate_pause(struct vcpu_runstate *rs)
{
	return vcpu_runstate_move(rs, VCPU_RUNNING, VCPU_PAUSED);
}

bool vcpu_runstate_resume(struct vcpu_runstate *rs)
{
	return vcpu_runstate_move(rs, VCPU_PAUSED, VCPU_RUNNING);
}

void vcpu_runstate_stop(struct vcpu_runstate *rs)
{
	pthread_mutex_lock(&rs->lock);
	__atomic_store_n(&rs->state, VCPU_STOPPED, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
}

int vcpu_runstate_wait_parked(struct vcpu_runstate *rs, unsigned int n)
{
	int r;

	pthread_mutex_lock(&rs->lock);
	while (rs->parked < n && rs->state != VCPU_STOPPED)
		pthread_cond_wait(&rs->cond, &rs->lock);
	r = rs->state == VCPU_STOPPED ? -ESHUTDOWN : 0;
	pthread_mutex_unlock(&rs->lock);
	return r;
}

void vcpu_runstate_park(struct vcpu_runstate *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->parked++;
	pthread_cond_broadcast(&rs->cond);
	while (rs->state == VCPU_PAUSED)
		pthread_cond_wait(&rs->cond, &rs->lock);
	rs->parked--;
	pthread_mutex_unlock(&rs->lock);
}

/* ---- the vCPU ---- */

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

/* Single writer (the vCPU thread): a plain increment, stored atomically. */
static void vcpu_stat_inc(uint64_t *counter)
{
	__atomic_store_n(counter, *counter + 1, __ATOMIC_RELAXED);
}

int vcpu_init(struct vcpu *v, const struct vcpu_host *host, int kvm_fd,
	      int vm_fd, unsigned int index, uint32_t apic_id)
{
	int mmap_size, r;

	memset(v, 0, sizeof(*v));
	v->stats_fd = -1;
	v->host = host;
	v->index = index;
	v->apic_id = apic_id;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)v->apic_id);
	if (v->fd < 0)
		return -errno;
	mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run)) {
		r = -EINVAL;
		goto err_close;
	}
	v->run_size = (size_t)mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = -errno;
		goto err_close;
	}
	v->stats_fd = kvm_stats_open(v->fd); /* optional: ctl stats */
	return 0;

err_close:
	close(v->fd);
	v->fd = -1;
	return r;
}

int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid)
{
	return ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	v->run = NULL;
	v->fd = -1;
	v->stats_fd = -1;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool l,
		     bool db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = db;
	s->s = 1;
	s->l = l;
	s->g = 1;
}

int vcpu_set_boot_state(struct vcpu *v, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment data;
	bool lm = entry->mode == BOOT_MODE_LONG64;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	seg_flat(&sregs.cs, lm ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32, 0xb, lm,
		 !lm);
	seg_flat(&data, BOOT_SEL_DATA, 0x3, false, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (lm) {
		sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
			    X86_CR0_WP | X86_CR0_PG;
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	} else {
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry->rip;
	regs.rsp = entry->rsp;
	regs.rsi = entry->rsi;
	regs.rbx = entry->rbx;
	regs.rax = entry->rax;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* The instruction bytes at the linear address @rip (for the dump). */
static void vcpu_dump_code(struct vcpu *v, uint64_t rip, FILE *f)
{
	struct kvm_translation tr = { .linear_address = rip };
	uint8_t *p;
	unsigned int i, n = 16;

	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return;
	n = (unsigned int)MIN((uint64_t)n, 4096 - (tr.physical_address & 4095));
	p = gmem_map(v->host->gm, tr.physical_address, n, false);
	if (!p)
		return;
	fprintf(f, " code at RIP:");
	for (i = 0; i < n; i++)
		fprintf(f, " %02x", p[i]);
	fprintf(f, "\r\n");
}

void vcpu_dump(struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "vCPU %u: registers unavailable: %s\r\n", v->index,
			strerror(errno));
		return;
	}
	fprintf(f, "vCPU %u (APIC %u) registers:\r\n", v->index, v->apic_id);
	fprintf(f, " RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\r\n",
		r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(f, " RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\r\n",
		r.rsi, r.rdi, r.rbp, r.rsp);
	fprintf(f, " R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\r\n", r.r8,
		r.r9, r.r10, r.r11);
	fprintf(f, " R12=%016llx R13=%016llx R14=%016llx R15=%016llx\r\n",
		r.r12, r.r13, r.r14, r.r15);
	fprintf(f, " RIP=%016llx RFL=%08llx\r\n", r.rip, r.rflags);
	fprintf(f, " CS=%04x base=%llx l=%u db=%u  SS=%04x  DS=%04x\r\n",
		s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector,
		s.ds.selector);
	fprintf(f, " CR0=%llx CR2=%llx CR3=%llx CR4=%llx EFER=%llx\r\n", s.cr0,
		s.cr2, s.cr3, s.cr4, s.efer);
	fprintf(f, " GDT=%llx/%x IDT=%llx/%x\r\n", s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit);
	vcpu_dump_code(v, s.cs.base + r.rip, f);
	fflush(f);
}

/*
 * The hypercall page's "out HV_HYPERCALL_PORT, al": read the argument
 * registers, let the Hyper-V module run the call, write the result back.
 * Returns false if it was not a hypercall (page not enabled, CPL > 0).
 */
static bool vcpu_hypercall(struct vcpu *v)
{
	struct hv_hypercall_regs hr;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return false;
	hr = (struct hv_hypercall_regs){
		.long_mode = s.cs.l && (s.efer & X86_EFER_LMA),
		.cpl = (uint8_t)(s.cs.selector & 3),
		.rax = r.rax,
		.rbx = r.rbx,
		.rcx = r.rcx,
		.rdx = r.rdx,
		.rsi = r.rsi,
		.rdi = r.rdi,
		.r8 = r.r8,
	};
	if (hv_hypercall(v->host->hv, v->index, &hr))
		return false;
	vcpu_stat_inc(&v->stats.hypercalls);
	r.rax = hr.rax;
	if (!hr.long_mode)
		r.rdx = hr.rdx;
	ioctl(v->fd, KVM_SET_REGS, &r);
	return true;
}

/*
 * A 4-byte write of connection ID @conn to HV_SIGNAL_PORT that no KVM
 * ioeventfd took (channel not open, unknown ID, or a guest writing the port
 * itself): HvSignalEvent(@conn, flag 0) for a 64-bit caller at CPL 0 with
 * the hypercall page enabled. Returns false when it cannot be one (the
 * write then goes to the bus and is dropped like any unclaimed port).
 *
 * The status must reach the stub's caller in RAX. Success needs nothing:
 * the stub's "xor eax, eax" after the OUT makes RAX 0. A failure must skip
 * that xor, so RAX = status and RIP = the stub's "ret". KVM completes an
 * OUT that exited to userspace on the next KVM_RUN: on the fast PIO path
 * (complete_fast_pio_out() in arch/x86/kvm/x86.c) it skips the instruction
 * only if RIP is still the OUT's (kvm_is_linear_rip()), so a RIP we moved
 * stays where we put it; when the instruction emulator ran the OUT, RIP
 * already points after it at the exit and no completion follows. Hence we
 * set an absolute RIP, accepting either, and only when RIP really is in
 * the hypercall page at the OUT or right after it: a guest that wrote the
 * port from its own code keeps its registers (its signal was a hint).
 */
static bool vcpu_signal_port(struct vcpu *v, uint32_t conn)
{
	struct kvm_translation tr;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint64_t page, off;
	uint16_t st;

	if (!hv_hypercall_page(v->host->hv, &page) ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0 ||
	    !(s.cs.l && (s.efer & X86_EFER_LMA)) || (s.cs.selector & 3))
		return false;
	vcpu_stat_inc(&v->stats.hypercalls);
	st = hv_signal_event(v->host->hv, v->index, conn, 0);
	if (!st /* success */ || ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return true;
	memset(&tr, 0, sizeof(tr));
	tr.linear_address = r.rip; /* 64-bit: CS base is 0 */
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid ||
	    (tr.physical_address & ~4095ULL) != page)
		return true;
	off = tr.physical_address & 4095;
	if (off != HV_HYPERCALL_PAGE_SIGNAL_OUT &&
	    off != HV_HYPERCALL_PAGE_SIGNAL_XOR)
		return true;
	r.rax = st;
	r.rip += HV_HYPERCALL_PAGE_SIGNAL_RET - off;
	ioctl(v->fd, KVM_SET_REGS, &r);
	return true;
}

static int vcpu_handle_io(struct vcpu *v)
{
	const struct vcpu_host *h = v->host;
	struct kvm_run *run = v->run;
	unsigned int size = run->io.size, i;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint64_t val;

	if (run->io.data_offset >= v->run_size ||
	    (uint64_t)size * run->io.count > v->run_size - run->io.data_offset)
		return -EINVAL;
	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	vcpu_stat_inc(&v->stats.pio_exits);
	for (i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			val = 0;
			memcpy(&val, data, size);
			if (h->hv && run->io.port == HV_HYPERCALL_PORT &&
			    size == 1 && run->io.count == 1 &&
			    vcpu_hypercall(v))
				continue;
			if (h->hv && run->io.port == HV_SIGNAL_PORT &&
			    size == HV_SIGNAL_PORT_LEN && run->io.count == 1 &&
			    vcpu_signal_port(v, (uint32_t)val))
				continue;
			bus_write(h->pio, run->io.port, size, val);
		} else {
			bus_read(h->pio, run->io.port, size, &val);
			memcpy(data, &val, size);
		}
	}
	return 0;
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len;
	uint64_t val = 0;

	vcpu_stat_inc(&v->stats.mmio_exits);
	if (len == 0 || len > 8)
		return;
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		bus_write(v->host->mmio, run->mmio.phys_addr, len, val);
	} else {
		bus_read(v->host->mmio, run->mmio.phys_addr, len, &val);
		memcpy(run->mmio.data, &val, len);
	}
}

static void vcpu_handle_msr(struct vcpu *v, bool write)
{
	struct kvm_run *run = v->run;
	struct hv *hv = v->host->hv;
	int r = -EINVAL;

	vcpu_stat_inc(&v->stats.msr_exits);
	if (hv && hv_msr_is_synthetic(run->msr.index)) {
		if (write)
			r = hv_msr_write(hv, v->index, run->msr.index,
					 run->msr.data);
		else {
			uint64_t val = 0;

			r = hv_msr_read(hv, v->index, run->msr.index, &val);
			run->msr.data = val;
		}
	}
	if (r) {
		pr_dbg("vCPU %u: #GP on %s of MSR %#x", v->index,
		       write ? "wrmsr" : "rdmsr", run->msr.index);
		if (!write)
			run->msr.data = 0;
	}
	run->msr.error = r ? 1 : 0;
}

static uint64_t vcpu_random(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = time_now_ns() * 0x9e3779b97f4a7c15ULL;
	return v;
}

static void regs_to_insn(const struct kvm_regs *k, struct insn_regs *r)
{
	const uint64_t g[16] = { k->rax, k->rcx, k->rdx, k->rbx, k->rsp, k->rbp,
				 k->rsi, k->rdi, k->r8,	 k->r9,	 k->r10, k->r11,
				 k->r12, k->r13, k->r14, k->r15 };

	memcpy(r->gpr, g, sizeof(g));
	r->rip = k->rip;
	r->rflags = k->rflags;
}

static void insn_to_regs(const struct insn_regs *r, struct kvm_regs *k)
{
	k->rax = r->gpr[0];
	k->rcx = r->gpr[1];
	k->rdx = r->gpr[2];
	k->rbx = r->gpr[3];
	k->rsp = r->gpr[4];
	k->rbp = r->gpr[5];
	k->rsi = r->gpr[6];
	k->rdi = r->gpr[7];
	k->r8 = r->gpr[8];
	k->r9 = r->gpr[9];
	k->r10 = r->gpr[10];
	k->r11 = r->gpr[11];
	k->r12 = r->gpr[12];
	k->r13 = r->gpr[13];
	k->r14 = r->gpr[14];
	k->r15 = r->gpr[15];
	k->rip = r->rip;
	k->rflags = r->rflags;
}

/* Guest memory at a linear address (paging on or off), @len in one page. */
static void *vcpu_map_linear(struct vcpu *v, uint64_t linear, size_t len)
{
	struct kvm_translation tr = { .linear_address = linear };

	if ((linear & 4095) + len > 4096 ||
	    ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return NULL;
	return gmem_map(v->host->gm, tr.physical_address, len, false);
}

/*
 * A 32-bit protected-mode IRET back to the same privilege level (SYSLINUX
 * returns from its interrupt handlers so; kvm_pvm cannot emulate it): pop
 * EIP, CS and EFLAGS from SS:ESP and load CS from the GDT, as the CPU
 * would (insn_iret32). Anything else leaves the emulation failure.
 */
static bool vcpu_iret32(struct vcpu *v, struct kvm_regs *kr,
			struct kvm_sregs *s)
{
	struct insn_regs ir;
	struct insn_seg cs;
	const uint8_t *frame, *desc;
	uint16_t sel;

	if (!(s->cr0 & 1) || (s->efer & X86_EFER_LMA) || !s->cs.db || !s->ss.db)
		return false;
	frame = vcpu_map_linear(v, s->ss.base + (uint32_t)kr->rsp, 12);
	if (!frame)
		return false;
	sel = get_le16(frame + 4);
	if ((sel | 7u) > s->gdt.limit)
		return false;
	desc = vcpu_map_linear(v, s->gdt.base + (sel & ~7u), 8);
	regs_to_insn(kr, &ir);
	if (!desc || insn_iret32(&ir, frame, desc, s->cs.dpl, &cs))
		return false;
	insn_to_regs(&ir, kr);
	s->cs.base = cs.base;
	s->cs.limit = cs.limit;
	s->cs.selector = cs.selector;
	s->cs.type = cs.type;
	s->cs.s = cs.s;
	s->cs.dpl = cs.dpl;
	s->cs.present = cs.present;
	s->cs.avl = cs.avl;
	s->cs.l = cs.l;
	s->cs.db = cs.db;
	s->cs.g = cs.g;
	if (ioctl(v->fd, KVM_SET_SREGS, s) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, kr) < 0)
		return false;
	vcpu_stat_inc(&v->stats.assists[INSN_ASSIST_IRET32]);
	return true;
}

/*
 * Emulating KVMs (kvm_pvm) stop with an emulation failure on a few
 * instructions the guest may legitimately run (int3, clac/stac, and
 * popcnt/rdrand, whose CPUID bits such a KVM passes through even when we
 * clear them). Finish the instruction here, as the CPU would have.
 */
static bool vcpu_insn_assist(struct vcpu *v)
{
	struct kvm_regs kr;
	struct kvm_sregs s;
	struct kvm_translation tr;
	struct kvm_vcpu_events ev;
	struct insn_regs ir;
	enum insn_assist_kind kind;
	uint8_t *insn;
	size_t n;

	if (ioctl(v->fd, KVM_GET_REGS, &kr) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return false;
	memset(&tr, 0, sizeof(tr));
	tr.linear_address = s.cs.base + kr.rip;
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return false;
	n = MIN((size_t)15, 4096 - (size_t)(tr.physical_address & 4095));
	insn = gmem_map(v->host->gm, tr.physical_address, n, false);
	if (!insn)
		return false;
	regs_to_insn(&kr, &ir);
	kind = insn_assist(insn, n, s.cs.l && (s.efer & X86_EFER_LMA), &ir,
			   vcpu_random);
	if (kind == INSN_ASSIST_NONE && insn[0] == 0xcf)
		return vcpu_iret32(v, &kr, &s);
	if (kind == INSN_ASSIST_NONE)
		return false;
	insn_to_regs(&ir, &kr);
	if (ioctl(v->fd, KVM_SET_REGS, &kr) < 0)
		return false;
	if (kind == INSN_ASSIST_INT3) {
		if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return false;
		ev.exception.injected = 1;
		ev.exception.nr = X86_BP_VECTOR;
		ev.exception.has_error_code = 0;
		ev.exception.error_code = 0;
		ev.flags = 0;
		if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return false;
	}
	vcpu_stat_inc(&v->stats.assists[kind]);
	return true;
}

static void vcpu_fail(struct vcpu *v, const char *what)
{
	pr_err("vCPU %u: %s", v->index, what);
	vcpu_dump(v, stderr);
	v->host->stop(v->host->opaque, VCPU_STOP_GUEST_FAILURE);
}

bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (vcpu_handle_io(v)) {
			vcpu_fail(v, "malformed I/O exit");
			return false;
		}
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		return true;
	case KVM_EXIT_X86_RDMSR:
		vcpu_handle_msr(v, false);
		return true;
	case KVM_EXIT_X86_WRMSR:
		vcpu_handle_msr(v, true);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fail(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		v->host->stop(v->host->opaque,
			      run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
				      VCPU_STOP_RESET :
				      VCPU_STOP_POWEROFF);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
		    vcpu_insn_assist(v))
			return true;
		snprintf(
			what, sizeof(what),
			"KVM internal error, suberror %u (emulation failure: the host KVM cannot run this instruction)",
			run->internal.suberror);
		vcpu_fail(v, what);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "VM entry failed, hardware reason %#llx",
			 (unsigned long long)
				 run->fail_entry.hardware_entry_failure_reason);
		vcpu_fail(v, what);
		return false;
	default:
		snprintf(what, sizeof(what), "unhandled exit %u (%s)",
			 run->exit_reason, vcpu_exit_name(run->exit_reason));
		vcpu_fail(v, what);
		return false;
	}
}

static enum vcpu_state vcpu_state(struct vcpu *v)
{
	return vcpu_runstate_get(v->host->rs);
}

/* ---- Hyper-V GUEST_IDLE: poll our own in-kernel LAPIC ---- */

/* A TSC-deadline timer that has fired but waits outside IRR. */
static bool vcpu_tsc_deadline_due(struct vcpu *v)
{
	_Alignas(8) uint8_t
		buf[sizeof(struct kvm_msrs) + 2 * sizeof(struct kvm_msr_entry)];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = 2;
	m->entries[0].index = MSR_IA32_TSC_DEADLINE;
	m->entries[1].index = MSR_IA32_TSC;
	if (ioctl(v->fd, KVM_GET_MSRS, m) != 2)
		return true; /* cannot tell: do not sleep through it */
	return m->entries[0].data && m->entries[1].data >= m->entries[0].data;
}

static bool vcpu_idle_wake(void *opaque)
{
	struct vcpu *v = opaque;
	struct kvm_lapic_state la;
	struct kvm_vcpu_events ev;
	const uint8_t *regs = (const uint8_t *)la.regs;

	_Static_assert(sizeof(la.regs) == HV_LAPIC_REGS_SIZE, "LAPIC image");
	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return true;
	if (hv_idle_lapic_irr(regs) || hv_idle_lapic_timer_due(regs))
		return true;
	if (hv_idle_lapic_tsc_deadline(regs) && vcpu_tsc_deadline_due(v))
		return true;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return true;
	return ev.nmi.pending || ev.nmi.injected;
}

/* What the run loop checks before KVM_RUN: stop (also reset) and pause. */
static bool vcpu_idle_cancel(void *opaque)
{
	struct vcpu *v = opaque;

	return vcpu_state(v) != VCPU_RUNNING;
}

/* vcpu_kick()'s signal ends the sleep early (no SA_RESTART). */
static void vcpu_idle_sleep(void *opaque, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	(void)opaque;
	nanosleep(&ts, NULL);
}

void vcpu_guest_idle(struct vcpu *v)
{
	const struct hv_idle_poll poll = {
		.wake = vcpu_idle_wake,
		.cancel = vcpu_idle_cancel,
		.sleep_ns = vcpu_idle_sleep,
		.opaque = v,
	};

	hv_idle_wait(&poll);
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *v = opaque;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (vcpu_state(v) != VCPU_STOPPED) {
		int r;

		if (vcpu_state(v) == VCPU_PAUSED) {
			vcpu_runstate_park(v->host->rs);
			continue;
		}
		r = ioctl(v->fd, KVM_RUN, 0);

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				vcpu_stat_inc(&v->stats.exits[KVM_EXIT_INTR]);
				continue;
			}
			pr_err("vCPU %u: KVM_RUN: %s", v->index,
			       strerror(errno));
			v->host->stop(v->host->opaque, VCPU_STOP_HOST_FAILURE);
			break;
		}
		if (v->run->exit_reason < VCPU_EXIT_REASONS)
			vcpu_stat_inc(&v->stats.exits[v->run->exit_reason]);
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	struct sigaction sa;
	char name[16];
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (r)
		return -r;
	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(v->thread, name);
	v->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	pthread_join(v->thread, NULL);
	v->thread_started = false;
}
