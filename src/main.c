// SPDX-License-Identifier: MIT
/*
 * hvkvm: command line. `hvkvm run` boots one VM in this process;
 * `hvkvm img` is the disk image tool.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvkvm/config.h"
#include "hvkvm/console.h"
#include "hvkvm/cpuid.h"
#include "bench_cmd.h"
#include "hvkvm/ctl.h"
#include "hvkvm/img.h"
#include "hvkvm/util.h"
#include "hvkvm/vm.h"

static const char main_usage[] =
	"Usage: hvkvm COMMAND [OPTIONS]\n"
	"\n"
	"A virtual machine monitor on Linux KVM whose guests see a Microsoft\n"
	"Hyper-V host.\n"
	"\n"
	"Commands:\n"
	"  run      boot a virtual machine (one VM per process)\n"
	"  img      create, inspect, check and convert VHD/raw disk images\n"
	"  ctl      send a command to a running VM (status, stats, shutdown, ...)\n"
	"  list     list the running VMs\n"
	"  bench    benchmarks: 'hvkvm bench disk' (IDE vs synthetic SCSI, fixed\n"
	"           vs dynamic VHD, against QEMU)\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help\n"
	"  -V, --version  show the version\n"
	"\n"
	"Run 'hvkvm COMMAND --help' for a command's options.\n";

static const char run_usage[] =
	"Usage: hvkvm run [--config vm.xml] [OPTIONS]\n"
	"\n"
	"Boot a virtual machine. Flags override the XML configuration.\n"
	"\n"
	"  -c, --config FILE      libvirt-style domain XML (see docs/xml.md)\n"
	"  -k, --kernel FILE      kernel: bzImage, ELF vmlinux with a PVH note, or\n"
	"                         a Multiboot kernel\n"
	"  -i, --initrd FILE      initial ramdisk\n"
	"  -a, --append CMDLINE   kernel command line\n"
	"      --bios FILE        BIOS image to boot from (a SeaBIOS ROM); without\n"
	"                         --kernel or --bios: " CONFIG_DEFAULT_BIOS "\n"
	"      --boot LIST        BIOS boot order: hd, cdrom, network (no boot ROM\n"
	"                         yet), e.g. cdrom,hd; reboot-timeout=MS after no\n"
	"                         bootable device (-1 never, default 60000)\n"
	"  -m, --memory SIZE      guest RAM, e.g. 512M, 2G (default 512M)\n"
	"  -p, --cpus N           virtual CPUs (default 1, at most 64)\n"
	"      --mem-merge on|off let KSM merge guest RAM with other processes'\n"
	"                         (default off: page sharing is a side channel)\n"
	"  -s, --serial BACKEND   COM1: stdio (default), file:PATH, pty or none\n"
	"      --disk SPEC        file=PATH,bus=ide|scsi[,format=raw|vhd]\n"
	"                         [,readonly=on][,media=cdrom][,cache=none|writeback]\n"
	"                         [,target=hda|sdb..][,addr=CTRL:TARGET:LUN (scsi)]\n"
	"      --nic SPEC         tap=NAME,model=dec21140|netvsc[,mac=52:54:..]\n"
	"                         [,mtu=576..9000]\n"
	"      --hyperv LIST      Hyper-V enlightenments: all, off, or a list such as\n"
	"                         relaxed,vpindex,runtime,synic,stimer,hypervclock\n"
	"      --debug-exit PORT  add the debug-exit device at PORT (e.g. 0xf4):\n"
	"                         writing v ends hvkvm with status (v << 1) | 1\n"
	"      --no-reboot        a guest reset ends hvkvm (status 2) instead of\n"
	"                         rebooting the guest\n"
	"      --on-crash ACTION  after a guest crash report (Hyper-V crash MSRs):\n"
	"                         destroy (default: end with status 4), restart\n"
	"                         (reboot once the guest resets, at most 30 s\n"
	"                         later) or preserve (stop the vCPUs, keep the VM)\n"
	"      --cpu-model MODEL  auto (default), host, or conservative (a baseline\n"
	"                         an emulating KVM such as kvm_pvm can run)\n"
	"      --stats            print exit and enlightenment counters at the end\n"
	"  -n, --name NAME        VM name: control socket NAME.sock in the runtime\n"
	"                         directory (default: the XML <name>, else hvkvm-PID)\n"
	"  -d, --daemon           go to the background once the VM is up; errors\n"
	"                         before that are reported here (status 1)\n"
	"      --pidfile FILE     with --daemon: write (and lock) the pid there\n"
	"      --log FILE         with --daemon: log and stdio serial output there\n"
	"                         (default /dev/null)\n"
	"  -v, --verbose          more log output (repeat for debug)\n"
	"  -q, --quiet            errors only\n"
	"  -h, --help             show this help\n"
	"\n"
	"Options with a value may be given once; --disk and --nic repeat.\n"
	"On the terminal, Ctrl-A x stops the VM; Ctrl-A Ctrl-A sends Ctrl-A.\n"
	"\n"
	"Exit status: 0 guest powered off; 1 bad input or start-up error;\n"
	"2 guest reset with --no-reboot or on_reboot=destroy; 4 guest crash;\n"
	"8 triple fault, unhandled exit or KVM error; 16 stopped by the user;\n"
	"odd values (v << 1) | 1 from the debug-exit device.\n";

enum run_opt {
	OPT_DISK = 256,
	OPT_BIOS,
	OPT_BOOT,
	OPT_NIC,
	OPT_HYPERV,
	OPT_DEBUG_EXIT,
	OPT_NO_REBOOT,
	OPT_ON_CRASH,
	OPT_CPU_MODEL,
	OPT_STATS,
	OPT_PIDFILE,
	OPT_LOG,
	OPT_MEM_MERGE,
};

static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "append", required_argument, NULL, 'a' },
	{ "bios", required_argument, NULL, OPT_BIOS },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "serial", required_argument, NULL, 's' },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "hyperv", required_argument, NULL, OPT_HYPERV },
	{ "debug-exit", required_argument, NULL, OPT_DEBUG_EXIT },
	{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
	{ "on-crash", required_argument, NULL, OPT_ON_CRASH },
	{ "cpu-model", required_argument, NULL, OPT_CPU_MODEL },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "name", required_argument, NULL, 'n' },
	{ "daemon", no_argument, NULL, 'd' },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "mem-merge", required_argument, NULL, OPT_MEM_MERGE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

static void replace_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

/*
 * SIGTERM/SIGINT/SIGHUP stop the running VM: they are blocked in every
 * thread and taken by one thread with sigwait(), so the stop runs in normal
 * context rather than in a signal handler.
 */
