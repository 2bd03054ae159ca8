/* SPDX-License-Identifier: MIT */
/*
 * config: the VM description. libvirt domain XML (a subset) and command-line
 * flags both become a plain struct vm_config; config.c is the only libxml2
 * user. Parsing and validation are separate steps: parse fills the struct and
 * rejects what we do not understand (file:line and element), validate checks
 * the whole (sizes, counts, files) once flags have been applied.
 */
#ifndef HVKVM_CONFIG_H
#define HVKVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_VCPUS 64
#define CONFIG_MAX_DISKS 64
#define CONFIG_MAX_NICS 8
#define CONFIG_NAME_MAX 64
#define CONFIG_ERR_MAX 512
#define CONFIG_MAX_BOOT 8 /* <boot dev> entries / --boot items */
/* The BIOS when neither a kernel nor a loader is given (Debian's seabios). */
#define CONFIG_DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"
#define CONFIG_REBOOT_TIMEOUT_DEFAULT 60000 /* ms, SeaBIOS's own default */

enum config_action {
	CONFIG_ACTION_DESTROY,	/* end the process */
	CONFIG_ACTION_RESTART,	/* reset the guest and run on */
	CONFIG_ACTION_PRESERVE, /* stop the vCPUs, keep the process */
};

enum config_serial {
	CONFIG_SERIAL_STDIO, /* the terminal (raw mode) */
	CONFIG_SERIAL_FILE,  /* output appended to a file */
	CONFIG_SERIAL_PTY,   /* a new pseudo-terminal; its path is logged */
	CONFIG_SERIAL_NONE,  /* no COM1 backend (device still present) */
};

enum config_disk_bus { CONFIG_DISK_IDE, CONFIG_DISK_SCSI };
enum config_disk_format {
	CONFIG_FORMAT_AUTO,
	CONFIG_FORMAT_RAW,
	CONFIG_FORMAT_VHD
};
enum config_disk_media { CONFIG_MEDIA_DISK, CONFIG_MEDIA_CDROM };
enum config_cache { CONFIG_CACHE_NONE, CONFIG_CACHE_WRITEBACK };

struct config_disk {
	char *path;			/* image file or block device */
	enum config_disk_bus bus;	/* ide (emulated) or scsi (storvsc) */
	enum config_disk_format format; /* raw, vhd, or probe */
	enum config_disk_media media;	/* disk or cdrom */
	enum config_cache cache;	/* none = O_DIRECT (default) */
	bool readonly;
	char target[16]; /* libvirt target dev ("hda", "sda") */
	/*
	 * SCSI placement (libvirt <address type='drive'>, --disk addr=C:T:L):
	 * controller, target and LUN; unset = controller 0, target 0, LUN =
	 * the target name's index (sda = 0).
	 */
	bool addr_set;
	unsigned int addr_controller, addr_target, addr_lun;
};

/* Synthetic SCSI: controllers per VM, targets per controller, LUNs. */
#define CONFIG_SCSI_CONTROLLERS 4
#define CONFIG_SCSI_TARGETS 2
#define CONFIG_SCSI_LUNS 64

/* Where a bus=scsi disk sits: the address, or the one its name implies. */
void config_disk_scsi_addr(const struct config_disk *d, unsigned int *ctrl,
			   unsigned int *target, unsigned int *lun);

enum config_nic_model { CONFIG_NIC_DEC21140, CONFIG_NIC_NETVSC };

/* What the BIOS boots first (libvirt <boot dev>, --boot). */
enum config_boot_dev {
	CONFIG_BOOT_HD,	     /* the IDE hard disks */
	CONFIG_BOOT_CDROM,   /* the IDE CD-ROMs */
	CONFIG_BOOT_NETWORK, /* accepted: no NIC has a boot ROM yet */
};

struct config_nic {
	char tap[16]; /* host TAP interface name */
	enum config_nic_model model;
	uint8_t mac[6];
	bool mac_set;	  /* false: generate one */
	unsigned int mtu; /* 0 = 1500; 576..9000 (--nic mtu=, <mtu size=>) */
};
#define CONFIG_NIC_MTU_MIN 576
#define CONFIG_NIC_MTU_MAX 9000

/* libvirt <features><hyperv>, <clock><timer name='hypervclock'>, <panic>. */
struct config_hyperv {
	bool enabled;	  /* any enlightenment at all */
	bool passthrough; /* mode='passthrough': all we implement */
	bool relaxed;
	bool vpindex;
	bool runtime;
	bool synic;
	bool stimer;
	bool stimer_direct;
	bool reset;
	bool frequencies;
	bool spinlocks;
	uint32_t spinlock_retries; /* 0xffffffff = never notify */
	bool vendor_id_set;
	char vendor_id[13]; /* up to 12 characters */
	bool hypervclock;   /* reference TSC page + TIME_REF_COUNT */
	bool crash;	    /* <panic model='hyperv'/>: crash MSRs */
};

