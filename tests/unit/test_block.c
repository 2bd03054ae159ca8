// SPDX-License-Identifier: MIT
/*
 * Unit tests: the block layer -- asynchronous submission and completion
 * through the eventfd, request validation, O_DIRECT bouncing, discard,
 * concurrent block allocation in dynamic VHDs, and crash consistency of
 * the allocation and flush order with a "crash" injected after every
 * single backend operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>

#include "hvkvm/util.h"
#include "test_vhd_util.h"

struct tcb {
	int calls;
	int ret;
	bool in_submit;	  /* set around submit calls */
	bool bad_context; /* a callback ran inside submit */
};

static void tcb_done(void *opaque, int ret)
{
	struct tcb *t = opaque;

	if (t->in_submit)
		t->bad_context = true;
	t->calls++;
	if (ret)
		t->ret = ret;
}

/* Drive completions the way an event loop would. */
static void drain(struct block_dev *bd, struct tcb *t, int want)
{
	struct pollfd pfd = { .fd = block_completion_fd(bd), .events = POLLIN };
	int spins = 0;

	while (t->calls < want && spins++ < 2000) {
		poll(&pfd, 1, 10);
		block_process_completions(bd);
	}
	assert_int_equal(t->calls, want);
}

static void make_raw(const char *p, uint64_t size)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void test_block_raw_async_roundtrip(void **state)
{
	const char *p = tv_path("a.raw");
	struct block_dev *bd;
	struct tcb t = { 0 };
	uint8_t *w = tv_alloc(16 * 4096), *r = tv_alloc(16 * 4096);
	struct iovec iov[2];
	int i;

	make_raw(p, 4 * MiB);
	bd = tv_open(p, true);
	assert_non_null(bd);
	assert_string_equal(block_format_name(bd), "raw");
	assert_int_equal(block_size(bd), 4 * MiB);
	for (i = 0; i < 16; i++) {
		uint64_t s = (uint64_t)((i * 37) % 1000) * 8;
		uint8_t *b = w + i * 4096;

		tv_fill(b, s, 8, (uint8_t)i);
		/* Two iovecs per request. */
		iov[0].iov_base = b;
		iov[0].iov_len = 1024;
		iov[1].iov_base = b + 1024;
		iov[1].iov_len = 3072;
		t.in_submit = true;
		assert_int_equal(block_writev(bd, s, iov, 2, tcb_done, &t), 0);
		t.in_submit = false;
	}
	drain(bd, &t, 16);
	assert_int_equal(t.ret, 0);
	assert_false(t.bad_context);
	t.in_submit = true;
	assert_int_equal(block_flush(bd, tcb_done, &t), 0);
	t.in_submit = false;
	drain(bd, &t, 17);
	for (i = 0; i < 16; i++) {
		uint64_t s = (uint64_t)((i * 37) % 1000) * 8;

		iov[0].iov_base = r + i * 4096;
		iov[0].iov_len = 4096;
		assert_int_equal(block_readv(bd, s, iov, 1, tcb_done, &t), 0);
	}
	drain(bd, &t, 33);
	assert_int_equal(t.ret, 0);
	assert_memory_equal(w, r, 16 * 4096);
	block_close(bd);
	free(w);
	free(r);
}

