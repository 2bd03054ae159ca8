// SPDX-License-Identifier: GPL-2.0
/*
 * hvkvm built-in guest test module.
 *
 * Built into the hvkvm test kernel (drivers/misc/hvkvm_test.c, see
 * tests/guest/build-kernel.sh). A late initcall runs the checks named in
 * hvkvm_test.checks= on the kernel command line, synchronously, before the
 * kernel looks for a root file system, and prints one machine-parsable line
 * per check on the console:
 *
 *   HVKVM-TEST: <check> START
 *   HVKVM-TEST: <check> PASS|FAIL <detail>
 *   HVKVM-TEST: DONE pass=N fail=M
 *
 * and then powers the machine off through ACPI unless hvkvm_test.poweroff=0.
 * The "console" check is an interactive mini shell on /dev/console (guest
 * userspace cannot run under the test machines' software KVM).
 *
 * To add a check: write `static int __init hvt_check_foo(char *d, size_t n)`
 * returning 0 for PASS or -errno for FAIL with a one-line detail in d, and
 * add it to hvt_checks[] below. Document it in docs/test-guest.md.
 */
#include <linux/async.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/device/driver.h>
#include <linux/dmi.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/init_syscalls.h>
#include <linux/initrd.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/kdev_t.h>
#include <linux/kernel.h>
#include <linux/kmsg_dump.h>
#include <linux/ktime.h>
#include <linux/major.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mount.h>
#include <linux/netdevice.h>
#include <linux/inetdevice.h>
#include <linux/rtnetlink.h>
#include <net/net_namespace.h>
#include <linux/printk.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysrq.h>
#include <linux/timekeeping.h>
#include <asm/apic.h>
#include <asm/unaligned.h>
#include <asm/e820/api.h>
#include <asm/hardirq.h>
#include <asm/hypervisor.h>
#include <asm/msr.h>
#include <asm/processor.h>
#if IS_ENABLED(CONFIG_HYPERV)
#include <linux/hyperv.h>
#include <asm/mshyperv.h>
#include <clocksource/hyperv_timer.h>
#endif

#define HVT_TAG "HVKVM-TEST: "
#define HVT_DETAIL_LEN 256
#define HVT_LINE_LEN 256

/* Command line: hvkvm_test.<name>=<value> */
static char *checks;
module_param(checks, charp, 0444);
MODULE_PARM_DESC(checks, "comma-separated checks to run, in order");
static bool poweroff = true;
module_param(poweroff, bool, 0444);
MODULE_PARM_DESC(poweroff, "power off through ACPI when the checks are done");
static unsigned int settle_ms;
module_param(settle_ms, uint, 0444);
MODULE_PARM_DESC(settle_ms, "wait this long before the first check");
static unsigned int cpus;
module_param(cpus, uint, 0444);
MODULE_PARM_DESC(cpus, "expected number of online CPUs (0: any)");
static unsigned int mem_mb;
module_param(mem_mb, uint, 0444);
MODULE_PARM_DESC(mem_mb, "expected guest RAM in MiB (0: any)");
static unsigned int mem_tol_mb = 4;
module_param(mem_tol_mb, uint, 0444);
MODULE_PARM_DESC(mem_tol_mb, "how much less RAM than mem_mb may be seen");
static char *clocksource;
module_param(clocksource, charp, 0444);
MODULE_PARM_DESC(clocksource, "expected current clocksource name");
static bool vmbus;
module_param(vmbus, bool, 0444);
MODULE_PARM_DESC(vmbus, "hyperv check also requires a VMBus connection");
static unsigned int timer_secs = 3;
module_param(timer_secs, uint, 0444);
MODULE_PARM_DESC(timer_secs, "length of the timer check in seconds");
static unsigned int timer_tol_pct = 5;
module_param(timer_tol_pct, uint, 0444);
MODULE_PARM_DESC(timer_tol_pct, "allowed disagreement between time sources");
static unsigned int timer_late_ms = 1000;
module_param(timer_late_ms, uint, 0444);
MODULE_PARM_DESC(timer_late_ms, "how late the msleep() wake-up may be");
static char *clockevent;
module_param(clockevent, charp, 0444);
MODULE_PARM_DESC(clockevent, "expected clock event device of every CPU");
static unsigned int drift_secs = 10;
module_param(drift_secs, uint, 0444);
MODULE_PARM_DESC(drift_secs, "length of the reference-time drift check");
static unsigned int drift_max_us = 1000;
module_param(drift_max_us, uint, 0444);
MODULE_PARM_DESC(drift_max_us, "allowed drift of the TSC page from the host");
static unsigned int spin_secs = 5;
module_param(spin_secs, uint, 0444);
MODULE_PARM_DESC(spin_secs, "length of the spinlock stress check");
static char *vmbus_devs;
module_param(vmbus_devs, charp, 0444);
MODULE_PARM_DESC(vmbus_devs, "expected VMBus devices: CLASS-GUID[:DRIVER],...");
static unsigned int net_hold_secs = 30;
module_param(net_hold_secs, uint, 0444);
MODULE_PARM_DESC(net_hold_secs, "net: seconds to stay up for the host's pings");
static unsigned int blk_gone_disks;
module_param(blk_gone_disks, uint, 0444);
MODULE_PARM_DESC(blk_gone_disks, "blk_gone: sd disks left after a hot-remove");
static char *blk_disks;
module_param(blk_disks, charp, 0444);
MODULE_PARM_DESC(
	blk_disks,
	"blk: disks to check, NAME[:ro],... (e.g. sda,sr0:ro; * = the sd disk with that disk's host pattern)");
static unsigned int blk_seed = 1;
module_param(blk_seed, uint, 0444);
MODULE_PARM_DESC(blk_seed,
		 "blk: pattern seed of the first disk (+16 per disk)");
static unsigned int blk_write_lba = 2048;
module_param(blk_write_lba, uint, 0444);
MODULE_PARM_DESC(blk_write_lba, "blk: first sector the guest writes");
static char *ata_xfer;
module_param(ata_xfer, charp, 0444);
MODULE_PARM_DESC(
	ata_xfer,
	"ata_modes: every ATA/ATAPI device's xfer_mode starts so (e.g. UDMA)");
static char *blkperf_disk;
module_param(blkperf_disk, charp, 0444);
MODULE_PARM_DESC(blkperf_disk, "blkperf: the disks to drive (e.g. sda,sdb)");
static unsigned int blkperf_ios = 1024;
module_param(blkperf_ios, uint, 0444);
MODULE_PARM_DESC(blkperf_ios, "blkperf: requests per phase");
static char *blkperf_jobs = "randread:4:1,randwrite:4:1";
module_param(blkperf_jobs, charp, 0444);
MODULE_PARM_DESC(
	blkperf_jobs,
	"blkperf: jobs KIND:KIB:QD, KIND randread|randwrite|read|write");
static unsigned int blkperf_span_mb = 100;
module_param(blkperf_span_mb, uint, 0444);
MODULE_PARM_DESC(blkperf_span_mb, "blkperf: MiB of each disk the jobs cover");
static char *dmi_vendor;
module_param(dmi_vendor, charp, 0444);
MODULE_PARM_DESC(dmi_vendor, "dmi: expected DMI sys_vendor");
static char *dmi_product;
module_param(dmi_product, charp, 0444);
MODULE_PARM_DESC(dmi_product, "dmi: expected DMI product_name");
static char *dmi_uuid;
module_param(dmi_uuid, charp, 0444);
MODULE_PARM_DESC(dmi_uuid, "dmi: expected DMI product_uuid (any case)");
static char *dmi_serial;
module_param(dmi_serial, charp, 0444);
MODULE_PARM_DESC(dmi_serial, "dmi: expected DMI product_serial");
static unsigned int blk_wait_secs = 120;
module_param(blk_wait_secs, uint, 0444);
MODULE_PARM_DESC(blk_wait_secs,
		 "blk: how long to wait for each disk to appear");

struct hvt_check {
	const char *name;
	int (*run)(char *detail, size_t size);
	const char *help;
};

static int __init hvt_check_cpus(char *d, size_t n);
static int __init hvt_check_mem(char *d, size_t n);
static int __init hvt_check_hyperv(char *d, size_t n);
static int __init hvt_check_dmi(char *d, size_t n);
static int __init hvt_check_clocksource(char *d, size_t n);
static int __init hvt_check_timer(char *d, size_t n);
static int __init hvt_check_console(char *d, size_t n);
static int __init hvt_check_clockevent(char *d, size_t n);
static int __init hvt_check_refdrift(char *d, size_t n);
static int __init hvt_check_spinlock(char *d, size_t n);
static int __init hvt_check_vmbus_devices(char *d, size_t n);
static int __init hvt_check_guest_idle(char *d, size_t n);
static int __init hvt_check_blk(char *d, size_t n);
static int __init hvt_check_ata_modes(char *d, size_t n);
static int __init hvt_check_blkperf(char *d, size_t n);
static int __init hvt_check_blk_gone(char *d, size_t n);
static int __init hvt_check_net(char *d, size_t n);

