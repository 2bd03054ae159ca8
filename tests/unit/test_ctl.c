// SPDX-License-Identifier: MIT
/*
 * Unit tests: the control protocol core (every command, hostile input),
 * the socket server on a real evloop in a temp directory (pipelining,
 * limits, stale sockets, permissions, deferred answers), the `hvkvm ctl` /
 * `hvkvm list` client, and daemon start-up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hvkvm/ctl.h"
#include "hvkvm/evloop.h"
#include "hvkvm/util.h"

/* ---- a fake VM behind the ops table ---- */

struct fake_vm {
	bool paused;
	unsigned int poweroffs, reboots, shutdowns;
	unsigned int last_timeout;
	bool defer;	/* shutdown answers later */
	bool defer_now; /* ... from inside the op */
	struct ctl_server *srv;
	uint64_t token; /* of the deferred shutdown */
	enum ctl_kvp_pool kvp_pool;
	char kvp_key[CTL_KVP_KEY_MAX + 1];
	char kvp_value[CTL_KVP_VALUE_MAX + 1];
	char drive[CTL_DRIVE_MAX + 1]; /* last eject/insert */
	char file[256];
	char addr[32], format[16];
	bool force, readonly;
};

static int fake_status(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	json_object_object_add(
		req->result, "uuid",
		json_object_new_string("c7a5fdbd-cdaf-9455-926a-d65c16db1809"));
	json_object_object_add(req->result, "state",
			       json_object_new_string(f->paused ? "paused" :
								  "running"));
	json_object_object_add(req->result, "uptime",
			       json_object_new_double(3725.5));
	json_object_object_add(req->result, "vcpus", json_object_new_int(2));
	json_object_object_add(req->result, "memory",
			       json_object_new_int64(512 << 20));
	json_object_object_add(req->result, "kernel",
			       json_object_new_string("/boot/vmlinux"));
	return 0;
}

static int fake_stats(void *opaque, struct ctl_req *req, struct ctl_stats *st)
{
	ctl_stats_add(st, "vcpu0.exits.io", 42);
	ctl_stats_add(st, "vcpu0.exits.hlt", 7);
	ctl_stats_add(st, "vcpu1.exits.io", UINT64_MAX);
	return 0;
}

static void fake_hv_stats(void *opaque, struct ctl_stats *st)
{
	ctl_stats_add(st, "hyperv.hypercalls", *(uint64_t *)opaque);
}

static int fake_shutdown(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	f->shutdowns++;
	f->last_timeout = req->timeout;
	if (f->defer_now) {
		struct json_object *res = json_object_new_object();

		json_object_object_add(res, "method",
				       json_object_new_string("early"));
		assert_int_equal(ctl_server_complete(f->srv, req->token, 0,
						     NULL, res),
				 0);
		return CTL_DEFERRED;
	}
	if (f->defer) {
		f->token = req->token;
		return CTL_DEFERRED;
	}
	json_object_object_add(req->result, "method",
			       json_object_new_string("shutdown-ic"));
	return 0;
}

static int fake_poweroff(void *opaque, struct ctl_req *req)
{
	((struct fake_vm *)opaque)->poweroffs++;
	return 0;
}

static int fake_reboot(void *opaque, struct ctl_req *req)
{
	((struct fake_vm *)opaque)->reboots++;
	return 0;
}

static int fake_pause(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	if (f->paused) {
		snprintf(req->err, req->errlen, "already paused");
		return -EALREADY;
	}
	f->paused = true;
	return 0;
}

static int fake_resume(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	if (!f->paused)
		return -EINVAL; /* no message: strerror */
	f->paused = false;
	return 0;
}

static int fake_kvp_get(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	if (req->pool != f->kvp_pool || strcmp(req->key, f->kvp_key)) {
		snprintf(req->err, req->errlen, "no such key");
		return -ENOENT;
	}
	json_object_object_add(req->result, "value",
			       json_object_new_string(f->kvp_value));
	return 0;
}

static int fake_kvp_set(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	f->kvp_pool = req->pool;
	snprintf(f->kvp_key, sizeof(f->kvp_key), "%s", req->key);
	snprintf(f->kvp_value, sizeof(f->kvp_value), "%s", req->value);
	return 0;
}

static int fake_eject(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	snprintf(f->drive, sizeof(f->drive), "%s", req->drive);
	f->force = req->force;
	return 0;
}

static int fake_insert(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	snprintf(f->drive, sizeof(f->drive), "%s", req->drive);
	snprintf(f->file, sizeof(f->file), "%s", req->file);
	return 0;
}

static int fake_disk_add(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	snprintf(f->drive, sizeof(f->drive), "%s",
		 req->drive ? req->drive : "-");
	snprintf(f->file, sizeof(f->file), "%s", req->file);
	snprintf(f->addr, sizeof(f->addr), "%s", req->addr ? req->addr : "-");
	snprintf(f->format, sizeof(f->format), "%s",
		 req->format ? req->format : "-");
	f->readonly = req->readonly;
	return 0;
}

static int fake_disk_remove(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	snprintf(f->drive, sizeof(f->drive), "%s", req->drive);
	return 0;
}

static int fake_link(void *opaque, struct ctl_req *req)
{
	struct fake_vm *f = opaque;

	snprintf(f->drive, sizeof(f->drive), "%s:%s", req->nic, req->state);
	return 0;
}

static const struct ctl_ops fake_ops = {
	.status = fake_status,
	.stats = fake_stats,
	.shutdown = fake_shutdown,
	.poweroff = fake_poweroff,
	.reboot = fake_reboot,
	.pause = fake_pause,
	.resume = fake_resume,
	.kvp_get = fake_kvp_get,
	.kvp_set = fake_kvp_set,
	.eject = fake_eject,
	.insert = fake_insert,
	.disk_add = fake_disk_add,
	.disk_remove = fake_disk_remove,
	.link = fake_link,
};

/* ---- protocol core, no sockets ---- */

static struct fake_vm pvm;
static uint64_t phypercalls = 99;
static ctl_stats_fn pfns[1] = { fake_hv_stats };
static void *popq[1] = { &phypercalls };
static const struct ctl_dispatch pdisp = {
	.ops = &fake_ops,
	.opaque = &pvm,
	.name = "vm1",
	.stats_fns = pfns,
	.stats_opaque = popq,
	.nr_stats = 1,
};

/* Dispatch @line; returns the response (caller puts). */
static struct json_object *call(const struct ctl_dispatch *d, const char *line)
{
	struct json_object *resp, *id;

	assert_int_equal(
		ctl_dispatch_line(d, line, strlen(line), 1, &resp, &id), 0);
	assert_non_null(resp);
	assert_null(id);
	return resp;
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL, *p;
	struct json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save))
		if (!v || !json_object_object_get_ex(v, p, &v))
			return NULL;
	return v;
}

static bool is_ok(struct json_object *resp)
{
	return json_object_get_boolean(get(resp, "ok"));
}

static const char *code_of(struct json_object *resp)
{
	struct json_object *c = get(resp, "code");

	return c ? json_object_get_string(c) : "";
}

static void expect_ok(const char *line)
{
	struct json_object *r = call(&pdisp, line);

	if (!is_ok(r))
		fail_msg("%s -> %s", line, json_object_to_json_string(r));
	json_object_put(r);
}

static void expect_err(const char *line, const char *code, const char *needle)
{
	struct json_object *r = call(&pdisp, line);
	struct json_object *e = get(r, "error");

	if (is_ok(r) || strcmp(code_of(r), code) || !e ||
	    (needle && !strstr(json_object_get_string(e), needle)))
		fail_msg("%s -> %s (want %s '%s')", line,
			 json_object_to_json_string(r), code,
			 needle ? needle : "");
	json_object_put(r);
}

static void test_proto_status(void **state)
{
	struct json_object *r;

	memset(&pvm, 0, sizeof(pvm));
	r = call(&pdisp, "{\"cmd\": \"status\", \"id\": 7}");
	assert_true(is_ok(r));
	assert_int_equal(json_object_get_int(get(r, "id")), 7);
	assert_string_equal(json_object_get_string(get(r, "result.name")),
			    "vm1");
	assert_int_equal(json_object_get_int(get(r, "result.pid")), getpid());
	assert_string_equal(json_object_get_string(get(r, "result.state")),
			    "running");
	assert_int_equal(json_object_get_int64(get(r, "result.memory")),
			 512 << 20);
	json_object_put(r);
	/* A string id is echoed; no id gives "id": null. */
	r = call(&pdisp, "{\"id\": \"abc\", \"cmd\": \"status\"}");
	assert_string_equal(json_object_get_string(get(r, "id")), "abc");
	json_object_put(r);
	r = call(&pdisp, "{\"cmd\":\"status\"}");
	assert_true(json_object_object_get_ex(r, "id", NULL));
	assert_null(get(r, "id"));
	json_object_put(r);
}

