// SPDX-License-Identifier: MIT
/*
 * storvsp: the synthetic SCSI controller on VMBus (class
 * ba6163d9-04a1-4d29-b605-72e2ffb1dc7f), speaking VMSTOR to Linux
 * hv_storvsc and Windows storvsc.sys. Protocol facts from Linux
 * drivers/scsi/storvsc_drv.c; layout in storvsp_proto.h, behaviour in
 * docs/storage.md.
 *
 * Init (primary channel): BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION
 * (4.2, 5.1, 6.0, 6.2 accepted; 2.0 refused), QUERY_PROPERTIES,
 * END_INITIALIZATION, then CREATE_SUB_CHANNELS (up to max_subchannels).
 * Every request is answered with a VMBus completion packet carrying
 * COMPLETE_IO and an NT status. EXECUTE_SRB carries a CDB for path 0,
 * target t, LUN n; its data buffer is the GPA-direct page list of the
 * packet, mapped into iovecs handed straight to the block backend.
 *
 * Hot-add and hot-remove change the LUN table and send ENUMERATE_BUS:
 * storvsc tests every known device (a removed one answers INVALID_LUN and
 * storvsc removes it) and scans for new ones. The IDE accelerator is the
 * same controller with the IDE class and a single disk.
 *
 * Not implemented: FCHBA_DATA (we are not a Fibre Channel HBA), aborting
 * requests on RESET_* (they complete).
 */
#include "hvkvm/storvsp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"
#include "scsi_disk.h"
#include "storvsp_proto.h"

#define SV_MAX_RANGES 8	     /* GPA-direct ranges per request */
#define SV_MAX_INFLIGHT 1024 /* per channel; then the ring waits */
#define SV_PAGE 4096u

struct storvsp_chan;

struct storvsp_lun {
	struct storvsp *sv;
	struct scsi_disk *disk;
	struct block_dev *bd;
	unsigned int target, lun;
	struct storvsp_lun *next_gone; /* removed: freed with the controller */
};

/* One EXECUTE_SRB from receipt to its completion packet. */
struct storvsp_req {
	struct scsi_req sreq;	   /* first: the SCSI layer's view */
	struct storvsp_chan *chan; /* where the answer goes */
	uint64_t trans_id;	   /* the guest's request ID */
	struct vstor_packet pkt;   /* the request, answered in place */
	uint32_t resp_len;	   /* 64, or 48 before Win8 */
	uint32_t want;		   /* data_transfer_length asked for */
	uint8_t sense_max;	   /* sense bytes the guest takes */
	uint8_t kind;		   /* SV_KIND_* for the counters */
	struct storvsp_req *next;  /* free list / deferred list */
	struct iovec iov[SCSI_IOV_MAX];
};

enum {
	SV_KIND_READ,
	SV_KIND_WRITE,
	SV_KIND_FLUSH,
	SV_KIND_UNMAP,
	SV_KIND_OTHER,
	SV_KINDS
};
static const char *const sv_kind_names[SV_KINDS] = { "read", "write", "flush",
						     "unmap", "other" };

/* Per open channel (primary or sub-channel). */
struct storvsp_chan {
	struct storvsp *sv;
	struct vmbus_channel *ch;     /* NULL once closed */
	unsigned int inflight;	      /* requests not yet answered */
	bool stalled;		      /* packet() said -EAGAIN */
	struct storvsp_req *free;     /* recycled requests */
	struct storvsp_req *deferred; /* answers waiting for ring space */
	struct storvsp_req **deferred_tail;
};

struct storvsp_stats {
	uint64_t requests, kind[SV_KINDS], bytes_read, bytes_written;
	uint64_t in_flight, in_flight_max, completions, completion_batches;
	uint64_t completions_deferred, errors, bad_packets, subchannels;
};

