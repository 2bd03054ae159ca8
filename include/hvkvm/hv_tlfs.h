/* SPDX-License-Identifier: MIT */
/*
 * hv_tlfs: wire constants of the Microsoft Hypervisor Top-Level Functional
 * Specification (TLFS) that hvkvm serves: CPUID leaves and bits, synthetic
 * MSR numbers and fields, hypercall codes, input/result encoding, status
 * codes, and the SynIC message/event page and reference TSC page layouts.
 * Names follow the TLFS (and Linux's hyperv-tlfs.h, our guest-side check).
 * The structs describe guest memory; code reads and writes them through the
 * offsets below with explicit little-endian accessors.
 */
#ifndef HVKVM_HV_TLFS_H
#define HVKVM_HV_TLFS_H

#include <stddef.h>
#include <stdint.h>

/* ---- CPUID leaves --------------------------------------------------- */
#define HV_CPUID_VENDOR_AND_MAX 0x40000000
#define HV_CPUID_INTERFACE 0x40000001
#define HV_CPUID_VERSION 0x40000002
#define HV_CPUID_FEATURES 0x40000003
#define HV_CPUID_ENLIGHTENMENT_INFO 0x40000004
#define HV_CPUID_IMPLEMENT_LIMITS 0x40000005
#define HV_CPUID_HW_FEATURES 0x40000006
#define HV_CPUID_NESTED_FEATURES 0x4000000A
#define HV_CPUID_MAX_LEAF HV_CPUID_NESTED_FEATURES
/* Guests look for hypervisor leaves from here (KVM's, Xen's, ours). */
#define HV_CPUID_RANGE_FIRST 0x40000000
#define HV_CPUID_RANGE_LAST 0x4fffffff

#define HV_CPUID_INTERFACE_HV1 0x31237648 /* "Hv#1" */

/* 0x40000003 EAX: partition privileges (synthetic MSR access). */
#define HV_MSR_VP_RUNTIME_AVAILABLE (1u << 0)
#define HV_MSR_TIME_REF_COUNT_AVAILABLE (1u << 1)
#define HV_MSR_SYNIC_AVAILABLE (1u << 2)
#define HV_MSR_SYNTIMER_AVAILABLE (1u << 3)
#define HV_MSR_APIC_ACCESS_AVAILABLE (1u << 4)
#define HV_MSR_HYPERCALL_AVAILABLE (1u << 5)
#define HV_MSR_VP_INDEX_AVAILABLE (1u << 6)
#define HV_MSR_RESET_AVAILABLE (1u << 7)
#define HV_MSR_STAT_PAGES_AVAILABLE (1u << 8)
#define HV_MSR_REFERENCE_TSC_AVAILABLE (1u << 9)
#define HV_MSR_GUEST_IDLE_AVAILABLE (1u << 10)
#define HV_ACCESS_FREQUENCY_MSRS (1u << 11)
#define HV_ACCESS_REENLIGHTENMENT (1u << 13)
#define HV_ACCESS_TSC_INVARIANT (1u << 15)
/* 0x40000003 EBX: partition privileges (hypercalls). */
#define HV_CREATE_PARTITIONS (1u << 0)
#define HV_ACCESS_PARTITION_ID (1u << 1)
#define HV_POST_MESSAGES (1u << 4)
#define HV_SIGNAL_EVENTS (1u << 5)
#define HV_ACCESS_VP_REGISTERS (1u << 17)
#define HV_CPU_MANAGEMENT (1u << 12)
#define HV_ENABLE_EXTENDED_HYPERCALLS (1u << 20)
/* 0x40000003 EDX: feature identification. */
#define HV_X64_GUEST_IDLE_STATE_AVAILABLE (1u << 5)
#define HV_FEATURE_FREQUENCY_MSRS_AVAILABLE (1u << 8)
#define HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE (1u << 10)
#define HV_STIMER_DIRECT_MODE_AVAILABLE (1u << 19)
/* 0x40000004 EAX: implementation recommendations. */
#define HV_X64_APIC_ACCESS_RECOMMENDED (1u << 3)
#define HV_X64_SYSTEM_RESET_RECOMMENDED (1u << 4)
#define HV_X64_RELAXED_TIMING_RECOMMENDED (1u << 5)
#define HV_DEPRECATING_AEOI_RECOMMENDED (1u << 9)
/* 0x40000004 EBX: never notify a long spin wait. */
#define HV_SPINLOCK_NEVER_NOTIFY 0xffffffffu

