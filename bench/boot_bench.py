#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot benchmark: hvkvm against QEMU on the same kernel, in one run.

For each VMM, boots the test kernel (tests/guest/) with the same command
line, vCPUs and RAM and reports:
  * time from process start to a console marker (default: the test
    module's first line, i.e. the end of the kernel's boot; on hardware KVM
    with an initramfs, pass --marker for the first userspace line),
  * time to power-off,
  * the VMM's resident memory beyond guest RAM, sampled at the marker
    (/proc/PID/smaps: every mapping's Rss except the guest-RAM mapping),
  * for hvkvm, exits by reason during the boot (from --stats).
Prints a Markdown table with the hvkvm/QEMU ratios. Not a test: numbers
on an emulating KVM (kvm_pvm) measure mostly the emulator.

    bench/boot_bench.py --hvkvm build/src/hvkvm [--kernel vmlinux]
                        [--cpus 1] [--mem 256] [--runs 1]"""
import argparse
import os
import re
import select
import subprocess
import sys
import time

CACHE = os.path.join(os.environ.get("HVKVM_CACHE") or "/var/cache/hvkvm",
                     "guest", "current")
APPEND = ("console=ttyS0 tsc=reliable noxsave mitigations=off i8042.noaux "
          "no_timer_check 8250.nr_uarts=1 hvkvm_test.checks=cpus")
if os.path.exists("/sys/module/kvm_pvm"):
    # See docs/emulating-kvm.md: the same for both VMMs.
    APPEND += (" clearcpuid=151,158,308 nowatchdog"
               " rcupdate.rcu_cpu_stall_suppress=1"
               " workqueue.watchdog_thresh=0")


def rss_beyond_ram(pid, ram_bytes):
    """Rss of all mappings except the one holding guest RAM, in KiB."""
    total = 0
    cur_size = 0
    best = (0, 0)       # (size, rss) of the mapping closest to guest RAM
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for l in f:
                m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", l)
                if m:
                    cur_size = int(m.group(2), 16) - int(m.group(1), 16)
                    continue
                if l.startswith("Rss:"):
                    rss = int(l.split()[1])
                    total += rss
                    if cur_size >= ram_bytes and \
                            (not best[0] or cur_size < best[0]):
                        best = (cur_size, rss)
    except OSError:
        return None
    return total - best[1]


def boot(argv, marker, ram_bytes, timeout):
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    buf = b""
    t_marker = None
    rss = None
    end = t0 + timeout
    while time.time() < end:
        r, _, _ = select.select([p.stdout], [], [], 1.0)
        if r:
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            buf += data
            if t_marker is None and marker.encode() in buf:
                t_marker = time.time() - t0
                rss = rss_beyond_ram(p.pid, ram_bytes)
        if p.poll() is not None:
            break
    try:
        p.wait(timeout=30)      # console closed: let it finish exiting
    except subprocess.TimeoutExpired:
        p.kill()
    err = p.stderr.read().decode(errors="replace")
    p.wait()
    return {"marker_s": t_marker, "end_s": time.time() - t0,
            "rss_kib": rss, "status": p.returncode, "stderr": err}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvkvm", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--kernel", default=os.path.join(CACHE, "vmlinux"))
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--mem", type=int, default=256, help="MiB")
    ap.add_argument("--marker", default="HVKVM-TEST: cpus START")
    ap.add_argument("--qemu-cpu", default="Opteron_G1,-smap")
    ap.add_argument("--timeout", type=int, default=1200)
    a = ap.parse_args()
    append = f"{APPEND} hvkvm_test.cpus={a.cpus}"
    ram = a.mem * 1024 * 1024
    hv = boot([a.hvkvm, "run", "--kernel", a.kernel, "--cpus", str(a.cpus),
               "--memory", f"{a.mem}M", "--append", append, "--stats"],
              a.marker, ram, a.timeout)
    qm = boot([a.qemu, "-enable-kvm", "-cpu", a.qemu_cpu, "-m", str(a.mem),
               "-smp", str(a.cpus), "-nographic", "-no-reboot",
               "-nodefaults", "-serial", "stdio", "-kernel", a.kernel,
               "-append", append], a.marker, ram, a.timeout)

    def fmt(v, unit):
        return "n/a" if v is None else f"{v:.1f} {unit}"

    def ratio(x, y):
        return "n/a" if not x or not y else f"{x / y:.2f}"

    print(f"kernel {a.kernel}, {a.cpus} vCPU, {a.mem} MiB, marker '{a.marker}'")
    print("| metric | hvkvm | QEMU | hvkvm/QEMU |")
    print("|---|---|---|---|")
    print(f"| start to marker | {fmt(hv['marker_s'], 's')} | "
          f"{fmt(qm['marker_s'], 's')} | {ratio(hv['marker_s'], qm['marker_s'])} |")
    print(f"| start to exit | {fmt(hv['end_s'], 's')} | {fmt(qm['end_s'], 's')} | "
          f"{ratio(hv['end_s'], qm['end_s'])} |")
    hv_mib = hv["rss_kib"] / 1024 if hv["rss_kib"] is not None else None
    qm_mib = qm["rss_kib"] / 1024 if qm["rss_kib"] is not None else None
    print(f"| VMM RSS beyond guest RAM | {fmt(hv_mib, 'MiB')} | "
          f"{fmt(qm_mib, 'MiB')} | {ratio(hv_mib, qm_mib)} |")
    print(f"| exit status | {hv['status']} | {qm['status']} | |")
    print("\nhvkvm exits during the boot (--stats):")
    for l in hv["stderr"].splitlines():
        if "stats:" in l:
            print("    " + l.split("stats: ", 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
