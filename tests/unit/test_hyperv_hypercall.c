// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/hyperv hypercalls: input value decoding, memory
 * parameter checks (alignment, page crossing, RAM), fast and memory forms,
 * both ABIs, rep calls with reps-completed accounting, HvPostMessage and
 * HvSignalEvent dispatch to connection-ID handlers, counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/hyperv/hv_internal.h"
#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/util.h"

#include "test_hyperv_fixture.h"
#include "test_stats_find.h"

#define HV_STAT(f, path) STAT_FIND(hv_stats_foreach, (f)->hv, path)

/* ---- Hypercalls ------------------------------------------------------ */

static uint16_t fx_post(void *o, unsigned int vp, uint32_t type,
			const void *payload, uint32_t len)
{
	struct fx *f = o;

	f->posts++;
	f->post_type = type;
	f->post_len = len;
	memcpy(f->post_payload, payload, len);
	return f->post_status;
}

static void fx_signal(void *o, unsigned int vp, uint16_t flag)
{
	struct fx *f = o;

	f->signals++;
	f->signal_flag = flag;
}

static struct fx *fx_hc(void)
{
	struct fx *f = fx_new_all();

	wr(f, HV_X64_MSR_GUEST_OS_ID, 1);
	wr(f, HV_X64_MSR_HYPERCALL, 0x1001);
	assert_int_equal(hv_register_message_handler(f->hv, 4, fx_post, f), 0);
	assert_int_equal(hv_register_event_handler(f->hv, 0x22, fx_signal, f),
			 0);
	return f;
}

static uint64_t hc64(struct fx *f, uint64_t control, uint64_t in, uint64_t out)
{
	struct hv_hypercall_regs r = { .long_mode = true,
				       .rcx = control,
				       .rdx = in,
				       .r8 = out,
				       .rax = 0x5555 };

	assert_int_equal(hv_hypercall(f->hv, 0, &r), 0);
	return r.rax;
}

static void put_post(struct fx *f, uint64_t gpa, uint32_t conn, uint32_t type,
		     uint32_t len)
{
	uint8_t *p = f->mem.ram + gpa;
	unsigned int i;

	put_le32(p, conn);
	put_le32(p + 4, 0);
	put_le32(p + 8, type);
	put_le32(p + 12, len);
	for (i = 0; i < 240; i++)
		p[16 + i] = (uint8_t)(i ^ 0x5a);
}

static void test_hypercall_post_message(void **state)
{
	struct fx *f = fx_hc();

	put_post(f, 0x3000, 4, 1, 64);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0), 0);
	assert_int_equal(f->posts, 1);
	assert_int_equal(f->post_type, 1);
	assert_int_equal(f->post_len, 64);
	assert_int_equal(f->post_payload[63], 63 ^ 0x5a);
	f->post_status = HV_STATUS_INSUFFICIENT_BUFFERS;
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0),
			 HV_STATUS_INSUFFICIENT_BUFFERS);
	/* Unknown connection, oversized payload, hypervisor type. */
	put_post(f, 0x3000, 5, 1, 64);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0),
			 HV_STATUS_INVALID_CONNECTION_ID);
	put_post(f, 0x3000, 4, 1, 241);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0),
			 HV_STATUS_INVALID_PARAMETER);
	put_post(f, 0x3000, 4, 0x80000010, 24);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0),
			 HV_STATUS_INVALID_PARAMETER);
	assert_int_equal(f->posts, 2);
	/* Handler registration rules. */
	assert_int_equal(hv_register_message_handler(f->hv, 4, fx_post, f),
			 -EEXIST);
	assert_int_equal(hv_register_message_handler(f->hv, 1u << 24, fx_post,
						     f),
			 -EINVAL);
	assert_int_equal(hv_unregister_message_handler(f->hv, 4), 0);
	put_post(f, 0x3000, 4, 1, 8);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0),
			 HV_STATUS_INVALID_CONNECTION_ID);
	assert_int_equal(hv_unregister_message_handler(f->hv, 4), -ENOENT);
	fx_free(f);
}

