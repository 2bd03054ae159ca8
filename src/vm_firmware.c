// SPDX-License-Identifier: MIT
/*
 * vm_firmware: booting through a BIOS (SeaBIOS) instead of a kernel.
 *
 * - The ROM image (a multiple of 64 KiB, at most 16 MiB; SeaBIOS ships
 *   128 KiB bios.bin and 256 KiB bios-256k.bin) is mapped read-only just
 *   below 4 GiB, where the reset vector 0xFFFFFFF0 fetches from, and its
 *   last 128 KiB at 0xE0000-0xFFFFF. The boot CPU keeps KVM's reset state
 *   (CS F000 base FFFF0000, IP FFF0).
 * - The i440FX PAM registers switch 0xC0000-0xFFFFF between ROM and RAM
 *   (one KVM memory slot per PAM segment), so the BIOS can copy itself to
 *   RAM and write-protect it. Approximated: write-only mode (reads from
 *   ROM, writes to RAM) is mapped read-write; a PCI-mode segment below
 *   0xE0000 has no memory (reads all-ones); without KVM_CAP_READONLY_MEM
 *   read-only segments are writable and the ROM is a private copy.
 * - fw_cfg files SeaBIOS reads: etc/e820, bootorder, etc/boot-fail-wait,
 *   etc/sercon-port (COM1: we have no VGA), and the ACPI tables through
 *   the linker/loader (etc/table-loader, etc/acpi/tables, etc/acpi/rsdp),
 *   the SMBIOS tables (etc/smbios/smbios-anchor: a 31-byte 2.1 entry
 *   point whose table length must match etc/smbios/smbios-tables; SeaBIOS
 *   places both and keeps our type 0, or adds its own when we omit it);
 *   the CMOS boot-order bytes 0x38/0x3d.
 * - The BIOS debug port 0x402 (QEMU's isa-debugcon): with -v each line
 *   becomes a log line; otherwise it reads as absent and the BIOS stays
 *   quiet (fewer exits).
 *
 * A guest reboot rebuilds the whole VM (main.c), so the PAM registers and
 * the low window start over from reset and show the ROM again.
 */
#include "vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hvkvm/acpi.h"
#include "hvkvm/fw_cfg.h"
#include "hvkvm/pci.h"
#include "hvkvm/rtc.h"
#include "hvkvm/smbios.h"
#include "hvkvm/uart.h"

#define FW_ROM_ALIGN (64 * KiB)
#define FW_ROM_MAX (16 * MiB)
#define FW_LEGACY_MAX (128 * KiB) /* ROM bytes seen below 1 MiB */
#define FW_LEGACY_END 0x100000ULL
#define FW_MIN_RAM (8 * MiB)
#define FW_DEBUG_PORT 0x402
#define FW_DEBUG_READBACK 0xe9 /* QEMU debugcon's "I am here" */
#define FW_DEBUG_LINE 256
#define FW_IDE_PATH "/pci@i0cf8/ide@1,1"

/* CMOS boot order (SeaBIOS boot_init(), QEMU's pc_cmos_init_late). */
#define CMOS_BOOTFLAG1 0x38 /* bits 7:4 third device */
#define CMOS_BOOTFLAG2 0x3d /* bits 3:0 first, 7:4 second */
#define CMOS_BOOT_HD 2
#define CMOS_BOOT_CD 3
#define CMOS_BOOT_NET 4

/* What one PAM segment shows the guest now. */
enum fw_map {
	FW_MAP_NONE, /* no slot: MMIO exits, reads all-ones */
	FW_MAP_ROM,  /* the ROM, read-only */
	FW_MAP_RAM_RO,
	FW_MAP_RAM_RW,
};

struct vm_firmware {
	struct vm *vm;
	const char *path;		   /* the image */
	uint8_t *rom;			   /* host mapping of the image */
	size_t rom_size;		   /* bytes, multiple of 64 KiB */
	bool readonly_mem;		   /* KVM_CAP_READONLY_MEM */
	enum fw_map seg[PCI_PAM_SEGMENTS]; /* as mapped now */
	bool debug_on;			   /* -v: port 0x402 answers */
	bool debug_registered;
	char line[FW_DEBUG_LINE]; /* debug port text so far */
	size_t line_len;
};

/* ---- the ROM image ---- */

