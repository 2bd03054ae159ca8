// SPDX-License-Identifier: MIT
/*
 * ctl_client: `hvkvm ctl VM CMD [ARG=VALUE...]` sends one request over the
 * VM's control socket and prints the answer; `hvkvm list` asks every socket
 * in the runtime directory for its status. Exit status: 0 ok, 1 the VM
 * answered with an error (or bad usage), 2 the VM could not be reached.
 */
#include "hvkvm/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hvkvm/util.h"
#include "ctl_internal.h"

#define CTL_RESP_MAX (1024 * 1024) /* one response line */
#define CTL_WAIT_DEFAULT 10	   /* seconds for an answer */
#define CTL_LIST_WAIT 2		   /* per VM in `hvkvm list` */
#define CTL_LIST_MAX 256	   /* VMs in one listing */

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1,	  /* error answer or usage */
	CTL_EXIT_UNREACHABLE = 2, /* no such VM, no answer */
};

static const char ctl_usage[] =
	"Usage: hvkvm ctl [OPTIONS] VM COMMAND [ARG=VALUE...]\n"
	"       hvkvm ctl [OPTIONS] VM COMMAND --json '{\"ARG\": VALUE, ...}'\n"
	"\n"
	"Send one command to a running VM over its control socket. VM is a VM\n"
	"name (socket in the runtime directory) or a socket path (has a '/').\n"
	"\n"
	"Commands:\n"
	"  status                       name, uuid, state, pid, uptime, vCPUs, memory\n"
	"  stats                        all counters\n"
	"  shutdown [timeout=SECS]      ask the guest (Shutdown IC; ACPI power\n"
	"                               button after SECS, default 30)\n"
	"  poweroff                     stop the VM now\n"
	"  reboot                       reset the VM\n"
	"  pause, resume                stop / restart the vCPUs\n"
	"  kvp-get pool=P key=K         read a Hyper-V KVP item\n"
	"  kvp-set pool=P key=K value=V write a Hyper-V KVP item\n"
	"                               P: external guest auto auto-external\n"
	"                               auto-internal (or 0..4)\n"
	"  eject DRIVE [force=1]        open the IDE CD-ROM DRIVE (hda..hdd);\n"
	"                               force: even if the guest locked it\n"
	"  insert DRIVE FILE            load the image FILE (ISO, raw) into the\n"
	"                               empty CD-ROM DRIVE\n"
	"  disk-add FILE [DRIVE] [addr=C:T:L] [readonly=1] [format=raw|vhd]\n"
	"                               hot-add FILE as a synthetic SCSI disk\n"
	"                               (name DRIVE, e.g. sdc; at controller C,\n"
	"                               target T, LUN L; default: the name's\n"
	"                               LUN, else the first free of controller 0)\n"
	"  link NIC up|down             the NIC's carrier as the guest sees it\n"
	"                               (NIC: net0.. or its TAP name)\n"
	"  disk-remove DRIVE            hot-remove the SCSI disk DRIVE (sdc or\n"
	"                               C:T:L); its requests in flight complete\n"
	"Arguments may also be given in order without NAME=, as above.\n"
	"\n"
	"Options:\n"
	"  -j, --json          print the raw JSON response line; followed by an\n"
	"                      argument starting with '{', it also gives the\n"
	"                      command's arguments as a JSON object\n"
	"  -t, --timeout SECS  wait this long for the answer (default 10; for\n"
	"                      shutdown its timeout + 10)\n"
	"  -w, --wait          after shutdown/poweroff, wait until the VM is gone\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 ok; 1 the VM answered with an error, or bad usage;\n"
	"2 no such VM or no answer. Protocol: docs/control.md.\n";

static const char list_usage[] =
	"Usage: hvkvm list [--json]\n"
	"\n"
	"List the VMs that have a control socket in the runtime directory\n"
	"($HVKVM_RUNTIME_DIR, else /run/hvkvm for root, $XDG_RUNTIME_DIR/hvkvm\n"
	"otherwise): name, pid, state, vCPUs, memory and uptime.\n"
	"\n"
	"  -j, --json   one JSON array of the VMs' status objects\n"
	"  -h, --help   show this help\n";

/* Print @s with control characters as '?': one line stays one line. */
static void ctl_put_safe(const char *s, FILE *f)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* ---- talking to one socket ---- */

