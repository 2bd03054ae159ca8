// SPDX-License-Identifier: MIT
/*
 * ic_kvp: key-value pair exchange (a9a0f4e7-5a45-4d96-b827-8a841e8c03e6),
 * message layout of Linux hv_kvp / include/uapi/linux/hyperv.h.
 *
 * The host drives everything: SET/DELETE push host data into a pool
 * (normally EXTERNAL), ENUMERATE walks a guest pool by index until the guest
 * answers with a non-zero status. Keys and values are UTF-16LE on the wire,
 * UTF-8 here. Pushed values are remembered and pushed again whenever the
 * service is renegotiated (guest reboot). In a Linux guest the kernel relays
 * to hv_kvp_daemon; without the daemon every request fails with E_FAIL.
 *
 * Not implemented: GET_IP_INFO / SET_IP_INFO.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"
#include "ic.h"

#define KVP_QUEUE_MAX 64
#define KVP_CACHE_MAX 256

struct kvp_entry {
	unsigned int pool;
	char *key;
	char *value;
	struct kvp_entry *next;
};

struct kvp_req {
	uint8_t op;
	uint8_t pool;
	uint32_t index; /* ENUMERATE */
	char *key;
	char *value;
	ic_done_fn done;
	void *opaque;
	struct kvp_req *next;
};

struct ic_kvp {
	struct ic_base ic;
	struct kvp_req *queue; /* head is the request in flight */
	unsigned int queued;
	bool sent;
	struct kvp_entry *host;	 /* values pushed by the host */
	struct kvp_entry *cache; /* guest pools read by ENUMERATE */
};

/* UTF-8 -> UTF-16LE with NUL; returns bytes written or -EINVAL. */
static int kvp_to_utf16(const char *s, uint8_t *out, unsigned int max)
{
	const uint8_t *p = (const uint8_t *)s;
	unsigned int n = 0;

	while (*p) {
		uint32_t c;
		int more;

		if (*p < 0x80)
			c = *p, more = 0;
		else if ((*p & 0xe0) == 0xc0)
			c = *p & 0x1f, more = 1;
		else if ((*p & 0xf0) == 0xe0)
			c = *p & 0x0f, more = 2;
		else if ((*p & 0xf8) == 0xf0)
			c = *p & 0x07, more = 3;
		else
			return -EINVAL;
		p++;
		while (more--) {
			if ((*p & 0xc0) != 0x80)
				return -EINVAL;
			c = c << 6 | (*p++ & 0x3f);
		}
		if (c >= 0x10000) {
			if (n + 4 > max - 2)
				return -EINVAL;
			c -= 0x10000;
			put_le16(out + n, (uint16_t)(0xd800 | c >> 10));
			put_le16(out + n + 2, (uint16_t)(0xdc00 | (c & 0x3ff)));
			n += 4;
		} else {
			if (n + 2 > max - 2)
				return -EINVAL;
			put_le16(out + n, (uint16_t)c);
			n += 2;
		}
	}
	put_le16(out + n, 0);
	return (int)n + 2;
}

/* UTF-16LE (at most @len bytes, stops at NUL) -> malloc'd UTF-8. */
static char *kvp_from_utf16(const uint8_t *in, uint32_t len)
{
	char *s = malloc(len / 2 * 3 + 1), *o = s;
	uint32_t i;

	if (!s)
		return NULL;
	for (i = 0; i + 1 < len; i += 2) {
		uint32_t c = get_le16(in + i);

		if (!c)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 3 < len) {
			uint32_t lo = get_le16(in + i + 2);

			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 2;
			}
		}
		if (c >= 0xd800 && c < 0xe000)
			c = '?';
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xf0 | c >> 18);
			*o++ = (char)(0x80 | ((c >> 12) & 0x3f));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = 0;
	return s;
}

static void kvp_entry_free(struct kvp_entry *e)
{
	free(e->key);
	free(e->value);
	free(e);
}