static struct vm *running_vm;
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stop_requested;

static void *run_signal_thread(void *opaque)
{
	sigset_t *set = opaque;
	int sig;

	for (;;) {
		if (sigwait(set, &sig))
			continue;
		pthread_mutex_lock(&running_lock);
		stop_requested = true;
		if (running_vm)
			vm_request_stop(running_vm, VM_STOP_USER,
					VM_STATUS_USER);
		pthread_mutex_unlock(&running_lock);
	}
	return NULL;
}

static void run_install_signals(void)
{
	static sigset_t set;
	sigset_t kick;
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, run_signal_thread, &set) == 0)
		pthread_detach(t);
	/* vCPU threads unblock their kick signal themselves. */
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
}

static void run_set_vm(struct vm *vm)
{
	pthread_mutex_lock(&running_lock);
	running_vm = vm;
	if (vm && stop_requested)
		vm_request_stop(vm, VM_STOP_USER, VM_STATUS_USER);
	pthread_mutex_unlock(&running_lock);
}

struct run_flags {
	const char *config;
	const char *kernel, *initrd, *append, *memory, *cpus, *serial;
	const char *bios, *boot;
	const char *hyperv, *debug_exit, *cpu_model, *on_crash, *mem_merge;
	const char *disks[CONFIG_MAX_DISKS + 1];
	unsigned int nr_disks;
	const char *nics[CONFIG_MAX_NICS + 1];
	unsigned int nr_nics;
	bool no_reboot, stats;
	int verbose;
	const char *name, *pidfile, *log;
	bool daemon;
};

/*
 * A single-valued option given twice is a mistake (a script that appends
 * flags, a typo): one line naming it instead of silently taking the last.
 */
static void run_set_once(const char **dst, int c, const char *arg)
{
	const struct option *o;

	if (*dst) {
		for (o = run_options; o->name && o->val != c; o++)
			;
		die("run: --%s given twice ('%s' and '%s')",
		    o->name ? o->name : "?", *dst, arg);
	}
	*dst = arg;
}