static int fw_load_rom(struct vm_firmware *fw, char *err, size_t errlen)
{
	const char *hint = "";
	struct stat st;
	size_t done = 0;
	int fd, r;

	if (!strcmp(fw->path, CONFIG_DEFAULT_BIOS))
		hint = " (the default: install Debian's seabios package, or give --bios or --kernel)";
	fd = open(fw->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "BIOS %s: %s%s", fw->path, strerror(-r),
			 hint);
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "BIOS %s: not a regular file", fw->path);
		r = -EINVAL;
		goto out;
	}
	if (!st.st_size || st.st_size % FW_ROM_ALIGN ||
	    st.st_size > (off_t)FW_ROM_MAX) {
		snprintf(
			err, errlen,
			"BIOS %s: %lld bytes: a ROM image is a multiple of 64 KiB up to 16 MiB (SeaBIOS: 128 KiB bios.bin, 256 KiB bios-256k.bin)",
			fw->path, (long long)st.st_size);
		r = -EINVAL;
		goto out;
	}
	fw->rom_size = (size_t)st.st_size;
	fw->rom = mmap(NULL, fw->rom_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fw->rom == MAP_FAILED) {
		fw->rom = NULL;
		r = -errno;
		snprintf(err, errlen, "BIOS %s: %s", fw->path, strerror(-r));
		goto out;
	}
	while (done < fw->rom_size) {
		ssize_t n = read(fd, fw->rom + done, fw->rom_size - done);

		if (n <= 0) {
			snprintf(err, errlen, "BIOS %s: read error: %s",
				 fw->path, n ? strerror(errno) : "short file");
			r = -EIO;
			goto out;
		}
		done += (size_t)n;
	}
	r = 0;
out:
	close(fd);
	return r;
}

/* ---- the shadow area as PAM says ---- */

static enum fw_map fw_seg_want(const struct vm_firmware *fw,
			       enum pci_pam_mode mode, uint32_t base)
{
	size_t legacy = MIN(fw->rom_size, FW_LEGACY_MAX);

	switch (mode) {
	case PCI_PAM_READ_ONLY:
		return FW_MAP_RAM_RO;
	case PCI_PAM_WRITE_ONLY: /* approximated: see the top */
	case PCI_PAM_READ_WRITE:
		return FW_MAP_RAM_RW;
	case PCI_PAM_PCI:
		break;
	}
	return base >= FW_LEGACY_END - legacy ? FW_MAP_ROM : FW_MAP_NONE;
}

/* Map segment @seg as @want (its old slot is removed first). */
static int fw_seg_map(struct vm_firmware *fw, unsigned int seg,
		      enum fw_map want)
{
	struct vm *vm = fw->vm;
	uint32_t slot = VM_SLOT_PAM(seg), base, size;
	uint8_t *hva;
	int r;

	pci_pam_segment(seg, &base, &size);
	if (fw->seg[seg] != FW_MAP_NONE) {
		r = vm_set_slot(vm, slot, base, 0, NULL, false);
		if (r)
			return r;
		fw->seg[seg] = FW_MAP_NONE;
	}
	switch (want) {
	case FW_MAP_NONE:
		return 0;
	case FW_MAP_ROM:
		hva = fw->rom + fw->rom_size - (FW_LEGACY_END - base);
		r = vm_set_slot(vm, slot, base, size, hva, fw->readonly_mem);
		break;
	case FW_MAP_RAM_RO:
	case FW_MAP_RAM_RW:
		hva = gmem_map(&vm->gm, base, size, false);
		if (!hva)
			return -EFAULT;
		r = vm_set_slot(vm, slot, base, size, hva,
				want == FW_MAP_RAM_RO && fw->readonly_mem);
		break;
	default:
		return -EINVAL;
	}
	if (!r)
		fw->seg[seg] = want;
	return r;
}

static int fw_apply_pam(struct vm_firmware *fw, const uint8_t *pam)
{
	unsigned int seg;
	uint32_t base, size;
	int r;

	for (seg = 0; seg < PCI_PAM_SEGMENTS; seg++) {
		enum fw_map want;

		pci_pam_segment(seg, &base, &size);
		want = fw_seg_want(fw, pci_pam_mode(pam, seg), base);
		if (want == fw->seg[seg])
			continue;
		r = fw_seg_map(fw, seg, want);
		if (r)
			return r;
	}
	return 0;
}

