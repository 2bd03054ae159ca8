// SPDX-License-Identifier: MIT
/*
 * ctl_proto: the control protocol without sockets. One request line (a
 * JSON object) is parsed, checked against the command's argument table and
 * handed to the VM's op; the answer is a response object. Everything a
 * client sends is untrusted: malformed JSON, wrong types, unknown commands
 * or arguments become error responses (docs/control.md lists them).
 */
#include "hvkvm/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hvkvm/util.h"
#include "ctl_internal.h"

#define CTL_JSON_DEPTH 16 /* nesting a request may use */
#define CTL_ID_MAX 256	  /* string id length */
#define CTL_ARGS_MAX 5	  /* arguments of one command */
#define CTL_STATS_DEPTH 8 /* dotted path parts */
#define CTL_KEYS_MAX 32	  /* members of one object */

enum ctl_arg_type {
	CTL_ARG_UINT, /* integer 0..max */
	CTL_ARG_STR,  /* string 1..max bytes, no NUL */
	CTL_ARG_POOL, /* KVP pool name or number */
};

struct ctl_arg {
	const char *name;
	enum ctl_arg_type type;
	bool required;
	uint64_t max; /* UINT: largest value; STR: longest */
};

struct ctl_cmd_desc {
	const char *name;
	struct ctl_arg args[CTL_ARGS_MAX];
};

static const struct ctl_cmd_desc ctl_cmds[CTL_CMD_COUNT] = {
	[CTL_CMD_STATUS] = { .name = "status" },
	[CTL_CMD_STATS] = { .name = "stats" },
	[CTL_CMD_SHUTDOWN] = { "shutdown",
			       {
				       { "timeout", CTL_ARG_UINT, false,
					 CTL_SHUTDOWN_TIMEOUT_MAX },
			       } },
	[CTL_CMD_POWEROFF] = { .name = "poweroff" },
	[CTL_CMD_REBOOT] = { .name = "reboot" },
	[CTL_CMD_PAUSE] = { .name = "pause" },
	[CTL_CMD_RESUME] = { .name = "resume" },
	[CTL_CMD_KVP_GET] = { "kvp-get",
			      {
				      { "pool", CTL_ARG_POOL, true, 0 },
				      { "key", CTL_ARG_STR, true,
					CTL_KVP_KEY_MAX },
			      } },
	[CTL_CMD_KVP_SET] = { "kvp-set",
			      {
				      { "pool", CTL_ARG_POOL, true, 0 },
				      { "key", CTL_ARG_STR, true,
					CTL_KVP_KEY_MAX },
				      { "value", CTL_ARG_STR, true,
					CTL_KVP_VALUE_MAX },
			      } },
	[CTL_CMD_EJECT] = { "eject",
			    {
				    { "drive", CTL_ARG_STR, true,
				      CTL_DRIVE_MAX },
				    { "force", CTL_ARG_UINT, false, 1 },
			    } },
	[CTL_CMD_INSERT] = { "insert",
			     {
				     { "drive", CTL_ARG_STR, true,
				       CTL_DRIVE_MAX },
				     { "file", CTL_ARG_STR, true, CTL_PATH_MAX },
			     } },
	[CTL_CMD_DISK_ADD] = { "disk-add",
			       {
				       { "file", CTL_ARG_STR, true,
					 CTL_PATH_MAX },
				       { "drive", CTL_ARG_STR, false,
					 CTL_DRIVE_MAX },
				       { "addr", CTL_ARG_STR, false, 16 },
				       { "readonly", CTL_ARG_UINT, false, 1 },
				       { "format", CTL_ARG_STR, false, 8 },
			       } },
	[CTL_CMD_SHUTDOWN_CANCEL] = { .name = "shutdown-cancel" },
	[CTL_CMD_DISK_REMOVE] = { "disk-remove",
				  {
					  { "drive", CTL_ARG_STR, true,
					    CTL_DRIVE_MAX },
				  } },
	[CTL_CMD_LINK] = { "link",
			   {
				   { "nic", CTL_ARG_STR, true, 15 },
				   { "state", CTL_ARG_STR, true, 4 },
			   } },
};

