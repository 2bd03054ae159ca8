#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""IDE cost per I/O: hvkvm's PIIX4 IDE against QEMU's, same kernel, same
image, same guest workload, in one run. Never a timed test.

The guest is the test kernel (tests/guest/) with the test module's blkperf
check: N random 4 KiB reads, then N random 4 KiB writes on sda through
ata_piix, between MARK lines on the console. At each mark the host samples
KVM's own counters of the VM's vCPU (the binary statistics fd, the same
source for both VMMs: hvkvm's `ctl stats` vcpuN.kvm.*, QEMU's QMP
query-stats), hvkvm's count of exits that reached userspace (PIO, MMIO),
and the VMM process's user and system CPU time (/proc/PID/stat); the
differences over a phase divided by N are the figures per I/O. DMA is what
ata_piix negotiates (UDMA); PIO is the same boot with libata.dma=0.

On an emulating KVM (kvm_pvm) the guest's own code is emulated in the
kernel, so the system time mostly measures that emulator, and KVM there
counts only total exits (io_exits and mmio_exits stay 0); the exit counts
and the VMM's user time per I/O are what differ between the VMMs.

    idebench.py --hvkvm PATH [--qemu qemu-system-x86_64] [--kernel F]
                [--ios N] [--json FILE] [--modes dma,pio] [--vmms hvkvm,qemu]
"""
import argparse
import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(os.environ.get("HVKVM_CACHE") or "/var/cache/hvkvm",
                     "guest", "current")
COUNTERS = ("exits", "io_exits", "mmio_exits", "irq_injections",
            "halt_exits")
USER_COUNTERS = ("pio_exits", "mmio_exits")
APPEND = ("console=ttyS0 tsc=reliable noxsave mitigations=off i8042.noaux "
          "no_timer_check 8250.nr_uarts=1")
if os.path.exists("/sys/module/kvm_pvm"):
    APPEND += (" clearcpuid=151,158,308 nowatchdog"
               " rcupdate.rcu_cpu_stall_suppress=1"
               " workqueue.watchdog_thresh=0")
QEMU_CPU = ("kvm64,vendor=GenuineIntel,-cx16,-xsave,-smap,-smep,-popcnt,-pni,"
            "level=6")
MARK = re.compile(rb"HVKVM-TEST: blkperf MARK (\S+) (\S+) +(start|end)[\r\n]")
RESULT = re.compile(rb"HVKVM-TEST: blkperf (PASS|FAIL)([^\r\n]*)[\r\n]")
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return int(st[11]) / TICK, int(st[12]) / TICK


class HvkvmStats:
    """KVM and hvkvm counters of VM @name through `hvkvm ctl stats`."""

    def __init__(self, hvkvm, name):
        self.hvkvm, self.name = hvkvm, name

    def sample(self, pid):
        p = subprocess.run([self.hvkvm, "ctl", "--json", self.name, "stats"],
                           capture_output=True, text=True, timeout=30)
        res = json.loads(p.stdout)["result"]
        out = {c: res["vcpu0"].get("kvm", {}).get(c, 0) for c in COUNTERS}
        out["user_pio_exits"] = res["vcpu0"]["pio_exits"]
        out["user_mmio_exits"] = res["vcpu0"]["mmio_exits"]
        out["user_s"], out["sys_s"] = proc_cpu(pid)
        return out


class QemuStats:
    """KVM counters of QEMU's vCPU through QMP query-stats."""

    def __init__(self, sock_path):
        self.path, self.sock, self.f = sock_path, None, None

    def _cmd(self, obj):
        self.f.write((json.dumps(obj) + "\n").encode())
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r or "error" in r:
                return r

    def sample(self, pid):
        if not self.sock:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(self.path)
            self.f = self.sock.makefile("rwb")
            json.loads(self.f.readline())  # greeting
            self._cmd({"execute": "qmp_capabilities"})
        r = self._cmd({"execute": "query-stats", "arguments": {
            "target": "vcpu",
            "providers": [{"provider": "kvm", "names": list(COUNTERS)}]}})
        out = {c: 0 for c in COUNTERS}
        for vcpu in r.get("return", []):
            for prov in vcpu.get("stats", []):
                if prov["name"] in out:
                    out[prov["name"]] += prov["value"]
        out["user_pio_exits"] = out["user_mmio_exits"] = 0  # not counted
        out["user_s"], out["sys_s"] = proc_cpu(pid)
        return out