static void test_hypercall_input_checks(void **state)
{
	struct fx *f = fx_hc();

	put_post(f, 0x3000, 4, 1, 8);
	/* Alignment, page crossing, outside RAM. */
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3004, 0),
			 HV_STATUS_INVALID_ALIGNMENT);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3f08, 0),
			 HV_STATUS_INVALID_ALIGNMENT);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, RAM_SIZE, 0),
			 HV_STATUS_INVALID_PARAMETER);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, ~0xfffULL, 0),
			 HV_STATUS_INVALID_PARAMETER);
	/* Unknown and unadvertised codes. */
	assert_int_equal(hc64(f, 0x0002, 0x3000, 0),
			 HV_STATUS_INVALID_HYPERCALL_CODE);
	assert_int_equal(hc64(f, 0x000b | HV_HYPERCALL_FAST_BIT, 0, 0),
			 HV_STATUS_INVALID_HYPERCALL_CODE);
	assert_int_equal(hc64(f, 0xffff, 0, 0),
			 HV_STATUS_INVALID_HYPERCALL_CODE);
	/* Rep count / start / varhead / reserved on a simple call. */
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE | 1ULL << 32, 0x3000, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE | 1ULL << 48, 0x3000, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE | 1ULL << 31, 0x3000, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE | 1ULL << 62, 0x3000, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* PostMessage can't be fast. */
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE | HV_HYPERCALL_FAST_BIT, 4,
			      0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(f->posts, 0);
	/* Ok after all that. */
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0), 0);
	assert_int_equal(f->posts, 1);
	/* CPL 3: not a hypercall. */
	{
		struct hv_hypercall_regs r = { .long_mode = true,
					       .cpl = 3,
					       .rcx = HVCALL_POST_MESSAGE,
					       .rdx = 0x3000,
					       .rax = 7 };

		assert_int_equal(hv_hypercall(f->hv, 0, &r), -EPERM);
		assert_int_equal(r.rax, 7);
	}
	fx_free(f);
}

static void test_hypercall_signal_and_spin(void **state)
{
	struct fx *f = fx_hc();

	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
			      0x22 | 5ULL << 32, 0),
			 0);
	assert_int_equal(f->signals, 1);
	assert_int_equal(f->signal_flag, 5);
	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
			      0x23, 0),
			 HV_STATUS_INVALID_CONNECTION_ID);
	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
			      0x22 | 2048ULL << 32, 0),
			 HV_STATUS_INVALID_PARAMETER);
	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
			      0x22 | 1ULL << 50, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Memory form. */
	put_le64(f->mem.ram + 0x2ff8, 0x22 | 9ULL << 32);
	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT, 0x2ff8, 0), 0);
	assert_int_equal(f->signal_flag, 9);
	assert_int_equal(hv_unregister_event_handler(f->hv, 0x22), 0);
	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
			      0x22, 0),
			 HV_STATUS_INVALID_CONNECTION_ID);
	assert_int_equal(f->signals, 2);

	assert_int_equal(
		hc64(f, HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HYPERCALL_FAST_BIT,
		     0x1000, 0),
		0);
	assert_int_equal(f->yields, 1);
	assert_int_equal(f->hv->vps[0].stats.hypercall[HV_CALL_STAT_SPIN_WAIT],
			 1);
	fx_free(f);
}

/*
 * hv_signal_event(): the signal port's fallback runs the same checks and
 * handler as the hypercall, on the same counters.
 */
static void test_signal_event_port_path(void **state)
{
	struct fx *f = fx_hc();
	struct config_hyperv c;
	uint64_t gpa = 0;

	assert_true(hv_hypercall_page(f->hv, &gpa));
	assert_int_equal(gpa, 0x1000);
	assert_int_equal(hv_signal_event(f->hv, 1, 0x22, 0), HV_STATUS_SUCCESS);
	assert_int_equal(f->signals, 1);
	assert_int_equal(f->signal_flag, 0);
	assert_int_equal(hv_signal_event(f->hv, 0, 0x22, 2047),
			 HV_STATUS_SUCCESS);
	assert_int_equal(f->signal_flag, 2047);
	assert_int_equal(hv_signal_event(f->hv, 0, 0x7777, 0),
			 HV_STATUS_INVALID_CONNECTION_ID);
	assert_int_equal(hv_signal_event(f->hv, 0, 0x22, 2048),
			 HV_STATUS_INVALID_PARAMETER);
	assert_int_equal(hv_signal_event(f->hv, 0, 0x1000022, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hv_signal_event(f->hv, 2, 0x22, 0),
			 HV_STATUS_INVALID_VP_INDEX);
	assert_int_equal(f->signals, 2);
	/* Same counters as the hypercall. */
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercalls.SignalEvent"), 4);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercall_errors"), 3);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.hypercalls.SignalEvent"), 1);
	/* Disabling the page: the vCPU loop then ignores the port. */
	wr(f, HV_X64_MSR_HYPERCALL, 0);
	assert_false(hv_hypercall_page(f->hv, &gpa));
	fx_free(f);

	/* Without SynIC there is no HvSignalEvent at all. */
	fx_all(&c);
	c.synic = false;
	c.stimer = false;
	c.stimer_direct = false;
	c.passthrough = false;
	f = fx_new(&c);
	wr(f, HV_X64_MSR_GUEST_OS_ID, 1);
	wr(f, HV_X64_MSR_HYPERCALL, 0x1001);
	assert_int_equal(hv_signal_event(f->hv, 0, 0x22, 0),
			 HV_STATUS_INVALID_HYPERCALL_CODE);
	fx_free(f);
}