static int run_parse_flags(int argc, char **argv, struct run_flags *f)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:k:i:a:m:p:s:n:dvqh",
				run_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			run_set_once(&f->config, c, optarg);
			break;
		case 'k':
			run_set_once(&f->kernel, c, optarg);
			break;
		case 'i':
			run_set_once(&f->initrd, c, optarg);
			break;
		case 'a':
			run_set_once(&f->append, c, optarg);
			break;
		case OPT_BIOS:
			run_set_once(&f->bios, c, optarg);
			break;
		case OPT_BOOT:
			run_set_once(&f->boot, c, optarg);
			break;
		case 'm':
			run_set_once(&f->memory, c, optarg);
			break;
		case 'p':
			run_set_once(&f->cpus, c, optarg);
			break;
		case 's':
			run_set_once(&f->serial, c, optarg);
			break;
		case OPT_DISK:
			if (f->nr_disks == CONFIG_MAX_DISKS)
				die("--disk: at most %d disks",
				    CONFIG_MAX_DISKS);
			f->disks[f->nr_disks++] = optarg;
			break;
		case OPT_NIC:
			if (f->nr_nics == CONFIG_MAX_NICS)
				die("--nic: at most %d NICs", CONFIG_MAX_NICS);
			f->nics[f->nr_nics++] = optarg;
			break;
		case OPT_HYPERV:
			run_set_once(&f->hyperv, c, optarg);
			break;
		case OPT_DEBUG_EXIT:
			run_set_once(&f->debug_exit, c, optarg);
			break;
		case OPT_NO_REBOOT:
			f->no_reboot = true;
			break;
		case OPT_ON_CRASH:
			run_set_once(&f->on_crash, c, optarg);
			break;
		case OPT_CPU_MODEL:
			run_set_once(&f->cpu_model, c, optarg);
			break;
		case OPT_STATS:
			f->stats = true;
			break;
		case 'n':
			run_set_once(&f->name, c, optarg);
			break;
		case 'd':
			f->daemon = true;
			break;
		case OPT_PIDFILE:
			run_set_once(&f->pidfile, c, optarg);
			break;
		case OPT_LOG:
			run_set_once(&f->log, c, optarg);
			break;
		case OPT_MEM_MERGE:
			run_set_once(&f->mem_merge, c, optarg);
			break;
		case 'v':
			f->verbose++;
			break;
		case 'q':
			f->verbose = -1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			exit(0);
		case ':':
			die("run: option '%s' needs a value (see 'hvkvm run --help')",
			    argv[optind - 1]);
		default:
			die("run: unknown option '%s' (see 'hvkvm run --help')",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("run: unexpected argument '%s' (see 'hvkvm run --help')",
		    argv[optind]);
	if ((f->pidfile || f->log) && !f->daemon)
		die("run: --pidfile and --log need --daemon");
	return 0;
}

