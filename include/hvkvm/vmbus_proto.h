/* SPDX-License-Identifier: MIT */
/*
 * vmbus_proto: VMBus wire formats — channel-management messages carried in
 * SynIC messages, the ring-buffer control page, packet descriptors, and the
 * integration-service (IC) message headers. Little-endian, packed, exactly
 * as the Hyper-V guest drivers (Linux hv_vmbus, Windows vmbus.sys) lay them
 * out. These structs are for parsing and building messages only; never keep
 * them as in-memory state.
 */
#ifndef HVKVM_VMBUS_PROTO_H
#define HVKVM_VMBUS_PROTO_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define VMBUS_PACKED __attribute__((packed))

/* Protocol versions (major << 16 | minor). */
#define VMBUS_MAKE_VERSION(maj, min) ((uint32_t)(maj) << 16 | (uint32_t)(min))
#define VMBUS_VERSION_WS2008 VMBUS_MAKE_VERSION(0, 13)
#define VMBUS_VERSION_WIN7 VMBUS_MAKE_VERSION(1, 1)
#define VMBUS_VERSION_WIN8 VMBUS_MAKE_VERSION(2, 4)
#define VMBUS_VERSION_WIN8_1 VMBUS_MAKE_VERSION(3, 0)
#define VMBUS_VERSION_WIN10 VMBUS_MAKE_VERSION(4, 0)
#define VMBUS_VERSION_WIN10_V4_1 VMBUS_MAKE_VERSION(4, 1)
#define VMBUS_VERSION_WIN10_V5 VMBUS_MAKE_VERSION(5, 0)
#define VMBUS_VERSION_WIN10_V5_1 VMBUS_MAKE_VERSION(5, 1)
#define VMBUS_VERSION_WIN10_V5_2 VMBUS_MAKE_VERSION(5, 2)
#define VMBUS_VERSION_WIN10_V5_3 VMBUS_MAKE_VERSION(5, 3)

/* Connection IDs and SINTs. */
#define VMBUS_MESSAGE_CONNECTION_ID 1	/* guest -> host messages (< v5) */
#define VMBUS_EVENT_CONNECTION_ID 2	/* WS2008 channel signals */
#define VMBUS_MESSAGE_CONNECTION_ID_4 4 /* guest -> host messages (>= v5) */
#define VMBUS_MESSAGE_SINT 2		/* default host -> guest SINT */
/* OpenChannel / ModifyChannel target_vp: no host -> guest interrupts. */
#define VMBUS_VP_NO_INTERRUPT 0xffffffffu
#define VMBUS_MESSAGE_TYPE 1	   /* SynIC message type of VMBus msgs */
#define VMBUS_MAX_MESSAGE_SIZE 240 /* SynIC message payload */
#define VMBUS_MAX_USER_DEFINED_BYTES 120
#define VMBUS_PAGE_SIZE 4096u
#define VMBUS_PAGE_SHIFT 12

/* Channel message types. */
enum vmbus_msg_type {
	VMBUS_MSG_INVALID = 0,
	VMBUS_MSG_OFFERCHANNEL = 1,
	VMBUS_MSG_RESCIND_CHANNELOFFER = 2,
	VMBUS_MSG_REQUESTOFFERS = 3,
	VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
	VMBUS_MSG_OPENCHANNEL = 5,
	VMBUS_MSG_OPENCHANNEL_RESULT = 6,
	VMBUS_MSG_CLOSECHANNEL = 7,
	VMBUS_MSG_GPADL_HEADER = 8,
	VMBUS_MSG_GPADL_BODY = 9,
	VMBUS_MSG_GPADL_CREATED = 10,
	VMBUS_MSG_GPADL_TEARDOWN = 11,
	VMBUS_MSG_GPADL_TORNDOWN = 12,
	VMBUS_MSG_RELID_RELEASED = 13,
	VMBUS_MSG_INITIATE_CONTACT = 14,
	VMBUS_MSG_VERSION_RESPONSE = 15,
	VMBUS_MSG_UNLOAD = 16,
	VMBUS_MSG_UNLOAD_RESPONSE = 17,
	VMBUS_MSG_TL_CONNECT_REQUEST = 21,
	VMBUS_MSG_MODIFYCHANNEL = 22,
	VMBUS_MSG_TL_CONNECT_RESULT = 23,
	VMBUS_MSG_MODIFYCHANNEL_RESPONSE = 24,
	VMBUS_MSG_COUNT
};