/* Connect to @vm (name or path); @path gets the socket path. */
static int ctl_open(const char *vm, char *path, size_t plen, char *err,
		    size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_WAIT_DEFAULT };
	int fd, r;

	if (strchr(vm, '/')) {
		if (strlen(vm) >= sizeof(sa.sun_path) || strlen(vm) >= plen) {
			snprintf(err, errlen, "%s: socket path too long", vm);
			return -ENAMETOOLONG;
		}
		if (path != vm)
			strcpy(path, vm);
	} else if ((r = ctl_socket_path(vm, path, plen))) {
		snprintf(
			err, errlen, "VM '%.80s': %s", vm,
			r == -EINVAL ?
				"not a valid VM name" :
			r == -ENOENT ?
				"no runtime directory (set HVKVM_RUNTIME_DIR or XDG_RUNTIME_DIR)" :
				strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A full backlog makes connect() wait; bound it. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r == -ENOENT)
			snprintf(err, errlen,
				 "no VM named '%s' is running (no %s)", vm,
				 path);
		else if (r == -ECONNREFUSED)
			snprintf(
				err, errlen,
				"no VM named '%s' is running (stale socket %s)",
				vm, path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

static int ctl_send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int64_t ctl_ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Send @req as one line, read one response line within @secs. *line gets
 * the raw line (caller frees); the return value is the parsed response.
 */
static struct json_object *ctl_call(int fd, struct json_object *req,
				    unsigned int secs, char **line, char *err,
				    size_t errlen)
{
	const char *s =
		json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	struct timespec deadline;
	struct json_object *resp;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	*line = NULL;
	if (!buf || ctl_send_all(fd, s, strlen(s)) ||
	    ctl_send_all(fd, "\n", 1)) {
		snprintf(err, errlen, "cannot send the request: %s",
			 strerror(errno));
		goto err;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	while (!(nl = memchr(buf, '\n', len))) {
		int64_t ms = ctl_ms_left(&deadline);
		ssize_t n;
		int pr = ms > 0 ? poll(&pfd, 1, (int)MIN(ms, 60000)) : 0;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			if (pr == 0 && ctl_ms_left(&deadline) > 0)
				continue;
			snprintf(err, errlen, "no answer within %u s", secs);
			goto err;
		}
		if (len + 1 >= cap) {
			char *p = cap >= CTL_RESP_MAX ? NULL :
							realloc(buf, cap * 2);

			if (!p) {
				snprintf(err, errlen, "answer too long");
				goto err;
			}
			buf = p;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(
				err, errlen,
				"the VM closed the connection without answering");
			goto err;
		}
		len += (size_t)n;
	}
	*nl = '\0';
	resp = json_tokener_parse(buf);
	if (!resp || !json_object_is_type(resp, json_type_object)) {
		json_object_put(resp);
		snprintf(err, errlen, "malformed answer: %.100s", buf);
		goto err;
	}
	*line = buf;
	return resp;
err:
	free(buf);
	return NULL;
}

/* After shutdown/poweroff: the server closes the socket when the VM ends. */
static int ctl_wait_gone(int fd, unsigned int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256];

	while (poll(&pfd, 1, (int)secs * 1000) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
	}
	return -ETIMEDOUT;
}

/* ---- human output ---- */

static void ctl_print_size(uint64_t v)
{
	if (v && !(v % GiB))
		printf("%" PRIu64 " GiB", (uint64_t)(v / GiB));
	else if (v && !(v % MiB))
		printf("%" PRIu64 " MiB", (uint64_t)(v / MiB));
	else
		printf("%" PRIu64 " bytes", v);
}

static void ctl_fmt_uptime(double s, char *buf, size_t len)
{
	uint64_t t = s > 0 ? (uint64_t)s : 0;

	if (t >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", t / 86400,
			 t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", t / 3600,
			 t % 3600 / 60);
	else if (t >= 60)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", t / 60,
			 t % 60);
	else
		snprintf(buf, len, "%.1fs", s > 0 ? s : 0.0);
}

/* "a.b.c: value" lines, nested objects flattened with dots. */
static void ctl_print_flat(struct json_object *o, const char *prefix)
{
	char path[512], up[32];

	json_object_object_foreach(o, k, v)
	{
		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 prefix[0] ? "." : "", k);
		if (json_object_is_type(v, json_type_object)) {
			ctl_print_flat(v, path);
			continue;
		}
		printf("%s: ", path);
		if (!prefix[0] && !strcmp(k, "memory") &&
		    json_object_is_type(v, json_type_int)) {
			ctl_print_size(json_object_get_uint64(v));
		} else if (!prefix[0] && !strcmp(k, "uptime") &&
			   (json_object_is_type(v, json_type_double) ||
			    json_object_is_type(v, json_type_int))) {
			ctl_fmt_uptime(json_object_get_double(v), up,
				       sizeof(up));
			fputs(up, stdout);
		} else if (json_object_is_type(v, json_type_string)) {
			ctl_put_safe(json_object_get_string(v), stdout);
		} else {
			fputs(json_object_to_json_string_ext(
				      v, JSON_C_TO_STRING_PLAIN),
			      stdout);
		}
		putchar('\n');
	}
}

