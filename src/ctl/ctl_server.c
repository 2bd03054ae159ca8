// SPDX-License-Identifier: MIT
/*
 * ctl_server: the per-VM control socket on an evloop. Owns the VM name
 * (a flock()ed <name>.lock next to <name>.sock), replaces stale sockets,
 * accepts at most max_clients connections and reads JSON lines into a
 * bounded buffer per connection; ctl_proto turns each line into one
 * response line. Everything runs on the loop thread and never blocks: a
 * client that sends a line over CTL_LINE_MAX bytes or stops reading its
 * answers is disconnected.
 *
 * Nobody can lock the control plane out (#16): a connection without a
 * complete request (or an answer taken) for the idle time-out is closed
 * (one timerfd, armed at the earliest deadline); when the table is full, a
 * new client evicts the connection idle longest (idle at least
 * CTL_EVICT_IDLE_MS, nothing waiting for the guest); one connection may
 * keep CTL_CONN_PENDING_MAX requests waiting and gets CTL_LINES_PER_EVENT
 * requests served per loop round, so it cannot starve the others.
 */
#include "hvkvm/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hvkvm/evloop.h"
#include "hvkvm/util.h"

#define CTL_OUT_HIGH (256 * 1024) /* stop reading a client here */
#define CTL_OUT_MAX (1024 * 1024) /* unread answers per client */
#define CTL_PENDING_MAX 64	  /* deferred requests */
#define CTL_STATS_MAX 16	  /* stats providers */
#define CTL_READS_PER_EVENT 16	  /* fairness between clients */
#define CTL_LINES_PER_EVENT 64	  /* requests per client per loop round */
#define CTL_CONN_PENDING_MAX 8	  /* deferred requests per client */

struct ctl_conn {
	struct ctl_server *srv;
	int fd;
	uint64_t id; /* matches deferred requests */
	char *in;    /* [CTL_LINE_MAX] partial request */
	size_t in_len;
	char *out; /* answers not yet written */
	size_t out_len, out_cap;
	uint32_t events;	 /* epoll mask armed now */
	bool eof;		 /* client shut down its side */
	unsigned int nr_pending; /* its deferred requests */
	unsigned int budget;	 /* requests left this loop round */
	bool watching; /* a shutdown succeeded: it waits for the VM's end */
	uint64_t active_ns; /* last request, answer taken, or accept */
	struct ctl_conn *next;
};

struct ctl_pending {
	uint64_t token;		/* handed to the op */
	uint64_t conn_id;	/* who asked */
	int cmd;		/* enum ctl_cmd */
	struct json_object *id; /* request id to echo */
	struct ctl_pending *next;
};

struct ctl_server {
	struct evloop *loop;
	int listen_fd; /* bound and listening socket */
	int lock_fd;   /* flock()ed: we own the name */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	char name[CTL_NAME_MAX + 1];
	struct ctl_dispatch disp; /* ops, providers */
	ctl_stats_fn stats_fns[CTL_STATS_MAX];
	void *stats_opaque[CTL_STATS_MAX];
	unsigned int max_clients;
	unsigned int nr_clients;
	int timer_fd;	       /* idle time-outs */
	uint64_t idle_ns;      /* connection idle time-out */
	uint64_t timer_due_ns; /* armed for, 0: disarmed */
	struct ctl_conn *conns;
	struct ctl_pending *pending; /* deferred requests */
	unsigned int nr_pending;
	uint64_t next_token;
	uint64_t next_conn_id;
	bool closing; /* ctl_server_destroy() runs */
	/* An op that completes before it returns CTL_DEFERRED. */
	uint64_t inflight; /* token being dispatched, or 0 */
	bool early;	   /* ... and completed already */
	int early_err;
	char early_msg[CTL_ERR_MAX];
	struct json_object *early_result;
};

static void ctl_conn_close(struct ctl_conn *c);
static int ctl_conn_flush_raw(struct ctl_conn *c);

/* CLOCK_MONOTONIC, the timerfd's clock. */
static uint64_t ctl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- idle time-outs ---- */

/* A connection waiting for the guest is never idle: we owe it an answer. */
static bool ctl_conn_idle(const struct ctl_conn *c)
{
	return !c->nr_pending;
}

/*
 * Idle but not timed out: after a successful shutdown the client may watch
 * for the VM's end (`hvkvm ctl --wait`: the server closes the connection
 * when the VM is gone), however long the guest takes.
 */