static void test_block_rejects_bad_requests(void **state)
{
	const char *p = tv_path("b.raw");
	struct block_opts o;
	struct block_dev *bd;
	struct tcb t = { 0 };
	uint8_t *buf = tv_alloc(4096);
	struct iovec iov = { buf, 4096 };
	struct iovec odd = { buf, 100 };

	make_raw(p, 1 * MiB);
	bd = tv_open(p, true);
	assert_int_equal(block_readv(bd, 2048 - 7, &iov, 1, tcb_done, &t),
			 -EINVAL);
	assert_int_equal(block_readv(bd, ~0ULL - 2, &iov, 1, tcb_done, &t),
			 -EINVAL);
	assert_int_equal(block_readv(bd, 0, &odd, 1, tcb_done, &t), -EINVAL);
	assert_int_equal(block_discard(bd, 2000, 100, tcb_done, &t), -EINVAL);
	assert_int_equal(t.calls, 0);
	/* The last sector is fine. */
	iov.iov_len = 512;
	assert_int_equal(block_readv(bd, 2047, &iov, 1, tcb_done, &t), 0);
	drain(bd, &t, 1);
	block_close(bd);

	block_opts_init(&o);
	o.readonly = true;
	assert_int_equal(block_open(p, &o, &bd), 0);
	assert_int_equal(block_writev(bd, 0, &iov, 1, tcb_done, &t), -EROFS);
	block_close(bd);
	assert_int_not_equal(block_open(tv_path("missing"), &o, &bd), 0);
	free(buf);
}

static void test_block_direct_bounces_unaligned(void **state)
{
	const char *p = tv_path("c.raw");
	struct block_dev *bd;
	uint8_t *raw = malloc(8192 + 1), *chk = tv_alloc(4096);

	make_raw(p, 1 * MiB);
	bd = tv_open(p, true);
	tv_fill(raw + 1, 8, 8, 0x77);
	assert_int_equal(block_write_sync(bd, 8, raw + 1, 8), 0);
	memset(raw, 0, 8193);
	assert_int_equal(block_read_sync(bd, 8, raw + 1, 8), 0);
	tv_fill(chk, 8, 8, 0x77);
	assert_memory_equal(raw + 1, chk, 4096);
	block_close(bd);
	free(raw);
	free(chk);
}

static void test_block_discard_reads_zero(void **state)
{
	const char *p = tv_path("d.raw");
	struct block_dev *bd;
	uint8_t *buf = tv_alloc(64 * 1024), *zero = tv_alloc(64 * 1024);

	make_raw(p, 1 * MiB);
	bd = tv_open(p, true);
	tv_fill(buf, 0, 128, 0x11);
	assert_int_equal(block_write_sync(bd, 0, buf, 128), 0);
	assert_int_equal(block_discard_sync(bd, 0, 128), 0);
	assert_int_equal(block_read_sync(bd, 0, buf, 128), 0);
	memset(zero, 0, 64 * 1024);
	/* ext4/xfs/tmpfs punch holes; others may keep the data. */
	assert_memory_equal(buf, zero, 64 * 1024);
	block_close(bd);
	free(buf);
	free(zero);
}

static void test_block_dynamic_concurrent_alloc(void **state)
{
	const char *p = tv_path("e.vhd");
	const char *chk[] = { "check", p };
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC,
				     .size = 32 * MiB };
	struct block_dev *bd;
	struct tcb t = { 0 };
	uint8_t *w = tv_alloc(64 * 4096), *r = tv_alloc(4096);
	struct iovec iov;
	int i;

	assert_int_equal(vhd_create(p, &o), 0);
	bd = tv_open(p, true);
	assert_string_equal(block_format_name(bd), "vhd-dynamic");
	/* 64 writes into 16 blocks, 4 per block, all in flight at once. */
	for (i = 0; i < 64; i++) {
		uint64_t s =
			(uint64_t)(i % 16) * 4096 + (uint64_t)(i / 16) * 64;

		tv_fill(w + i * 4096, s, 8, (uint8_t)i);
		iov.iov_base = w + i * 4096;
		iov.iov_len = 4096;
		assert_int_equal(block_writev(bd, s, &iov, 1, tcb_done, &t), 0);
	}
	drain(bd, &t, 64);
	assert_int_equal(t.ret, 0);
	block_close(bd);
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	for (i = 0; i < 64; i++) {
		uint64_t s =
			(uint64_t)(i % 16) * 4096 + (uint64_t)(i / 16) * 64;

		assert_int_equal(block_read_sync(bd, s, r, 8), 0);
		assert_memory_equal(r, w + i * 4096, 4096);
	}
	/* Exactly 16 blocks were allocated, back to back. */
	{
		struct vhd *v = block_vhd(bd);
		uint32_t n = 0, k;

		for (k = 0; k < v->header.max_entries; k++)
			n += v->bat[k] != VHD_BAT_UNUSED;
		assert_int_equal(n, 16);
	}
	block_close(bd);
	free(w);
	free(r);
}