/* ---- Synthetic MSRs ------------------------------------------------- */
#define HV_X64_MSR_GUEST_OS_ID 0x40000000
#define HV_X64_MSR_HYPERCALL 0x40000001
#define HV_X64_MSR_VP_INDEX 0x40000002
#define HV_X64_MSR_RESET 0x40000003
#define HV_X64_MSR_VP_RUNTIME 0x40000010
#define HV_X64_MSR_TIME_REF_COUNT 0x40000020
#define HV_X64_MSR_REFERENCE_TSC 0x40000021
#define HV_X64_MSR_TSC_FREQUENCY 0x40000022
#define HV_X64_MSR_APIC_FREQUENCY 0x40000023
#define HV_X64_MSR_EOI 0x40000070
#define HV_X64_MSR_ICR 0x40000071
#define HV_X64_MSR_TPR 0x40000072
#define HV_X64_MSR_VP_ASSIST_PAGE 0x40000073
#define HV_X64_MSR_SCONTROL 0x40000080
#define HV_X64_MSR_SVERSION 0x40000081
#define HV_X64_MSR_SIEFP 0x40000082
#define HV_X64_MSR_SIMP 0x40000083
#define HV_X64_MSR_EOM 0x40000084
#define HV_X64_MSR_SINT0 0x40000090
#define HV_X64_MSR_SINT15 0x4000009F
#define HV_X64_MSR_STIMER0_CONFIG 0x400000B0
#define HV_X64_MSR_STIMER0_COUNT 0x400000B1
#define HV_X64_MSR_STIMER3_COUNT 0x400000B7
#define HV_X64_MSR_GUEST_IDLE 0x400000F0
#define HV_X64_MSR_CRASH_P0 0x40000100
#define HV_X64_MSR_CRASH_P4 0x40000104
#define HV_X64_MSR_CRASH_CTL 0x40000105
#define HV_X64_MSR_REENLIGHTENMENT_CONTROL 0x40000106
#define HV_X64_MSR_TSC_EMULATION_CONTROL 0x40000107
#define HV_X64_MSR_TSC_EMULATION_STATUS 0x40000108
#define HV_X64_MSR_TSC_INVARIANT_CONTROL 0x40000118
/* What hv_msr_is_synthetic() claims. */
#define HV_MSR_RANGE_FIRST 0x40000000
#define HV_MSR_RANGE_LAST 0x400001FF

/* HV_X64_MSR_HYPERCALL / REFERENCE_TSC / SIMP / SIEFP / VP_ASSIST_PAGE. */
#define HV_MSR_ENABLE (1ULL << 0)
#define HV_HYPERCALL_LOCKED (1ULL << 1)
#define HV_MSR_PAGE_MASK (~0xfffULL)
#define HV_PAGE_SIZE 4096u
#define HV_PAGE_SHIFT 12

/* HV_X64_MSR_RESET */
#define HV_RESET_DO (1ULL << 0)
/* HV_X64_MSR_CRASH_CTL */
#define HV_CRASH_CTL_CRASH_NOTIFY_MSG (1ULL << 62)
#define HV_CRASH_CTL_CRASH_NOTIFY (1ULL << 63)
/* HV_X64_MSR_TSC_INVARIANT_CONTROL */
#define HV_TSC_INVARIANT_EXPOSE (1ULL << 0)

/* SynIC */
#define HV_SYNIC_VERSION_1 0x1
#define HV_SYNIC_SINT_COUNT 16
#define HV_SYNIC_FIRST_VALID_VECTOR 16
#define HV_SYNIC_CONTROL_ENABLE (1ULL << 0)
#define HV_SYNIC_SINT_VECTOR_MASK 0xffULL
#define HV_SYNIC_SINT_MASKED (1ULL << 16)
#define HV_SYNIC_SINT_AUTO_EOI (1ULL << 17)
#define HV_SYNIC_SINT_POLLING (1ULL << 18)
#define HV_SYNIC_SINT_VALID_BITS                            \
	(HV_SYNIC_SINT_VECTOR_MASK | HV_SYNIC_SINT_MASKED | \
	 HV_SYNIC_SINT_AUTO_EOI | HV_SYNIC_SINT_POLLING)