struct storvsp {
	struct vmbus_device *dev;
	char name[32];
	uint16_t version;	 /* negotiated VMSTOR version, 0 = none */
	bool init_done;		 /* END_INITIALIZATION seen */
	unsigned int max_sub;	 /* sub-channels we may offer */
	uint32_t max_transfer;	 /* bytes per request */
	bool ide;		 /* the IDE accelerator */
	unsigned int controller; /* in the disks' NAA identifiers */
	unsigned int nr_luns;	 /* configured at creation */
	struct storvsp_lun *luns[STORVSP_MAX_TARGETS * STORVSP_MAX_LUNS];
	struct storvsp_lun *slot[STORVSP_MAX_TARGETS][STORVSP_MAX_LUNS];
	struct storvsp_lun *gone;     /* hot-removed LUNs */
	struct storvsp_chan *primary; /* for storvsp_rescan() */
	unsigned int inflight;	      /* over all channels */
	bool destroyed;		      /* device gone: free at last answer */
	struct storvsp_stats st;
};

static const uint16_t sv_versions[] = {
	VSTOR_VERSION_WIN10,
	VSTOR_VERSION_WIN8_1,
	VSTOR_VERSION_WIN8,
	VSTOR_VERSION_WIN7,
};

static void sv_free(struct storvsp *sv);

/* ---- helpers ---- */

static uint32_t sv_pkt_size(uint16_t version)
{
	return version >= VSTOR_VERSION_WIN8 ? VSTOR_PACKET_SIZE :
					       VSTOR_PACKET_SIZE_PRE_WIN8;
}

/* Control answers are as long as the request (Win7 48, Linux 64). */
static uint32_t sv_ctl_size(uint32_t len)
{
	return MAX(VSTOR_PACKET_SIZE_PRE_WIN8,
		   MIN(len, (uint32_t)VSTOR_PACKET_SIZE));
}

static void sv_chan_free_maybe(struct storvsp_chan *c)
{
	struct storvsp_req *r;

	if (c->ch || c->inflight)
		return;
	while ((r = c->free)) {
		c->free = r->next;
		free(r);
	}
	free(c);
}

static struct storvsp_req *sv_req_get(struct storvsp_chan *c)
{
	struct storvsp_req *r = c->free;

	if (r)
		c->free = r->next;
	else
		r = malloc(sizeof(*r));
	if (r) {
		memset(&r->sreq, 0, sizeof(r->sreq));
		r->chan = c;
		r->next = NULL;
	}
	return r;
}

/* The request is answered (or dropped): recycle, wake a stalled ring. */
static void sv_req_put(struct storvsp_req *r)
{
	struct storvsp_chan *c = r->chan;
	struct storvsp *sv = c->sv;

	r->next = c->free;
	c->free = r;
	c->inflight--;
	sv->inflight--;
	sv->st.in_flight--;
	if (c->ch && c->stalled && !c->deferred) {
		c->stalled = false;
		vmbus_channel_kick(c->ch);
	}
	sv_chan_free_maybe(c);
	if (sv->destroyed && !sv->inflight)
		sv_free(sv);
}

static int sv_send(struct storvsp_chan *c, uint64_t tid, const void *pkt,
		   uint32_t len)
{
	return vmbus_channel_send(c->ch, VMBUS_PKT_COMP, 0, tid, pkt, len);
}

/* Send what waited for ring space, in order. */
static void sv_flush_deferred(struct storvsp_chan *c)
{
	struct storvsp_req *r;

	while ((r = c->deferred)) {
		int ret = sv_send(c, r->trans_id, &r->pkt, r->resp_len);

		if (ret == -EAGAIN)
			return;
		c->deferred = r->next;
		if (!c->deferred)
			c->deferred_tail = &c->deferred;
		sv_req_put(r);
	}
}

/* ---- completing an SRB ---- */

