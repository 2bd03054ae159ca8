// SPDX-License-Identifier: MIT
/*
 * chan_state: a channel's life cycle (enum chan_state, vmbus_internal.h)
 * as one table, and chan_transition(), the only place the state changes.
 * server.c, device.c and channel.c report events (offer, open, stall,
 * close, fault, rescind, ...); what an event does in each state is decided
 * here. Events nobody can cause in a state are not transitions: they would
 * be host bugs (the guest cannot reach them), so they are logged and the
 * state is kept.
 */
#include "vmbus_internal.h"

#include "hvkvm/util.h"

/*
 * Next state by current state and event; 0: not a transition (a host bug,
 * logged, the state is kept). Events a state ignores map to itself.
 *
 *   NEW --offer--> OFFERED --open--> OPEN <--stall/kick--> STALLED
 *   OPEN, STALLED --close--> OFFERED, --fault--> BROKEN
 *   BROKEN --open--> OPEN, --close (the guest's)--> OFFERED
 *   OFFERED --rescind--> RESCINDED (freed on RelidReleased),
 *           --disconnect--> NEW (offered again on reconnect)
 */
static const uint8_t chan_next[CHAN_NR_STATES][CHAN_NR_EVENTS] = {
    [CHAN_NEW] =
	{
	    [CHAN_EV_OFFER] = CHAN_OFFERED,
	    [CHAN_EV_KICK] = CHAN_NEW,
	    [CHAN_EV_CLOSE] = CHAN_NEW,
	    [CHAN_EV_DISCONNECT] = CHAN_NEW,
	},
    [CHAN_OFFERED] =
	{
	    [CHAN_EV_OPEN] = CHAN_OPEN,
	    [CHAN_EV_REFUSE] = CHAN_OFFERED,
	    [CHAN_EV_KICK] = CHAN_OFFERED,
	    [CHAN_EV_CLOSE] = CHAN_OFFERED,
	    [CHAN_EV_RESCIND] = CHAN_RESCINDED,
	    [CHAN_EV_DISCONNECT] = CHAN_NEW,
	},
    [CHAN_OPEN] =
	{
	    [CHAN_EV_STALL] = CHAN_STALLED,
	    [CHAN_EV_KICK] = CHAN_OPEN,
	    [CHAN_EV_CLOSE] = CHAN_OFFERED,
	    [CHAN_EV_FAULT] = CHAN_BROKEN,
	},
    [CHAN_STALLED] =
	{
	    [CHAN_EV_KICK] = CHAN_OPEN,
	    [CHAN_EV_CLOSE] = CHAN_OFFERED,
	    [CHAN_EV_FAULT] = CHAN_BROKEN,
	},
    [CHAN_BROKEN] =
	{
	    [CHAN_EV_OPEN] = CHAN_OPEN,
	    [CHAN_EV_REFUSE] = CHAN_OFFERED,
	    [CHAN_EV_KICK] = CHAN_BROKEN,
	    [CHAN_EV_CLOSE] = CHAN_OFFERED,
	},
    [CHAN_RESCINDED] =
	{
	    [CHAN_EV_KICK] = CHAN_RESCINDED,
	    [CHAN_EV_CLOSE] = CHAN_RESCINDED,
	},
};

static const char *const chan_state_names[CHAN_NR_STATES] = {
	[CHAN_NEW] = "new",	  [CHAN_OFFERED] = "offered",
	[CHAN_OPEN] = "open",	  [CHAN_STALLED] = "stalled",
	[CHAN_BROKEN] = "broken", [CHAN_RESCINDED] = "rescinded",
};

static const char *const chan_event_names[CHAN_NR_EVENTS] = {
	[CHAN_EV_OFFER] = "offer",
	[CHAN_EV_OPEN] = "open",
	[CHAN_EV_REFUSE] = "refuse",
	[CHAN_EV_STALL] = "stall",
	[CHAN_EV_KICK] = "kick",
	[CHAN_EV_CLOSE] = "close",
	[CHAN_EV_FAULT] = "fault",
	[CHAN_EV_RESCIND] = "rescind",
	[CHAN_EV_DISCONNECT] = "disconnect",
};

void chan_transition(struct vmbus_channel *ch, enum chan_event ev)
{
	uint8_t next = chan_next[ch->state][ev];

	if (!next) {
		pr_err("vmbus: %s relid %u: %s in state %s ignored",
		       ch->dev->name, ch->relid, chan_event_names[ev],
		       chan_state_names[ch->state]);
		return;
	}
	ch->state = (enum chan_state)next;
}

bool chan_is_open(const struct vmbus_channel *ch)
{
	return ch->state == CHAN_OPEN || ch->state == CHAN_STALLED;
}

bool chan_is_offered(const struct vmbus_channel *ch)
{
	return ch->state != CHAN_NEW && ch->state != CHAN_RESCINDED;
}
