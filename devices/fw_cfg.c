// SPDX-License-Identifier: MIT
/*
 * QEMU firmware configuration device (QEMU docs/specs/fw_cfg.rst),
 * traditional x86 interface: a 16-bit selector register at 0x510 and an
 * 8-bit data register at 0x511. Selecting an item rewinds its read offset;
 * each data read returns the next byte, 0 past the end or for a selector
 * nobody filled. The file directory (0x0019) is generated from the files
 * added: be32 count, then per file be32 size, be16 select, be16 reserved,
 * char name[56].
 *
 * Optional DMA interface (fw_cfg_enable_dma(), FW_CFG_ID bit 1): the guest
 * writes the guest-physical address of a 16-byte big-endian descriptor
 * {be32 control, be32 length, be64 address} to 0x514 (high 32 bits) and
 * 0x518 (low 32 bits, which starts the transfer), each as a big-endian
 * dword. Control: SELECT (selector in bits 31:16), then READ (copy, zeros
 * past the end) or SKIP; the device writes control back as 0 or ERROR.
 * Reading the register shows the signature "QEMU CFG".
 *
 * Not implemented: the write channel (writes to 0x511, selectors with bit
 * 14 and DMA WRITE are refused or ignored).
 */
#include "hvkvm/fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/bus.h"
#include "hvkvm/gmem.h"
#include "hvkvm/util.h"

#define FW_CFG_SIG "QEMU"
#define FW_CFG_DIR_ENTRY_SIZE 64 /* size, select, reserved, name */
#define FW_CFG_SEL_OFF 0
#define FW_CFG_DATA_OFF 1

/* DMA descriptor (big-endian on the wire) and control bits. */
#define FW_CFG_DMA_DESC_SIZE 16
#define FW_CFG_DMA_CTL_ERROR 0x01
#define FW_CFG_DMA_CTL_READ 0x02
#define FW_CFG_DMA_CTL_SKIP 0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE 0x10
#define FW_CFG_DMA_SIG "QEMU CFG"

_Static_assert(FW_CFG_DIR_ENTRY_SIZE == 4 + 2 + 2 + FW_CFG_MAX_FILE_PATH,
	       "fw_cfg directory entry layout");

struct fw_cfg_item {
	uint16_t key;  /* selector without the write bit */
	uint8_t *data; /* owned copy */
	uint32_t len;
	char name[FW_CFG_MAX_FILE_PATH]; /* files only; "" for plain items */
};

struct fw_cfg {
	/* Guest-visible state. */
	uint16_t selector;	       /* last value written to 0x510 */
	uint32_t offset;	       /* next byte of the selected item */
	const struct fw_cfg_item *cur; /* selected item, or NULL */
	/* Items, fixed once vCPUs run. */
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned int nr_items;
	unsigned int nr_files;
	/* DMA interface. */
	uint32_t dma_addr_hi; /* last write to 0x514 */
	struct gmem *gm;      /* NULL: no DMA interface */
	/* Host plumbing. */
	pthread_mutex_t lock;
	struct bus *pio;
};

/* ---- helpers ---------------------------------------------------------- */

static struct fw_cfg_item *fw_cfg_find(struct fw_cfg *fw, uint16_t key)
{
	unsigned int i;

	for (i = 0; i < fw->nr_items; i++)
		if (fw->items[i].key == key)
			return &fw->items[i];
	return NULL;
}

/* Store @data under @key, replacing what was there. */
static int fw_cfg_set(struct fw_cfg *fw, uint16_t key, const void *data,
		      size_t len, const char *name)
{
	struct fw_cfg_item *it = fw_cfg_find(fw, key);
	uint8_t *copy = NULL;

	if (len > UINT32_MAX)
		return -EINVAL;
	if (!it && fw->nr_items == FW_CFG_MAX_ITEMS)
		return -ENOSPC;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	if (!it) {
		it = &fw->items[fw->nr_items++];
		it->key = key;
	}
	free(it->data);
	it->data = copy;
	it->len = (uint32_t)len;
	memset(it->name, 0, sizeof(it->name));
	if (name)
		memcpy(it->name, name, strlen(name));
	return 0;
}

/* Regenerate FW_CFG_FILE_DIR from the file items. */
static int fw_cfg_build_dir(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nr_files * FW_CFG_DIR_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len), *e;
	unsigned int i;
	int r;

	if (!dir)
		return -ENOMEM;
	put_be32(dir, fw->nr_files);
	e = dir + 4;
	for (i = 0; i < fw->nr_items; i++) {
		const struct fw_cfg_item *it = &fw->items[i];

		if (!it->name[0])
			continue;
		put_be32(e, it->len);
		put_be16(e + 4, it->key);
		put_be16(e + 6, 0);
		memcpy(e + 8, it->name, FW_CFG_MAX_FILE_PATH);
		e += FW_CFG_DIR_ENTRY_SIZE;
	}
	r = fw_cfg_set(fw, FW_CFG_FILE_DIR, dir, len, NULL);
	free(dir);
	return r;
}