static void sv_answer(struct storvsp_req *r, uint8_t srb_status)
{
	struct storvsp_chan *c = r->chan;
	struct vmscsi_request *srb = &r->pkt.srb;
	struct scsi_req *s = &r->sreq;
	int ret;

	r->pkt.operation = VSTOR_OP_COMPLETE_IO;
	r->pkt.flags = 0;
	r->pkt.status = VSTOR_STATUS_SUCCESS;
	srb->srb_status = srb_status;
	srb->scsi_status = 0;
	srb->sense_info_length = 0;
	memset(srb->cdb_sense, 0, sizeof(srb->cdb_sense));
	srb->data_transfer_length = 0;
	if (srb_status == SRB_STATUS_SUCCESS) {
		srb->scsi_status = s->status;
		if (s->status == SCSI_STATUS_CHECK_CONDITION) {
			uint8_t n = MIN(r->sense_max, (uint8_t)SCSI_SENSE_LEN);

			srb->srb_status = SRB_STATUS_ERROR |
					  SRB_STATUS_AUTOSENSE_VALID;
			srb->sense_info_length = n;
			memcpy(srb->cdb_sense, s->sense, n);
		} else {
			srb->data_transfer_length = MIN(s->xfer, r->want);
		}
	}
	if (srb->srb_status != SRB_STATUS_SUCCESS)
		c->sv->st.errors++;
	else if (r->kind == SV_KIND_READ)
		c->sv->st.bytes_read += srb->data_transfer_length;
	else if (r->kind == SV_KIND_WRITE)
		c->sv->st.bytes_written += srb->data_transfer_length;
	c->sv->st.completions++;
	if (!c->ch) {
		sv_req_put(r); /* closed meanwhile: nobody to tell */
		return;
	}
	if (!c->deferred) {
		ret = sv_send(c, r->trans_id, &r->pkt, r->resp_len);
		if (ret != -EAGAIN) {
			if (ret)
				dev_warn(c->sv->name, "completion lost: %d",
					 ret);
			sv_req_put(r);
			return;
		}
	}
	/* Ring full: keep it, writable() sends it. */
	c->sv->st.completions_deferred++;
	*c->deferred_tail = r;
	c->deferred_tail = &r->next;
}

static void sv_scsi_done(struct scsi_req *s)
{
	sv_answer((struct storvsp_req *)s, SRB_STATUS_SUCCESS);
}

/* The LUN a request addresses, or NULL. */
static struct storvsp_lun *sv_lookup(struct storvsp *sv,
				     const struct vmscsi_request *srb)
{
	if (sv->ide) /* one disk, whatever path/target the guest uses */
		return srb->lun ? NULL : sv->slot[0][0];
	if (srb->path_id || srb->target_id >= STORVSP_MAX_TARGETS ||
	    srb->lun >= STORVSP_MAX_LUNS)
		return NULL;
	return sv->slot[srb->target_id][srb->lun];
}

/* REPORT LUNS for a target (-1: one we do not have), whatever LUN. */
static void sv_report_luns(struct storvsp *sv, struct scsi_req *s, int target)
{
	uint8_t b[8 + 8 * STORVSP_MAX_LUNS];
	uint32_t n = 0, i;

	memset(b, 0, sizeof(b));
	for (i = 0; target >= 0 && i < STORVSP_MAX_LUNS; i++)
		if (sv->slot[target][i])
			b[8 + 8 * n++ + 1] = (uint8_t)i; /* peripheral addr. */
	put_be32(b, n * 8);
	scsi_req_good(s, b, MIN(get_be32(s->cdb + 6), 8 + 8 * n));
}

/* Map the packet's page list into r->iov; an SRB status on failure. */
static uint8_t sv_map(struct storvsp_chan *c, const struct vmbus_packet *pkt,
		      struct storvsp_req *r, bool to_guest)
{
	struct gmem *gm = vmbus_channel_gmem(c->ch);
	struct vmbus_range ranges[SV_MAX_RANGES];
	uint32_t left = r->want, total = 0;
	int nr, i, cnt = 0;
	unsigned int j;