static const struct hvt_check hvt_checks[] __initconst = {
	{ "cpus", hvt_check_cpus, "online CPUs == hvkvm_test.cpus" },
	{ "mem", hvt_check_mem, "e820 RAM ~= hvkvm_test.mem_mb" },
	{ "hyperv", hvt_check_hyperv, "running on Microsoft Hyper-V" },
	{ "dmi", hvt_check_dmi,
	  "SMBIOS sys_vendor/product_name/product_uuid/product_serial == hvkvm_test.dmi_*" },
	{ "clocksource", hvt_check_clocksource,
	  "current clocksource == hvkvm_test.clocksource" },
	{ "timer", hvt_check_timer,
	  "ktime, jiffies, Hyper-V reference time agree" },
	{ "clockevent", hvt_check_clockevent,
	  "every CPU's clock event device == hvkvm_test.clockevent" },
	{ "refdrift", hvt_check_refdrift,
	  "TSC page vs host reference counter drift <= drift_max_us" },
	{ "spinlock", hvt_check_spinlock,
	  "all CPUs hammer one spinlock (plus IPIs) for spin_secs" },
	{ "guest_idle", hvt_check_guest_idle,
	  "reading GUEST_IDLE with IRQs off returns once one is pending" },
	{ "vmbus_devices", hvt_check_vmbus_devices,
	  "/sys/bus/vmbus/devices has hvkvm_test.vmbus_devs, bound" },
	{ "blk", hvt_check_blk,
	  "hvkvm_test.blk_disks: host patterns read, guest patterns written, flushed, read back" },
	{ "net", hvt_check_net,
	  "an interface got IPv4 by autoconfiguration; stay up net_hold_secs for host pings" },
	{ "blk_gone", hvt_check_blk_gone,
	  "waits until hvkvm_test.blk_gone_disks sd disks are left (hot-remove)" },
	{ "ata_modes", hvt_check_ata_modes,
	  "every libata device's negotiated xfer_mode starts with hvkvm_test.ata_xfer" },
	{ "blkperf", hvt_check_blkperf,
	  "blkperf_jobs of blkperf_ios requests on each blkperf_disk, between MARK lines" },
	{ "console", hvt_check_console, "interactive shell on /dev/console" },
};

static int hvt_pass;
static int hvt_fail;

/* ---- helpers ------------------------------------------------------------ */

static const struct hvt_check __init *hvt_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hvt_checks); i++)
		if (!strcmp(hvt_checks[i].name, name))
			return &hvt_checks[i];
	return NULL;
}

/* Runs one check and prints its START and PASS/FAIL lines. */
static int __init hvt_run(const char *name)
{
	const struct hvt_check *c = hvt_find(name);
	char *detail;
	int ret;

	pr_info(HVT_TAG "%s START\n", name);
	if (!c) {
		pr_info(HVT_TAG "%s FAIL unknown check\n", name);
		hvt_fail++;
		return -ENOENT;
	}
	detail = kzalloc(HVT_DETAIL_LEN, GFP_KERNEL);
	if (!detail) {
		pr_info(HVT_TAG "%s FAIL out of memory\n", name);
		hvt_fail++;
		return -ENOMEM;
	}
	ret = c->run(detail, HVT_DETAIL_LEN);
	pr_info(HVT_TAG "%s %s %s\n", name, ret ? "FAIL" : "PASS", detail);
	if (ret)
		hvt_fail++;
	else
		hvt_pass++;
	kfree(detail);
	return ret;
}

/*
 * A private sysfs mount: no file system is mounted anywhere while
 * initcalls run. kern_unmount() it when done.
 */
static struct vfsmount __init *hvt_sysfs_mount(void)
{
	struct file_system_type *type;
	struct vfsmount *mnt;

	type = get_fs_type("sysfs");
	if (!type)
		return ERR_PTR(-ENODEV);
	mnt = vfs_kern_mount(type, SB_KERNMOUNT, "sysfs", NULL);
	put_filesystem(type);
	return mnt;
}

/* Reads @path below @mnt; returns the length, whitespace trimmed, or -errno. */
static ssize_t __init hvt_read_at(struct vfsmount *mnt, const char *path,
				  char *buf, size_t size)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t len;

	f = file_open_root_mnt(mnt, path, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	len = kernel_read(f, buf, size - 1, &pos);
	fput(f);
	if (len >= 0) {
		buf[len] = '\0';
		len = strlen(strim(buf));
		memmove(buf, strim(buf), len + 1);
	}
	return len;
}

/* Reads one sysfs attribute, e.g. "devices/system/cpu/online". */
static ssize_t __init hvt_read_sysfs(const char *path, char *buf, size_t size)
{
	struct vfsmount *mnt = hvt_sysfs_mount();
	ssize_t len;

	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	len = hvt_read_at(mnt, path, buf, size);
	kern_unmount(mnt);
	return len;
}

struct hvt_mem {
	u64 ram;      /* E820 RAM, bytes */
	u64 ram_low;  /* of which below 1 MiB */
	u64 acpi;     /* ACPI tables + NVS */
	u64 reserved; /* everything else */
	u64 memblock; /* memblock's view of RAM */
	u64 managed;  /* pages the page allocator got */
	u64 free;
};

static void __init hvt_mem_get(struct hvt_mem *m)
{
	struct sysinfo si;
	u32 i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < e820_table->nr_entries; i++) {
		const struct e820_entry *e = &e820_table->entries[i];

		switch (e->type) {
		case E820_TYPE_RAM:
		case E820_TYPE_RESERVED_KERN:
			m->ram += e->size;
			if (e->addr < SZ_1M)
				m->ram_low +=
					min_t(u64, e->size, SZ_1M - e->addr);
			break;
		case E820_TYPE_ACPI:
		case E820_TYPE_NVS:
			m->acpi += e->size;
			break;
		default:
			m->reserved += e->size;
			break;
		}
	}
	m->memblock = memblock_phys_mem_size();
	si_meminfo(&si);
	m->managed = (u64)si.totalram * si.mem_unit;
	m->free = (u64)si.freeram * si.mem_unit;
}

/* ---- checks --------------------------------------------------------------- */

static int __init hvt_check_cpus(char *d, size_t n)
{
	unsigned int online = num_online_cpus();

	scnprintf(d, n, "online=%u expected=%u possible=%u present=%u", online,
		  cpus, num_possible_cpus(), num_present_cpus());
	if (cpus && online != cpus)
		return -EINVAL;
	return 0;
}

static int __init hvt_check_mem(char *d, size_t n)
{
	u64 expected = (u64)mem_mb * SZ_1M;
	struct hvt_mem m;

	hvt_mem_get(&m);
	scnprintf(
		d, n,
		"e820_ram_kib=%llu below_1m_kib=%llu acpi_kib=%llu reserved_kib=%llu memblock_kib=%llu managed_kib=%llu expected_mib=%u tol_mib=%u missing_kib=%lld",
		m.ram >> 10, m.ram_low >> 10, m.acpi >> 10, m.reserved >> 10,
		m.memblock >> 10, m.managed >> 10, mem_mb, mem_tol_mb,
		mem_mb ? ((s64)expected - (s64)m.ram) / 1024 : 0LL);
	if (!m.ram)
		return -ENOMEM;
	if (!mem_mb)
		return 0;
	/* The VMM may keep some RAM back (<1 MiB holes, ACPI), never add. */
	if (m.ram > expected || expected - m.ram > (u64)mem_tol_mb * SZ_1M)
		return -ERANGE;
	return 0;
}

static int __init hvt_check_hyperv(char *d, size_t n)
{
	u32 max_leaf, sig[3];
	char vendor[13];
	size_t len;

	cpuid(0x40000000, &max_leaf, &sig[0], &sig[1], &sig[2]);
	memcpy(vendor, sig, 12);
	vendor[12] = '\0';
	len = scnprintf(d, n, "type=%d sig=\"%s\" max_leaf=%#x", x86_hyper_type,
			vendor, max_leaf);
#if IS_ENABLED(CONFIG_HYPERV)
	len += scnprintf(
		d + len, n - len,
		" features=%#x priv_high=%#x misc=%#x hints=%#x max_vp=%u max_lp=%u vmbus=%u.%u",
		ms_hyperv.features, ms_hyperv.priv_high,
		ms_hyperv.misc_features, ms_hyperv.hints,
		ms_hyperv.max_vp_index, ms_hyperv.max_lp_index,
		vmbus_proto_version >> 16, vmbus_proto_version & 0xffff);
	if (!hypervisor_is_type(X86_HYPER_MS_HYPERV))
		return -ENODEV;
	if (vmbus && !vmbus_proto_version)
		return -ENOTCONN;
	return 0;
#else
	scnprintf(d + len, n - len, " (kernel without CONFIG_HYPERV)");
	return -EOPNOTSUPP;
#endif
}

/* A DMI field against the expected value (NULL: only print it). */
static int __init hvt_dmi_field(int field, const char *want, bool icase,
				const char *name, char *d, size_t n,
				size_t *len)
{
	const char *got = dmi_get_system_info(field);

	*len += scnprintf(d + *len, n - *len, "%s%s=\"%s\"", *len ? " " : "",
			  name, got ? got : "(none)");
	if (!want)
		return 0;
	if (!got || (icase ? strcasecmp(got, want) : strcmp(got, want)))
		return -EINVAL;
	return 0;
}

