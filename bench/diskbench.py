#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Emulated against synthetic disks, fixed against dynamic VHD, hvkvm against
QEMU, in one run (`hvkvm bench disk`). Never a timed test.

One boot of the test kernel (tests/guest/) per run: hvkvm's PIIX4 IDE
(ata_piix; no Hyper-V enlightenments, so the guest keeps the disks on IDE),
hvkvm's synthetic SCSI (storvsp, --hyperv all, hv_storvsc), QEMU's IDE and
QEMU's virtio-blk (Debian's qemu-system-x86, same kernel, same images). Each
boot gets fresh copies of the same images (by default a fixed and a
dynamic VHD, the configuration of the Hyper-V team's fixed-vs-dynamic
study), and the test module's blkperf check runs the same jobs on each
disk: 4 KiB random read and write and 64 KiB sequential read and write, at
queue depth 1 and 8, over the first 100 MB.

Per job: IOPS, MB/s, average and p99 latency (the guest's clock, which on
Hyper-V's reference time is the host's), host CPU per I/O (the VMM
process's user and system time between the job's MARK lines), KVM exits
per I/O (KVM's binary stats, for both VMMs) and, for hvkvm, the exits that
reached the VMM (its own counters). Exits are also given net of the idle
rate measured in the second of quiet between jobs.

On an emulating KVM (kvm_pvm) the guest's code runs ~1000x slower inside
the host kernel: the VMM's system time is mostly that emulator, the IOPS
are the emulator's, and only the counts per I/O and the VMM's user time
per I/O carry over to hardware. docs/benchmarks.md says how to read them.

    diskbench.py --hvkvm PATH [IMAGE ...] [--runs LIST] [--jobs LIST]
                 [--ios N] [--size MB] [--json FILE] [--svg FILE]
"""
import argparse
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idebench import APPEND, QEMU_CPU, HvkvmStats, QemuStats  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
CACHE = os.path.join(os.environ.get("HVKVM_CACHE") or "/var/cache/hvkvm",
                     "guest", "current")
RUNS = ("hvkvm-ide", "hvkvm-scsi", "qemu-ide", "qemu-virtio")
JOBS = ("randread:4:1,randwrite:4:1,randread:4:8,randwrite:4:8,"
        "read:64:1,write:64:1,read:64:8,write:64:8")
MARK = re.compile(rb"HVKVM-TEST: blkperf MARK (\S+) (\S+) +(start|end)[\r\n]")
JOB = re.compile(rb"HVKVM-TEST: blkperf JOB (\S+) (\S+) ([^\r\n]*)[\r\n]")
RESULT = re.compile(rb"HVKVM-TEST: blkperf (PASS|FAIL)([^\r\n]*)[\r\n]")
STORVSC = "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"


class Progress:
    """One progress line on a terminal, plain lines otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, text, final=False):
        if self.tty:
            pad = max(0, self.width - len(text))
            sys.stderr.write("\r" + text + " " * pad + ("\n" if final else ""))
            self.width = 0 if final else len(text)
        elif final or not text.endswith("..."):
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def disk_names(run, n):
    letters = "abcdefghijklmnop"[:n]
    return [("vd" if run == "qemu-virtio" else "sd") + c for c in letters]


def vmm_argv(a, run, name, disks, append, work):
    """The command line of @run, with @disks attached in order."""
    if run.startswith("hvkvm"):
        bus = "scsi" if run == "hvkvm-scsi" else "ide"
        argv = [a.hvkvm, "run", "--name", name, "--kernel", a.kernel,
                "--cpus", "1", "--memory", "256M", "--append", append]
        if bus == "scsi":
            argv += ["--hyperv", "all"]
        for path, fmt in disks:
            argv += ["--disk", f"file={path},bus={bus},format={fmt}"]
        return argv, HvkvmStats(a.hvkvm, name)
    qmp = os.path.join(work, f"qmp-{run}.sock")
    argv = [a.qemu, "-accel", "kvm", "-M", "pc", "-cpu", QEMU_CPU, "-m",
            "256", "-smp", "1", "-nodefaults", "-no-user-config", "-display",
            "none", "-serial", "stdio", "-no-reboot", "-net", "none",
            "-kernel", a.kernel, "-append", append, "-qmp",
            f"unix:{qmp},server=on,wait=off"]
    iface = "virtio" if run == "qemu-virtio" else "ide"
    for path, fmt in disks:
        qfmt = "vpc" if fmt == "vhd" else "raw"
        argv += ["-drive", f"file={path},if={iface},format={qfmt},"
                 "cache=none,aio=io_uring"]
    return argv, QemuStats(qmp)