	if (pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT)
		return r->want ? SRB_STATUS_INVALID_REQUEST : 0;
	nr = vmbus_packet_gpa_ranges(c->ch, pkt, ranges, SV_MAX_RANGES);
	if (nr == -EFAULT)
		return SRB_STATUS_ERROR;
	if (nr < 0)
		return SRB_STATUS_INVALID_REQUEST;
	for (i = 0; i < nr; i++)
		total += MIN(ranges[i].byte_count, r->want);
	if (total < r->want)
		return SRB_STATUS_INVALID_REQUEST; /* list shorter than data */
	for (i = 0; i < nr && left; i++) {
		uint32_t off = ranges[i].byte_offset;
		uint32_t rl = MIN(ranges[i].byte_count, left);

		for (j = 0; j < ranges[i].nr_pfns && rl; j++) {
			uint64_t gpa = get_le64(&ranges[i].pfns[j]) * SV_PAGE;
			uint32_t n = MIN(SV_PAGE - off, rl);
			uint8_t *p = gmem_map(gm, gpa + off, n, to_guest);

			if (!p)
				return SRB_STATUS_ERROR;
			if (cnt && (uint8_t *)r->iov[cnt - 1].iov_base +
						   r->iov[cnt - 1].iov_len ==
					   p)
				r->iov[cnt - 1].iov_len += n;
			else if (cnt == SCSI_IOV_MAX)
				return SRB_STATUS_INVALID_REQUEST;
			else
				r->iov[cnt++] = (struct iovec){ p, n };
			rl -= n;
			left -= n;
			off = 0;
		}
	}
	r->sreq.iov = r->iov;
	r->sreq.iovcnt = cnt;
	r->sreq.len = r->want - left;
	return 0;
}

static uint8_t sv_kind(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case 0x08:
	case 0x28:
	case 0xa8:
	case 0x88:
		return SV_KIND_READ;
	case 0x0a:
	case 0x2a:
	case 0xaa:
	case 0x8a:
		return SV_KIND_WRITE;
	case 0x35:
	case 0x91:
		return SV_KIND_FLUSH;
	case 0x42:
	case 0x41:
	case 0x93:
		return SV_KIND_UNMAP;
	default:
		return SV_KIND_OTHER;
	}
}

static void sv_execute_srb(struct storvsp_chan *c,
			   const struct vmbus_packet *pkt,
			   const struct vstor_packet *vp, uint32_t len)
{
	struct storvsp *sv = c->sv;
	const struct vmscsi_request *srb = &vp->srb;
	struct storvsp_req *r = sv_req_get(c);
	struct storvsp_lun *l = NULL;
	struct scsi_req *s;
	uint8_t st = 0;

	if (!r) {
		/* No memory: the guest's request still gets an answer. */
		struct vstor_packet a = *vp;

		a.operation = VSTOR_OP_COMPLETE_IO;
		a.srb.srb_status = SRB_STATUS_INTERNAL_ERROR;
		if (sv_send(c, pkt->trans_id, &a, sv_pkt_size(sv->version)))
			dev_warn(sv->name, "completion lost");
		return;
	}
	s = &r->sreq;
	c->inflight++;
	sv->inflight++;
	sv->st.requests++;
	sv->st.in_flight++;
	sv->st.in_flight_max = MAX(sv->st.in_flight_max, sv->st.in_flight);
	r->trans_id = pkt->trans_id;
	r->pkt = *vp;
	r->resp_len = sv_pkt_size(sv->version);
	r->want = srb->data_transfer_length;
	r->sense_max = MIN(srb->sense_info_length,
			   (uint8_t)(sv->version >= VSTOR_VERSION_WIN8 ?
					     VSTOR_SENSE_MAX :
					     VSTOR_SENSE_PRE_WIN8));
	r->kind = sv_kind(srb->cdb_sense);
	sv->st.kind[r->kind]++;
	if (len < r->resp_len || !srb->cdb_length ||
	    srb->cdb_length > VSTOR_CDB_MAX || r->want > sv->max_transfer) {
		guest_err("%s: bad SRB (len %u, cdb %u, data %u)", sv->name,
			  len, srb->cdb_length, r->want);
		sv_answer(r, SRB_STATUS_INVALID_REQUEST);
		return;
	}
	memcpy(s->cdb, srb->cdb_sense, srb->cdb_length);
	s->cdb_len = srb->cdb_length;
	s->dir = srb->data_in == VSTOR_READ_TYPE	     ? SCSI_DIR_IN :
		 srb->data_in == VSTOR_WRITE_TYPE && r->want ? SCSI_DIR_OUT :
							       SCSI_DIR_NONE;
	if (s->dir == SCSI_DIR_NONE)
		r->want = 0;
	s->done = sv_scsi_done;
	st = sv_map(c, pkt, r, s->dir == SCSI_DIR_IN);
	if (st) {
		guest_err("%s: bad data buffer for SRB (status %#x)", sv->name,
			  st);
		sv_answer(r, st);
		return;
	}
	l = sv_lookup(sv, srb);
	if (s->cdb[0] == 0xa0) {
		/* REPORT LUNS: the list, empty for other paths/targets. */
		sv_report_luns(sv, s,
			       sv->ide ? 0 :
			       !srb->path_id && srb->target_id <
							STORVSP_MAX_TARGETS ?
					 srb->target_id :
					 -1);
	} else if (!l) {
		/*
		 * INQUIRY gets "no LUN here" data; a removed or absent LUN
		 * answers INVALID_LUN, upon which storvsc removes its device.
		 * Nothing may answer INVALID_LUN off path 0:
		 * storvsc_remove_lun() removes channel 0's device of that
		 * target and LUN, i.e. a real disk.
		 */
		if (s->cdb[0] != 0x12) {
			sv_answer(r,
				  srb->path_id || srb->target_id >=
							  STORVSP_MAX_TARGETS ?
					  SRB_STATUS_SELECTION_TIMEOUT :
					  SRB_STATUS_INVALID_LUN);
			return;
		}
		scsi_inquiry_no_lun(s);
	} else if (!scsi_disk_execute(l->disk, s)) {
		return; /* in flight: sv_scsi_done() answers */
	}
	sv_answer(r, SRB_STATUS_SUCCESS);
}