static int __init hvt_check_dmi(char *d, size_t n)
{
	size_t len = 0;
	int r = 0;

	if (!dmi_available) {
		scnprintf(d, n, "no SMBIOS entry point found");
		return -ENODEV;
	}
	r |= hvt_dmi_field(DMI_SYS_VENDOR, dmi_vendor, false, "vendor", d, n,
			   &len);
	r |= hvt_dmi_field(DMI_PRODUCT_NAME, dmi_product, false, "product", d,
			   n, &len);
	r |= hvt_dmi_field(DMI_PRODUCT_UUID, dmi_uuid, true, "uuid", d, n,
			   &len);
	r |= hvt_dmi_field(DMI_PRODUCT_SERIAL, dmi_serial, false, "serial", d,
			   n, &len);
	hvt_dmi_field(DMI_PRODUCT_VERSION, NULL, false, "version", d, n, &len);
	hvt_dmi_field(DMI_BIOS_VENDOR, NULL, false, "bios", d, n, &len);
	hvt_dmi_field(DMI_BIOS_VERSION, NULL, false, "bios_version", d, n,
		      &len);
	return r ? -EINVAL : 0;
}

static int __init hvt_check_clocksource(char *d, size_t n)
{
	char cur[64];
	ssize_t ret;

	ret = hvt_read_sysfs(
		"devices/system/clocksource/clocksource0/current_clocksource",
		cur, sizeof(cur));
	if (ret < 0) {
		scnprintf(d, n, "cannot read current_clocksource: %zd", ret);
		return ret;
	}
	scnprintf(d, n, "current=%s expected=%s", cur,
		  clocksource ? clocksource : "(any)");
	if (clocksource && strcmp(cur, clocksource))
		return -EINVAL;
	return 0;
}

static bool __init hvt_refcount_get(u64 *val)
{
#if IS_ENABLED(CONFIG_HYPERV)
	if (hypervisor_is_type(X86_HYPER_MS_HYPERV) &&
	    (ms_hyperv.features & HV_MSR_TIME_REF_COUNT_AVAILABLE))
		return !rdmsrl_safe(HV_X64_MSR_TIME_REF_COUNT, val);
#endif
	return false;
}

/* Disagreement of b from a in per mille of a. */
static u64 __init hvt_permille(u64 a, u64 b)
{
	u64 diff = a > b ? a - b : b - a;

	return a ? div64_u64(diff * 1000, a) : 1000;
}

static int __init hvt_check_timer(char *d, size_t n)
{
	u64 t0, t1, ref0 = 0, ref1 = 0, kt_ns, jf_ns, ref_ns = 0;
	u64 want_ns = (u64)timer_secs * NSEC_PER_SEC;
	u64 tol = (u64)timer_tol_pct * 10;
	unsigned long j0, j1;
	bool have_ref;
	size_t len;
	int ret = 0;

	have_ref = hvt_refcount_get(&ref0);
	t0 = ktime_get_ns();
	j0 = jiffies;
	msleep(timer_secs * 1000U);
	j1 = jiffies;
	t1 = ktime_get_ns();
	have_ref = have_ref && hvt_refcount_get(&ref1);

	kt_ns = t1 - t0;
	jf_ns = (u64)jiffies_to_usecs(j1 - j0) * NSEC_PER_USEC;
	len = scnprintf(d, n, "slept_ms=%u ktime_ms=%llu jiffies_ms=%llu",
			timer_secs * 1000U, div_u64(kt_ns, NSEC_PER_MSEC),
			div_u64(jf_ns, NSEC_PER_MSEC));
	if (have_ref) {
		ref_ns = (ref1 - ref0) * 100;
		len += scnprintf(d + len, n - len, " hv_ref_ms=%llu",
				 div_u64(ref_ns, NSEC_PER_MSEC));
	}
	scnprintf(d + len, n - len, " tol_pct=%u late_ms=%u", timer_tol_pct,
		  timer_late_ms);

	/*
	 * msleep() never undersleeps; it oversleeps by the wake-up latency,
	 * which is large under an emulating KVM on a loaded host.
	 */
	if (kt_ns < want_ns ||
	    kt_ns - want_ns > (u64)timer_late_ms * NSEC_PER_MSEC)
		ret = -ETIME;
	/* Jiffies agree with ktime to a tick or two plus the tolerance. */
	if (jf_ns + 2 * TICK_NSEC < kt_ns &&
	    hvt_permille(kt_ns, jf_ns + 2 * TICK_NSEC) > tol)
		ret = -ETIME;
	if (jf_ns > kt_ns + 2 * TICK_NSEC &&
	    hvt_permille(kt_ns, jf_ns - 2 * TICK_NSEC) > tol)
		ret = -ETIME;
	if (have_ref && hvt_permille(ref_ns, kt_ns) > tol)
		ret = -ETIME;
	return ret;
}

static int __init hvt_check_clockevent(char *d, size_t n)
{
	char path[96], cur[64];
	unsigned int cpu, ok = 0, bad = 0;
	size_t len = 0;
	ssize_t ret;

	for_each_online_cpu(cpu)
	{
		unsigned int irqs = 0;

		snprintf(
			path, sizeof(path),
			"devices/system/clockevents/clockevent%u/current_device",
			cpu);
		ret = hvt_read_sysfs(path, cur, sizeof(cur));
		if (ret < 0)
			scnprintf(cur, sizeof(cur), "error%zd", ret);
#if IS_ENABLED(CONFIG_HYPERV)
		irqs = per_cpu(irq_stat, cpu).hyperv_stimer0_count;
#endif
		if (!clockevent || !strcmp(cur, clockevent))
			ok++;
		else
			bad++;
		/* Only the first CPUs' names fit the line; all are judged. */
		if (cpu < 4)
			len += scnprintf(d + len, n - len,
					 "cpu%u=\"%s\" stimer0_irqs=%u ", cpu,
					 cur, irqs);
			/* Direct-mode stimer0 ticks count in HVS of /proc/interrupts. */
#if IS_ENABLED(CONFIG_HYPERV)
		if (clockevent && !strcmp(clockevent, "Hyper-V clockevent") &&
		    ms_hyperv.misc_features & HV_STIMER_DIRECT_MODE_AVAILABLE &&
		    !irqs)
			bad++;
#endif
	}
	scnprintf(d + len, n - len, "ok=%u bad=%u expected=\"%s\"", ok, bad,
		  clockevent ? clockevent : "(any)");
	return bad ? -EINVAL : 0;
}

#if IS_ENABLED(CONFIG_HYPERV)
/*
 * One (TSC page, host counter) pair: the MSR read exits to the VMM, which
 * answers from the host clock; it is bracketed by two TSC page reads and
 * paired with their midpoint. *width is the bracket, in 100 ns units.
 */
static int __init hvt_ref_pair(s64 *offset, u64 *width)
{
	u64 best = U64_MAX, a, b, msr;
	int i;

	for (i = 0; i < 50; i++) {
		unsigned long flags;

		local_irq_save(flags);
		a = hv_read_reference_counter();
		if (rdmsrl_safe(HV_X64_MSR_TIME_REF_COUNT, &msr)) {
			local_irq_restore(flags);
			return -EIO;
		}
		b = hv_read_reference_counter();
		local_irq_restore(flags);
		if (b < a)
			return -ERANGE; /* the TSC page went backwards */
		if (b - a < best) {
			best = b - a;
			*offset = (s64)(msr - (a + (b - a) / 2));
		}
		if (best <= 500) /* 50 us is as good as it gets here */
			break;
	}
	*width = best;
	return 0;
}
#endif

static int __init hvt_check_refdrift(char *d, size_t n)
{
#if IS_ENABLED(CONFIG_HYPERV)
	s64 off0, off1, drift;
	u64 w0, w1, k0, k1;
	int ret;

	if (!hypervisor_is_type(X86_HYPER_MS_HYPERV) || !hv_get_tsc_page() ||
	    !(ms_hyperv.features & HV_MSR_TIME_REF_COUNT_AVAILABLE)) {
		scnprintf(d, n, "no TSC page or reference counter");
		return -ENODEV;
	}
	ret = hvt_ref_pair(&off0, &w0);
	k0 = ktime_get_ns();
	if (!ret) {
		msleep(drift_secs * 1000U);
		ret = hvt_ref_pair(&off1, &w1);
	}
	k1 = ktime_get_ns();
	if (ret) {
		scnprintf(d, n, "sampling failed: %d", ret);
		return ret;
	}
	/* 100 ns units; the sampling error is at most half of each bracket. */
	drift = off1 - off0;
	scnprintf(d, n,
		  "over_ms=%llu drift_ns=%lld bracket_us=%llu,%llu max_us=%u",
		  div_u64(k1 - k0, NSEC_PER_MSEC), drift * 100, div_u64(w0, 10),
		  div_u64(w1, 10), drift_max_us);
	if (abs(drift) > (s64)drift_max_us * 10)
		return -ETIME;
	return 0;
#else
	scnprintf(d, n, "kernel without CONFIG_HYPERV");
	return -EOPNOTSUPP;
#endif
}