/* Apply flags on top of the XML; every error names the flag. */
static void run_apply_flags(struct vm_config *cfg, const struct run_flags *f)
{
	char err[CONFIG_ERR_MAX];
	uint64_t v;
	unsigned int i;

	if (f->kernel)
		replace_str(&cfg->kernel, f->kernel);
	if (f->initrd)
		replace_str(&cfg->initrd, f->initrd);
	if (f->append)
		replace_str(&cfg->cmdline, f->append);
	/* One of --kernel and --bios replaces the XML's other. */
	if (f->bios) {
		replace_str(&cfg->loader, f->bios);
		if (!f->kernel) {
			free(cfg->kernel);
			cfg->kernel = NULL;
		}
	} else if (f->kernel) {
		free(cfg->loader);
		cfg->loader = NULL;
	}
	if (f->boot && config_parse_boot_arg(cfg, f->boot, err, sizeof(err)))
		die("%s", err);
	if (f->memory) {
		if (parse_size(f->memory, &v) || v == 0)
			die("--memory %s: not a size (e.g. 512M, 2G)",
			    f->memory);
		if (v < 1024 * 1024 && !strpbrk(f->memory, "kKmMgGtT"))
			v *= MiB; /* bare numbers are MiB, as in QEMU */
		cfg->memory = v;
		cfg->current_memory = 0;
	}
	if (f->cpus) {
		if (parse_uint(f->cpus, 1u << 20, &v))
			die("--cpus %s: not a number", f->cpus);
		cfg->vcpus = (unsigned int)v;
	}
	if (f->serial &&
	    config_parse_serial_arg(cfg, f->serial, err, sizeof(err)))
		die("%s", err);
	for (i = 0; i < f->nr_disks; i++)
		if (config_parse_disk_arg(cfg, f->disks[i], err, sizeof(err)))
			die("%s", err);
	for (i = 0; i < f->nr_nics; i++)
		if (config_parse_nic_arg(cfg, f->nics[i], err, sizeof(err)))
			die("%s", err);
	if (f->hyperv &&
	    config_parse_hyperv_arg(cfg, f->hyperv, err, sizeof(err)))
		die("%s", err);
	if (f->on_crash) {
		if (!strcmp(f->on_crash, "destroy"))
			cfg->on_crash = CONFIG_ACTION_DESTROY;
		else if (!strcmp(f->on_crash, "restart"))
			cfg->on_crash = CONFIG_ACTION_RESTART;
		else if (!strcmp(f->on_crash, "preserve"))
			cfg->on_crash = CONFIG_ACTION_PRESERVE;
		else
			die("--on-crash %s: expected destroy, restart or preserve",
			    f->on_crash);
	}
	if (f->name) {
		if (!ctl_name_valid(f->name))
			die("--name %s: use 1-%d letters, digits, '.', '_' or '-'",
			    f->name, CTL_NAME_MAX);
		snprintf(cfg->name, sizeof(cfg->name), "%s", f->name);
	}
	if (f->mem_merge) {
		if (!strcmp(f->mem_merge, "on"))
			cfg->mem_merge = true;
		else if (!strcmp(f->mem_merge, "off"))
			cfg->mem_merge = false;
		else
			die("--mem-merge %s: expected on or off", f->mem_merge);
	}
	if (f->debug_exit) {
		if (parse_uint(f->debug_exit, 0xffff, &v) || v == 0)
			die("--debug-exit %s: not an I/O port (1..0xffff)",
			    f->debug_exit);
		cfg->debug_exit_port = (uint16_t)v;
	}
}

/*
 * The runtime directory holds the control sockets: whoever can write to it
 * can replace a socket and talk to clients (or remove it). An existing one
 * must be ours (or root's) and not writable by everyone; a missing one is
 * created 0700 by the control server.
 */
static void run_check_runtime_dir(void)
{
	char dir[256];
	struct stat st;

	if (ctl_runtime_dir(dir, sizeof(dir), false) || lstat(dir, &st) < 0)
		return; /* the control server reports it */
	if (!S_ISDIR(st.st_mode))
		die("runtime directory %s: not a directory (set HVKVM_RUNTIME_DIR to a private one)",
		    dir);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		die("runtime directory %s: owned by uid %u, not by us (uid %u): set HVKVM_RUNTIME_DIR to a private one",
		    dir, (unsigned int)st.st_uid, (unsigned int)geteuid());
	if (st.st_mode & S_IWOTH)
		die("runtime directory %s: writable by everyone (mode %04o): set HVKVM_RUNTIME_DIR to a private one",
		    dir, (unsigned int)(st.st_mode & 07777));
}

/* Guest RAM the host can actually give (MemAvailable + free swap). */
/*
 * Every disk file can be opened as it will be (read-only or read-write):
 * one line naming the drive and the file otherwise, before any VM exists.
 */
static void run_check_disk_files(const struct vm_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_disks; i++) {
		const struct config_disk *d = &cfg->disks[i];
		bool ro = d->readonly || d->media == CONFIG_MEDIA_CDROM;
		struct stat st;
		int fd;

		fd = open(d->path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			die("disk %s: %s: %s", d->target, d->path,
			    strerror(errno));
		if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) &&
		    !S_ISBLK(st.st_mode)) {
			close(fd);
			die("disk %s: %s: not a regular file or block device",
			    d->target, d->path);
		}
		close(fd);
	}
}

static void run_check_host_memory(const struct vm_config *cfg)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb, avail = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1 ||
		    sscanf(line, "SwapFree: %llu kB", &kb) == 1)
			avail += kb * 1024;
	fclose(f);
	if (avail && cfg->memory > avail)
		die("--memory %llu MiB: the host has only %llu MiB available",
		    (unsigned long long)(cfg->memory / MiB), avail / MiB);
}