/*
 * Crash after the Nth backend operation of "allocate a block, overwrite
 * an allocated one, flush", for every N. The image must pass check and
 * hold the old data, and the new data once the flush had completed.
 */
static void crash_case(bool diff, long n, bool *done)
{
	const char *base = tv_path("cr-base.vhd");
	const char *p = tv_path("cr.vhd");
	const char *chk[] = { "check", p };
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC,
				     .size = 8 * MiB };
	struct block_dev *bd;
	uint8_t *buf = tv_alloc(4096), *r = tv_alloc(4096),
		*old = tv_alloc(4096);
	int fret, w1, w2, w3;

	unlink(p);
	unlink(base);
	if (diff) {
		struct vhd_create_opts d = { .type = VHD_TYPE_DIFF,
					     .parent = base };

		assert_int_equal(vhd_create(base, &o), 0);
		bd = tv_open(base, true);
		tv_fill(buf, 8, 8, 0xee);
		assert_int_equal(block_write_sync(bd, 8, buf, 8), 0);
		block_close(bd);
		assert_int_equal(vhd_create(p, &d), 0);
	} else {
		assert_int_equal(vhd_create(p, &o), 0);
	}
	bd = tv_open(p, true);
	tv_fill(buf, 0, 8, 0x01);
	assert_int_equal(block_write_sync(bd, 0, buf, 8), 0);
	assert_int_equal(block_flush_sync(bd), 0);

	block_debug_crash_after(bd, n);
	tv_fill(buf, 4096, 8, 0x02);
	w1 = block_write_sync(bd, 4096, buf, 8); /* new block, in reserve */
	tv_fill(buf, 3 * 4096, 8, 0x04);
	w3 = block_write_sync(bd, 3 * 4096, buf, 8); /* new, grows file */
	tv_fill(buf, 8, 8, 0x03);
	w2 = block_write_sync(bd, 8, buf, 8); /* allocated block */
	fret = block_flush_sync(bd);
	*done = !w1 && !w2 && !w3 && !fret;
	block_close(bd);

	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	assert_non_null(bd);
	assert_int_equal(block_read_sync(bd, 0, r, 8), 0);
	tv_fill(buf, 0, 8, 0x01);
	assert_memory_equal(r, buf, 4096);

	assert_int_equal(block_read_sync(bd, 4096, r, 8), 0);
	tv_fill(buf, 4096, 8, 0x02);
	memset(old, 0, 4096);
	if (!fret)
		assert_memory_equal(r, buf, 4096);
	else
		assert_true(!memcmp(r, buf, 4096) || !memcmp(r, old, 4096));

	assert_int_equal(block_read_sync(bd, 3 * 4096, r, 8), 0);
	tv_fill(buf, 3 * 4096, 8, 0x04);
	if (!fret)
		assert_memory_equal(r, buf, 4096);
	else
		assert_true(!memcmp(r, buf, 4096) || !memcmp(r, old, 4096));

	assert_int_equal(block_read_sync(bd, 8, r, 8), 0);
	tv_fill(buf, 8, 8, 0x03);
	if (diff)
		tv_fill(old, 8, 8, 0xee);
	if (!fret)
		assert_memory_equal(r, buf, 4096);
	else
		assert_true(!memcmp(r, buf, 4096) || !memcmp(r, old, 4096));
	block_close(bd);
	free(buf);
	free(r);
	free(old);
}