#define HVT_IDLE_ROUNDS 20

/* Any vector requested in this CPU's LAPIC IRR (interrupts are off). */
static bool __init hvt_irr_pending(void)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (apic_read(APIC_IRR + i * 0x10))
			return true;
	return false;
}

/*
 * TLFS: a read of HV_X64_MSR_GUEST_IDLE idles the VP until an interrupt
 * arrives, even with RFLAGS.IF = 0. With interrupts off here, each read
 * must come back, mostly with the next tick already pending in the IRR
 * (hvkvm may also end an idle early: a spurious wake-up is allowed).
 */
static int __init hvt_check_guest_idle(char *d, size_t n)
{
#if IS_ENABLED(CONFIG_HYPERV)
	u64 t0, t1, v, sum = 0, lo = U64_MAX, hi = 0;
	unsigned int i, pending = 0;
	unsigned long flags;

	if (!(ms_hyperv.features & HV_MSR_GUEST_IDLE_AVAILABLE)) {
		scnprintf(d, n, "GUEST_IDLE not offered (features=%#x)",
			  ms_hyperv.features);
		return -ENODEV;
	}
	for (i = 0; i < HVT_IDLE_ROUNDS; i++) {
		local_irq_save(flags);
		t0 = hv_read_reference_counter();
		if (rdmsrl_safe(HV_X64_MSR_GUEST_IDLE, &v)) {
			local_irq_restore(flags);
			scnprintf(d, n, "rdmsr GUEST_IDLE faulted");
			return -EIO;
		}
		t1 = hv_read_reference_counter();
		if (hvt_irr_pending())
			pending++;
		local_irq_restore(flags);
		sum += t1 - t0;
		lo = min(lo, t1 - t0);
		hi = max(hi, t1 - t0);
	}
	/* 100 ns units -> us */
	scnprintf(
		d, n,
		"rounds=%u woke_with_irq_pending=%u idle_us_min=%llu avg=%llu max=%llu tick_us=%lu",
		HVT_IDLE_ROUNDS, pending, div_u64(lo, 10),
		div_u64(sum, 10 * HVT_IDLE_ROUNDS), div_u64(hi, 10),
		TICK_NSEC / NSEC_PER_USEC);
	/* A tick (4 ms at HZ=250) must end most idles; 1 s means a hang. */
	if (!pending || hi > 10 * 1000 * 1000)
		return -ETIME;
	return 0;
#else
	scnprintf(d, n, "kernel without CONFIG_HYPERV");
	return -EOPNOTSUPP;
#endif
}

/* ---- spinlock stress ------------------------------------------------------ */

struct hvt_spin {
	spinlock_t lock;
	unsigned long shared;	/* under lock */
	unsigned long deadline; /* jiffies */
	atomic_t running;
	atomic_t ipis;
	struct completion done;
	unsigned long count[NR_CPUS];
};

static void hvt_spin_ipi(void *arg)
{
	struct hvt_spin *sp = arg;

	atomic_inc(&sp->ipis);
}

static int hvt_spin_thread(void *arg)
{
	struct hvt_spin *sp = arg;
	unsigned int cpu = smp_processor_id(), next;
	unsigned long n = 0, flags;
	int i;

	while (time_before(jiffies, sp->deadline)) {
		/* Half the time with interrupts off, as drivers do. */
		if (n & 1)
			spin_lock_irqsave(&sp->lock, flags);
		else
			spin_lock(&sp->lock);
		sp->shared++;
		for (i = 0; i < 20; i++)
			cpu_relax();
		if (n & 1)
			spin_unlock_irqrestore(&sp->lock, flags);
		else
			spin_unlock(&sp->lock);
		n++;
		if (!(n % 64)) {
			next = cpumask_next_wrap(cpu, cpu_online_mask, cpu,
						 false);
			if (next < nr_cpu_ids && next != cpu)
				smp_call_function_single(next, hvt_spin_ipi, sp,
							 1);
			cond_resched();
		}
	}
	sp->count[cpu] = n;
	if (atomic_dec_and_test(&sp->running))
		complete(&sp->done);
	return 0;
}

static int __init hvt_check_spinlock(char *d, size_t n)
{
	unsigned long total = 0, lo = ULONG_MAX, hi = 0, left;
	unsigned int cpu, nr = 0, idle = 0;
	struct task_struct *t;
	struct hvt_spin *sp;
	int ret = 0;

	sp = kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		return -ENOMEM;
	spin_lock_init(&sp->lock);
	init_completion(&sp->done);
	cpus_read_lock();
	atomic_set(&sp->running, num_online_cpus());
	sp->deadline = jiffies + msecs_to_jiffies(spin_secs * 1000U);
	for_each_online_cpu(cpu)
	{
		t = kthread_create_on_cpu(hvt_spin_thread, sp, cpu,
					  "hvkvm-spin/%u");
		if (IS_ERR(t)) {
			ret = PTR_ERR(t);
			atomic_dec(&sp->running);
			continue;
		}
		wake_up_process(t);
		nr++;
	}
	cpus_read_unlock();
	/* Threads stop at the deadline; a hang shows as a time-out here. */
	left = wait_for_completion_timeout(
		&sp->done, msecs_to_jiffies((spin_secs + 300) * 1000U));
	if (!left) {
		scnprintf(d, n, "threads did not finish: %d of %u running",
			  atomic_read(&sp->running), nr);
		return -ETIMEDOUT; /* sp stays: the threads may still use it */
	}
	for_each_online_cpu(cpu)
	{
		total += sp->count[cpu];
		lo = min(lo, sp->count[cpu]);
		hi = max(hi, sp->count[cpu]);
		if (!sp->count[cpu])
			idle++;
	}
	scnprintf(
		d, n,
		"threads=%u secs=%u acquisitions=%lu shared=%lu min=%lu max=%lu ipis=%d starved=%u",
		nr, spin_secs, total, sp->shared, lo, hi,
		atomic_read(&sp->ipis), idle);
	if (!ret && (total != sp->shared || idle || nr != num_online_cpus()))
		ret = -EINVAL;
	kfree(sp);
	return ret;
}

/* ---- VMBus devices -------------------------------------------------------- */

#define HVT_MAX_VMBUS_DEVS 32

struct hvt_dirlist {
	struct dir_context ctx;
	unsigned int nr;
	char names[HVT_MAX_VMBUS_DEVS][40];
};

static bool hvt_dir_actor(struct dir_context *ctx, const char *name, int len,
			  loff_t off, u64 ino, unsigned int type)
{
	struct hvt_dirlist *l = container_of(ctx, struct hvt_dirlist, ctx);

	if (name[0] == '.' || l->nr >= HVT_MAX_VMBUS_DEVS)
		return true;
	strscpy(l->names[l->nr], name,
		min_t(size_t, len + 1, sizeof(l->names[0])));
	l->nr++;
	return true;
}

static int __init hvt_check_vmbus_devices(char *d, size_t n)
{
	struct hvt_dirlist *l;
	struct vfsmount *mnt;
	char *want, *p, *item, path[128], cls[64];
	unsigned int i, found = 0, missing = 0;
	size_t len = 0;
	struct file *f;
	int ret;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	want = kstrdup(vmbus_devs ? vmbus_devs : "", GFP_KERNEL);
	mnt = hvt_sysfs_mount();
	if (!l || !want || IS_ERR(mnt)) {
		ret = IS_ERR(mnt) ? PTR_ERR(mnt) : -ENOMEM;
		goto out_free;
	}
	f = file_open_root_mnt(mnt, "bus/vmbus/devices", O_RDONLY | O_DIRECTORY,
			       0);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		scnprintf(d, n, "no /sys/bus/vmbus/devices: %d", ret);
		goto out_umount;
	}
	l->ctx.actor = hvt_dir_actor;
	ret = iterate_dir(f, &l->ctx);
	fput(f);
	if (ret) {
		scnprintf(d, n, "cannot list /sys/bus/vmbus/devices: %d", ret);
		goto out_umount;
	}
	len = scnprintf(d, n, "devices=%u", l->nr);
	/* Each expected CLASS[:DRIVER]: some device of that class, bound. */
	p = want;
	while ((item = strsep(&p, ",")) != NULL) {
		char *drv = item;
		bool ok = false;

		strsep(&drv, ":");
		if (!*item)
			continue;
		for (i = 0; i < l->nr && !ok; i++) {
			snprintf(path, sizeof(path),
				 "bus/vmbus/devices/%s/class_id", l->names[i]);
			if (hvt_read_at(mnt, path, cls, sizeof(cls)) < 0)
				continue;
			/* sysfs prints the GUID in braces */
			if (strlen(cls) < 2 ||
			    strncasecmp(cls + 1, item, strlen(item)))
				continue;
			if (drv && *drv) {
				snprintf(path, sizeof(path),
					 "bus/vmbus/drivers/%s/%s", drv,
					 l->names[i]);
				f = file_open_root_mnt(mnt, path, O_PATH, 0);
				if (IS_ERR(f))
					continue;
				fput(f);
			}
			ok = true;
		}
		len += scnprintf(d + len, n - len, " %.8s%s%s=%s", item,
				 drv && *drv ? ":" : "", drv ? drv : "",
				 ok ? "ok" : "MISSING");
		if (ok)
			found++;
		else
			missing++;
	}
	ret = (missing || !found) ? -ENODEV : 0;