static struct kvp_entry **kvp_find(struct kvp_entry **list, unsigned int pool,
				   const char *key)
{
	for (; *list; list = &(*list)->next)
		if ((*list)->pool == pool && !strcmp((*list)->key, key))
			return list;
	return NULL;
}

/* Insert or replace; NULL @value deletes. */
static int kvp_store(struct kvp_entry **list, unsigned int pool,
		     const char *key, const char *value)
{
	struct kvp_entry **pp = kvp_find(list, pool, key), *e;
	unsigned int n = 0;

	if (pp && !value) {
		e = *pp;
		*pp = e->next;
		kvp_entry_free(e);
		return 0;
	}
	if (!value)
		return 0;
	if (pp) {
		char *v = strdup(value);

		if (!v)
			return -ENOMEM;
		free((*pp)->value);
		(*pp)->value = v;
		return 0;
	}
	for (e = *list; e; e = e->next)
		n++;
	if (n >= KVP_CACHE_MAX)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->pool = pool;
	e->key = strdup(key);
	e->value = strdup(value);
	if (!e->key || !e->value) {
		kvp_entry_free(e);
		return -ENOMEM;
	}
	e->next = *list;
	*list = e;
	return 0;
}

static void kvp_req_free(struct kvp_req *q)
{
	free(q->key);
	free(q->value);
	free(q);
}

static int kvp_enqueue(struct ic_kvp *kvp, uint8_t op, unsigned int pool,
		       uint32_t index, const char *key, const char *value,
		       ic_done_fn done, void *opaque)
{
	struct kvp_req *q, **pp;

	if (pool >= KVP_POOL_COUNT)
		return -EINVAL;
	if (kvp->queued >= KVP_QUEUE_MAX)
		return -EBUSY;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->op = op;
	q->pool = (uint8_t)pool;
	q->index = index;
	q->key = key ? strdup(key) : NULL;
	q->value = value ? strdup(value) : NULL;
	q->done = done;
	q->opaque = opaque;
	if ((key && !q->key) || (value && !q->value)) {
		kvp_req_free(q);
		return -ENOMEM;
	}
	for (pp = &kvp->queue; *pp; pp = &(*pp)->next)
		;
	*pp = q;
	kvp->queued++;
	ic_kick(&kvp->ic);
	return 0;
}

/* Retire the head request; @status 0 or -errno goes to its callback. */
static void kvp_finish(struct ic_kvp *kvp, int status)
{
	struct kvp_req *q = kvp->queue;

	if (!q)
		return;
	kvp->queue = q->next;
	kvp->queued--;
	kvp->sent = false;
	if (q->done)
		q->done(q->opaque, status);
	kvp_req_free(q);
}

static int kvp_build(const struct kvp_req *q, struct kvp_msg *m)
{
	int n;

	m->operation = q->op;
	m->pool = q->pool;
	switch (q->op) {
	case KVP_OP_SET:
		n = kvp_to_utf16(q->key, m->get_set.key, KVP_MAX_KEY_SIZE);
		if (n < 0)
			return n;
		put_le32(&m->get_set.key_size, (uint32_t)n);
		n = kvp_to_utf16(q->value, m->get_set.value,
				 KVP_MAX_VALUE_SIZE);
		if (n < 0)
			return n;
		put_le32(&m->get_set.value_size, (uint32_t)n);
		put_le32(&m->get_set.value_type, KVP_REG_SZ);
		return 0;
	case KVP_OP_DELETE:
		n = kvp_to_utf16(q->key, m->delete.key, KVP_MAX_KEY_SIZE);
		if (n < 0)
			return n;
		put_le32(&m->delete.key_size, (uint32_t)n);
		return 0;
	case KVP_OP_ENUMERATE:
		put_le32(&m->enumerate.index, q->index);
		return 0;
	}
	return -EINVAL;
}