static void test_proto_commands(void **state)
{
	struct json_object *r;

	memset(&pvm, 0, sizeof(pvm));
	expect_ok("{\"cmd\":\"poweroff\"}");
	expect_ok("{\"cmd\":\"reboot\"}");
	assert_int_equal(pvm.poweroffs, 1);
	assert_int_equal(pvm.reboots, 1);
	expect_ok("{\"cmd\":\"pause\"}");
	assert_true(pvm.paused);
	expect_err("{\"cmd\":\"pause\"}", "failed", "already paused");
	expect_ok("{\"cmd\":\"resume\"}");
	assert_false(pvm.paused);
	expect_err("{\"cmd\":\"resume\"}", "failed", "Invalid argument");
	/* shutdown: default and given timeouts. */
	r = call(&pdisp, "{\"cmd\":\"shutdown\"}");
	assert_true(is_ok(r));
	assert_string_equal(json_object_get_string(get(r, "result.method")),
			    "shutdown-ic");
	json_object_put(r);
	assert_int_equal(pvm.last_timeout, CTL_SHUTDOWN_TIMEOUT);
	expect_ok("{\"cmd\":\"shutdown\",\"timeout\":0}");
	assert_int_equal(pvm.last_timeout, 0);
	expect_ok("{\"cmd\":\"shutdown\",\"timeout\":3600}");
	assert_int_equal(pvm.last_timeout, 3600);
	expect_ok("{\"cmd\":\"shutdown\",\"timeout\":null}");
	assert_int_equal(pvm.last_timeout, CTL_SHUTDOWN_TIMEOUT);
	assert_int_equal(pvm.shutdowns, 4);
	/* KVP: pools by name and number. */
	expect_ok(
		"{\"cmd\":\"kvp-set\",\"pool\":\"external\",\"key\":\"k\",\"value\":\"v \\u00e9\"}");
	assert_int_equal(pvm.kvp_pool, CTL_KVP_EXTERNAL);
	assert_string_equal(pvm.kvp_value, "v \xc3\xa9");
	r = call(&pdisp, "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"k\"}");
	assert_true(is_ok(r));
	assert_string_equal(json_object_get_string(get(r, "result.value")),
			    "v \xc3\xa9");
	json_object_put(r);
	expect_err("{\"cmd\":\"kvp-get\",\"pool\":\"guest\",\"key\":\"k\"}",
		   "failed", "no such key");
	expect_ok(
		"{\"cmd\":\"kvp-set\",\"pool\":\"auto-internal\",\"key\":\"a\",\"value\":\"b\"}");
	assert_int_equal(pvm.kvp_pool, CTL_KVP_AUTO_INTERNAL);
	/* Media: eject (force optional, 0..1), insert. */
	expect_ok("{\"cmd\":\"eject\",\"drive\":\"hdc\"}");
	assert_string_equal(pvm.drive, "hdc");
	assert_false(pvm.force);
	expect_ok("{\"cmd\":\"eject\",\"drive\":\"hdb\",\"force\":1}");
	assert_true(pvm.force);
	assert_int_equal(pvm.last_timeout,
			 CTL_SHUTDOWN_TIMEOUT); /* untouched */
	expect_ok("{\"cmd\":\"insert\",\"drive\":\"hdc\",\"file\":\"/x.iso\"}");
	assert_string_equal(pvm.file, "/x.iso");
	expect_err("{\"cmd\":\"eject\"}", "invalid-argument", "'drive'");
	expect_err("{\"cmd\":\"eject\",\"drive\":\"hdc\",\"force\":2}",
		   "invalid-argument", "'force' must be 0..1");
	expect_err("{\"cmd\":\"eject\",\"drive\":\"a-very-long-drive-name\"}",
		   "invalid-argument", "1..15 bytes");
	expect_err("{\"cmd\":\"insert\",\"drive\":\"hdc\"}", "invalid-argument",
		   "'file'");
	expect_err(
		"{\"cmd\":\"insert\",\"drive\":\"hdc\",\"file\":\"a\",\"key\":\"k\"}",
		"invalid-argument", "unknown argument 'key'");
	/* SCSI hot-plug: disk-add (file required, the rest optional). */
	expect_ok("{\"cmd\":\"disk-add\",\"file\":\"/d.vhd\"}");
	assert_string_equal(pvm.drive, "-");
	assert_string_equal(pvm.addr, "-");
	assert_false(pvm.readonly);
	expect_ok(
		"{\"cmd\":\"disk-add\",\"file\":\"/e.raw\",\"drive\":\"sdc\",\"addr\":\"1:0:3\",\"readonly\":1,\"format\":\"raw\"}");
	assert_string_equal(pvm.drive, "sdc");
	assert_string_equal(pvm.addr, "1:0:3");
	assert_string_equal(pvm.format, "raw");
	assert_true(pvm.readonly);
	expect_err("{\"cmd\":\"disk-add\",\"drive\":\"sdc\"}",
		   "invalid-argument", "'file'");
	expect_err("{\"cmd\":\"disk-add\",\"file\":\"/e\",\"readonly\":2}",
		   "invalid-argument", "'readonly' must be 0..1");
	expect_err(
		"{\"cmd\":\"disk-add\",\"file\":\"/e\",\"addr\":\"00000000000000000:0:0\"}",
		"invalid-argument", "'addr' must be 1..16 bytes");
	expect_err("{\"cmd\":\"disk-add\",\"file\":\"/e\",\"addr\":7}",
		   "invalid-argument", "'addr'");
	expect_ok("{\"cmd\":\"disk-remove\",\"drive\":\"0:0:5\"}");
	assert_string_equal(pvm.drive, "0:0:5");
	expect_err("{\"cmd\":\"disk-remove\"}", "invalid-argument", "'drive'");
	/* NIC link state. */
	expect_ok("{\"cmd\":\"link\",\"nic\":\"net0\",\"state\":\"down\"}");
	assert_string_equal(pvm.drive, "net0:down");
	expect_err("{\"cmd\":\"link\",\"nic\":\"net0\"}", "invalid-argument",
		   "'state'");
	expect_err("{\"cmd\":\"link\",\"nic\":\"net0\",\"state\":\"sideways\"}",
		   "invalid-argument", "'state' must be 1..4 bytes");
}

static void test_proto_stats(void **state)
{
	struct json_object *r = call(&pdisp, "{\"cmd\":\"stats\",\"id\":1}");

	assert_true(is_ok(r));
	assert_int_equal(json_object_get_int64(get(r, "result.vcpu0.exits.io")),
			 42);
	assert_int_equal(
		json_object_get_int64(get(r, "result.vcpu0.exits.hlt")), 7);
	assert_true(json_object_get_uint64(get(r, "result.vcpu1.exits.io")) ==
		    UINT64_MAX);
	assert_int_equal(
		json_object_get_int64(get(r, "result.hyperv.hypercalls")), 99);
	/* uint64 survives the text form exactly. */
	assert_non_null(
		strstr(json_object_to_json_string(r), "18446744073709551615"));
	json_object_put(r);
}

static void test_stats_add_paths(void **state)
{
	struct json_object *root = json_object_new_object();
	/* struct ctl_stats is { root }: build one the way the server does. */
	struct {
		struct json_object *root;
	} s = { root };
	struct ctl_stats *st = (struct ctl_stats *)&s;

	assert_int_equal(ctl_stats_add(st, "a.b", 1), 0);
	assert_int_equal(ctl_stats_add(st, "a.c", 2), 0);
	assert_int_equal(ctl_stats_add(st, "a.b", 3), -EEXIST);
	assert_int_equal(ctl_stats_add(st, "a.b.x", 3), -EEXIST);
	assert_int_equal(ctl_stats_add(st, "a", 3), -EEXIST);
	assert_int_equal(ctl_stats_add(st, "", 3), -EINVAL);
	assert_int_equal(ctl_stats_add(st, "a..b", 3), -EINVAL);
	assert_int_equal(ctl_stats_add(st, "a.", 3), -EINVAL);
	assert_int_equal(ctl_stats_add(st, "1.2.3.4.5.6.7.8.9", 3), -EINVAL);
	assert_int_equal(json_object_get_int(get(root, "a.b")), 1);
	assert_int_equal(json_object_get_int(get(root, "a.c")), 2);
	json_object_put(root);
}

