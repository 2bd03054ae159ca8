// SPDX-License-Identifier: MIT
/* Unit tests: event loop fd callbacks, cross-thread calls, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hvkvm/evloop.h"
#include "hvkvm/util.h"

/*
 * Callbacks run on the loop's thread, where cmocka must not assert (its
 * failures longjmp on the calling thread): they record what they saw and
 * the test thread asserts on it.
 */
struct ctx {
	struct evloop *loop;
	int fd;
	int fired;	 /* on_fd calls (atomic) */
	int calls;	 /* on_call calls (atomic) */
	uint32_t events; /* events of the last on_fd (atomic) */
	ssize_t got;	 /* its read() result (atomic) */
	int del_ret;	 /* its evloop_del_fd() result (atomic) */
};

static void on_fd(void *opaque, uint32_t events)
{
	struct ctx *c = opaque;
	uint64_t v;

	__atomic_store_n(&c->events, events, __ATOMIC_RELAXED);
	__atomic_store_n(&c->got, read(c->fd, &v, sizeof(v)), __ATOMIC_RELAXED);
	/* Deleting itself from inside its callback must be safe. */
	__atomic_store_n(&c->del_ret, evloop_del_fd(c->loop, c->fd),
			 __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->fired, 1, __ATOMIC_RELEASE);
}

static int fired(struct ctx *c)
{
	return __atomic_load_n(&c->fired, __ATOMIC_ACQUIRE);
}

static void on_call(void *opaque)
{
	struct ctx *c = opaque;

	__atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
}

static void test_evloop_fd_and_calls(void **state)
{
	struct ctx c = { 0 };
	uint64_t one = 1;
	int i;

	(void)state;
	assert_int_equal(evloop_create(&c.loop), 0);
	c.fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(evloop_add_fd(c.loop, c.fd, EPOLLIN, on_fd, &c), 0);
	assert_int_equal(evloop_add_fd(c.loop, c.fd, EPOLLIN, on_fd, &c),
			 -17); /* EEXIST */
	assert_int_equal(evloop_start(c.loop, "test-io"), 0);
	assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
	for (i = 0; i < 100; i++)
		assert_int_equal(evloop_call(c.loop, on_call, &c), 0);
	for (i = 0;
	     i < 2500 && (fired(&c) < 1 ||
			  __atomic_load_n(&c.calls, __ATOMIC_RELAXED) < 100);
	     i++)
		usleep(2000);
	assert_int_equal(fired(&c), 1);
	assert_int_equal(__atomic_load_n(&c.calls, __ATOMIC_RELAXED), 100);
	assert_true(__atomic_load_n(&c.events, __ATOMIC_RELAXED) & EPOLLIN);
	assert_int_equal(__atomic_load_n(&c.got, __ATOMIC_RELAXED),
			 sizeof(one));
	assert_int_equal(__atomic_load_n(&c.del_ret, __ATOMIC_RELAXED), 0);
	/* Deleted: a second event is not delivered. */
	assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
	usleep(20000);
	assert_int_equal(fired(&c), 1);
	assert_int_equal(evloop_del_fd(c.loop, c.fd), -2); /* ENOENT */
	evloop_stop(c.loop);
	evloop_destroy(c.loop);
	close(c.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evloop_fd_and_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