static const char *const ctl_pool_names[CTL_KVP_POOLS] = {
	[CTL_KVP_EXTERNAL] = "external",
	[CTL_KVP_GUEST] = "guest",
	[CTL_KVP_AUTO] = "auto",
	[CTL_KVP_AUTO_EXTERNAL] = "auto-external",
	[CTL_KVP_AUTO_INTERNAL] = "auto-internal",
};

struct ctl_stats {
	struct json_object *root; /* the stats result object */
};

const char *ctl_kvp_pool_name(enum ctl_kvp_pool pool)
{
	return (unsigned int)pool < CTL_KVP_POOLS ? ctl_pool_names[pool] : "?";
}

/* ---- responses ---- */

struct json_object *ctl_response_ok(struct json_object *id,
				    struct json_object *result)
{
	struct json_object *r = json_object_new_object();

	if (!r) {
		json_object_put(id);
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(r, "id", id);
	json_object_object_add(r, "ok", json_object_new_boolean(1));
	json_object_object_add(r, "result",
			       result ? result : json_object_new_object());
	return r;
}

struct json_object *ctl_response_err(struct json_object *id, const char *code,
				     const char *msg)
{
	struct json_object *r = json_object_new_object();

	if (!r) {
		json_object_put(id);
		return NULL;
	}
	json_object_object_add(r, "id", id);
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", json_object_new_string(msg));
	json_object_object_add(r, "code", json_object_new_string(code));
	return r;
}

/* ---- stats ---- */

int ctl_stats_add(struct ctl_stats *st, const char *path, uint64_t value)
{
	struct json_object *obj = st->root, *child;
	char part[CTL_NAME_MAX + 1];
	const char *p = path, *dot;
	unsigned int depth = 0;
	size_t n;

	for (;;) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (!n || n > CTL_NAME_MAX || ++depth > CTL_STATS_DEPTH)
			return -EINVAL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!dot)
			break;
		if (!json_object_object_get_ex(obj, part, &child)) {
			child = json_object_new_object();
			if (!child)
				return -ENOMEM;
			json_object_object_add(obj, part, child);
		} else if (!json_object_is_type(child, json_type_object)) {
			return -EEXIST;
		}
		obj = child;
		p = dot + 1;
	}
	if (json_object_object_get_ex(obj, part, NULL))
		return -EEXIST;
	/* json-c prints uint64 exactly; counters never need a sign. */
	return json_object_object_add(obj, part,
				      json_object_new_uint64(value)) ?
		       -ENOMEM :
		       0;
}

/* ---- request checking ---- */

/*
 * A client's string for an error message: at most @max bytes, cut on a
 * UTF-8 character boundary (the input was valid UTF-8), control
 * characters shown as '?', so the message stays one line of valid UTF-8.
 */
static const char *ctl_clip(const char *s, char *buf, size_t max)
{
	size_t i, n = strlen(s);

	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* s[n] continues a character: back off */
	}
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
								      s[i];
	buf[n] = '\0';
	return buf;
}

static int ctl_find_cmd(const char *name)
{
	unsigned int i;

	for (i = 0; i < CTL_CMD_COUNT; i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return (int)i;
	return -1;
}

static const struct ctl_arg *ctl_find_arg(const struct ctl_cmd_desc *c,
					  const char *name)
{
	unsigned int i;

	for (i = 0; i < CTL_ARGS_MAX && c->args[i].name; i++)
		if (!strcmp(c->args[i].name, name))
			return &c->args[i];
	return NULL;
}

static int ctl_parse_pool(struct json_object *v, enum ctl_kvp_pool *out)
{
	unsigned int i;

	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || n >= CTL_KVP_POOLS)
			return -ERANGE;
		*out = (enum ctl_kvp_pool)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	for (i = 0; i < CTL_KVP_POOLS; i++) {
		if (!strcmp(json_object_get_string(v), ctl_pool_names[i])) {
			*out = (enum ctl_kvp_pool)i;
			return 0;
		}
	}
	return -ERANGE;
}

