/* SPDX-License-Identifier: MIT */
/*
 * hyperv internals shared by the files of src/hyperv/: partition and VP
 * state, the effective feature set, counters. Not for other modules.
 *
 * Locking: hv->lock guards the partition-wide MSRs (guest OS ID, hypercall
 * page, reference TSC page, crash registers). vp->lock guards one VP's
 * SynIC (SCONTROL/SIMP/SIEFP/SINTx, message queues) and synthetic timers;
 * every write into that VP's SynIC pages happens under it. hv->handlers_lock
 * (rwlock) guards the connection-ID tables. hv->tmr_lock only guards the
 * timer thread's wake-up flags and is never held with another lock.
 */
#ifndef HVKVM_HV_INTERNAL_H
#define HVKVM_HV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"

/* Messages waiting per SINT when the slot is busy (then -EAGAIN). */
#define HV_MSG_QUEUE_LEN 32

/* What this VM advertises and serves, derived once from the config. */
struct hv_feat {
	bool enabled;		   /* Hyper-V leaves and MSRs at all */
	bool relaxed;		   /* relaxed timing recommended */
	bool vpindex;		   /* VP_INDEX */
	bool runtime;		   /* VP_RUNTIME */
	bool synic;		   /* SynIC MSRs, PostMessage, SignalEvent */
	bool stimer;		   /* synthetic timers */
	bool stimer_direct;	   /* direct-mode synthetic timers */
	bool reset;		   /* RESET MSR */
	bool frequencies;	   /* TSC_FREQUENCY / APIC_FREQUENCY */
	bool time_ref;		   /* TIME_REF_COUNT */
	bool tsc_page;		   /* REFERENCE_TSC */
	bool tsc_invariant;	   /* TSC_INVARIANT_CONTROL */
	bool crash;		   /* CRASH_P0..4, CRASH_CTL */
	bool idle;		   /* GUEST_IDLE */
	uint32_t spinlock_retries; /* CPUID 0x40000004 EBX */
	char vendor[12];	   /* CPUID 0x40000000 EBX/ECX/EDX */
};

/* Per-MSR counter slots (hv_msr_stat_index()). */
#define HV_MSR_STATS 52
/* Per-hypercall counter slots. */
enum hv_call_stat {
	HV_CALL_STAT_SPIN_WAIT,
	HV_CALL_STAT_GET_VP_REGISTERS,
	HV_CALL_STAT_POST_MESSAGE,
	HV_CALL_STAT_SIGNAL_EVENT,
	HV_CALL_STAT_OTHER,
	HV_CALL_STATS,
};

struct hv_vp_stats {
	uint64_t msr_read[HV_MSR_STATS]; /* by hv_msr_stat_index() */
	uint64_t msr_write[HV_MSR_STATS];
	uint64_t msr_gp;		   /* accesses answered with #GP */
	uint64_t hypercall[HV_CALL_STATS]; /* by enum hv_call_stat */
	uint64_t hypercall_err;		   /* status != SUCCESS */
	uint64_t msg_posted;		   /* written to the SIMP slot */
	uint64_t msg_queued;		   /* slot busy: queued */
	uint64_t msg_dropped;		   /* queue full / SIMP off */
	uint64_t msg_redelivered;	   /* delivered from queue (EOM) */
	uint64_t eom;			   /* EOM writes */
	uint64_t events;		   /* event flags newly set */
	uint64_t sint_irq;		   /* SINT interrupts raised */
	uint64_t stimer_expired;	   /* timer expiries */
	uint64_t stimer_direct_irq;	   /* direct-mode interrupts */
	uint64_t stimer_msg;		   /* expiry messages written */
	uint64_t stimer_msg_deferred;	   /* expiry message slot busy */
	uint64_t idle_entries;		   /* GUEST_IDLE reads */
	uint64_t idle_ns;		   /* time in host_ops.idle */
};

static inline void hv_count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