static void test_block_alloc_crash_each_step_dynamic(void **state)
{
	bool done = false;
	long n;

	for (n = 0; n < 64 && !done; n++)
		crash_case(false, n, &done);
	assert_true(done);
	assert_true(n > 4); /* there really were several steps */
}

static void test_block_alloc_crash_each_step_diff(void **state)
{
	bool done = false;
	long n;

	for (n = 0; n < 64 && !done; n++)
		crash_case(true, n, &done);
	assert_true(done);
	assert_true(n > 4);
}

/*
 * Only the Nth operation fails (an I/O error, the process goes on): the
 * failed request reports it, the image stays consistent, and a retry of
 * the same writes followed by a flush makes everything durable.
 */
static void fail_case(bool diff, long n, bool *done)
{
	const char *base = tv_path("fl-base.vhd");
	const char *p = tv_path("fl.vhd");
	const char *chk[] = { "check", p };
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC,
				     .size = 8 * MiB };
	struct block_dev *bd;
	uint8_t *a = tv_alloc(4096), *b = tv_alloc(4096), *r = tv_alloc(4096);
	uint8_t *c = tv_alloc(4096);
	int w1, w2, w3, f;

	unlink(p);
	unlink(base);
	if (diff) {
		struct vhd_create_opts d = { .type = VHD_TYPE_DIFF,
					     .parent = base };

		assert_int_equal(vhd_create(base, &o), 0);
		assert_int_equal(vhd_create(p, &d), 0);
	} else {
		assert_int_equal(vhd_create(p, &o), 0);
	}
	bd = tv_open(p, true);
	tv_fill(a, 0, 8, 0x21);
	assert_int_equal(block_write_sync(bd, 0, a, 8), 0);
	assert_int_equal(block_flush_sync(bd), 0);
	block_debug_fail_nth(bd, n);
	tv_fill(a, 4096, 8, 0x22);
	tv_fill(b, 16, 8, 0x23);
	tv_fill(c, 3 * 4096, 8, 0x24);
	w1 = block_write_sync(bd, 4096, a, 8);
	w3 = block_write_sync(bd, 3 * 4096, c, 8);
	w2 = block_write_sync(bd, 16, b, 8);
	f = block_flush_sync(bd);
	*done = !w1 && !w2 && !w3 && !f;
	if (getenv("TEST_BLOCK_DEBUG"))
		fprintf(stderr, "fail_case diff=%d n=%ld: %d %d %d %d\n", diff,
			n, w1, w3, w2, f);
	/* Retry everything; now it must all work and be durable. */
	block_debug_fail_nth(bd, -1);
	assert_int_equal(block_write_sync(bd, 4096, a, 8), 0);
	assert_int_equal(block_write_sync(bd, 16, b, 8), 0);
	assert_int_equal(block_write_sync(bd, 3 * 4096, c, 8), 0);
	assert_int_equal(block_flush_sync(bd), 0);
	block_close(bd);
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	assert_int_equal(block_read_sync(bd, 4096, r, 8), 0);
	assert_memory_equal(r, a, 4096);
	assert_int_equal(block_read_sync(bd, 16, r, 8), 0);
	assert_memory_equal(r, b, 4096);
	assert_int_equal(block_read_sync(bd, 3 * 4096, r, 8), 0);
	assert_memory_equal(r, c, 4096);
	tv_fill(a, 0, 8, 0x21);
	assert_int_equal(block_read_sync(bd, 0, r, 8), 0);
	assert_memory_equal(r, a, 4096);
	block_close(bd);
	free(a);
	free(b);
	free(c);
	free(r);
}

static void test_block_alloc_io_error_each_step(void **state)
{
	bool done = false;
	long n;

	for (n = 0; n < 64 && !done; n++)
		fail_case(false, n, &done);
	assert_true(done && n > 4);
	done = false;
	for (n = 0; n < 64 && !done; n++)
		fail_case(true, n, &done);
	assert_true(done && n > 4);
}