/* pci_pam_fn, on the vCPU thread: a failure is KVM's, the VM stops. */
static void fw_pam_changed(void *opaque, const uint8_t *pam)
{
	struct vm_firmware *fw = opaque;
	int r = fw_apply_pam(fw, pam);

	pr_dbg("firmware: PAM %02x %02x %02x %02x %02x %02x %02x", pam[0],
	       pam[1], pam[2], pam[3], pam[4], pam[5], pam[6]);
	if (r) {
		pr_err("firmware: cannot remap 0xC0000-0xFFFFF: %s",
		       strerror(-r));
		vm_request_stop(fw->vm, VM_STOP_FAILURE, VM_STATUS_FAILURE);
	}
}

/* ---- the BIOS debug port 0x402 ---- */

static void fw_debug_flush(struct vm_firmware *fw)
{
	if (fw->line_len)
		pr_info("bios: %.*s", (int)fw->line_len, fw->line);
	fw->line_len = 0;
}

static uint64_t fw_debug_read(void *opaque, uint64_t off, unsigned int size)
{
	struct vm_firmware *fw = opaque;

	(void)off;
	(void)size;
	return fw->debug_on ? FW_DEBUG_READBACK : 0xff;
}

/* One vCPU runs the BIOS: no lock (a second one only garbles a line). */
static void fw_debug_write(void *opaque, uint64_t off, unsigned int size,
			   uint64_t value)
{
	struct vm_firmware *fw = opaque;
	char c = (char)value;

	(void)off;
	(void)size;
	if (!fw->debug_on || c == '\r')
		return;
	if (c == '\n') {
		fw_debug_flush(fw);
		return;
	}
	if (fw->line_len == sizeof(fw->line))
		fw_debug_flush(fw);
	fw->line[fw->line_len++] = c >= ' ' || c == '\t' ? c : '?';
}

static const struct bus_ops fw_debug_ops = {
	.read = fw_debug_read,
	.write = fw_debug_write,
};

/* ---- fw_cfg items ---- */

/* etc/e820: packed {le64 address, le64 length, le32 type} entries. */
static int fw_add_e820(struct vm *vm)
{
	uint8_t buf[E820_MAX_ENTRIES * 20];
	unsigned int i;
	int r;

	r = e820_build(&vm->gm, &vm->e820);
	if (r)
		return r;
	for (i = 0; i < vm->e820.nr; i++) {
		const struct e820_entry *e = &vm->e820.entries[i];

		put_le64(buf + i * 20, e->addr);
		put_le64(buf + i * 20 + 8, e->size);
		put_le32(buf + i * 20 + 16, e->type);
	}
	return fw_cfg_add_file(vm->fw_cfg, "etc/e820", buf, vm->e820.nr * 20,
			       NULL);
}

/* The IDE drive (0..3) a configured disk sits on, or -1. */
static int fw_ide_drive(const struct config_disk *d)
{
	if (d->bus != CONFIG_DISK_IDE || strncmp(d->target, "hd", 2) ||
	    d->target[2] < 'a' || d->target[2] > 'd' || d->target[3])
		return -1;
	return d->target[2] - 'a';
}

/*
 * "bootorder": one device path per line, as SeaBIOS builds them for the
 * PIIX4 IDE at 00:01.1 (src/boot.c bootprio_find_ata_device):
 * /pci@i0cf8/ide@1,1/drive@CHANNEL/disk@UNIT. Written to @buf; returns
 * its length (0: no device to name).
 */