/* ---- control operations ---- */

static bool sv_version_ok(uint16_t v)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sv_versions); i++)
		if (sv_versions[i] == v)
			return true;
	return false;
}

/* Answer a control operation in place. 0 or -EAGAIN (ring full). */
static int sv_control(struct storvsp_chan *c, const struct vmbus_packet *pkt,
		      struct vstor_packet *vp, uint32_t len)
{
	struct storvsp *sv = c->sv;
	bool primary = c == sv->primary;
	uint32_t status = VSTOR_STATUS_SUCCESS, rlen;
	uint16_t v;

	switch (vp->operation) {
	case VSTOR_OP_BEGIN_INITIALIZATION:
		if (!primary)
			status = VSTOR_STATUS_INVALID_DEVICE_STATE;
		break;
	case VSTOR_OP_QUERY_PROTOCOL_VERSION:
		v = vp->version.major_minor;
		if (!primary || len < VSTOR_HDR_SIZE + 4)
			status = VSTOR_STATUS_INVALID_PARAMETER;
		else if (!sv_version_ok(v))
			status = VSTOR_STATUS_REVISION_MISMATCH;
		else if (sv->version != v)
			dev_info(sv->name, "VMSTOR protocol %u.%u", v >> 8,
				 v & 0xff);
		if (!status)
			sv->version = v;
		break;
	case VSTOR_OP_QUERY_PROPERTIES:
		if (!sv->version) {
			status = VSTOR_STATUS_INVALID_DEVICE_STATE;
			break;
		}
		memset(&vp->props, 0, sizeof(vp->props));
		if (sv->version >= VSTOR_VERSION_WIN8 && sv->max_sub) {
			vp->props.max_channel_cnt = (uint16_t)sv->max_sub;
			vp->props.flags = VSTOR_PROP_MULTI_CHANNEL;
		}
		vp->props.max_transfer_bytes = sv->max_transfer;
		break;
	case VSTOR_OP_END_INITIALIZATION:
		if (!primary || !sv->version)
			status = VSTOR_STATUS_INVALID_DEVICE_STATE;
		else
			sv->init_done = true;
		break;
	case VSTOR_OP_CREATE_SUB_CHANNELS:
		if (!primary || !sv->init_done ||
		    sv->version < VSTOR_VERSION_WIN8 ||
		    !vp->sub_channel_count ||
		    vp->sub_channel_count > sv->max_sub ||
		    vmbus_device_offer_subchannels(sv->dev,
						   vp->sub_channel_count))
			status = VSTOR_STATUS_INVALID_PARAMETER;
		else if (vp->sub_channel_count > sv->st.subchannels) {
			sv->st.subchannels = vp->sub_channel_count;
			dev_info(sv->name, "%u sub-channel(s) offered",
				 vp->sub_channel_count);
		}
		break;
	case VSTOR_OP_RESET_LUN:
	case VSTOR_OP_RESET_ADAPTER:
	case VSTOR_OP_RESET_BUS:
		/* Requests are never stuck here: they complete anyway. */
		break;
	default: /* FCHBA_DATA, and host-to-guest operations */
		guest_err("%s: operation %u not supported", sv->name,
			  vp->operation);
		status = VSTOR_STATUS_NOT_SUPPORTED;
		break;
	}
	vp->operation = VSTOR_OP_COMPLETE_IO;
	vp->flags = 0;
	vp->status = status;
	rlen = sv_ctl_size(len);
	return sv_send(c, pkt->trans_id, vp, rlen) == -EAGAIN ? -EAGAIN : 0;
}