/* A vCPU-like thread submits while an I/O thread reaps completions. */
struct mt {
	struct block_dev *bd;
	int completed;
	int errors;
	int stop;
};

static void mt_done(void *opaque, int ret)
{
	struct mt *m = opaque;

	if (ret)
		m->errors++;
	__atomic_add_fetch(&m->completed, 1, __ATOMIC_RELEASE);
}

static void *mt_reaper(void *opaque)
{
	struct mt *m = opaque;
	struct pollfd pfd = { .fd = block_completion_fd(m->bd),
			      .events = POLLIN };

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		poll(&pfd, 1, 10);
		block_process_completions(m->bd);
	}
	return NULL;
}

static void test_block_submit_and_reap_on_two_threads(void **state)
{
	const char *p = tv_path("mt.vhd");
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC,
				     .size = 64 * MiB };
	struct mt m = { 0 };
	uint8_t *bufs = tv_alloc(256 * 4096), *r = tv_alloc(4096);
	pthread_t th;
	int i;

	assert_int_equal(vhd_create(p, &o), 0);
	m.bd = tv_open(p, true);
	assert_int_equal(pthread_create(&th, NULL, mt_reaper, &m), 0);
	for (i = 0; i < 256; i++) {
		uint64_t s = (uint64_t)((i * 97) % 256) * 512 + 8;
		struct iovec iov = { bufs + i * 4096, 4096 };

		tv_fill(bufs + i * 4096, s, 8, (uint8_t)i);
		while (block_writev(m.bd, s, &iov, 1, mt_done, &m))
			;
		if (i % 32 == 31)
			usleep(1000);
	}
	while (__atomic_load_n(&m.completed, __ATOMIC_ACQUIRE) < 256)
		usleep(1000);
	__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(m.errors, 0);
	for (i = 0; i < 256; i++) {
		uint64_t s = (uint64_t)((i * 97) % 256) * 512 + 8;

		assert_int_equal(block_read_sync(m.bd, s, r, 8), 0);
		assert_memory_equal(r, bufs + i * 4096, 4096);
	}
	block_close(m.bd);
	free(bufs);
	free(r);
}

static void test_block_fixed_vhd_and_probe(void **state)
{
	const char *p = tv_path("f.vhd");
	struct vhd_create_opts o = { .type = VHD_TYPE_FIXED, .size = 2 * MiB };
	struct block_dev *bd;
	uint8_t *buf = tv_alloc(512);
	struct vhd *v;

	assert_int_equal(vhd_create(p, &o), 0);
	bd = tv_open(p, true);
	assert_string_equal(block_format_name(bd), "vhd-fixed");
	assert_int_equal(block_size(bd), 2 * MiB);
	tv_fill(buf, 4095, 1, 0x99);
	assert_int_equal(block_write_sync(bd, 4095, buf, 1), 0);
	/* The footer sits right after the last sector and is untouched. */
	assert_int_equal(block_write_sync(bd, 4096, buf, 1), -EINVAL);
	block_close(bd);
	assert_int_equal(vhd_open(p, 0, &v), 0);
	vhd_close(v);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_raw_async_roundtrip),
		cmocka_unit_test(test_block_rejects_bad_requests),
		cmocka_unit_test(test_block_direct_bounces_unaligned),
		cmocka_unit_test(test_block_discard_reads_zero),
		cmocka_unit_test(test_block_dynamic_concurrent_alloc),
		cmocka_unit_test(test_block_alloc_crash_each_step_dynamic),
		cmocka_unit_test(test_block_alloc_crash_each_step_diff),
		cmocka_unit_test(test_block_alloc_io_error_each_step),
		cmocka_unit_test(test_block_submit_and_reap_on_two_threads),
		cmocka_unit_test(test_block_fixed_vhd_and_probe),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, tv_setup, tv_teardown);
}