static void kvp_pump(struct ic_base *ic)
{
	struct ic_kvp *kvp = container_of(ic, struct ic_kvp, ic);
	struct kvp_msg *m;
	int r;

	if (!kvp->queue || kvp->sent)
		return;
	m = calloc(1, KVP_MSG_WIRE_SIZE);
	if (!m)
		return;
	r = kvp_build(kvp->queue, m);
	if (r) {
		free(m);
		kvp_finish(kvp, r);
		ic_kick(ic);
		return;
	}
	if (!ic_send(ic, m, KVP_MSG_WIRE_SIZE, KVP_MSG_WIRE_SIZE))
		kvp->sent = true;
	free(m);
}

static void kvp_enum_entry(struct ic_kvp *kvp, struct kvp_req *q,
			   const uint8_t *body, uint32_t len)
{
	const struct kvp_msg *m = (const void *)body;
	uint32_t ks, vs, type;
	char *key, *value = NULL;
	char num[24];

	if (len < offsetof(struct kvp_msg, enumerate.data.value)) {
		guest_err("kvp: short ENUMERATE answer (%u bytes)", len);
		return;
	}
	type = get_le32(&m->enumerate.data.value_type);
	ks = MIN(get_le32(&m->enumerate.data.key_size), KVP_MAX_KEY_SIZE);
	vs = MIN(get_le32(&m->enumerate.data.value_size), KVP_MAX_VALUE_SIZE);
	vs = MIN(vs, len - (uint32_t)offsetof(struct kvp_msg,
					      enumerate.data.value));
	key = kvp_from_utf16(m->enumerate.data.key, ks);
	if (!key)
		return;
	if (type == KVP_REG_U32 && vs >= 4) {
		snprintf(num, sizeof(num), "%u",
			 get_le32(m->enumerate.data.value));
		value = strdup(num);
	} else if (type == KVP_REG_U64 && vs >= 8) {
		snprintf(num, sizeof(num), "%llu",
			 (unsigned long long)get_le64(m->enumerate.data.value));
		value = strdup(num);
	} else {
		value = kvp_from_utf16(m->enumerate.data.value, vs);
	}
	if (value && key[0])
		kvp_store(&kvp->cache, q->pool, key, value);
	free(key);
	free(value);
}

static void kvp_response(struct ic_base *ic, uint32_t status,
			 const uint8_t *body, uint32_t len)
{
	struct ic_kvp *kvp = container_of(ic, struct ic_kvp, ic);
	struct kvp_req *q = kvp->queue;

	if (!q || !kvp->sent)
		return;
	if (q->op != KVP_OP_ENUMERATE) {
		kvp_finish(kvp, status == IC_STATUS_OK ? 0 : -EIO);
		return;
	}
	if (status != IC_STATUS_OK) {
		/* End of the pool (S_CONT) or failure. */
		kvp_finish(kvp,
			   status == IC_STATUS_S_CONT || q->index ? 0 : -EIO);
		return;
	}
	kvp_enum_entry(kvp, q, body, len);
	if (q->index + 1 >= KVP_CACHE_MAX) {
		kvp_finish(kvp, 0);
		return;
	}
	q->index++;
	kvp->sent = false; /* same request, next index */
}

static void kvp_abandon(struct ic_base *ic)
{
	struct ic_kvp *kvp = container_of(ic, struct ic_kvp, ic);

	if (kvp->sent)
		kvp_finish(kvp, -ENOTCONN);
}

/* (Re)negotiated: push every remembered host value again. */
static void kvp_ready(struct ic_base *ic)
{
	struct ic_kvp *kvp = container_of(ic, struct ic_kvp, ic);
	struct kvp_entry *e;

	for (e = kvp->host; e; e = e->next)
		kvp_enqueue(kvp, KVP_OP_SET, e->pool, 0, e->key, e->value, NULL,
			    NULL);
}