/* ---- VMBus device ops ---- */

static int sv_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
	struct storvsp_chan *c = vmbus_channel_get_priv(ch);
	struct storvsp *sv = c->sv;
	struct vstor_packet vp;
	uint32_t len = pkt->data_len;

	if (c->deferred || c->inflight >= SV_MAX_INFLIGHT) {
		c->stalled = true; /* answers first: back-pressure */
		return -EAGAIN;
	}
	if ((pkt->type != VMBUS_PKT_DATA_INBAND &&
	     pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT) ||
	    len < VSTOR_HDR_SIZE) {
		sv->st.bad_packets++;
		guest_err("%s: packet type %u, %u bytes ignored", sv->name,
			  pkt->type, len);
		return 0;
	}
	memset(&vp, 0, sizeof(vp));
	memcpy(&vp, pkt->data, MIN(len, (uint32_t)sizeof(vp)));
	if (vp.operation == VSTOR_OP_EXECUTE_SRB) {
		if (!sv->version) {
			sv->st.bad_packets++;
			guest_err("%s: SRB before version negotiation",
				  sv->name);
			vp.operation = VSTOR_OP_COMPLETE_IO;
			vp.status = VSTOR_STATUS_INVALID_DEVICE_STATE;
			vp.srb.srb_status = SRB_STATUS_ERROR;
			return sv_send(c, pkt->trans_id, &vp,
				       sv_ctl_size(len)) == -EAGAIN ?
				       -EAGAIN :
				       0;
		}
		sv_execute_srb(c, pkt, &vp, len);
		return 0;
	}
	return sv_control(c, pkt, &vp, len);
}

static int sv_open(struct vmbus_channel *ch, const uint8_t *user_data)
{
	struct storvsp *sv = vmbus_device_priv(vmbus_channel_device(ch));
	struct storvsp_chan *c;

	if (!vmbus_channel_subidx(ch) && sv->primary)
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sv = sv;
	c->ch = ch;
	c->deferred_tail = &c->deferred;
	vmbus_channel_set_priv(ch, c);
	if (!vmbus_channel_subidx(ch)) {
		sv->primary = c;
		sv->version = 0;
		sv->init_done = false;
	}
	return 0;
}

static void sv_writable(struct vmbus_channel *ch)
{
	struct storvsp_chan *c = vmbus_channel_get_priv(ch);

	sv_flush_deferred(c);
	if (!c->deferred && c->stalled) {
		c->stalled = false;
		vmbus_channel_kick(ch);
	}
}

static void sv_close(struct vmbus_channel *ch)
{
	struct storvsp_chan *c = vmbus_channel_get_priv(ch);
	struct storvsp_req *r;

	vmbus_channel_set_priv(ch, NULL);
	if (!c)
		return;
	if (c->sv->primary == c)
		c->sv->primary = NULL;
	c->ch = NULL;
	while ((r = c->deferred)) {
		c->deferred = r->next;
		sv_req_put(r); /* may free c once the last one is gone */
		if (!c->inflight)
			return;
	}
	sv_chan_free_maybe(c);
}

static void sv_lun_free(struct storvsp_lun *l)
{
	scsi_disk_destroy(l->disk);
	free(l);
}

