/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture for the Hyper-V unit tests (test_hyperv.c,
 * test_hyperv_hypercall.c): fake guest memory, fake IRQ sink, a fake clock
 * and TSC, an hv instance with every enlightenment, MSR helpers.
 */
#ifndef HVKVM_TEST_HYPERV_FIXTURE_H
#define HVKVM_TEST_HYPERV_FIXTURE_H

#define RAM_SIZE (1u << 20)
#define TSC_KHZ 2500000ULL	    /* 2.5 GHz guest TSC */
#define TSC_AT_ZERO 123456789012ULL /* guest TSC when the fake clock is 0 */

struct fx {
	struct fake_gmem mem;
	struct fake_irq irq;
	struct config_hyperv cfg;
	struct hv_params p;
	struct hv *hv;
	uint32_t apic_ids[2];
	uint64_t now_ns; /* fake host clock */
	bool sample_fail;
	unsigned int resets, crashes, yields, idles;
	unsigned int idle_vp;
	uint64_t idle_ns; /* fake time one idle takes */
	uint64_t crash_p[5];
	unsigned int crash_vp;
	char crash_msg[HV_CRASH_MSG_MAX];
	size_t crash_msg_len;
	bool crash_has_msg;
	/* handler records */
	unsigned int posts, signals;
	uint32_t post_type, post_len;
	uint8_t post_payload[240];
	uint16_t signal_flag;
	uint16_t post_status;
};

static uint64_t fx_tsc_at(uint64_t ns)
{
	return TSC_AT_ZERO +
	       (uint64_t)((unsigned __int128)ns * TSC_KHZ / 1000000);
}

static uint64_t fx_clock(void *o)
{
	return ((struct fx *)o)->now_ns;
}

static int fx_sample(void *o, unsigned int vp, uint64_t *tsc, uint64_t *ns)
{
	struct fx *f = o;

	if (f->sample_fail)
		return -EIO;
	*ns = f->now_ns;
	*tsc = fx_tsc_at(f->now_ns);
	return 0;
}

static uint64_t fx_runtime(void *o, unsigned int vp)
{
	return 12345678 + vp;
}

static void fx_reset(void *o)
{
	((struct fx *)o)->resets++;
}

static void fx_crash(void *o, unsigned int vp, const uint64_t p[5],
		     const char *msg, size_t msg_len)
{
	struct fx *f = o;

	f->crashes++;
	f->crash_vp = vp;
	memcpy(f->crash_p, p, sizeof(f->crash_p));
	f->crash_msg_len = msg ? msg_len : 0;
	f->crash_has_msg = msg != NULL;
	if (msg)
		memcpy(f->crash_msg, msg,
		       msg_len < sizeof(f->crash_msg) ? msg_len :
							sizeof(f->crash_msg));
}

static void fx_yield(void *o, unsigned int vp)
{
	((struct fx *)o)->yields++;
}

static void fx_idle(void *o, unsigned int vp)
{
	struct fx *f = o;

	f->idles++;
	f->idle_vp = vp;
	f->now_ns += f->idle_ns;
}

static void fx_all(struct config_hyperv *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = true;
	c->passthrough = true;
}

/* @idle: offer host_ops.idle (GUEST_IDLE). */
static struct fx *fx_new_host(const struct config_hyperv *cfg, bool idle)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fake_gmem_init(&f->mem, RAM_SIZE), 0);
	fake_irq_init(&f->irq);
	f->cfg = *cfg;
	f->apic_ids[0] = 0;
	f->apic_ids[1] = 7;
	f->now_ns = 1000000000ULL; /* VM created at t = 1 s */
	f->p = (struct hv_params){
		.cfg = &f->cfg,
		.nr_vcpus = 2,
		.apic_ids = f->apic_ids,
		.gm = &f->mem.gm,
		.irq = &f->irq.sink,
		.tsc_khz = TSC_KHZ,
		.apic_khz = 1000000,
		.manual_timers = true,
		.host = { .clock_ns = fx_clock,
			  .sample_tsc = fx_sample,
			  .vp_runtime_ns = fx_runtime,
			  .reset = fx_reset,
			  .crash = fx_crash,
			  .yield = fx_yield,
			  .idle = idle ? fx_idle : NULL,
			  .opaque = f },
	};
	assert_int_equal(hv_create(&f->p, &f->hv), 0);
	return f;
}

static struct fx *fx_new(const struct config_hyperv *cfg)
{
	return fx_new_host(cfg, false);
}

static struct fx *fx_new_all(void)
{
	struct config_hyperv c;

	fx_all(&c);
	return fx_new(&c);
}

static void fx_free(struct fx *f)
{
	hv_destroy(f->hv);
	fake_gmem_destroy(&f->mem);
	free(f);
}

static uint64_t rd(struct fx *f, uint32_t msr)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(hv_msr_read(f->hv, 0, msr, &v), 0);
	return v;
}

static void wr(struct fx *f, uint32_t msr, uint64_t v)
{
	assert_int_equal(hv_msr_write(f->hv, 0, msr, v), 0);
}

#endif /* HVKVM_TEST_HYPERV_FIXTURE_H */