/* ---- register handlers ------------------------------------------------ */

static void fw_cfg_select(struct fw_cfg *fw, uint16_t sel)
{
	fw->selector = sel;
	fw->offset = 0;
	fw->cur = fw_cfg_find(fw, sel & (uint16_t)~FW_CFG_WRITE_CHANNEL);
}

static uint8_t fw_cfg_next_byte(struct fw_cfg *fw)
{
	const struct fw_cfg_item *it = fw->cur;

	if (!it || fw->offset >= it->len)
		return 0;
	return it->data[fw->offset++];
}

static uint64_t fw_cfg_read(void *opaque, uint64_t off, unsigned int size)
{
	struct fw_cfg *fw = opaque;
	uint64_t v = 0;
	unsigned int i;

	pthread_mutex_lock(&fw->lock);
	if (off == FW_CFG_SEL_OFF) {
		v = fw->selector;
	} else {
		/* Wider reads of the data port return consecutive bytes. */
		for (i = 0; i < size; i++)
			v |= (uint64_t)fw_cfg_next_byte(fw) << (8 * i);
	}
	pthread_mutex_unlock(&fw->lock);
	return v;
}

static void fw_cfg_write(void *opaque, uint64_t off, unsigned int size,
			 uint64_t value)
{
	struct fw_cfg *fw = opaque;

	pthread_mutex_lock(&fw->lock);
	if (off == FW_CFG_SEL_OFF)
		fw_cfg_select(fw, (uint16_t)value);
	/* Data writes: the write channel is not supported, ignore. */
	pthread_mutex_unlock(&fw->lock);
}

static const struct bus_ops fw_cfg_ops = {
	.read = fw_cfg_read,
	.write = fw_cfg_write,
};

/* ---- DMA -------------------------------------------------------------- */

/* Run one READ or SKIP of @len bytes to @gpa; false on a bad address. */
static bool fw_cfg_dma_copy(struct fw_cfg *fw, uint32_t control, uint32_t len,
			    uint64_t gpa)
{
	const struct fw_cfg_item *it = fw->cur;
	uint32_t avail = 0, n;
	uint8_t *dst;

	if (it && fw->offset < it->len)
		avail = it->len - fw->offset;
	n = MIN(avail, len);
	if ((control & FW_CFG_DMA_CTL_READ) && len) {
		dst = gmem_map(fw->gm, gpa, len, true);
		if (!dst)
			return false;
		if (n)
			memcpy(dst, it->data + fw->offset, n);
		memset(dst + n, 0, len - n); /* past the end: zeros */
	}
	fw->offset += n;
	return true;
}

/* The guest wrote a descriptor address: run it to completion. */
static void fw_cfg_dma_run(struct fw_cfg *fw, uint64_t desc_gpa)
{
	uint8_t *d = gmem_map(fw->gm, desc_gpa, FW_CFG_DMA_DESC_SIZE, true);
	uint32_t control, len;
	uint64_t gpa;
	bool ok = true;

	if (!d) {
		guest_err("fw_cfg: DMA descriptor at %#llx not in RAM",
			  (unsigned long long)desc_gpa);
		return;
	}
	control = get_be32(d);
	len = get_be32(d + 4);
	gpa = get_be64(d + 8);
	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_CTL_WRITE)
		ok = false; /* no writable items */
	else if (control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_SKIP))
		ok = fw_cfg_dma_copy(fw, control, len, gpa);
	if (!ok)
		guest_err("fw_cfg: DMA control %#x len %u to %#llx failed",
			  control, len, (unsigned long long)gpa);
	put_be32(d, ok ? 0 : FW_CFG_DMA_CTL_ERROR);
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t off, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	/* Byte i of the register is byte i of the signature. */
	for (i = 0; i < size && off + i < 8; i++)
		v |= (uint64_t)(uint8_t)FW_CFG_DMA_SIG[off + i] << (8 * i);
	return v;
}

static void fw_cfg_dma_write(void *opaque, uint64_t off, unsigned int size,
			     uint64_t value)
{
	struct fw_cfg *fw = opaque;
	/* A big-endian dword: the guest wrote cpu_to_be32(address half). */
	uint32_t half = __builtin_bswap32((uint32_t)value);

	if (size != 4 || (off != 0 && off != 4)) {
		guest_err("fw_cfg: DMA register write %u bytes at +%u", size,
			  (unsigned int)off);
		return;
	}
	pthread_mutex_lock(&fw->lock);
	if (off == 0) {
		fw->dma_addr_hi = half;
	} else {
		fw_cfg_dma_run(fw, (uint64_t)fw->dma_addr_hi << 32 | half);
		fw->dma_addr_hi = 0;
	}
	pthread_mutex_unlock(&fw->lock);
}