/* Check one argument and store it in @req; message in @msg on failure. */
static int ctl_take_arg(const struct ctl_arg *a, struct json_object *v,
			struct ctl_req *req, char *msg, size_t msglen)
{
	const char *s;
	size_t len;
	int64_t n;

	switch (a->type) {
	case CTL_ARG_UINT:
		if (!json_object_is_type(v, json_type_int))
			goto type;
		n = json_object_get_int64(v);
		if (n < 0 || (uint64_t)n > a->max) {
			snprintf(msg, msglen, "'%s' must be 0..%" PRIu64,
				 a->name, a->max);
			return -ERANGE;
		}
		if (!strcmp(a->name, "force"))
			req->force = n != 0;
		else if (!strcmp(a->name, "readonly"))
			req->readonly = n != 0;
		else
			req->timeout = (unsigned int)n;
		return 0;
	case CTL_ARG_STR:
		if (!json_object_is_type(v, json_type_string))
			goto type;
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (!len || len > a->max || strlen(s) != len) {
			snprintf(msg, msglen,
				 "'%s' must be 1..%" PRIu64
				 " bytes without NUL",
				 a->name, a->max);
			return -ERANGE;
		}
		if (!strcmp(a->name, "key"))
			req->key = s;
		else if (!strcmp(a->name, "drive"))
			req->drive = s;
		else if (!strcmp(a->name, "file"))
			req->file = s;
		else if (!strcmp(a->name, "addr"))
			req->addr = s;
		else if (!strcmp(a->name, "format"))
			req->format = s;
		else if (!strcmp(a->name, "nic"))
			req->nic = s;
		else if (!strcmp(a->name, "state"))
			req->state = s;
		else
			req->value = s;
		return 0;
	case CTL_ARG_POOL:
		switch (ctl_parse_pool(v, &req->pool)) {
		case 0:
			return 0;
		case -ERANGE:
			snprintf(
				msg, msglen,
				"'pool' must be external, guest, auto, auto-external, auto-internal or 0..4");
			return -ERANGE;
		default:
			goto type;
		}
	}
type:
	snprintf(msg, msglen, "'%s' must be %s", a->name,
		 a->type == CTL_ARG_UINT ? "an integer" :
		 a->type == CTL_ARG_STR	 ? "a string" :
					   "a string or an integer");
	return -EINVAL;
}

/* Every member is known and well typed; required ones are present. */
static int ctl_take_args(const struct ctl_cmd_desc *c, struct json_object *o,
			 struct ctl_req *req, char *msg, size_t msglen)
{
	const struct ctl_arg *a;
	struct json_object *v;
	unsigned int i;
	int r;

	json_object_object_foreach(o, k, val)
	{
		if (!strcmp(k, "cmd") || !strcmp(k, "id"))
			continue;
		if (!ctl_find_arg(c, k)) {
			char clip[CTL_NAME_MAX + 1];

			snprintf(msg, msglen, "%s: unknown argument '%s'",
				 c->name, ctl_clip(k, clip, CTL_NAME_MAX));
			return -EINVAL;
		}
		(void)val;
	}
	for (i = 0; i < CTL_ARGS_MAX && c->args[i].name; i++) {
		a = &c->args[i];
		if (!json_object_object_get_ex(o, a->name, &v) ||
		    json_object_is_type(v, json_type_null)) {
			if (!a->required)
				continue;
			snprintf(msg, msglen, "%s: missing argument '%s'",
				 c->name, a->name);
			return -EINVAL;
		}
		r = ctl_take_arg(a, v, req, msg, msglen);
		if (r)
			return r;
	}
	return 0;
}

/* A request id is echoed back: null, an integer or a short string. */
static bool ctl_id_valid(struct json_object *id)
{
	if (!id || json_object_is_type(id, json_type_int))
		return true;
	return json_object_is_type(id, json_type_string) &&
	       json_object_get_string_len(id) <= CTL_ID_MAX;
}

