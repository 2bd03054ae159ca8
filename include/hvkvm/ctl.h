/* SPDX-License-Identifier: MIT */
/*
 * ctl: the per-VM control socket. A UNIX stream socket (mode 0600) named
 * <vm-name>.sock in the runtime directory speaks JSON lines: one request
 * object per line, one response line per request (docs/control.md).
 *
 * The server knows nothing about struct vm: it calls the VM through a
 * struct ctl_ops table, so tests drive it with a fake. It runs on an evloop;
 * every callback (ops, stats providers) runs on that loop's thread.
 *
 * Also here: the client side (`hvkvm ctl`, `hvkvm list`) and the daemon
 * helpers for `hvkvm run --daemon`.
 */
#ifndef HVKVM_CTL_H
#define HVKVM_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;
struct json_object; /* json-c; only the server's user needs it */
struct ctl_server;
struct ctl_stats;

#define CTL_NAME_MAX 64		 /* VM name length limit */
#define CTL_LINE_MAX (64 * 1024) /* request line limit */
#define CTL_MAX_CLIENTS 16	 /* default connection limit */
#define CTL_IDLE_TIMEOUT 60	 /* s without a request: closed */
#define CTL_EVICT_IDLE_MS 1000	 /* idle this long: may make room */
#define CTL_SHUTDOWN_TIMEOUT 30	 /* seconds, default */
#define CTL_SHUTDOWN_TIMEOUT_MAX 3600
#define CTL_KVP_KEY_MAX 255 /* bytes of UTF-8, no NUL */
#define CTL_KVP_VALUE_MAX 1023
#define CTL_DRIVE_MAX 15 /* "hdc" */
#define CTL_PATH_MAX 4095
#define CTL_ERR_MAX 256

/* An op may answer later with ctl_server_complete(). */
#define CTL_DEFERRED 1

enum ctl_cmd {
	CTL_CMD_STATUS,
	CTL_CMD_STATS,
	CTL_CMD_SHUTDOWN,
	CTL_CMD_POWEROFF,
	CTL_CMD_REBOOT,
	CTL_CMD_PAUSE,
	CTL_CMD_RESUME,
	CTL_CMD_KVP_GET,
	CTL_CMD_KVP_SET,
	CTL_CMD_EJECT,
	CTL_CMD_INSERT,
	CTL_CMD_DISK_ADD,
	CTL_CMD_DISK_REMOVE,
	CTL_CMD_SHUTDOWN_CANCEL,
	CTL_CMD_LINK,
	CTL_CMD_COUNT,
};

/* Hyper-V KVP pools (HV_KVP_POOL_* numbering). */
enum ctl_kvp_pool {
	CTL_KVP_EXTERNAL,
	CTL_KVP_GUEST,
	CTL_KVP_AUTO,
	CTL_KVP_AUTO_EXTERNAL,
	CTL_KVP_AUTO_INTERNAL,
	CTL_KVP_POOLS,
};

/*
 * One validated request as an op sees it. String pointers live only for
 * the duration of the op call: copy them to defer.
 */
struct ctl_req {
	enum ctl_cmd cmd;
	unsigned int timeout;	/* shutdown: seconds before ACPI */
	enum ctl_kvp_pool pool; /* kvp-get, kvp-set */
	const char *key;	/* kvp-get, kvp-set */
	const char *value;	/* kvp-set */
	const char *drive;	/* eject, insert: "hda".."hdd"; disk-add
				     * (optional), disk-remove: "sdb" or
				     * "C:T:L" */
	const char *file;	/* insert, disk-add: image path (absolute) */
	const char *addr;	/* disk-add: "C:T:L" (optional) */
	const char *format;	/* disk-add: raw, vhd (optional) */
	bool force;		/* eject: even if the guest locked it */
	bool readonly;		/* disk-add */
	const char *nic;	/* link: "net0", or the TAP name */
	const char *state;	/* link: "up" or "down" */
	struct json_object *result; /* op adds its result members here */
	char *err;		    /* op's error message on failure */
	size_t errlen;
	uint64_t token; /* for ctl_server_complete() */
};