static void sv_free(struct storvsp *sv)
{
	struct storvsp_lun *l;
	unsigned int t, i;

	for (t = 0; t < STORVSP_MAX_TARGETS; t++)
		for (i = 0; i < STORVSP_MAX_LUNS; i++)
			if (sv->slot[t][i])
				sv_lun_free(sv->slot[t][i]);
	while ((l = sv->gone)) {
		sv->gone = l->next_gone;
		sv_lun_free(l);
	}
	free(sv);
}

static void sv_destroy(struct vmbus_device *dev)
{
	struct storvsp *sv = vmbus_device_priv(dev);

	if (sv->inflight) {
		/* Backend requests still out: the last answer frees us. */
		sv->destroyed = true;
		return;
	}
	sv_free(sv);
}

static const struct vmbus_device_ops sv_ops = {
	.open = sv_open,
	.packet = sv_packet,
	.writable = sv_writable,
	.close = sv_close,
	.destroy = sv_destroy,
};

/* ---- host API ---- */

int storvsp_completion_fd(struct storvsp *sv, unsigned int i)
{
	return i < sv->nr_luns && sv->luns[i] ?
		       block_completion_fd(sv->luns[i]->bd) :
		       -1;
}

void *storvsp_lun_opaque(struct storvsp *sv, unsigned int i)
{
	return i < sv->nr_luns ? sv->luns[i] : NULL;
}

void storvsp_ide_instance(unsigned int channel, unsigned int drive,
			  char out[37])
{
	snprintf(out, 37, "%08x-%04x-8899-0000-000000000000", channel & 1,
		 drive & 1);
}

/* A new LUN in its slot. */
static int sv_lun_new(struct storvsp *sv, const struct storvsp_lun_config *lc,
		      struct storvsp_lun **out)
{
	unsigned int t = sv->ide ? 0 : lc->target, n = sv->ide ? 0 : lc->lun;
	char serial[64]; /* cut to 20 by scsi_disk */
	struct scsi_disk_params sp = {
		.bd = lc->bd,
		.readonly = lc->readonly,
		.serial = lc->serial,
		.cdrom = lc->cdrom,
		.naa_id = ((uint64_t)0x1d0c << 32) |
			  (uint64_t)(sv->controller & 0xffff) << 16 |
			  (uint64_t)t << 8 | n,
	};
	struct storvsp_lun *l;
	int r;

	if ((!lc->bd && !lc->cdrom) || t >= STORVSP_MAX_TARGETS ||
	    n >= STORVSP_MAX_LUNS)
		return -EINVAL;
	if (sv->slot[t][n])
		return -EEXIST;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (!sp.serial) {
		if (t)
			snprintf(serial, sizeof(serial), "HVKVM%s%u%02u",
				 sv->name, t, n);
		else
			snprintf(serial, sizeof(serial), "HVKVM%s%02u",
				 sv->name, n);
		sp.serial = serial;
	}
	r = scsi_disk_create(&sp, &l->disk);
	if (r) {
		free(l);
		return r;
	}
	l->sv = sv;
	l->bd = lc->bd;
	l->target = t;
	l->lun = n;
	sv->slot[t][n] = l;
	*out = l;
	return 0;
}

int storvsp_add_lun(struct storvsp *sv, const struct storvsp_lun_config *lc,
		    void **opaque)
{
	struct storvsp_lun *l;
	int r;

	if (sv->ide)
		return -EOPNOTSUPP;
	r = sv_lun_new(sv, lc, &l);
	if (!r) {
		*opaque = l;
		dev_info(sv->name, "LUN %u:%u added", l->target, l->lun);
	}
	return r;
}

int storvsp_remove_lun(struct storvsp *sv, unsigned int target,
		       unsigned int lun, struct block_dev **bd)
{
	struct storvsp_lun *l;
	unsigned int i;

	if (target >= STORVSP_MAX_TARGETS || lun >= STORVSP_MAX_LUNS ||
	    !(l = sv->slot[target][lun]))
		return -ENOENT;
	sv->slot[target][lun] = NULL;
	for (i = 0; i < sv->nr_luns; i++)
		if (sv->luns[i] == l)
			sv->luns[i] = NULL;
	/* Requests in flight still use l->disk: it goes with sv. */
	l->next_gone = sv->gone;
	sv->gone = l;
	*bd = l->bd;
	dev_info(sv->name, "LUN %u:%u removed", target, lun);
	return 0;
}