static size_t fw_bootorder(const struct vm_config *cfg, char *buf, size_t len)
{
	static const enum config_boot_dev dflt[] = { CONFIG_BOOT_HD,
						     CONFIG_BOOT_CDROM };
	const enum config_boot_dev *order = cfg->nr_boot ? cfg->boot : dflt;
	unsigned int n = cfg->nr_boot ? cfg->nr_boot : ARRAY_SIZE(dflt);
	unsigned int i, drive, k;
	size_t at = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < n; i++) {
		enum config_disk_media media = order[i] == CONFIG_BOOT_HD ?
						       CONFIG_MEDIA_DISK :
						       CONFIG_MEDIA_CDROM;

		if (order[i] == CONFIG_BOOT_NETWORK)
			continue; /* no NIC boot ROM yet */
		for (drive = 0; drive < 4; drive++) {
			for (k = 0; k < cfg->nr_disks; k++) {
				const struct config_disk *d = &cfg->disks[k];
				int w;

				if (fw_ide_drive(d) != (int)drive ||
				    d->media != media)
					continue;
				w = snprintf(buf + at, len - at,
					     "%s" FW_IDE_PATH
					     "/drive@%x/disk@%x",
					     at ? "\n" : "", drive / 2,
					     drive % 2);
				if (w < 0 || (size_t)w >= len - at)
					return at;
				at += (size_t)w;
			}
		}
	}
	return at;
}

/* The same order for the BIOS's defaults, in CMOS 0x3d/0x38 nibbles. */
static void fw_set_cmos_boot(struct vm *vm)
{
	static const uint8_t code[] = { [CONFIG_BOOT_HD] = CMOS_BOOT_HD,
					[CONFIG_BOOT_CDROM] = CMOS_BOOT_CD,
					[CONFIG_BOOT_NETWORK] = CMOS_BOOT_NET };
	const struct vm_config *cfg = vm->cfg;
	uint32_t v = CMOS_BOOT_HD | CMOS_BOOT_CD << 4;
	unsigned int i;

	if (cfg->nr_boot) {
		v = 0;
		for (i = 0; i < cfg->nr_boot && i < 3; i++)
			v |= (uint32_t)code[cfg->boot[i]] << (4 * i);
	}
	rtc_cmos_set(vm->rtc, CMOS_BOOTFLAG2, (uint8_t)v);
	/* Bit 0: do not insist on a floppy boot signature (no floppy). */
	rtc_cmos_set(vm->rtc, CMOS_BOOTFLAG1, (uint8_t)((v >> 4) & 0xf0) | 1);
}

/* The ACPI blob and the loader commands that place it. */
static int fw_add_acpi(struct vm *vm)
{
	struct acpi_params ap;
	struct acpi_blob b;
	uint8_t *cmds = NULL;
	size_t len;
	unsigned int f;
	int r;

	vm_acpi_params(vm, &ap);
	r = acpi_blob_build(&ap, &b);
	if (r)
		return r;
	r = acpi_blob_loader(&b, &cmds, &len);
	for (f = 0; !r && f < ACPI_NR_FILES; f++)
		r = fw_cfg_add_file(vm->fw_cfg, acpi_file_names[f], b.data[f],
				    b.len[f], NULL);
	if (!r)
		r = fw_cfg_add_file(vm->fw_cfg, "etc/table-loader", cmds, len,
				    NULL);
	free(cmds);
	acpi_blob_free(&b);
	return r;
}

/*
 * The SMBIOS tables for SeaBIOS. The Hyper-V identity brings its own
 * type 0 (the AMI BIOS a Gen1 VM shows); the neutral one leaves type 0 to
 * the BIOS, which then names itself.
 */
static int fw_add_smbios(struct vm *vm)
{
	struct smbios_params sp;
	struct smbios_blob b;
	int r;

	vm_smbios_params(vm, &sp);
	/* A user's BIOS strings need our type 0. */
	sp.omit_bios = !sp.hyperv && !sp.str.bios_vendor &&
		       !sp.str.bios_version && !sp.str.bios_date;
	r = smbios_build(&sp, &b);
	if (r)
		return r;
	r = fw_cfg_add_file(vm->fw_cfg, "etc/smbios/smbios-tables", b.tables,
			    b.len, NULL);
	if (!r)
		r = fw_cfg_add_file(vm->fw_cfg, "etc/smbios/smbios-anchor",
				    b.ep, SMBIOS_EP_LEN, NULL);
	smbios_blob_free(&b);
	return r;
}