/*
 * The VM side. Each op returns 0 (ok; the response carries req->result),
 * -errno (error; the message is req->err, or strerror when left empty) or
 * CTL_DEFERRED (the op answers later through ctl_server_complete() with
 * req->token). A NULL op is answered "not supported by this VM".
 *
 * status: the server has already put "name" and "pid" in req->result; the
 *   op adds uuid, state ("running", "paused", "stopping"), uptime (s),
 *   vcpus, memory (bytes) and kernel.
 * stats: counters go in through ctl_stats_add() on @st; registered stats
 *   providers are called after the op.
 * shutdown: ask the guest to shut down (Shutdown IC, then the ACPI power
 *   button after req->timeout seconds); report "method" etc.
 */
struct ctl_ops {
	int (*status)(void *opaque, struct ctl_req *req);
	int (*stats)(void *opaque, struct ctl_req *req, struct ctl_stats *st);
	int (*shutdown)(void *opaque, struct ctl_req *req);
	int (*poweroff)(void *opaque, struct ctl_req *req);
	int (*reboot)(void *opaque, struct ctl_req *req);
	int (*pause)(void *opaque, struct ctl_req *req);
	int (*resume)(void *opaque, struct ctl_req *req);
	int (*kvp_get)(void *opaque, struct ctl_req *req);
	int (*kvp_set)(void *opaque, struct ctl_req *req);
	/* Media change on an IDE CD-ROM (docs/control.md). */
	int (*eject)(void *opaque, struct ctl_req *req);
	int (*insert)(void *opaque, struct ctl_req *req);
	/* Hot-add / hot-remove of a synthetic SCSI disk. */
	int (*disk_add)(void *opaque, struct ctl_req *req);
	int (*disk_remove)(void *opaque, struct ctl_req *req);
	/* Link state of a NIC as the guest sees it. */
	int (*link)(void *opaque, struct ctl_req *req);
	/* Drop a pending shutdown's ACPI fallback; answer it "cancelled". */
	int (*shutdown_cancel)(void *opaque, struct ctl_req *req);
};

/*
 * Counters for the stats command, without json-c in the caller: @path is
 * dotted ("vcpu0.exits.io"); each part becomes a nested object. A path
 * that collides with an existing counter or group is ignored (-EEXIST).
 */
int ctl_stats_add(struct ctl_stats *st, const char *path, uint64_t value);

/* A subsystem (hv, vmbus) adding its counters to every stats reply. */
typedef void (*ctl_stats_fn)(void *opaque, struct ctl_stats *st);

/* ---- protocol core (no sockets; what the fuzzer drives) ---- */

const char *ctl_kvp_pool_name(enum ctl_kvp_pool pool);

struct ctl_dispatch {
	const struct ctl_ops *ops;
	void *opaque;
	const char *name;	 /* VM name for status */
	ctl_stats_fn *stats_fns; /* [nr_stats] providers */
	void **stats_opaque;
	unsigned int nr_stats;
};

/*
 * Handle one request line (no newline). Returns 0 with *resp set to the
 * response object (caller puts it), or CTL_DEFERRED with *resp NULL and
 * *id set to a new reference to the request's id (the caller keeps it to
 * answer later). @token is handed to the op.
 */
int ctl_dispatch_line(const struct ctl_dispatch *d, const char *line,
		      size_t len, uint64_t token, struct json_object **resp,
		      struct json_object **id);
/* The same, and *@cmd: the request's enum ctl_cmd, -1 when it had none. */
int ctl_dispatch_line_cmd(const struct ctl_dispatch *d, const char *line,
			  size_t len, uint64_t token, struct json_object **resp,
			  struct json_object **id, int *cmd);
/* Build a response; @id and @result references are taken (may be NULL). */
struct json_object *ctl_response_ok(struct json_object *id,
				    struct json_object *result);
struct json_object *ctl_response_err(struct json_object *id, const char *code,
				     const char *msg);

/* ---- naming and the runtime directory (shared by server and client) ---- */

