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

struct ctx {
	struct evloop *loop;
	int fd;
	int fired;
	int calls;
};

static void on_fd(void *opaque, uint32_t events)
{
	struct ctx *c = opaque;
	uint64_t v;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(c->fd, &v, sizeof(v)), sizeof(v));
	c->fired++;
	/* Deleting itself from inside its callback must be safe. */
	evloop_del_fd(c->loop, c->fd);
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
			 -17);	/* EEXIST */
	assert_int_equal(evloop_start(c.loop, "test-io"), 0);
	assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
	for (i = 0; i < 100; i++)
		assert_int_equal(evloop_call(c.loop, on_call, &c), 0);
	for (i = 0; i < 500 && (c.fired < 1 ||
				__atomic_load_n(&c.calls, __ATOMIC_RELAXED) < 100);
	     i++)
		usleep(2000);
	assert_int_equal(c.fired, 1);
	assert_int_equal(c.calls, 100);
	/* Deleted: a second event is not delivered. */
	assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
	usleep(20000);
	assert_int_equal(c.fired, 1);
	assert_int_equal(evloop_del_fd(c.loop, c.fd), -2);	/* ENOENT */
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