/* ---- the pre-scan: what json-c does not check ---- */

/*
 * json-c keeps the last of two equal keys, cuts nothing at an escaped
 * \u0000 (the C string ends there while the length goes on), turns lone
 * surrogates into U+FFFD and accepts overlong and surrogate UTF-8. So the
 * raw line is scanned first, in one pass: every string is decoded and
 * checked (strict UTF-8, no NUL, surrogates only in pairs), and the
 * decoded keys of each open object are kept (at most CTL_KEYS_MAX per
 * object, so finding a duplicate costs at most CTL_KEYS_MAX comparisons
 * per key: O(n) for any line). Anything else that is not JSON is left for
 * json-c to reject.
 */
struct ctl_scan_key {
	uint32_t off;  /* in the arena */
	uint32_t len;  /* decoded bytes */
	uint32_t hash; /* FNV-1a of the decoded bytes */
};

struct ctl_scan_level {
	bool object;	    /* else an array */
	bool want_key;	    /* object: the next string is a member name */
	unsigned int first; /* its first key in keys[] */
	size_t arena;	    /* arena length when it opened */
};

struct ctl_scan {
	const unsigned char *s;
	size_t len, pos;
	char *arena; /* decoded keys of the open objects */
	size_t arena_len;
	struct ctl_scan_key keys[CTL_KEYS_MAX * CTL_JSON_DEPTH];
	unsigned int nr_keys;
	struct ctl_scan_level lv[CTL_JSON_DEPTH];
	unsigned int depth;
	char *msg;
	size_t msglen;
};

static int ctl_hex4(const unsigned char *p, uint32_t *out)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Length of the strict UTF-8 sequence at @p (at most @n bytes), or 0. */
static size_t ctl_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* continuation, overlong lead, > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* U+D800..U+DFFF */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* > U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Count (and with @out, write) @cp as UTF-8. */
static void ctl_scan_put(char *out, size_t *n, uint32_t cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (out)
		memcpy(out + *n, b, k);
	*n += k;
}

/*
 * The string whose opening quote is at sc->pos: check it and, with @out,
 * decode it there (never longer than its source). Leaves sc->pos on the
 * closing quote. -EINVAL with sc->msg for a string we refuse; 1 for one
 * that is not JSON at all (json-c names the error).
 */
static int ctl_scan_string(struct ctl_scan *sc, char *out, size_t *outlen)
{
	const unsigned char *s = sc->s;
	size_t i = sc->pos + 1, n = 0, k;
	uint32_t cp, lo;

	while (i < sc->len && s[i] != '"') {
		if (s[i] != '\\') {
			k = ctl_utf8_len(s + i, sc->len - i);
			if (!k) {
				snprintf(
					sc->msg, sc->msglen,
					"malformed JSON: invalid UTF-8 in a string");
				return -EINVAL;
			}
			if (out)
				memcpy(out + n, s + i, k);
			n += k;
			i += k;
			continue;
		}
		if (i + 1 >= sc->len)
			return 1;
		if (s[i + 1] != 'u') {
			if (!strchr("\"\\/bfnrt", s[i + 1]))
				return 1;
			ctl_scan_put(out, &n,
				     (uint32_t)(s[i + 1] == 'b' ? '\b' :
						s[i + 1] == 'f' ? '\f' :
						s[i + 1] == 'n' ? '\n' :
						s[i + 1] == 'r' ? '\r' :
						s[i + 1] == 't' ? '\t' :
								  s[i + 1]));
			i += 2;
			continue;
		}
		if (i + 6 > sc->len || ctl_hex4(s + i + 2, &cp))
			return 1;
		i += 6;
		if (cp == 0) {
			snprintf(sc->msg, sc->msglen,
				 "NUL (\\u0000) in a string");
			return -EINVAL;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 6 > sc->len || s[i] != '\\' ||
			    s[i + 1] != 'u' || ctl_hex4(s + i + 2, &lo) ||
			    lo < 0xdc00 || lo > 0xdfff)
				goto lone;
			i += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			goto lone;
		}
		ctl_scan_put(out, &n, cp);
	}
	if (i >= sc->len)
		return 1; /* unterminated */
	sc->pos = i;
	if (outlen)
		*outlen = n;
	return 0;
