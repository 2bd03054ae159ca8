#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fresh-machine check: run the README's two set-up commands the way a new
user does, in a clean clone of the committed HEAD with an empty test-guest
cache, so that a missing install step or a first-build-only failure shows
before a stop (docs/test-guest.md, "Fresh-machine check").

    scripts/fresh-check.py [--work DIR] [--keep] [--skip-demo] [--skip-test]
                           [-- ctest args for test.sh]

1. `git clone` of this checkout's HEAD into DIR/hvkvm (uncommitted changes
   are not in it: commit first);
2. HVKVM_CACHE=DIR/cache, empty, so the real cache is left alone and the
   test kernel is built from scratch;
3. `scripts/demo.sh` under a pseudo-terminal: waits for the guest's shell
   prompt, types `poweroff` (`poweroff -f` for the busybox shell) and wants
   exit status 0;
4. `scripts/test.sh` with the same cache: wants exit status 0.
Prints the time of each step and a last line "N passed, N failed".
Exit 0 only if every step passed. Takes about 30-45 minutes here (the
kernel build is most of it); run it as root, like the README's commands."""
import argparse
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = [(re.compile(rb"hvkvm# $"), b"poweroff\r"),
           (re.compile(rb"hvkvm-guest:[^\n]*# $"), b"poweroff -f\r")]


def say(msg):
    print(f"fresh-check: {msg}", flush=True)


def run_demo(clone, env, timeout, log):
    """demo.sh on a pty; answer the first shell prompt with poweroff."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(clone)
        os.execvpe("scripts/demo.sh", ["scripts/demo.sh"], env)
    deadline = time.monotonic() + timeout
    tail = b""
    sent = False
    status = None
    with open(log, "wb") as f:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 1.0)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                f.write(data)
                f.flush()
                tail = (tail + data)[-256:]
                for prompt, answer in PROMPTS:
                    if not sent and prompt.search(tail):
                        say("demo: guest shell prompt seen; typing "
                            + answer.decode().strip())
                        os.write(fd, answer)
                        sent = True
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
        # The pty closes as the VM exits: give the process time to end.
        end = time.monotonic() + 30
        while status is None and time.monotonic() < min(end, deadline + 30):
            try:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                    break
            except ChildProcessError:
                break
            time.sleep(0.2)
        if status is None:
            say(f"demo: no exit within {timeout} s (or 30 s after its "
                "console closed); killing it")
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return False, "timed out"
    os.close(fd)
    rc = os.waitstatus_to_exitcode(status)
    if not sent:
        return False, f"exit status {rc} before any shell prompt"
    return rc == 0, f"exit status {rc}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", help="folder for the clone and the cache "
                    "(default: a new one under /var/tmp)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the folder afterwards (default: removed "
                    "when every step passed)")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-test", action="store_true")
    ap.add_argument("--demo-timeout", type=int, default=3600)
    ap.add_argument("--test-timeout", type=int, default=5400)
    ap.add_argument("ctest_args", nargs="*")
    a = ap.parse_args()

    work = a.work or tempfile.mkdtemp(prefix="hvkvm-fresh.", dir="/var/tmp")
    clone = os.path.join(work, "hvkvm")
    cache = os.path.join(work, "cache")
    if os.path.exists(clone) or (os.path.isdir(cache) and os.listdir(cache)):
        sys.exit(f"fresh-check: error: {work} is not empty (clone or cache "
                 "left from an earlier run); use another --work")
    head = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain",
                            "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        say("warning: uncommitted changes are not part of the check")
    say(f"clone of {head} in {clone}, empty cache {cache}")
    if subprocess.run(["git", "clone", "-q", TOP, clone]).returncode:
        sys.exit("fresh-check: error: git clone failed")
    os.makedirs(cache, exist_ok=True)
    env = dict(os.environ, HVKVM_CACHE=cache)
    env.pop("BUILD", None)

    results = []
    if not a.skip_demo:
        log = os.path.join(work, "demo.log")
        say(f"step 1: scripts/demo.sh (console log: {log})")
        t0 = time.monotonic()
        ok, why = run_demo(clone, env, a.demo_timeout, log)
        secs = time.monotonic() - t0
        results.append(("demo.sh", ok, f"{why}, {secs:.0f} s"))
        say(f"demo.sh: {'PASS' if ok else 'FAIL'} ({why}) in {secs:.0f} s")
    if not a.skip_test:
        log = os.path.join(work, "test.log")
        say(f"step 2: scripts/test.sh {' '.join(a.ctest_args)} (log: {log})")
        t0 = time.monotonic()
        with open(log, "wb") as f:
            try:
                p = subprocess.run(["scripts/test.sh"] + a.ctest_args,
                                   cwd=clone, env=env, stdin=subprocess.DEVNULL,
                                   stdout=f, stderr=subprocess.STDOUT,
                                   timeout=a.test_timeout)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                rc = None
        secs = time.monotonic() - t0
        with open(log, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        summary = next((l for l in reversed(lines) if "tests passed" in l),
                       lines[-1] if lines else "(no output)")
        ok = rc == 0
        why = "timed out" if rc is None else f"exit status {rc}"
        results.append(("test.sh", ok, f"{why}, {secs:.0f} s: {summary}"))
        say(f"test.sh: {'PASS' if ok else 'FAIL'} ({why}) in {secs:.0f} s: "
            f"{summary.strip()}")
        if not ok:
            print("\n".join(lines[-30:]))

    stamp = os.path.join(cache, "guest", "current", "stamp")
    if os.path.exists(stamp):
        with open(stamp) as f:
            secs = [l.split()[1] for l in f if l.startswith("make_seconds")]
        if secs:
            say(f"kernel make took {secs[0]} s")
    passed = sum(1 for r in results if r[1])
    failed = len(results) - passed
    if failed == 0 and not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"kept {work}")
    print(f"fresh-check: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
