// SPDX-License-Identifier: MIT
/*
 * storbench: storvsp's host path driven by a simulated guest, against
 * host-native io_uring on the same file in the same run (issue #11, item 8:
 * >= 0.9x native IOPS, <= 1.2x native CPU per I/O at QD8 4 KiB random).
 *
 * The storvsp side is the VMM's own stack in-process: the VMBus server,
 * storvsp, scsi_disk and the raw block backend on io_uring (O_DIRECT when
 * the native side gets it), processed on an evloop I/O thread exactly as
 * src/vm_vmbus.c wires it. The guest is the calling thread, speaking like
 * Linux 6.1 hv_storvsc: it connects through the unit-test harness
 * (tests/unit/test_vmbus_guest.h), negotiates VMSTOR 6.2, then keeps QD
 * EXECUTE_SRB packets in flight, each a READ(10)/WRITE(10) with a
 * GPA-direct page list into memfd guest RAM. Guest -> host it writes the
 * channel's signal eventfd (what KVM's ioeventfd does); host -> guest the
 * server's signal_event writes an eventfd the guest sleeps on (the irqfd).
 * Rings follow Linux's rules: signal only on empty -> non-empty unless
 * masked, interrupt_mask held while draining.
 *
 * The native side is what an application would do: liburing, one buffer
 * per slot, io_uring_submit_and_wait() per batch of refills.
 *
 * Every sector written carries (sector, generation); every read is checked
 * against the generation last written there, on both sides, so the numbers
 * are for I/O that round-trips. CPU is getrusage(RUSAGE_SELF) (all
 * threads, io_uring workers included) per I/O; for storvsp it is split into
 * the simulated guest's thread and the rest (the host).
 *
 *   storbench [options] [FILE]     (storbench --help)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The harness asserts through cmocka's names; here a failure is fatal. */
#define assert_true(c) sb_assert(!!(c), #c, __LINE__)
#define assert_int_equal(a, b) \
	sb_assert((uintmax_t)(a) == (uintmax_t)(b), #a " == " #b, __LINE__)
#define fail_msg(...) \
	(fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), exit(1))
static void sb_assert(int ok, const char *what, int line);

#include "../vmbus/vsp/storvsp_proto.h"
#include "hvkvm/block.h"
#include "hvkvm/evloop.h"
#include "hvkvm/storvsp.h"
#include "test_vmbus_guest.h"

#define SB_MAX_QD 64
#define SB_MAX_BS (64u * 1024)
#define SB_RING_PAGES 32 /* per direction, as Linux storvsc (128 KiB) */
#define SB_MAGIC 0x53544f5242454e43ull /* "STORBENC" */
#define SB_PAGE 4096u

static void sb_assert(int ok, const char *what, int line)
{
	if (!ok) {
		fprintf(stderr, "storbench:%d: %s failed\n", line, what);
		exit(1);
	}
}

/* ---- workloads ---- */

struct sb_wl {
	const char *name;
	const char *desc;
	uint32_t bs;
	unsigned int qd;
	bool write;
	bool random;
};

static const struct sb_wl sb_wls[] = {
	{ "rr4k-qd8", "4 KiB random read, QD8", 4096, 8, false, true },
	{ "rw4k-qd8", "4 KiB random write, QD8", 4096, 8, true, true },
	{ "rr4k-qd1", "4 KiB random read, QD1", 4096, 1, false, true },
	{ "rw4k-qd1", "4 KiB random write, QD1", 4096, 1, true, true },
	{ "sr64k-qd8", "64 KiB sequential read, QD8", 65536, 8, false, false },
	{ "sw64k-qd8", "64 KiB sequential write, QD8", 65536, 8, true, false },
};

enum sb_side { SB_NATIVE, SB_STORVSP, SB_SIDES };
static const char *const sb_side_names[SB_SIDES] = { "native", "storvsp" };

struct sb_res {
	uint64_t ios, errors;
	double secs, iops, mbps;
	double cpu_us;	     /* whole process, per I/O */
	double guest_cpu_us; /* the simulated guest's thread, per I/O */
	double host_cpu_us;  /* the rest, per I/O */
	double sig_per_io;   /* guest -> host signals */
	double irq_per_io;   /* host -> guest interrupts */
	double csw_per_io;   /* context switches (voluntary + not) */
};

/* ---- the run: offsets, patterns, accounting (both sides) ---- */

struct sb_ctx {
	const char *path;
	uint64_t region;  /* bytes, a multiple of 64 KiB */
	uint8_t *gen;	  /* generation of every 4 KiB block */
	uint8_t cur_gen;  /* written by the current run */
	bool direct;	  /* O_DIRECT on both sides */
	double secs;	  /* per run */
	uint64_t max_ios; /* per run, 0 = time only */
	uint64_t seed;
	uint64_t errors; /* data that did not round-trip */
};

struct sb_run {
	struct sb_ctx *x;
	const struct sb_wl *wl;
	uint64_t rng, seq, nblocks;
	uint64_t issued, done, t0, deadline;
	uint64_t slot_off[SB_MAX_QD];
	struct rusage ru0;
	uint64_t guest_cpu0;
};

