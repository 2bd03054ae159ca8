// SPDX-License-Identifier: MIT
/*
 * evloop: epoll loop for an I/O thread. fd callbacks, cross-thread calls
 * through an eventfd-signalled queue, start/stop of the thread.
 */
#include "hvkvm/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hvkvm/util.h"

#define EVLOOP_MAX_EVENTS 32

struct evloop_watch {
	int fd;		 /* watched fd */
	evloop_fd_cb cb; /* called with ready events */
	void *opaque;
	struct evloop_watch *next;
};

struct evloop_call {
	evloop_fn fn;
	void *opaque;
	struct evloop_call *next;
};

struct evloop {
	int epfd;		      /* epoll instance */
	int wakefd;		      /* eventfd: calls queued / stop */
	pthread_mutex_t lock;	      /* guards watches and calls */
	struct evloop_watch *watches; /* registered fds */
	struct evloop_call *calls;    /* queued calls, newest first */
	struct evloop_watch *dead;    /* deleted, freed after the batch */
	bool stop;		      /* ask the loop to return */
	bool thread_started;	      /* @thread is valid */
	pthread_t thread;
};

static void evloop_free_dead(struct evloop *loop);

int evloop_create(struct evloop **out)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	if (!loop)
		return -ENOMEM;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		r = -errno;
		goto err_free;
	}
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wakefd < 0) {
		r = -errno;
		goto err_close_ep;
	}
	ev.data.ptr = NULL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
		r = -errno;
		goto err_close_wake;
	}
	*out = loop;
	return 0;

err_close_wake:
	close(loop->wakefd);
err_close_ep:
	close(loop->epfd);
err_free:
	free(loop);
	return r;
}

void evloop_destroy(struct evloop *loop)
{
	struct evloop_watch *w, *wn;
	struct evloop_call *c, *cn;

	if (!loop)
		return;
	evloop_stop(loop);
	for (w = loop->watches; w; w = wn) {
		wn = w->next;
		free(w);
	}
	evloop_free_dead(loop);
	for (c = loop->calls; c; c = cn) {
		cn = c->next;
		free(c);
	}
	close(loop->wakefd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb,
		  void *opaque)
{
	struct evloop_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	ev.data.ptr = w;
	pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		pthread_mutex_unlock(&loop->lock);
		free(w);
		return r;
	}
	w->next = loop->watches;
	loop->watches = w;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static struct evloop_watch *evloop_find(struct evloop *loop, int fd,
					struct evloop_watch ***link)
{
	struct evloop_watch **pp;

	for (pp = &loop->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events)
{
	struct evloop_watch *w;
	struct epoll_event ev = { .events = events };
	int r = 0;

	pthread_mutex_lock(&loop->lock);
	w = evloop_find(loop, fd, NULL);
	if (!w) {
		r = -ENOENT;
	} else {
		ev.data.ptr = w;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return r;
}

/*
 * Only call from the loop thread (or with the loop stopped): a watch freed
 * here must not be in the current epoll batch of another thread.
 */
int evloop_del_fd(struct evloop *loop, int fd)
{
	struct evloop_watch *w, **link = NULL;

	pthread_mutex_lock(&loop->lock);
	w = evloop_find(loop, fd, &link);
	if (!w) {
		pthread_mutex_unlock(&loop->lock);
		return -ENOENT;
	}
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	*link = w->next;
	/* Neutralise rather than free: a pending event may still name it. */
	w->cb = NULL;
	w->next = loop->dead;
	loop->dead = w;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static void evloop_wake(struct evloop *loop)
{
	uint64_t one = 1;

	if (write(loop->wakefd, &one, sizeof(one)) < 0) {
		/* Counter saturated: the loop is awake anyway. */
	}
}

int evloop_call(struct evloop *loop, evloop_fn fn, void *opaque)
{
	struct evloop_call *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->opaque = opaque;
	pthread_mutex_lock(&loop->lock);
	c->next = loop->calls;
	loop->calls = c;
	pthread_mutex_unlock(&loop->lock);
	evloop_wake(loop);
	return 0;
}

static void evloop_run_calls(struct evloop *loop)
{
	struct evloop_call *list, *rev = NULL, *c;
	uint64_t v;

	if (read(loop->wakefd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending. */
	}
	pthread_mutex_lock(&loop->lock);
	list = loop->calls;
	loop->calls = NULL;
	pthread_mutex_unlock(&loop->lock);
	while (list) { /* oldest first */
		c = list;
		list = c->next;
		c->next = rev;
		rev = c;
	}
	while (rev) {
		c = rev;
		rev = c->next;
		c->fn(c->opaque);
		free(c);
	}
}

static void evloop_free_dead(struct evloop *loop)
{
	struct evloop_watch *w, *next;

	pthread_mutex_lock(&loop->lock);
	w = loop->dead;
	loop->dead = NULL;
	pthread_mutex_unlock(&loop->lock);
	for (; w; w = next) {
		next = w->next;
		free(w);
	}
}

void evloop_run(struct evloop *loop)
{
	struct epoll_event evs[EVLOOP_MAX_EVENTS];

	while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) {
		int i, n = epoll_wait(loop->epfd, evs, EVLOOP_MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("evloop: epoll_wait: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			struct evloop_watch *w = evs[i].data.ptr;

			if (!w) {
				evloop_run_calls(loop);
				continue;
			}
			if (w->cb)
				w->cb(w->opaque, evs[i].events);
		}
		evloop_free_dead(loop);
	}
}

static void *evloop_thread(void *opaque)
{
	evloop_run(opaque);
	return NULL;
}

int evloop_start(struct evloop *loop, const char *thread_name)
{
	int r;

	loop->stop = false;
	r = pthread_create(&loop->thread, NULL, evloop_thread, loop);
	if (r)
		return -r;
	if (thread_name)
		pthread_setname_np(loop->thread, thread_name);
	loop->thread_started = true;
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	__atomic_store_n(&loop->stop, true, __ATOMIC_RELEASE);
	evloop_wake(loop);
	if (loop->thread_started &&
	    !pthread_equal(pthread_self(), loop->thread)) {
		pthread_join(loop->thread, NULL);
		loop->thread_started = false;
	}
}
