// SPDX-License-Identifier: MIT
/*
 * console: terminal/pty/file backends for the serial port. The terminal is
 * put in raw mode while the guest runs and restored from atexit() and from
 * fatal-signal handlers, so no exit path leaves it raw.
 */
#include "hvkvm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "hvkvm/evloop.h"
#include "hvkvm/uart.h"
#include "hvkvm/util.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */
#define CONSOLE_BUF 256
#define CONSOLE_RETRY_NS 2000000 /* re-poll a full RX FIFO every 2 ms */

struct console {
	enum config_serial kind; /* backend */
	int in_fd;		 /* input (-1: none) */
	int out_fd;		 /* output (-1: discard) */
	int pty_slave;		 /* kept open so the pty stays usable */
	int retry_fd;		 /* timerfd for backpressure */
	struct evloop *loop;
	struct uart *uart;
	bool escape;		      /* last byte was Ctrl-A */
	uint8_t pending[CONSOLE_BUF]; /* input not yet taken by the UART */
	size_t pending_len;
	void (*quit)(void *opaque);
	void *quit_opaque;
};

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

void console_restore_terminal(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

static void console_fatal_signal(int sig)
{
	console_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void console_make_raw(void)
{
	struct termios tio;
	static const int sigs[] = { SIGTERM, SIGHUP,  SIGQUIT, SIGSEGV,
				    SIGBUS,  SIGABRT, SIGFPE,  SIGILL };
	unsigned int i;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio_saved = 1;
	atexit(console_restore_terminal);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = console_fatal_signal;
		sa.sa_flags = SA_RESETHAND;
		if (sigs[i] == SIGTERM || sigs[i] == SIGHUP)
			continue; /* main.c turns these into a stop */
		sigaction(sigs[i], &sa, NULL);
	}
	tio = saved_tio;
	cfmakeraw(&tio);
	tio.c_oflag |= OPOST | ONLCR; /* keep \n -> \r\n for our logs */
	tcsetattr(STDIN_FILENO, TCSANOW, &tio);
}

/*
 * The serial log file: appended to, created 0600 (guest output may be
 * private), never through a symbolic link (as root, a link planted where
 * the log goes would make us append to any file), and only a regular file or
 * a character device (/dev/null, a tty): not a FIFO (open would block), a
 * socket or a directory. O_NONBLOCK only while opening.
 */
static int console_open_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = open(path,
		  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
			  O_NONBLOCK | O_NOCTTY,
		  0600);
	if (fd < 0) {
		r = -errno;
		/* ENXIO: a FIFO without a reader (O_NONBLOCK). */
		snprintf(
			err, errlen, "--serial file:%s: %s", path,
			r == -ELOOP ? "is a symbolic link (not followed)" :
			r == -ENXIO ? "not a regular file or character device" :
				      strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "--serial file:%s: %s", path,
			 strerror(-r));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		r = -EINVAL;
		snprintf(
			err, errlen,
			"--serial file:%s: not a regular file or character device",
			path);
		goto err_close;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		r = -errno;
		snprintf(err, errlen, "--serial file:%s: %s", path,
			 strerror(-r));
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return r;
}

int console_create(const struct vm_config *cfg, struct console **out, char *err,
		   size_t errlen)
{
	struct console *c = calloc(1, sizeof(*c));
	char name[256];
	int master, slave, r;

	if (!c)
		return -ENOMEM;
	c->kind = cfg->serial;
	c->in_fd = c->out_fd = c->pty_slave = c->retry_fd = -1;
	switch (cfg->serial) {
	case CONFIG_SERIAL_STDIO:
		c->in_fd = STDIN_FILENO;
		c->out_fd = STDOUT_FILENO;
		break;
	case CONFIG_SERIAL_FILE:
		r = console_open_file(cfg->serial_path, err, errlen);
		if (r < 0) {
			free(c);
			return r;
		}
		c->out_fd = r;
		break;
	case CONFIG_SERIAL_PTY:
		if (openpty(&master, &slave, name, NULL, NULL) < 0) {
			snprintf(err, errlen, "--serial pty: %s",
				 strerror(errno));
			free(c);
			return -errno;
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
		fcntl(slave, F_SETFD, FD_CLOEXEC);
		{
			struct termios tio;

			if (!tcgetattr(slave, &tio)) {
				cfmakeraw(&tio);
				tcsetattr(slave, TCSANOW, &tio);
			}
		}
		c->in_fd = master;
		c->out_fd = master;
		c->pty_slave = slave;
		fprintf(stderr, "hvkvm: serial console on %s\n", name);
		break;
	case CONFIG_SERIAL_NONE:
		break;
	}
	*out = c;
	return 0;
}

void console_destroy(struct console *c)
{
	if (!c)
		return;
	if (c->kind == CONFIG_SERIAL_STDIO)
		console_restore_terminal();
	if (c->kind == CONFIG_SERIAL_FILE && c->out_fd >= 0)
		close(c->out_fd);
	if (c->kind == CONFIG_SERIAL_PTY) {
		close(c->in_fd);
		close(c->pty_slave);
	}
	if (c->retry_fd >= 0)
		close(c->retry_fd);
	free(c);
}

int console_output_fd(struct console *c)
{
	return c ? c->out_fd : -1;
}

/* Feed pending input to the UART; arm the retry timer if it is full. */
static void console_flush_pending(struct console *c)
{
	size_t n;
	struct itimerspec its = { 0 };

	if (!c->pending_len)
		return;
	n = uart_receive(c->uart, c->pending, c->pending_len);
	memmove(c->pending, c->pending + n, c->pending_len - n);
	c->pending_len -= n;
	if (c->pending_len) {
		its.it_value.tv_nsec = CONSOLE_RETRY_NS;
		timerfd_settime(c->retry_fd, 0, &its, NULL);
		evloop_mod_fd(c->loop, c->in_fd, 0);
	} else {
		evloop_mod_fd(c->loop, c->in_fd, EPOLLIN);
	}
}

static void console_retry(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	(void)events;
	if (read(c->retry_fd, &v, sizeof(v)) < 0) {
		/* spurious */
	}
	console_flush_pending(c);
}

static void console_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[CONSOLE_BUF];
	ssize_t n, i;

	if (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLIN)) {
		/* stdin closed or pty without a reader: stop listening. */
		evloop_mod_fd(c->loop, c->in_fd, 0);
		return;
	}
	n = read(c->in_fd, buf, sizeof(buf) - c->pending_len);
	if (n <= 0) {
		if (n == 0 ||
		    (errno != EAGAIN && errno != EINTR && errno != EIO))
			evloop_mod_fd(c->loop, c->in_fd, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		uint8_t ch = buf[i];

		if (c->kind == CONFIG_SERIAL_STDIO && c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X') {
				if (c->quit)
					c->quit(c->quit_opaque);
				return;
			}
			if (ch != CONSOLE_ESCAPE)
				continue;
		} else if (c->kind == CONFIG_SERIAL_STDIO &&
			   ch == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		if (c->pending_len < sizeof(c->pending))
			c->pending[c->pending_len++] = ch;
	}
	console_flush_pending(c);
}

int console_attach(struct console *c, struct evloop *loop, struct uart *uart,
		   void (*quit)(void *opaque), void *opaque)
{
	int r;

	if (!c || c->in_fd < 0)
		return 0;
	c->loop = loop;
	c->uart = uart;
	c->quit = quit;
	c->quit_opaque = opaque;
	c->retry_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->retry_fd < 0)
		return -errno;
	r = evloop_add_fd(loop, c->retry_fd, EPOLLIN, console_retry, c);
	if (r)
		return r;
	if (c->kind == CONFIG_SERIAL_STDIO)
		console_make_raw();
	r = evloop_add_fd(loop, c->in_fd, EPOLLIN, console_input, c);
	if (r == -EPERM) /* stdin is a regular file: no input */
		r = 0;
	return r;
}

void console_detach(struct console *c)
{
	if (!c || !c->loop)
		return;
	evloop_del_fd(c->loop, c->in_fd);
	evloop_del_fd(c->loop, c->retry_fd);
	c->loop = NULL;
	c->uart = NULL;
}