static void test_proto_malformed(void **state)
{
	static const struct {
		const char *line, *code, *needle;
	} bad[] = {
		{ "{", "parse-error", "malformed JSON" },
		{ "{\"cmd\":\"status\"", "parse-error", "end of line" },
		{ "nonsense", "parse-error", "malformed JSON" },
		{ "{'cmd':'status'}", "parse-error", NULL },
		{ "{\"cmd\":\"status\",}", "parse-error", NULL },
		{ "{\"cmd\":\"status\"} {}", "parse-error",
		  "after the request" },
		{ "{\"cmd\":\"status\"}x", "parse-error", NULL },
		{ "\xff\xfe{}", "parse-error", NULL },
		{ "{\"cmd\":\"st\xc3\"}", "parse-error", NULL },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		  "parse-error", NULL },
		{ "[]", "invalid-request", "JSON object" },
		{ "42", "invalid-request", "JSON object" },
		{ "\"status\"", "invalid-request", "JSON object" },
		{ "null", "invalid-request", "JSON object" },
		{ "{}", "invalid-request", "'cmd'" },
		{ "{\"cmd\":5}", "invalid-request", "'cmd'" },
		{ "{\"cmd\":null}", "invalid-request", "'cmd'" },
		{ "{\"cmd\":\"status\",\"id\":{}}", "invalid-request", "'id'" },
		{ "{\"cmd\":\"status\",\"id\":[1]}", "invalid-request",
		  "'id'" },
		{ "{\"cmd\":\"status\",\"id\":1.5}", "invalid-request",
		  "'id'" },
		{ "{\"cmd\":\"frobnicate\"}", "unknown-command", "frobnicate" },
		{ "{\"cmd\":\"STATUS\"}", "unknown-command", NULL },
		{ "{\"cmd\":\"status\",\"verbose\":true}", "invalid-argument",
		  "unknown argument 'verbose'" },
		{ "{\"cmd\":\"shutdown\",\"timeout\":\"10\"}",
		  "invalid-argument", "'timeout' must be an integer" },
		{ "{\"cmd\":\"shutdown\",\"timeout\":1.5}", "invalid-argument",
		  NULL },
		{ "{\"cmd\":\"shutdown\",\"timeout\":true}", "invalid-argument",
		  NULL },
		{ "{\"cmd\":\"shutdown\",\"timeout\":-1}", "invalid-argument",
		  "0..3600" },
		{ "{\"cmd\":\"shutdown\",\"timeout\":3601}", "invalid-argument",
		  NULL },
		{ "{\"cmd\":\"shutdown\",\"timeout\":99999999999999999999999}",
		  "invalid-argument", NULL },
		{ "{\"cmd\":\"kvp-get\",\"key\":\"k\"}", "invalid-argument",
		  "missing argument 'pool'" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":0}", "invalid-argument",
		  "missing argument 'key'" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":\"nope\",\"key\":\"k\"}",
		  "invalid-argument", "'pool' must be" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":5,\"key\":\"k\"}",
		  "invalid-argument", "'pool' must be" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":[],\"key\":\"k\"}",
		  "invalid-argument", "a string or an integer" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":7}",
		  "invalid-argument", "'key' must be a string" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"\"}",
		  "invalid-argument", "1..255 bytes" },
		{ "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"a\\u0000b\"}",
		  "parse-error", "NUL (\\u0000)" },
		{ "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\"}",
		  "invalid-argument", "'value'" },
		{ "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\",\"value\":{}}",
		  "invalid-argument", "'value' must be a string" },
	};
	char big[2048];
	unsigned int i;
	struct json_object *r;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_err(bad[i].line, bad[i].code, bad[i].needle);
	/* The id is kept on argument errors, lost on parse errors. */
	r = call(&pdisp, "{\"id\":5,\"cmd\":\"nope\"}");
	assert_int_equal(json_object_get_int(get(r, "id")), 5);
	json_object_put(r);
	/* A key one byte over the limit. */
	memset(big, 'k', sizeof(big));
	snprintf(big, sizeof(big),
		 "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"%.*s\"}",
		 CTL_KVP_KEY_MAX + 1, big + 1000);
	expect_err(big, "invalid-argument", "1..255 bytes");
	/* An embedded NUL byte in the line. */
	r = NULL;
	{
		struct json_object *id;
		static const char nul[] = "{\"cmd\":\"status\"}\0garbage";

		assert_int_equal(ctl_dispatch_line(&pdisp, nul, sizeof(nul) - 1,
						   1, &r, &id),
				 0);
		assert_false(is_ok(r));
		assert_string_equal(code_of(r), "parse-error");
		json_object_put(r);
	}
}

static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80	    ? 0 :
			(*s & 0xe0) == 0xc0 ? 1 :
			(*s & 0xf0) == 0xe0 ? 2 :
			(*s & 0xf8) == 0xf0 ? 3 :
					      -1;

		if (n < 0)
			return false;
		for (s++; n; n--, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* Echoed client strings are clipped on a character boundary, one line. */
static void test_proto_error_echo(void **state)
{
	char line[512], name[256];
	struct json_object *r;
	const char *e;
	size_t n = 0;
	int i;

	name[n++] = 'a';
	for (i = 0; i < 60; i++) {
		name[n++] = (char)0xc3;
		name[n++] = (char)0xa9; /* U+00E9 */
	}
	name[n] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", name);
	r = call(&pdisp, line);
	e = json_object_get_string(get(r, "error"));
	assert_true(utf8_valid((const unsigned char *)e));
	assert_true(strlen(e) < 100);
	json_object_put(r);
	snprintf(line, sizeof(line), "{\"cmd\":\"status\",\"x\\ny\\u0007\":1}");
	r = call(&pdisp, line);
	e = json_object_get_string(get(r, "error"));
	assert_non_null(strstr(e, "'x?y?'"));
	json_object_put(r);
}

static void test_proto_garbage(void **state)
{
	struct json_object *r, *id;
	unsigned char buf[512];
	unsigned int i, j, seed = 12345;

	/* Random bytes never crash and always give an error response. */
	for (i = 0; i < 2000; i++) {
		size_t len = (seed = seed * 1103515245 + 12345) % sizeof(buf);

		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)((seed = seed * 1103515245 +
							 12345) >>
						 16);
		if (len)
			buf[0] = (i & 1) ? '{' : buf[0];
		assert_int_equal(ctl_dispatch_line(&pdisp, (char *)buf, len, 1,
						   &r, &id),
				 0);
		assert_non_null(r);
		assert_false(is_ok(r));
		/* The response is one line of valid JSON. */
		assert_null(strchr(json_object_to_json_string_ext(
					   r, JSON_C_TO_STRING_PLAIN),
				   '\n'));
		json_object_put(r);
	}
}

static void test_proto_unsupported(void **state)
{
	static const struct ctl_ops none = { 0 };
	struct ctl_dispatch d = { .ops = &none, .name = "x" };
	static const char *const cmds[] = { "status",	"stats",  "shutdown",
					    "poweroff", "reboot", "pause",
					    "resume" };
	char line[128];
	struct json_object *r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", cmds[i]);
		r = call(&d, line);
		assert_false(is_ok(r));
		assert_string_equal(code_of(r), "unsupported");
		json_object_put(r);
	}
	r = call(&d, "{\"cmd\":\"kvp-get\",\"pool\":1,\"key\":\"x\"}");
	assert_string_equal(code_of(r), "unsupported");
	json_object_put(r);
}

/* ---- the server on a real socket and evloop ---- */

struct srv_fix {
	char dir[64];
	char path[128];
	struct evloop *loop;
	struct ctl_server *srv;
	struct fake_vm vm;
	uint64_t hypercalls;
};