lone:
	snprintf(sc->msg, sc->msglen,
		 "lone surrogate \\u%04" PRIx32 " in a string", cp);
	return -EINVAL;
}

/* A member name of the innermost object: no duplicates, not too many. */
static int ctl_scan_key(struct ctl_scan *sc)
{
	struct ctl_scan_level *l = &sc->lv[sc->depth - 1];
	char *key = sc->arena + sc->arena_len;
	uint32_t h = 2166136261u;
	size_t n, i;
	int r;

	r = ctl_scan_string(sc, key, &n);
	if (r)
		return r;
	if (sc->nr_keys - l->first >= CTL_KEYS_MAX) {
		snprintf(sc->msg, sc->msglen,
			 "more than %d members in one object", CTL_KEYS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	for (i = l->first; i < sc->nr_keys; i++) {
		const struct ctl_scan_key *k = &sc->keys[i];
		char clip[CTL_NAME_MAX + 1];

		if (k->hash != h || k->len != n ||
		    memcmp(sc->arena + k->off, key, n))
			continue;
		/* ctl_clip wants a C string: keys hold no NUL. */
		key[n] = '\0';
		snprintf(sc->msg, sc->msglen, "duplicate key '%s'",
			 ctl_clip(key, clip, CTL_NAME_MAX));
		return -EINVAL;
	}
	sc->keys[sc->nr_keys++] = (struct ctl_scan_key){
		.off = (uint32_t)sc->arena_len, .len = (uint32_t)n, .hash = h
	};
	sc->arena_len += n;
	l->want_key = false;
	return 0;
}

/* 0: nothing to refuse (json-c parses next); -EINVAL with @msg. */
static int ctl_scan(const char *line, size_t len, char *msg, size_t msglen)
{
	struct ctl_scan *sc = calloc(1, sizeof(*sc));
	struct ctl_scan_level *l;
	int r = 0;

	if (!sc || !(sc->arena = malloc(len + 1))) {
		free(sc);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	sc->s = (const unsigned char *)line;
	sc->len = len;
	sc->msg = msg;
	sc->msglen = msglen;
	for (; !r && sc->pos < len; sc->pos++) {
		l = sc->depth ? &sc->lv[sc->depth - 1] : NULL;
		switch (line[sc->pos]) {
		case '{':
		case '[':
			if (sc->depth == CTL_JSON_DEPTH) {
				snprintf(
					msg, msglen,
					"malformed JSON: nesting deeper than %d levels",
					CTL_JSON_DEPTH);
				r = -EINVAL;
				break;
			}
			sc->lv[sc->depth++] = (struct ctl_scan_level){
				.object = line[sc->pos] == '{',
				.want_key = line[sc->pos] == '{',
				.first = sc->nr_keys,
				.arena = sc->arena_len,
			};
			break;
		case '}':
		case ']':
			if (!l) {
				r = 1;
				break;
			}
			sc->nr_keys = l->first;
			sc->arena_len = l->arena;
			if (!--sc->depth)
				r = 1; /* the end of the request */
			break;
		case ',':
			if (l && l->object)
				l->want_key = true;
			break;
		case '"':
			if (l && l->object && l->want_key)
				r = ctl_scan_key(sc);
			else
				r = ctl_scan_string(sc, NULL, NULL);
			break;
		}
	}
	free(sc->arena);
	free(sc);
	return r < 0 ? r : 0;
}

static struct json_object *ctl_parse(const char *line, size_t len,
				     const char **code, char *msg,
				     size_t msglen)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t i;

	if (len > CTL_LINE_MAX) {
		snprintf(msg, msglen, "request line longer than %d bytes",
			 CTL_LINE_MAX);
		return NULL;
	}
	if (memchr(line, '\0', len)) {
		snprintf(msg, msglen, "NUL byte in request");
		return NULL;
	}
	switch (ctl_scan(line, len, msg, msglen)) {
	case 0:
		break;
	case -ENOMEM:
		*code = "failed";
		return NULL;
	default:
		return NULL;
	}
	tok = json_tokener_new_ex(CTL_JSON_DEPTH);
	if (!tok) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_ALLOW_TRAILING_CHARS |
					    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue) {
		/* A bare number may go on: end the input explicitly. */
		o = json_tokener_parse_ex(tok, "", 1);
		if (o) {
			json_tokener_free(tok);
			return o;
		}
	}
	if (!o && json_tokener_get_error(tok) == json_tokener_success) {
		*code = "invalid-request"; /* a JSON null */
		snprintf(msg, msglen, "a request must be a JSON object");
		json_tokener_free(tok);
		return NULL;
	}
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(msg, msglen, "malformed JSON: %s",
			 e == json_tokener_continue ||
					 e == json_tokener_error_parse_eof ?
				 "unexpected end of line" :
				 json_tokener_error_desc(e));
		json_tokener_free(tok);
		return NULL;
	}
	for (i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r", line[i])) {
			snprintf(
				msg, msglen,
				"malformed JSON: data after the request object");
			json_object_put(o);
			o = NULL;
			break;
		}
	}
	json_tokener_free(tok);
	return o;
}

