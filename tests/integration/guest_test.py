#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest integration tests: boot the real Linux test kernel (tests/guest/,
cached under $HVKVM_CACHE/guest/current, /var/cache/hvkvm by default)
through hvkvm and assert the lines its built-in test module prints on the
serial console:

    HVKVM-TEST: <check> PASS|FAIL <detail>
    HVKVM-TEST: DONE pass=N fail=M

One boot covers many checks (boots take minutes on an emulating KVM).

    guest_test.py CASE --hvkvm PATH [--kernel vmlinux] [--log FILE]

Exit 0 = pass, 1 = fail, 77 = skipped (no usable /dev/kvm)."""
import argparse
import json
import os
import pty
import shutil
import struct
import re
import select
import subprocess
import sys
import tempfile
import time
import uuid

import blkpat

SKIP = 77
CACHE = os.path.join(os.environ.get("HVKVM_CACHE") or "/var/cache/hvkvm",
                     "guest", "current")
BASE_APPEND = ("console=ttyS0 earlyprintk=serial,ttyS0 tsc=reliable noxsave "
               "mitigations=off i8042.noaux no_timer_check 8250.nr_uarts=1 "
               "panic=-1")
# On an emulating KVM (kvm_pvm) some host CPUID bits reach the guest even
# when hvkvm clears them (docs/emulating-kvm.md): keep the guest off popcnt
# (X86_FEATURE 151), rdrand (158) and SMAP (308); hvkvm would otherwise
# finish each such instruction itself, one exit at a time.
# Guest code runs ~1000x slower there, with vCPUs sharing 2 host cores: the
# guest's stall detectors fire falsely (and their NMI backtraces use `lsl`,
# which that emulator lacks), so silence them there.
if os.path.exists("/sys/module/kvm_pvm"):
    BASE_APPEND += (" clearcpuid=151,158,308 nowatchdog"
                    " rcupdate.rcu_cpu_stall_suppress=1"
                    " workqueue.watchdog_thresh=0")
LINE = re.compile(r"HVKVM-TEST: (\S+) (PASS|FAIL)(.*)")
DONE = re.compile(r"HVKVM-TEST: DONE pass=(\d+) fail=(\d+)")


def kernel_hz(kernel):
    cfg = os.path.join(os.path.dirname(kernel), ".config")
    try:
        with open(cfg) as f:
            for l in f:
                if l.startswith("CONFIG_HZ="):
                    return int(l.split("=")[1])
    except OSError:
        pass
    return 0


def lpj_arg(kernel):
    """loops_per_jiffy from the host TSC, so the guest skips calibration."""
    hz = kernel_hz(kernel)
    try:
        with open("/proc/cpuinfo") as f:
            mhz = next(float(l.split(":")[1]) for l in f
                       if l.startswith("cpu MHz"))
    except (OSError, StopIteration):
        return ""
    return f"lpj={int(mhz * 1e6 / hz)}" if hz else ""


def guest_cmdline(kernel, cpus, mem_mb, checks, append="", base=None):
    return " ".join(x for x in (
        base or BASE_APPEND, lpj_arg(kernel), f"hvkvm_test.checks={checks}",
        f"hvkvm_test.cpus={cpus}", f"hvkvm_test.mem_mb={mem_mb}",
        append) if x)


class Guest:
    """hvkvm with the guest's console on a pty we read and write."""

    def __init__(self, hvkvm, kernel, cpus, mem_mb, checks, extra_args=(),
                 append="", log=None, base=None, bios=False, prefix=()):
        """@bios: boot the firmware from the disks instead of @kernel (the
        command line then lives in the disk's bootloader config)."""
        self.log = open(log, "wb") if log else None
        cmdline = guest_cmdline(kernel, cpus, mem_mb, checks, append, base)
        self.master, slave = pty.openpty()
        boot = [] if bios else ["--kernel", kernel, "--append", cmdline]
        self.argv = [*prefix, hvkvm, "run", *boot, "--cpus", str(cpus),
                     "--memory", f"{mem_mb}M", "--stats", *extra_args]
        self.start = time.time()
        self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave,
                                     stderr=subprocess.PIPE)
        os.close(slave)
        self.buf = b""
        self.results = {}
        self.done = None

    def _pump(self, secs):
        r, _, _ = select.select([self.master], [], [], secs)
        if not r:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if self.log:
            self.log.write(data)
            self.log.flush()
        self.buf += data
        for l in self.buf.decode(errors="replace").splitlines():
            m = LINE.search(l)
            if m:
                self.results[m.group(1)] = (m.group(2), m.group(3).strip())
            m = DONE.search(l)
            if m:
                self.done = (int(m.group(1)), int(m.group(2)))

    def wait_for(self, token, secs):
        end = time.time() + secs
        while time.time() < end:
            if token in self.buf:
                return True
            if self.proc.poll() is not None:
                self._pump(0.2)
                return token in self.buf
            self._pump(1.0)
        return token in self.buf

    def send(self, text):
        os.write(self.master, text)

    def finish(self, secs):
        end = time.time() + secs
        while self.proc.poll() is None and time.time() < end:
            self._pump(1.0)
        if self.proc.poll() is None:
            self.proc.kill()
        self._pump(0.5)
        err = self.proc.stderr.read().decode(errors="replace")
        self.elapsed = time.time() - self.start
        return self.proc.wait(), err


def check_all_pass(g, rc, err, expect, need_done=True):
    problems = []
    for name in expect:
        st = g.results.get(name)
        if not st:
            problems.append(f"{name}: no result")
        elif st[0] != "PASS":
            problems.append(f"{name}: FAIL {st[1]}")
    if need_done and not g.done:
        problems.append("no DONE line")
    elif g.done and g.done[1]:
        problems.append(f"DONE reports {g.done[1]} failures")
    if rc != 0:
        problems.append(f"hvkvm exit status {rc} (want 0 from ACPI S5)")
    for name, (st, detail) in sorted(g.results.items()):
        print(f"  {name}: {st} {detail}")
    print(f"  boot to power-off: {g.elapsed:.0f} s")
    if problems:
        print("stderr:\n" + err[-3000:])
        raise AssertionError("; ".join(problems))


