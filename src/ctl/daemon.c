// SPDX-License-Identifier: MIT
/*
 * daemon: `hvkvm run --daemon`. The classic double fork + setsid, with a
 * pipe back to the process the user started: it exits only when the daemon
 * says it is up (status 0) or has died (its exit status), so start-up
 * errors reach the terminal and the shell sees a failure. The pidfile is
 * written atomically (a locked temporary file linked or renamed into
 * place), stays flock()ed while the daemon lives, and is removed at exit.
 */
#include "hvkvm/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAEMON_READY 'R' /* start-up done */
#define DAEMON_EXIT 'E'	 /* followed by the exit status byte */

/* One daemon per process: this is process state, like the pid itself. */
static struct {
	int pipe_fd;		/* write end to the waiting parent, or -1 */
	int log_fd;		/* future stdout/stderr */
	int pid_fd;		/* locked pidfile, or -1 */
	pid_t pid;		/* the daemon's pid */
	char pidfile[PATH_MAX]; /* absolute path, "" if none */
} daemon_state = { -1, -1, -1, 0, "" };

static void daemon_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Does @path still name the file open as @fd? */
static bool daemon_same_file(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void daemon_on_exit(int status, void *arg)
{
	(void)arg;
	if (getpid() != daemon_state.pid)
		return; /* a forked helper, not the daemon */
	if (daemon_state.pipe_fd >= 0) {
		char msg[2] = { DAEMON_EXIT, (char)status };

		daemon_write_all(daemon_state.pipe_fd, msg, sizeof(msg));
		close(daemon_state.pipe_fd);
		daemon_state.pipe_fd = -1;
	}
	if (daemon_state.pid_fd >= 0 &&
	    daemon_same_file(daemon_state.pidfile, daemon_state.pid_fd))
		unlink(daemon_state.pidfile);
}

/* The pid of the daemon holding @fd's lock, or 0. */
static long daemon_read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int daemon_claim(const char *path, const char *tmp, char *err,
			size_t errlen)
{
	int tries, fd;

	for (tries = 0; tries < 5; tries++) {
		if (link(tmp, path) == 0)
			return 0;
		if (errno != EEXIST)
			goto err;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			goto err;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			snprintf(err, errlen,
				 "pidfile %s: already running (pid %ld)", path,
				 daemon_read_pid(fd));
			close(fd);
			return -EBUSY;
		}
		/* Stale, and we hold its lock: replace it if still there. */
		if (daemon_same_file(path, fd) && rename(tmp, path) == 0) {
			close(fd);
			return 0;
		}
		close(fd);
	}
	errno = EAGAIN;
err:
	snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
	return -errno;
}

static int daemon_write_pidfile(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 16], buf[32];
	int fd, r, n;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -errno;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fchmod(fd, 0644) < 0 ||
	    write(fd, buf, (size_t)n) != n || fsync(fd) < 0) {
		r = -errno;
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	r = daemon_claim(path, tmp, err, errlen);
	if (r)
		goto err_unlink;
	unlink(tmp); /* after link(): the name in @path stays */
	daemon_state.pid_fd = fd;
	return 0;

err_unlink:
	unlink(tmp);
	close(fd);
	return r;
}

static int daemon_abspath(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, len, "%s/%s", cwd, path);
	else
		return -errno;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The original process: wait for the daemon's word, then leave. */
static void daemon_wait_parent(int rfd, pid_t child)
{
	unsigned char msg[2];
	ssize_t n;

	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	do
		n = read(rfd, msg, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && msg[0] == DAEMON_READY)
		_exit(0);
	if (n == 1 && msg[0] == DAEMON_EXIT && read(rfd, msg + 1, 1) == 1)
		_exit(msg[1]);
	_exit(1); /* killed before it could say */
}

int daemon_start(const char *pidfile, const char *logfile, char *err,
		 size_t errlen)
{
	int pfd[2], nullfd, r;
	pid_t pid;

	if (pidfile && daemon_abspath(pidfile, daemon_state.pidfile,
				      sizeof(daemon_state.pidfile))) {
		snprintf(err, errlen, "pidfile %s: path too long", pidfile);
		return -ENAMETOOLONG;
	}
	daemon_state.log_fd = open(
		logfile ? logfile : "/dev/null",
		O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (daemon_state.log_fd < 0) {
		snprintf(err, errlen, "log file %s: %s", logfile,
			 strerror(errno));
		return -errno;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		goto err_close_log;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto err_close_pipe;
	}
	if (pid > 0) {
		close(pfd[1]);
		daemon_wait_parent(pfd[0], pid);
	}
	close(pfd[0]);
	setsid();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "hvkvm: daemon: fork: %s\n", strerror(errno));
		_exit(1);
	}
	if (pid > 0)
		_exit(0); /* the session leader goes; no tty regained */
	daemon_state.pid = getpid();
	daemon_state.pipe_fd = pfd[1];
	on_exit(daemon_on_exit, NULL);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd >= 0) {
		dup2(nullfd, STDIN_FILENO);
		close(nullfd);
	}
	if (daemon_state.pidfile[0])
		return daemon_write_pidfile(daemon_state.pidfile, err, errlen);
	return 0;

err_close_pipe:
	close(pfd[0]);
	close(pfd[1]);
err_close_log:
	snprintf(err, errlen, "daemon: %s", strerror(-r));
	close(daemon_state.log_fd);
	daemon_state.log_fd = -1;
	return r;
}

void daemon_ready(void)
{
	char ok = DAEMON_READY;

	if (daemon_state.pipe_fd < 0)
		return;
	fflush(NULL);
	dup2(daemon_state.log_fd, STDOUT_FILENO);
	dup2(daemon_state.log_fd, STDERR_FILENO);
	close(daemon_state.log_fd);
	daemon_state.log_fd = -1;
	if (chdir("/") < 0) {
		/* Cannot fail for /; the daemon works either way. */
	}
	daemon_write_all(daemon_state.pipe_fd, &ok, 1);
	close(daemon_state.pipe_fd);
	daemon_state.pipe_fd = -1;
}