static int fw_add_items(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct fw_cfg *fc = vm->fw_cfg;
	uint8_t wait[4], port[2];
	char order[512];
	size_t n;
	int r;

	r = fw_add_e820(vm);
	if (r) {
		snprintf(err, errlen, "fw_cfg etc/e820: %s", strerror(-r));
		return r;
	}
	n = fw_bootorder(cfg, order, sizeof(order));
	put_le32(wait, (uint32_t)cfg->reboot_timeout);
	put_le16(port, UART_COM1_BASE);
	r = n ? fw_cfg_add_file(fc, "bootorder", order, n, NULL) : 0;
	if (!r)
		r = fw_cfg_add_file(fc, "etc/boot-fail-wait", wait,
				    sizeof(wait), NULL);
	if (!r)
		r = fw_cfg_add_file(fc, "etc/sercon-port", port, sizeof(port),
				    NULL);
	if (!r && cfg->acpi)
		r = fw_add_acpi(vm);
	if (!r)
		r = fw_add_smbios(vm);
	if (!r)
		r = fw_cfg_enable_dma(fc, &vm->gm);
	if (r)
		snprintf(err, errlen, "fw_cfg: %s", strerror(-r));
	if (n && log_get_level() >= LOG_INFO) {
		char *nl;

		while ((nl = strchr(order, '\n')))
			*nl = ' ';
		pr_info("firmware: bootorder %s", order);
	}
	return r;
}

/* ---- the stage ---- */

int vm_firmware_init(struct vm *vm, char *err, size_t errlen)
{
	const char *path = config_firmware(vm->cfg);
	struct vm_firmware *fw;
	uint8_t reset_pam[PCI_PAM_NR_REGS] = { 0 };
	int r;

	if (!path)
		return 0; /* direct kernel boot: vm_boot.c */
	if (vm->cfg->memory < FW_MIN_RAM) {
		snprintf(err, errlen,
			 "booting a BIOS needs at least %llu MiB of RAM",
			 (unsigned long long)(FW_MIN_RAM / MiB));
		return -EINVAL;
	}
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	vm->firmware = fw;
	fw->vm = vm;
	fw->path = path;
	fw->debug_on = log_get_level() >= LOG_INFO;
	fw->readonly_mem = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_READONLY_MEM) > 0;
	if (!fw->readonly_mem)
		pr_warn("firmware: KVM has no read-only memory: the BIOS ROM and write-protected shadow RAM stay writable");
	r = fw_load_rom(fw, err, errlen);
	if (r)
		return r;
	r = vm_set_slot(vm, VM_SLOT_ROM, 4 * GiB - fw->rom_size, fw->rom_size,
			fw->rom, fw->readonly_mem);
	if (!r)
		r = fw_apply_pam(fw, reset_pam);
	if (r) {
		snprintf(err, errlen, "BIOS %s: KVM memory slot: %s", path,
			 strerror(-r));
		return r;
	}
	r = fw_add_items(vm, err, errlen);
	if (r)
		return r;
	fw_set_cmos_boot(vm);
	r = bus_register(&vm->pio, FW_DEBUG_PORT, 1, &fw_debug_ops, fw,
			 "bios-debug");
	if (r) {
		snprintf(err, errlen, "BIOS debug port %#x: %s", FW_DEBUG_PORT,
			 strerror(-r));
		return r;
	}
	fw->debug_registered = true;
	pci_set_pam_handler(vm->pci, fw_pam_changed, fw);
	pr_info("firmware: %s (%zu KiB) at %#llx, reset vector 0xfffffff0",
		path, (size_t)(fw->rom_size / KiB),
		(unsigned long long)(4 * GiB - fw->rom_size));
	return 0;
}

void vm_firmware_exit(struct vm *vm)
{
	struct vm_firmware *fw = vm->firmware;

	if (!fw)
		return;
	if (vm->pci)
		pci_set_pam_handler(vm->pci, NULL, NULL);
	if (fw->debug_registered) {
		fw_debug_flush(fw);
		bus_unregister(&vm->pio, FW_DEBUG_PORT);
	}
	/* After the vCPUs are gone: drop the slots, then the ROM. */
	if (fw->rom && vm->vm_fd >= 0) {
		unsigned int seg;

		for (seg = 0; seg < PCI_PAM_SEGMENTS; seg++)
			if (fw->seg[seg] != FW_MAP_NONE)
				vm_set_slot(vm, VM_SLOT_PAM(seg), 0, 0, NULL,
					    false);
		vm_set_slot(vm, VM_SLOT_ROM, 0, 0, NULL, false);
	}
	if (fw->rom)
		munmap(fw->rom, fw->rom_size);
	free(fw);
	vm->firmware = NULL;
}