static uint64_t sb_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double sb_tv(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void sb_run_init(struct sb_run *r, struct sb_ctx *x,
			const struct sb_wl *wl)
{
	memset(r, 0, sizeof(*r));
	r->x = x;
	r->wl = wl;
	r->rng = x->seed; /* the same offsets on both sides */
	r->nblocks = x->region / wl->bs;
	if (wl->write)
		x->cur_gen++;
}

static void sb_run_start(struct sb_run *r)
{
	getrusage(RUSAGE_SELF, &r->ru0);
	r->guest_cpu0 = sb_thread_cpu_ns();
	r->t0 = time_now_ns();
	r->deadline = r->t0 + (uint64_t)(r->x->secs * 1e9);
}

/* Whether to issue one more request (and where): false = stop issuing. */
static bool sb_next(struct sb_run *r, uint64_t *off)
{
	uint64_t b;

	if (r->x->max_ios && r->issued >= r->x->max_ios)
		return false;
	if (!r->x->max_ios && (r->issued & 15) == 0 &&
	    time_now_ns() >= r->deadline)
		return false;
	if (r->wl->random) {
		/* xorshift64* */
		r->rng ^= r->rng >> 12;
		r->rng ^= r->rng << 25;
		r->rng ^= r->rng >> 27;
		b = (r->rng * 0x2545f4914f6cdd1dull >> 11) % r->nblocks;
	} else {
		b = r->seq++ % r->nblocks;
	}
	*off = b * r->wl->bs;
	r->issued++;
	return true;
}

/* Every sector: (sector ^ magic, generation) in its first 16 bytes. */
static void sb_stamp(struct sb_ctx *x, uint8_t *buf, uint64_t off, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i += 512) {
		put_le64(buf + i, ((off + i) / 512) ^ SB_MAGIC);
		put_le64(buf + i + 8, x->cur_gen);
	}
	for (i = 0; i < len; i += SB_PAGE)
		x->gen[(off + i) / SB_PAGE] = x->cur_gen;
}

static bool sb_check(struct sb_ctx *x, const uint8_t *buf, uint64_t off,
		     uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i += 512) {
		uint64_t s = (off + i) / 512;

		if (get_le64(buf + i) != (s ^ SB_MAGIC) ||
		    get_le64(buf + i + 8) != x->gen[(off + i) / SB_PAGE]) {
			if (x->errors++ < 5)
				fprintf(stderr,
					"storbench: sector %llu: got %016llx "
					"gen %llu, want gen %u\n",
					(unsigned long long)s,
					(unsigned long long)get_le64(buf + i),
					(unsigned long long)get_le64(buf + i +
								     8),
					x->gen[(off + i) / SB_PAGE]);
			return false;
		}
	}
	return true;
}

static void sb_run_end(struct sb_run *r, struct sb_res *res, bool guest)
{
	struct rusage ru;
	uint64_t ns = time_now_ns() - r->t0;
	double cpu, gcpu = 0, n = (double)MAX(r->done, 1);

	getrusage(RUSAGE_SELF, &ru);
	if (guest)
		gcpu = (double)(sb_thread_cpu_ns() - r->guest_cpu0) / 1e9;
	cpu = sb_tv(&ru.ru_utime) + sb_tv(&ru.ru_stime) -
	      sb_tv(&r->ru0.ru_utime) - sb_tv(&r->ru0.ru_stime);
	res->ios = r->done;
	res->secs = (double)ns / 1e9;
	res->iops = (double)r->done / res->secs;
	res->mbps = res->iops * r->wl->bs / 1e6;
	res->cpu_us = cpu * 1e6 / n;
	res->guest_cpu_us = gcpu * 1e6 / n;
	res->host_cpu_us = (cpu - gcpu) * 1e6 / n;
	res->csw_per_io = (double)(ru.ru_nvcsw + ru.ru_nivcsw -
				   r->ru0.ru_nvcsw - r->ru0.ru_nivcsw) /
			  n;
}

/* ---- native io_uring ---- */

struct sb_native {
	struct io_uring ring;
	int fd;
	uint8_t *buf[SB_MAX_QD];
};

static int sb_native_open(struct sb_ctx *x, struct sb_native *n)
{
	unsigned int i;
	int r;

	n->fd = open(x->path, O_RDWR | O_CLOEXEC | (x->direct ? O_DIRECT : 0));
	if (n->fd < 0)
		return -errno;
	r = io_uring_queue_init(2 * SB_MAX_QD, &n->ring, 0);
	if (r) {
		close(n->fd);
		return r;
	}
	for (i = 0; i < SB_MAX_QD; i++) {
		n->buf[i] = aligned_alloc(SB_PAGE, SB_MAX_BS);
		if (!n->buf[i])
			return -ENOMEM;
	}
	return 0;
}

static void sb_native_close(struct sb_native *n)
{
	unsigned int i;

	for (i = 0; i < SB_MAX_QD; i++)
		free(n->buf[i]);
	io_uring_queue_exit(&n->ring);
	close(n->fd);
}

static void sb_native_queue(struct sb_native *n, struct sb_run *r,
			    unsigned int slot)
{
	struct io_uring_sqe *sqe;
	uint32_t bs = r->wl->bs;
	uint64_t off;

	if (!sb_next(r, &off))
		return;
	sqe = io_uring_get_sqe(&n->ring);
	assert_true(sqe);
	r->slot_off[slot] = off;
	if (r->wl->write) {
		sb_stamp(r->x, n->buf[slot], off, bs);
		io_uring_prep_write(sqe, n->fd, n->buf[slot], bs, off);
	} else {
		io_uring_prep_read(sqe, n->fd, n->buf[slot], bs, off);
	}
	io_uring_sqe_set_data64(sqe, slot);
}

static void sb_native_run(struct sb_native *n, struct sb_run *r,
			  struct sb_res *res)
{
	const struct sb_wl *wl = r->wl;
	unsigned int i, head, seen;
	struct io_uring_cqe *cqe;