def boot(a, run, disks, labels, work, progress, step):
    """One boot of @run: {(disk, job): figures}."""
    names = disk_names(run, len(disks))
    append = (f"{APPEND} hvkvm_test.checks=blkperf "
              f"hvkvm_test.blkperf_disk={','.join(names)} "
              f"hvkvm_test.blkperf_ios={a.ios} "
              f"hvkvm_test.blkperf_jobs={a.jobs} "
              f"hvkvm_test.blkperf_span_mb={a.span}")
    if run == "hvkvm-scsi":
        append += (f" hvkvm_test.vmbus=1 hvkvm_test.vmbus_devs="
                   f"{STORVSC}:hv_storvsc")
    name = f"diskbench-{os.getpid()}-{run}"
    argv, stats = vmm_argv(a, run, name, disks, append, work)
    master, slave = pty.openpty()
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE)
    os.close(slave)
    buf, samples, jobs, result, seen, seen_jobs = b"", [], {}, None, 0, 0
    njobs = len(a.jobs.split(",")) * len(disks)
    progress(f"{step} {run}: booting ...")
    while time.time() - t0 < a.timeout and p.poll() is None and not result:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        buf += data
        for m in list(MARK.finditer(buf))[seen:]:
            s = stats.sample(p.pid)
            s["wall"] = time.time()
            s["cpu_ns"] = cpu_ns(p.pid)
            samples.append((m.group(1).decode(), m.group(2).decode(),
                            m.group(3).decode(), s))
            seen += 1
            if m.group(3) == b"start" and m.group(2) != b"idle":
                progress(f"{step} {run}: job {len(jobs) + 1}/{njobs} "
                         f"{m.group(1).decode()} {m.group(2).decode()} ...")
        for m in list(JOB.finditer(buf))[seen_jobs:]:
            kv = dict(x.split("=", 1) for x in m.group(3).decode().split())
            jobs[(m.group(1).decode(), m.group(2).decode())] = \
                {k: int(v) for k, v in kv.items()}
            seen_jobs += 1
        m = RESULT.search(buf)
        if m:
            result = (m.group(1).decode(), m.group(2).decode().strip())
    # The guest powers off after its checks; give it a moment, then stop it.
    end = time.time() + 30
    while p.poll() is None and time.time() < end:
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
    p.wait()
    os.close(master)
    err = p.stderr.read().decode(errors="replace")
    if not result or result[0] != "PASS":
        raise RuntimeError(f"{run}: blkperf {result}; console tail: "
                           f"{buf[-1500:].decode(errors='replace')}; "
                           f"stderr: {err[-1500:]}")
    return figures(run, names, labels, samples, jobs), time.time() - t0