#define HV_SYNIC_SINT_RESET HV_SYNIC_SINT_MASKED

/* Synthetic timers */
#define HV_SYNIC_STIMER_COUNT 4
#define HV_STIMER_ENABLE (1ULL << 0)
#define HV_STIMER_PERIODIC (1ULL << 1)
#define HV_STIMER_LAZY (1ULL << 2)
#define HV_STIMER_AUTO_ENABLE (1ULL << 3)
#define HV_STIMER_VECTOR_SHIFT 4
#define HV_STIMER_VECTOR_MASK (0xffULL << HV_STIMER_VECTOR_SHIFT)
#define HV_STIMER_DIRECT_MODE (1ULL << 12)
#define HV_STIMER_SINTX_SHIFT 16
#define HV_STIMER_SINTX_MASK (0xfULL << HV_STIMER_SINTX_SHIFT)
#define HV_STIMER_VALID_BITS \
	(0xfffULL | HV_STIMER_DIRECT_MODE | HV_STIMER_SINTX_MASK)

/* ---- Hypercalls ----------------------------------------------------- */
#define HVCALL_NOTIFY_LONG_SPIN_WAIT 0x0008
#define HVCALL_GET_VP_REGISTERS 0x0050
#define HVCALL_POST_MESSAGE 0x005c
#define HVCALL_SIGNAL_EVENT 0x005d

/* Hypercall input value (RCX, or EDX:EAX). */
#define HV_HYPERCALL_CODE_MASK 0xffffULL
#define HV_HYPERCALL_FAST_BIT (1ULL << 16)
#define HV_HYPERCALL_VARHEAD_SHIFT 17
#define HV_HYPERCALL_VARHEAD_MASK (0x3ffULL << HV_HYPERCALL_VARHEAD_SHIFT)
#define HV_HYPERCALL_REP_COUNT_SHIFT 32
#define HV_HYPERCALL_REP_COUNT_MASK (0xfffULL << HV_HYPERCALL_REP_COUNT_SHIFT)
#define HV_HYPERCALL_REP_START_SHIFT 48
#define HV_HYPERCALL_REP_START_MASK (0xfffULL << HV_HYPERCALL_REP_START_SHIFT)
#define HV_HYPERCALL_RSVD_MASK \
	(0xf8000000ULL | 0x0000f00000000000ULL | 0xf000000000000000ULL)
/* Hypercall result value (RAX, or EDX:EAX). */
#define HV_HYPERCALL_RESULT_MASK 0xffffULL
#define HV_HYPERCALL_REP_COMP_SHIFT 32

/* HV_STATUS */
#define HV_STATUS_SUCCESS 0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE 0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x0003
#define HV_STATUS_INVALID_ALIGNMENT 0x0004
#define HV_STATUS_INVALID_PARAMETER 0x0005
#define HV_STATUS_ACCESS_DENIED 0x0006
#define HV_STATUS_INVALID_PARTITION_STATE 0x0007
#define HV_STATUS_OPERATION_DENIED 0x0008
#define HV_STATUS_INSUFFICIENT_MEMORY 0x000B
#define HV_STATUS_INVALID_PARTITION_ID 0x000D
#define HV_STATUS_INVALID_VP_INDEX 0x000E
#define HV_STATUS_INVALID_PORT_ID 0x0011
#define HV_STATUS_INVALID_CONNECTION_ID 0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS 0x0013

#define HV_PARTITION_ID_SELF (~0ULL)
#define HV_VP_INDEX_SELF 0xfffffffeu