static void test_hypercall_32bit_abi(void **state)
{
	struct fx *f = fx_hc();
	struct hv_hypercall_regs r = { 0 };

	put_post(f, 0x3000, 4, 1, 16);
	/* EDX:EAX control, EBX:ECX input GPA, EDI:ESI output GPA. */
	r.rax = HVCALL_POST_MESSAGE;
	r.rdx = 0;
	r.rbx = 0;
	r.rcx = 0x3000;
	r.rsi = 0;
	r.rdi = 0;
	assert_int_equal(hv_hypercall(f->hv, 0, &r), 0);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rdx, 0);
	assert_int_equal(f->posts, 1);
	/* High half of the GPA in EBX: outside RAM. */
	r.rax = HVCALL_POST_MESSAGE;
	r.rbx = 1;
	r.rcx = 0x3000;
	assert_int_equal(hv_hypercall(f->hv, 0, &r), 0);
	assert_int_equal(r.rax, HV_STATUS_INVALID_PARAMETER);
	/* Rep count in EDX comes back as reps completed in EDX. */
	put_le64(f->mem.ram + 0x4000, HV_PARTITION_ID_SELF);
	put_le32(f->mem.ram + 0x4008, HV_VP_INDEX_SELF);
	put_le32(f->mem.ram + 0x400c, 0);
	put_le32(f->mem.ram + 0x4010, HV_REGISTER_VP_INDEX);
	put_le32(f->mem.ram + 0x4014, HV_REGISTER_GUEST_OS_ID);
	r.rax = HVCALL_GET_VP_REGISTERS;
	r.rdx = 2; /* rep count 2 (bits 32..43 of the value) */
	r.rbx = 0;
	r.rcx = 0x4000;
	r.rdi = 0;
	r.rsi = 0x6000;
	assert_int_equal(hv_hypercall(f->hv, 0, &r), 0);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rdx, 2);
	assert_int_equal(get_le64(f->mem.ram + 0x6000), 0);
	assert_int_equal(get_le64(f->mem.ram + 0x6010), 1);
	fx_free(f);
}

static void test_hypercall_rep_accounting(void **state)
{
	struct fx *f = fx_hc();
	uint8_t *in = f->mem.ram + 0x4000;
	uint64_t res;

	put_le64(in, HV_PARTITION_ID_SELF);
	put_le32(in + 8, HV_VP_INDEX_SELF);
	put_le32(in + 12, 0);
	put_le32(in + 16, HV_REGISTER_VP_INDEX);
	put_le32(in + 20, HV_REGISTER_TIME_REF_COUNT);
	put_le32(in + 24, 0x12345); /* unknown register */
	put_le32(in + 28, HV_REGISTER_GUEST_OS_ID);
	f->now_ns += 300;
	res = hc64(f, HVCALL_GET_VP_REGISTERS | 4ULL << 32, 0x4000, 0x6000);
	assert_int_equal(res & 0xffff, HV_STATUS_INVALID_PARAMETER);
	assert_int_equal(res >> 32, 2);
	assert_int_equal(get_le64(f->mem.ram + 0x6010), 3);
	assert_int_equal(get_le64(f->mem.ram + 0x6010),
			 rd(f, HV_X64_MSR_TIME_REF_COUNT));
	/* Restart from rep 3 (the guest skips the bad one). */
	res = hc64(f, HVCALL_GET_VP_REGISTERS | 4ULL << 32 | 3ULL << 48, 0x4000,
		   0x6000);
	assert_int_equal(res, 4ULL << 32);
	assert_int_equal(get_le64(f->mem.ram + 0x6030), 1);
	/* Start beyond count; output crossing a page; other VP / partition. */
	assert_int_equal(hc64(f,
			      HVCALL_GET_VP_REGISTERS | 1ULL << 32 | 2ULL << 48,
			      0x4000, 0x6000),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hc64(f, HVCALL_GET_VP_REGISTERS | 2ULL << 32, 0x4000,
			      0x6ff0) &
				 0xffff,
			 HV_STATUS_INVALID_ALIGNMENT);
	put_le32(in + 8, 1);
	assert_int_equal(hc64(f, HVCALL_GET_VP_REGISTERS | 1ULL << 32, 0x4000,
			      0x6000),
			 HV_STATUS_ACCESS_DENIED);
	put_le32(in + 8, 99);
	assert_int_equal(hc64(f, HVCALL_GET_VP_REGISTERS | 1ULL << 32, 0x4000,
			      0x6000),
			 HV_STATUS_INVALID_VP_INDEX);
	put_le64(in, 1);
	assert_int_equal(hc64(f, HVCALL_GET_VP_REGISTERS | 1ULL << 32, 0x4000,
			      0x6000),
			 HV_STATUS_INVALID_PARTITION_ID);
	/* Rep count 0: nothing to do, success. */
	put_le64(in, HV_PARTITION_ID_SELF);
	put_le32(in + 8, HV_VP_INDEX_SELF);
	assert_int_equal(hc64(f, HVCALL_GET_VP_REGISTERS, 0x4000, 0x6000), 0);
	fx_free(f);
}

