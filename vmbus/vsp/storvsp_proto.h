/* SPDX-License-Identifier: MIT */
/*
 * storvsp_proto: the VMSTOR wire format between storvsc (Linux
 * drivers/scsi/storvsc_drv.c, Windows storvsc.sys) and the host's storvsp.
 * Little-endian, packed. A vstor packet is 64 bytes from protocol 5.1
 * (Win8) on; before that the SRB lacks the Win8 extension and the packet
 * is 16 bytes shorter (Linux's vmscsi_size_delta).
 */
#ifndef HVKVM_STORVSP_PROTO_H
#define HVKVM_STORVSP_PROTO_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define VSTOR_VERSION(maj, min) ((uint16_t)(((maj) << 8) | (min)))
#define VSTOR_VERSION_WIN6 VSTOR_VERSION(2, 0) /* refused */
#define VSTOR_VERSION_WIN7 VSTOR_VERSION(4, 2)
#define VSTOR_VERSION_WIN8 VSTOR_VERSION(5, 1)
#define VSTOR_VERSION_WIN8_1 VSTOR_VERSION(6, 0)
#define VSTOR_VERSION_WIN10 VSTOR_VERSION(6, 2)

enum vstor_op {
	VSTOR_OP_COMPLETE_IO = 1,
	VSTOR_OP_REMOVE_DEVICE = 2,
	VSTOR_OP_EXECUTE_SRB = 3,
	VSTOR_OP_RESET_LUN = 4,
	VSTOR_OP_RESET_ADAPTER = 5,
	VSTOR_OP_RESET_BUS = 6,
	VSTOR_OP_BEGIN_INITIALIZATION = 7,
	VSTOR_OP_END_INITIALIZATION = 8,
	VSTOR_OP_QUERY_PROTOCOL_VERSION = 9,
	VSTOR_OP_QUERY_PROPERTIES = 10,
	VSTOR_OP_ENUMERATE_BUS = 11,
	VSTOR_OP_FCHBA_DATA = 12,
	VSTOR_OP_CREATE_SUB_CHANNELS = 13,
};

#define VSTOR_FLAG_REQUEST_COMPLETION 0x1
#define VSTOR_PROP_MULTI_CHANNEL 0x1 /* channel properties flags */

/* NT status codes in vstor_packet.status. */
#define VSTOR_STATUS_SUCCESS 0x00000000u
#define VSTOR_STATUS_INVALID_PARAMETER 0xc000000du
#define VSTOR_STATUS_NOT_SUPPORTED 0xc00000bbu
#define VSTOR_STATUS_REVISION_MISMATCH 0xc0000059u
#define VSTOR_STATUS_INVALID_DEVICE_STATE 0xc0000184u

/* SRB status (srb_status), Windows srb.h; storvsc acts on these. */
#define SRB_STATUS_SUCCESS 0x01
#define SRB_STATUS_ABORTED 0x02
#define SRB_STATUS_ERROR 0x04
#define SRB_STATUS_INVALID_REQUEST 0x06
#define SRB_STATUS_INVALID_PATH_ID 0x07
#define SRB_STATUS_NO_DEVICE 0x08
#define SRB_STATUS_SELECTION_TIMEOUT 0x0a
#define SRB_STATUS_INVALID_TARGET_ID 0x0d
#define SRB_STATUS_DATA_OVERRUN 0x12
#define SRB_STATUS_INVALID_LUN 0x20
#define SRB_STATUS_INTERNAL_ERROR 0x30
#define SRB_STATUS_AUTOSENSE_VALID 0x80

/* vmscsi_request.data_in */
#define VSTOR_WRITE_TYPE 0
#define VSTOR_READ_TYPE 1
#define VSTOR_UNKNOWN_TYPE 2

#define VSTOR_CDB_MAX 16
#define VSTOR_SENSE_MAX 20	      /* the union: post-Win7 sense size */
#define VSTOR_SENSE_PRE_WIN8 18	      /* PRE_WIN8_STORVSC_SENSE_BUFFER_SIZE */
#define VSTOR_WIN8_EXT_SIZE 16	      /* struct vmscsi_win8_extension */
#define VSTOR_PACKET_SIZE 64	      /* sizeof(struct vstor_packet) */
#define VSTOR_PACKET_SIZE_PRE_WIN8 48 /* minus the Win8 extension */
#define VSTOR_HDR_SIZE 12	      /* operation, flags, status */

struct vmscsi_request {
	uint16_t length; /* of this struct as the guest sends it */
	uint8_t srb_status;
	uint8_t scsi_status;
	uint8_t port_number;
	uint8_t path_id;
	uint8_t target_id;
	uint8_t lun;
	uint8_t cdb_length;
	uint8_t sense_info_length;
	uint8_t data_in;
	uint8_t reserved;
	uint32_t data_transfer_length;
	uint8_t cdb_sense[VSTOR_SENSE_MAX]; /* CDB in, sense data out */
	/* Win8 extension */
	uint16_t reserve;
	uint8_t queue_tag;
	uint8_t queue_action;
	uint32_t srb_flags;
	uint32_t time_out_value;
	uint32_t queue_sort_key;
} __attribute__((packed));
static_assert(sizeof(struct vmscsi_request) == 52, "vmscsi_request");
static_assert(offsetof(struct vmscsi_request, cdb_sense) == 16, "cdb");

struct vstor_channel_properties {
	uint32_t reserved;
	uint16_t max_channel_cnt;
	uint16_t reserved1;
	uint32_t flags;
	uint32_t max_transfer_bytes;
	uint64_t reserved2;
} __attribute__((packed));
static_assert(sizeof(struct vstor_channel_properties) == 24, "properties");

struct vstor_packet {
	uint32_t operation; /* enum vstor_op */
	uint32_t flags;	    /* VSTOR_FLAG_* */
	uint32_t status;    /* NT status */
	union {
		struct vmscsi_request srb;
		struct vstor_channel_properties props;
		struct {
			uint16_t major_minor;
			uint16_t revision;
		} version;
		uint16_t sub_channel_count;
		uint8_t buffer[52];
	};
} __attribute__((packed));
static_assert(sizeof(struct vstor_packet) == VSTOR_PACKET_SIZE, "packet");
static_assert(offsetof(struct vstor_packet, srb) == VSTOR_HDR_SIZE, "srb");

#endif /* HVKVM_STORVSP_PROTO_H */
