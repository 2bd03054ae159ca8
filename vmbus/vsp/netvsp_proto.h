/* SPDX-License-Identifier: MIT */
/*
 * netvsp wire formats: NVSP (the VMBus network protocol) and RNDIS (the
 * control and data messages inside it). Numbers and layouts are facts of
 * the protocol as Linux hv_netvsc (drivers/net/hyperv/hyperv_net.h,
 * include/linux/rndis.h) and Windows netvsc speak it; all little-endian.
 */
#ifndef HVKVM_NETVSP_PROTO_H
#define HVKVM_NETVSP_PROTO_H

#include <assert.h>
#include <stdint.h>

/* NVSP protocol versions. */
#define NVSP_VERSION_1 0x00002
#define NVSP_VERSION_2 0x30002
#define NVSP_VERSION_4 0x40000
#define NVSP_VERSION_5 0x50000
#define NVSP_VERSION_6 0x60000
#define NVSP_VERSION_61 0x60001

/* NVSP message types. */
#define NVSP_MSG_INIT 1
#define NVSP_MSG_INIT_COMPLETE 2
#define NVSP_MSG1_SEND_NDIS_VER 100
#define NVSP_MSG1_SEND_RECV_BUF 101
#define NVSP_MSG1_SEND_RECV_BUF_COMPLETE 102
#define NVSP_MSG1_REVOKE_RECV_BUF 103
#define NVSP_MSG1_SEND_SEND_BUF 104
#define NVSP_MSG1_SEND_SEND_BUF_COMPLETE 105
#define NVSP_MSG1_REVOKE_SEND_BUF 106
#define NVSP_MSG1_SEND_RNDIS_PKT 107
#define NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE 108
#define NVSP_MSG2_SEND_NDIS_CONFIG 125
#define NVSP_MSG4_SEND_VF_ASSOCIATION 128
#define NVSP_MSG4_SWITCH_DATA_PATH 129
#define NVSP_MSG5_OID_QUERY_EX 131
#define NVSP_MSG5_SUBCHANNEL 133
#define NVSP_MSG5_SEND_INDIRECTION_TABLE 134

/* NVSP status. */
#define NVSP_STAT_SUCCESS 1
#define NVSP_STAT_FAIL 2

#define NVSP_SUBCHANNEL_ALLOCATE 1
#define NVSP_INVALID_SECTION 0xffffffffu
/* The receive buffer's transfer page set ID Linux expects. */
#define NVSP_RECV_BUF_ID 0xcafe
#define NVSP_RNDIS_CHANNEL_DATA 0
#define NVSP_RNDIS_CHANNEL_CONTROL 1

/*
 * Every NVSP message: a 4-byte type and a union of at most 36 bytes
 * (Linux sends sizeof(struct nvsp_message) = 40); u32 fields at 4, 8, 12.
 */
#define NVSP_MSG_SIZE 40

/* RNDIS message types. */
#define RNDIS_MSG_PACKET 0x00000001u
#define RNDIS_MSG_INIT 0x00000002u
#define RNDIS_MSG_HALT 0x00000003u
#define RNDIS_MSG_QUERY 0x00000004u
#define RNDIS_MSG_SET 0x00000005u
#define RNDIS_MSG_RESET 0x00000006u
#define RNDIS_MSG_INDICATE 0x00000007u
#define RNDIS_MSG_KEEPALIVE 0x00000008u
#define RNDIS_MSG_COMPLETION 0x80000000u

/* RNDIS status. */
#define RNDIS_STATUS_SUCCESS 0x00000000u
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000cu
#define RNDIS_STATUS_FAILURE 0xc0000001u
#define RNDIS_STATUS_NOT_SUPPORTED 0xc00000bbu
#define RNDIS_STATUS_INVALID_DATA 0xc0010015u

/* OIDs the drivers query and set. */
#define RNDIS_OID_GEN_SUPPORTED_LIST 0x00010101u
#define RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u
#define RNDIS_OID_GEN_LINK_SPEED 0x00010107u
#define RNDIS_OID_GEN_CURRENT_PACKET_FILTER 0x0001010eu
#define RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE 0x00010111u
#define RNDIS_OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u
#define RNDIS_OID_GEN_XMIT_OK 0x00020101u
#define RNDIS_OID_GEN_RCV_OK 0x00020102u
#define RNDIS_OID_GEN_XMIT_ERROR 0x00020103u
#define RNDIS_OID_GEN_RCV_ERROR 0x00020104u
#define RNDIS_OID_GEN_RCV_NO_BUFFER 0x00020105u
#define RNDIS_OID_GEN_PHYSICAL_MEDIUM 0x00010202u
#define RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u
#define RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u
#define RNDIS_OID_GEN_FRIENDLY_NAME 0x00020216u
#define RNDIS_OID_802_3_PERMANENT_ADDRESS 0x01010101u
#define RNDIS_OID_802_3_CURRENT_ADDRESS 0x01010102u
#define RNDIS_OID_802_3_MULTICAST_LIST 0x01010103u
#define RNDIS_OID_802_3_MAXIMUM_LIST_SIZE 0x01010104u
#define RNDIS_OID_TCP_OFFLOAD_PARAMETERS 0xfc01020cu
#define RNDIS_OID_TCP_OFFLOAD_HW_CAPS 0xfc01020du

/* NDIS objects in OID buffers. */
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES 0x88
#define NDIS_OBJECT_TYPE_OFFLOAD 0xa7
/* NDIS_OFFLOAD up to ipsecv2 (NDIS 6.0): header + csum + lsov1 + ipsecv1 +
 * lsov2 + flags. */
#define NDIS_OFFLOAD_SIZE_6_0 112

/* Packet filter bits (RNDIS_OID_GEN_CURRENT_PACKET_FILTER). */
#define NDIS_PACKET_TYPE_DIRECTED 0x00000001u
#define NDIS_PACKET_TYPE_MULTICAST 0x00000002u
#define NDIS_PACKET_TYPE_ALL_MULTICAST 0x00000004u
#define NDIS_PACKET_TYPE_BROADCAST 0x00000008u
#define NDIS_PACKET_TYPE_PROMISCUOUS 0x00000020u

/*
 * RNDIS_MSG_PACKET: after the 8-byte message header, data_offset and
 * per-packet-info offset count from the start of this structure.
 */
struct rndis_packet {
	uint32_t data_offset;
	uint32_t data_len;
	uint32_t oob_data_offset;
	uint32_t oob_data_len;
	uint32_t num_oob_data_elements;
	uint32_t per_pkt_info_offset;
	uint32_t per_pkt_info_len;
	uint32_t vc_handle;
	uint32_t reserved;
};
static_assert(sizeof(struct rndis_packet) == 36, "rndis_packet");
#define RNDIS_HDR 8 /* msg_type, msg_len */

#endif /* HVKVM_NETVSP_PROTO_H */
