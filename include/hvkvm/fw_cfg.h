/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg: QEMU's firmware configuration device, traditional (PIO) interface:
 * a 16-bit selector at 0x510 and an 8-bit data port at 0x511. Items are
 * copied in at start-up; the guest reads them byte by byte, or through the
 * optional DMA interface at 0x514 (fw_cfg_enable_dma()).
 */
#ifndef HVKVM_FW_CFG_H
#define HVKVM_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct gmem;
struct fw_cfg;

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_NR_PORTS 2
#define FW_CFG_PORT_DMA 0x514 /* be32 address high; 0x518 low */
#define FW_CFG_DMA_NR_PORTS 8

/* Well-known selectors (QEMU docs/specs/fw_cfg.rst). */
#define FW_CFG_SIGNATURE 0x0000 /* "QEMU" */
#define FW_CFG_ID 0x0001	/* le32 feature bits */
#define FW_CFG_UUID 0x0002
#define FW_CFG_RAM_SIZE 0x0003 /* le64 */
#define FW_CFG_NOGRAPHIC 0x0004
#define FW_CFG_NB_CPUS 0x0005 /* le16 */
#define FW_CFG_MACHINE_ID 0x0006
#define FW_CFG_KERNEL_ADDR 0x0007 /* le32 */
#define FW_CFG_KERNEL_SIZE 0x0008 /* le32 */
#define FW_CFG_KERNEL_CMDLINE 0x0009
#define FW_CFG_INITRD_ADDR 0x000a /* le32 */
#define FW_CFG_INITRD_SIZE 0x000b /* le32 */
#define FW_CFG_BOOT_DEVICE 0x000c
#define FW_CFG_NUMA 0x000d
#define FW_CFG_BOOT_MENU 0x000e
#define FW_CFG_MAX_CPUS 0x000f /* le16 */
#define FW_CFG_KERNEL_ENTRY 0x0010
#define FW_CFG_KERNEL_DATA 0x0011
#define FW_CFG_INITRD_DATA 0x0012
#define FW_CFG_CMDLINE_ADDR 0x0013 /* le32 */
#define FW_CFG_CMDLINE_SIZE 0x0014 /* le32, includes the NUL */
#define FW_CFG_CMDLINE_DATA 0x0015
#define FW_CFG_SETUP_ADDR 0x0016
#define FW_CFG_SETUP_SIZE 0x0017
#define FW_CFG_SETUP_DATA 0x0018
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_FILE_FIRST 0x0020    /* first selector given to a file */
#define FW_CFG_WRITE_CHANNEL 0x4000 /* selector bit: writes (ignored) */
#define FW_CFG_ARCH_LOCAL 0x8000    /* x86-specific items start here */

#define FW_CFG_ID_TRADITIONAL 0x1 /* FW_CFG_ID bit 0 */
#define FW_CFG_ID_DMA 0x2	  /* FW_CFG_ID bit 1 */
#define FW_CFG_MAX_FILE_PATH 56	  /* name field incl. NUL */
#define FW_CFG_MAX_FILES 64
#define FW_CFG_MAX_ITEMS 128 /* files included */

int fw_cfg_create(struct bus *pio, struct fw_cfg **out);
void fw_cfg_destroy(struct fw_cfg *fw);
/*
 * Start-up, optional: add the DMA interface (ports 0x514-0x51b, ID bit 1).
 * Transfers run on the vCPU thread through gmem_map() of @gm. 0, -EEXIST,
 * or a bus_register() error.
 */
int fw_cfg_enable_dma(struct fw_cfg *fw, struct gmem *gm);
/* Guest reboot: selector 0, offset 0. Items are kept. */
void fw_cfg_reset(struct fw_cfg *fw);

/*
 * Start-up only (before vCPUs run). Data is copied. Re-adding a key
 * replaces it. 0, -EINVAL (reserved key), -ENOSPC, -ENOMEM.
 */
int fw_cfg_add_item(struct fw_cfg *fw, uint16_t key, const void *data,
		    size_t len);
int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t v); /* le */
int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t v); /* le */
int fw_cfg_add_u64(struct fw_cfg *fw, uint16_t key, uint64_t v); /* le */
/*
 * Add "etc/..." to the file directory under the next free selector
 * (stored in *@select if not NULL). -EEXIST for a duplicate name,
 * -ENAMETOOLONG past 55 characters.
 */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data,
		    size_t len, uint16_t *select);

#endif /* HVKVM_FW_CFG_H */