static int cmd_run(int argc, char **argv)
{
	struct run_flags f = { 0 };
	struct vm_config cfg;
	struct vm_options opts = { 0 };
	struct console *console = NULL;
	char err[CONFIG_ERR_MAX], name[CONFIG_NAME_MAX + 16];
	enum vm_stop_reason reason;
	struct ctl_vm *cv;
	struct vm *vm;
	bool named, up = false;
	int status;

	run_parse_flags(argc, argv, &f);
	if (f.verbose > 0)
		log_set_level(f.verbose > 1 ? LOG_DBG : LOG_INFO);
	else if (f.verbose < 0)
		log_set_level(LOG_ERR);
	config_init(&cfg);
	if (f.config && config_parse_file(&cfg, f.config, err, sizeof(err)))
		die("%s", err);
	run_apply_flags(&cfg, &f);
	if (config_validate(&cfg, err, sizeof(err)))
		die("%s", err);
	run_check_host_memory(&cfg);
	run_check_disk_files(&cfg);
	for (unsigned int n = 0; n < cfg.nr_nics; n++)
		if (cfg.nics[n].model == CONFIG_NIC_DEC21140)
			die("interface %s: model=dec21140 is not supported yet "
			    "(use model=netvsc with --hyperv all)",
			    cfg.nics[n].tap);
	opts.stats = f.stats;
	opts.exit_on_reset = f.no_reboot ||
			     cfg.on_reboot == CONFIG_ACTION_DESTROY;
	if (!f.cpu_model || !strcmp(f.cpu_model, "auto"))
		opts.conservative_cpu = cpuid_host_is_emulating();
	else if (!strcmp(f.cpu_model, "host"))
		opts.conservative_cpu = false;
	else if (!strcmp(f.cpu_model, "conservative"))
		opts.conservative_cpu = true;
	else
		die("--cpu-model %s: expected auto, host or conservative",
		    f.cpu_model);
	/* The control socket is named after the VM, else after the pid. */
	named = f.name || strcmp(cfg.name, "hvkvm");
	if (named && !ctl_name_valid(cfg.name))
		die("VM name '%s' cannot name a control socket: use letters, digits, '.', '_' or '-' (or --name)",
		    cfg.name);
	run_check_runtime_dir();
	/* Before any thread exists; errors until daemon_ready() reach us. */
	if (f.daemon && daemon_start(f.pidfile, f.log, err, sizeof(err)))
		die("%s", err);
	if (named)
		snprintf(name, sizeof(name), "%s", cfg.name);
	else /* after daemon_start(): the daemon's pid */
		snprintf(name, sizeof(name), "hvkvm-%d", (int)getpid());
	if (console_create(&cfg, &console, err, sizeof(err)))
		die("%s", err);
	run_install_signals();
	for (;;) {
		if (vm_create(&cfg, &opts, console, &vm)) {
			status = VM_STATUS_ERROR;
			break;
		}
		cv = NULL;
		if (ctl_vm_attach(vm, name, err, sizeof(err), &cv)) {
			if (named || f.daemon || up) {
				pr_err("%s", err);
				vm_destroy(vm);
				status = VM_STATUS_ERROR;
				break;
			}
			pr_warn("%s: running without a control socket", err);
		}
		if (f.daemon && !up)
			daemon_ready();
		up = true;
		run_set_vm(vm);
		reason = vm_run(vm);
		run_set_vm(NULL);
		ctl_vm_stop(cv);
		status = vm->stop_status;
		if (opts.stats || reason == VM_STOP_FAILURE)
			vm_stats_print(vm, stderr);
		vm_destroy(vm);
		ctl_vm_free(cv);
		if (reason == VM_STOP_CRASH_RESTART) {
			pr_info("guest crashed: restarting (on_crash=restart)");
			continue;
		}
		if (reason != VM_STOP_RESET || opts.exit_on_reset)
			break;
		pr_info("guest reset: rebooting");
	}
	console_destroy(console);
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("hvkvm %s\n", HVKVM_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "img"))
		return img_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return list_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);
	fprintf(stderr, "hvkvm: unknown command '%s' (see 'hvkvm --help')\n",
		argv[1]);
	return 1;
}
