// SPDX-License-Identifier: MIT
/*
 * device: VMBus devices and their channels on the host side — registration
 * (vmbus_device_add), offers, sub-channels, hot-unplug (rescind) and
 * freeing. Each channel gets the lowest free relid and the connection ID
 * VMBUS_CHANNEL_CONN_BASE + relid, whose HvSignalEvent handler (and, with
 * set_signal_fd, eventfd) is set up once and kept for the server's lifetime
 * (a vCPU may be inside the handler at any time).
 */
#include "vmbus_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "hvkvm/util.h"

/* ---- channels and offers ---- */

void device_send_offer(struct vmbus_server *s, struct vmbus_channel *ch)
{
	struct vmbus_msg_offer_channel m;
	const struct vmbus_device_params *p = &ch->dev->p;

	memset(&m, 0, sizeof(m));
	m.hdr.msgtype = VMBUS_MSG_OFFERCHANNEL;
	memcpy(m.if_type, p->class_id, 16);
	memcpy(m.if_instance, p->instance_id, 16);
	m.chn_flags = p->offer_flags;
	m.mmio_megabytes = p->mmio_megabytes;
	memcpy(m.user_def, p->user_def, sizeof(m.user_def));
	m.sub_channel_index = ch->subidx;
	m.child_relid = ch->relid;
	m.monitor_allocated = 0;
	m.is_dedicated_interrupt = 0;
	m.connection_id = VMBUS_CHANNEL_CONN_BASE + ch->relid;
	chan_transition(ch, CHAN_EV_OFFER);
	server_send(s, &m, sizeof(m));
}

static int device_alloc_channel(struct vmbus_device *dev, uint16_t subidx,
				struct vmbus_channel **out)
{
	struct vmbus_server *s = dev->srv;
	struct vmbus_channel *ch;
	uint32_t relid;
	int r;

	for (relid = 1; relid < VMBUS_MAX_RELID && s->chans[relid]; relid++)
		;
	if (relid == VMBUS_MAX_RELID)
		return -ENOSPC;
	r = server_slot_init(s, relid);
	if (r)
		return r;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->srv = s;
	ch->dev = dev;
	ch->relid = relid;
	ch->subidx = subidx;
	ch->state = CHAN_NEW;
	s->chans[relid] = ch;
	*out = ch;
	return 0;
}

void device_free_channel(struct vmbus_channel *ch)
{
	struct vmbus_device *dev = ch->dev;
	struct vmbus_server *s = ch->srv;

	chan_close(ch);
	chan_gpadl_drop(s, ch->relid);
	s->chans[ch->relid] = NULL;
	dev->chans[ch->subidx] = NULL;
	free(ch);
}

void device_free(struct vmbus_device *dev)
{
	struct vmbus_device **pp;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dev->chans); i++)
		if (dev->chans[i])
			device_free_channel(dev->chans[i]);
	for (pp = &dev->srv->devices; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	if (dev->p.ops->destroy)
		dev->p.ops->destroy(dev);
	free(dev);
}

bool device_has_channels(struct vmbus_device *dev)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dev->chans); i++)
		if (dev->chans[i])
			return true;
	return false;
}

/* ---- devices ---- */

int vmbus_device_add(struct vmbus_server *s,
		     const struct vmbus_device_params *p,
		     struct vmbus_device **out)
{
	struct vmbus_device *dev, **pp;
	struct vmbus_channel *ch;
	int r;

	if (!p->ops || !p->ops->packet)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->srv = s;
	dev->p = *p;
	snprintf(dev->name, sizeof(dev->name), "%s", p->name ? p->name : "?");
	dev->p.name = dev->name;
	r = device_alloc_channel(dev, 0, &ch);
	if (r) {
		free(dev);
		return r;
	}
	dev->chans[0] = ch;
	dev->nr_chans = 1;
	for (pp = &s->devices; *pp; pp = &(*pp)->next)
		;
	*pp = dev;
	if (s->offers_requested)
		device_send_offer(s, ch);
	if (out)
		*out = dev;
	return 0;
}

int vmbus_device_offer_subchannels(struct vmbus_device *dev, unsigned int count)
{
	struct vmbus_server *s = dev->srv;
	unsigned int i;
	int r;

	if (count > VMBUS_MAX_SUBCHANNELS)
		return -EINVAL;
	if (s->version < VMBUS_VERSION_WIN8)
		return -EOPNOTSUPP;
	for (i = 1; i <= count; i++) {
		struct vmbus_channel *ch;

		if (dev->chans[i])
			continue;
		r = device_alloc_channel(dev, (uint16_t)i, &ch);
		if (r)
			return r;
		dev->chans[i] = ch;
		if (s->offers_requested)
			device_send_offer(s, ch);
	}
	dev->nr_chans = MAX(dev->nr_chans, count + 1);
	return 0;
}

void vmbus_device_remove(struct vmbus_device *dev)
{
	struct vmbus_server *s = dev->srv;
	unsigned int i;

	dev->removed = true;
	for (i = 0; i < ARRAY_SIZE(dev->chans); i++) {
		struct vmbus_channel *ch = dev->chans[i];
		struct vmbus_msg_rescind_offer m = { 0 };

		if (!ch)
			continue;
		chan_close(ch);
		chan_gpadl_drop(s, ch->relid);
		if (!s->connected || ch->state == CHAN_NEW) {
			device_free_channel(ch);
			continue;
		}
		m.hdr.msgtype = VMBUS_MSG_RESCIND_CHANNELOFFER;
		m.child_relid = ch->relid;
		chan_transition(ch, CHAN_EV_RESCIND);
		server_send(s, &m, sizeof(m));
	}
	if (!device_has_channels(dev))
		device_free(dev);
}

void *vmbus_device_priv(struct vmbus_device *dev)
{
	return dev->p.priv;
}

const char *vmbus_device_name(struct vmbus_device *dev)
{
	return dev->name;
}

int vmbus_guid_parse(const char *str, uint8_t out[16])
{
	uuid_t u;

	if (uuid_parse(str, u))
		return -EINVAL;
	/* The first three fields are little-endian on the wire. */
	out[0] = u[3], out[1] = u[2], out[2] = u[1], out[3] = u[0];
	out[4] = u[5], out[5] = u[4];
	out[6] = u[7], out[7] = u[6];
	memcpy(out + 8, u + 8, 8);
	return 0;
}