	sb_run_start(r);
	for (i = 0; i < wl->qd; i++)
		sb_native_queue(n, r, i);
	while (r->done < r->issued) {
		int ret = io_uring_submit_and_wait(&n->ring, 1);

		if (ret < 0 && ret != -EINTR)
			fail_msg("storbench: io_uring: %s", strerror(-ret));
		seen = 0;
		io_uring_for_each_cqe(&n->ring, head, cqe)
		{
			unsigned int slot = (unsigned int)cqe->user_data;

			if (cqe->res != (int)wl->bs) {
				if (res->errors++ < 5)
					fprintf(stderr,
						"storbench: native I/O: %d\n",
						cqe->res);
			} else if (!wl->write) {
				sb_check(r->x, n->buf[slot], r->slot_off[slot],
					 wl->bs);
			}
			r->done++;
			seen++;
			sb_native_queue(n, r, slot);
		}
		io_uring_cq_advance(&n->ring, seen);
	}
	sb_run_end(r, res, false);
}

/* ---- storvsp with a simulated guest ---- */

struct sb_vm {
	struct tg t; /* first: the host ops' opaque */
	struct tg_chan c;
	struct storvsp *sv;
	struct block_dev *bd;
	struct evloop *loop;
	int irq_efd; /* host -> guest: the irqfd's eventfd */
	int sig_efd; /* guest -> host: the channel's ioeventfd */
	uint64_t slot_gpa[SB_MAX_QD];
	uint64_t signals, irqs, host_irqs;
	uint64_t tid;
};

/* The SynIC event: what an irqfd would inject, an eventfd write. */
static int sb_signal_event(void *o, unsigned int vp, unsigned int sint,
			   unsigned int flag)
{
	struct sb_vm *v = o;
	uint64_t one = 1;

	__atomic_fetch_add(&v->host_irqs, 1, __ATOMIC_RELAXED);
	return write(v->irq_efd, &one, sizeof(one)) < 0 ? -errno : 0;
}

static void sb_vmbus_ready(void *o, uint32_t events)
{
	vmbus_server_process(o);
}

static void sb_ring_put(struct tg_ring *r, uint32_t pos, const void *src,
			uint32_t len)
{
	uint32_t first = MIN(len, r->size - pos);

	memcpy(r->data + pos, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
}

static void sb_ring_get(struct tg_ring *r, uint32_t pos, void *dst,
			uint32_t len)
{
	uint32_t first = MIN(len, r->size - pos);

	memcpy(dst, r->data + pos, first);
	memcpy((uint8_t *)dst + first, r->data, len - first);
}

static void sb_kick_host(struct sb_vm *v)
{
	uint64_t one = 1;

	v->signals++;
	if (write(v->sig_efd, &one, sizeof(one)) < 0)
		fail_msg("storbench: signal: %s", strerror(errno));
}

/*
 * One EXECUTE_SRB, Linux storvsc_do_io(): a GPA-direct packet with one
 * page range, signalled as hv_ringbuffer_write() does.
 */
static void sb_srb(struct sb_vm *v, unsigned int slot, uint64_t off,
		   uint32_t bs, bool write)
{
	uint8_t pkt[32 + 8 * (SB_MAX_BS / SB_PAGE) + VSTOR_PACKET_SIZE + 8];
	struct vmbus_pkt_desc *d = (void *)pkt;
	struct tg_ring *r = &v->c.out;
	uint32_t np = bs / SB_PAGE, hl = 32 + 8 * np, i, w, rd, avail;
	uint32_t total = ring_pkt_size(hl - 16 + VSTOR_PACKET_SIZE);
	uint32_t lba = (uint32_t)(off / 512), nblk = bs / 512;
	struct vstor_packet *vp = (void *)(pkt + hl);

	memset(pkt, 0, total);
	d->type = VMBUS_PKT_DATA_USING_GPA_DIRECT;
	d->flags = VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	d->offset8 = (uint16_t)(hl / 8);
	d->len8 = (uint16_t)((total - 8) / 8);
	d->trans_id = slot;
	put_le32(pkt + 20, 1); /* rangecount */
	put_le32(pkt + 24, bs);
	for (i = 0; i < np; i++)
		put_le64(pkt + 32 + 8 * i, v->slot_gpa[slot] / SB_PAGE + i);
	vp->operation = VSTOR_OP_EXECUTE_SRB;
	vp->flags = VSTOR_FLAG_REQUEST_COMPLETION;
	vp->srb.length = sizeof(vp->srb);
	vp->srb.cdb_length = 10;
	vp->srb.sense_info_length = VSTOR_SENSE_MAX;
	vp->srb.data_in = write ? VSTOR_WRITE_TYPE : VSTOR_READ_TYPE;
	vp->srb.data_transfer_length = bs;
	vp->srb.cdb_sense[0] = write ? 0x2a : 0x28;
	vp->srb.cdb_sense[2] = (uint8_t)(lba >> 24);
	vp->srb.cdb_sense[3] = (uint8_t)(lba >> 16);
	vp->srb.cdb_sense[4] = (uint8_t)(lba >> 8);
	vp->srb.cdb_sense[5] = (uint8_t)lba;
	vp->srb.cdb_sense[7] = (uint8_t)(nblk >> 8);
	vp->srb.cdb_sense[8] = (uint8_t)nblk;

	for (;;) {
		w = r->ctrl->write_index;
		rd = __atomic_load_n(&r->ctrl->read_index, __ATOMIC_ACQUIRE);
		avail = w >= rd ? r->size - (w - rd) : rd - w;
		if (avail > total)
			break;
		sched_yield(); /* QD * 200 bytes never fill 128 KiB */
	}
	put_le64(pkt + total - 8, (uint64_t)w << 32);
	sb_ring_put(r, w, pkt, total);
	__atomic_store_n(&r->ctrl->write_index, (w + total) % r->size,
			 __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&r->ctrl->interrupt_mask, __ATOMIC_ACQUIRE) &&
	    __atomic_load_n(&r->ctrl->read_index, __ATOMIC_ACQUIRE) == w)
		sb_kick_host(v);
}

