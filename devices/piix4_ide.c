// SPDX-License-Identifier: MIT
/*
 * Intel PIIX4 IDE function, PCI 8086:7111 at 00:01.1 (PIIX4 datasheet,
 * PCI configuration of function 1): class 0101h, prog-if 80h
 * (bus-master capable, both channels fixed in legacy/compatibility mode),
 * so the channels sit at 0x1f0-0x1f7/0x3f6 (IRQ 14) and 0x170-0x177/0x376
 * (IRQ 15) and only BAR4 (BMIBA, 16 I/O ports) is relocatable. The IDE
 * timing registers IDETIM (40h-43h), SIDETIM (44h), UDMACTL (48h) and
 * UDMATIM (4Ah-4Bh) are storage: timings do not matter to an emulation.
 * IDETIM starts with the decode-enable bit 15 set, as firmware leaves it.
 *
 * The interrupts are the ISA IRQs 14 and 15, driven as the INTRQ level of
 * the selected device (the PIC/IOAPIC pins are edge-triggered ISA inputs in
 * legacy mode); the function has no INTx pin.
 *
 * Not implemented: native-PCI mode (prog-if is read-only), the decode
 * enable bits gating the legacy ports, the PIIX4's IDE power management.
 */
#include "hvkvm/ide.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "hvkvm/block.h"
#include "hvkvm/bus.h"
#include "hvkvm/evloop.h"
#include "hvkvm/util.h"
#include "ide_int.h"

#define PIIX4_IDE_CLASS 0x010180 /* mass storage, IDE, bus master */
#define PIIX4_IDE_REV 0x01
#define IDETIM_PRI 0x40 /* 16 bits */
#define IDETIM_SEC 0x42
#define IDETIM_DECODE 0x8000 /* IDE decode enable */
#define IDETIM_WMASK 0xf3ff  /* bits 11:10 reserved */
#define SIDETIM 0x44
#define UDMACTL 0x48 /* bits 3:0 */
#define UDMATIM 0x4a /* 16 bits */
#define UDMATIM_WMASK 0x3333

static const uint16_t ide_cmd_base[IDE_NR_CHANNELS] = { IDE_PRIMARY_BASE,
							IDE_SECONDARY_BASE };
static const uint16_t ide_ctl_base[IDE_NR_CHANNELS] = { IDE_PRIMARY_CTL,
							IDE_SECONDARY_CTL };
static const unsigned int ide_irq_line[IDE_NR_CHANNELS] = { IDE_PRIMARY_IRQ,
							    IDE_SECONDARY_IRQ };

/* ---- PCI function ----------------------------------------------------- */

static void piix4_ide_timing_reset(struct pci_device *dev)
{
	put_le16(&dev->config[IDETIM_PRI], IDETIM_DECODE);
	put_le16(&dev->config[IDETIM_SEC], IDETIM_DECODE);
	dev->config[SIDETIM] = 0;
	dev->config[UDMACTL] = 0;
	put_le16(&dev->config[UDMATIM], 0);
}

static void piix4_ide_pci_init(struct ide *ide)
{
	struct pci_device *dev = &ide->pci;

	pci_device_init(dev, "piix4-ide", PCI_I440FX_VENDOR, IDE_PCI_DEVICE,
			PIIX4_IDE_CLASS, PIIX4_IDE_REV);
	pci_device_set_bar(dev, BM_BAR, PCI_BAR_IO, BM_SIZE, false);
	pci_device_set_pin(dev, 0);
	put_le16(&dev->wmask[IDETIM_PRI], IDETIM_WMASK);
	put_le16(&dev->wmask[IDETIM_SEC], IDETIM_WMASK);
	dev->wmask[SIDETIM] = 0xff;
	dev->wmask[UDMACTL] = 0x0f;
	put_le16(&dev->wmask[UDMATIM], UDMATIM_WMASK);
	piix4_ide_timing_reset(dev);
}

/* BMIBA moved: the 16 bus-master ports follow it (pci host lock held). */
static void piix4_ide_bar_update(struct pci_device *dev, unsigned int bar,
				 bool mapped, uint64_t addr)
{
	struct ide *ide = dev->opaque;
	int r;

	if (bar != BM_BAR)
		return;
	if (!mapped) {
		if (ide->bm_mapped && ide->bm_base == addr)
			bus_unregister(ide->pio, addr);
		ide->bm_mapped = false;
		return;
	}
	r = bus_register(ide->pio, addr, BM_SIZE, &ide_bm_ops, ide, "ide-bm");
	if (r) {
		guest_err("ide: bus master block at %#llx: %d",
			  (unsigned long long)addr, r);
		return;
	}
	ide->bm_mapped = true;
	ide->bm_base = addr;
}

static const struct pci_device_ops piix4_ide_pci_ops = {
	.bar_update = piix4_ide_bar_update,
};

/* ---- drives ----------------------------------------------------------- */