bool storvsp_has_lun(struct storvsp *sv, unsigned int target, unsigned int lun)
{
	return target < STORVSP_MAX_TARGETS && lun < STORVSP_MAX_LUNS &&
	       sv->slot[target][lun];
}

void storvsp_evloop_ready(void *lun_opaque, uint32_t events)
{
	struct storvsp_lun *l = lun_opaque;
	struct storvsp *sv = l->sv;
	uint64_t before = sv->st.completions;

	(void)events;
	if (l->bd)
		block_process_completions(l->bd);
	if (sv->st.completions != before)
		sv->st.completion_batches++;
}

int storvsp_rescan(struct storvsp *sv)
{
	struct vstor_packet vp;

	if (!sv->primary || !sv->init_done)
		return -ENOTCONN;
	memset(&vp, 0, sizeof(vp));
	vp.operation = VSTOR_OP_ENUMERATE_BUS;
	return vmbus_channel_send(sv->primary->ch, VMBUS_PKT_DATA_INBAND, 0, 0,
				  &vp, sv_pkt_size(sv->version));
}

void storvsp_stats_foreach(struct storvsp *sv, vmbus_stats_fn fn, void *opaque)
{
	const struct storvsp_stats *st = &sv->st;
	char path[96];
	unsigned int i;

#define SV_STAT(n, v)                                                       \
	do {                                                                \
		snprintf(path, sizeof(path), "storvsp.%s.%s", sv->name, n); \
		fn(opaque, path, v);                                        \
	} while (0)
	SV_STAT("requests", st->requests);
	for (i = 0; i < SV_KINDS; i++) {
		char n[32];

		snprintf(n, sizeof(n), "requests_%s", sv_kind_names[i]);
		SV_STAT(n, st->kind[i]);
	}
	SV_STAT("bytes_read", st->bytes_read);
	SV_STAT("bytes_written", st->bytes_written);
	SV_STAT("in_flight", st->in_flight);
	SV_STAT("in_flight_max", st->in_flight_max);
	SV_STAT("completions", st->completions);
	SV_STAT("completion_batches", st->completion_batches);
	SV_STAT("completions_deferred", st->completions_deferred);
	SV_STAT("errors", st->errors);
	SV_STAT("bad_packets", st->bad_packets);
	SV_STAT("subchannels", st->subchannels);
#undef SV_STAT
}

int storvsp_create(struct vmbus_server *s, const struct storvsp_params *p,
		   struct storvsp **out)
{
	struct vmbus_device_params dp;
	struct storvsp *sv;
	unsigned int i;
	int r = 0;

	if (p->nr_luns > ARRAY_SIZE(sv->luns) || !p->instance_id ||
	    (p->ide && p->nr_luns != 1))
		return -EINVAL;
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	snprintf(sv->name, sizeof(sv->name), "%s", p->name ? p->name : "scsi");
	sv->ide = p->ide;
	sv->controller = p->controller;
	sv->max_sub = p->ide ? 0 : MIN(p->max_subchannels, 64u);
	sv->max_transfer = p->max_transfer ?
				   MIN(p->max_transfer, STORVSP_MAX_TRANSFER) :
				   STORVSP_MAX_TRANSFER;
	for (i = 0; i < p->nr_luns && !r; i++) {
		r = sv_lun_new(sv, &p->luns[i], &sv->luns[i]);
		if (r == -EEXIST)
			r = -EINVAL;
		if (!r)
			sv->nr_luns++;
	}
	memset(&dp, 0, sizeof(dp));
	dp.name = sv->name;
	dp.ops = &sv_ops;
	dp.priv = sv;
	if (!r &&
	    (vmbus_guid_parse(p->ide ? STORVSP_IDE_CLASS_ID : STORVSP_CLASS_ID,
			      dp.class_id) ||
	     vmbus_guid_parse(p->instance_id, dp.instance_id)))
		r = -EINVAL;
	if (!r)
		r = vmbus_device_add(s, &dp, &sv->dev);
	if (r) {
		sv_free(sv);
		return r;
	}
	*out = sv;
	return 0;
}