def case_smp1_console(a):
    """1 vCPU, 256 MiB: CPUs, memory, and the interactive console over a
    pty (the kernel-side mini shell), then ACPI power-off."""
    g = Guest(a.hvkvm, a.kernel, 1, 256, "cpus,mem,console", log=a.log)
    if not g.wait_for(b"hvkvm# ", a.timeout):
        rc, err = g.finish(5)
        raise AssertionError(f"no shell prompt (status {rc}): {err[-2000:]}")
    g.send(b"echo hello-from-host\r")
    # The command's output starts a line (the typed line echoes it too).
    if not g.wait_for(b"\nhello-from-host", 120):
        raise AssertionError("shell did not run echo")
    g.send(b"cpus\r")
    if not g.wait_for(b"online", 120):
        raise AssertionError("shell did not answer cpus")
    g.send(b"poweroff\r")
    rc, err = g.finish(300)
    check_all_pass(g, rc, err, ["cpus", "mem"])


def case_smp4_1g(a):
    """4 vCPUs, 1 GiB: all CPUs brought up by INIT/SIPI, memory size."""
    g = Guest(a.hvkvm, a.kernel, 4, 1024, "cpus,mem", log=a.log)
    rc, err = g.finish(a.timeout)
    check_all_pass(g, rc, err, ["cpus", "mem"])