struct hv_queued_msg {
	uint32_t type; /* message type */
	uint8_t len;   /* payload bytes */
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

/* FIFO of messages for one SINT whose slot was busy. */
struct hv_msg_queue {
	struct hv_queued_msg msg[HV_MSG_QUEUE_LEN];
	unsigned int head;  /* oldest */
	unsigned int count; /* queued */
};

struct hv_stimer {
	uint64_t config;      /* STIMERx_CONFIG as the guest wrote it */
	uint64_t count;	      /* STIMERx_COUNT */
	bool armed;	      /* exp_ref is a live deadline */
	uint64_t exp_ref;     /* next expiry, 100 ns reference time */
	bool msg_pending;     /* expiry message waits for a free slot */
	uint64_t pending_exp; /* its expiration time */
};

struct hv_vp {
	struct hv *hv;
	unsigned int index;		    /* VP index = position */
	uint32_t apic_id;		    /* MSI destination */
	pthread_mutex_t lock;		    /* SynIC + stimer state below */
	uint64_t scontrol;		    /* SCONTROL */
	uint64_t simp;			    /* SIMP */
	uint64_t siefp;			    /* SIEFP */
	uint64_t sint[HV_SYNIC_SINT_COUNT]; /* SINTx */
	uint8_t *simp_hva;  /* message page, NULL while disabled */
	uint8_t *siefp_hva; /* event flags page, NULL while disabled */
	struct hv_msg_queue *queue[HV_SYNIC_SINT_COUNT]; /* lazily allocated */
	struct hv_stimer stimer[HV_SYNIC_STIMER_COUNT];
	uint64_t vp_assist; /* VP_ASSIST_PAGE (stored only) */
	struct hv_vp_stats stats;
};

struct hv_handler {
	uint32_t connection_id;
	hv_post_message_fn msg_fn; /* or NULL */
	void *msg_opaque;
	hv_signal_event_fn evt_fn; /* or NULL */
	void *evt_opaque;
};

struct hv {
	struct hv_params p;	  /* copy of the creation parameters */
	struct config_hyperv cfg; /* copy of *p.cfg */
	struct hv_feat f;	  /* effective features */
	uint32_t host_cpus;	  /* CPUID 0x40000005 EBX */

	pthread_mutex_t lock; /* partition-wide MSRs below */
	uint64_t guest_os_id; /* GUEST_OS_ID */
	uint64_t hypercall;   /* HYPERCALL */
	uint64_t ref_tsc;     /* REFERENCE_TSC */
	uint32_t tsc_seq;     /* last sequence written to the page */
	uint64_t tsc_scale;   /* last scale written */
	int64_t tsc_offset;   /* last offset written */
	uint64_t crash_p[5];  /* CRASH_P0..P4 */
	uint64_t crash_ctl;   /* last CRASH_CTL written */
	uint64_t tsc_inv_ctl; /* TSC_INVARIANT_CONTROL */
	uint64_t start_ns;    /* reference time 0, clock_ns domain */

	pthread_rwlock_t handlers_lock; /* the two tables below */
	struct hv_handler *handlers;	/* sorted by connection id */
	unsigned int nr_handlers, cap_handlers;

	pthread_mutex_t tmr_lock; /* timer thread wake-up */
	pthread_cond_t tmr_cond;
	bool tmr_kicked;  /* a timer changed: recompute */
	bool tmr_stop;	  /* hv_destroy */
	bool tmr_running; /* thread exists */
	pthread_t tmr_thread;

	struct hv_vp *vps; /* [p.nr_vcpus] */
};

/* hv_core.c */
uint64_t hv_clock_ns(struct hv *hv);
/* Reference time (100 ns units since VM start) at host time @ns. */
uint64_t hv_ref_time_at(struct hv *hv, uint64_t ns);
uint64_t hv_ref_time(struct hv *hv);
bool hv_hypercall_enabled(struct hv *hv);
int hv_handler_post(struct hv *hv, unsigned int vp, uint32_t conn,
		    uint32_t type, const void *payload, uint32_t len,
		    uint16_t *status);
int hv_handler_signal(struct hv *hv, unsigned int vp, uint32_t conn,
		      uint16_t flag);

/* hv_cpuid.c */
void hv_feat_compute(struct hv *hv);

/* hv_time.c */
int hv_tsc_page_write(struct hv *hv); /* hv->lock held */
uint64_t hv_tsc_scale(uint64_t tsc_khz);

/* hv_synic.c (vp->lock held) */
int hv_synic_msr_write(struct hv_vp *vp, uint32_t msr, uint64_t val);
int hv_synic_msr_read(struct hv_vp *vp, uint32_t msr, uint64_t *val);
int hv_synic_write_slot(struct hv_vp *vp, unsigned int sint, uint32_t type,
			const void *payload, uint32_t len);
void hv_synic_raise(struct hv_vp *vp, unsigned int sint);
bool hv_synic_ready(struct hv_vp *vp);
void hv_synic_reset_vp(struct hv_vp *vp);

/* hv_stimer.c (vp->lock held unless noted) */
int hv_stimer_msr_write(struct hv_vp *vp, uint32_t msr, uint64_t val);
int hv_stimer_msr_read(struct hv_vp *vp, uint32_t msr, uint64_t *val);
void hv_stimer_retry_msgs(struct hv_vp *vp);
void hv_stimer_kick(struct hv *hv); /* no lock held */
int hv_stimer_start_thread(struct hv *hv);
void hv_stimer_stop_thread(struct hv *hv);

/* hv_msr.c */
int hv_msr_stat_index(uint32_t msr);
const char *hv_msr_stat_name(int idx, char *buf, unsigned int len);

#endif /* HVKVM_HV_INTERNAL_H */