/* Letters, digits, '.', '_', '-'; not starting with '.' or '-'. */
bool ctl_name_valid(const char *name);
/*
 * $HVKVM_RUNTIME_DIR, else /run/hvkvm (root) or $XDG_RUNTIME_DIR/hvkvm.
 * With @create, make the last component (mode 0700) if missing.
 */
int ctl_runtime_dir(char *buf, size_t len, bool create);
/* <runtime dir>/<name>.sock; -ENAMETOOLONG if it cannot be a sun_path. */
int ctl_socket_path(const char *name, char *buf, size_t len);

/* ---- server ---- */

struct ctl_server_params {
	const char *name;	  /* VM name (ctl_name_valid) */
	const char *path;	  /* socket path; NULL: the runtime dir */
	unsigned int max_clients; /* 0: CTL_MAX_CLIENTS */
	unsigned int idle_ms;	  /* 0: CTL_IDLE_TIMEOUT s */
	const struct ctl_ops *ops;
	void *opaque;
};

/*
 * Take the VM name (a lock file next to the socket), replace a stale
 * socket, bind (0600) and listen, and serve on @loop. Call before the loop
 * runs or on its thread. -EADDRINUSE with a one-line @err when a live VM
 * owns the name.
 */
int ctl_server_create(struct evloop *loop, const struct ctl_server_params *p,
		      char *err, size_t errlen, struct ctl_server **out);
/*
 * On the loop thread or with the loop stopped: answer deferred requests
 * with an error, close every connection, remove the socket and lock file.
 */
void ctl_server_destroy(struct ctl_server *srv);
const char *ctl_server_path(const struct ctl_server *srv);
/* Before the loop runs: add a stats provider (at most 16). */
int ctl_server_add_stats(struct ctl_server *srv, ctl_stats_fn fn, void *opaque);
/*
 * On the loop thread: answer the deferred request @token. @err 0 sends
 * @result (reference taken; NULL = {}), else an error with @msg (NULL:
 * strerror). -ENOENT if the client has gone (the answer is dropped).
 */
int ctl_server_complete(struct ctl_server *srv, uint64_t token, int err,
			const char *msg, struct json_object *result);
/*
 * On the loop thread: is deferred request @token still owed an answer (its
 * client connected)? A shutdown whose client has gone may be taken over.
 */
bool ctl_server_waiting(const struct ctl_server *srv, uint64_t token);

/* ---- the ops for a real VM (src/ctl/ctl_vm.c, library hvkvm_ctl_vm) ---- */

struct vm;
struct ctl_vm;

/*
 * Serve @vm's control socket named @name on its I/O thread (vm->io, which
 * must be running). Call after vm_create(); -EADDRINUSE with @err when a
 * live VM already has the name.
 */
int ctl_vm_attach(struct vm *vm, const char *name, char *err, size_t errlen,
		  struct ctl_vm **out);
/*
 * After vm_run() returned, before vm_destroy(): answer what is pending,
 * close the connections and remove the socket (waits for the I/O thread).
 */
void ctl_vm_stop(struct ctl_vm *cv);
/* After vm_destroy(). */
void ctl_vm_free(struct ctl_vm *cv);

/* ---- client: `hvkvm ctl` and `hvkvm list` ---- */

int ctl_main(int argc, char **argv);
int list_main(int argc, char **argv);

/* ---- daemon mode ---- */

/*
 * Detach: double fork + setsid, stdin from /dev/null. In the original
 * process this does not return: it waits for the daemon to call
 * daemon_ready() and exits 0, or exits 1 if the daemon exits first (its
 * error went to the terminal). In the daemon it returns 0 with the pidfile
 * (if any) written atomically and locked, removed at exit; or -errno with
 * @err ("already running (pid N)"). Call before creating any thread.
 */
int daemon_start(const char *pidfile, const char *logfile, char *err,
		 size_t errlen);
/*
 * In the daemon, when start-up is complete: stdout/stderr go to the log
 * file (or /dev/null), the working directory becomes /, and the waiting
 * parent exits 0.
 */
void daemon_ready(void);

#endif /* HVKVM_CTL_H */
