#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`hvkvm bench disk` end to end, small: hvkvm's IDE and synthetic SCSI and
QEMU's virtio-blk on a fixed and a dynamic VHD, one job of 16 requests.
Asserts what the benchmark must show, not how fast anything is: every run
and job has figures, the guest saw the disks at their sizes, hvkvm's IDE
costs the VMM dozens of exits per I/O while storvsp costs it none (the
guest signals through the ioeventfd, completions go through SynIC), and
the JSON and SVG outputs are written.

    diskbench_test.py --hvkvm PATH [--kernel vmlinux]
Exit 0 pass, 1 fail, 77 skipped (no usable /dev/kvm, no QEMU)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
JOBS = "randread:4:8"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvkvm", required=True)
    ap.add_argument("--kernel")
    a = ap.parse_args()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIPPED: /dev/kvm is not usable here")
        return SKIP
    runs = "hvkvm-ide,hvkvm-scsi"
    if shutil.which("qemu-system-x86_64"):
        runs += ",qemu-virtio"
    else:
        print("note: no qemu-system-x86_64, the QEMU run is left out")
    work = tempfile.mkdtemp(prefix="hvkvm-diskbench-test.")
    out_json, out_svg = (os.path.join(work, "r.json"),
                         os.path.join(work, "r.svg"))
    argv = [a.hvkvm, "bench", "disk", "--runs", runs, "--ios", "16",
            "--jobs", JOBS, "--size", "32", "--span", "16", "--json",
            out_json, "--svg", out_svg, "--timeout", "900"]
    if a.kernel:
        argv += ["--kernel", a.kernel]
    print(" ".join(argv), flush=True)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=3000)
    print(p.stdout)
    print(p.stderr[-3000:])
    problems = []
    if p.returncode:
        problems.append(f"hvkvm bench disk exited {p.returncode}")
    try:
        with open(out_json) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"no JSON: {e}")
        res = {"results": []}
    rows = {(r["run"], r["disk"], r["job"]): r for r in res["results"]}
    for run in runs.split(","):
        for disk in ("fixed", "dynamic"):
            for job in JOBS.split(","):
                r = rows.get((run, disk, job))
                if not r:
                    problems.append(f"no figures for {run} {disk} {job}")
                    continue
                if r["ios"] != 16 or r["iops"] <= 0:
                    problems.append(f"{run} {disk} {job}: {r['ios']} I/Os, "
                                    f"{r['iops']} IOPS")
                # `hvkvm img` rounds 32 MiB up to whole CHS cylinders.
                if not 65536 <= r["guest_sectors"] < 66000:
                    problems.append(f"{run} {disk}: the guest saw "
                                    f"{r['guest_sectors']} sectors")
                v = r["vmm_exits_per_io"]
                if run == "hvkvm-ide" and (v is None or v < 10):
                    problems.append(f"hvkvm IDE {disk} {job}: {v} VMM exits"
                                    " per I/O (the taskfile alone is ~20)")
                if run == "hvkvm-scsi" and (v is None or v >= 1):
                    problems.append(f"storvsp {disk} {job}: {v} VMM exits "
                                    "per I/O (want 0)")
    if not os.path.exists(out_svg) or "<svg" not in open(out_svg).read():
        problems.append("no SVG chart")
    shutil.rmtree(work, ignore_errors=True)
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