static void sb_vm_queue(struct sb_vm *v, struct sb_run *r, unsigned int slot)
{
	uint8_t *buf = v->t.fg.ram + v->slot_gpa[slot];
	uint64_t off;

	if (!sb_next(r, &off))
		return;
	r->slot_off[slot] = off;
	if (r->wl->write)
		sb_stamp(r->x, buf, off, r->wl->bs);
	sb_srb(v, slot, off, r->wl->bs, r->wl->write);
}

/* One completion from the inbound ring: its slot, or -1 if none. */
static int sb_vm_complete(struct sb_vm *v, struct sb_run *r, struct sb_res *res)
{
	struct tg_ring *in = &v->c.in;
	uint32_t rd = in->ctrl->read_index, len, off;
	struct vmbus_pkt_desc d;
	struct vstor_packet vp;
	unsigned int slot;

	if (rd == __atomic_load_n(&in->ctrl->write_index, __ATOMIC_ACQUIRE))
		return -1;
	sb_ring_get(in, rd, &d, sizeof(d));
	len = d.len8 * 8u;
	off = d.offset8 * 8u;
	assert_true(off <= len && len - off >= VSTOR_PACKET_SIZE &&
		    len + 8 <= in->size);
	sb_ring_get(in, (rd + off) % in->size, &vp, sizeof(vp));
	__atomic_store_n(&in->ctrl->read_index, (rd + len + 8) % in->size,
			 __ATOMIC_RELEASE);
	slot = (unsigned int)d.trans_id;
	assert_true(d.type == VMBUS_PKT_COMP && slot < r->wl->qd);
	if (vp.operation != VSTOR_OP_COMPLETE_IO || vp.status ||
	    vp.srb.srb_status != SRB_STATUS_SUCCESS ||
	    vp.srb.data_transfer_length != r->wl->bs) {
		if (res->errors++ < 5)
			fprintf(stderr,
				"storbench: SRB status %#x srb %#x xfer %u\n",
				vp.status, vp.srb.srb_status,
				vp.srb.data_transfer_length);
	} else if (!r->wl->write) {
		sb_check(r->x, v->t.fg.ram + v->slot_gpa[slot],
			 r->slot_off[slot], r->wl->bs);
	}
	r->done++;
	return (int)slot;
}

/*
 * The channel interrupt as Linux's vmbus_on_event() runs it for storvsc
 * (HV_CALL_BATCHED): mask, drain, unmask, look again. Completions are
 * answered by new requests, as blk-mq refills the queue. Returns how many
 * completed; tells the host when it waits for room (pending_send_sz).
 */
static unsigned int sb_vm_drain(struct sb_vm *v, struct sb_run *r,
				struct sb_res *res)
{
	struct vmbus_ring_ctrl *c = v->c.in.ctrl;
	unsigned int n = 0;
	int slot;

	__atomic_store_n(&c->interrupt_mask, 1, __ATOMIC_RELEASE);
	for (;;) {
		while ((slot = sb_vm_complete(v, r, res)) >= 0) {
			n++;
			sb_vm_queue(v, r, (unsigned int)slot);
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->pending_send_sz, __ATOMIC_ACQUIRE))
			sb_kick_host(v);
		__atomic_store_n(&c->interrupt_mask, 0, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (c->read_index ==
		    __atomic_load_n(&c->write_index, __ATOMIC_ACQUIRE))
			return n;
		__atomic_store_n(&c->interrupt_mask, 1, __ATOMIC_RELEASE);
	}
}