static void kvp_destroy(struct ic_base *ic)
{
	struct ic_kvp *kvp = container_of(ic, struct ic_kvp, ic);
	struct kvp_entry *e;

	while (kvp->queue)
		kvp_finish(kvp, -ENOTCONN);
	while ((e = kvp->host)) {
		kvp->host = e->next;
		kvp_entry_free(e);
	}
	while ((e = kvp->cache)) {
		kvp->cache = e->next;
		kvp_entry_free(e);
	}
	free(kvp);
}

static const struct ic_desc kvp_desc = {
	.name = "kvp",
	.class_id = "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6",
	.instance_id = "242ff919-07db-4180-9c2e-b86cb68c8c55",
	.msgtype = ICMSGTYPE_KVPEXCHANGE,
	.versions = { VMBUS_MAKE_VERSION(4, 0), VMBUS_MAKE_VERSION(3, 0),
		      VMBUS_MAKE_VERSION(1, 0) },
	.nr_versions = 3,
	.ready = kvp_ready,
	.pump = kvp_pump,
	.response = kvp_response,
	.abandon = kvp_abandon,
	.destroy = kvp_destroy,
};

int ic_kvp_create(struct vmbus_server *s, struct ic_kvp **out)
{
	struct ic_kvp *kvp = calloc(1, sizeof(*kvp));
	int r;

	if (!kvp)
		return -ENOMEM;
	r = ic_register(s, &kvp_desc, &kvp->ic);
	if (r) {
		free(kvp);
		return r;
	}
	if (out)
		*out = kvp;
	return 0;
}

int ic_kvp_set(struct ic_kvp *kvp, unsigned int pool, const char *key,
	       const char *value)
{
	uint8_t probe[KVP_MAX_VALUE_SIZE];
	int r;

	if (pool >= KVP_POOL_COUNT || !key || !value || !key[0] ||
	    kvp_to_utf16(key, probe, KVP_MAX_KEY_SIZE) < 0 ||
	    kvp_to_utf16(value, probe, KVP_MAX_VALUE_SIZE) < 0)
		return -EINVAL;
	r = kvp_store(&kvp->host, pool, key, value);
	if (r)
		return r;
	if (!kvp->ic.negotiated)
		return 0; /* pushed by kvp_ready() */
	return kvp_enqueue(kvp, KVP_OP_SET, pool, 0, key, value, NULL, NULL);
}

int ic_kvp_delete(struct ic_kvp *kvp, unsigned int pool, const char *key)
{
	if (pool >= KVP_POOL_COUNT || !key)
		return -EINVAL;
	kvp_store(&kvp->host, pool, key, NULL);
	if (!kvp->ic.negotiated)
		return 0;
	return kvp_enqueue(kvp, KVP_OP_DELETE, pool, 0, key, NULL, NULL, NULL);
}

int ic_kvp_refresh(struct ic_kvp *kvp, unsigned int pool, ic_done_fn done,
		   void *opaque)
{
	if (!kvp->ic.negotiated)
		return -ENOTCONN;
	return kvp_enqueue(kvp, KVP_OP_ENUMERATE, pool, 0, NULL, NULL, done,
			   opaque);
}

int ic_kvp_lookup(struct ic_kvp *kvp, unsigned int pool, const char *key,
		  char *value, unsigned int size)
{
	struct kvp_entry **pp = kvp_find(&kvp->cache, pool, key);

	if (!pp)
		pp = kvp_find(&kvp->host, pool, key);
	if (!pp)
		return -ENOENT;
	if (strlen((*pp)->value) >= size)
		return -ENOSPC;
	strcpy(value, (*pp)->value);
	return 0;
}

void ic_kvp_foreach(struct ic_kvp *kvp, unsigned int pool, ic_kvp_each_fn fn,
		    void *opaque)
{
	struct kvp_entry *e;

	for (e = kvp->cache; e; e = e->next)
		if (e->pool == pool)
			fn(opaque, e->key, e->value);
	for (e = kvp->host; e; e = e->next)
		if (e->pool == pool)
			fn(opaque, e->key, e->value);
}