out_umount:
	if (!IS_ERR(mnt))
		kern_unmount(mnt);
out_free:
	kfree(want);
	kfree(l);
	return ret;
}

/* ---- console shell -------------------------------------------------------- */

struct hvt_shell {
	struct file *con;
	char line[HVT_LINE_LEN];
	bool done;
	bool poweroff;
	bool reboot;
};

static __printf(2, 3) void __init
	hvt_say(struct hvt_shell *sh, const char *fmt, ...)
{
	char buf[HVT_LINE_LEN];
	loff_t pos = 0;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vscnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kernel_write(sh->con, buf, len, &pos);
}

/* Reads one line (without its end of line); returns its length or -errno. */
static int __init hvt_read_line(struct hvt_shell *sh)
{
	size_t len = 0;
	int eofs = 0;

	for (;;) {
		loff_t pos = 0;
		ssize_t ret;
		char *nl;

		ret = kernel_read(sh->con, sh->line + len,
				  sizeof(sh->line) - 1 - len, &pos);
		if (ret < 0)
			return ret;
		if (ret == 0 && ++eofs > 3)
			return -EIO;
		len += ret;
		sh->line[len] = '\0';
		nl = strpbrk(sh->line, "\r\n");
		if (nl) {
			*nl = '\0';
			return nl - sh->line;
		}
		if (len == sizeof(sh->line) - 1)
			return len; /* over-long line: take what we have */
	}
}

static struct file __init *hvt_console_open(void)
{
	struct file *f;

	wait_for_initramfs();
	f = filp_open("/dev/console", O_RDWR | O_NOCTTY, 0);
	if (!IS_ERR(f))
		return f;
	/* No initramfs: make our own device node for the console. */
	init_mkdir("/dev", 0755);
	init_mknod("/dev/hvkvm-console", S_IFCHR | 0600,
		   new_encode_dev(MKDEV(TTYAUX_MAJOR, 1)));
	return filp_open("/dev/hvkvm-console", O_RDWR | O_NOCTTY, 0);
}

static void __init hvt_cmd_help(struct hvt_shell *sh, char *args)
{
	size_t i;

	static const char *const lines[] __initconst = {
		"help              this text",
		"echo ARGS         print ARGS",
		"cpus              online/possible/present CPUs",
		"mem               memory map summary",
		"uptime            time since boot",
		"dmesg [N]         last N kernel log lines (default 20)",
		"checks            list checks",
		"run CHECK         run one check, print its HVKVM-TEST lines",
		"sysrq KEY         magic SysRq KEY (sysrq c: crash the guest)",
		"exit              leave the shell, continue booting",
		"poweroff          power off (ACPI)",
		"reboot            reboot",
	};

	hvt_say(sh, "commands:\n");
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		hvt_say(sh, "  %s\n", lines[i]);
	hvt_say(sh, "checks:");
	for (i = 0; i < ARRAY_SIZE(hvt_checks); i++)
		hvt_say(sh, " %s", hvt_checks[i].name);
	hvt_say(sh, "\n");
}

static void __init hvt_cmd_echo(struct hvt_shell *sh, char *args)
{
	hvt_say(sh, "%s\n", args);
}

static void __init hvt_cmd_cpus(struct hvt_shell *sh, char *args)
{
	hvt_say(sh, "online %u possible %u present %u\n", num_online_cpus(),
		num_possible_cpus(), num_present_cpus());
}

static void __init hvt_cmd_mem(struct hvt_shell *sh, char *args)
{
	struct hvt_mem m;

	hvt_mem_get(&m);
	hvt_say(sh,
		"e820 ram %llu KiB (below 1 MiB %llu KiB), acpi %llu KiB, reserved %llu KiB\n",
		m.ram >> 10, m.ram_low >> 10, m.acpi >> 10, m.reserved >> 10);
	hvt_say(sh, "managed %llu KiB, free %llu KiB\n", m.managed >> 10,
		m.free >> 10);
}

static void __init hvt_cmd_uptime(struct hvt_shell *sh, char *args)
{
	u64 ns = ktime_get_boottime_ns();
	u32 rem;
	u64 s = div_u64_rem(ns, NSEC_PER_SEC, &rem);

	hvt_say(sh, "up %llu.%03u s, jiffies %llu\n", s, rem / 1000000U,
		get_jiffies_64() - INITIAL_JIFFIES);
}

static void __init hvt_cmd_dmesg(struct hvt_shell *sh, char *args)
{
	struct kmsg_dump_iter iter;
	unsigned int want = 20;
	size_t len, size = 8192;
	char *buf, *p, *tag;
	unsigned int lines = 0;

	if (*args && (kstrtouint(args, 0, &want) || !want)) {
		hvt_say(sh, "dmesg: bad line count '%s'\n", args);
		return;
	}
	buf = kmalloc(size, GFP_KERNEL);
	if (!buf)
		return;
	kmsg_dump_rewind(&iter);
	/* The newest records that fit into the buffer. */
	kmsg_dump_get_buffer(&iter, false, buf, size - 1, &len);
	buf[len] = '\0';
	for (p = buf + len; p > buf; p--)
		if (p[-1] == '\n' && p != buf + len && ++lines == want)
			break;
	while (*p) { /* hvt_say() has a line-sized buffer */
		char *nl = strchrnul(p, '\n');
		char c = *nl;

		*nl = '\0';
		/* A harness must not take old lines for new results. */
		tag = strstr(p, HVT_TAG);
		if (tag)
			memcpy(tag, "hvkvm-test", 10);
		hvt_say(sh, "%s\n", p);
		p = c ? nl + 1 : nl;
	}
	kfree(buf);
}

static void __init hvt_cmd_checks(struct hvt_shell *sh, char *args)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hvt_checks); i++)
		hvt_say(sh, "%-12s %s\n", hvt_checks[i].name,
			hvt_checks[i].help);
}

static void __init hvt_cmd_run(struct hvt_shell *sh, char *args)
{
	if (!*args || !strcmp(args, "console")) {
		hvt_say(sh, "usage: run CHECK (not console)\n");
		return;
	}
	hvt_run(args);
}

static void __init hvt_cmd_sysrq(struct hvt_shell *sh, char *args)
{
	if (strlen(args) != 1) {
		hvt_say(sh, "usage: sysrq KEY\n");
		return;
	}
	pr_info(HVT_TAG "console sysrq %c\n", args[0]);
	/* Like echo KEY > /proc/sysrq-trigger: no enable-mask check. */
	__handle_sysrq(args[0], false);
}

static void __init hvt_cmd_exit(struct hvt_shell *sh, char *args)
{
	sh->done = true;
}

static void __init hvt_cmd_poweroff(struct hvt_shell *sh, char *args)
{
	sh->done = true;
	sh->poweroff = true;
}

static void __init hvt_cmd_reboot(struct hvt_shell *sh, char *args)
{
	sh->done = true;
	sh->reboot = true;
}

static const struct {
	const char *name;
	void (*fn)(struct hvt_shell *sh, char *args);
} hvt_cmds[] __initconst = {
	{ "help", hvt_cmd_help },	  { "echo", hvt_cmd_echo },
	{ "cpus", hvt_cmd_cpus },	  { "mem", hvt_cmd_mem },
	{ "uptime", hvt_cmd_uptime },	  { "dmesg", hvt_cmd_dmesg },
	{ "checks", hvt_cmd_checks },	  { "run", hvt_cmd_run },
	{ "sysrq", hvt_cmd_sysrq },	  { "exit", hvt_cmd_exit },
	{ "poweroff", hvt_cmd_poweroff }, { "reboot", hvt_cmd_reboot },
};

static void __init hvt_shell_exec(struct hvt_shell *sh)
{
	char *cmd = strim(sh->line), *args;
	size_t i;

	if (!*cmd)
		return;
	args = cmd;
	strsep(&args, " \t");
	args = args ? skip_spaces(args) : "";
	for (i = 0; i < ARRAY_SIZE(hvt_cmds); i++) {
		if (!strcmp(cmd, hvt_cmds[i].name)) {
			hvt_cmds[i].fn(sh, args);
			return;
		}
	}
	hvt_say(sh, "%s: unknown command (try help)\n", cmd);
}