static void sb_vm_run(struct sb_vm *v, struct sb_run *r, struct sb_res *res)
{
	uint64_t sig0 = v->signals, irq0 = v->irqs, cnt;
	unsigned int i;

	sb_run_start(r);
	for (i = 0; i < r->wl->qd; i++)
		sb_vm_queue(v, r, i);
	while (r->done < r->issued) {
		if (sb_vm_drain(v, r, res))
			continue;
		/* Idle: halt until the interrupt. */
		if (read(v->irq_efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			fail_msg("storbench: wait: %s", strerror(errno));
		v->irqs++;
	}
	sb_run_end(r, res, true);
	res->sig_per_io = (double)(v->signals - sig0) / (double)MAX(r->done, 1);
	res->irq_per_io = (double)(v->irqs - irq0) / (double)MAX(r->done, 1);
}

/* A control request during set-up (the I/O thread is not running yet). */
static uint32_t sb_vm_ctl(struct sb_vm *v, uint32_t op, uint16_t arg)
{
	struct vstor_packet vp = { .operation = op,
				   .flags = VSTOR_FLAG_REQUEST_COMPLETION };
	struct vmbus_pkt_desc d;
	uint8_t buf[256];

	if (op == VSTOR_OP_QUERY_PROTOCOL_VERSION)
		vp.version.major_minor = arg;
	assert_int_equal(tg_write(&v->c.out, VMBUS_PKT_DATA_INBAND, ++v->tid,
				  &vp, sizeof(vp)),
			 0);
	tg_signal_port(&v->t, VMBUS_CHANNEL_CONN_BASE + v->c.relid);
	assert_true(tg_read(&v->c.in, &d, buf, sizeof(buf)) >= VSTOR_HDR_SIZE);
	assert_int_equal(d.trans_id, v->tid);
	memcpy(&vp, buf, sizeof(vp));
	return vp.status;
}

static int sb_vm_open(struct sb_ctx *x, struct sb_vm *v)
{
	struct storvsp_lun_config lun = { 0 };
	struct storvsp_params p = {
		.name = "scsi0",
		.instance_id = "f8b3781b-1e82-4818-a1c3-63d806ec15bb",
		.luns = &lun,
		.nr_luns = 1,
	};
	struct vmbus_server_params sp = { 0 };
	struct vmbus_msg_offer_channel o = { 0 };
	struct block_opts bo;
	struct tg *t = &v->t;
	unsigned int i;
	uint64_t cnt;
	int r;

	memset(v, 0, sizeof(*v));
	block_opts_init(&bo);
	bo.format = BLOCK_FORMAT_RAW;
	bo.cache = x->direct ? BLOCK_CACHE_NONE : BLOCK_CACHE_WRITEBACK;
	r = block_open(x->path, &bo, &v->bd);
	if (r)
		return r;
	v->irq_efd = eventfd(0, EFD_CLOEXEC);
	if (v->irq_efd < 0)
		return -errno;

	/* The harness guest on memfd RAM; our signal_event, its others. */
	for (i = 0; i < VMBUS_MAX_RELID; i++)
		t->sigfd[i] = -1;
	r = gmem_create_ram(&t->fg.gm, TG_RAM, 0);
	if (r)
		return r;
	t->fg.ram = t->fg.gm.base;
	t->fg.size = TG_RAM;
	t->memfd = true;
	t->ops = (struct vmbus_host_ops){
		.post_message = tg_post,
		.signal_event = sb_signal_event,
		.register_message = tg_reg_msg,
		.register_event = tg_reg_ev,
		.set_signal_fd = tg_set_signal_fd,
		.opaque = v,
	};
	t->next_page = 1 << 20;
	t->next_gpadl = 0xe1e10;
	t->conn_id = VMBUS_MESSAGE_CONNECTION_ID;
	sp.gm = &t->fg.gm;
	sp.nr_vcpus = 1;
	sp.ops = &t->ops;
	r = vmbus_server_create(&sp, &t->srv);
	if (r)
		return r;
	lun.bd = v->bd;
	r = storvsp_create(t->srv, &p, &v->sv);
	if (r)
		return r;

	tg_contact(t, VMBUS_VERSION_WIN10_V5_3, VMBUS_MESSAGE_SINT, true);
	assert_int_equal(tg_request_offers(t, &o, 1), 1);
	tg_open(t, &v->c, o.child_relid, SB_RING_PAGES, SB_RING_PAGES);
	v->sig_efd = t->sigfd[v->c.relid];
	assert_true(v->sig_efd >= 0);
	assert_int_equal(sb_vm_ctl(v, VSTOR_OP_BEGIN_INITIALIZATION, 0), 0);
	assert_int_equal(sb_vm_ctl(v, VSTOR_OP_QUERY_PROTOCOL_VERSION,
				   VSTOR_VERSION_WIN10),
			 0);
	assert_int_equal(sb_vm_ctl(v, VSTOR_OP_QUERY_PROPERTIES, 0), 0);
	assert_int_equal(sb_vm_ctl(v, VSTOR_OP_END_INITIALIZATION, 0), 0);
	for (i = 0; i < SB_MAX_QD; i++)
		v->slot_gpa[i] = tg_alloc_pages(t, SB_MAX_BS / SB_PAGE);
	/* Interrupts of the set-up phase. */
	while (poll(&(struct pollfd){ .fd = v->irq_efd, .events = POLLIN }, 1,
		    0) > 0)
		if (read(v->irq_efd, &cnt, sizeof(cnt)) < 0)
			break;

	/* From here on the host runs on its I/O thread, as in the VMM. */
	r = evloop_create(&v->loop);
	if (!r)
		r = evloop_add_fd(v->loop, vmbus_server_fd(t->srv), EPOLLIN,
				  sb_vmbus_ready, t->srv);
	if (!r)
		r = evloop_add_fd(v->loop, storvsp_completion_fd(v->sv, 0),
				  EPOLLIN, storvsp_evloop_ready,
				  storvsp_lun_opaque(v->sv, 0));
	if (!r)
		r = evloop_start(v->loop, "storbench-io");
	return r;
}

static void sb_vm_close(struct sb_vm *v)
{
	if (v->loop)
		evloop_stop(v->loop);
	if (v->bd)
		block_close(v->bd);
	if (v->t.srv)
		vmbus_server_destroy(v->t.srv);
	evloop_destroy(v->loop);
	if (v->t.memfd)
		gmem_destroy(&v->t.fg.gm);
	if (v->irq_efd > 0)
		close(v->irq_efd);
}

/* ---- the file ---- */

/* Every sector stamped with generation 0; the region is the file. */
static int sb_fill(struct sb_ctx *x)
{
	uint8_t *buf = aligned_alloc(SB_PAGE, 1 << 20);
	uint64_t off;
	int fd = open(x->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || !buf) {
		fprintf(stderr, "storbench: %s: %s\n", x->path,
			strerror(errno));
		return -1;
	}
	memset(buf, 0, 1 << 20);
	x->cur_gen = 0;
	for (off = 0; off < x->region; off += 1 << 20) {
		uint32_t n = (uint32_t)MIN(x->region - off, 1u << 20);

		sb_stamp(x, buf, off, n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			fprintf(stderr, "storbench: %s: write: %s\n", x->path,
				strerror(errno));
			close(fd);
			return -1;
		}
	}
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	free(buf);
	close(fd);
	return 0;
}

/* Does the filesystem take O_DIRECT with 4 KiB I/O? */
static bool sb_direct_ok(const char *path)
{
	uint8_t *buf = aligned_alloc(SB_PAGE, SB_PAGE);
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	bool ok = fd >= 0 && buf && pread(fd, buf, SB_PAGE, 0) == SB_PAGE;

	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

/* The data on disk, read by the host behind both stacks. */
static void sb_verify_file(struct sb_ctx *x)
{
	uint8_t *buf = aligned_alloc(SB_PAGE, 1 << 20);
	int fd = open(x->path, O_RDONLY | O_CLOEXEC);
	uint64_t off, before = x->errors;

	for (off = 0; fd >= 0 && off < x->region; off += 1 << 20) {
		uint32_t n = (uint32_t)MIN(x->region - off, 1u << 20);

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n) {
			x->errors++;
			break;
		}
		sb_check(x, buf, off, n);
	}
	if (fd < 0)
		x->errors++;
	else
		close(fd);
	free(buf);
	fprintf(stderr, "storbench: file check: %s\n",
		x->errors == before ? "every sector as last written" :
				      "MISMATCH");
}

/* ---- output ---- */

static int sb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double sb_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), sb_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Field @off (a double in struct sb_res) over @n repetitions. */
static double sb_med_field(const struct sb_res *res, unsigned int n, size_t off)
{
	double v[64];
	unsigned int i;

	for (i = 0; i < n; i++)
		v[i] = *(const double *)((const uint8_t *)&res[i] + off);
	return sb_median(v, n);
}

#define SB_MED(res, n, f) sb_med_field(res, n, offsetof(struct sb_res, f))

static void sb_usage(FILE *f)
{
	unsigned int i;

	fprintf(f,
		"usage: storbench [options] [FILE]\n"
		"storvsp's host path (VMBus server + storvsp + scsi_disk + "
		"block backend\non io_uring, an evloop I/O thread) driven by a "
		"simulated storvsc guest on a\nhost thread, against native "
		"io_uring on the same FILE in the same run.\nFILE is "
		"(re)written with a pattern; default "
		"/var/tmp/storbench.img, removed after.\n"
		"  -s, --size BYTES     region = file size (default 100M)\n"
		"  -t, --time SECS      per run (default 1)\n"
		"  -n, --ios N          per run, instead of the time limit\n"
		"  -r, --reps N         runs per side and workload, "
		"alternating (default 3)\n"
		"  -w, --workloads LIST comma-separated (default all):\n");
	for (i = 0; i < ARRAY_SIZE(sb_wls); i++)
		fprintf(f, "                         %-10s %s\n",
			sb_wls[i].name, sb_wls[i].desc);
	fprintf(f,
		"      --only SIDE      native or storvsp (for profiling)\n"
		"      --buffered       no O_DIRECT on either side\n"
		"      --verify         at the end, read back every sector "
		"through storvsp\n"
		"                       and from the file\n"
		"      --keep           keep FILE\n"
		"      --json           JSON on stdout instead of the table\n"
		"  -h, --help\n"
		"Figures are medians over the repetitions; CPU is "
		"getrusage(RUSAGE_SELF) per\nI/O (every thread), for storvsp "
		"also split into guest thread and host.\nExit status 1 if any "
		"data did not round-trip.\n");
}

struct sb_out {
	const struct sb_wl *wl;
	struct sb_res med[SB_SIDES];
	unsigned int n[SB_SIDES];
};

static void sb_medians(struct sb_res (*res)[SB_SIDES][64], unsigned int reps,
		       struct sb_out *o, bool *sides)
{
	unsigned int s, i;

	for (s = 0; s < SB_SIDES; s++) {
		struct sb_res *r = (*res)[s], *m = &o->med[s];

		if (!sides[s])
			continue;
		o->n[s] = reps;
		m->iops = SB_MED(r, reps, iops);
		m->mbps = SB_MED(r, reps, mbps);
		m->cpu_us = SB_MED(r, reps, cpu_us);
		m->guest_cpu_us = SB_MED(r, reps, guest_cpu_us);
		m->host_cpu_us = SB_MED(r, reps, host_cpu_us);
		m->sig_per_io = SB_MED(r, reps, sig_per_io);
		m->irq_per_io = SB_MED(r, reps, irq_per_io);
		m->csw_per_io = SB_MED(r, reps, csw_per_io);
		for (i = 0; i < reps; i++) {
			m->ios += r[i].ios;
			m->errors += r[i].errors;
		}
	}
}

static void sb_print_table(const struct sb_out *o, unsigned int n)
{
	unsigned int i;

	printf("\n%-10s %-8s %9s %8s %8s %8s %8s %6s %6s %6s\n", "workload",
	       "side", "IOPS", "MB/s", "cpu/io", "host", "guest", "sig/io",
	       "irq/io", "csw/io");
	for (i = 0; i < n; i++) {
		unsigned int s;

		for (s = 0; s < SB_SIDES; s++) {
			const struct sb_res *m = &o[i].med[s];

			if (!o[i].n[s])
				continue;
			printf("%-10s %-8s %9.0f %8.1f %7.2fus", o[i].wl->name,
			       sb_side_names[s], m->iops, m->mbps, m->cpu_us);
			if (s == SB_STORVSP)
				printf(" %6.2fus %6.2fus %6.2f %6.2f",
				       m->host_cpu_us, m->guest_cpu_us,
				       m->sig_per_io, m->irq_per_io);
			else
				printf(" %8s %8s %6s %6s", "", "", "", "");
			printf(" %6.2f\n", m->csw_per_io);
		}
		if (o[i].n[SB_NATIVE] && o[i].n[SB_STORVSP]) {
			const struct sb_res *nv = &o[i].med[SB_NATIVE];
			const struct sb_res *sv = &o[i].med[SB_STORVSP];

			printf("%-10s %-8s %8.2fx %8s %7.2fx  %6.2fx "
			       "(host CPU only)\n",
			       "", "ratio", sv->iops / nv->iops, "",
			       sv->cpu_us / nv->cpu_us,
			       sv->host_cpu_us / nv->cpu_us);
		}
	}
	for (i = 0; i < n; i++) {
		const struct sb_res *nv = &o[i].med[SB_NATIVE];
		const struct sb_res *sv = &o[i].med[SB_STORVSP];
		double ri, rc;

		if (o[i].wl->bs != 4096 || o[i].wl->qd != 8 || !o[i].n[0] ||
		    !o[i].n[1])
			continue;
		ri = sv->iops / nv->iops;
		rc = sv->cpu_us / nv->cpu_us;
		printf("target %s: IOPS %.2fx native (>= 0.90: %s), CPU/IO "
		       "%.2fx native (<= 1.20: %s; host only %.2fx)\n",
		       o[i].wl->name, ri, ri >= 0.9 ? "met" : "MISSED", rc,
		       rc <= 1.2 ? "met" : "MISSED",
		       sv->host_cpu_us / nv->cpu_us);
	}
}

static void sb_print_json(const struct sb_ctx *x, const struct sb_out *o,
			  unsigned int n, unsigned int reps)
{
	struct utsname u;
	unsigned int i, s;

	uname(&u);
	printf("{\"bench\":\"storbench\",\"kernel\":\"%s\",\"cpus\":%ld,"
	       "\"file\":\"%s\",\"region_bytes\":%llu,\"direct\":%s,"
	       "\"secs_per_run\":%.2f,\"reps\":%u,\"errors\":%llu,"
	       "\"workloads\":[",
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), x->path,
	       (unsigned long long)x->region, x->direct ? "true" : "false",
	       x->secs, reps, (unsigned long long)x->errors);
	for (i = 0; i < n; i++) {
		const struct sb_res *nv = &o[i].med[SB_NATIVE];
		const struct sb_res *sv = &o[i].med[SB_STORVSP];

		printf("%s{\"name\":\"%s\",\"bs\":%u,\"qd\":%u,\"write\":%s,"
		       "\"random\":%s",
		       i ? "," : "", o[i].wl->name, o[i].wl->bs, o[i].wl->qd,
		       o[i].wl->write ? "true" : "false",
		       o[i].wl->random ? "true" : "false");
		for (s = 0; s < SB_SIDES; s++) {
			const struct sb_res *m = &o[i].med[s];

			if (!o[i].n[s])
				continue;
			printf(",\"%s\":{\"iops\":%.0f,\"mbps\":%.2f,"
			       "\"cpu_us_per_io\":%.3f,\"csw_per_io\":%.3f,"
			       "\"ios\":%llu,\"errors\":%llu",
			       sb_side_names[s], m->iops, m->mbps, m->cpu_us,
			       m->csw_per_io, (unsigned long long)m->ios,
			       (unsigned long long)m->errors);
			if (s == SB_STORVSP)
				printf(",\"host_cpu_us_per_io\":%.3f,"
				       "\"guest_cpu_us_per_io\":%.3f,"
				       "\"guest_signals_per_io\":%.3f,"
				       "\"interrupts_per_io\":%.3f",
				       m->host_cpu_us, m->guest_cpu_us,
				       m->sig_per_io, m->irq_per_io);
			printf("}");
		}
		if (o[i].n[SB_NATIVE] && o[i].n[SB_STORVSP])
			printf(",\"ratio\":{\"iops\":%.3f,\"cpu_per_io\":%.3f,"
			       "\"host_cpu_per_io\":%.3f}",
			       sv->iops / nv->iops, sv->cpu_us / nv->cpu_us,
			       sv->host_cpu_us / nv->cpu_us);
		printf("}");
	}
	printf("]}\n");
}