/* ---- hvkvm ctl ---- */

struct ctl_cli {
	const char *vm, *cmd;
	bool json, wait;
	unsigned int timeout; /* 0: default */
	struct json_object *req;
};

static int ctl_add_arg(struct ctl_cli *c, const char *kv);

/*
 * A bare VALUE is the command's next argument in order (eject hdc, insert
 * hdc FILE). A relative file name is made absolute here: the VM may run
 * in another directory.
 */
static int ctl_add_positional(struct ctl_cli *c, const char *val,
			      unsigned int pos)
{
	const char *name = ctl_arg_positional(c->cmd, pos);
	char abs[PATH_MAX];

	if (!name) {
		fprintf(stderr,
			"hvkvm: ctl: %s: '%s': arguments are NAME=VALUE\n",
			c->cmd, val);
		return -EINVAL;
	}
	if (!strcmp(name, "file") && val[0] != '/') {
		if (!realpath(val, abs)) {
			fprintf(stderr, "hvkvm: ctl: %s: %s\n", val,
				strerror(errno));
			return -errno;
		}
		val = abs;
	}
	if (ctl_arg_kind(c->cmd, name) == 'u') {
		char kv[128];

		if ((size_t)snprintf(kv, sizeof(kv), "%s=%s", name, val) >=
		    sizeof(kv)) {
			fprintf(stderr,
				"hvkvm: ctl: %s: '%.32s...': too long\n",
				c->cmd, val);
			return -EINVAL;
		}
		return ctl_add_arg(c, kv);
	}
	json_object_object_add(c->req, name, json_object_new_string(val));
	return 0;
}

static int ctl_add_arg(struct ctl_cli *c, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[64], *end;
	unsigned long long v;
	char kind;

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		fprintf(stderr, "hvkvm: ctl: '%s': arguments are NAME=VALUE\n",
			kv);
		return -EINVAL;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	kind = ctl_arg_kind(c->cmd, key);
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (kind == 'u' || (kind == 'p' && eq[1] >= '0' && eq[1] <= '9')) {
		if (eq[1] < '0' || eq[1] > '9' || *end || errno ||
		    v > INT64_MAX) {
			fprintf(stderr, "hvkvm: ctl: %s: not a number\n", kv);
			return -EINVAL;
		}
		json_object_object_add(c->req, key,
				       json_object_new_int64((int64_t)v));
		return 0;
	}
	json_object_object_add(c->req, key, json_object_new_string(eq + 1));
	return 0;
}

/* Raw JSON arguments: copied into the request. */
static int ctl_add_json(struct ctl_cli *c, const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o || !json_object_is_type(o, json_type_object)) {
		fprintf(stderr,
			"hvkvm: ctl: --json '%.60s': not a JSON object\n",
			text);
		json_object_put(o);
		return -EINVAL;
	}
	json_object_object_foreach(o, k, v)
		json_object_object_add(c->req, k, json_object_get(v));
	json_object_put(o);
	return 0;
}