static int __init hvt_check_console(char *d, size_t n)
{
	struct hvt_shell *sh;
	int ret = 0;

	sh = kzalloc(sizeof(*sh), GFP_KERNEL);
	if (!sh)
		return -ENOMEM;
	sh->con = hvt_console_open();
	if (IS_ERR(sh->con)) {
		ret = PTR_ERR(sh->con);
		scnprintf(d, n, "cannot open the console: %d", ret);
		goto out_free;
	}
	pr_info(HVT_TAG "console READY\n");
	hvt_say(sh, "hvkvm test shell; type help\n");
	while (!sh->done) {
		hvt_say(sh, "hvkvm# ");
		ret = hvt_read_line(sh);
		if (ret < 0) {
			scnprintf(d, n, "console read failed: %d", ret);
			goto out_close;
		}
		hvt_shell_exec(sh);
	}
	ret = 0;
	scnprintf(d, n, "shell %s",
		  sh->poweroff ? "poweroff" :
		  sh->reboot   ? "reboot" :
				 "exit");
out_close:
	filp_close(sh->con, NULL);
	if (sh->reboot) {
		pr_info(HVT_TAG "console PASS %s\n", d);
		kernel_restart(NULL);
	}
	if (sh->poweroff) {
		pr_info(HVT_TAG "console PASS %s\n", d);
		pr_info(HVT_TAG "DONE pass=%d fail=%d\n", hvt_pass + 1,
			hvt_fail);
		kernel_power_off();
	}
out_free:
	kfree(sh);
	return ret;
}

/* ---- ata_modes: what libata negotiated --------------------------------- */

static int __init hvt_check_ata_modes(char *d, size_t n)
{
	char path[96], cls[16], mode[24], *m;
	unsigned int i, seen = 0, wrong = 0;
	struct hvt_dirlist *l;
	struct vfsmount *mnt;
	struct file *f;
	size_t len = 0;
	int ret;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	mnt = hvt_sysfs_mount();
	if (!l || IS_ERR(mnt)) {
		ret = IS_ERR(mnt) ? PTR_ERR(mnt) : -ENOMEM;
		goto out_free;
	}
	f = file_open_root_mnt(mnt, "class/ata_device", O_RDONLY | O_DIRECTORY,
			       0);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		scnprintf(d, n, "no /sys/class/ata_device: %d", ret);
		goto out_umount;
	}
	l->ctx.actor = hvt_dir_actor;
	ret = iterate_dir(f, &l->ctx);
	fput(f);
	for (i = 0; i < l->nr && !ret; i++) {
		snprintf(path, sizeof(path), "class/ata_device/%s/class",
			 l->names[i]);
		if (hvt_read_at(mnt, path, cls, sizeof(cls)) < 0)
			continue;
		if (strcmp(cls, "ata") && strcmp(cls, "atapi"))
			continue; /* an empty position ("unknown", "none") */
		snprintf(path, sizeof(path), "class/ata_device/%s/xfer_mode",
			 l->names[i]);
		if (hvt_read_at(mnt, path, mode, sizeof(mode)) < 0)
			continue;
		m = strncmp(mode, "XFER_", 5) ? mode : mode + 5;
		seen++;
		if (ata_xfer && *ata_xfer &&
		    strncmp(m, ata_xfer, strlen(ata_xfer)))
			wrong++;
		len += scnprintf(d + len, n - len, "%s%s(%s)=%s",
				 len ? " " : "", l->names[i], cls, m);
	}
	if (!ret && !seen) {
		scnprintf(d, n, "no ATA devices");
		ret = -ENODEV;
	} else if (!ret && wrong) {
		ret = -EIO;
	}
out_umount:
	if (!IS_ERR(mnt))
		kern_unmount(mnt);
out_free:
	kfree(l);
	return ret;
}

/* ---- blk: block I/O through the real driver stack ------------------------ */

/*
 * The pattern both sides know (tests/integration/guest_test.py writes it
 * into the image on the host): each 512-byte sector at LBA l with seed s is
 * "HVKVMPAT", le64 l, le64 s, then byte i = (l * 31 + s * 17 + i) & 0xff.
 * The host fills disk k with seed blk_seed + 16 * k; the guest writes its
 * ranges with that seed + 1, so after power-off the host can tell every
 * sector's author and find stray or lost writes.
 */
#define HVT_BLK_MAX_IO 128 /* sectors per request: 64 KiB */

static void hvt_pat_fill(u8 *p, u64 lba, u64 seed, unsigned int nsec)
{
	unsigned int s, i;

	for (s = 0; s < nsec; s++, lba++, p += 512) {
		memcpy(p, "HVKVMPAT", 8);
		put_unaligned_le64(lba, p + 8);
		put_unaligned_le64(seed, p + 16);
		for (i = 24; i < 512; i++)
			p[i] = (u8)(lba * 31 + seed * 17 + i);
	}
}

/* The first sector of @p that differs from the pattern, or -1. */
static long hvt_pat_check(const u8 *p, u64 lba, u64 seed, unsigned int nsec,
			  u8 *tmp)
{
	unsigned int s;

	for (s = 0; s < nsec; s++) {
		hvt_pat_fill(tmp, lba + s, seed, 1);
		if (memcmp(p + s * 512, tmp, 512))
			return s;
	}
	return -1;
}

