// SPDX-License-Identifier: MIT
/*
 * Unit tests: VMBus ring buffers (vmbus/ring.c). A tiny "guest" on the other
 * side of each ring writes and reads packets the way Linux ring_buffer.c
 * does, over both the page-array and the double-mapped (memfd) layouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvkvm/ring.h"
#include "hvkvm/util.h"

#define NPAGES 2
#define DSIZE (NPAGES * 4096u)

struct tring {
	struct vmbus_ring_ctrl *ctrl;
	uint8_t *data; /* flat view for the guest helpers */
	uint8_t *pages[NPAGES];
	uint8_t *map; /* linear mode: mmap'd area */
	size_t map_len;
	struct ring r;
};

static void tring_setup(struct tring *t, bool linear, uint32_t rd, uint32_t wr)
{
	struct ring_mem m = { 0 };
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->ctrl = aligned_alloc(4096, 4096);
	assert_non_null(t->ctrl);
	memset(t->ctrl, 0, 4096);
	t->ctrl->read_index = rd;
	t->ctrl->write_index = wr;
	m.ctrl = t->ctrl;
	m.size = DSIZE;
	if (linear) {
		int fd = memfd_create("ring", 0);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, DSIZE), 0);
		t->map_len = 2 * DSIZE;
		t->map = mmap(NULL, t->map_len, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(t->map != MAP_FAILED);
		assert_true(mmap(t->map, DSIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED);
		assert_true(mmap(t->map + DSIZE, DSIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED);
		close(fd);
		t->data = t->map;
		m.linear = t->map;
	} else {
		t->data = calloc(1, DSIZE);
		for (i = 0; i < NPAGES; i++)
			t->pages[i] = t->data + i * 4096;
		m.pages = t->pages;
	}
	assert_int_equal(ring_init(&t->r, &m), 0);
}

static void tring_free(struct tring *t)
{
	if (t->map)
		munmap(t->map, t->map_len);
	else
		free(t->data);
	free(t->ctrl);
}

static void guest_copy_in(struct tring *t, uint32_t pos, const void *src,
			  uint32_t len)
{
	const uint8_t *s = src;
	uint32_t i;

	for (i = 0; i < len; i++)
		t->data[(pos + i) % DSIZE] = s[i];
}

static void guest_copy_out(struct tring *t, uint32_t pos, void *dst,
			   uint32_t len)
{
	uint8_t *d = dst;
	uint32_t i;

	for (i = 0; i < len; i++)
		d[i] = t->data[(pos + i) % DSIZE];
}

/* The guest writes one inband packet with @len payload bytes. */
static int guest_write(struct tring *t, uint64_t tid, const void *buf,
		       uint32_t len)
{
	uint32_t w = t->ctrl->write_index, r = t->ctrl->read_index;
	uint32_t total = ring_pkt_size(len);
	uint32_t avail = w >= r ? DSIZE - (w - r) : r - w;
	struct vmbus_pkt_desc d = {
		.type = VMBUS_PKT_DATA_INBAND,
		.offset8 = 2,
		.len8 = (uint16_t)((total - 8) / 8),
		.trans_id = tid,
	};
	uint64_t trailer = (uint64_t)w << 32;
	uint8_t zero[8] = { 0 };

	if (avail <= total)
		return -EAGAIN;
	guest_copy_in(t, w, &d, sizeof(d));
	guest_copy_in(t, w + 16, buf, len);
	guest_copy_in(t, w + 16 + len, zero, total - 8 - 16 - len);
	guest_copy_in(t, w + total - 8, &trailer, 8);
	t->ctrl->write_index = (w + total) % DSIZE;
	return 0;
}

/* The guest reads one packet; returns payload length or -EAGAIN. */
static int guest_read(struct tring *t, struct vmbus_pkt_desc *d, void *buf,
		      uint64_t *trailer)
{
	uint32_t r = t->ctrl->read_index, len, off;

	if (r == t->ctrl->write_index)
		return -EAGAIN;
	guest_copy_out(t, r, d, sizeof(*d));
	len = d->len8 * 8u;
	off = d->offset8 * 8u;
	guest_copy_out(t, r + off, buf, len - off);
	guest_copy_out(t, r + len, trailer, 8);
	t->ctrl->read_index = (r + len + 8) % DSIZE;
	return (int)(len - off);
}

static int host_send(struct tring *t, uint64_t tid, const void *buf,
		     uint32_t len, bool *signal)
{
	struct ring_pkt_out h = { .type = VMBUS_PKT_COMP, .trans_id = tid };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return ring_write(&t->r, &h, &iov, 1, signal);
}

static void test_ring_write_signals_when_empty(void **state)
{
	struct tring t;
	struct vmbus_pkt_desc d;
	uint8_t buf[64], out[64];
	uint64_t trailer;
	bool sig;

	tring_setup(&t, false, 0, 0);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(host_send(&t, 7, buf, 13, &sig), 0);
	assert_true(sig); /* empty -> non-empty */
	assert_int_equal(host_send(&t, 8, buf, 13, &sig), 0);
	assert_false(sig); /* guest has not read yet */
	assert_int_equal(t.ctrl->write_index, 2 * ring_pkt_size(13));
	assert_int_equal(guest_read(&t, &d, out, &trailer), 16);
	assert_int_equal(d.type, VMBUS_PKT_COMP);
	assert_int_equal(d.trans_id, 7);
	assert_memory_equal(out, buf, 13);
	assert_int_equal(out[13], 0); /* padding zeroed */
	assert_int_equal(trailer, 0); /* previous write index 0 << 32 */
	assert_int_equal(guest_read(&t, &d, out, &trailer), 16);
	assert_int_equal(trailer >> 32, ring_pkt_size(13));
	assert_int_equal(guest_read(&t, &d, out, &trailer), -EAGAIN);
	/* Guest masks interrupts: no signal even though empty. */
	t.ctrl->interrupt_mask = 1;
	assert_int_equal(host_send(&t, 9, buf, 8, &sig), 0);
	assert_false(sig);
	tring_free(&t);
}

static void test_ring_full_and_drain(void **state)
{
	struct tring t;
	struct vmbus_pkt_desc d;
	uint8_t buf[1000], out[1024];
	uint64_t trailer;
	unsigned int n = 0;
	bool sig;
	int r;

	tring_setup(&t, false, 0, 0);
	memset(buf, 1, sizeof(buf));
	while ((r = host_send(&t, n, buf, sizeof(buf), &sig)) == 0)
		n++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(n, DSIZE / ring_pkt_size(sizeof(buf)) -
				    (DSIZE % ring_pkt_size(sizeof(buf)) == 0));
	assert_true(ring_bytes_to_write(&t.r) <= ring_pkt_size(sizeof(buf)));
	/* Never completely full: write index never catches the read index. */
	assert_int_not_equal(t.ctrl->write_index, t.ctrl->read_index);
	assert_int_equal(guest_read(&t, &d, out, &trailer), 1000);
	assert_int_equal(host_send(&t, 99, buf, sizeof(buf), &sig), 0);
	assert_int_equal(host_send(&t, 99, buf, DSIZE, &sig), -EMSGSIZE);
	tring_free(&t);
}

static void test_ring_empty_peek(void **state)
{
	struct tring t;
	struct ring_pkt p;

	tring_setup(&t, false, 64, 64);
	assert_int_equal(ring_peek(&t.r, &p), -EAGAIN);
	assert_true(ring_is_empty(&t.r));
	assert_false(ring_commit_read(&t.r));
	tring_free(&t);
}

static void check_wrap(bool linear)
{
	struct tring t;
	struct ring_pkt p;
	uint8_t buf[200], out[200];
	const uint8_t *ptr;
	uint32_t start = DSIZE - 40, i;

	tring_setup(&t, linear, start, start);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(guest_write(&t, 0x1234, buf, sizeof(buf)), 0);
	assert_true(t.ctrl->write_index < start);
	assert_int_equal(ring_peek(&t.r, &p), 0);
	assert_int_equal(p.pos, start);
	assert_int_equal(p.trans_id, 0x1234);
	assert_int_equal(p.len - p.data_off, 200);
	ring_copy_from(&t.r, p.pos, p.data_off, out, sizeof(out));
	assert_memory_equal(out, buf, sizeof(buf));
	ptr = ring_ptr(&t.r, p.pos, p.data_off, 200);
	if (linear) {
		assert_non_null(ptr); /* double mapping: contiguous */
		assert_memory_equal(ptr, buf, sizeof(buf));
	} else {
		assert_null(ptr); /* crosses the wrap: caller bounces */
	}
	ring_skip(&t.r, &p);
	assert_int_equal(ring_peek(&t.r, &p), -EAGAIN);
	assert_int_equal(t.ctrl->read_index, start); /* not yet published */
	ring_commit_read(&t.r);
	assert_int_equal(t.ctrl->read_index, t.ctrl->write_index);
	tring_free(&t);
}

static void test_ring_wrap_paged(void **state)
{
	check_wrap(false);
}

static void test_ring_wrap_linear(void **state)
{
	check_wrap(true);
}

static void test_ring_host_write_wraps(void **state)
{
	struct tring t;
	struct vmbus_pkt_desc d;
	uint8_t buf[300], out[304];
	uint64_t trailer;
	unsigned int i;
	bool sig;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	tring_setup(&t, false, DSIZE - 16, DSIZE - 16);
	assert_int_equal(host_send(&t, 5, buf, sizeof(buf), &sig), 0);
	assert_true(sig);
	assert_int_equal(guest_read(&t, &d, out, &trailer), 304);
	assert_memory_equal(out, buf, sizeof(buf));
	assert_int_equal(trailer >> 32, DSIZE - 16);
	tring_free(&t);
}

static void test_ring_rejects_bad_write_index(void **state)
{
	struct tring t;
	struct ring_pkt p;

	tring_setup(&t, false, 0, 0);
	t.ctrl->write_index = DSIZE + 8; /* beyond the ring */
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	assert_true(t.r.broken);
	t.ctrl->write_index = 8; /* broken stays broken */
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	tring_free(&t);

	tring_setup(&t, false, 0, 0);
	t.ctrl->write_index = 12; /* unaligned */
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	tring_free(&t);
}

static void test_ring_rejects_bad_descriptor(void **state)
{
	struct tring t;
	struct ring_pkt p;
	struct vmbus_pkt_desc *d;
	uint8_t buf[32] = { 0 };

	/* Packet longer than the bytes the guest published. */
	tring_setup(&t, false, 0, 0);
	assert_int_equal(guest_write(&t, 1, buf, sizeof(buf)), 0);
	d = (struct vmbus_pkt_desc *)t.data;
	d->len8 = 200;
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	tring_free(&t);

	/* Data offset inside the descriptor. */
	tring_setup(&t, false, 0, 0);
	assert_int_equal(guest_write(&t, 1, buf, sizeof(buf)), 0);
	d = (struct vmbus_pkt_desc *)t.data;
	d->offset8 = 1;
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	tring_free(&t);

	/* Data offset past the packet end. */
	tring_setup(&t, false, 0, 0);
	assert_int_equal(guest_write(&t, 1, buf, sizeof(buf)), 0);
	d = (struct vmbus_pkt_desc *)t.data;
	d->offset8 = d->len8 + 1;
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	tring_free(&t);

	/* Fewer bytes than a descriptor and trailer. */
	tring_setup(&t, false, 0, 0);
	t.ctrl->write_index = 16;
	assert_int_equal(ring_peek(&t.r, &p), -EIO);
	tring_free(&t);
}

static void test_ring_rejects_bad_read_index(void **state)
{
	struct tring t;
	uint8_t buf[8] = { 0 };
	bool sig;

	tring_setup(&t, false, 0, 0);
	t.ctrl->read_index = DSIZE;
	assert_int_equal(host_send(&t, 1, buf, 8, &sig), -EIO);
	assert_false(sig);
	tring_free(&t);

	/* Bad initial indices are refused at attach time. */
	{
		struct ring_mem m = { 0 };
		struct ring r;
		struct vmbus_ring_ctrl *c = aligned_alloc(4096, 4096);
		uint8_t *pg[1] = { buf };

		memset(c, 0, 4096);
		c->write_index = 4097;
		m.ctrl = c;
		m.size = 4096;
		m.pages = pg;
		assert_int_equal(ring_init(&r, &m), -EINVAL);
		assert_true(r.broken);
		m.size = 100;
		c->write_index = 0;
		assert_int_equal(ring_init(&r, &m), -EINVAL);
		free(c);
	}
}

static void test_ring_pending_send_size(void **state)
{
	struct tring t;
	struct ring_pkt p;
	uint8_t buf[1500] = { 0 };
	unsigned int n = 0;

	tring_setup(&t, false, 0, 0);
	while (guest_write(&t, n, buf, sizeof(buf)) == 0)
		n++;
	assert_true(n >= 4);
	/* The guest writer wants room for one more packet. */
	t.ctrl->pending_send_sz = ring_pkt_size(sizeof(buf));
	t.ctrl->feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	/* Consuming a tiny bit... the first packet frees enough: signal. */
	assert_int_equal(ring_peek(&t.r, &p), 0);
	ring_skip(&t.r, &p);
	assert_true(ring_commit_read(&t.r));
	/* Already above the threshold: no second signal. */
	assert_int_equal(ring_peek(&t.r, &p), 0);
	ring_skip(&t.r, &p);
	assert_false(ring_commit_read(&t.r));
	/* No pending size: never signal. */
	t.ctrl->pending_send_sz = 0;
	assert_int_equal(ring_peek(&t.r, &p), 0);
	ring_skip(&t.r, &p);
	assert_false(ring_commit_read(&t.r));
	tring_free(&t);
}

static void test_ring_pending_send_threshold_not_reached(void **state)
{
	struct tring t;
	struct ring_pkt p;
	uint8_t small[8] = { 0 };
	unsigned int n = 0;

	tring_setup(&t, false, 0, 0);
	while (guest_write(&t, n, small, sizeof(small)) == 0)
		n++;
	/* Wants 4 KiB; one 32-byte packet consumed is not enough. */
	t.ctrl->pending_send_sz = 4096;
	assert_int_equal(ring_peek(&t.r, &p), 0);
	ring_skip(&t.r, &p);
	assert_false(ring_commit_read(&t.r));
	tring_free(&t);
}

static void test_ring_interrupt_mask(void **state)
{
	struct tring t;

	tring_setup(&t, false, 0, 0);
	ring_set_interrupt_mask(&t.r, true);
	assert_int_equal(t.ctrl->interrupt_mask, 1);
	ring_set_interrupt_mask(&t.r, false);
	assert_int_equal(t.ctrl->interrupt_mask, 0);
	ring_set_pending_send(&t.r, 123);
	assert_int_equal(t.ctrl->pending_send_sz, 123);
	tring_free(&t);
}

static void test_ring_host_ignores_guest_read_index_tamper(void **state)
{
	struct tring t;
	struct ring_pkt p;
	uint8_t buf[16] = { 0 };

	tring_setup(&t, false, 0, 0);
	assert_int_equal(guest_write(&t, 1, buf, sizeof(buf)), 0);
	assert_int_equal(guest_write(&t, 2, buf, sizeof(buf)), 0);
	assert_int_equal(ring_peek(&t.r, &p), 0);
	ring_skip(&t.r, &p);
	/* The guest scribbles on the host-owned read index. */
	t.ctrl->read_index = 8;
	assert_int_equal(ring_peek(&t.r, &p), 0);
	assert_int_equal(p.trans_id, 2); /* host cursor unaffected */
	tring_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_write_signals_when_empty),
		cmocka_unit_test(test_ring_full_and_drain),
		cmocka_unit_test(test_ring_empty_peek),
		cmocka_unit_test(test_ring_wrap_paged),
		cmocka_unit_test(test_ring_wrap_linear),
		cmocka_unit_test(test_ring_host_write_wraps),
		cmocka_unit_test(test_ring_rejects_bad_write_index),
		cmocka_unit_test(test_ring_rejects_bad_descriptor),
		cmocka_unit_test(test_ring_rejects_bad_read_index),
		cmocka_unit_test(test_ring_pending_send_size),
		cmocka_unit_test(test_ring_pending_send_threshold_not_reached),
		cmocka_unit_test(test_ring_interrupt_mask),
		cmocka_unit_test(
			test_ring_host_ignores_guest_read_index_tamper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