struct cli {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

static int srv_setup(void **state)
{
	struct srv_fix *f = calloc(1, sizeof(*f));
	struct ctl_server_params p = { .name = "testvm",
				       .ops = &fake_ops,
				       .max_clients = 4 };
	char err[256];

	strcpy(f->dir, "/tmp/hvkvm-ctl-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	setenv("HVKVM_RUNTIME_DIR", f->dir, 1);
	snprintf(f->path, sizeof(f->path), "%s/testvm.sock", f->dir);
	p.opaque = &f->vm;
	f->hypercalls = 5;
	assert_int_equal(evloop_create(&f->loop), 0);
	assert_int_equal(
		ctl_server_create(f->loop, &p, err, sizeof(err), &f->srv), 0);
	f->vm.srv = f->srv;
	assert_int_equal(
		ctl_server_add_stats(f->srv, fake_hv_stats, &f->hypercalls), 0);
	assert_string_equal(ctl_server_path(f->srv), f->path);
	assert_int_equal(evloop_start(f->loop, "ctl-test"), 0);
	*state = f;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv_fix *f = *state;
	char cmd[128];

	evloop_stop(f->loop);
	ctl_server_destroy(f->srv);
	evloop_destroy(f->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct cli *cli_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	struct cli *c = calloc(1, sizeof(*c));

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static void cli_close(struct cli *c)
{
	close(c->fd);
	free(c);
}

static void cli_send(struct cli *c, const void *s, size_t len)
{
	assert_int_equal(send(c->fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void cli_sends(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Next response line parsed, or NULL at EOF. */
static struct json_object *cli_read(struct cli *c)
{
	struct json_object *o;
	char *nl;
	ssize_t n;

	while (!(nl = memchr(c->buf, '\n', c->len))) {
		assert_true(c->len < sizeof(c->buf));
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return NULL;
		assert_true(n > 0); /* not a timeout */
		c->len += (size_t)n;
	}
	*nl = '\0';
	o = json_tokener_parse(c->buf);
	assert_non_null(o);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return o;
}

static struct json_object *cli_req(struct cli *c, const char *line)
{
	cli_send(c, line, strlen(line));
	cli_send(c, "\n", 1);
	return cli_read(c);
}

static void cli_expect_eof(struct cli *c)
{
	struct json_object *o = cli_read(c);

	if (o)
		fail_msg("unexpected %s", json_object_to_json_string(o));
}

static void test_server_roundtrip(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path);
	struct json_object *r;
	int i;

	r = cli_req(c, "{\"cmd\":\"status\",\"id\":1}");
	assert_true(is_ok(r));
	assert_string_equal(json_object_get_string(get(r, "result.name")),
			    "testvm");
	json_object_put(r);
	r = cli_req(c, "{\"cmd\":\"stats\",\"id\":2}");
	assert_int_equal(
		json_object_get_int(get(r, "result.hyperv.hypercalls")), 5);
	assert_int_equal(json_object_get_int(get(r, "result.vcpu0.exits.io")),
			 42);
	json_object_put(r);
	/* Pipelined: three requests in one write, CRLF and blank lines. */
	cli_send(
		c,
		"{\"cmd\":\"pause\",\"id\":3}\r\n\n  \n{\"cmd\":\"status\",\"id\":4}\n{\"cmd\":\"resume\",\"id\":5}\n",
		strlen("{\"cmd\":\"pause\",\"id\":3}\r\n\n  \n{\"cmd\":\"status\",\"id\":4}\n{\"cmd\":\"resume\",\"id\":5}\n"));
	for (i = 3; i <= 5; i++) {
		r = cli_read(c);
		assert_true(is_ok(r));
		assert_int_equal(json_object_get_int(get(r, "id")), i);
		if (i == 4)
			assert_string_equal(
				json_object_get_string(get(r, "result.state")),
				"paused");
		json_object_put(r);
	}
	/* One request split over many writes. */
	{
		const char *req = "{\"cmd\":\"poweroff\",\"id\":6}\n";

		for (i = 0; req[i]; i++) {
			cli_send(c, req + i, 1);
			usleep(200);
		}
		r = cli_read(c);
		assert_true(is_ok(r));
		assert_int_equal(json_object_get_int(get(r, "id")), 6);
		json_object_put(r);
	}
	assert_int_equal(f->vm.poweroffs, 1);
	/* Errors keep the connection open. */
	r = cli_req(c, "this is not json");
	assert_string_equal(code_of(r), "parse-error");
	json_object_put(r);
	r = cli_req(c, "{\"cmd\":\"status\",\"id\":8}");
	assert_true(is_ok(r));
	json_object_put(r);
	cli_close(c);
}

static void test_server_socket_mode(void **state)
{
	struct srv_fix *f = *state;
	char lock[160];
	struct stat st;

	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(lock, sizeof(lock), "%s/testvm.lock", f->dir);
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_server_name_in_use(void **state)
{
	struct srv_fix *f = *state;
	struct ctl_server_params p = { .name = "testvm", .ops = &fake_ops };
	struct ctl_server *srv2 = NULL;
	struct json_object *r;
	struct cli *c;
	char err[256] = "";

	assert_int_equal(ctl_server_create(f->loop, &p, err, sizeof(err),
					   &srv2),
			 -EADDRINUSE);
	assert_null(srv2);
	assert_non_null(strstr(err, "a VM named 'testvm' is already running"));
	/* The failed attempt left the live server alone. */
	c = cli_open(f->path);
	r = cli_req(c, "{\"cmd\":\"status\"}");
	assert_true(is_ok(r));
	json_object_put(r);
	cli_close(c);
	/* Bad names never become paths. */
	p.name = "../etc";
	assert_int_equal(ctl_server_create(f->loop, &p, err, sizeof(err),
					   &srv2),
			 -EINVAL);
	assert_non_null(strstr(err, "VM name"));
}

/* A socket file nobody listens on (the owner was killed) is replaced. */
static void test_server_stale_socket(void **state)
{
	struct srv_fix *f = *state;
	struct ctl_server_params p = { .name = "stale", .ops = &fake_ops };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *srv2;
	struct json_object *r;
	struct cli *c;
	char err[256];
	int fd;

	p.opaque = &f->vm;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.sock", f->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
	assert_int_equal(
		ctl_server_create(f->loop, &p, err, sizeof(err), &srv2), 0);
	c = cli_open(sa.sun_path);
	r = cli_req(c, "{\"cmd\":\"status\"}");
	assert_string_equal(json_object_get_string(get(r, "result.name")),
			    "stale");
	json_object_put(r);
	cli_close(c);
	/* Destroy on the loop thread's behalf: stop it around the call. */
	evloop_stop(f->loop);
	ctl_server_destroy(srv2);
	assert_int_equal(access(sa.sun_path, F_OK), -1);
	assert_int_equal(evloop_start(f->loop, "ctl-test"), 0);
	/* A regular file in the socket's place is not ours to remove. */
	fd = open(sa.sun_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(ctl_server_create(f->loop, &p, err, sizeof(err),
					   &srv2),
			 -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(sa.sun_path, F_OK), 0);
}

static void test_server_long_line(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path), *c2;
	struct json_object *r;
	char *big = malloc(CTL_LINE_MAX + 100);

	memset(big, 'x', CTL_LINE_MAX + 100);
	big[0] = '{';
	cli_send(c, big, CTL_LINE_MAX + 100);
	r = cli_read(c);
	assert_non_null(r);
	assert_string_equal(code_of(r), "line-too-long");
	json_object_put(r);
	cli_expect_eof(c);
	cli_close(c);
	/* A line just under the limit is parsed (and rejected as JSON). */
	c = cli_open(f->path);
	big[CTL_LINE_MAX - 1] = '\n';
	cli_send(c, big, CTL_LINE_MAX);
	r = cli_read(c);
	assert_string_equal(code_of(r), "parse-error");
	json_object_put(r);
	/* Others were never disturbed. */
	c2 = cli_open(f->path);
	r = cli_req(c2, "{\"cmd\":\"status\"}");
	assert_true(is_ok(r));
	json_object_put(r);
	cli_close(c2);
	cli_close(c);
	free(big);
}

static void test_server_garbage(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path);
	unsigned char buf[4096];
	struct json_object *r;
	unsigned int i, lines = 0, seed = 7;

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = (unsigned char)((seed = seed * 1103515245 + 12345) >>
					 16);
		if (buf[i] == '\n')
			buf[i] = 'n';
		if (i % 97 == 96) {
			buf[i] = '\n';
			lines++;
		}
	}
	cli_send(c, buf, sizeof(buf));
	cli_send(c, "\n", 1);
	lines++;
	for (i = 0; i < lines; i++) {
		r = cli_read(c);
		assert_non_null(r);
		assert_false(is_ok(r));
		json_object_put(r);
	}
	r = cli_req(c, "{\"cmd\":\"status\",\"id\":99}");
	assert_true(is_ok(r));
	json_object_put(r);
	cli_close(c);
}

static void test_server_many_clients(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c[4], *extra;
	struct json_object *r;
	char line[64];
	int i, round;

	for (i = 0; i < 4; i++)
		c[i] = cli_open(f->path);
	/* Interleaved requests on all of them. */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 4; i++) {
			snprintf(line, sizeof(line),
				 "{\"cmd\":\"status\",\"id\":%d}",
				 round * 4 + i);
			cli_send(c[i], line, strlen(line));
			cli_send(c[i], "\n", 1);
		}
		for (i = 3; i >= 0; i--) {
			r = cli_read(c[i]);
			assert_int_equal(json_object_get_int(get(r, "id")),
					 round * 4 + i);
			json_object_put(r);
		}
	}
	/* The fifth is told why and closed. */
	extra = cli_open(f->path);
	r = cli_read(extra);
	assert_non_null(r);
	assert_string_equal(code_of(r), "too-many-clients");
	json_object_put(r);
	cli_expect_eof(extra);
	cli_close(extra);
	/* A client leaving mid-line frees its slot. */
	cli_send(c[0], "{\"cmd\":\"sta", 11);
	cli_close(c[0]);
	usleep(200000);
	c[0] = cli_open(f->path);
	r = cli_req(c[0], "{\"cmd\":\"status\",\"id\":1000}");
	assert_int_equal(json_object_get_int(get(r, "id")), 1000);
	json_object_put(r);
	for (i = 0; i < 4; i++)
		cli_close(c[i]);
}

/*
 * A client that does not read its answers is not read either: the server
 * stays bounded and responsive, and the client gets every answer once it
 * reads.
 */
static void test_server_slow_reader(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path), *c2;
	struct timeval tv = { .tv_sec = 1 };
	static const char one[] = "{\"cmd\":\"stats\"}\n";
	static char req[16000];
	struct json_object *r;
	size_t i, n = sizeof(one) - 1, sent = 0, want;
	ssize_t s;

	for (i = 0; i + n <= sizeof(req); i += n)
		memcpy(req + i, one, n);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Keep what the kernel buffers small. */
	{
		int sz = 8192;

		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	for (i = 0; i < 2000; i++) {
		s = send(c->fd, req, sizeof(req) / n * n, MSG_NOSIGNAL);
		if (s <= 0)
			break;
		sent += (size_t)s;
	}
	assert_true(i < 2000); /* the server stopped reading */
	assert_true(sent > 256 * 1024 / 8);
	print_message(
		"slow reader: %zu requests before the server stopped reading\n",
		sent / n);
	/* Others are served meanwhile. */
	c2 = cli_open(f->path);
	r = cli_req(c2, "{\"cmd\":\"status\"}");
	assert_true(is_ok(r));
	json_object_put(r);
	cli_close(c2);
	/* Every complete request is answered once the client reads. */
	want = sent / n;
	for (i = 0; i < want; i++) {
		r = cli_read(c);
		assert_non_null(r);
		assert_true(is_ok(r));
		json_object_put(r);
	}
	/* A partial last request stays pending: nothing more to read. */
	tv.tv_sec = 0;
	tv.tv_usec = 200000;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(c->len, 0);
	s = recv(c->fd, c->buf, sizeof(c->buf), 0);
	assert_true(s < 0 && errno == EAGAIN);
	cli_close(c);
}

struct bulk_arg {
	int fd;
	int n;
};

static void *bulk_writer(void *opaque)
{
	struct bulk_arg *b = opaque;
	size_t cap = (size_t)b->n * 40, len = 0, off;
	char *buf = malloc(cap);
	ssize_t n;
	int i;

	/* Big writes, as a fast client makes them. */
	for (i = 0; i < b->n; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"{\"cmd\":\"status\",\"id\":%d}\n", i);
	for (off = 0; off < len; off += (size_t)n) {
		n = send(b->fd, buf + off, MIN(len - off, (size_t)256 * 1024),
			 MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	free(buf);
	return NULL;
}

/* Pipelining far more than the buffers hold, while reading: all answered. */
static void test_server_pipeline_bulk(void **state)
{
	struct srv_fix *f = *state;
	struct bulk_arg b = { .n = 20000 };
	struct json_object *r;
	struct cli *c;
	int i, round;
	pthread_t t;

	/* The end of a burst is where answers could get stuck. */
	for (round = 0; round < 2; round++) {
		c = cli_open(f->path);
		b.fd = c->fd;
		assert_int_equal(pthread_create(&t, NULL, bulk_writer, &b), 0);
		for (i = 0; i < b.n; i++) {
			r = cli_read(c);
			assert_non_null(r);
			assert_int_equal(json_object_get_int(get(r, "id")), i);
			json_object_put(r);
		}
		pthread_join(t, NULL);
		cli_close(c);
	}
}

struct complete_arg {
	struct srv_fix *f;
	int r;
	bool done;
};

static void do_complete(void *opaque)
{
	struct complete_arg *a = opaque;
	struct json_object *res = json_object_new_object();

	json_object_object_add(res, "method", json_object_new_string("acpi"));
	a->r = ctl_server_complete(a->f->srv, a->f->vm.token, 0, NULL, res);
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
}

static void run_on_loop(struct srv_fix *f, struct complete_arg *a)
{
	int i;

	a->f = f;
	a->done = false;
	assert_int_equal(evloop_call(f->loop, do_complete, a), 0);
	for (i = 0; i < 20000 && !__atomic_load_n(&a->done, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	assert_true(a->done);
}

static void test_server_deferred(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path);
	struct complete_arg a;
	struct json_object *r;
	int i;

	f->vm.defer = true;
	cli_send(
		c, "{\"cmd\":\"shutdown\",\"id\":\"s1\",\"timeout\":5}\n",
		strlen("{\"cmd\":\"shutdown\",\"id\":\"s1\",\"timeout\":5}\n"));
	/* Other requests are answered while the shutdown is pending. */
	r = cli_req(c, "{\"cmd\":\"status\",\"id\":2}");
	assert_int_equal(json_object_get_int(get(r, "id")), 2);
	json_object_put(r);
	assert_int_equal(f->vm.last_timeout, 5);
	run_on_loop(f, &a);
	assert_int_equal(a.r, 0);
	r = cli_read(c);
	assert_string_equal(json_object_get_string(get(r, "id")), "s1");
	assert_string_equal(json_object_get_string(get(r, "result.method")),
			    "acpi");
	json_object_put(r);
	/* An op may answer before it even returns CTL_DEFERRED. */
	f->vm.defer_now = true;
	r = cli_req(c, "{\"cmd\":\"shutdown\",\"id\":3}");
	assert_int_equal(json_object_get_int(get(r, "id")), 3);
	assert_string_equal(json_object_get_string(get(r, "result.method")),
			    "early");
	json_object_put(r);
	f->vm.defer_now = false;
	/* Completing twice, or for a client that left: -ENOENT. */
	run_on_loop(f, &a);
	assert_int_equal(a.r, -ENOENT);
	cli_sends(c, "{\"cmd\":\"shutdown\"}\n");
	for (i = 0; i < 20000 && f->vm.shutdowns < 3; i++)
		usleep(1000);
	assert_int_equal(f->vm.shutdowns, 3);
	cli_close(c);
	usleep(200000);
	run_on_loop(f, &a);
	assert_int_equal(a.r, -ENOENT);
}

/* Half-closed clients get their answers, deferred ones too, then EOF. */
static void test_server_half_close(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path);
	struct complete_arg a;
	struct json_object *r;
	int i;

	cli_sends(c, "{\"cmd\":\"status\",\"id\":1}\n");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	r = cli_read(c);
	assert_non_null(r);
	assert_int_equal(json_object_get_int(get(r, "id")), 1);
	json_object_put(r);
	cli_expect_eof(c);
	cli_close(c);

	f->vm.defer = true;
	c = cli_open(f->path);
	cli_sends(c, "{\"cmd\":\"shutdown\",\"id\":2}\n");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	for (i = 0; i < 20000 && f->vm.shutdowns < 1; i++)
		usleep(1000);
	usleep(20000);
	run_on_loop(f, &a);
	assert_int_equal(a.r, 0);
	r = cli_read(c);
	assert_non_null(r);
	assert_int_equal(json_object_get_int(get(r, "id")), 2);
	assert_true(is_ok(r));
	json_object_put(r);
	cli_expect_eof(c);
	cli_close(c);

	/* Fire and forget: the request still runs. */
	c = cli_open(f->path);
	cli_sends(c, "{\"cmd\":\"poweroff\"}\n");
	cli_close(c);
	for (i = 0; i < 20000 && f->vm.poweroffs < 1; i++)
		usleep(1000);
	assert_int_equal(f->vm.poweroffs, 1);
}

/* A request still pending when the server goes is answered vm-stopped. */
static void test_server_destroy_pending(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path);
	struct json_object *r;
	int i;

	f->vm.defer = true;
	cli_send(c, "{\"cmd\":\"shutdown\",\"id\":9}\n",
		 strlen("{\"cmd\":\"shutdown\",\"id\":9}\n"));
	for (i = 0; i < 20000 && f->vm.shutdowns < 1; i++)
		usleep(1000);
	assert_int_equal(f->vm.shutdowns, 1);
	evloop_stop(f->loop);
	ctl_server_destroy(f->srv);
	f->srv = NULL;
	r = cli_read(c);
	assert_non_null(r);
	assert_int_equal(json_object_get_int(get(r, "id")), 9);
	assert_string_equal(code_of(r), "vm-stopped");
	json_object_put(r);
	cli_expect_eof(c);
	cli_close(c);
	assert_int_equal(access(f->path, F_OK), -1);
	/* The name is free again. */
	{
		struct ctl_server_params p = { .name = "testvm",
					       .ops = &fake_ops,
					       .opaque = &f->vm };
		char err[256];

		assert_int_equal(ctl_server_create(f->loop, &p, err,
						   sizeof(err), &f->srv),
				 0);
	}
	assert_int_equal(evloop_start(f->loop, "ctl-test"), 0);
}

/* ---- the client commands, in this process ---- */

/* Run @fn with stdout and stderr captured into @out. */
static int capture(int (*fn)(int, char **), int argc, char **argv, char *out,
		   size_t len)
{
	char path[] = "/tmp/hvkvm-ctl-out.XXXXXX";
	int fd = mkstemp(path), so = dup(1), se = dup(2), r;
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	dup2(fd, 1);
	dup2(fd, 2);
	r = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return r;
}

static void test_client_ctl(void **state)
{
	struct srv_fix *f = *state;
	char out[8192];
	char *a_status[] = { "ctl", "testvm", "status", NULL };
	char *a_json[] = { "ctl", "--json", "testvm", "status", NULL };
	char *a_stats[] = { "ctl", "testvm", "stats", NULL };
	char *a_path[] = { "ctl", f->path, "pause", NULL };
	char *a_again[] = { "ctl", "testvm", "pause", NULL };
	char *a_kvp[] = { "ctl",    "testvm",	"kvp-set", "pool=external",
			  "key=k1", "value=42", NULL };
	char *a_kvpj[] = { "ctl",
			   "testvm",
			   "kvp-get",
			   "--json",
			   "{\"pool\": 0, \"key\": \"k1\"}",
			   NULL };
	char *a_tmo[] = { "ctl", "testvm", "shutdown", "timeout=soon", NULL };
	char *a_none[] = { "ctl", "novm", "status", NULL };
	char *a_unk[] = { "ctl", "testvm", "frob", NULL };
	char *a_help[] = { "ctl", "--help", NULL };

	(void)a_help;
	assert_int_equal(capture(ctl_main, 3, a_status, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "name: testvm\n"));
	assert_non_null(strstr(out, "memory: 512 MiB\n"));
	assert_non_null(strstr(out, "uptime: 1h02m\n"));
	assert_int_equal(capture(ctl_main, 4, a_json, out, sizeof(out)), 0);
	assert_true(out[0] == '{' && strstr(out, "\"ok\":true"));
	assert_int_equal(capture(ctl_main, 3, a_stats, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "vcpu0.exits.io: 42\n"));
	assert_non_null(strstr(out, "hyperv.hypercalls: 5\n"));
	assert_int_equal(capture(ctl_main, 3, a_path, out, sizeof(out)), 0);
	assert_true(f->vm.paused);
	assert_int_equal(capture(ctl_main, 3, a_again, out, sizeof(out)), 1);
	assert_non_null(
		strstr(out, "hvkvm: ctl testvm pause: already paused\n"));
	/* value=42 stays a string: kvp-set's value is typed by the schema. */
	assert_int_equal(capture(ctl_main, 6, a_kvp, out, sizeof(out)), 0);
	assert_string_equal(f->vm.kvp_value, "42");
	assert_int_equal(capture(ctl_main, 5, a_kvpj, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"value\":\"42\""));
	assert_int_equal(capture(ctl_main, 4, a_tmo, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "not a number"));
	assert_int_equal(capture(ctl_main, 3, a_none, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "no VM named 'novm' is running"));
	assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
	assert_int_equal(capture(ctl_main, 3, a_unk, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "unknown command 'frob'"));
}

static void test_client_list(void **state)
{
	struct srv_fix *f = *state;
	char out[8192], stale[160];
	char *a_list[] = { "list", NULL };
	char *a_json[] = { "list", "--json", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *arr;
	int fd;

	/* A stale socket is skipped. */
	snprintf(stale, sizeof(stale), "%s/gone.sock", f->dir);
	strcpy(sa.sun_path, stale);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(capture(list_main, 1, a_list, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "NAME"));
	assert_non_null(strstr(out, "testvm"));
	assert_non_null(strstr(out, "running"));
	assert_non_null(strstr(out, "512M"));
	assert_null(strstr(out, "gone"));
	assert_int_equal(capture(list_main, 2, a_json, out, sizeof(out)), 0);
	arr = json_tokener_parse(out);
	assert_non_null(arr);
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(json_object_get_string(get(
				    json_object_array_get_idx(arr, 0), "name")),
			    "testvm");
	json_object_put(arr);
	(void)f;
}

/* ---- names and paths ---- */

static void test_path_names(void **state)
{
	char buf[256], long_name[80];

	assert_true(ctl_name_valid("vm1"));
	assert_true(ctl_name_valid("web-01.prod_a"));
	assert_false(ctl_name_valid(""));
	assert_false(ctl_name_valid(NULL));
	assert_false(ctl_name_valid(".hidden"));
	assert_false(ctl_name_valid("-opt"));
	assert_false(ctl_name_valid("a/b"));
	assert_false(ctl_name_valid(".."));
	assert_false(ctl_name_valid("a b"));
	assert_false(ctl_name_valid("\xc3\xa9"));
	memset(long_name, 'a', sizeof(long_name));
	long_name[CTL_NAME_MAX] = '\0';
	assert_true(ctl_name_valid(long_name));
	long_name[CTL_NAME_MAX] = 'a';
	long_name[CTL_NAME_MAX + 1] = '\0';
	assert_false(ctl_name_valid(long_name));
	setenv("HVKVM_RUNTIME_DIR", "/tmp/x/", 1);
	assert_int_equal(ctl_socket_path("vm1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/x/vm1.sock");
	assert_int_equal(ctl_socket_path("../x", buf, sizeof(buf)), -EINVAL);
	/* sun_path holds 107 characters. */
	setenv("HVKVM_RUNTIME_DIR",
	       "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	       1);
	assert_int_equal(ctl_socket_path("vm12345678", buf, sizeof(buf)),
			 -ENAMETOOLONG);
	unsetenv("HVKVM_RUNTIME_DIR");
	if (geteuid() == 0) {
		assert_int_equal(ctl_runtime_dir(buf, sizeof(buf), false), 0);
		assert_string_equal(buf, "/run/hvkvm");
	}
}

/* ---- daemon ---- */

static char dmn_dir[64];

/* In a child: become a daemon, print, wait for @stop to vanish. */
static void dmn_child(const char *pidfile, const char *log, const char *stop,
		      const char *errfile, int early_status)
{
	char err[256];
	int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	dup2(fd, 2);
	close(fd);
	if (daemon_start(pidfile, log, err, sizeof(err))) {
		fprintf(stderr, "hvkvm: %s\n", err);
		exit(3);
	}
	if (early_status)
		exit(early_status); /* start-up failed after the fork */
	fprintf(stderr, "before-ready\n");
	daemon_ready();
	printf("daemon-up %ld\n", (long)getpid());
	fflush(stdout);
	while (access(stop, F_OK) == 0)
		usleep(10000);
	exit(0);
}

static int dmn_run(const char *pidfile, const char *log, const char *stop,
		   const char *errfile, int early_status)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		dmn_child(pidfile, log, stop, errfile, early_status);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static char *slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

/* 10 ms steps: up to 60 s, for loaded CI machines (loops end early). */
#define DMN_WAIT_STEPS 6000

static void test_daemon_start(void **state)
{
	char pidfile[128], log[128], stop[128], errf[128], buf[512];
	long pid;
	int i, fd;

	strcpy(dmn_dir, "/tmp/hvkvm-daemon-test.XXXXXX");
	assert_non_null(mkdtemp(dmn_dir));
	snprintf(pidfile, sizeof(pidfile), "%s/vm.pid", dmn_dir);
	snprintf(log, sizeof(log), "%s/vm.log", dmn_dir);
	snprintf(stop, sizeof(stop), "%s/running", dmn_dir);
	snprintf(errf, sizeof(errf), "%s/stderr", dmn_dir);
	fd = open(stop, O_CREAT | O_WRONLY, 0600);
	close(fd);

	/* Up: the starter exits 0 only once the daemon is ready. */
	assert_int_equal(dmn_run(pidfile, log, stop, errf, 0), 0);
	pid = strtol(slurp(pidfile, buf, sizeof(buf)), NULL, 10);
	assert_true(pid > 1 && pid != getpid());
	assert_int_equal(kill((pid_t)pid, 0), 0);
	assert_non_null(strstr(slurp(errf, buf, sizeof(buf)), "before-ready"));
	for (i = 0; i < DMN_WAIT_STEPS &&
		    !strstr(slurp(log, buf, sizeof(buf)), "daemon-up");
	     i++)
		usleep(10000);
	assert_non_null(strstr(buf, "daemon-up"));
	{
		char want[32];

		snprintf(want, sizeof(want), "daemon-up %ld", pid);
		assert_non_null(strstr(buf, want));
	}

	/* A second one with the same pidfile: refused, status passed up. */
	assert_int_equal(dmn_run(pidfile, log, stop, errf, 0), 3);
	assert_non_null(
		strstr(slurp(errf, buf, sizeof(buf)), "already running"));
	assert_int_equal(strtol(slurp(pidfile, buf, sizeof(buf)), NULL, 10),
			 pid);

	/* Stop it: the pidfile goes with it. */
	unlink(stop);
	for (i = 0; i < DMN_WAIT_STEPS &&
		    (kill((pid_t)pid, 0) == 0 || access(pidfile, F_OK) == 0);
	     i++)
		usleep(10000);
	assert_int_equal(access(pidfile, F_OK), -1);

	/* A stale pidfile (no lock) is replaced. */
	fd = open(pidfile, O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "12345\n", 6), 6);
	close(fd);
	fd = open(stop, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(dmn_run(pidfile, log, stop, errf, 0), 0);
	pid = strtol(slurp(pidfile, buf, sizeof(buf)), NULL, 10);
	assert_true(pid != 12345 && kill((pid_t)pid, 0) == 0);
	unlink(stop);
	for (i = 0; i < DMN_WAIT_STEPS && access(pidfile, F_OK) == 0; i++)
		usleep(10000);
	assert_int_equal(access(pidfile, F_OK), -1);

	/* Start-up failing after the fork: its status reaches the user. */
	assert_int_equal(dmn_run(pidfile, NULL, stop, errf, 5), 5);
	assert_int_equal(access(pidfile, F_OK), -1);
	/* An unwritable log is reported before forking. */
	assert_int_equal(
		dmn_run(pidfile, "/nonexistent/dir/log", stop, errf, 0), 3);
	assert_non_null(
		strstr(slurp(errf, buf, sizeof(buf)), "/nonexistent/dir/log"));
	snprintf(buf, sizeof(buf), "rm -rf %s", dmn_dir);
	assert_int_equal(system(buf), 0);
}

/*
 * #16: json-c keeps the last of two equal keys and lets an escaped NUL cut
 * a C string; the pre-scan refuses both, lone surrogates and invalid
 * UTF-8 json-c would accept, in every string at every level.
 */
static void test_proto_smuggling(void **state)
{
	static const struct {
		const char *line, *needle;
	} bad[] = {
		{ "{\"cmd\":\"status\",\"cmd\":\"poweroff\"}",
		  "duplicate key 'cmd'" },
		{ "{\"cmd\":\"status\",\"\\u0063md\":\"poweroff\"}",
		  "duplicate key 'cmd'" },
		{ "{\"id\":1,\"cmd\":\"status\",\"id\":2}",
		  "duplicate key 'id'" },
		{ "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\",\"value\":\"v\",\"key\":\"x\"}",
		  "duplicate key 'key'" },
		{ "{\"cmd\":\"status\",\"id\":null,\"x\":{\"a\":1,\"b\":{\"c\":[{\"d\":1,\"d\":2}]}}}",
		  "duplicate key 'd'" },
		{ "{\"cmd\":\"status\",\"x\":[{\"a\":1},{\"a\":1,\"a\":1}]}",
		  "duplicate key 'a'" },
		{ "{\"\":1,\"\":2}", "duplicate key ''" },
		{ "{\"cmd\":\"status\\u0000x\"}", "NUL (\\u0000)" },
		{ "{\"cmd\":\"status\",\"id\":\"a\\u0000\"}", "NUL" },
		{ "{\"cmd\\u0000\":\"status\"}", "NUL" },
		{ "{\"cmd\":\"status\",\"x\":[\"\\u0000\"]}", "NUL" },
		{ "{\"cmd\":\"st\\ud800atus\"}", "lone surrogate \\ud800" },
		{ "{\"cmd\":\"status\\ud800\"}", "lone surrogate" },
		{ "{\"cmd\":\"status\\udc00\"}", "lone surrogate \\udc00" },
		{ "{\"cmd\":\"status\\ud800\\u0041\"}", "lone surrogate" },
		{ "{\"cmd\":\"status\\ud800\\ud800\"}", "lone surrogate" },
		{ "{\"cmd\":\"st\xed\xa0\x80\"}", "invalid UTF-8" },
		{ "{\"cmd\":\"st\xc0\x80\"}", "invalid UTF-8" },
		{ "{\"cmd\":\"st\xe0\x80\xaf\"}", "invalid UTF-8" },
		{ "{\"cmd\":\"st\xf4\x90\x80\x80\"}", "invalid UTF-8" },
		{ "{\"cmd\":\"st\xf8\x88\x80\x80\x80\"}", "invalid UTF-8" },
		{ "{\"cmd\":\"st\x80\"}", "invalid UTF-8" },
		{ "{\"cmd\":\"st\xe2\x82\"}", "invalid UTF-8" },
		{ "[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", "deeper than 16" },
		{ "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}",
		  "deeper than 16" },
	};
	char line[4096];
	struct json_object *r;
	unsigned int i;
	size_t n;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_err(bad[i].line, "parse-error", bad[i].needle);
	/* Not a duplicate: equal keys in different objects, a valid pair. */
	expect_ok(
		"{\"cmd\":\"status\",\"id\":\"\\ud83d\\ude00 \xf0\x9f\x98\x80 \xc3\xa9\"}");
	r = call(&pdisp,
		 "{\"cmd\":\"status\",\"x\":{\"cmd\":1,\"x\":{\"cmd\":2}}}");
	assert_string_equal(code_of(r), "invalid-argument"); /* 'x' */
	json_object_put(r);
	/* Sixteen levels parse; a key set closes with its object. */
	r = call(&pdisp, "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]");
	assert_string_equal(code_of(r), "invalid-request");
	json_object_put(r);
	r = call(&pdisp, "{\"cmd\":\"status\",\"x\":[{\"a\":1},{\"a\":1}]}");
	assert_string_equal(code_of(r), "invalid-argument");
	json_object_put(r);
	/* 32 members are fine, 33 are not. */
	n = (size_t)snprintf(line, sizeof(line), "{\"cmd\":\"status\"");
	for (i = 1; i < 32; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"k%u\":%u",
				      i, i);
	snprintf(line + n, sizeof(line) - n, "}");
	r = call(&pdisp, line);
	assert_string_equal(code_of(r), "invalid-argument"); /* 'k1' */
	json_object_put(r);
	snprintf(line + n, sizeof(line) - n, ",\"k32\":0}");
	expect_err(line, "parse-error", "more than 32 members");
}

/*
 * The pre-scan is linear: a line full of objects with 32 long keys
 * differing in their last byte (every comparison runs to the end) and a
 * line of 30000 tiny objects take well under a second each.
 */
static void test_proto_scan_hostile(void **state)
{
	char *line = malloc(CTL_LINE_MAX);
	struct json_object *r;
	uint64_t t0;
	size_t n = 0, klen = 60;
	unsigned int i, k;

	t0 = time_now_ns();
	n += (size_t)snprintf(line, CTL_LINE_MAX,
			      "{\"cmd\":\"status\",\"x\":[");
	while (n + 33 * (klen + 8) + 8 < CTL_LINE_MAX) {
		line[n++] = '{';
		for (k = 0; k < 32; k++) {
			line[n++] = '"';
			memset(line + n, 'a', klen);
			n += klen;
			n += (size_t)sprintf(line + n, "%02u\":0,", k);
		}
		line[n - 1] = '}';
		line[n++] = ',';
	}
	n += (size_t)sprintf(line + n - 1, "]}") - 1;
	r = call(&pdisp, line);
	assert_string_equal(code_of(r), "invalid-argument");
	json_object_put(r);
	n = (size_t)snprintf(line, CTL_LINE_MAX, "{\"cmd\":\"status\",\"x\":[");
	for (i = 0; n + 8 < CTL_LINE_MAX; i++)
		n += (size_t)sprintf(line + n, "{},");
	n += (size_t)sprintf(line + n - 1, "]}") - 1;
	r = call(&pdisp, line);
	assert_string_equal(code_of(r), "invalid-argument");
	json_object_put(r);
	assert_true(time_now_ns() - t0 < 1000000000ull);
	free(line);
}

/* ---- #16: nobody locks the control plane out ---- */

static int srv_setup_idle(void **state)
{
	struct srv_fix *f = calloc(1, sizeof(*f));
	struct ctl_server_params p = { .name = "testvm",
				       .ops = &fake_ops,
				       .max_clients = 4,
				       .idle_ms = 400 };
	char err[256];

	strcpy(f->dir, "/tmp/hvkvm-ctl-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	setenv("HVKVM_RUNTIME_DIR", f->dir, 1);
	snprintf(f->path, sizeof(f->path), "%s/testvm.sock", f->dir);
	p.opaque = &f->vm;
	assert_int_equal(evloop_create(&f->loop), 0);
	assert_int_equal(
		ctl_server_create(f->loop, &p, err, sizeof(err), &f->srv), 0);
	f->vm.srv = f->srv;
	assert_int_equal(evloop_start(f->loop, "ctl-test"), 0);
	*state = f;
	return 0;
}

static void expect_code(struct cli *c, const char *code)
{
	struct json_object *r = cli_read(c);

	if (!r)
		fail_msg("EOF, want %s", code);
	if (strcmp(code_of(r), code))
		fail_msg("%s, want %s", json_object_to_json_string(r), code);
	json_object_put(r);
}

static void expect_status(struct cli *c)
{
	struct json_object *r = cli_req(c, "{\"cmd\":\"status\"}");

	assert_non_null(r);
	assert_true(is_ok(r));
	json_object_put(r);
}

/*
 * A connection without a complete request for the idle time-out (400 ms
 * here) is told and closed, a partial line does not count, a busy client
 * stays, and one waiting for a deferred answer is never idle.
 */
static void test_server_idle_timeout(void **state)
{
	struct srv_fix *f = *state;
	struct cli *quiet = cli_open(f->path), *partial = cli_open(f->path);
	struct cli *busy = cli_open(f->path), *waiter = cli_open(f->path);
	struct complete_arg a;
	uint64_t t0 = time_now_ns();
	int i;

	f->vm.defer = true;
	cli_sends(waiter, "{\"cmd\":\"shutdown\",\"id\":\"w\"}\n");
	cli_sends(partial, "{\"cmd\":\"sta");
	for (i = 0; i < 30; i++) { /* 1.5 s */
		expect_status(busy);
		usleep(50000);
	}
	expect_code(quiet, "idle-timeout");
	cli_expect_eof(quiet);
	expect_code(partial, "idle-timeout");
	cli_expect_eof(partial);
	assert_true(time_now_ns() - t0 >= 400000000ull);
	/* The waiter is still there and answered. */
	expect_status(waiter);
	run_on_loop(f, &a);
	assert_int_equal(a.r, 0);
	expect_code(waiter, "");
	/*
	 * After a successful shutdown it may watch for the VM's end
	 * (hvkvm ctl --wait): not timed out, however long the guest takes.
	 */
	usleep(1000000);
	expect_status(waiter);
	f->vm.defer = false;
	cli_close(quiet);
	cli_close(partial);
	cli_close(busy);
	cli_close(waiter);
}

/*
 * A full table (4 here): a client idle for CTL_EVICT_IDLE_MS makes room
 * for a new one, oldest first; active clients and one owed a deferred
 * answer keep their place.
 */
static void test_server_evict(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c[4], *n1, *n2, *extra;

	f->vm.defer = true;
	c[0] = cli_open(f->path);
	expect_status(c[0]);
	usleep(20000);
	c[2] = cli_open(f->path);
	expect_status(c[2]);
	c[3] = cli_open(f->path);
	cli_sends(c[3], "{\"cmd\":\"shutdown\",\"id\":\"w\"}\n");
	c[1] = cli_open(f->path);
	expect_status(c[1]);
	/* All active just now: refused as before. */
	extra = cli_open(f->path);
	expect_code(extra, "too-many-clients");
	cli_expect_eof(extra);
	cli_close(extra);
	usleep(CTL_EVICT_IDLE_MS * 1000 + 200000);
	expect_status(c[1]);
	n1 = cli_open(f->path);
	expect_status(n1);
	expect_code(c[0], "evicted");
	cli_expect_eof(c[0]);
	n2 = cli_open(f->path);
	expect_status(n2);
	expect_code(c[2], "evicted");
	cli_expect_eof(c[2]);
	/* c[3] is owed its shutdown answer; the rest are fresh. */
	extra = cli_open(f->path);
	expect_code(extra, "too-many-clients");
	cli_close(extra);
	expect_status(c[3]);
	expect_status(c[1]);
	f->vm.defer = false;
	cli_close(c[0]);
	cli_close(c[1]);
	cli_close(c[2]);
	cli_close(c[3]);
	cli_close(n1);
	cli_close(n2);
}

struct waiting_arg {
	struct srv_fix *f;
	bool waiting;
	bool done;
};

static void do_waiting(void *opaque)
{
	struct waiting_arg *a = opaque;

	a->waiting = ctl_server_waiting(a->f->srv, a->f->vm.token);
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
}

static bool waiting_on_loop(struct srv_fix *f)
{
	struct waiting_arg a = { .f = f };
	int i;

	assert_int_equal(evloop_call(f->loop, do_waiting, &a), 0);
	for (i = 0; i < 20000 && !__atomic_load_n(&a.done, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	assert_true(a.done);
	return a.waiting;
}

/*
 * A pending shutdown whose client went away is no longer owed an answer
 * (ctl_vm lets the next shutdown take it over); one connection keeps at
 * most 8 requests waiting.
 */
static void test_server_pending_client_gone(void **state)
{
	struct srv_fix *f = *state;
	struct cli *c = cli_open(f->path), *d = cli_open(f->path);
	struct json_object *r;
	int i;

	f->vm.defer = true;
	cli_sends(c, "{\"cmd\":\"shutdown\",\"timeout\":3600}\n");
	expect_status(c);
	assert_true(waiting_on_loop(f));
	cli_close(c);
	usleep(200000);
	assert_false(waiting_on_loop(f));
	/* Per connection: the ninth waiting request is busy. */
	for (i = 0; i < 8; i++)
		cli_sends(d, "{\"cmd\":\"shutdown\"}\n");
	r = cli_req(d, "{\"cmd\":\"shutdown\",\"id\":9}");
	assert_string_equal(code_of(r), "busy");
	json_object_put(r);
	f->vm.defer = false;
	cli_close(d);
	/* shutdown-cancel is a command; this fake VM has no such op. */
	expect_err("{\"cmd\":\"shutdown-cancel\"}", "unsupported", NULL);
	expect_err("{\"cmd\":\"shutdown-cancel\",\"timeout\":1}",
		   "invalid-argument", "unknown argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_status),
		cmocka_unit_test(test_proto_commands),
		cmocka_unit_test(test_proto_stats),
		cmocka_unit_test(test_stats_add_paths),
		cmocka_unit_test(test_proto_malformed),
		cmocka_unit_test(test_proto_error_echo),
		cmocka_unit_test(test_proto_garbage),
		cmocka_unit_test(test_proto_unsupported),
		cmocka_unit_test(test_path_names),
		cmocka_unit_test_setup_teardown(test_server_roundtrip,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_socket_mode,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_name_in_use,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_stale_socket,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_long_line,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_garbage, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_many_clients,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_slow_reader,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_pipeline_bulk,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_deferred, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_half_close,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_destroy_pending,
						srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_client_ctl, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_client_list, srv_setup,
						srv_teardown),
		cmocka_unit_test(test_daemon_start),
		cmocka_unit_test(test_proto_smuggling),
		cmocka_unit_test(test_proto_scan_hostile),
		cmocka_unit_test_setup_teardown(test_server_idle_timeout,
						srv_setup_idle, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_evict, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_pending_client_gone,
						srv_setup, srv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
