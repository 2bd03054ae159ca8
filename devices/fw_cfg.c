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
 * Not implemented: the DMA interface at 0x514 (FW_CFG_ID bit 1 stays 0), the
 * write channel (writes to 0x511 and selectors with bit 14 are ignored).
 */
#include "hvkvm/fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/bus.h"
#include "hvkvm/util.h"

#define FW_CFG_SIG "QEMU"
#define FW_CFG_DIR_ENTRY_SIZE 64	/* size, select, reserved, name */
#define FW_CFG_SEL_OFF 0
#define FW_CFG_DATA_OFF 1

_Static_assert(FW_CFG_DIR_ENTRY_SIZE == 4 + 2 + 2 + FW_CFG_MAX_FILE_PATH,
	       "fw_cfg directory entry layout");

struct fw_cfg_item {
	uint16_t key;			/* selector without the write bit */
	uint8_t *data;			/* owned copy */
	uint32_t len;
	char name[FW_CFG_MAX_FILE_PATH];/* files only; "" for plain items */
};

struct fw_cfg {
	/* Guest-visible state. */
	uint16_t selector;		/* last value written to 0x510 */
	uint32_t offset;		/* next byte of the selected item */
	const struct fw_cfg_item *cur;	/* selected item, or NULL */
	/* Items, fixed once vCPUs run. */
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned int nr_items;
	unsigned int nr_files;
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
	bus_unregister(fw->pio, FW_CFG_PORT_SEL);
	fw_cfg_free(fw);
}