/* libvirt <sysinfo type='smbios'> entries hvkvm puts in its SMBIOS tables. */
enum config_smbios_field {
	CONFIG_SMBIOS_BIOS_VENDOR, /* <bios><entry name='vendor'> */
	CONFIG_SMBIOS_BIOS_VERSION,
	CONFIG_SMBIOS_BIOS_DATE,
	CONFIG_SMBIOS_SYS_MANUFACTURER, /* <system><entry name='manufacturer'> */
	CONFIG_SMBIOS_SYS_PRODUCT,
	CONFIG_SMBIOS_SYS_VERSION,
	CONFIG_SMBIOS_SYS_SERIAL,
	CONFIG_SMBIOS_SYS_SKU,
	CONFIG_SMBIOS_SYS_FAMILY,
	CONFIG_SMBIOS_NR,
};
#define CONFIG_SMBIOS_STRING_MAX 255

struct vm_config {
	char name[CONFIG_NAME_MAX]; /* <name>; default "hvkvm" */
	uint8_t uuid[16];	    /* <uuid>; generated when absent */
	bool uuid_set;
	uint64_t memory;	 /* bytes; default 512 MiB */
	uint64_t current_memory; /* bytes; 0 = same as memory */
	unsigned int vcpus;	 /* default 1 */
	char *loader;		 /* <os><loader> / --bios: BIOS image */
	enum config_boot_dev boot[CONFIG_MAX_BOOT]; /* BIOS boot order */
	unsigned int nr_boot;			    /* 0 = the BIOS's own */
	int32_t reboot_timeout; /* ms after "no bootable device"; -1 never */
	char *kernel;		/* <os><kernel> / --kernel */
	char *initrd;		/* <os><initrd> / --initrd */
	char *cmdline;		/* <os><cmdline> / --append */
	bool acpi;		/* <features><acpi/>; default on */
	bool apic;		/* <features><apic/>; default on */
	enum config_action on_poweroff; /* default destroy */
	enum config_action on_reboot;	/* default restart */
	enum config_action on_crash;	/* default destroy */
	enum config_serial serial;	/* default stdio */
	char *serial_path;		/* CONFIG_SERIAL_FILE */
	struct config_disk disks[CONFIG_MAX_DISKS];
	unsigned int nr_disks;
	/* <controller type='scsi' index='N'/>: bit N (controller 0 is always
	 * there with VMBus; others exist when named here or by a disk). */
	unsigned int scsi_controllers;
	struct config_nic nics[CONFIG_MAX_NICS];
	unsigned int nr_nics;
	struct config_hyperv hyperv;
	uint16_t debug_exit_port;	/* 0 = no debug-exit device */
	bool clock_utc;			/* <clock offset='utc'> (default) */
	bool mem_merge;			/* --mem-merge: KSM may merge RAM */
	char *source;			/* file the XML came from, or NULL */
	char *smbios[CONFIG_SMBIOS_NR]; /* <sysinfo> strings, NULL = ours */
	bool smbios_sysinfo;		/* <os><smbios mode='sysinfo'/> */
};

/* Defaults as documented above. */
void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/*
 * Parse a libvirt domain XML file into @cfg (on top of its current
 * contents). On error returns -EINVAL (or -errno for I/O) and writes one line
 * "FILE:LINE: <element>: what is wrong" into @err.
 */
int config_parse_file(struct vm_config *cfg, const char *path, char *err,
		      size_t errlen);
/* Same, from a buffer; @name is used in messages. */
int config_parse_buffer(struct vm_config *cfg, const char *buf, size_t len,
			const char *name, char *err, size_t errlen);

/* Command-line values ("--disk file=..,bus=ide", "--nic tap=..", ...). */
int config_parse_disk_arg(struct vm_config *cfg, const char *arg, char *err,
			  size_t errlen);
int config_parse_nic_arg(struct vm_config *cfg, const char *arg, char *err,
			 size_t errlen);
int config_parse_serial_arg(struct vm_config *cfg, const char *arg, char *err,
			    size_t errlen);
/*
 * "--boot cdrom,hd[,network][,reboot-timeout=MS]": replaces the XML's
 * order. fd is refused (no floppy controller).
 */
int config_parse_boot_arg(struct vm_config *cfg, const char *arg, char *err,
			  size_t errlen);
/*
 * The BIOS image the VM starts from, or NULL when it boots a kernel
 * directly: the loader, else CONFIG_DEFAULT_BIOS.
 */
const char *config_firmware(const struct vm_config *cfg);
/* "hd", "cdrom", "network". */
const char *config_boot_name(enum config_boot_dev d);
/* "--hyperv relaxed,vpindex,synic,..." or "all" / "off". */
int config_parse_hyperv_arg(struct vm_config *cfg, const char *arg, char *err,
			    size_t errlen);

/*
 * Whole-config checks after flags are applied: a kernel or a BIOS, memory
 * and vCPU ranges, dependencies between enlightenments (synic needs vpindex,
 * stimer needs synic + hypervclock, ...). 0 or -EINVAL with @err.
 */
int config_validate(const struct vm_config *cfg, char *err, size_t errlen);

const char *config_action_name(enum config_action a);

#endif /* HVKVM_CONFIG_H */