static int __init hvt_blk_io(struct block_device *bdev, enum req_op op,
			     sector_t lba, u8 *buf, unsigned int nsec)
{
	unsigned int bytes = nsec * 512, off = 0;
	struct bio *bio;
	int ret;

	bio = bio_alloc(bdev, DIV_ROUND_UP(bytes, PAGE_SIZE) + 1, op,
			GFP_KERNEL);
	bio->bi_iter.bi_sector = lba;
	while (off < bytes) {
		unsigned int len = min_t(unsigned int, bytes - off,
					 PAGE_SIZE - offset_in_page(buf + off));

		if (bio_add_page(bio, virt_to_page(buf + off), len,
				 offset_in_page(buf + off)) != len) {
			bio_put(bio);
			return -EIO;
		}
		off += len;
	}
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

static struct block_device *__init hvt_blk_open(const char *name, bool rw,
						char *d, size_t n)
{
	unsigned long deadline = jiffies + blk_wait_secs * HZ;
	struct block_device *bdev;
	struct device *dev;
	dev_t devt;

	for (;;) {
		dev = class_find_device_by_name(&block_class, name);
		if (dev)
			break;
		if (time_after(jiffies, deadline)) {
			scnprintf(d, n, "%s: no such disk after %u s", name,
				  blk_wait_secs);
			return ERR_PTR(-ENODEV);
		}
		msleep(200);
	}
	devt = dev->devt;
	put_device(dev);
	bdev = blkdev_get_by_dev(devt, FMODE_READ | (rw ? FMODE_WRITE : 0),
				 NULL);
	if (IS_ERR(bdev))
		scnprintf(d, n, "%s: open failed: %ld", name, PTR_ERR(bdev));
	return bdev;
}

/*
 * "*" in blk_disks: the sd disk whose first sector carries the host
 * pattern of @seed, whichever name the guest gave it (disks on several
 * storvsc hosts get their names in probe order). Waits blk_wait_secs.
 */
struct hvt_blk_names {
	char name[16][DISK_NAME_LEN];
	unsigned int nr;
};

static int __init hvt_blk_name_cb(struct device *dev, void *data)
{
	struct hvt_blk_names *nl = data;
	const char *nm = dev_name(dev);

	/* Whole disks only: partitions end in a digit (sda1). */
	if (strncmp(nm, "sd", 2) || isdigit(nm[strlen(nm) - 1]) ||
	    nl->nr >= ARRAY_SIZE(nl->name))
		return 0;
	strscpy(nl->name[nl->nr++], nm, DISK_NAME_LEN);
	return 0;
}

static int __init hvt_blk_find(u64 seed, char *out, u8 *buf, char *d, size_t n)
{
	unsigned long deadline = jiffies + blk_wait_secs * HZ;
	struct hvt_blk_names *nl = kzalloc(sizeof(*nl), GFP_KERNEL);
	unsigned int i;

	if (!nl)
		return -ENOMEM;
	for (;;) {
		nl->nr = 0;
		class_for_each_device(&block_class, NULL, nl, hvt_blk_name_cb);
		for (i = 0; i < nl->nr; i++) {
			struct block_device *bdev;
			int ret;

			bdev = hvt_blk_open(nl->name[i], false, d, n);
			if (IS_ERR(bdev))
				continue;
			ret = hvt_blk_io(bdev, REQ_OP_READ, 0, buf, 1);
			blkdev_put(bdev, FMODE_READ);
			if (!ret && !memcmp(buf, "HVKVMPAT", 8) &&
			    get_unaligned_le64(buf + 8) == 0 &&
			    get_unaligned_le64(buf + 16) == seed) {
				strscpy(out, nl->name[i], DISK_NAME_LEN);
				kfree(nl);
				d[0] = 0;
				return 0;
			}
		}
		if (time_after(jiffies, deadline))
			break;
		msleep(500);
	}
	kfree(nl);
	scnprintf(d, n, "no sd disk holds the pattern of seed %llu after %u s",
		  seed, blk_wait_secs);
	return -ENODEV;
}

/*
 * blk_gone: wait until exactly blk_gone_disks sd disks are left (a
 * hot-removed disk has gone), up to blk_wait_secs.
 */
static int __init hvt_check_blk_gone(char *d, size_t n)
{
	unsigned long deadline = jiffies + blk_wait_secs * HZ;
	struct hvt_blk_names *nl = kzalloc(sizeof(*nl), GFP_KERNEL);
	unsigned int secs;
	int ret = 0;

	if (!nl)
		return -ENOMEM;
	for (;;) {
		nl->nr = 0;
		class_for_each_device(&block_class, NULL, nl, hvt_blk_name_cb);
		if (nl->nr == blk_gone_disks)
			break;
		if (time_after(jiffies, deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		msleep(200);
	}
	secs = jiffies_to_msecs(jiffies - (deadline - blk_wait_secs * HZ)) /
	       1000;
	scnprintf(d, n, "%u sd disk(s) after %u s%s", nl->nr, secs,
		  ret ? ", not hvkvm_test.blk_gone_disks" : "");
	kfree(nl);
	return ret;
}

/*
 * net: the first non-loopback interface with an IPv4 address (kernel IP
 * autoconfiguration, ip=dhcp, ran before us) is named with its driver and
 * address; then the guest stays up hvkvm_test.net_hold_secs so that the
 * host can ping it (the kernel answers ICMP echo without userspace), and
 * the packets it counted meanwhile are reported.
 */
static int __init hvt_check_net(char *d, size_t n)
{
	struct rtnl_link_stats64 s0, s1;
	struct net_device *dev, *found = NULL;
	struct in_device *in;
	__be32 addr = 0;
	const char *drv = "?";

	rtnl_lock();
	for_each_netdev(&init_net, dev)
	{
		if (dev->flags & IFF_LOOPBACK)
			continue;
		in = __in_dev_get_rtnl(dev);
		if (in && in->ifa_list) {
			addr = rtnl_dereference(in->ifa_list)->ifa_local;
			found = dev;
			dev_hold(dev);
			break;
		}
	}
	rtnl_unlock();
	if (!found) {
		scnprintf(d, n, "no interface got an IPv4 address");
		return -ENODEV;
	}
	if (found->dev.parent && found->dev.parent->driver)
		drv = found->dev.parent->driver->name;
	pr_info(HVT_TAG "net READY %s %pI4 %pM %s mtu=%u\n", found->name, &addr,
		found->dev_addr, drv, found->mtu);
	dev_get_stats(found, &s0);
	msleep(net_hold_secs * 1000);
	dev_get_stats(found, &s1);
	scnprintf(d, n, "%s=%pI4 driver=%s mac=%pM rx=%llu tx=%llu carrier=%d",
		  found->name, &addr, drv, found->dev_addr,
		  s1.rx_packets - s0.rx_packets, s1.tx_packets - s0.tx_packets,
		  netif_carrier_ok(found));
	dev_put(found);
	return 0;
}

/* Read @nsec host-pattern sectors at @lba; 0 or -EIO with the detail. */
static int __init hvt_blk_verify(struct block_device *bdev, const char *name,
				 u64 lba, unsigned int nsec, u64 seed, u8 *buf,
				 u8 *tmp, char *d, size_t n)
{
	long bad;
	int ret;

	ret = hvt_blk_io(bdev, REQ_OP_READ, lba, buf, nsec);
	if (ret) {
		scnprintf(d, n, "%s: read of %u at %llu failed: %d", name, nsec,
			  lba, ret);
		return ret;
	}
	bad = hvt_pat_check(buf, lba, seed, nsec, tmp);
	if (bad >= 0) {
		scnprintf(d, n,
			  "%s: sector %llu (seed %llu) has wrong data: %*phN",
			  name, lba + bad, seed, 24, buf + bad * 512);
		return -EIO;
	}
	return 0;
}

/* The guest's writes: mixed sizes, from one sector to 64 KiB. */
static const unsigned int hvt_blk_writes[] __initconst = {
	1, 8, 128, 3, 64, 16, 7, 128, 1, 32,
};

static int __init hvt_blk_disk(const char *name, bool rw, u64 seed, u8 *buf,
			       u8 *tmp, char *d, size_t n, size_t *len)
{
	unsigned int lbs, step, i, nsec, wrote = 0;
	struct block_device *bdev;
	char found[DISK_NAME_LEN];
	u64 cap, lba;
	int ret;

	if (!strcmp(name, "*")) {
		ret = hvt_blk_find(seed, found, buf, d + *len, n - *len);
		if (ret)
			return ret;
		name = found;
	}
	bdev = hvt_blk_open(name, rw, d + *len, n - *len);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	cap = bdev_nr_sectors(bdev);
	lbs = bdev_logical_block_size(bdev);
	step = lbs / 512; /* 4 for a CD's 2048-byte sectors */
	ret = -ENOSPC;
	if (!cap || cap < blk_write_lba + 1024 || step > 8) {
		scnprintf(d + *len, n - *len,
			  "%s: %llu sectors of %u bytes: too small", name, cap,
			  lbs);
		goto out_put;
	}
	/* Host patterns: the start, a 64 KiB read mid-disk, the very end. */
	ret = hvt_blk_verify(bdev, name, 0, 64, seed, buf, tmp, d + *len,
			     n - *len);
	if (!ret)
		ret = hvt_blk_verify(bdev, name, round_down(cap / 2, 8),
				     HVT_BLK_MAX_IO, seed, buf, tmp, d + *len,
				     n - *len);
	if (!ret)
		ret = hvt_blk_verify(bdev, name, cap - 8, 8, seed, buf, tmp,
				     d + *len, n - *len);
	if (ret || !rw)
		goto out_done;
	/* Guest patterns, then a flush, then everything read back. */
	lba = blk_write_lba;
	for (i = 0; i < ARRAY_SIZE(hvt_blk_writes); i++) {
		nsec = round_up(hvt_blk_writes[i], step);
		hvt_pat_fill(buf, lba, seed + 1, nsec);
		ret = hvt_blk_io(bdev, REQ_OP_WRITE, lba, buf, nsec);
		if (ret) {
			scnprintf(d + *len, n - *len,
				  "%s: write of %u at %llu failed: %d", name,
				  nsec, lba, ret);
			goto out_put;
		}
		lba += nsec;
		wrote += nsec;
	}
	ret = blkdev_issue_flush(bdev);
	if (ret) {
		scnprintf(d + *len, n - *len, "%s: flush failed: %d", name,
			  ret);
		goto out_put;
	}
	for (lba = blk_write_lba; lba < blk_write_lba + wrote; lba += nsec) {
		nsec = min_t(u64, HVT_BLK_MAX_IO, blk_write_lba + wrote - lba);
		ret = hvt_blk_verify(bdev, name, lba, nsec, seed + 1, buf, tmp,
				     d + *len, n - *len);
		if (ret)
			goto out_put;
	}
	/* The sector after the last write still holds the host's pattern. */
	ret = hvt_blk_verify(bdev, name, lba, 1, seed, buf, tmp, d + *len,
			     n - *len);
out_done:
	if (!ret)
		*len += scnprintf(d + *len, n - *len, "%s%s=%llux%u:%s",
				  *len ? " " : "", name, cap, lbs,
				  rw ? "rw" : "ro");
	if (!ret && rw)
		*len += scnprintf(d + *len, n - *len, ",wrote=%u@%u,flushed",
				  wrote, blk_write_lba);
out_put:
	blkdev_put(bdev, FMODE_READ | (rw ? FMODE_WRITE : 0));
	return ret;
}

static int __init hvt_check_blk(char *d, size_t n)
{
	char *list, *p, *item;
	unsigned int k = 0;
	size_t len = 0;
	u8 *buf, *tmp;
	int ret = 0;

	if (!blk_disks || !*blk_disks) {
		scnprintf(d, n, "no hvkvm_test.blk_disks given");
		return -EINVAL;
	}
	buf = kmalloc(HVT_BLK_MAX_IO * 512, GFP_KERNEL);
	tmp = kmalloc(512, GFP_KERNEL);
	list = kstrdup(blk_disks, GFP_KERNEL);
	if (!buf || !tmp || !list) {
		ret = -ENOMEM;
		goto out_free;
	}
	p = list;
	while ((item = strsep(&p, ",")) != NULL && !ret) {
		char *mode = item;
		bool rw;

		strsep(&mode, ":");
		if (!*item)
			continue;
		rw = !mode || strcmp(mode, "ro");
		ret = hvt_blk_disk(item, rw, blk_seed + 16ULL * k++, buf, tmp,
				   d, n, &len);
	}
out_free:
	kfree(list);
	kfree(tmp);
	kfree(buf);
	return ret;
}

/* ---- blkperf: a workload the host measures ------------------------------ */

/*
 * The host counts exits and CPU between the MARK lines (bench/diskbench.py,
 * bench/idebench.py): after each mark the guest waits a second, idle, so
 * that the host samples its counters before a job starts or after it ended.
 * Each job is "KIND:KIB:QD" with KIND randread, randwrite, read or write
 * (sequential), KIB the request size (1..64) and QD the requests kept in
 * flight (1..32); every job runs blkperf_ios requests over the first
 * blkperf_span_mb MiB after a 2 MiB gap, on each disk of blkperf_disk.
 * Before the jobs of a disk an "idle" pair of marks with no I/O between
 * them tells the host what a mark and a second of idling cost.
 */
static void __init hvt_mark(const char *disk, const char *job, const char *what)
{
	/* Padded: every mark costs the host the same serial-port exits. */
	pr_info(HVT_TAG "blkperf MARK %s %-20s %s\n", disk, job, what);
	msleep(1000);
}

struct hvt_perf;

struct hvt_perf_io {
	struct hvt_perf *p;
	u64 t; /* submit time, then latency (ns) */
};

struct hvt_perf {
	atomic_t inflight;
	atomic_t err;
	wait_queue_head_t wq;
};

static void hvt_perf_end_io(struct bio *bio)
{
	struct hvt_perf_io *io = bio->bi_private;
	struct hvt_perf *p = io->p;

	io->t = ktime_get_ns() - io->t;
	if (bio->bi_status)
		atomic_cmpxchg(&p->err, 0, blk_status_to_errno(bio->bi_status));
	bio_put(bio);
	atomic_dec(&p->inflight);
	wake_up(&p->wq);
}

static int hvt_u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

struct hvt_perf_job {
	bool write, random;
	unsigned int nsec, qd;
};

static int __init hvt_perf_parse(const char *s, struct hvt_perf_job *j)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t klen = c1 ? c1 - s : 0;
	unsigned int kib, qd;
	char num[12];

	if (!c2 || c2 - c1 - 1 >= sizeof(num))
		return -EINVAL;
	memcpy(num, c1 + 1, c2 - c1 - 1);
	num[c2 - c1 - 1] = '\0';
	if (kstrtouint(num, 10, &kib) || kstrtouint(c2 + 1, 10, &qd) || !kib ||
	    kib > 64 || !qd || qd > 32)
		return -EINVAL;
	j->random = klen > 4 && !strncmp(s, "rand", 4);
	if (j->random) {
		s += 4;
		klen -= 4;
	}
	if (klen == 4 && !strncmp(s, "read", 4))
		j->write = false;
	else if (klen == 5 && !strncmp(s, "write", 5))
		j->write = true;
	else
		return -EINVAL;
	j->nsec = kib * 2;
	j->qd = qd;
	return 0;
}

/* One job on @bdev; prints its JOB line. */
static int __init hvt_perf_run(struct block_device *bdev, const char *disk,
			       const char *name, const struct hvt_perf_job *j,
			       struct page *page, struct hvt_perf_io *ios,
			       u64 *lat)
{
	u64 cap = bdev_nr_sectors(bdev), span, lba, sum = 0;
	u64 seed = 0x9e3779b97f4a7c15ULL;
	struct hvt_perf p;
	unsigned int i;
	ktime_t t0;
	s64 ns;

	span = min_t(u64, (u64)blkperf_span_mb << 11, cap - 4096);
	span = round_down(span, j->nsec);
	if (cap < 4096 + j->nsec || span < j->nsec)
		return -ENOSPC;
	atomic_set(&p.inflight, 0);
	atomic_set(&p.err, 0);
	init_waitqueue_head(&p.wq);
	hvt_mark(disk, name, "start");
	t0 = ktime_get();
	for (i = 0; i < blkperf_ios && !atomic_read(&p.err); i++) {
		struct bio *bio;

		if (!wait_event_timeout(p.wq, atomic_read(&p.inflight) < j->qd,
					600 * HZ))
			return -ETIMEDOUT; /* @ios stays referenced: leaked */
		if (j->random) {
			seed = seed * 6364136223846793005ULL +
			       1442695040888963407ULL;
			lba = round_down((seed >> 16) % span, j->nsec);
		} else {
			lba = ((u64)i * j->nsec) % span;
		}
		bio = bio_alloc(bdev, 1, j->write ? REQ_OP_WRITE : REQ_OP_READ,
				GFP_KERNEL);
		bio->bi_iter.bi_sector = 4096 + lba;
		bio_add_page(bio, page, j->nsec * 512, 0);
		bio->bi_end_io = hvt_perf_end_io;
		bio->bi_private = &ios[i];
		ios[i].p = &p;
		ios[i].t = ktime_get_ns();
		atomic_inc(&p.inflight);
		submit_bio(bio);
	}
	if (!wait_event_timeout(p.wq, !atomic_read(&p.inflight), 600 * HZ))
		return -ETIMEDOUT;
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	hvt_mark(disk, name, "end");
	if (atomic_read(&p.err))
		return atomic_read(&p.err);
	for (i = 0; i < blkperf_ios; i++) {
		lat[i] = ios[i].t;
		sum += lat[i];
	}
	sort(lat, blkperf_ios, sizeof(*lat), hvt_u64_cmp, NULL);
	pr_info(HVT_TAG
		"blkperf JOB %s %s sectors=%llu ios=%u bytes=%llu us=%lld lat_avg_ns=%llu lat_p99_ns=%llu\n",
		disk, name, cap, blkperf_ios, (u64)blkperf_ios * j->nsec * 512,
		ns / 1000, div_u64(sum, blkperf_ios),
		lat[min(blkperf_ios - 1, blkperf_ios * 99 / 100)]);
	return 0;
}

static int __init hvt_check_blkperf(char *d, size_t n)
{
	char *disks = NULL, *jobs = NULL, *dp, *disk, *jp, *job;
	struct hvt_perf_io *ios = NULL;
	struct page *page = NULL;
	unsigned int done = 0;
	u64 *lat = NULL;
	int ret = 0;

	if (!blkperf_disk || !*blkperf_disk || !blkperf_ios) {
		scnprintf(d, n, "no hvkvm_test.blkperf_disk/blkperf_ios given");
		return -EINVAL;
	}
	page = alloc_pages(GFP_KERNEL, get_order(64 << 10));
	ios = kvmalloc_array(blkperf_ios, sizeof(*ios), GFP_KERNEL);
	lat = kvmalloc_array(blkperf_ios, sizeof(*lat), GFP_KERNEL);
	disks = kstrdup(blkperf_disk, GFP_KERNEL);
	if (!page || !ios || !lat || !disks) {
		ret = -ENOMEM;
		goto out;
	}
	memset(page_address(page), 0x5a, 64 << 10);
	dp = disks;
	while (!ret && (disk = strsep(&dp, ",")) != NULL) {
		struct block_device *bdev;

		if (!*disk)
			continue;
		bdev = hvt_blk_open(disk, true, d, n);
		if (IS_ERR(bdev)) {
			ret = PTR_ERR(bdev);
			goto out;
		}
		/* No I/O: what the marks themselves cost the host. */
		hvt_mark(disk, "idle", "start");
		hvt_mark(disk, "idle", "end");
		kfree(jobs);
		jobs = kstrdup(blkperf_jobs, GFP_KERNEL);
		jp = jobs;
		while (!ret && jp && (job = strsep(&jp, ",")) != NULL) {
			struct hvt_perf_job j;

			if (!*job)
				continue;
			ret = hvt_perf_parse(job, &j);
			if (ret) {
				scnprintf(d, n, "bad job '%s' (KIND:KIB:QD)",
					  job);
				break;
			}
			ret = hvt_perf_run(bdev, disk, job, &j, page, ios, lat);
			if (ret)
				scnprintf(d, n, "%s: job %s failed: %d", disk,
					  job, ret);
			done++;
		}
		if (!jobs)
			ret = -ENOMEM;
		blkdev_put(bdev, FMODE_READ | FMODE_WRITE);
	}
	if (!ret)
		scnprintf(
			d, n,
			"%u jobs of %u requests on %s (JOB lines; guest clock, the host's counters are the measure)",
			done, blkperf_ios, blkperf_disk);
	if (ret == -ETIMEDOUT) {
		ios = NULL; /* requests may still complete into it */
		page = NULL;
	}
out:
	kfree(jobs);
	kfree(disks);
	kvfree(lat);
	kvfree(ios);
	if (page)
		__free_pages(page, get_order(64 << 10));
	return ret;
}

/* ---- entry ---------------------------------------------------------------- */

static int __init hvkvm_test_init(void)
{
	int saved_loglevel = console_loglevel;
	char *list, *p, *name;

	if (!checks || !*checks) {
		pr_info("hvkvm_test: no checks requested (hvkvm_test.checks=)\n");
		return 0;
	}
	/* Our lines must reach the console even with "quiet". */
	if (console_loglevel <= LOGLEVEL_INFO)
		console_loglevel = LOGLEVEL_INFO + 1;

	/* Let asynchronous probing settle, like the root mount would. */
	wait_for_device_probe();
	async_synchronize_full();
	if (settle_ms)
		msleep(settle_ms);

	list = kstrdup(checks, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	p = list;
	while ((name = strsep(&p, ",")) != NULL) {
		name = strim(name);
		if (*name)
			hvt_run(name);
	}
	kfree(list);

	pr_info(HVT_TAG "DONE pass=%d fail=%d\n", hvt_pass, hvt_fail);
	if (poweroff)
		kernel_power_off();
	console_loglevel = saved_loglevel;
	return 0;
}
late_initcall_sync(hvkvm_test_init);
