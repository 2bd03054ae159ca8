// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the control protocol core: the input is a stream
 * of request lines handed to ctl_dispatch_line() with a fake VM whose ops
 * succeed, fail or defer depending on the request, plus stats paths from
 * the input. Every answer must be one line of JSON with an "ok" member.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hvkvm/ctl.h"

static unsigned int fuzz_calls;

static int fuzz_op(void *opaque, struct ctl_req *req)
{
	(void)opaque;
	switch (fuzz_calls++ % 4) {
	case 0:
		json_object_object_add(
			req->result, "key",
			json_object_new_string(req->key ? req->key : ""));
		json_object_object_add(
			req->result, "value",
			json_object_new_string(req->value ? req->value : ""));
		json_object_object_add(req->result, "timeout",
				       json_object_new_int((int)req->timeout));
		return 0;
	case 1:
		snprintf(req->err, req->errlen, "failed: %s",
			 req->key ? req->key : "-");
		return -5;
	case 2:
		return -95; /* EOPNOTSUPP without a message */
	default:
		return CTL_DEFERRED;
	}
}

static int fuzz_stats(void *opaque, struct ctl_req *req, struct ctl_stats *st)
{
	(void)opaque;
	(void)req;
	ctl_stats_add(st, "vcpu0.exits.io", 1);
	ctl_stats_add(st, "vcpu0.exits", 2); /* collides: ignored */
	return 0;
}

static const uint8_t *fuzz_data;
static size_t fuzz_size;

/* Stats paths taken from the input itself. */
static void fuzz_provider(void *opaque, struct ctl_stats *st)
{
	char path[80];
	size_t i, n;

	(void)opaque;
	for (i = 0; i < fuzz_size && i < 512; i += n + 1) {
		n = fuzz_size - i < sizeof(path) - 1 ? fuzz_size - i :
						       sizeof(path) - 1;
		memcpy(path, fuzz_data + i, n);
		path[n] = '\0';
		ctl_stats_add(st, path, i);
	}
}

static const struct ctl_ops fuzz_ops = {
	.status = fuzz_op,
	.stats = fuzz_stats,
	.shutdown = fuzz_op,
	.poweroff = fuzz_op,
	.reboot = fuzz_op,
	.pause = fuzz_op,
	.resume = fuzz_op,
	.kvp_get = fuzz_op,
	.kvp_set = fuzz_op,
};

static void fuzz_check(struct json_object *resp)
{
	const char *s;
	struct json_object *back, *ok;

	if (!resp)
		abort();
	s = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	if (!s || strchr(s, '\n'))
		abort();
	back = json_tokener_parse(s);
	if (!back || !json_object_object_get_ex(back, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean))
		abort();
	json_object_put(back);
	json_object_put(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ctl_stats_fn fns[1] = { fuzz_provider };
	static void *opq[1];
	struct ctl_dispatch d = { .ops = &fuzz_ops,
				  .name = "fuzz",
				  .stats_fns = fns,
				  .stats_opaque = opq,
				  .nr_stats = 1 };
	struct json_object *resp, *id;
	const char *p = (const char *)data, *end = p + size, *nl;
	uint64_t token = 0;

	fuzz_data = data;
	fuzz_size = size;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (ctl_dispatch_line(&d, p, (size_t)(nl - p), ++token, &resp,
				      &id) == CTL_DEFERRED) {
			if (resp)
				abort();
			/* Answer later, as the server would. */
			fuzz_check(ctl_response_ok(id, NULL));
		} else {
			if (id)
				abort();
			fuzz_check(resp);
		}
		p = nl + 1;
	}
	return 0;
}