def ctl(hvkvm, *args, timeout=60):
    p = subprocess.run([hvkvm, "ctl", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


# The integration services hvkvm offers, each bound to hv_utils.
IC_CLASSES = ("57164f39-9115-4e78-ab55-382f3bd5422d",   # heartbeat
              "0e0b6031-5213-4934-818b-38d90ced39db",   # shutdown
              "9527e630-d0ae-497b-adce-e80ab0175caf",   # time sync
              "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6")   # KVP
HV_APPEND = ("hvkvm_test.clocksource=hyperv_clocksource_tsc_page "
             "hvkvm_test.vmbus=1 "
             "hvkvm_test.vmbus_devs=" +
             ",".join(c + ":hv_utils" for c in IC_CLASSES))
# Not tsc=reliable: that makes Linux prefer the raw TSC over the Hyper-V
# reference TSC page these tests are about.
HV_BASE = BASE_APPEND.replace("tsc=reliable ", "")
HV_LOG_WORDS = ("Hyper-V", "hv_vmbus", "IC version", "clocksource",
                "hv_stimer", "VMBus", "Kernel panic", "crash")


def print_hv_lines(g):
    for l in g.buf.decode(errors="replace").splitlines():
        if any(k in l for k in HV_LOG_WORDS) and "HVKVM-TEST" not in l:
            print("  | " + l.strip())


def smbios_serial(uuid, salt):
    """The serial hvkvm derives from the VM's UUID (src/smbios.c)."""
    m = (1 << 64) - 1
    h = 0xcbf29ce484222325 ^ salt
    for b in uuid.bytes:
        h = ((h ^ b) * 0x100000001b3) & m
    out = ""
    for i in range(26):
        h = (h * 6364136223846793005 + 1442695040888963407) & m
        out += str((h >> 33) % 10)
        if i % 4 == 3 and i != 25:
            out += "-"
    return out


def uuid_config(work, uuid):
    """A domain XML that only sets the VM's UUID (flags give the rest)."""
    path = os.path.join(work, "uuid.xml")
    with open(path, "w") as f:
        f.write("<domain type='kvm'>\n  <name>uuid</name>\n"
                f"  <uuid>{uuid}</uuid>\n</domain>\n")
    return path


def dmi_append(vendor, product, uuid):
    return (f' hvkvm_test.dmi_vendor="{vendor}"'
            f' hvkvm_test.dmi_product="{product}"'
            f" hvkvm_test.dmi_uuid={uuid}"
            f" hvkvm_test.dmi_serial={smbios_serial(uuid, 1)}")


def case_hyperv_vmbus(a):
    """2 vCPUs, 512 MiB, every enlightenment: the guest detects Hyper-V,
    runs on the TSC page clocksource and the stimer0 clock event device on
    every CPU; its reference time drifts < 1 ms over 10 s from the host's;
    hv_vmbus connects, /sys/bus/vmbus lists our ICs bound to hv_utils; then
    'hvkvm ctl VM shutdown' powers it off through the Shutdown IC. SMBIOS
    shows the Hyper-V identity with the VM's UUID and derived serial."""
    name = f"guest-hv-{os.getpid()}"
    work = tempfile.mkdtemp(prefix="hvkvm-hv-",
                            dir=os.environ.get("TMPDIR", "/var/tmp"))
    vm_uuid = uuid.uuid4()
    g = Guest(a.hvkvm, a.kernel, 2, 512,
              "cpus,mem,hyperv,dmi,clocksource,clockevent,timer,refdrift,"
              "guest_idle,vmbus_devices,console",
              extra_args=("--config", uuid_config(work, vm_uuid),
                          "--hyperv", "all", "--name", name),
              append=HV_APPEND +
              ' hvkvm_test.clockevent="Hyper-V clockevent"' +
              dmi_append("Microsoft Corporation", "Virtual Machine",
                         vm_uuid),
              base=HV_BASE, log=a.log)
    if not g.wait_for(b"hvkvm# ", a.timeout):
        rc, err = g.finish(5)
        raise AssertionError(f"no shell prompt (status {rc}): {err[-3000:]}")
    text = g.buf.decode(errors="replace")
    problems = []
    for want in ("Hypervisor detected: Microsoft Hyper-V",
                 "Hyper-V: privilege flags low",
                 "hv_vmbus: Vmbus version:5.3",
                 "Heartbeat IC version", "Shutdown IC version",
                 "TimeSync IC version 4.0"):
        if want not in text and not g.wait_for(want.encode(), 300):
            problems.append(f"console lacks '{want}'")
    rc, out = ctl(a.hvkvm, name, "status")
    if rc != 0:
        problems.append(f"ctl status failed: {out}")
    # The ICs have signalled the host by now: every signal on an open
    # channel should have come through its ioeventfd, none as an exit.
    rc, out = ctl(a.hvkvm, "--json", name, "stats")
    try:
        st = json.loads(out)["result"]
        fd = st["vmbus"]["signals_in_fd"]
        exits = sum(st["hyperv"][vp]["hypercalls"]["SignalEvent"]
                    for vp in st["hyperv"] if vp.startswith("vp"))
        print(f"  guest->host signals: {st['vmbus']['signals_in']}, "
              f"via ioeventfd {fd}, SignalEvent exits {exits}")
        if not fd or exits:
            problems.append(f"signals not on the ioeventfd path: {fd} via "
                            f"eventfd, {exits} SignalEvent exits")
    except (ValueError, KeyError, TypeError) as e:
        problems.append(f"ctl stats: {e!r}: {out[:500]}")
    t0 = time.time()
    rc, out = ctl(a.hvkvm, name, "shutdown", "timeout=300", timeout=400)
    if rc != 0:
        problems.append(f"ctl shutdown: {rc} {out}")
    rc, err = g.finish(600)
    print(f"  shutdown to exit: {time.time() - t0:.0f} s, status {rc}")
    if rc != 0:
        problems.append(f"exit status {rc} after shutdown, want 0")
    if b"Shutdown request received" not in g.buf:
        problems.append("guest did not see the Shutdown IC request")
    print_hv_lines(g)
    if problems:
        print("stderr:\n" + err[-3000:])
        raise AssertionError("; ".join(problems))
    # The shell never returns: the Shutdown IC ends the boot, so no DONE.
    shutil.rmtree(work, ignore_errors=True)
    check_all_pass(g, rc, err, ["cpus", "mem", "hyperv", "dmi",
                                "clocksource", "clockevent", "timer",
                                "refdrift", "guest_idle", "vmbus_devices"],
                    need_done=False)


def case_hyperv_crash(a):
    """4 vCPUs, every enlightenment, on_crash=restart: all CPUs hammer one
    spinlock (and IPI each other) and stay stable; then 'sysrq c' panics the
    guest: it unloads VMBus, reports the crash through the Hyper-V crash
    MSRs with its kernel log as the crash message (hvkvm logs P0-P4 and the
    message), and resets; hvkvm restarts it, and the new boot reconnects
    VMBus and binds the ICs again."""
    g = Guest(a.hvkvm, a.kernel, 4, 512, "cpus,hyperv,spinlock,console",
              extra_args=("--hyperv", "all", "--on-crash", "restart", "-v"),
              append=HV_APPEND, base=HV_BASE, log=a.log)
    if not g.wait_for(b"hvkvm# ", a.timeout):
        rc, err = g.finish(5)
        raise AssertionError(f"no shell prompt (status {rc}): {err[-3000:]}")
    first = dict(g.results)
    problems = [f"boot 1: {n}: {st} {d}" for n, (st, d) in first.items()
                if st != "PASS"]
    for n in ("cpus", "hyperv", "spinlock"):
        if n not in first:
            problems.append(f"boot 1: {n}: no result")
    mark = len(g.buf)
    g.send(b"sysrq c\r")
    if not g.wait_for(b"Kernel panic - not syncing: sysrq triggered crash",
                      300):
        problems.append("no panic after sysrq c")
    # The second boot's prompt: search after the first one.
    end = time.time() + a.timeout
    while time.time() < end and g.buf.count(b"hvkvm# ") < 2 and \
            g.proc.poll() is None:
        g._pump(1.0)
    if g.buf.count(b"hvkvm# ") < 2:
        problems.append("the guest did not come back after the crash")
    after = g.buf[mark:].decode(errors="replace")
    for want in ("hv_vmbus: Vmbus version:5.3", "Heartbeat IC version",
                 "HVKVM-TEST: hyperv PASS"):
        if want not in after:
            problems.append(f"boot 2 lacks '{want}'")
    if "VMBus UNLOAD did not complete" in after:
        problems.append("the guest's VMBus Unload got no answer")
    g.send(b"poweroff\r")
    rc, err = g.finish(600)
    m = re.search(r"guest crash reported by vCPU (\d+): P0=(\S+) P1=(\S+) "
                  r"P2=(\S+) P3=(\S+) P4=(\S+) \(on_crash=restart\)", err)
    if not m:
        problems.append("hvkvm did not log the crash MSRs")
    else:
        print(f"  crash report: vCPU {m.group(1)} P0={m.group(2)} "
              f"P1={m.group(3)} P2={m.group(4)} P3={m.group(5)} "
              f"P4={m.group(6)}")
        # CRASH_CTL offers CrashNotifyMsg, so Linux sends the tail of its
        # kernel log instead of registers: P3 = its address, P4 = length.
        if m.group(6) == "0":
            problems.append("no crash message length in P4")
    if not re.search(r"guest crash message \(\d+ bytes\):", err) or \
            not re.search(r"guest\| .*Kernel panic - not syncing: sysrq "
                          r"triggered crash", err):
        problems.append("hvkvm did not log the guest's panic message")
    if "guest crashed: restarting" not in err:
        problems.append("hvkvm did not restart the crashed guest")
    if "vmbus: guest unloaded" not in err:
        problems.append("hvkvm saw no VMBus Unload from the panicking guest")
    if rc != 0:
        problems.append(f"exit status {rc} after poweroff, want 0")
    for name, (st, detail) in sorted(first.items()):
        print(f"  boot 1 {name}: {st} {detail}")
    print_hv_lines(g)
    if problems:
        print("stderr:\n" + err[-4000:])
        raise AssertionError("; ".join(problems))
    check_all_pass(g, rc, err, ["cpus", "hyperv", "spinlock"])


def run_tool(argv, timeout=300):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def pattern_vhd(hvkvm, work, raw, vhd, seed):
    """A dynamic VHD of the size `hvkvm img` gives 64 MiB (whole CHS
    cylinders, so that QEMU sees the same size) filled with the blkpat
    pattern of @seed, and the raw image it came from; returns the size."""
    probe = os.path.join(work, "probe.vhd")
    rc, out = run_tool([hvkvm, "img", "create", "-f", "vhd", "--type",
                        "dynamic", probe, "64M"])
    rc2, info = run_tool([hvkvm, "img", "info", "--json", probe])
    if rc or rc2:
        raise AssertionError(f"img create/info: {out} {info}")
    size = json.loads(info)["virtual-size"]
    blkpat.fill(raw, size, seed)
    rc, out = run_tool([hvkvm, "img", "convert", "-f", "raw", "-O", "vhd",
                        "--type", "dynamic", raw, vhd])
    if rc:
        raise AssertionError(f"img convert: {out}")
    return size


IDE_LOG_WORDS = ("ata_piix", "ata1", "ata2", "scsi ", "sd 0:", "sr 1:",
                 "sr0", "sda")


def case_ide_storage(a):
    """2 vCPUs, 256 MiB, the PIIX4 IDE controller with a dynamic VHD as
    hda and an ISO on an ATAPI CD-ROM (hdc): Linux's ata_piix binds, sda
    and sr0 appear, DMA is negotiated; the test module reads the host's
    patterns on both, writes its own on sda with ten requests of 1 to 128
    sectors, flushes and reads them back. After power-off every sector of
    the VHD is checked on the host, through QEMU's reader (qemu-img
    convert), `hvkvm img check` passes and `qemu-img compare` finds the
    image equal to the expected raw one; the ISO is unchanged."""
    work = tempfile.mkdtemp(prefix="hvkvm-ide-",
                            dir=os.path.dirname(a.log) if a.log else None)
    raw, vhd = os.path.join(work, "disk.raw"), os.path.join(work, "disk.vhd")
    iso = os.path.join(work, "cd.iso")
    size = pattern_vhd(a.hvkvm, work, raw, vhd, 1)
    blkpat.fill(iso, 8 << 20, 17)
    with open(iso, "rb") as f:
        iso_before = f.read()
    g = Guest(a.hvkvm, a.kernel, 2, 256, "ata_modes,blk",
              extra_args=("--disk", f"file={vhd},bus=ide",
                          "--disk", f"file={iso},bus=ide,media=cdrom"),
              append="hvkvm_test.blk_disks=sda,sr0:ro "
              "hvkvm_test.ata_xfer=UDMA", log=a.log)
    rc, err = g.finish(a.timeout)
    text = g.buf.decode(errors="replace")
    for l in text.splitlines():
        if any(k in l for k in IDE_LOG_WORDS) and "HVKVM-TEST" not in l:
            print("  | " + l.strip())
    problems = []
    for want, what in ((r"ata_piix", "ata_piix did not bind"),
                       (r"ata\d\.00: ATA-\d+: ", "no ATA disk found"),
                       (r"ata\d\.0\d: ATAPI: ", "no ATAPI CD-ROM found"),
                       (rf"\[sda\] {size // 512} 512-byte logical blocks",
                        f"sda is not {size} bytes"),
                       (r"sr0", "no sr0")):
        if not re.search(want, text):
            problems.append(what)
    # The host side: every sector as the guest should have left it.
    written = blkpat.guest_written()
    rc2, out = run_tool([a.hvkvm, "img", "check", vhd])
    if rc2:
        problems.append(f"img check: {out.strip()}")
    back = os.path.join(work, "back.raw")
    if shutil.which("qemu-img"):
        rc2, out = run_tool(["qemu-img", "convert", "-f", "vpc", "-O", "raw",
                             vhd, back])
        if rc2:
            problems.append(f"qemu-img convert: {out.strip()}")
        else:
            bad = blkpat.check(back, 1, written)
            problems += [f"disk after power-off (read by QEMU): {b}"
                         for b in bad]
            want = os.path.join(work, "want.raw")
            blkpat.fill(want, size, 1)
            with open(want, "r+b") as f:
                lba, n = written
                f.seek(lba * 512)
                f.write(b"".join(blkpat.sector(l, 2)
                                 for l in range(lba, lba + n)))
            rc2, out = run_tool(["qemu-img", "compare", "-f", "vpc", "-F",
                                 "raw", vhd, want])
            print(f"  qemu-img compare: {out.strip()}")
            if rc2:
                problems.append(f"qemu-img compare: {out.strip()}")
    else:
        problems.append("qemu-img missing (scripts/install-deps.sh)")
    with open(iso, "rb") as f:
        if f.read() != iso_before:
            problems.append("the ISO changed")
    if problems:
        print("stderr:\n" + err[-3000:])
        raise AssertionError("; ".join(problems))
    check_all_pass(g, rc, err, ["ata_modes", "blk"])
    shutil.rmtree(work, ignore_errors=True)


STORVSC_CLASS = "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"
IDE_ACCEL_CLASS = "32412632-86cb-44a2-9b5c-50d1417354f5"
STORVSC_LOG_WORDS = ("storvsc", "scsi", "sd ", "Msft", "hv_vmbus", "ata")


def case_storvsc(a):
    """2 vCPUs, 256 MiB, --hyperv all, four disks on hvkvm's storvsp: a
    dynamic VHD (sda, controller 0 LUN 0), a raw file (sdb, LUN 1), a raw
    file on controller 1, target 1, LUN 2 (libvirt-style addr=1:1:2) and
    an IDE disk (hda) that the Gen1 IDE accelerator also offers on VMBus.
    hv_storvsc binds the SCSI class twice and the IDE class once,
    negotiates VMSTOR, asks for a sub-channel (one per extra vCPU), the
    SCSI scan finds every LUN as "Msft Virtual Disk" of its size at its
    address (and stops at LUN 2 of controller 0); ata_piix leaves the IDE
    disk to storvsc as on Hyper-V. The test module finds each disk by its
    host pattern, reads it, writes its own, flushes and reads them back.
    After power-off every image is checked sector by sector on the host
    (the VHD through qemu-img and `hvkvm img check`)."""
    work = tempfile.mkdtemp(prefix="hvkvm-scsi-",
                            dir=os.path.dirname(a.log) if a.log else None)
    vhd, raw_a = os.path.join(work, "a.vhd"), os.path.join(work, "a.raw")
    raw_b = os.path.join(work, "b.raw")
    size_a = pattern_vhd(a.hvkvm, work, raw_a, vhd, 1)
    size_b, size_c, size_h = 48 << 20, 40 << 20, 36 << 20
    raw_c, raw_h = os.path.join(work, "c.raw"), os.path.join(work, "h.raw")
    blkpat.fill(raw_b, size_b, 17)
    blkpat.fill(raw_c, size_c, 33)
    blkpat.fill(raw_h, size_h, 49)
    g = Guest(a.hvkvm, a.kernel, 2, 256, "vmbus_devices,blk",
              extra_args=("--hyperv", "all", "-v",
                          "--disk", f"file={vhd},bus=scsi,format=vhd",
                          "--disk", f"file={raw_b},bus=scsi,format=raw",
                          "--disk", f"file={raw_c},bus=scsi,format=raw,"
                          "target=sdc,addr=1:1:2",
                          "--disk", f"file={raw_h},bus=ide,format=raw"),
              append=HV_APPEND + f",{STORVSC_CLASS}:hv_storvsc,"
              f"{IDE_ACCEL_CLASS}:hv_storvsc "
              "hvkvm_test.blk_disks=*,*,*,* hvkvm_test.blk_wait_secs=120",
              base=HV_BASE, log=a.log)
    rc, err = g.finish(a.timeout)
    text = g.buf.decode(errors="replace")
    for l in text.splitlines():
        if any(k in l for k in STORVSC_LOG_WORDS) and "HVKVM-TEST" not in l:
            print("  | " + l.strip())
    problems = []
    for want, what in (
            (r"scsi host\d+: storvsc_host_t", "storvsc did not bind"),
            (r"scsi \d+:0:0:0: Direct-Access +Msft +Virtual Disk",
             "no LUN 0"),
            (r"scsi \d+:0:0:1: Direct-Access +Msft +Virtual Disk",
             "no LUN 1"),
            (rf"sd \d+:0:0:0: \[sd[a-z]\] {size_a // 512} 512-byte logical blocks",
             f"no {size_a}-byte disk at LUN 0"),
            (rf"sd \d+:0:0:1: \[sd[a-z]\] {size_b // 512} 512-byte logical blocks",
             f"no {size_b}-byte disk at LUN 1"),
            (rf"sd \d+:0:1:2: \[sd[a-z]\] {size_c // 512} 512-byte logical blocks",
             f"no {size_c}-byte disk at target 1, LUN 2"),
            (rf"sd \d+:0:0:0: \[sd[a-z]\] {size_h // 512} 512-byte logical blocks",
             f"the IDE disk ({size_h} bytes) is not on storvsc"),
            (r"ATA device ignore set",
             "ata_piix did not leave the IDE disk to storvsc")):
        if not re.search(want, text):
            problems.append(what)
    if re.search(r"ata\d+\.00: ATA-", text):
        problems.append("ata_piix attached the IDE disk as well")
    if re.search(r"scsi \d+:0:0:[2-9]", text):
        problems.append("the scan found a LUN that is not there")
    for l in err.splitlines():
        if "scsi0:" in l:
            print("  host| " + l.strip())
    if "VMSTOR protocol 6.2" not in err:
        problems.append("storvsc did not negotiate VMSTOR 6.2")
    if "1 sub-channel(s) offered" not in err:
        problems.append("storvsc did not ask for a sub-channel (2 vCPUs)")
    written = blkpat.guest_written()
    rc2, out = run_tool([a.hvkvm, "img", "check", vhd])
    if rc2:
        problems.append(f"img check: {out.strip()}")
    if shutil.which("qemu-img"):
        back = os.path.join(work, "back.raw")
        rc2, out = run_tool(["qemu-img", "convert", "-f", "vpc", "-O", "raw",
                             vhd, back])
        if rc2:
            problems.append(f"qemu-img convert: {out.strip()}")
        else:
            problems += [f"sda after power-off (read by QEMU): {b}"
                         for b in blkpat.check(back, 1, written)]
    else:
        problems.append("qemu-img missing (scripts/install-deps.sh)")
    for path, seed, what in ((raw_b, 17, "sdb"), (raw_c, 33, "sdc"),
                             (raw_h, 49, "hda")):
        problems += [f"{what} after power-off: {b}"
                     for b in blkpat.check(path, seed, written)]
    if problems:
        print("stderr:\n" + err[-3000:])
        raise AssertionError("; ".join(problems))
    check_all_pass(g, rc, err, ["vmbus_devices", "blk"])
    shutil.rmtree(work, ignore_errors=True)


SYSLINUX_MBR = "/usr/lib/syslinux/mbr/mbr.bin"
ISOLINUX_BIN = "/usr/lib/ISOLINUX/isolinux.bin"
LDLINUX_C32 = "/usr/lib/syslinux/modules/bios/ldlinux.c32"


def bootloader_cfg(cmdline):
    return ("SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\n"
            f"LABEL linux\n  LINUX /bzImage\n  APPEND {cmdline}\n")


def make_syslinux_disk(path, size, bzimage, cmdline):
    """A raw disk: SYSLINUX's MBR, one bootable FAT partition at 1 MiB with
    the kernel and syslinux.cfg, SYSLINUX installed through mtools."""
    start = 2048
    with open(path, "wb") as f:
        f.truncate(size)
    with open(SYSLINUX_MBR, "rb") as f:
        mbr = bytearray(f.read()[:440])
    mbr += bytes(512 - len(mbr))
    mbr[446:462] = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0e,
                               b"\xfe\xff\xff", start, size // 512 - start)
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b") as f:
        f.write(mbr)
    cfg = path + ".cfg"
    with open(cfg, "w") as f:
        f.write(bootloader_cfg(cmdline))
    img = f"{path}@@{start * 512}"
    for argv in (["mformat", "-i", img, "-v", "HVKVM", "::"],
                 ["mcopy", "-i", img, bzimage, "::bzImage"],
                 ["mcopy", "-i", img, cfg, "::syslinux.cfg"],
                 ["syslinux", "--offset", str(start * 512), "--install",
                  path]):
        rc, out = run_tool(argv)
        if rc:
            raise AssertionError(f"{' '.join(argv)}: {out}")


def make_isolinux_iso(path, work, bzimage, cmdline):
    """An El Torito CD: ISOLINUX (no emulation) with the kernel."""
    root = os.path.join(work, "iso")
    os.makedirs(os.path.join(root, "isolinux"), exist_ok=True)
    for src, dst in ((ISOLINUX_BIN, "isolinux/isolinux.bin"),
                     (LDLINUX_C32, "isolinux/ldlinux.c32"),
                     (bzimage, "bzImage")):
        shutil.copy(src, os.path.join(root, dst))
    with open(os.path.join(root, "isolinux", "isolinux.cfg"), "w") as f:
        f.write(bootloader_cfg(cmdline))
    rc, out = run_tool(["xorriso", "-as", "mkisofs", "-quiet", "-o", path,
                        "-b", "isolinux/isolinux.bin", "-c",
                        "isolinux/boot.cat", "-no-emul-boot",
                        "-boot-load-size", "4", "-boot-info-table", root])
    if rc:
        raise AssertionError(f"xorriso: {out}")


def case_bios_boot(a):
    """The Gen1 install path: SeaBIOS (hvkvm's default firmware, no
    --kernel) boots Debian's bootloaders from IDE, which load the test
    kernel's bzImage; the kernel then finds its disks through ata_piix and
    the blk check reads and writes a second disk. Boot 1: a dynamic VHD on
    hda with SYSLINUX on a FAT partition, the pattern disk on hdb (sdb).
    Boot 2: an ISO with ISOLINUX on the CD-ROM (--boot cdrom), the pattern
    disk on hda (sda). After each power-off the pattern disk is checked
    sector by sector on the host."""
    bzimage = os.path.join(os.path.dirname(a.kernel), "bzImage")
    work = tempfile.mkdtemp(prefix="hvkvm-bios-",
                            dir=os.path.dirname(a.log) if a.log else None)
    problems = []
    boots = (("syslinux-vhd", "sdb", "SYSLINUX "),
             ("isolinux-cd", "sda", "ISOLINUX "))
    for n, (what, disk, banner) in enumerate(boots):
        pat = os.path.join(work, f"pattern{n}.raw")
        blkpat.fill(pat, 48 << 20, 1)
        cmdline = guest_cmdline(a.kernel, 1, 256, "ata_modes,blk",
                                f"hvkvm_test.blk_disks={disk} "
                                "hvkvm_test.ata_xfer=UDMA")
        if what == "syslinux-vhd":
            raw = os.path.join(work, "boot.raw")
            vhd = os.path.join(work, "boot.vhd")
            make_syslinux_disk(raw, 32 << 20, bzimage, cmdline)
            rc, out = run_tool([a.hvkvm, "img", "convert", "-f", "raw",
                                "-O", "vhd", "--type", "dynamic", raw, vhd])
            if rc:
                raise AssertionError(f"img convert: {out}")
            args = ("--disk", f"file={vhd},bus=ide,target=hda",
                    "--disk", f"file={pat},bus=ide,format=raw,target=hdb")
        else:
            iso = os.path.join(work, "boot.iso")
            make_isolinux_iso(iso, work, bzimage, cmdline)
            args = ("--disk", f"file={pat},bus=ide,format=raw,target=hda",
                    "--disk", f"file={iso},bus=ide,media=cdrom,target=hdc",
                    "--boot", "cdrom")
        log = f"{a.log}.{what}" if a.log else None
        g = Guest(a.hvkvm, a.kernel, 1, 256, "", extra_args=args, log=log,
                  bios=True)
        rc, err = g.finish(a.timeout)
        text = g.buf.decode(errors="replace")
        print(f"  {what}: {g.elapsed:.0f} s to power-off, status {rc}")
        for want in ("SeaBIOS", banner, "Linux version", "ata_piix"):
            if want not in text:
                problems.append(f"{what}: console lacks '{want}'")
        for name in ("ata_modes", "blk"):
            st = g.results.get(name)
            print(f"  {what}: {name}: {st}")
            if not st or st[0] != "PASS":
                problems.append(f"{what}: {name}: {st}")
        if rc != 0:
            problems.append(f"{what}: exit status {rc}: {err[-1500:]}")
        problems += [f"{what}: pattern disk: {b}" for b in
                     blkpat.check(pat, 1, blkpat.guest_written())]
        m = re.search(r"assist_iret32=(\d+)", err)
        print(f"  {what}: iret32 assists: {m.group(1) if m else 0}")
    if problems:
        raise AssertionError("; ".join(problems))
    shutil.rmtree(work, ignore_errors=True)


def case_storvsc_hotplug(a):
    """1 vCPU, 256 MiB, --hyperv all, one bus=scsi disk (sda). Once the
    guest's blk check runs, `hvkvm ctl VM disk-add` hot-adds a second disk
    as sdb (LUN 1): storvsp tells the guest with ENUMERATE_BUS, storvsc
    rescans and the module finds the new disk by its host pattern, reads
    it, writes, flushes and reads back. Then `disk-remove sdb`: the LUN
    answers INVALID_LUN, storvsc removes the device and the blk_gone check
    sees one disk left. Bad hot-plug requests get one clear line each.
    After power-off both images hold the guest's writes."""
    work = tempfile.mkdtemp(prefix="hvkvm-hotplug-",
                            dir=os.path.dirname(a.log) if a.log else None)
    raw_a, raw_b = os.path.join(work, "a.raw"), os.path.join(work, "b.raw")
    size_a, size_b = 32 << 20, 40 << 20
    blkpat.fill(raw_a, size_a, 1)
    blkpat.fill(raw_b, size_b, 17)
    name = f"hotplug{os.getpid()}"
    # Short: a socket path has at most 107 bytes (build trees are deep).
    os.environ["HVKVM_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="hvkvm-run-")
    g = Guest(a.hvkvm, a.kernel, 1, 256, "blk,blk_gone",
              extra_args=("--hyperv", "all", "-v", "--name", name,
                          "--disk", f"file={raw_a},bus=scsi,format=raw"),
              append=HV_APPEND.split(" hvkvm_test.vmbus_devs")[0] +
              " hvkvm_test.blk_disks=sda,* hvkvm_test.blk_gone_disks=1 "
              "hvkvm_test.blk_wait_secs=300",
              base=HV_BASE, log=a.log)
    problems = []

    def ctl(*args):
        rc, out = run_tool([a.hvkvm, "ctl", name, *args], timeout=60)
        print(f"  ctl {' '.join(args)} -> {rc}: {out.strip()}")
        return rc, out

    if not g.wait_for(b"HVKVM-TEST: blk START", a.timeout):
        problems.append("the blk check never started")
    else:
        for args, want in (
                (("disk-add", raw_b, "sdb", "addr=2:0:0"),
                 "SCSI controller 2 does not exist"),
                (("disk-add", raw_b, "sda"), "disk sda exists already"),
                (("disk-add", "/nonexistent.raw", "sdc"),
                 "No such file or directory"),
                (("disk-remove", "sdz"), "no SCSI disk 'sdz'")):
            rc, out = ctl(*args)
            if rc != 1 or want not in out or out.strip().count("\n"):
                problems.append(f"ctl {' '.join(args)}: want one line "
                                f"with '{want}', got {rc}: {out.strip()}")
        rc, out = ctl("disk-add", raw_b, "sdb", "format=raw")
        if rc:
            problems.append(f"disk-add failed: {out.strip()}")
    if not g.wait_for(b"HVKVM-TEST: blk_gone START", a.timeout):
        problems.append("the blk_gone check never started")
    else:
        rc, out = ctl("disk-remove", "sdb")
        if rc:
            problems.append(f"disk-remove failed: {out.strip()}")
    rc, err = g.finish(a.timeout)
    text = g.buf.decode(errors="replace")
    for l in text.splitlines():
        if any(k in l for k in ("storvsc", "sd 0:", "scsi 0:")):
            print("  | " + l.strip())
    for want, what in (
            (rf"sd \d+:0:0:1: \[sdb\] {size_b // 512} 512-byte logical blocks",
             "the hot-added disk did not appear as sdb"),):
        if not re.search(want, text):
            problems.append(what)
    for want in ("scsi0: LUN 0:1 added", "scsi0: LUN 0:1 removed"):
        if want not in err:
            problems.append(f"hvkvm did not log '{want}'")
    written = blkpat.guest_written()
    for path, seed, what in ((raw_a, 1, "sda"), (raw_b, 17, "sdb")):
        problems += [f"{what} after power-off: {b}"
                     for b in blkpat.check(path, seed, written)]
    if problems:
        print("stderr:\n" + err[-3000:])
        raise AssertionError("; ".join(problems))
    check_all_pass(g, rc, err, ["blk", "blk_gone"])
    shutil.rmtree(work, ignore_errors=True)


NETVSC_CLASS = "f8615163-df3e-46c5-913f-f2d2f965ed0e"


class Skip(Exception):
    """The case cannot run here (the reason is printed as SKIPPED)."""


def case_storvsc_cdrom(a):
    """2 vCPUs, 256 MiB, --hyperv all: a raw disk (sda, LUN 0) and an
    8 MiB pattern image as a SCSI CD/DVD drive (sdb, media=cdrom, LUN 1)
    on hvkvm's storvsp. hv_storvsc binds, the SCSI scan finds LUN 1 as a
    removable "CD-ROM Msft Virtual DVD-ROM", Linux's sr driver attaches
    it as sr0 behind storvsc (the MMC probe: TEST UNIT READY, READ
    CAPACITY, MODE SENSE page 2Ah, GET CONFIGURATION, GESN) and reports its
    capacity; the test module reads the host's pattern at the start, the
    middle and the end of sr0 (2048-byte blocks) and of sda, and checks
    sr0's size. After power-off the image is unchanged."""
    work = tempfile.mkdtemp(prefix="hvkvm-scsicd-",
                            dir=os.path.dirname(a.log) if a.log else None)
    raw, iso = os.path.join(work, "a.raw"), os.path.join(work, "cd.iso")
    size_a, size_cd = 32 << 20, 8 << 20
    blkpat.fill(raw, size_a, 1)
    blkpat.fill(iso, size_cd, 17)
    with open(iso, "rb") as f:
        iso_before = f.read()
    g = Guest(a.hvkvm, a.kernel, 2, 256, "vmbus_devices,blk",
              extra_args=("--hyperv", "all", "-v",
                          "--disk", f"file={raw},bus=scsi,format=raw",
                          "--disk", f"file={iso},bus=scsi,format=raw,"
                          "media=cdrom,target=sdb"),
              append=HV_APPEND + f",{STORVSC_CLASS}:hv_storvsc "
              "hvkvm_test.blk_disks=*,sr0:ro hvkvm_test.blk_wait_secs=120",
              base=HV_BASE, log=a.log)
    rc, err = g.finish(a.timeout)
    text = g.buf.decode(errors="replace")
    for l in text.splitlines():
        if (any(k in l for k in STORVSC_LOG_WORDS + ("sr ", "sr0", "cdrom"))
                and "HVKVM-TEST" not in l):
            print("  | " + l.strip())
    problems = []
    for want, what in (
            (r"scsi host\d+: storvsc_host_t", "storvsc did not bind"),
            (r"scsi \d+:0:0:0: Direct-Access +Msft +Virtual Disk",
             "no disk at LUN 0"),
            (r"scsi \d+:0:0:1: CD-ROM +Msft +Virtual DVD-ROM +1\.0 ",
             "no CD-ROM at LUN 1"),
            (r"sr \d+:0:0:1: \[sr0\] scsi3-mmc drive",
             "sr did not attach the storvsc CD as sr0"),
            (rf"HVKVM-TEST: blk PASS .*sr0={size_cd // 512}x2048:ro",
             f"sr0 is not {size_cd} bytes in 2048-byte blocks, or its "
             "pattern did not read back")):
        if not re.search(want, text):
            problems.append(what)
    if re.search(r"ata\d+\.\d+: ATAPI", text):
        problems.append("an ATAPI drive appeared (the CD is on SCSI only)")
    with open(iso, "rb") as f:
        if f.read() != iso_before:
            problems.append("the image changed")
    if problems:
        print("stderr:\n" + err[-3000:])
        raise AssertionError("; ".join(problems))
    check_all_pass(g, rc, err, ["vmbus_devices", "blk"])
    shutil.rmtree(work, ignore_errors=True)


def run_ok(argv):
    rc, out = run_tool(argv, timeout=60)
    if rc:
        raise AssertionError(f"{' '.join(argv)}: {out.strip()}")
    return out


def ping(ns, ip, count, size=56, interval="0.02"):
    """(sent, received) of a ping run from namespace @ns."""
    rc, out = run_tool(["ip", "netns", "exec", ns, "ping", "-n", "-q",
                        "-c", str(count), "-i", interval, "-W", "15",
                        "-s", str(size), "-M", "do", ip], timeout=600)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    print(f"  ping -s {size} x{count}: {out.strip().splitlines()[-2:]}")
    return (int(m.group(1)), int(m.group(2))) if m else (count, 0)


def case_netvsc(a):
    """1 vCPU, 256 MiB, --hyperv all, one synthetic NIC (--nic
    tap=T,model=netvsc) on a TAP inside a network namespace with dnsmasq
    as the DHCP server. Linux hv_netvsc binds, negotiates NVSP and RNDIS,
    kernel IP autoconfiguration (ip=dhcp) gets a lease: packets both ways
    through the guest's own driver. The host then pings the guest (the
    kernel answers ICMP) with zero loss at four sizes up to a 9000-byte
    jumbo frame (the NIC has mtu=9000, DHCP option 26 sets the guest's:
    hv_netvsc then closes and reopens its channel with the new MTU);
    `hvkvm ctl VM link net0 down` stops the traffic and `up` brings it
    back."""
    for tool in ("dnsmasq", "ping", "ip"):
        if not shutil.which(tool):
            raise Skip(f"{tool} missing (scripts/install-deps.sh)")
    if os.geteuid():
        raise Skip("network namespaces and TAPs need root")
    work = tempfile.mkdtemp(prefix="hvkvm-netvsc-",
                            dir=os.path.dirname(a.log) if a.log else None)
    ns, tap, name = (f"hvkvm{os.getpid()}", "hvtap0",
                     f"netvsc{os.getpid()}")
    # Short: a socket path has at most 107 bytes (build trees are deep).
    os.environ["HVKVM_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="hvkvm-run-")
    dns = None
    problems = []
    try:
        run_ok(["ip", "netns", "add", ns])
        for argv in (["ip", "link", "set", "lo", "up"],
                     ["ip", "tuntap", "add", tap, "mode", "tap"],
                     ["ip", "addr", "add", "10.77.0.1/24", "dev", tap],
                     ["ip", "link", "set", tap, "mtu", "9000"],
                     ["ip", "link", "set", tap, "up"]):
            run_ok(["ip", "netns", "exec", ns, *argv])
        dns = subprocess.Popen(
            ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground",
             "--no-resolv", "--no-hosts", "--port=0", f"--interface={tap}",
             "--bind-interfaces", "--dhcp-range=10.77.0.50,10.77.0.60,1h",
             "--dhcp-option=26,9000",
             f"--dhcp-leasefile={work}/leases", "--log-dhcp",
             "--log-facility=-", f"--pid-file={work}/dnsmasq.pid"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        g = Guest(a.hvkvm, a.kernel, 1, 256, "vmbus_devices,net",
                  extra_args=("--hyperv", "all", "-v", "--name", name,
                              "--nic", f"tap={tap},model=netvsc,mtu=9000"),
                  append=HV_APPEND + f",{NETVSC_CLASS}:hv_netvsc ip=dhcp "
                  "hvkvm_test.net_hold_secs=90",
                  base=HV_BASE, log=a.log, prefix=("ip", "netns", "exec", ns))
        if not g.wait_for(b"HVKVM-TEST: net READY", a.timeout):
            problems.append("the guest never got an address")
        else:
            pat = r"net READY (\S+) (\S+) (\S+) (\S+) mtu=\d+\s"
            end = time.time() + 30
            while not re.search(pat, g.buf.decode(errors="replace")) \
                    and time.time() < end:
                g.wait_for(b"mtu=", 1)
                g._pump(0.5)
            m = re.search(pat, g.buf.decode(errors="replace"))
            ip = m.group(2) if m else "10.77.0.50"
            if not m or m.group(4) != "hv_netvsc":
                problems.append(f"the address is not on hv_netvsc: "
                                f"{m.group(0) if m else '?'}")
            ping(ns, ip, 3, interval="0.5")  # ARP, warm caches
            if "mtu=9000" not in (m.group(0) if m else ""):
                problems.append("the DHCP MTU (9000) did not reach eth0")
            for size, count, gap in ((56, 200, "0.02"), (1000, 100, "0.02"),
                                     (1472, 100, "0.02"),
                                     (8972, 50, "0.2")):
                sent, got = ping(ns, ip, count, size, gap)
                if got != sent:
                    problems.append(f"ping -s {size}: {got}/{sent}")
            rc, out = run_tool([a.hvkvm, "ctl", name, "link", "net0",
                                "down"])
            if rc:
                problems.append(f"ctl link down: {out.strip()}")
            time.sleep(3)
            sent, got = ping(ns, ip, 10, interval="0.2")
            if got:
                problems.append(f"{got} pings answered with the link down")
            rc, out = run_tool([a.hvkvm, "ctl", name, "link", "net0", "up"])
            if rc:
                problems.append(f"ctl link up: {out.strip()}")
            time.sleep(5)
            sent, got = ping(ns, ip, 20, interval="0.2")
            if got < 15:
                problems.append(f"after link up only {got}/20 pings")
            rc, out = run_tool([a.hvkvm, "ctl", name, "link", "net9",
                                "down"])
            if rc != 1 or "no NIC 'net9'" not in out:
                problems.append(f"ctl link net9: {rc} {out.strip()}")
        rc, err = g.finish(a.timeout)
        text = g.buf.decode(errors="replace")
        for l in text.splitlines():
            if any(k in l for k in ("hv_netvsc", "IP-Config", "eth0")):
                print("  | " + l.strip())
        for l in err.splitlines():
            if "net0:" in l:
                print("  host| " + l.strip())
        if "NVSP protocol 6.1" not in err:
            problems.append("hv_netvsc did not negotiate NVSP 6.1")
        if problems:
            print("stderr:\n" + err[-3000:])
            raise AssertionError("; ".join(problems))
        check_all_pass(g, rc, err, ["vmbus_devices", "net"])
    finally:
        if dns:
            dns.terminate()
            dns.wait(10)
        run_tool(["ip", "netns", "del", ns])
    shutil.rmtree(work, ignore_errors=True)


CASES = {"smp1_console": case_smp1_console, "smp4_1g": case_smp4_1g,
         "hyperv_vmbus": case_hyperv_vmbus, "hyperv_crash": case_hyperv_crash,
         "ide_storage": case_ide_storage, "storvsc": case_storvsc,
         "storvsc_cdrom": case_storvsc_cdrom,
         "storvsc_hotplug": case_storvsc_hotplug, "netvsc": case_netvsc,
         "bios_boot": case_bios_boot}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--hvkvm", required=True)
    ap.add_argument("--kernel", default=os.path.join(CACHE, "vmlinux"))
    ap.add_argument("--log")
    ap.add_argument("--timeout", type=int, default=1200)
    a = ap.parse_args()
    if not os.path.exists("/dev/kvm"):
        print("SKIPPED: no /dev/kvm on this host")
        return SKIP
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIPPED: /dev/kvm is not accessible to this user")
        return SKIP
    if not os.path.exists(a.kernel):
        print(f"FAIL: test kernel {a.kernel} missing: run "
              "tests/guest/build-kernel.sh (scripts/test.sh does)")
        return 1
    try:
        CASES[a.case](a)
    except Skip as e:
        print(f"SKIPPED: {e}")
        return SKIP
    except AssertionError as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
