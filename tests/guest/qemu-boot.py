#!/usr/bin/env python3
"""Boot the hvkvm test kernel under QEMU+KVM and report the test results.

Reference runs for the test module and a baseline for hvkvm's boot
benchmark (same kernel, same command line). Prints every console line with
the host's elapsed time, then a milestone summary. Exit status: 0 if the
guest printed "HVKVM-TEST: DONE" with fail=0, 1 otherwise.

usage: qemu-boot.py [--kernel PATH] [--smp N] [--mem MB] [--checks LIST]
                    [--append ARGS] [--cpu MODEL] [--timeout S]
                    [--send LINE ...] [--qemu-arg ARG ...] [--log FILE]
"""
import argparse
import os
import re
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The CPU the hvkvm VMM presents on an emulating KVM: Intel vendor, no
# CX16/XSAVE/SMAP/POPCNT (see /work/shared/TEST-GUEST.md).
DEFAULT_CPU = ("kvm64,vendor=GenuineIntel,-cx16,-xsave,-smap,-smep,-popcnt,-pni,"
               "level=6")

# Recommended command line for the integration tests (docs/test-guest.md).
BASE_APPEND = ("console=ttyS0 earlyprintk=serial,ttyS0 tsc=reliable "
               "noxsave clearcpuid=cx16,popcnt,smap,xsave mitigations=off "
               "i8042.noaux no_timer_check")

MILESTONES = [
    ("first line", re.compile(r"Linux version")),
    ("ACPI", re.compile(r"ACPI: Interpreter enabled")),
    ("SMP up", re.compile(r"smp: Brought up")),
    ("clocksource switch", re.compile(r"clocksource: Switched to")),
    ("checks start", re.compile(r"HVKVM-TEST: \S+ START")),
    ("checks done", re.compile(r"HVKVM-TEST: DONE")),
    ("power down", re.compile(r"reboot: Power down")),
]


def tsc_args():
    """Skip TSC and delay-loop calibration: the guest's TSC runs at the
    host's rate. lpj is per jiffy; the test kernel has HZ=250."""
    try:
        with open("/proc/cpuinfo") as f:
            mhz = next(float(l.split(":")[1]) for l in f
                       if l.startswith("cpu MHz"))
    except (OSError, StopIteration, ValueError):
        return ""
    khz = int(mhz * 1000)
    return f"tsc_early_khz={khz} lpj={khz * 1000 // 250}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", help="vmlinux (default: build cache)")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", type=int, default=256, help="MiB")
    ap.add_argument("--checks", default="cpus,mem")
    ap.add_argument("--append", default="", help="extra kernel arguments")
    ap.add_argument("--cpu", default=DEFAULT_CPU)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--send", action="append", default=[],
                    help="line to type at each 'hvkvm# ' prompt, in order")
    ap.add_argument("--qemu-arg", action="append", default=[])
    ap.add_argument("--log", help="also write the timed console log here")
    ap.add_argument("--tcg", action="store_true",
                    help="QEMU's own emulator instead of KVM (fast here)")
    ap.add_argument("--initrd", help="initramfs to pass with -initrd")
    args = ap.parse_args()

    kernel = args.kernel
    if not kernel:
        path = subprocess.run([os.path.join(HERE, "build-kernel.sh"),
                               "--print-path"], capture_output=True,
                              text=True).stdout.strip()
        if not path:
            sys.exit("qemu-boot: no cached kernel; run build-kernel.sh")
        kernel = os.path.join(path, "vmlinux")

    append = (f"{BASE_APPEND} {tsc_args()} hvkvm_test.checks={args.checks} "
              f"hvkvm_test.cpus={args.smp} hvkvm_test.mem_mb={args.mem} "
              f"{args.append}").strip()
    cmd = ["qemu-system-x86_64", "-accel", "tcg" if args.tcg else "kvm",
           "-M", "pc",
           "-cpu", args.cpu, "-m", str(args.mem), "-smp", str(args.smp),
           "-nodefaults", "-no-user-config", "-display", "none",
           "-serial", "stdio", "-no-reboot", "-net", "none",
           "-kernel", kernel, "-append", append] + args.qemu_arg
    if args.initrd:
        cmd += ["-initrd", args.initrd]
    print("qemu-boot: " + " ".join(
        f"'{c}'" if " " in c or "," in c else c for c in cmd), flush=True)

    log = open(args.log, "w") if args.log else None
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = {}
    results = []
    done = None
    buf = b""
    sends = list(args.send)
    stream = b""
    answered = 0
    deadline = t0 + args.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("qemu-boot: timeout", flush=True)
            proc.kill()
            break
        r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        # A prompt has no newline: answer each one as soon as it shows up.
        stream += chunk
        while answered < stream.count(b"hvkvm# "):
            answered += 1
            line = sends.pop(0) if sends else "exit"
            proc.stdin.write(line.encode() + b"\r")
            proc.stdin.flush()
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.decode(errors="replace").rstrip("\r")
            now = time.monotonic() - t0
            out = f"[{now:8.2f}] {line}"
            print(out, flush=True)
            if log:
                log.write(out + "\n")
            for name, rx in MILESTONES:
                if name not in seen and rx.search(line):
                    seen[name] = now
            if "KVM internal error" in line:
                # QEMU pauses the VM and stays up: collect the register
                # dump, then stop it.
                deadline = min(deadline, time.monotonic() + 2)
            m = re.search(r"HVKVM-TEST: (\S+) (PASS|FAIL)", line)
            if m:
                results.append((m.group(1), m.group(2)))
            m = re.search(r"HVKVM-TEST: DONE pass=(\d+) fail=(\d+)", line)
            if m:
                done = (int(m.group(1)), int(m.group(2)))
    proc.wait()
    total = time.monotonic() - t0
    print("qemu-boot: milestones (host seconds since QEMU start):")
    for name, _ in MILESTONES:
        if name in seen:
            print(f"  {name:20s} {seen[name]:8.2f}")
    print(f"  {'qemu exit':20s} {total:8.2f}")
    for name, res in results:
        print(f"  check {name:14s} {res}")
    ok = done is not None and done[1] == 0
    print(f"qemu-boot: {'OK' if ok else 'FAILED'} {done}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