static int ctl_parse_args(int argc, char **argv, struct ctl_cli *c)
{
	const char *raw = NULL, *kv[16];
	unsigned int nkv = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(ctl_usage, stdout);
			exit(0);
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			c->json = true;
			if (i + 1 < argc && argv[i + 1][0] == '{')
				raw = argv[++i];
		} else if (!strcmp(a, "-w") || !strcmp(a, "--wait")) {
			c->wait = true;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--timeout")) {
			char *end;
			unsigned long v =
				i + 1 < argc ? strtoul(argv[i + 1], &end, 10) :
					       0;

			if (i + 1 >= argc || *end || !v || v > 86400) {
				fprintf(stderr,
					"hvkvm: ctl: --timeout needs 1..86400 seconds\n");
				return -EINVAL;
			}
			c->timeout = (unsigned int)v;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr,
				"hvkvm: ctl: unknown option '%s' (see 'hvkvm ctl --help')\n",
				a);
			return -EINVAL;
		} else if (!c->vm) {
			c->vm = a;
		} else if (!c->cmd) {
			c->cmd = a;
		} else if (nkv < ARRAY_SIZE(kv)) {
			kv[nkv++] = a;
		} else {
			fprintf(stderr, "hvkvm: ctl: too many arguments\n");
			return -E2BIG;
		}
	}
	if (!c->cmd) {
		fprintf(stderr,
			"hvkvm: ctl: usage: hvkvm ctl VM COMMAND [ARG=VALUE...] (see 'hvkvm ctl --help')\n");
		return -EINVAL;
	}
	c->req = json_object_new_object();
	json_object_object_add(c->req, "cmd", json_object_new_string(c->cmd));
	json_object_object_add(c->req, "id", json_object_new_int(1));
	for (i = 0; i < (int)nkv; i++) {
		bool named = strchr(kv[i], '=') && kv[i][0] != '/' &&
			     strchr(kv[i], '=') < strchrnul(kv[i], '/');

		if (named ? ctl_add_arg(c, kv[i]) :
			    ctl_add_positional(c, kv[i], (unsigned int)i))
			return -EINVAL;
	}
	return raw ? ctl_add_json(c, raw) : 0;
}

/* How long to wait for the answer to this request. */
static unsigned int ctl_answer_wait(const struct ctl_cli *c)
{
	struct json_object *t;

	if (c->timeout)
		return c->timeout;
	if (!strcmp(c->cmd, "shutdown"))
		return (json_object_object_get_ex(c->req, "timeout", &t) &&
					json_object_is_type(t, json_type_int) ?
				(unsigned int)MIN(json_object_get_int64(t),
						  CTL_SHUTDOWN_TIMEOUT_MAX) :
				CTL_SHUTDOWN_TIMEOUT) +
		       CTL_WAIT_DEFAULT;
	return CTL_WAIT_DEFAULT;
}

int ctl_main(int argc, char **argv)
{
	struct ctl_cli c = { 0 };
	struct json_object *resp, *ok, *v;
	char path[256], err[CTL_ERR_MAX], *line = NULL;
	int fd, status = CTL_EXIT_ERROR;

	if (ctl_parse_args(argc, argv, &c))
		goto out;
	fd = ctl_open(c.vm, path, sizeof(path), err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "hvkvm: ctl: %s\n", err);
		status = CTL_EXIT_UNREACHABLE;
		goto out;
	}
	resp = ctl_call(fd, c.req, ctl_answer_wait(&c), &line, err,
			sizeof(err));
	if (!resp) {
		fprintf(stderr, "hvkvm: ctl %s %s: %s\n", c.vm, c.cmd, err);
		status = CTL_EXIT_UNREACHABLE;
		goto out_close;
	}
	if (!json_object_object_get_ex(resp, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		if (c.json) {
			puts(line);
		} else {
			fprintf(stderr, "hvkvm: ctl %s %s: ", c.vm, c.cmd);
			ctl_put_safe(json_object_object_get_ex(resp, "error",
							       &v) ?
					     json_object_get_string(v) :
					     "failed",
				     stderr);
			fputc('\n', stderr);
		}
		goto out_put;
	}
	if (c.json)
		puts(line);
	else if (json_object_object_get_ex(resp, "result", &v) &&
		 json_object_is_type(v, json_type_object))
		ctl_print_flat(v, "");
	fflush(stdout);
	status = CTL_EXIT_OK;
	if (c.wait && ctl_wait_gone(fd, ctl_answer_wait(&c) + 30)) {
		fprintf(stderr, "hvkvm: ctl %s %s: the VM is still running\n",
			c.vm, c.cmd);
		status = CTL_EXIT_ERROR;
	}
out_put:
	json_object_put(resp);
out_close:
	close(fd);
out:
	free(line);
	json_object_put(c.req);
	return status;
}

/* ---- hvkvm list ---- */

struct list_vm {
	char name[CTL_NAME_MAX + 1];
	struct json_object *status; /* NULL: no answer */
};

static int list_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_vm *)a)->name,
		      ((const struct list_vm *)b)->name);
}

/* Ask one socket; false if nobody listens there (stale). */
static bool list_ask(const char *dir, struct list_vm *vm)
{
	struct json_object *req, *resp, *ok, *res;
	char path[512], err[CTL_ERR_MAX], *line;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.sock", dir, vm->name);
	fd = ctl_open(path, path, sizeof(path), err, sizeof(err));
	if (fd < 0)
		return false;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	json_object_object_add(req, "id", json_object_new_int(1));
	resp = ctl_call(fd, req, CTL_LIST_WAIT, &line, err, sizeof(err));
	if (resp && json_object_object_get_ex(resp, "ok", &ok) &&
	    json_object_get_boolean(ok) &&
	    json_object_object_get_ex(resp, "result", &res) &&
	    json_object_is_type(res, json_type_object))
		vm->status = json_object_get(res);
	json_object_put(resp);
	json_object_put(req);
	free(line);
	close(fd);
	return true;
}

