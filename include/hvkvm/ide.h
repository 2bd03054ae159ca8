/* SPDX-License-Identifier: MIT */
/*
 * ide: the PIIX4 IDE function (PCI 8086:7111 at 00:01.1) in legacy mode:
 * two channels at 0x1f0/0x3f6 (IRQ 14) and 0x170/0x376 (IRQ 15), a master
 * and a slave on each, bus-master DMA through BAR4. Each drive is an ATA
 * disk or an ATAPI CD-ROM backed by a block device (block.h), or absent.
 *
 * Threads: register handlers run on vCPU threads; block completions run
 * wherever block_process_completions() is called for the drive's block
 * device (the evloop thread when @loop is given). One mutex per channel.
 */
#ifndef HVKVM_IDE_H
#define HVKVM_IDE_H

#include <stdbool.h>
#include <stdint.h>

struct block_dev;
struct bus;
struct evloop;
struct gmem;
struct irq_sink;
struct pci_host;
struct ide;

#define IDE_NR_CHANNELS 2
#define IDE_NR_DRIVES 4	       /* drive = channel * 2 + unit */
#define IDE_PRIMARY_BASE 0x1f0 /* command block, 8 ports */
#define IDE_PRIMARY_CTL 0x3f6  /* device control / alt status */
#define IDE_PRIMARY_IRQ 14
#define IDE_SECONDARY_BASE 0x170
#define IDE_SECONDARY_CTL 0x376
#define IDE_SECONDARY_IRQ 15
#define IDE_PCI_FN 1 /* 00:01.1 */
#define IDE_PCI_DEVICE 0x7111

enum ide_media {
	IDE_MEDIA_NONE,	 /* no device in this position */
	IDE_MEDIA_DISK,	 /* ATA disk, needs a block device */
	IDE_MEDIA_CDROM, /* ATAPI CD-ROM, block device optional */
};

struct ide_drive_config {
	enum ide_media media;
	struct block_dev *bd; /* disk: required; CD: NULL = empty */
	const char *serial;   /* IDENTIFY serial; NULL = generated */
};

struct ide_config {
	struct bus *pio;      /* legacy ports and the BAR4 block */
	struct pci_host *pci; /* the function goes to 00:01.1 */
	struct irq_sink *irq; /* ISA IRQ 14 / 15 */
	struct gmem *gm;      /* bus-master DMA target */
	/*
	 * Where the drives' block completion fds are watched. NULL: the
	 * caller runs block_process_completions() itself (tests, fuzzing).
	 */
	struct evloop *loop;
	struct ide_drive_config drives[IDE_NR_DRIVES];
};

/*
 * Register the function on the PCI host and the legacy ports on @pio.
 * On success the controller owns every block device in @cfg (and those
 * later given to ide_insert) and closes them in ide_eject/ide_destroy; on
 * failure the caller still owns them. 0 or -errno.
 */
int ide_create(const struct ide_config *cfg, struct ide **out);
/*
 * Close the block devices (waiting for requests in flight), unregister the
 * ports and free. vCPUs and the evloop must be stopped (or call it on the
 * evloop thread). The function stays in the PCI host's table (pci.h has
 * no removal): destroy the host next, without touching 00:01.1 in between
 * (no pci_reset either).
 */
void ide_destroy(struct ide *ide);
/* Power-on state of every drive and channel (guest reboot); media stay. */
void ide_reset(struct ide *ide);

/*
 * Host-side media change on CD-ROM @drive (0..3). ide_eject closes and
 * drops the medium: -EBUSY if the guest locked it (PREVENT ALLOW MEDIUM
 * REMOVAL) unless @force, -ENODEV if @drive is not a CD-ROM, -ENOMEDIUM if
 * the tray is already empty. ide_insert takes ownership of @bd (read in
 * 2048-byte blocks, a partial last block is not visible) and reports a
 * unit attention to the guest: -EBUSY if a medium is present (eject
 * first), -ENODEV, -EINVAL (smaller than one block); on error the caller
 * keeps @bd. ide_eject waits for the medium's requests in flight and
 * removes its fd from the evloop: call it on the evloop thread (as the
 * control socket does) or with the loop stopped, never from inside a block
 * callback. ide_insert is safe from any thread.
 */
int ide_eject(struct ide *ide, unsigned int drive, bool force);
int ide_insert(struct ide *ide, unsigned int drive, struct block_dev *bd);
/* True if @drive is a CD-ROM with a medium in it. */
bool ide_has_medium(struct ide *ide, unsigned int drive);
/*
 * The backend of hard disk @drive, NULL for CD-ROMs and empty slots. It
 * stays the controller's (closed by ide_destroy); the Hyper-V IDE
 * accelerator submits to it too, its completions run on the IDE's evloop.
 */
struct block_dev *ide_disk_block(struct ide *ide, unsigned int drive);

#endif /* HVKVM_IDE_H */