/* ---- dispatch ---- */

static int (*ctl_op(const struct ctl_ops *ops,
		    enum ctl_cmd cmd))(void *, struct ctl_req *)
{
	switch (cmd) {
	case CTL_CMD_STATUS:
		return ops->status;
	case CTL_CMD_SHUTDOWN:
		return ops->shutdown;
	case CTL_CMD_POWEROFF:
		return ops->poweroff;
	case CTL_CMD_REBOOT:
		return ops->reboot;
	case CTL_CMD_PAUSE:
		return ops->pause;
	case CTL_CMD_RESUME:
		return ops->resume;
	case CTL_CMD_KVP_GET:
		return ops->kvp_get;
	case CTL_CMD_KVP_SET:
		return ops->kvp_set;
	case CTL_CMD_EJECT:
		return ops->eject;
	case CTL_CMD_INSERT:
		return ops->insert;
	case CTL_CMD_DISK_ADD:
		return ops->disk_add;
	case CTL_CMD_DISK_REMOVE:
		return ops->disk_remove;
	case CTL_CMD_LINK:
		return ops->link;
	case CTL_CMD_SHUTDOWN_CANCEL:
		return ops->shutdown_cancel;
	default:
		return NULL;
	}
}

static int ctl_call_op(const struct ctl_dispatch *d, struct ctl_req *req)
{
	struct ctl_stats st = { .root = req->result };
	unsigned int i;
	int r;

	if (req->cmd == CTL_CMD_STATUS) {
		json_object_object_add(
			req->result, "name",
			json_object_new_string(d->name ? d->name : ""));
		json_object_object_add(req->result, "pid",
				       json_object_new_int64(getpid()));
	}
	if (req->cmd != CTL_CMD_STATS) {
		int (*fn)(void *, struct ctl_req *) = ctl_op(d->ops, req->cmd);

		return fn ? fn(d->opaque, req) : -EOPNOTSUPP;
	}
	if (!d->ops->stats && !d->nr_stats)
		return -EOPNOTSUPP;
	r = d->ops->stats ? d->ops->stats(d->opaque, req, &st) : 0;
	if (r)
		return r; /* deferred stats skip the providers */
	for (i = 0; i < d->nr_stats; i++)
		d->stats_fns[i](d->stats_opaque[i], &st);
	return 0;
}

int ctl_dispatch_line(const struct ctl_dispatch *d, const char *line,
		      size_t len, uint64_t token, struct json_object **resp,
		      struct json_object **idp)
{
	int cmd;

	return ctl_dispatch_line_cmd(d, line, len, token, resp, idp, &cmd);
}