struct vmbus_msg_hdr {
	uint32_t msgtype;
	uint32_t padding;
} VMBUS_PACKED;

struct vmbus_msg_offer_channel {
	struct vmbus_msg_hdr hdr;
	uint8_t if_type[16];	 /* class GUID (Windows byte order) */
	uint8_t if_instance[16]; /* instance GUID */
	uint64_t reserved1;
	uint64_t reserved2;
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_MAX_USER_DEFINED_BYTES];
	uint16_t sub_channel_index; /* >= WIN8 */
	uint16_t mmio_megabytes_optional;
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_allocated;	 /* bit 0 */
	uint16_t is_dedicated_interrupt; /* bit 0, >= WIN7 */
	uint32_t connection_id;		 /* >= WIN7 */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_offer_channel) == 196, "offer size");
static_assert(offsetof(struct vmbus_msg_offer_channel, sub_channel_index) ==
		      180,
	      "offer sub_channel_index");
static_assert(offsetof(struct vmbus_msg_offer_channel, child_relid) == 184,
	      "offer child_relid");
static_assert(offsetof(struct vmbus_msg_offer_channel, connection_id) == 192,
	      "offer connection_id");

struct vmbus_msg_rescind_offer {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_rescind_offer) == 12, "rescind size");

struct vmbus_msg_open_channel {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t ringbuffer_gpadl;
	uint32_t target_vp;
	uint32_t downstream_page_offset; /* pages; host->guest ring start */
	uint8_t user_data[VMBUS_MAX_USER_DEFINED_BYTES];
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_open_channel) == 148, "open size");
static_assert(offsetof(struct vmbus_msg_open_channel, downstream_page_offset) ==
		      24,
	      "open offset");

struct vmbus_msg_open_result {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_open_result) == 20, "open result");

struct vmbus_msg_close_channel {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_close_channel) == 12, "close size");

struct vmbus_msg_modify_channel {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t target_vp;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_modify_channel) == 16, "modify");

struct vmbus_msg_modify_channel_response {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t status;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_modify_channel_response) == 16,
	      "modify response");

/* A page range: byte_count bytes from byte_offset into pfn_array[0]. */
struct vmbus_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset;
	/* uint64_t pfn_array[] follows */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_gpa_range) == 8, "gpa range");

struct vmbus_msg_gpadl_header {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen; /* bytes of ranges incl. their pfn arrays */
	uint16_t rangecount;
	/* struct vmbus_gpa_range range[] follows */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_gpadl_header) == 20, "gpadl header");

struct vmbus_msg_gpadl_body {
	struct vmbus_msg_hdr hdr;
	uint32_t msgnumber;
	uint32_t gpadl;
	/* uint64_t pfn[] follows */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_gpadl_body) == 16, "gpadl body");

struct vmbus_msg_gpadl_created {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_gpadl_created) == 20, "gpadl created");

struct vmbus_msg_gpadl_teardown {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_gpadl_teardown) == 16, "teardown");

struct vmbus_msg_gpadl_torndown {
	struct vmbus_msg_hdr hdr;
	uint32_t gpadl;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_gpadl_torndown) == 12, "torndown");

struct vmbus_msg_relid_released {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_relid_released) == 12, "relid rel");

struct vmbus_msg_initiate_contact {
	struct vmbus_msg_hdr hdr;
	uint32_t version_requested;
	uint32_t target_vcpu; /* VP index for host -> guest messages */
	union {
		uint64_t interrupt_page; /* < v5: GPA of the interrupt page */
		struct {
			uint8_t msg_sint; /* >= v5 */
			uint8_t msg_vtl;  /* >= v5.1 */
			uint8_t reserved[2];
			uint32_t feature_flags; /* >= v6 (not offered) */
		} VMBUS_PACKED;
	};
	uint64_t monitor_page1;
	uint64_t monitor_page2;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_initiate_contact) == 40, "contact");
static_assert(offsetof(struct vmbus_msg_initiate_contact, interrupt_page) == 16,
	      "contact interrupt page");

struct vmbus_msg_version_response {
	struct vmbus_msg_hdr hdr;
	uint8_t version_supported;
	uint8_t connection_state; /* 0 = successful */
	uint16_t padding;
	uint32_t msg_conn_id; /* >= v5: connection for guest msgs */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_msg_version_response) == 16, "version");

/* Offer flags. */
#define VMBUS_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE 0x1
#define VMBUS_OFFER_FLAG_NAMED_PIPE_MODE 0x10