def cpu_ns(pid):
    """CPU time of every thread of @pid in ns (schedstat: not tick-rounded)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def delta(a, b, k):
    return b[k] - a[k]


def figures(run, names, labels, samples, jobs):
    """Per job: the guest's JOB line with the host's deltas over the job,
    less what the "idle" pair of marks (no I/O, a second of idling and a
    MARK line printed on the serial port) cost on the same disk; the KVM
    exits also less the idle pair's rate over the job's duration."""
    out, idle = {}, {}
    pairs = []
    for i in range(len(samples) - 1):
        disk, job, what, a = samples[i]
        d2, j2, w2, b = samples[i + 1]
        if what == "start" and w2 == "end" and (d2, j2) == (disk, job):
            pairs.append((disk, job, a, b))
    for disk, job, a, b in pairs:
        if job == "idle":
            idle[disk] = {k: b[k] - a[k] for k in a}
    for disk, job, a, b in pairs:
        g = jobs.get((disk, job))
        if job == "idle" or not g:
            continue
        base = idle.get(disk) or {k: 0 for k in a}
        n = g["ios"]
        secs = g["us"] / 1e6
        wall = b["wall"] - a["wall"]
        rate = base["exits"] / base["wall"] if base.get("wall") else 0
        kvm = delta(a, b, "exits") - base["exits"]
        vmm = (delta(a, b, "user_pio_exits") + delta(a, b, "user_mmio_exits")
               - base["user_pio_exits"] - base["user_mmio_exits"])
        f = {
            "run": run, "disk": labels[names.index(disk)], "job": job,
            "ios": n, "iops": n / secs if secs else 0,
            "mb_s": g["bytes"] / secs / 1e6 if secs else 0,
            "lat_avg_us": g["lat_avg_ns"] / 1e3,
            "lat_p99_us": g["lat_p99_ns"] / 1e3,
            "host_iops": n / (wall - 1.0) if wall > 1.0 else 0,
            "kvm_exits_per_io": max(0.0, kvm / n),
            "kvm_exits_per_io_net": max(0.0, (kvm - rate * max(
                0.0, wall - base.get("wall", 0))) / n),
            "vmm_exits_per_io": (max(0.0, vmm / n)
                                 if run.startswith("hvkvm") else None),
            "cpu_us_per_io": max(0.0, delta(a, b, "cpu_ns") -
                                 base["cpu_ns"]) / 1e3 / n,
            "user_us_per_io": max(0.0, delta(a, b, "user_s") -
                                  base["user_s"]) * 1e6 / n,
            "sys_us_per_io": max(0.0, delta(a, b, "sys_s") -
                                 base["sys_s"]) * 1e6 / n,
            "guest_sectors": g["sectors"],
        }
        out[(f["disk"], job)] = f
    return out


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def table(rows):
    head = ("run", "disk", "job", "IOPS", "MB/s", "lat avg µs", "lat p99 µs",
            "KVM exits/IO", "net of idle", "VMM exits/IO", "VMM CPU µs/IO",
            "user µs/IO", "sys µs/IO")
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for f in rows:
        lines.append("| " + " | ".join((
            f["run"], f["disk"], f["job"], fmt(f["iops"], 0),
            fmt(f["mb_s"], 2), fmt(f["lat_avg_us"], 0),
            fmt(f["lat_p99_us"], 0), fmt(f["kvm_exits_per_io"]),
            fmt(f["kvm_exits_per_io_net"]), fmt(f["vmm_exits_per_io"]),
            fmt(f["cpu_us_per_io"], 0), fmt(f["user_us_per_io"], 0), fmt(f["sys_us_per_io"], 0))) + " |")
    return "\n".join(lines)


def ratios(res):
    """The comparisons the issue asks for, per disk and job."""
    out = []
    pairs = (("hvkvm-scsi", "hvkvm-ide", "synthetic/emulated (hvkvm)"),
             ("qemu-virtio", "qemu-ide", "virtio/emulated (QEMU)"),
             ("hvkvm-scsi", "qemu-virtio", "hvkvm storvsp / QEMU virtio-blk"),
             ("hvkvm-ide", "qemu-ide", "hvkvm IDE / QEMU IDE"))
    keys = sorted({(f["disk"], f["job"]) for f in res.values()})
    for x, y, what in pairs:
        for disk, job in keys:
            fx, fy = res.get((x, disk, job)), res.get((y, disk, job))
            if not fx or not fy:
                continue
            r = {"what": what, "disk": disk, "job": job}
            r["iops"] = fx["iops"] / fy["iops"] if fy["iops"] else None
            cx, cy = fx["cpu_us_per_io"], fy["cpu_us_per_io"]
            r["cpu_per_io"] = cx / cy if cy else None
            r["user_cpu_per_io"] = (fx["user_us_per_io"] /
                                    fy["user_us_per_io"]
                                    if fy["user_us_per_io"] else None)
            r["kvm_exits_per_io"] = (fx["kvm_exits_per_io"] /
                                     fy["kvm_exits_per_io"]
                                     if fy["kvm_exits_per_io"] else None)
            out.append(r)
    return out


def svg_chart(rows, path):
    """Grouped bars: IOPS per job, one bar per run and disk, log scale."""
    import math
    jobs = list(dict.fromkeys(f["job"] for f in rows))
    series = list(dict.fromkeys((f["run"], f["disk"]) for f in rows))
    colors = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c",
              "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5")
    by = {(f["run"], f["disk"], f["job"]): f["iops"] for f in rows}
    top = max([v for v in by.values() if v > 0] or [1])
    lmax = math.ceil(math.log10(top)) or 1
    bw, gap, left, h, plot_top = 10, 24, 60, 300, 40
    gw = bw * len(series) + gap
    width = left + gw * len(jobs) + 220
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{h + 120}" font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="20" font-size="14">IOPS per job (log '
           'scale), hvkvm bench disk</text>']
    for d in range(0, lmax + 1):
        y = plot_top + h - h * d / lmax
        out.append(f'<line x1="{left}" x2="{left + gw * len(jobs)}" '
                   f'y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 5}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{10 ** d}</text>')
    for j, job in enumerate(jobs):
        x0 = left + j * gw + gap / 2
        for s, (run, disk) in enumerate(series):
            v = by.get((run, disk, job), 0)
            bh = h * math.log10(v) / lmax if v > 1 else 0
            out.append(f'<rect x="{x0 + s * bw:.1f}" y="'
                       f'{plot_top + h - bh:.1f}" width="{bw - 1}" '
                       f'height="{bh:.1f}" fill="{colors[s % len(colors)]}">'
                       f'<title>{run} {disk} {job}: {v:.0f} IOPS</title>'
                       '</rect>')
        out.append(f'<text x="{x0 + bw * len(series) / 2:.1f}" '
                   f'y="{plot_top + h + 15}" text-anchor="middle">{job}'
                   '</text>')
    lx = left + gw * len(jobs) + 20
    for s, (run, disk) in enumerate(series):
        y = plot_top + 14 * s
        out.append(f'<rect x="{lx}" y="{y}" width="10" height="10" '
                   f'fill="{colors[s % len(colors)]}"/>')
        out.append(f'<text x="{lx + 15}" y="{y + 9}">{run} {disk}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def default_images(a, work):
    """A fixed and a dynamic VHD of --size MB, made by `hvkvm img`."""
    out = []
    for kind in ("fixed", "dynamic"):
        path = os.path.join(work, f"{kind}.vhd")
        p = subprocess.run([a.hvkvm, "img", "create", "-f", "vhd", "--type",
                            kind, path, f"{a.size}M"], capture_output=True,
                           text=True)
        if p.returncode:
            raise RuntimeError(f"hvkvm img create: {p.stderr.strip()}")
        out.append((path, "vhd", kind))
    return out


def user_images(paths):
    out = []
    for i, path in enumerate(paths):
        if not os.path.isfile(path):
            raise SystemExit(f"hvkvm bench disk: {path}: no such image file")
        if os.path.getsize(path) < 4 << 20:
            raise SystemExit(f"hvkvm bench disk: {path}: smaller than 4 MiB")
        fmt = "vhd" if vhd_type(path) else "raw"
        label = os.path.basename(path)
        out.append((path, fmt, label if label not in
                    [x[2] for x in out] else f"{label}#{i}"))
    return out


def vhd_type(path):
    """2 fixed, 3 dynamic, 4 differencing (the VHD footer), 0 raw."""
    with open(path, "rb") as f:
        f.seek(-512, os.SEEK_END)
        foot = f.read(512)
    if not foot.startswith(b"conectix"):
        return 0
    return int.from_bytes(foot[60:64], "big")


def copy_image(src, dst):
    """A copy, so every boot starts from the same bytes and the user's image
    is never written. A fixed VHD's copy is fully allocated, as Hyper-V
    makes them (a sparse one would allocate host blocks on first write,
    like a dynamic one); others keep their holes."""
    sparse = "never" if vhd_type(src) == 2 else "always"
    subprocess.run(["cp", f"--sparse={sparse}", src, dst], check=True)


def main():
    ap = argparse.ArgumentParser(
        prog="hvkvm bench disk",
        description="Emulated (IDE) against synthetic (storvsp) disks, "
        "fixed against dynamic VHD, with QEMU's IDE and virtio-blk as the "
        "peer, in one run. The images are copied; yours are never written.")
    ap.add_argument("images", nargs="*", metavar="IMAGE",
                    help="raw or VHD images to test (default: a fixed and a "
                    "dynamic VHD of --size MB)")
    ap.add_argument("--hvkvm", required=True, help=argparse.SUPPRESS)
    ap.add_argument("--qemu", default="qemu-system-x86_64",
                    help="QEMU binary (default %(default)s)")
    ap.add_argument("--kernel", default=None,
                    help="test kernel (default: the cached test-guest "
                    "vmlinux, built by tests/guest/build-kernel.sh)")
    ap.add_argument("--runs", default=",".join(RUNS),
                    help="comma list of %s (default all)" % ", ".join(RUNS))
    ap.add_argument("--jobs", default=JOBS,
                    help="KIND:KIB:QD list, KIND randread, randwrite, read "
                    "or write (default %(default)s)")
    ap.add_argument("--ios", type=int, default=256,
                    help="requests per job (default %(default)s)")
    ap.add_argument("--size", type=int, default=128,
                    help="MB of the default images (default %(default)s)")
    ap.add_argument("--span", type=int, default=100,
                    help="MB of each disk the jobs cover (default "
                    "%(default)s)")
    ap.add_argument("--timeout", type=int, default=3600,
                    help="seconds per boot (default %(default)s)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--svg", default="diskbench.svg",
                    help="IOPS chart (default %(default)s; '' for none)")
    ap.add_argument("--work", help="folder for the image copies (default: "
                    "a new one under /var/tmp, removed at the end)")
    a = ap.parse_args()
    runs = [r for r in a.runs.split(",") if r]
    for r in runs:
        if r not in RUNS:
            ap.error(f"--runs: unknown run '{r}' (one of {', '.join(RUNS)})")
    for j in a.jobs.split(","):
        m = re.fullmatch(r"(rand)?(read|write):(\d+):(\d+)", j)
        if not m or not 1 <= int(m.group(3)) <= 64 or \
                not 1 <= int(m.group(4)) <= 32:
            ap.error(f"--jobs: bad job '{j}' (KIND:KIB:QD, KIND randread, "
                     "randwrite, read or write, KIB 1..64, QD 1..32)")
    if a.ios < 1 or a.size < 8 or a.span < 1:
        ap.error("--ios, --size and --span must be positive (--size >= 8)")
    if any(r.startswith("qemu") for r in runs) and not shutil.which(a.qemu):
        ap.error(f"--qemu: {a.qemu} not found (apt-get install "
                 "qemu-system-x86, or leave the qemu runs out of --runs)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise SystemExit("hvkvm bench disk: /dev/kvm is not usable here")
    if not a.kernel:
        a.kernel = os.path.join(CACHE, "vmlinux")
        if not os.path.exists(a.kernel):
            build = os.path.join(SRC, "tests", "guest", "build-kernel.sh")
            if not os.path.exists(build):
                raise SystemExit("hvkvm bench disk: no test kernel; give "
                                 "--kernel")
            print("hvkvm bench disk: building the test kernel (once, ~15 "
                  "minutes) ...", file=sys.stderr, flush=True)
            out = subprocess.run([build], stdout=subprocess.PIPE, text=True)
            if out.returncode:
                raise SystemExit("hvkvm bench disk: test kernel build "
                                 "failed")
            a.kernel = os.path.join(out.stdout.strip().splitlines()[-1],
                                    "vmlinux")
    work = a.work or tempfile.mkdtemp(prefix="hvkvm-diskbench.",
                                      dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    progress = Progress()
    try:
        images = (user_images(a.images) if a.images
                  else default_images(a, work))
        labels = [x[2] for x in images]
        res, boots = {}, {}
        for i, run in enumerate(runs):
            disks = []
            for path, fmt_, label in images:
                dst = os.path.join(work, f"{run}-{label}")
                copy_image(path, dst)
                disks.append((dst, fmt_))
            figs, secs = boot(a, run, disks, labels, work, progress,
                              f"[{i + 1}/{len(runs)}]")
            boots[run] = secs
            for (disk, job), f in figs.items():
                res[(run, disk, job)] = f
            progress(f"[{i + 1}/{len(runs)}] {run}: {len(figs)} jobs in "
                     f"{secs:.0f} s", final=True)
            for path, _ in disks:
                os.unlink(path)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    rows = [res[k] for k in sorted(res, key=lambda k: (
        runs.index(k[0]), labels.index(k[1]), a.jobs.split(",").index(k[2])))]
    print(table(rows))
    rs = ratios(res)
    if rs:
        print()
        print("| comparison | disk | job | IOPS ratio | CPU/IO ratio | "
              "VMM user CPU/IO ratio | KVM exits/IO ratio |")
        print("|---|---|---|---|---|---|---|")
        for r in rs:
            print(f"| {r['what']} | {r['disk']} | {r['job']} | "
                  f"{fmt(r['iops'], 2)} | {fmt(r['cpu_per_io'], 2)} | "
                  f"{fmt(r['user_cpu_per_io'], 2)} | "
                  f"{fmt(r['kvm_exits_per_io'], 2)} |")
    emulating = os.path.exists("/sys/module/kvm_pvm")
    if emulating:
        print("\nnote: /dev/kvm here is an emulating KVM (kvm_pvm): IOPS, "
              "latency and system time are the emulator's; the counts per "
              "I/O and the VMM's user time per I/O are what carry over.")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"kernel": a.kernel, "ios": a.ios, "jobs": a.jobs,
                       "span_mb": a.span, "emulating_kvm": emulating,
                       "boot_seconds": boots, "results": rows,
                       "ratios": rs}, f, indent=1)
    if a.svg:
        svg_chart(rows, a.svg)
        print(f"\nchart: {a.svg}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        sys.exit(f"hvkvm bench disk: {e}")
    except KeyboardInterrupt:
        sys.exit("hvkvm bench disk: interrupted")