int ctl_dispatch_line_cmd(const struct ctl_dispatch *d, const char *line,
			  size_t len, uint64_t token, struct json_object **resp,
			  struct json_object **idp, int *cmdp)
{
	struct json_object *o, *id = NULL, *cmdv;
	char msg[CTL_ERR_MAX + 64] = "", operr[CTL_ERR_MAX] = "";
	const char *code = "invalid-request";
	struct ctl_req req;
	int cmd, r;

	*resp = NULL;
	*idp = NULL;
	*cmdp = -1;
	code = "parse-error";
	o = ctl_parse(line, len, &code, msg, sizeof(msg));
	if (!o)
		goto err;
	code = "invalid-request";
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(msg, sizeof(msg), "a request must be a JSON object");
		goto err_put;
	}
	json_object_object_get_ex(o, "id", &id);
	if (!ctl_id_valid(id)) {
		snprintf(
			msg, sizeof(msg),
			"'id' must be an integer or a string of at most %d bytes",
			CTL_ID_MAX);
		id = NULL;
		goto err_put;
	}
	id = json_object_get(id);
	if (!json_object_object_get_ex(o, "cmd", &cmdv) ||
	    !json_object_is_type(cmdv, json_type_string)) {
		snprintf(msg, sizeof(msg), "'cmd' (a string) is missing");
		goto err_put;
	}
	cmd = ctl_find_cmd(json_object_get_string(cmdv));
	if (cmd < 0) {
		char clip[CTL_NAME_MAX + 1];

		code = "unknown-command";
		snprintf(msg, sizeof(msg), "unknown command '%s'",
			 ctl_clip(json_object_get_string(cmdv), clip,
				  CTL_NAME_MAX));
		goto err_put;
	}
	memset(&req, 0, sizeof(req));
	req.cmd = (enum ctl_cmd)cmd;
	*cmdp = cmd;
	req.timeout = CTL_SHUTDOWN_TIMEOUT;
	req.err = operr;
	req.errlen = sizeof(operr);
	req.token = token;
	if (ctl_take_args(&ctl_cmds[cmd], o, &req, msg, sizeof(msg))) {
		code = "invalid-argument";
		goto err_put;
	}
	req.result = json_object_new_object();
	if (!req.result) {
		snprintf(msg, sizeof(msg), "out of memory");
		code = "failed";
		goto err_put;
	}
	r = ctl_call_op(d, &req);
	json_object_put(o); /* after the op: req strings point into it */
	if (r == CTL_DEFERRED) {
		json_object_put(req.result);
		*idp = id;
		return CTL_DEFERRED;
	}
	if (r == 0) {
		*resp = ctl_response_ok(id, req.result);
		return 0;
	}
	json_object_put(req.result);
	if (r == -EOPNOTSUPP) {
		code = "unsupported";
		if (operr[0])
			snprintf(msg, sizeof(msg), "%s", operr);
		else
			snprintf(msg, sizeof(msg),
				 "'%s' is not supported by this VM",
				 ctl_cmds[cmd].name);
	} else {
		code = "failed";
		snprintf(msg, sizeof(msg), "%s",
			 operr[0] ? operr : strerror(r < 0 ? -r : EIO));
	}
	goto err;

err_put:
	json_object_put(o);
err:
	*resp = ctl_response_err(id, code, msg);
	return 0;
}

/* ---- for the client ---- */

char ctl_arg_kind(const char *cmd, const char *arg)
{
	static const char kinds[] = {
		[CTL_ARG_UINT] = 'u', [CTL_ARG_STR] = 's', [CTL_ARG_POOL] = 'p'
	};
	const struct ctl_arg *a;
	int c = ctl_find_cmd(cmd);

	if (c < 0)
		return 0;
	a = ctl_find_arg(&ctl_cmds[c], arg);
	return a ? kinds[a->type] : 0;
}

const char *ctl_arg_positional(const char *cmd, unsigned int i)
{
	int c = ctl_find_cmd(cmd);

	if (c < 0 || i >= CTL_ARGS_MAX)
		return NULL;
	return ctl_cmds[c].args[i].name;
}