/* Ring-buffer control page (one page ahead of the data); naturally aligned. */
struct vmbus_ring_ctrl {
	uint32_t write_index;	  /* byte offset into data, owned by writer */
	uint32_t read_index;	  /* byte offset into data, owned by reader */
	uint32_t interrupt_mask;  /* reader: "don't signal me" */
	uint32_t pending_send_sz; /* writer: "signal me when this fits" */
	uint32_t reserved1[12];
	uint32_t feature_bits; /* bit 0: reader honours pending_send_sz */
};
static_assert(offsetof(struct vmbus_ring_ctrl, feature_bits) == 64,
	      "ring feature bits");
#define VMBUS_RING_FEAT_PENDING_SEND_SZ 0x1

/* Packet descriptor at the start of every ring packet. */
struct vmbus_pkt_desc {
	uint16_t type;
	uint16_t offset8; /* payload offset from packet start, / 8 */
	uint16_t len8;	  /* total packet length (no trailer), / 8 */
	uint16_t flags;
	uint64_t trans_id;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_pkt_desc) == 16, "packet descriptor");

enum vmbus_pkt_type {
	VMBUS_PKT_INVALID = 0,
	VMBUS_PKT_SYNCH = 1,
	VMBUS_PKT_ADD_XFER_PAGESET = 2,
	VMBUS_PKT_RM_XFER_PAGESET = 3,
	VMBUS_PKT_ESTABLISH_GPADL = 4,
	VMBUS_PKT_TEARDOWN_GPADL = 5,
	VMBUS_PKT_DATA_INBAND = 6,
	VMBUS_PKT_DATA_USING_XFER_PAGES = 7,
	VMBUS_PKT_DATA_USING_GPADL = 8,
	VMBUS_PKT_DATA_USING_GPA_DIRECT = 9,
	VMBUS_PKT_CANCEL_REQUEST = 10,
	VMBUS_PKT_COMP = 11,
	VMBUS_PKT_DATA_USING_ADDITIONAL_PKT = 12,
	VMBUS_PKT_ADDITIONAL_DATA = 13,
};
#define VMBUS_PKT_FLAG_COMPLETION_REQUESTED 1

/* GPA-direct packet header: descriptor + range count, then ranges. */
struct vmbus_pkt_gpa_direct {
	struct vmbus_pkt_desc desc;
	uint32_t reserved;
	uint32_t rangecount;
	/* struct vmbus_gpa_range range[] follows */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_pkt_gpa_direct) == 24, "gpa direct");

/* Transfer-page packet header (netvsc receive path). */
struct vmbus_xfer_page_range {
	uint32_t byte_count;
	uint32_t byte_offset;
} VMBUS_PACKED;
struct vmbus_pkt_xfer_pages {
	struct vmbus_pkt_desc desc;
	uint16_t xfer_pageset_id;
	uint8_t sender_owns_set;
	uint8_t reserved;
	uint32_t rangecount;
	/* struct vmbus_xfer_page_range range[] follows */
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_pkt_xfer_pages) == 24, "xfer pages");

/* ---- Integration services ("IC") framing inside inband packets ---- */

struct vmbus_pipe_hdr {
	uint32_t flags;
	uint32_t msgsize;
} VMBUS_PACKED;
static_assert(sizeof(struct vmbus_pipe_hdr) == 8, "pipe header");

struct ic_version {
	uint16_t major;
	uint16_t minor;
} VMBUS_PACKED;

struct icmsg_hdr {
	struct ic_version icverframe;
	uint16_t icmsgtype;
	struct ic_version icvermsg;
	uint16_t icmsgsize;
	uint32_t status;
	uint8_t ictransaction_id;
	uint8_t icflags;
	uint8_t reserved[2];
} VMBUS_PACKED;
static_assert(sizeof(struct icmsg_hdr) == 20, "icmsg header");
static_assert(offsetof(struct icmsg_hdr, status) == 12, "icmsg status");

#define IC_HDR_SIZE (sizeof(struct vmbus_pipe_hdr) + sizeof(struct icmsg_hdr))

enum icmsg_type {
	ICMSGTYPE_NEGOTIATE = 0,
	ICMSGTYPE_HEARTBEAT = 1,
	ICMSGTYPE_KVPEXCHANGE = 2,
	ICMSGTYPE_SHUTDOWN = 3,
	ICMSGTYPE_TIMESYNC = 4,
	ICMSGTYPE_VSS = 5,
};

#define ICMSGHDRFLAG_TRANSACTION 1
#define ICMSGHDRFLAG_REQUEST 2
#define ICMSGHDRFLAG_RESPONSE 4