static const struct bus_ops fw_cfg_dma_ops = {
	.read = fw_cfg_dma_read,
	.write = fw_cfg_dma_write,
};

/* ---- host API --------------------------------------------------------- */

int fw_cfg_add_item(struct fw_cfg *fw, uint16_t key, const void *data,
		    size_t len)
{
	int r;

	if (key & FW_CFG_WRITE_CHANNEL)
		return -EINVAL;
	/* The generated items and the file range belong to us. */
	if (key == FW_CFG_SIGNATURE || key == FW_CFG_ID ||
	    key == FW_CFG_FILE_DIR ||
	    (key >= FW_CFG_FILE_FIRST && key < FW_CFG_WRITE_CHANNEL))
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	r = fw_cfg_set(fw, key, data, len, NULL);
	pthread_mutex_unlock(&fw->lock);
	return r;
}

int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t v)
{
	uint8_t b[2];

	put_le16(b, v);
	return fw_cfg_add_item(fw, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	return fw_cfg_add_item(fw, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *fw, uint16_t key, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	return fw_cfg_add_item(fw, key, b, sizeof(b));
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data,
		    size_t len, uint16_t *select)
{
	unsigned int i;
	uint16_t key;
	int r;

	if (!name || !name[0])
		return -EINVAL;
	if (strlen(name) >= FW_CFG_MAX_FILE_PATH)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fw->lock);
	r = -EEXIST;
	for (i = 0; i < fw->nr_items; i++)
		if (!strcmp(fw->items[i].name, name))
			goto out;
	r = -ENOSPC;
	/* One slot stays free for the directory item. */
	if (fw->nr_files == FW_CFG_MAX_FILES ||
	    fw->nr_items + 1 >= FW_CFG_MAX_ITEMS)
		goto out;
	key = (uint16_t)(FW_CFG_FILE_FIRST + fw->nr_files);
	r = fw_cfg_set(fw, key, data, len, name);
	if (r)
		goto out;
	fw->nr_files++;
	r = fw_cfg_build_dir(fw);
	if (r)
		goto out;
	if (select)
		*select = key;
out:
	pthread_mutex_unlock(&fw->lock);
	return r;
}

int fw_cfg_enable_dma(struct fw_cfg *fw, struct gmem *gm)
{
	uint8_t id[4];
	int r;

	if (fw->gm)
		return -EEXIST;
	r = bus_register(fw->pio, FW_CFG_PORT_DMA, FW_CFG_DMA_NR_PORTS,
			 &fw_cfg_dma_ops, fw, "fw_cfg-dma");
	if (r)
		return r;
	put_le32(id, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	pthread_mutex_lock(&fw->lock);
	fw->gm = gm;
	r = fw_cfg_set(fw, FW_CFG_ID, id, sizeof(id), NULL);
	pthread_mutex_unlock(&fw->lock);
	if (r) {
		bus_unregister(fw->pio, FW_CFG_PORT_DMA);
		fw->gm = NULL;
	}
	return r;
}

/* ---- lifecycle -------------------------------------------------------- */

static void fw_cfg_free(struct fw_cfg *fw)
{
	unsigned int i;

	for (i = 0; i < fw->nr_items; i++)
		free(fw->items[i].data);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}

void fw_cfg_reset(struct fw_cfg *fw)
{
	pthread_mutex_lock(&fw->lock);
	fw_cfg_select(fw, FW_CFG_SIGNATURE);
	fw->dma_addr_hi = 0;
	pthread_mutex_unlock(&fw->lock);
}

int fw_cfg_create(struct bus *pio, struct fw_cfg **out)
{
	struct fw_cfg *fw;
	uint8_t id[4];
	int r;

	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	pthread_mutex_init(&fw->lock, NULL);
	fw->pio = pio;
	put_le32(id, FW_CFG_ID_TRADITIONAL);
	r = fw_cfg_set(fw, FW_CFG_SIGNATURE, FW_CFG_SIG, 4, NULL);
	if (!r)
		r = fw_cfg_set(fw, FW_CFG_ID, id, sizeof(id), NULL);
	if (!r)
		r = fw_cfg_build_dir(fw);
	if (r)
		goto err_free;
	fw_cfg_select(fw, FW_CFG_SIGNATURE);

	r = bus_register(pio, FW_CFG_PORT_SEL, FW_CFG_NR_PORTS, &fw_cfg_ops, fw,
			 "fw_cfg");
	if (r)
		goto err_free;
	*out = fw;
	return 0;

err_free:
	fw_cfg_free(fw);
	return r;
}

void fw_cfg_destroy(struct fw_cfg *fw)
{
	if (!fw)
		return;
	if (fw->gm)
		bus_unregister(fw->pio, FW_CFG_PORT_DMA);
	bus_unregister(fw->pio, FW_CFG_PORT_SEL);
	fw_cfg_free(fw);
}