/* ---- main ---- */

static void sb_verify_storvsp(struct sb_ctx *x, struct sb_vm *v)
{
	/* Every 64 KiB of the region once, QD8, checked as it comes. */
	static const struct sb_wl all = { "verify", "", 65536, 8, false, false };
	struct sb_res res = { 0 };
	struct sb_ctx y = *x;
	struct sb_run r;

	y.max_ios = x->region / all.bs;
	sb_run_init(&r, &y, &all);
	sb_vm_run(v, &r, &res);
	fprintf(stderr, "storbench: storvsp read-back of %llu MiB: %s\n",
		(unsigned long long)(x->region >> 20),
		y.errors == x->errors && !res.errors && r.done == y.max_ios ?
			"every sector as last written" :
			"MISMATCH");
	x->errors = y.errors + res.errors + (r.done != y.max_ios);
}

int main(int argc, char **argv)
{
	enum { OPT_ONLY = 256, OPT_BUF, OPT_VERIFY, OPT_KEEP, OPT_JSON };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "ios", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "workloads", required_argument, NULL, 'w' },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "buffered", no_argument, NULL, OPT_BUF },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sb_res res[ARRAY_SIZE(sb_wls)][SB_SIDES][64];
	struct sb_out out[ARRAY_SIZE(sb_wls)];
	struct sb_ctx x = { .path = "/var/tmp/storbench.img",
			    .region = 100 * MiB,
			    .direct = true,
			    .secs = 1.0,
			    .seed = 0x9e3779b97f4a7c15ull };
	bool sides[SB_SIDES] = { true, true }, want[ARRAY_SIZE(sb_wls)];
	bool verify = false, keep = false, json = false, buffered = false;
	bool progress;
	unsigned int reps = 3, i, k, nout = 0;
	const char *wl_list = NULL;
	struct sb_native nat;
	struct sb_vm vm;
	uint64_t v;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:t:n:r:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &x.region) ||
			    x.region < SB_MAX_BS ||
			    x.region > (1ull << 32) * 512 ||
			    x.region % SB_MAX_BS)
				goto bad;
			break;
		case 't':
			x.secs = atof(optarg);
			if (!(x.secs > 0 && x.secs <= 3600))
				goto bad;
			break;
		case 'n':
			if (parse_uint(optarg, UINT64_MAX, &x.max_ios) ||
			    !x.max_ios)
				goto bad;
			break;
		case 'r':
			if (parse_uint(optarg, 64, &v) || !v)
				goto bad;
			reps = (unsigned int)v;
			break;
		case 'w':
			wl_list = optarg;
			break;
		case OPT_ONLY:
			if (strcmp(optarg, "native") &&
			    strcmp(optarg, "storvsp"))
				goto bad;
			sides[SB_NATIVE] = !strcmp(optarg, "native");
			sides[SB_STORVSP] = !sides[SB_NATIVE];
			break;
		case OPT_BUF:
			buffered = true;
			break;
		case OPT_VERIFY:
			verify = true;
			break;
		case OPT_KEEP:
			keep = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			sb_usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind < argc - 1)
		goto bad;
	if (optind == argc - 1)
		x.path = argv[optind];
	for (i = 0; i < ARRAY_SIZE(sb_wls); i++) {
		const char *p = wl_list;
		size_t l = strlen(sb_wls[i].name);

		want[i] = !wl_list;
		while (p && *p) {
			if (!strncmp(p, sb_wls[i].name, l) &&
			    (p[l] == ',' || !p[l]))
				want[i] = true;
			p = strchr(p, ',');
			p = p ? p + 1 : NULL;
		}
		nout += want[i];
	}
	if (!nout)
		goto bad;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_WARN);
	progress = !json && isatty(STDERR_FILENO);

	x.gen = calloc(x.region / SB_PAGE, 1);
	if (!x.gen || sb_fill(&x))
		return 2;
	x.direct = !buffered && sb_direct_ok(x.path);
	if (!buffered && !x.direct)
		fprintf(stderr,
			"storbench: %s refuses O_DIRECT: both sides "
			"use the page cache\n",
			x.path);
	r = sb_native_open(&x, &nat);
	if (r) {
		fprintf(stderr, "storbench: native: %s\n", strerror(-r));
		return 2;
	}
	r = sb_vm_open(&x, &vm);
	if (r) {
		fprintf(stderr, "storbench: storvsp: %s\n", strerror(-r));
		return 2;
	}
	if (!json)
		printf("storbench: %s, %llu MiB, %s, %.1f s x %u per side "
		       "(alternating), medians\n",
		       x.path, (unsigned long long)(x.region >> 20),
		       x.direct ? "O_DIRECT" : "page cache", x.secs, reps);
	nout = 0;
	for (i = 0; i < ARRAY_SIZE(sb_wls); i++) {
		struct sb_run run;

		if (!want[i])
			continue;
		for (k = 0; k < reps; k++) {
			unsigned int s;

			for (s = 0; s < SB_SIDES; s++) {
				struct sb_res *rs = &res[i][s][k];

				if (!sides[s])
					continue;
				memset(rs, 0, sizeof(*rs));
				sb_run_init(&run, &x, &sb_wls[i]);
				if (s == SB_NATIVE)
					sb_native_run(&nat, &run, rs);
				else
					sb_vm_run(&vm, &run, rs);
				x.errors += rs->errors;
				if (progress)
					fprintf(stderr,
						"\r%-10s %-8s %u/%u %9.0f "
						"IOPS  ",
						sb_wls[i].name,
						sb_side_names[s], k + 1, reps,
						rs->iops);
			}
		}
		out[nout].wl = &sb_wls[i];
		memset(out[nout].n, 0, sizeof(out[nout].n));
		memset(out[nout].med, 0, sizeof(out[nout].med));
		sb_medians(&res[i], reps, &out[nout], sides);
		nout++;
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");
	if (verify)
		sb_verify_storvsp(&x, &vm);
	sb_vm_close(&vm);
	sb_native_close(&nat);
	if (verify)
		sb_verify_file(&x);
	if (json)
		sb_print_json(&x, out, nout, reps);
	else
		sb_print_table(out, nout);
	if (!keep)
		unlink(x.path);
	free(x.gen);
	if (x.errors)
		fprintf(stderr, "storbench: %llu I/Os did not round-trip\n",
			(unsigned long long)x.errors);
	return x.errors ? 1 : 0;
bad:
	sb_usage(stderr);
	return 2;
}
