/* SPDX-License-Identifier: MIT */
/*
 * config internals shared by the XML reader (config_xml*.c), the
 * command-line value parsers (config_args.c) and config.c. Not for use
 * outside src/config/.
 */
#ifndef HVKVM_CONFIG_PRIV_H
#define HVKVM_CONFIG_PRIV_H

#include <stdarg.h>

#include "hvkvm/config.h"
#include "hvkvm/util.h"

/* Limits that are ours rather than the interface's. */
#define CONFIG_XML_MAX (1024 * 1024)   /* biggest XML file we read */
#define CONFIG_MIN_MEMORY MiB	       /* the legacy PC first megabyte */
#define CONFIG_MAX_MEMORY (1024 * GiB) /* Hyper-V Gen1 limit: 1 TiB */
#define CONFIG_IDE_SLOTS 4	       /* 2 channels x master/slave */
#define CONFIG_SCSI_SLOTS 64	       /* storvsc targets we number */
#define CONFIG_SPINLOCK_MIN 0xfff      /* libvirt: retries >= 4095 */
#define CONFIG_TAP_MAX 16	       /* IFNAMSIZ */

/* Write one line into @err (if any); returns -EINVAL for convenience. */
int config_err(char *err, size_t errlen, const char *fmt, ...) PRINTF(3, 4);
int config_verr(char *err, size_t errlen, const char *fmt, va_list ap)
	PRINTF(3, 0);

/* Copy @src into @dst of @size, truncating (callers check lengths). */
static inline void config_copy(char *dst, size_t size, const char *src)
{
	size_t len = strnlen(src, size - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Replace *@dst by a copy of @s (NULL clears). 0 or -ENOMEM. */
int config_set_str(char **dst, const char *s);

/*
 * An unsigned number up to @max: decimal digits only, or "0x" and hex digits
 * when @hex (never octal: "010" is ten, as libvirt reads it). 0, -EINVAL,
 * -ERANGE.
 */
int config_parse_num(const char *s, uint64_t max, bool hex, uint64_t *out);

/* "52:54:00:12:34:56" (':' or '-' separated hex). 0 or -EINVAL. */
int config_parse_mac(const char *s, uint8_t mac[6]);

/*
 * A libvirt scaled integer: @num with @unit (NULL/"" = @dflt_scale bytes).
 * Units b, bytes, k/K/KiB (1024), KB (1000) ... up to E/EiB/EB.
 * 0, -EINVAL (bad number/unit) or -ERANGE (does not fit 64 bits).
 */
int config_scale_size(const char *num, const char *unit, uint64_t dflt_scale,
		      uint64_t *out);

/*
 * Append @d (whose path is taken over on success) to @cfg's disks. Picks
 * a free target name when d->target is empty. 0 or -E2BIG / -EEXIST with
 * the reason in @err.
 */
int config_add_disk(struct vm_config *cfg, struct config_disk *d, char *err,
		    size_t errlen);
int config_add_nic(struct vm_config *cfg, const struct config_nic *n, char *err,
		   size_t errlen);

/* Bus a target name belongs to ("hdb" -> IDE, "sdc" -> SCSI); -1 if none. */
int config_target_bus(const char *target);
/* Slot number of a target ("hda" = 0, "sdab" = 27); -1 if malformed. */
int config_target_index(const char *target);

/* Append a boot device: 0, -EEXIST (listed already) or -E2BIG. */
int config_boot_add(enum config_boot_dev *order, unsigned int *nr,
		    enum config_boot_dev d);

/* Every enlightenment we implement on (mode='passthrough', --hyperv all). */
void config_hyperv_all(struct config_hyperv *hv);
/* Recompute hv->enabled from the individual flags. */
void config_hyperv_update(struct config_hyperv *hv);

#endif /* HVKVM_CONFIG_PRIV_H */