/* HvPostMessage input (256 bytes, memory only). */
#define HV_POST_MESSAGE_CONNECTION_ID 0 /* u32 */
#define HV_POST_MESSAGE_TYPE 8		/* u32 */
#define HV_POST_MESSAGE_PAYLOAD_SIZE 12 /* u32 */
#define HV_POST_MESSAGE_PAYLOAD 16	/* 240 bytes */
#define HV_POST_MESSAGE_INPUT_SIZE 256
/* HvSignalEvent input (8 bytes, usually fast in RDX). */
#define HV_SIGNAL_EVENT_INPUT_SIZE 8
#define HV_CONNECTION_ID_MASK 0x00ffffffu
/* HvGetVpRegisters: header, 4-byte names in, 16-byte values out. */
#define HV_GET_VP_REGISTERS_HDR_SIZE 16
#define HV_GET_VP_REGISTERS_NAME_SIZE 4
#define HV_GET_VP_REGISTERS_VALUE_SIZE 16

/* HV_REGISTER_NAME values understood by HvGetVpRegisters. */
#define HV_REGISTER_VP_RUNTIME 0x00090000
#define HV_REGISTER_HYPERCALL 0x00090001
#define HV_REGISTER_GUEST_OS_ID 0x00090002
#define HV_REGISTER_VP_INDEX 0x00090003
#define HV_REGISTER_TIME_REF_COUNT 0x00090004

/* ---- Message page --------------------------------------------------- */
#define HVMSG_NONE 0x00000000
#define HVMSG_TIMER_EXPIRED 0x80000010
/* Message types with the top bit set are the hypervisor's own. */
#define HVMSG_HYPERVISOR_BIT 0x80000000u

#define HV_MESSAGE_SIZE 256
#define HV_MESSAGE_PAYLOAD_BYTE_COUNT 240
#define HV_MESSAGE_FLAG_PENDING 0x01
#define HV_EVENT_FLAGS_BYTES 256
#define HV_EVENT_FLAGS_COUNT (HV_EVENT_FLAGS_BYTES * 8)

struct hv_message_header {
	uint32_t message_type;
	uint8_t payload_size;
	uint8_t message_flags; /* HV_MESSAGE_FLAG_PENDING */
	uint8_t reserved[2];
	uint64_t sender; /* port id or partition id */
} __attribute__((packed));

struct hv_message {
	struct hv_message_header header;
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
} __attribute__((packed));

struct hv_message_page {
	struct hv_message sint_message[HV_SYNIC_SINT_COUNT];
} __attribute__((packed));

struct hv_event_flags_page {
	uint8_t sint_flags[HV_SYNIC_SINT_COUNT][HV_EVENT_FLAGS_BYTES];
} __attribute__((packed));

/* HVMSG_TIMER_EXPIRED payload. */
struct hv_timer_message_payload {
	uint32_t timer_index;
	uint32_t reserved;
	uint64_t expiration_time; /* 100 ns reference time */
	uint64_t delivery_time;	  /* 100 ns reference time */
} __attribute__((packed));

/* Reference TSC page (first 24 bytes; the rest of the page is reserved). */
struct hv_tsc_page {
	uint32_t tsc_sequence; /* 0 = invalid, fall back to the MSR */
	uint32_t reserved1;
	uint64_t tsc_scale; /* 64.64 fixed point 100ns per tick */
	int64_t tsc_offset;
} __attribute__((packed));

_Static_assert(sizeof(struct hv_message_header) == 16, "hv message header");
_Static_assert(sizeof(struct hv_message) == HV_MESSAGE_SIZE, "hv message");
_Static_assert(sizeof(struct hv_message_page) == HV_PAGE_SIZE, "msg page");
_Static_assert(sizeof(struct hv_event_flags_page) == HV_PAGE_SIZE,
	       "event flags page");
_Static_assert(offsetof(struct hv_message_header, message_flags) == 5,
	       "message flags offset");
_Static_assert(offsetof(struct hv_message, payload) == 16, "payload offset");
_Static_assert(sizeof(struct hv_timer_message_payload) == 24, "timer msg");
_Static_assert(offsetof(struct hv_tsc_page, tsc_scale) == 8, "tsc scale");
_Static_assert(offsetof(struct hv_tsc_page, tsc_offset) == 16, "tsc off");

#endif /* HVKVM_HV_TLFS_H */