def run_one(vmm, argv, ios, timeout, stats):
    """Boot, sample at the marks, return {phase: per-I/O figures}."""
    master, slave = pty.openpty()
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE)
    os.close(slave)
    buf, marks, result = b"", {}, None
    seen = 0
    while time.time() - t0 < timeout and p.poll() is None:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        buf += data
        for m in list(MARK.finditer(buf))[seen:]:
            seen += 1
            job = m.group(2).decode()
            if job == "idle":
                continue
            phase = "read" if job.startswith("randread") else "write"
            marks[f"{phase}-{m.group(3).decode()}"] = stats.sample(p.pid)
        m = RESULT.search(buf)
        if m and not result:
            result = (m.group(1).decode(), m.group(2).decode().strip())
    if p.poll() is None:
        p.kill()
    p.wait()
    os.close(master)
    err = p.stderr.read().decode(errors="replace")
    if not result or result[0] != "PASS":
        raise RuntimeError(f"{vmm}: blkperf {result}; console tail: "
                           f"{buf[-1500:].decode(errors='replace')}; "
                           f"stderr: {err[-1500:]}")
    figures = {}
    for phase in ("read", "write"):
        a, b = marks.get(f"{phase}-start"), marks.get(f"{phase}-end")
        if not a or not b:
            raise RuntimeError(f"{vmm}: no samples for {phase}: {list(marks)}")
        figures[phase] = {k: (b[k] - a[k]) / ios for k in a}
    figures["boot_s"] = time.time() - t0
    figures["guest"] = result[1]
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hvkvm", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--kernel", default=os.path.join(CACHE, "vmlinux"))
    ap.add_argument("--ios", type=int, default=1024)
    ap.add_argument("--modes", default="dma,pio")
    ap.add_argument("--vmms", default="hvkvm,qemu")
    ap.add_argument("--timeout", type=int, default=1200)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hvkvm-idebench.")
    img = os.path.join(work, "disk.raw")
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    results = {}
    for mode in a.modes.split(","):
        append = (f"{APPEND} hvkvm_test.checks=blkperf "
                  f"hvkvm_test.blkperf_disk=sda hvkvm_test.blkperf_ios={a.ios} "
                  "hvkvm_test.blkperf_jobs=randread:4:1,randwrite:4:1"
                  + (" libata.dma=0" if mode == "pio" else ""))
        for vmm in a.vmms.split(","):
            if vmm == "hvkvm":
                name = f"idebench-{os.getpid()}"
                argv = [a.hvkvm, "run", "--name", name, "--kernel", a.kernel,
                        "--cpus", "1", "--memory", "256M", "--append", append,
                        "--disk", f"file={img},bus=ide,format=raw"]
                stats = HvkvmStats(a.hvkvm, name)
            else:
                qmp = os.path.join(work, f"qmp-{mode}.sock")
                stats = QemuStats(qmp)
                argv = [a.qemu, "-accel", "kvm", "-M", "pc", "-cpu", QEMU_CPU,
                        "-m", "256", "-smp", "1", "-nodefaults",
                        "-no-user-config", "-display", "none", "-serial",
                        "stdio", "-no-reboot", "-net", "none", "-kernel",
                        a.kernel, "-append", append, "-drive",
                        f"file={img},if=ide,format=raw,cache=none,"
                        "aio=io_uring", "-qmp", f"unix:{qmp},server=on,wait=off"]
            print(f"idebench: {vmm} {mode}: booting ...", flush=True)
            results[f"{vmm}-{mode}"] = f = run_one(vmm, argv, a.ios,
                                                   a.timeout, stats)
            print(f"idebench: {vmm} {mode}: done in {f['boot_s']:.0f} s: "
                  f"{f['guest']}", flush=True)
    print()
    print("| VMM | mode | phase | KVM exits/IO | userspace PIO exits/IO "
          "| userspace MMIO exits/IO | VMM user µs/IO | sys µs/IO |")
    print("|---|---|---|---|---|---|---|---|")
    for key, f in results.items():
        vmm, mode = key.split("-")
        for phase in ("read", "write"):
            x = f[phase]
            up = (f"{x['user_pio_exits']:.1f}" if vmm == "hvkvm" else "–")
            um = (f"{x['user_mmio_exits']:.1f}" if vmm == "hvkvm" else "–")
            print(f"| {vmm} | {mode} | 4K rand {phase} | {x['exits']:.1f} | "
                  f"{up} | {um} | {x['user_s'] * 1e6:.0f} | "
                  f"{x['sys_s'] * 1e6:.0f} |")
    for mode in a.modes.split(","):
        h, q = results.get(f"hvkvm-{mode}"), results.get(f"qemu-{mode}")
        if h and q:
            for phase in ("read", "write"):
                hx, qx = h[phase], q[phase]
                ratio = (hx["exits"] / qx["exits"]) if qx["exits"] else 0
                cpu = ((hx["user_s"] / qx["user_s"]) if qx["user_s"] else 0)
                print(f"ratio hvkvm/qemu {mode} {phase}: KVM exits "
                      f"{ratio:.2f}, VMM user CPU {cpu:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
