/* SPDX-License-Identifier: MIT */
/*
 * evloop: an epoll event loop run by an I/O thread. Block completions,
 * TAP fds, timerfds, ioeventfds and the control socket all live here, never
 * on a vCPU thread. Callbacks run on the loop thread.
 */
#ifndef HVKVM_EVLOOP_H
#define HVKVM_EVLOOP_H

#include <stdint.h>

struct evloop;

/* @events: EPOLLIN/EPOLLOUT mask. The callback gets the ready events. */
typedef void (*evloop_fd_cb)(void *opaque, uint32_t events);
typedef void (*evloop_fn)(void *opaque);

int evloop_create(struct evloop **out);
void evloop_destroy(struct evloop *loop);
int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb,
		  void *opaque);
int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events);
int evloop_del_fd(struct evloop *loop, int fd);
/* Run @fn on the loop thread soon; safe from any thread. 0 or -ENOMEM. */
int evloop_call(struct evloop *loop, evloop_fn fn, void *opaque);
/* Start / stop the I/O thread (evloop_run in a new pthread). */
int evloop_start(struct evloop *loop, const char *thread_name);
void evloop_stop(struct evloop *loop);
/* Run in the calling thread until evloop_stop(). */
void evloop_run(struct evloop *loop);

#endif /* HVKVM_EVLOOP_H */