static void test_stats_print_counts(void **state)
{
	struct fx *f = fx_hc();
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_int_equal(hc64(f, 0x99, 0, 0), HV_STATUS_INVALID_HYPERCALL_CODE);
	hv_stats_print(f->hv, m);
	fclose(m);
	assert_non_null(strstr(buf, "\nhyperv: vp0 hypercalls: "
				    "NotifyLongSpinWait=0 GetVpRegisters=0 "
				    "PostMessage=0 SignalEvent=0 other=1\n"));
	assert_non_null(strstr(buf, "hyperv: vp0: msr_gp=0 "
				    "hypercall_errors=1\n"));
	assert_non_null(strstr(buf, "hyperv: vp0 msr: guest_os_id.reads=0 "
				    "guest_os_id.writes=1 hypercall.reads=0 "
				    "hypercall.writes=1\n"));
	assert_non_null(strstr(buf, "hyperv: vp1 synic: posted=0"));
	free(buf);
	fx_free(f);
}

/* The enumeration behind ctl "stats": MSRs by name, calls, SynIC. */
static void test_stats_foreach_values(void **state)
{
	struct fx *f = fx_hc();
	uint64_t v;

	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.hypercall.writes"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.hypercall.reads"), 0);
	/* Never touched: not reported at all. */
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.scontrol.reads"),
			 UINT64_MAX);
	rd(f, HV_X64_MSR_VP_INDEX);
	rd(f, HV_X64_MSR_VP_INDEX);
	wr(f, HV_X64_MSR_SINT0 + 3, 0x10000 | 0x40);
	wr(f, HV_X64_MSR_STIMER0_CONFIG + 2, 0); /* STIMER1_CONFIG */
	assert_int_equal(hv_msr_read(f->hv, 1, HV_X64_MSR_EOI, &v), -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 1, 0x40000150, 1), -EINVAL);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.vp_index.reads"), 2);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.sint3.writes"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.stimer1_config.writes"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.msr.eoi.reads"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.msr.other.writes"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.msr_gp"), 2);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr_gp"), 0);

	put_post(f, 0x3000, 4, 1, 64);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0), 0);
	assert_int_equal(hc64(f, HVCALL_POST_MESSAGE, 0x3000, 0), 0);
	assert_int_equal(hc64(f, HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
			      0x22, 0),
			 0);
	assert_int_equal(hc64(f, 0x99, 0, 0), HV_STATUS_INVALID_HYPERCALL_CODE);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercalls.PostMessage"), 2);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercalls.SignalEvent"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercalls.other"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercalls.GetVpRegisters"), 0);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.hypercall_errors"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.hypercalls.PostMessage"), 0);

	/* SynIC: post into VP 0's SINT 2, then once more into a busy slot. */
	wr(f, HV_X64_MSR_SIMP, 0x10000 | 1);
	wr(f, HV_X64_MSR_SINT0 + 2, 0xf3);
	wr(f, HV_X64_MSR_SCONTROL, 1);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 2, 1, "x", 1), 0);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 2, 1, "y", 1), 0);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.synic.posted"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.synic.queued"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.synic.irqs"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.synic.eom"), 0);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.stimer.expired"), 0);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr.scontrol.writes"), 1);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hypercall_post_message),
		cmocka_unit_test(test_hypercall_input_checks),
		cmocka_unit_test(test_hypercall_signal_and_spin),
		cmocka_unit_test(test_signal_event_port_path),
		cmocka_unit_test(test_hypercall_32bit_abi),
		cmocka_unit_test(test_hypercall_rep_accounting),
		cmocka_unit_test(test_stats_print_counts),
		cmocka_unit_test(test_stats_foreach_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