static int ide_watch(struct ide *ide, struct block_dev *bd)
{
	if (!ide->loop || !bd)
		return 0;
	return evloop_add_fd(ide->loop, block_completion_fd(bd), EPOLLIN,
			     block_evloop_ready, bd);
}

static void ide_unwatch(struct ide *ide, struct block_dev *bd)
{
	if (ide->loop && bd)
		evloop_del_fd(ide->loop, block_completion_fd(bd));
}

static void ide_medium_set(struct ide_drive *d, struct block_dev *bd)
{
	d->bd = bd;
	if (d->media == IDE_MEDIA_DISK) {
		d->nsectors = block_size(bd) / IDE_SECTOR;
		ide_ata_geometry(d);
	} else {
		d->cd_blocks = bd ? block_size(bd) / CD_SECTOR : 0;
	}
}

static int ide_drive_init(struct ide_channel *ch, unsigned int unit,
			  const struct ide_drive_config *c)
{
	struct ide_drive *d = &ch->drives[unit];

	d->ch = ch;
	d->unit = unit;
	d->media = c->media;
	switch (c->media) {
	case IDE_MEDIA_NONE:
		return c->bd ? -EINVAL : 0;
	case IDE_MEDIA_DISK:
		if (!c->bd || block_size(c->bd) < IDE_SECTOR)
			return -EINVAL;
		break;
	case IDE_MEDIA_CDROM:
		if (c->bd && block_size(c->bd) < CD_SECTOR)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (c->serial)
		snprintf(d->serial, sizeof(d->serial), "%s", c->serial);
	else
		snprintf(d->serial, sizeof(d->serial), "HVKVM%u%u0000000000",
			 ch->index, unit);
	ide_medium_set(d, c->bd);
	return 0;
}

static struct ide_drive *ide_drive_get(struct ide *ide, unsigned int drive)
{
	if (drive >= IDE_NR_DRIVES)
		return NULL;
	return &ide->ch[drive / 2].drives[drive % 2];
}

int ide_eject(struct ide *ide, unsigned int drive, bool force)
{
	struct ide_drive *d = ide_drive_get(ide, drive);
	struct block_dev *bd;
	struct ide_channel *ch;

	if (!d || d->media != IDE_MEDIA_CDROM)
		return -ENODEV;
	ch = d->ch;
	pthread_mutex_lock(&ch->lock);
	if (!d->bd) {
		pthread_mutex_unlock(&ch->lock);
		return -ENOMEDIUM;
	}
	if (d->locked && !force) {
		pthread_mutex_unlock(&ch->lock);
		return -EBUSY;
	}
	bd = d->bd;
	d->locked = false;
	ide_medium_set(d, NULL);
	d->media_event = 3; /* GESN: MediaRemoval */
	pthread_mutex_unlock(&ch->lock);
	/* Without the lock: close runs callbacks still in flight. */
	ide_unwatch(ide, bd);
	block_close(bd);
	return 0;
}

int ide_insert(struct ide *ide, unsigned int drive, struct block_dev *bd)
{
	struct ide_drive *d = ide_drive_get(ide, drive);
	struct ide_channel *ch;
	int r;

	if (!d || d->media != IDE_MEDIA_CDROM)
		return -ENODEV;
	if (!bd || block_size(bd) < CD_SECTOR)
		return -EINVAL;
	ch = d->ch;
	pthread_mutex_lock(&ch->lock);
	r = d->bd ? -EBUSY : 0;
	pthread_mutex_unlock(&ch->lock);
	if (r)
		return r;
	r = ide_watch(ide, bd);
	if (r)
		return r;
	pthread_mutex_lock(&ch->lock);
	if (d->bd) {
		r = -EBUSY; /* raced with another insert */
	} else {
		ide_medium_set(d, bd);
		d->tray_open = false;
		ide_atapi_media_changed(d);
	}
	pthread_mutex_unlock(&ch->lock);
	if (r)
		ide_unwatch(ide, bd);
	return r;
}

bool ide_has_medium(struct ide *ide, unsigned int drive)
{
	struct ide_drive *d = ide_drive_get(ide, drive);
	bool r;

	if (!d || d->media != IDE_MEDIA_CDROM)
		return false;
	pthread_mutex_lock(&d->ch->lock);
	r = d->bd != NULL;
	pthread_mutex_unlock(&d->ch->lock);
	return r;
}

struct block_dev *ide_disk_block(struct ide *ide, unsigned int drive)
{
	struct ide_drive *d = ide_drive_get(ide, drive);

	/* A hard disk's backend never changes: no lock needed. */
	return d && d->media == IDE_MEDIA_DISK ? d->bd : NULL;
}

/* Power-on reset; a CD with a medium reports it (unit attention). */
static void ide_channel_power_on(struct ide_channel *ch)
{
	unsigned int u;

	ide_channel_reset(ch);
	for (u = 0; u < 2; u++)
		if (ch->drives[u].media == IDE_MEDIA_CDROM && ch->drives[u].bd)
			ide_atapi_media_changed(&ch->drives[u]);
}

/* ---- lifecycle -------------------------------------------------------- */

static void ide_unregister_legacy(struct ide *ide)
{
	unsigned int i;

	for (i = 0; i < IDE_NR_CHANNELS; i++) {
		if (ide->legacy_registered[i][0])
			bus_unregister(ide->pio, ide_cmd_base[i]);
		if (ide->legacy_registered[i][1])
			bus_unregister(ide->pio, ide_ctl_base[i]);
		ide->legacy_registered[i][0] = false;
		ide->legacy_registered[i][1] = false;
	}
}

static int ide_register_legacy(struct ide *ide)
{
	unsigned int i;
	int r;

	for (i = 0; i < IDE_NR_CHANNELS; i++) {
		r = bus_register(ide->pio, ide_cmd_base[i], 8, &ide_cmd_ops,
				 &ide->ch[i], i ? "ide1" : "ide0");
		if (r)
			return r;
		ide->legacy_registered[i][0] = true;
		r = bus_register(ide->pio, ide_ctl_base[i], 1, &ide_ctl_ops,
				 &ide->ch[i], i ? "ide1-ctl" : "ide0-ctl");
		if (r)
			return r;
		ide->legacy_registered[i][1] = true;
	}
	return 0;
}

static void ide_free(struct ide *ide)
{
	unsigned int i;

	for (i = 0; i < IDE_NR_CHANNELS; i++) {
		free(ide->ch[i].buf);
		free(ide->ch[i].iov);
		pthread_mutex_destroy(&ide->ch[i].lock);
	}
	free(ide);
}

static int ide_channel_init(struct ide *ide, unsigned int i,
			    const struct ide_config *cfg)
{
	struct ide_channel *ch = &ide->ch[i];
	unsigned int u;
	int r;

	ch->ide = ide;
	ch->index = i;
	ch->irq = ide_irq_line[i];
	pthread_mutex_init(&ch->lock, NULL);
	if (posix_memalign((void **)&ch->buf, 4096, IDE_BUF_SIZE))
		return -ENOMEM;
	ch->iov = calloc(PRD_MAX_ENTRIES, sizeof(*ch->iov));
	if (!ch->iov)
		return -ENOMEM;
	for (u = 0; u < 2; u++) {
		r = ide_drive_init(ch, u, &cfg->drives[i * 2 + u]);
		if (r)
			return r;
	}
	ide_channel_power_on(ch);
	return 0;
}

int ide_create(const struct ide_config *cfg, struct ide **out)
{
	struct ide *ide;
	unsigned int i;
	int r;

	if (!cfg->pio || !cfg->pci || !cfg->irq || !cfg->gm)
		return -EINVAL;
	ide = calloc(1, sizeof(*ide));
	if (!ide)
		return -ENOMEM;
	ide->pio = cfg->pio;
	ide->irq = cfg->irq;
	ide->gm = cfg->gm;
	ide->loop = cfg->loop;
	for (i = 0; i < IDE_NR_CHANNELS; i++) {
		r = ide_channel_init(ide, i, cfg);
		if (r)
			goto err_free;
	}
	r = ide_register_legacy(ide);
	if (r)
		goto err_unregister;
	for (i = 0; i < IDE_NR_DRIVES; i++) {
		r = ide_watch(ide, cfg->drives[i].bd);
		if (r)
			goto err_unwatch;
	}
	piix4_ide_pci_init(ide);
	ide->pci.ops = &piix4_ide_pci_ops;
	ide->pci.opaque = ide;
	r = pci_register_device(cfg->pci, &ide->pci, PCI_PIIX4_SLOT,
				IDE_PCI_FN);
	if (r)
		goto err_unwatch;
	*out = ide;
	return 0;

err_unwatch:
	while (i--)
		ide_unwatch(ide, cfg->drives[i].bd);
err_unregister:
	ide_unregister_legacy(ide);
err_free:
	ide_free(ide);
	return r;
}

void ide_destroy(struct ide *ide)
{
	unsigned int i, u;

	if (!ide)
		return;
	for (i = 0; i < IDE_NR_CHANNELS; i++) {
		for (u = 0; u < 2; u++) {
			struct ide_drive *d = &ide->ch[i].drives[u];
			struct block_dev *bd = d->bd;

			if (!bd)
				continue;
			ide_unwatch(ide, bd);
			block_close(bd); /* runs last callbacks */
			d->bd = NULL;
		}
	}
	ide_unregister_legacy(ide);
	if (ide->bm_mapped)
		bus_unregister(ide->pio, ide->bm_base);
	bus_synchronize(); /* no handler still running on @ide */
	ide_free(ide);
}

void ide_reset(struct ide *ide)
{
	unsigned int i;

	for (i = 0; i < IDE_NR_CHANNELS; i++) {
		struct ide_channel *ch = &ide->ch[i];

		pthread_mutex_lock(&ch->lock);
		ide_channel_power_on(ch);
		pthread_mutex_unlock(&ch->lock);
	}
	piix4_ide_timing_reset(&ide->pci);
}