static bool ctl_conn_times_out(const struct ctl_conn *c)
{
	return ctl_conn_idle(c) && !c->watching;
}

/* Arm the timer for the earliest idle deadline (or disarm it). */
static void ctl_timer_arm(struct ctl_server *srv)
{
	struct itimerspec its = { 0 };
	uint64_t due = 0;
	struct ctl_conn *c;

	for (c = srv->conns; c; c = c->next)
		if (ctl_conn_times_out(c) &&
		    (!due || c->active_ns + srv->idle_ns < due))
			due = c->active_ns + srv->idle_ns;
	if (due == srv->timer_due_ns || srv->timer_fd < 0)
		return;
	srv->timer_due_ns = due;
	its.it_value.tv_sec = (time_t)(due / 1000000000ull);
	its.it_value.tv_nsec = (long)(due % 1000000000ull);
	timerfd_settime(srv->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Tell @c why (best effort, the socket buffer has room or not) and close. */
static void ctl_conn_kick(struct ctl_conn *c, const char *code, const char *msg)
{
	struct json_object *r = ctl_response_err(NULL, code, msg);
	const char *s =
		r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN) :
		    NULL;

	/* After its queued answers, if they fit; else it has lost them. */
	ctl_conn_flush_raw(c);
	if (s && !c->out_len &&
	    send(c->fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
		send(c->fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	json_object_put(r);
	ctl_conn_close(c);
}

static void ctl_timer_event(void *opaque, uint32_t events)
{
	struct ctl_server *srv = opaque;
	struct ctl_conn *c, *next;
	uint64_t ticks, now = ctl_now_ns();
	char msg[96];

	if (read(srv->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_warn("ctl %s: timer: %s", srv->name, strerror(errno));
	srv->timer_due_ns = 0; /* expired: re-armed below */
	snprintf(msg, sizeof(msg),
		 "no request for %llu ms: closing the connection",
		 (unsigned long long)(srv->idle_ns / 1000000ull));
	for (c = srv->conns; c; c = next) {
		next = c->next;
		if (ctl_conn_times_out(c) && now >= c->active_ns + srv->idle_ns)
			ctl_conn_kick(c, "idle-timeout", msg);
	}
	ctl_timer_arm(srv);
}

/* ---- output ---- */

/*
 * Read until the client's EOF while its unread answers stay below
 * CTL_OUT_HIGH (a client that does not read is not read either); write
 * while answers are queued or complete lines wait for room.
 */
static void ctl_conn_arm(struct ctl_conn *c)
{
	/* Lines held back also wait for EPOLLOUT: it comes at once. */
	bool held = memchr(c->in, '\n', c->in_len) != NULL;
	uint32_t ev = (c->eof || c->out_len >= CTL_OUT_HIGH ? 0 : EPOLLIN) |
		      (c->out_len || held ? EPOLLOUT : 0);

	if (ev != c->events) {
		c->events = ev;
		evloop_mod_fd(c->srv->loop, c->fd, ev);
	}
}

/* A half-closed client is done once every request is answered. */
static bool ctl_conn_done(const struct ctl_conn *c)
{
	return c->eof && !c->out_len && !c->nr_pending &&
	       !memchr(c->in, '\n', c->in_len);
}

/* Write what the socket takes; -errno when the client is gone. */
static int ctl_conn_flush_raw(struct ctl_conn *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
		c->active_ns = ctl_now_ns(); /* it reads its answers */
	}
	return 0;
}

static int ctl_conn_flush(struct ctl_conn *c)
{
	int r = ctl_conn_flush_raw(c);

	if (!r)
		ctl_conn_arm(c);
	return r;
}

/* Queue @resp (reference taken) as one line. */
static int ctl_conn_send(struct ctl_conn *c, struct json_object *resp)
{
	const char *s;
	size_t n;
	int r = -ENOMEM;

	if (!resp)
		return -ENOMEM;
	s = json_object_to_json_string_ext(
		resp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		goto out;
	n = strlen(s) + 1;
	if (c->out_len + n > CTL_OUT_MAX) {
		r = -ENOBUFS;
		goto out;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = MAX(c->out_cap * 2, c->out_len + n);
		char *p = realloc(c->out, MIN(cap, (size_t)CTL_OUT_MAX));

		if (!p)
			goto out;
		c->out = p;
		c->out_cap = MIN(cap, (size_t)CTL_OUT_MAX);
	}
	memcpy(c->out + c->out_len, s, n - 1);
	c->out[c->out_len + n - 1] = '\n';
	c->out_len += n;
	r = 0;
out:
	json_object_put(resp);
	return r;
}

/* ---- input ---- */

static int ctl_conn_line(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_server *srv = c->srv;
	struct json_object *resp, *id;
	struct ctl_pending *p;
	uint64_t token = ++srv->next_token;
	int r, cmd;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		len--;
	if (!len)
		return 0; /* blank lines are allowed between requests */
	c->active_ns = ctl_now_ns();
	if (srv->nr_pending >= CTL_PENDING_MAX)
		return ctl_conn_send(
			c, ctl_response_err(NULL, "busy",
					    "too many requests in progress"));
	if (c->nr_pending >= CTL_CONN_PENDING_MAX)
		return ctl_conn_send(
			c,
			ctl_response_err(
				NULL, "busy",
				"too many requests of this connection in progress"));
	srv->inflight = token;
	srv->early = false;
	r = ctl_dispatch_line_cmd(&srv->disp, line, len, token, &resp, &id,
				  &cmd);
	srv->inflight = 0;
	if (r != CTL_DEFERRED) {
		struct json_object *ok;

		if (cmd == CTL_CMD_SHUTDOWN && resp &&
		    json_object_object_get_ex(resp, "ok", &ok) &&
		    json_object_get_boolean(ok))
			c->watching = true;
		if (srv->early) /* op misuse: answered twice */
			json_object_put(srv->early_result);
		srv->early_result = NULL;
		return ctl_conn_send(c, resp);
	}
	if (srv->early) {
		if (!srv->early_err && cmd == CTL_CMD_SHUTDOWN)
			c->watching = true;
		resp = srv->early_err ?
			       ctl_response_err(id,
						srv->early_err == -ESHUTDOWN ?
							"vm-stopped" :
							"failed",
						srv->early_msg) :
			       ctl_response_ok(id, srv->early_result);
		srv->early_result = NULL;
		return ctl_conn_send(c, resp);
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		/* The op will find no such token; answer now. */
		return ctl_conn_send(c, ctl_response_err(id, "failed",
							 "out of memory"));
	}
	p->token = token;
	p->conn_id = c->id;
	p->cmd = cmd;
	c->nr_pending++;
	p->id = id;
	p->next = srv->pending;
	srv->pending = p;
	srv->nr_pending++;
	return 0;
}

/*
 * Handle the complete lines in the buffer while the answers have room;
 * keep the rest for when they have been read.
 */
static int ctl_conn_lines(struct ctl_conn *c)
{
	size_t start = 0;
	char *nl;
	int r = 0;

	if (c->srv->closing)
		return 0; /* no new requests during teardown */
	while (!r && c->out_len < CTL_OUT_HIGH && c->budget &&
	       (nl = memchr(c->in + start, '\n', c->in_len - start))) {
		c->budget--;
		r = ctl_conn_line(c, c->in + start,
				  (size_t)(nl - (c->in + start)));
		start = (size_t)(nl - c->in) + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	return r;
}

/* Write answers; lines held back while they piled up may go on. */
static int ctl_conn_pump(struct ctl_conn *c)
{
	int r = ctl_conn_flush(c);

	if (!r)
		r = ctl_conn_lines(c);
	if (!r)
		r = ctl_conn_flush(c);
	return r;
}

static void ctl_conn_event(void *opaque, uint32_t events)
{
	struct ctl_conn *c = opaque;
	unsigned int i;
	ssize_t n;

	c->budget = CTL_LINES_PER_EVENT; /* the rest waits for the next round */
	for (i = 0; i < CTL_READS_PER_EVENT; i++) {
		/* Answer what is buffered first, as far as answers fit. */
		if (ctl_conn_pump(c))
			goto close;
		if (c->eof || c->out_len >= CTL_OUT_HIGH ||
		    !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			break;
		if (c->in_len == CTL_LINE_MAX) {
			if (memchr(c->in, '\n', c->in_len))
				continue; /* held lines go first */
			/* Full without a newline: one line too long. */
			ctl_conn_send(
				c,
				ctl_response_err(
					NULL, "line-too-long",
					"request line too long (at most 65536 bytes with the newline)"));
			ctl_conn_flush(c);
			goto close;
		}
		n = recv(c->fd, c->in + c->in_len, CTL_LINE_MAX - c->in_len,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			goto close;
		if (n == 0)
			c->eof = true; /* half-closed: answer, then close */
		c->in_len += (size_t)n;
	}
	if (ctl_conn_pump(c))
		goto close;
	/* Hung up both ways: nobody is left to read an answer. */
	if ((events & (EPOLLHUP | EPOLLERR)) || ctl_conn_done(c))
		goto close;
	ctl_conn_arm(c);
	ctl_timer_arm(c->srv);
	return;
close:
	ctl_conn_close(c);
}

/* ---- connections ---- */

static void ctl_conn_close(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;
	struct ctl_pending **pp_wait, *p;
	struct ctl_conn **pp;

	/* Its deferred requests can no longer be answered. */
	for (pp_wait = &srv->pending; (p = *pp_wait);) {
		if (p->conn_id != c->id) {
			pp_wait = &p->next;
			continue;
		}
		*pp_wait = p->next;
		srv->nr_pending--;
		json_object_put(p->id);
		free(p);
	}
	for (pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	evloop_del_fd(srv->loop, c->fd);
	close(c->fd);
	srv->nr_clients--;
	free(c->in);
	free(c->out);
	free(c);
	if (!srv->closing)
		ctl_timer_arm(srv);
}

/* Only our own user (or root) may talk to the VM. */
static bool ctl_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void ctl_refuse(int fd, const char *code, const char *msg)
{
	struct json_object *r = ctl_response_err(NULL, code, msg);
	const char *s =
		r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN) :
		    NULL;

	if (s && send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
		send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	json_object_put(r);
	close(fd);
}

/*
 * The table is full: make room by closing the connection idle longest,
 * if one has been idle for CTL_EVICT_IDLE_MS with nothing waiting for the
 * guest (active clients and those we owe an answer keep their place).
 */
static bool ctl_evict(struct ctl_server *srv)
{
	uint64_t now = ctl_now_ns(), min_idle = CTL_EVICT_IDLE_MS * 1000000ull;
	struct ctl_conn *c, *victim = NULL;

	/* Those watching for the VM's end go last. */
	for (c = srv->conns; c; c = c->next)
		if (ctl_conn_idle(c) && now - c->active_ns >= min_idle &&
		    (!victim || c->watching < victim->watching ||
		     (c->watching == victim->watching &&
		      c->active_ns < victim->active_ns)))
			victim = c;
	if (!victim)
		return false;
	pr_info("ctl %s: connection table full: closing the one idle longest",
		srv->name);
	ctl_conn_kick(
		victim, "evicted",
		"closed to make room for a new connection (this one was idle longest)");
	return true;
}

static void ctl_accept(void *opaque, uint32_t events)
{
	struct ctl_server *srv = opaque;
	struct ctl_conn *c;
	int fd;

	for (;;) {
		fd = accept4(srv->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				pr_warn("ctl %s: accept: %s", srv->name,
					strerror(errno));
			return;
		}
		if (!ctl_peer_allowed(fd)) {
			ctl_refuse(fd, "denied", "permission denied");
			continue;
		}
		if (srv->nr_clients >= srv->max_clients && !ctl_evict(srv)) {
			ctl_refuse(fd, "too-many-clients",
				   "too many control connections");
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(CTL_LINE_MAX);
		if (!c || !c->in ||
		    evloop_add_fd(srv->loop, fd, EPOLLIN, ctl_conn_event, c)) {
			if (c)
				free(c->in);
			free(c);
			ctl_refuse(fd, "failed", "out of memory");
			continue;
		}
		c->srv = srv;
		c->fd = fd;
		c->events = EPOLLIN;
		c->id = ++srv->next_conn_id;
		c->active_ns = ctl_now_ns();
		c->next = srv->conns;
		srv->conns = c;
		srv->nr_clients++;
		ctl_timer_arm(srv);
	}
}

/* ---- deferred answers ---- */

int ctl_server_complete(struct ctl_server *srv, uint64_t token, int err,
			const char *msg, struct json_object *result)
{
	struct ctl_pending **pp, *p = NULL;
	struct json_object *resp;
	struct ctl_conn *c;

	if (token && token == srv->inflight && !srv->early) {
		/* From inside the op: answered when it returns. */
		srv->early = true;
		srv->early_err = err;
		snprintf(srv->early_msg, sizeof(srv->early_msg), "%s",
			 msg ? msg : strerror(err < 0 ? -err : err));
		srv->early_result = err ? (json_object_put(result), NULL) :
					  result;
		return 0;
	}
	for (pp = &srv->pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->token == token) {
			p = *pp;
			*pp = p->next;
			srv->nr_pending--;
			break;
		}
	}
	if (!p) {
		json_object_put(result);
		return -ENOENT;
	}
	for (c = srv->conns; c && c->id != p->conn_id; c = c->next)
		;
	if (!c) {
		json_object_put(p->id);
		json_object_put(result);
		free(p);
		return -ENOENT;
	}
	if (err) {
		json_object_put(result);
		resp = ctl_response_err(
			p->id, err == -ESHUTDOWN ? "vm-stopped" : "failed",
			msg ? msg : strerror(err < 0 ? -err : err));
	} else {
		resp = ctl_response_ok(p->id, result);
	}
	if (!err && p->cmd == CTL_CMD_SHUTDOWN)
		c->watching = true;
	free(p);
	c->nr_pending--;
	c->active_ns = ctl_now_ns(); /* idle from its answer on */
	ctl_timer_arm(srv);
	if (srv->inflight) {
		/*
		 * An op answering another request from inside a dispatch:
		 * queue only; @c may be the connection being dispatched, so
		 * errors are left for its next event.
		 */
		if (!ctl_conn_send(c, resp))
			ctl_conn_flush(c);
		return 0;
	}
	if (ctl_conn_send(c, resp) || ctl_conn_pump(c) || ctl_conn_done(c))
		ctl_conn_close(c);
	return 0;
}

bool ctl_server_waiting(const struct ctl_server *srv, uint64_t token)
{
	const struct ctl_pending *p;

	if (token && token == srv->inflight)
		return true;
	for (p = srv->pending; p; p = p->next)
		if (p->token == token)
			return true; /* gone with its connection */
	return false;
}

/* ---- the name and the socket ---- */

/* flock() <name>.lock; retry if it was replaced while we waited. */
static int ctl_lock_name(struct ctl_server *srv)
{
	struct stat a, b;
	int tries, fd;

	for (tries = 0; tries < 5; tries++) {
		fd = open(srv->lock_path,
			  O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			return e == EWOULDBLOCK ? -EADDRINUSE : -e;
		}
		if (fstat(fd, &a) == 0 && stat(srv->lock_path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			srv->lock_fd = fd;
			return 0;
		}
		close(fd); /* unlinked by its last owner: again */
	}
	return -EAGAIN;
}

/* A socket file that nobody answers on is stale: remove it. */
static int ctl_clear_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0 || errno == EAGAIN)
		r = -EADDRINUSE; /* live: someone listens there */
	else if (errno == ECONNREFUSED)
		r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	else
		r = -errno;
	close(fd);
	return r;
}

static int ctl_listen(struct ctl_server *srv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, srv->path, strlen(srv->path));
	/* Nobody can connect between bind and listen: chmod there. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err;
	if (chmod(srv->path, 0600) < 0 || listen(fd, 16) < 0) {
		int e = errno;

		unlink(srv->path);
		close(fd);
		return -e;
	}
	srv->listen_fd = fd;
	return 0;
err:
	close(fd);
	return errno == EADDRINUSE ? -EADDRINUSE : -errno;
}

static int ctl_set_paths(struct ctl_server *srv,
			 const struct ctl_server_params *p)
{
	size_t n;
	int r;

	if (p->path) {
		if (strlen(p->path) >= sizeof(srv->path))
			return -ENAMETOOLONG;
		strcpy(srv->path, p->path);
	} else {
		char dir[256];

		r = ctl_runtime_dir(dir, sizeof(dir), true);
		if (r)
			return r;
		r = ctl_socket_path(p->name, srv->path, sizeof(srv->path));
		if (r)
			return r;
	}
	n = strlen(srv->path);
	if (n > 5 && !strcmp(srv->path + n - 5, ".sock"))
		n -= 5;
	snprintf(srv->lock_path, sizeof(srv->lock_path), "%.*s.lock", (int)n,
		 srv->path);
	return 0;
}

/* ---- lifecycle ---- */

int ctl_server_create(struct evloop *loop, const struct ctl_server_params *p,
		      char *err, size_t errlen, struct ctl_server **out)
{
	struct ctl_server *srv;
	int r;

	if (!ctl_name_valid(p->name)) {
		snprintf(
			err, errlen,
			"VM name '%.80s': use 1-%d letters, digits, '.', '_' or '-' (not first: '.' '-')",
			p->name ? p->name : "", CTL_NAME_MAX);
		return -EINVAL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->listen_fd = srv->lock_fd = srv->timer_fd = -1;
	srv->idle_ns = (p->idle_ms ? p->idle_ms : CTL_IDLE_TIMEOUT * 1000ull) *
		       1000000ull;
	strcpy(srv->name, p->name);
	srv->max_clients = p->max_clients ? p->max_clients : CTL_MAX_CLIENTS;
	srv->disp = (struct ctl_dispatch){
		.ops = p->ops,
		.opaque = p->opaque,
		.name = srv->name,
		.stats_fns = srv->stats_fns,
		.stats_opaque = srv->stats_opaque,
	};
	r = ctl_set_paths(srv, p);
	if (r) {
		snprintf(err, errlen, "control socket for '%s': %s%s", p->name,
			 strerror(-r),
			 r == -ENOENT ?
				 " (set HVKVM_RUNTIME_DIR or XDG_RUNTIME_DIR)" :
				 "");
		goto err_free;
	}
	r = ctl_lock_name(srv);
	if (!r)
		r = ctl_clear_stale(srv->path);
	if (!r)
		r = ctl_listen(srv);
	if (r) {
		if (r == -EADDRINUSE)
			snprintf(err, errlen,
				 "a VM named '%s' is already running (%s)",
				 p->name, srv->path);
		else
			snprintf(err, errlen, "control socket %s: %s",
				 srv->path,
				 r == -EEXIST ? "exists and is not a socket" :
						strerror(-r));
		goto err_unlock;
	}
	srv->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	r = srv->timer_fd < 0 ? -errno : 0;
	if (!r)
		r = evloop_add_fd(loop, srv->timer_fd, EPOLLIN, ctl_timer_event,
				  srv);
	if (r) {
		snprintf(err, errlen, "control socket timer: %s", strerror(-r));
		goto err_timer;
	}
	r = evloop_add_fd(loop, srv->listen_fd, EPOLLIN, ctl_accept, srv);
	if (r) {
		snprintf(err, errlen, "control socket: %s", strerror(-r));
		evloop_del_fd(loop, srv->timer_fd);
		goto err_timer;
	}
	*out = srv;
	return 0;

err_timer:
	if (srv->timer_fd >= 0)
		close(srv->timer_fd);
	close(srv->listen_fd);
	unlink(srv->path);
err_unlock:
	if (srv->lock_fd >= 0) {
		unlink(srv->lock_path);
		close(srv->lock_fd);
	}
err_free:
	free(srv);
	return r;
}

void ctl_server_destroy(struct ctl_server *srv)
{
	struct ctl_pending *p;

	if (!srv)
		return;
	srv->closing = true;
	while ((p = srv->pending))
		ctl_server_complete(
			srv, p->token, -ESHUTDOWN,
			"the VM stopped before the request completed", NULL);
	while (srv->conns)
		ctl_conn_close(srv->conns);
	evloop_del_fd(srv->loop, srv->listen_fd);
	close(srv->listen_fd);
	evloop_del_fd(srv->loop, srv->timer_fd);
	close(srv->timer_fd);
	unlink(srv->path);
	unlink(srv->lock_path); /* still locked: nobody holds a stale one */
	close(srv->lock_fd);
	free(srv);
}

const char *ctl_server_path(const struct ctl_server *srv)
{
	return srv->path;
}

int ctl_server_add_stats(struct ctl_server *srv, ctl_stats_fn fn, void *opaque)
{
	if (srv->disp.nr_stats >= CTL_STATS_MAX)
		return -ENOSPC;
	srv->stats_fns[srv->disp.nr_stats] = fn;
	srv->stats_opaque[srv->disp.nr_stats] = opaque;
	srv->disp.nr_stats++;
	return 0;
}