#define IC_STATUS_OK 0x00000000u
#define IC_STATUS_E_FAIL 0x80004005u
#define IC_STATUS_S_CONT 0x80070103u

struct icmsg_negotiate {
	uint16_t icframe_vercnt;
	uint16_t icmsg_vercnt;
	uint32_t reserved;
	/* struct ic_version icversion_data[] follows: framework, then message
	 */
} VMBUS_PACKED;
static_assert(sizeof(struct icmsg_negotiate) == 8, "negotiate");

struct ic_heartbeat_msg {
	uint64_t seq_num;
	uint32_t reserved[8];
} VMBUS_PACKED;
static_assert(sizeof(struct ic_heartbeat_msg) == 40, "heartbeat");

struct ic_shutdown_msg {
	uint32_t reason_code;
	uint32_t timeout_seconds;
	uint32_t flags; /* 0/1: shut down, 2/3: reboot, 4/5: hibernate */
	uint8_t display_message[2048];
} VMBUS_PACKED;
static_assert(sizeof(struct ic_shutdown_msg) == 2060, "shutdown");

#define ICTIMESYNCFLAG_PROBE 0
#define ICTIMESYNCFLAG_SYNC 1
#define ICTIMESYNCFLAG_SAMPLE 2

/* Timesync < 4.0. Times in 100 ns units since 1601-01-01 (Windows time). */
struct ic_timesync_msg {
	uint64_t parenttime;
	uint64_t childtime;
	uint64_t roundtriptime;
	uint8_t flags;
} VMBUS_PACKED;
static_assert(sizeof(struct ic_timesync_msg) == 25, "timesync");

/* Timesync >= 4.0: also the reference-counter value of the sample. */
struct ic_timesync_ref_msg {
	uint64_t parenttime;
	uint64_t vmreferencetime;
	uint8_t flags;
	uint8_t leapflags;
	uint8_t stratum;
	uint8_t reserved[3];
} VMBUS_PACKED;
static_assert(sizeof(struct ic_timesync_ref_msg) == 22, "timesync ref");

/* Key-value pair exchange (include/uapi/linux/hyperv.h layout). */
#define KVP_MAX_KEY_SIZE 512
#define KVP_MAX_VALUE_SIZE 2048

enum kvp_op {
	KVP_OP_GET = 0,
	KVP_OP_SET = 1,
	KVP_OP_DELETE = 2,
	KVP_OP_ENUMERATE = 3,
	KVP_OP_GET_IP_INFO = 4,
	KVP_OP_SET_IP_INFO = 5,
};

enum kvp_pool {
	KVP_POOL_EXTERNAL = 0, /* host -> guest data */
	KVP_POOL_GUEST = 1,    /* guest -> host data */
	KVP_POOL_AUTO = 2,     /* guest intrinsics (OS, FQDN, ...) */
	KVP_POOL_AUTO_EXTERNAL = 3,
	KVP_POOL_AUTO_INTERNAL = 4,
	KVP_POOL_COUNT
};

#define KVP_REG_SZ 1
#define KVP_REG_U32 4
#define KVP_REG_U64 8

struct kvp_msg_value {
	uint32_t value_type;
	uint32_t key_size;   /* bytes, UTF-16LE incl. the NUL */
	uint32_t value_size; /* bytes */
	uint8_t key[KVP_MAX_KEY_SIZE];
	uint8_t value[KVP_MAX_VALUE_SIZE];
} VMBUS_PACKED;
static_assert(sizeof(struct kvp_msg_value) == 2572, "kvp value");

struct kvp_msg {
	uint8_t operation;
	uint8_t pool;
	uint16_t pad;
	union {
		struct kvp_msg_value get_set; /* GET, SET */
		struct {
			uint32_t index;
			struct kvp_msg_value data;
		} VMBUS_PACKED enumerate;
		struct {
			uint32_t key_size;
			uint8_t key[KVP_MAX_KEY_SIZE];
		} VMBUS_PACKED delete;
	};
} VMBUS_PACKED;
static_assert(offsetof(struct kvp_msg, get_set) == 4, "kvp body");
static_assert(sizeof(struct kvp_msg) == 2580, "kvp msg");
/*
 * Linux's struct hv_kvp_msg is larger (its union also holds the 7426-byte
 * IP-info record) and the guest answers in the buffer the host sent: send
 * every KVP request padded to this size.
 */
#define KVP_MSG_WIRE_SIZE 7430

#endif /* HVKVM_VMBUS_PROTO_H */