static const char *list_field(struct json_object *st, const char *k, char *buf,
			      size_t len)
{
	struct json_object *v;

	if (!st || !json_object_object_get_ex(st, k, &v))
		return "-";
	if (!strcmp(k, "memory") && json_object_is_type(v, json_type_int)) {
		uint64_t m = json_object_get_uint64(v);

		if (m >= GiB && !(m % GiB))
			snprintf(buf, len, "%" PRIu64 "G", (uint64_t)(m / GiB));
		else
			snprintf(buf, len, "%" PRIu64 "M", (uint64_t)(m / MiB));
		return buf;
	}
	if (!strcmp(k, "uptime")) {
		ctl_fmt_uptime(json_object_get_double(v), buf, len);
		return buf;
	}
	snprintf(buf, len, "%s", json_object_get_string(v));
	return buf;
}

static void list_print(struct list_vm *vms, unsigned int n)
{
	static const char *const cols[] = { "pid", "state", "vcpus", "memory",
					    "uptime" };
	char b[5][64];
	unsigned int i, j;

	printf("%-20s %8s %-10s %5s %8s %9s\n", "NAME", "PID", "STATE", "VCPUS",
	       "MEMORY", "UPTIME");
	for (i = 0; i < n; i++) {
		for (j = 0; j < ARRAY_SIZE(cols); j++)
			list_field(vms[i].status, cols[j], b[j], sizeof(b[j]));
		if (!vms[i].status)
			snprintf(b[1], sizeof(b[1]), "no-answer");
		printf("%-20s %8s %-10s %5s %8s %9s\n", vms[i].name, b[0], b[1],
		       b[2], b[3], b[4]);
	}
}

int list_main(int argc, char **argv)
{
	struct list_vm *vms;
	struct json_object *arr;
	struct dirent *de;
	unsigned int n = 0, i;
	char dir[256];
	bool json = false;
	DIR *d;
	int r;

	for (r = 1; r < argc; r++) {
		if (!strcmp(argv[r], "-h") || !strcmp(argv[r], "--help")) {
			fputs(list_usage, stdout);
			return 0;
		}
		if (strcmp(argv[r], "-j") && strcmp(argv[r], "--json")) {
			fprintf(stderr,
				"hvkvm: list: unknown argument '%s' (see 'hvkvm list --help')\n",
				argv[r]);
			return CTL_EXIT_ERROR;
		}
		json = true;
	}
	r = ctl_runtime_dir(dir, sizeof(dir), false);
	if (r) {
		fprintf(stderr,
			"hvkvm: list: no runtime directory (set HVKVM_RUNTIME_DIR or XDG_RUNTIME_DIR)\n");
		return CTL_EXIT_ERROR;
	}
	vms = calloc(CTL_LIST_MAX, sizeof(*vms));
	if (!vms)
		return CTL_EXIT_ERROR;
	d = opendir(dir);
	while (d && (de = readdir(d)) && n < CTL_LIST_MAX) {
		size_t len = strlen(de->d_name);

		if (len <= 5 || len - 5 > CTL_NAME_MAX ||
		    strcmp(de->d_name + len - 5, ".sock"))
			continue;
		memcpy(vms[n].name, de->d_name, len - 5);
		vms[n].name[len - 5] = '\0';
		if (ctl_name_valid(vms[n].name) && list_ask(dir, &vms[n]))
			n++;
	}
	if (d)
		closedir(d);
	qsort(vms, n, sizeof(*vms), list_cmp);
	if (json) {
		arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			struct json_object *o = vms[i].status;

			if (!o) {
				o = json_object_new_object();
				json_object_object_add(
					o, "name",
					json_object_new_string(vms[i].name));
				json_object_object_add(
					o, "state",
					json_object_new_string("no-answer"));
			}
			json_object_array_add(arr, o);
		}
		puts(json_object_to_json_string_ext(arr,
						    JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
	} else {
		list_print(vms, n);
		for (i = 0; i < n; i++)
			json_object_put(vms[i].status);
	}
	free(vms);
	return CTL_EXIT_OK;
}
