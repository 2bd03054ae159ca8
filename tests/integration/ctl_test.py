#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Control socket integration tests: `hvkvm run --daemon --name NAME`,
`hvkvm list` and `hvkvm ctl` against the tiny Multiboot kernel (mbtest) in
its "echo" mode, which polls COM1 forever and so keeps the VM running.

    ctl_test.py CASE --hvkvm PATH --mbtest PATH

Every case uses its own runtime directory (HVKVM_RUNTIME_DIR) and stops
the VMs it started. Exit 0 = pass, 1 = fail, 77 = skipped (no /dev/kvm)."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77


def kvm_usable():
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this host"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible to this user"
    return None


class Case:
    def __init__(self, a):
        self.hv = a.hvkvm
        self.mb = a.mbtest
        self.tmp = tempfile.mkdtemp(prefix="hvkvm-ctl-it.")
        self.env = dict(os.environ, HVKVM_RUNTIME_DIR=self.tmp + "/run")
        self.pids = []

    def run(self, *args, timeout=60):
        p = subprocess.run([self.hv, *args], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, text=True,
                           errors="replace", env=self.env)
        return p.returncode, p.stdout, p.stderr

    def expect(self, cond, what):
        if not cond:
            raise AssertionError(what)

    def one_line_error(self, args, rc_want, needle):
        rc, out, err = self.run(*args)
        lines = [l for l in err.strip().splitlines() if l]
        self.expect(rc == rc_want, f"{args}: status {rc}, want {rc_want}: {err}")
        self.expect(len(lines) == 1, f"{args}: want one error line, got {lines}")
        self.expect(needle in err, f"{args}: '{needle}' not in '{err.strip()}'")

    def start(self, name, *extra, cpus="2", memory="128M", append="echo"):
        """Boot mbtest in the background; returns (pid, pidfile, log)."""
        pidfile = os.path.join(self.tmp, name + ".pid")
        log = os.path.join(self.tmp, name + ".log")
        t0 = time.time()
        rc, out, err = self.run("run", "--daemon", "--name", name,
                                "--pidfile", pidfile, "--log", log,
                                "--kernel", self.mb, "--append", append,
                                "--cpus", cpus, "--memory", memory, *extra)
        self.expect(rc == 0, f"--daemon: status {rc}: {err}")
        self.expect(time.time() - t0 < 30, "--daemon took over 30 s")
        self.expect(out == "", f"--daemon printed {out!r}")
        pid = int(open(pidfile).read())
        self.pids.append(pid)
        self.expect(alive(pid), f"daemon {pid} is not running")
        return pid, pidfile, log

    def ctl(self, name, *args, want=0):
        rc, out, err = self.run("ctl", name, *args)
        self.expect(rc == want, f"ctl {name} {args}: status {rc}, want {want}: {err}")
        return out, err

    def ctl_json(self, name, *args):
        out, _ = self.ctl(name, "--json", *args)
        r = json.loads(out)
        self.expect(r["ok"] is True and r["id"] == 1, f"{args}: {out}")
        return r["result"]

    def cleanup(self):
        for pid in self.pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours would still answer kill 0; daemons are not ours.
    return True


def wait_gone(pid, secs=30):
    end = time.time() + secs
    while alive(pid) and time.time() < end:
        time.sleep(0.05)
    return not alive(pid)


def case_help(c):
    for args in (["ctl", "--help"], ["list", "--help"]):
        rc, out, err = c.run(*args)
        c.expect(rc == 0 and "Usage" in out, f"{args}: {rc} {err}")
    rc, out, _ = c.run("ctl", "--help")
    for word in ("status", "stats", "shutdown", "poweroff", "reboot", "pause",
                 "resume", "kvp-get", "kvp-set", "--json"):
        c.expect(word in out, f"ctl --help lacks {word}")
    rc, out, _ = c.run("--help")
    c.expect("ctl" in out and "list" in out, "hvkvm --help lacks ctl/list")
    rc, out, _ = c.run("run", "--help")
    for flag in ("--daemon", "--name", "--pidfile", "--log"):
        c.expect(flag in out, f"run --help lacks {flag}")


def case_bad_input(c):
    c.one_line_error(["ctl"], 1, "usage")
    c.one_line_error(["ctl", "novm"], 1, "usage")
    c.one_line_error(["ctl", "novm", "status"], 2, "no VM named 'novm'")
    c.one_line_error(["ctl", "bad name!", "status"], 2, "not a valid VM name")
    c.one_line_error(["ctl", "/nonexistent/x.sock", "status"], 2, "no VM")
    c.one_line_error(["ctl", "--bogus", "vm", "status"], 1, "--bogus")
    c.one_line_error(["ctl", "vm", "shutdown", "timeout=soon"], 1,
                     "not a number")
    c.one_line_error(["ctl", "vm", "status", "--json", "{nope"], 1,
                     "not a JSON object")
    c.one_line_error(["list", "--bogus"], 1, "--bogus")
    c.one_line_error(["run", "--kernel", c.mb, "--pidfile", "x"], 1,
                     "--daemon")
    c.one_line_error(["run", "--kernel", c.mb, "--name", "../x"], 1,
                     "--name")
    # An empty runtime directory lists nothing.
    rc, out, err = c.run("list")
    c.expect(rc == 0 and len(out.strip().splitlines()) <= 1, f"list: {out}")


def case_daemon_ctl(c):
    pid, pidfile, log = c.start("ctl-a")
    sock = os.path.join(c.tmp, "run", "ctl-a.sock")
    st = os.stat(sock)
    c.expect(st.st_mode & 0o777 == 0o600, f"socket mode {st.st_mode:o}")

    # list: table and JSON.
    rc, out, err = c.run("list")
    c.expect(rc == 0, f"list: {rc} {err}")
    rows = [l.split() for l in out.splitlines()[1:]]
    c.expect(len(rows) == 1 and rows[0][0] == "ctl-a", f"list: {out}")
    c.expect(rows[0][1] == str(pid) and rows[0][2] == "running" and
             rows[0][3] == "2" and rows[0][4] == "128M", f"list row: {out}")
    rc, out, _ = c.run("list", "--json")
    vms = json.loads(out)
    c.expect(len(vms) == 1 and vms[0]["name"] == "ctl-a" and
             vms[0]["pid"] == pid, f"list --json: {out}")

    # status: human and JSON.
    out, _ = c.ctl("ctl-a", "status")
    for line in ("name: ctl-a", f"pid: {pid}", "state: running",
                 "vcpus: 2", "memory: 128 MiB"):
        c.expect(line in out, f"status lacks '{line}': {out}")
    s = c.ctl_json("ctl-a", "status")
    c.expect(s["memory"] == 128 << 20 and s["vcpus"] == 2 and
             len(s["uuid"]) == 36 and s["kernel"] == c.mb and
             s["uptime"] >= 0, f"status: {s}")
    # The same through the socket path.
    out, _ = c.ctl(sock, "status")
    c.expect("name: ctl-a" in out, out)

    # stats: the echo loop polls COM1, so port exits grow while running...
    s1 = c.ctl_json("ctl-a", "stats")
    time.sleep(0.5)
    s2 = c.ctl_json("ctl-a", "stats")
    io = lambda s: s["vcpu0"]["exits"].get("io", 0)
    c.expect(io(s2) > io(s1) > 0, f"io exits {io(s1)} -> {io(s2)}")
    c.expect("vcpu1" in s2 and "bus" in s2, f"stats: {s2}")

    # ...and stop while paused.
    c.ctl("ctl-a", "pause")
    c.expect(c.ctl_json("ctl-a", "status")["state"] == "paused", "not paused")
    _, err = c.ctl("ctl-a", "pause", want=1)
    c.expect("already paused" in err, err)
    p1 = io(c.ctl_json("ctl-a", "stats"))
    time.sleep(0.5)
    p2 = io(c.ctl_json("ctl-a", "stats"))
    c.expect(p1 == p2, f"exits while paused: {p1} -> {p2}")
    c.ctl("ctl-a", "resume")
    time.sleep(0.3)
    c.expect(io(c.ctl_json("ctl-a", "stats")) > p2, "no exits after resume")
    c.expect(c.ctl_json("ctl-a", "status")["state"] == "running", "state")

    # Pipelining a burst far larger than the server's buffers, while
    # reading: every answer arrives (the end of a burst once got stuck).
    for burst in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.settimeout(20)
        n = 30000
        w = threading.Thread(target=s.sendall, args=(b"".join(
            b'{"cmd":"status","id":%d}\n' % i for i in range(n)),))
        w.start()
        f = s.makefile("rb")
        last = None
        try:
            for i in range(n):
                last = json.loads(f.readline())
        except (socket.timeout, ValueError) as e:
            raise AssertionError(f"burst {burst}: stuck after {i} answers: {e}")
        w.join()
        s.close()
        c.expect(last["id"] == n - 1 and last["ok"], f"burst: {last}")

    # Errors: one line, status 1, the VM keeps running.
    _, err = c.ctl("ctl-a", "frobnicate", want=1)
    c.expect("unknown command" in err and len(err.splitlines()) == 1, err)
    out, _ = c.ctl("ctl-a", "--json", "status", "--json", '{"bogus": 1}',
                   want=1)
    c.expect(json.loads(out)["code"] == "invalid-argument", out)

    # poweroff --wait: returns once the VM is gone; everything cleaned up.
    c.ctl("ctl-a", "poweroff", "--wait")
    c.expect(wait_gone(pid), "daemon still running after poweroff")
    c.expect(not os.path.exists(pidfile), "pidfile left behind")
    c.expect(not os.path.exists(sock), "socket left behind")
    c.expect("mbtest: multiboot magic ok" in open(log).read(),
             "serial output not in the --log file")
    c.one_line_error(["ctl", "ctl-a", "status"], 2, "no VM named 'ctl-a'")


def case_name_clash(c):
    pid, pidfile, _ = c.start("clash")
    # Same name: refused on the terminal, status 1; the first one is fine.
    c.one_line_error(["run", "--daemon", "--name", "clash", "--kernel", c.mb,
                      "--append", "echo"], 1, "already running")
    c.one_line_error(["run", "--name", "clash", "--kernel", c.mb,
                      "--append", "echo"], 1, "already running")
    # Same pidfile, other name: refused too.
    c.one_line_error(["run", "--daemon", "--name", "other", "--pidfile",
                      pidfile, "--kernel", c.mb, "--append", "echo"], 1,
                     "already running")
    c.expect(c.ctl_json("clash", "status")["pid"] == pid, "first VM gone")
    # Killed hard: the socket is stale; list skips it, the name is free.
    os.kill(pid, signal.SIGKILL)
    c.expect(wait_gone(pid), "SIGKILL")
    rc, out, _ = c.run("list")
    c.expect("clash" not in out, f"stale VM listed: {out}")
    c.one_line_error(["ctl", "clash", "status"], 2, "no VM named 'clash'")
    pid2, _, _ = c.start("clash")
    c.expect(c.ctl_json("clash", "status")["pid"] == pid2, "restart")
    # SIGTERM stops the daemon and removes its files.
    os.kill(pid2, signal.SIGTERM)
    c.expect(wait_gone(pid2), "SIGTERM")
    c.expect(not os.path.exists(os.path.join(c.tmp, "run", "clash.sock")),
             "socket left after SIGTERM")


def case_shutdown(c):
    # Hyper-V on: the Shutdown IC is offered but mbtest never opens it, and
    # it never enables the ACPI power button either: after the timeout the
    # fallback is tried and reported as failed; poweroff still works.
    pid, _, _ = c.start("sd", "--hyperv", "all", cpus="1")
    t0 = time.time()
    _, err = c.ctl("sd", "shutdown", "timeout=1", want=1)
    dt = time.time() - t0
    c.expect(1 <= dt < 10, f"fallback after {dt:.1f} s, want ~1 s")
    c.expect("ACPI" in err, f"shutdown: {err}")
    # timeout=0: straight to the power button.
    _, err = c.ctl("sd", "shutdown", "timeout=0", want=1)
    c.expect("ACPI" in err, err)
    # KVP: host pool round trip; the guest pool needs the guest's daemon.
    c.ctl("sd", "kvp-set", "pool=external", "key=HostName", "value=test")
    out, _ = c.ctl("sd", "kvp-get", "pool=external", "key=HostName")
    c.expect(out.strip() == "value: test", out)
    _, err = c.ctl("sd", "kvp-get", "pool=guest", "key=x", want=1)
    c.expect("not connected" in err, err)
    # reboot: the VM comes back under the same name and pid.
    r = c.ctl_json("sd", "reboot")
    c.expect(r.get("exits") is False, f"reboot: {r}")
    end = time.time() + 20
    while time.time() < end:
        rc, out, _ = c.run("ctl", "--json", "sd", "status")
        if rc == 0 and json.loads(out)["result"]["uptime"] < 5:
            break
        time.sleep(0.1)
    c.expect(rc == 0 and json.loads(out)["result"]["pid"] == pid,
             f"after reboot: {rc} {out}")
    c.ctl("sd", "poweroff", "--wait")
    c.expect(wait_gone(pid), "poweroff")


def case_media(c):
    # An IDE CD-ROM (hdb) and a disk (hda): eject, insert and their errors,
    # one clear line each; the media change reaches the guest as a unit
    # attention (unit-tested in test_ide).
    cd1, cd2 = os.path.join(c.tmp, "one.iso"), os.path.join(c.tmp, "two.iso")
    disk = os.path.join(c.tmp, "disk.raw")
    for f, size in ((cd1, 1 << 20), (cd2, 2 << 20), (disk, 1 << 20)):
        with open(f, "wb") as fh:
            fh.truncate(size)
    tiny = os.path.join(c.tmp, "tiny.iso")
    with open(tiny, "wb") as fh:
        fh.write(b"x" * 100)
    pid, _, _ = c.start("media", "--disk", f"file={disk},bus=ide,format=raw",
                        "--disk", f"file={cd1},bus=ide,media=cdrom",
                        cpus="1")
    out, _ = c.ctl("media", "eject", "hdb")
    c.expect("hdb" in out, out)
    _, err = c.ctl("media", "eject", "hdb", want=1)
    c.expect("no medium" in err, err)
    _, err = c.ctl("media", "eject", "hda", want=1)
    c.expect("not a CD-ROM" in err, err)
    _, err = c.ctl("media", "eject", "hdz", want=1)
    c.expect("hda..hdd" in err, err)
    _, err = c.ctl("media", "insert", "hdb", os.path.join(c.tmp, "nope.iso"),
                   want=1)
    c.expect("nope.iso" in err and "No such file" in err, err)
    _, err = c.ctl("media", "insert", "hdb", tiny, want=1)
    c.expect("not a CD image" in err, err)
    # A relative path is made absolute by the client.
    cwd = os.getcwd()
    os.chdir(c.tmp)
    try:
        out, _ = c.ctl("media", "insert", "hdb", "two.iso")
    finally:
        os.chdir(cwd)
    c.expect(cd2 in out, f"insert: {out}")
    _, err = c.ctl("media", "insert", "hdb", cd1, want=1)
    c.expect("eject it first" in err, err)
    # The named form works too.
    c.ctl("media", "eject", "drive=hdb", "force=1")
    c.ctl("media", "insert", "drive=hdb", f"file={cd1}")
    c.ctl("media", "poweroff", "--wait")
    c.expect(wait_gone(pid), "poweroff")
    # No IDE controller at all.
    pid, _, _ = c.start("noide", cpus="1")
    _, err = c.ctl("noide", "eject", "hdc", want=1)
    c.expect("no IDE controller" in err, err)
    c.ctl("noide", "poweroff", "--wait")
    c.expect(wait_gone(pid), "poweroff")


def case_crash_status(c):
    # on_crash=preserve: mbtest reports a crash through the Hyper-V crash
    # MSRs; the VM stays with its vCPUs stopped, status shows the report,
    # and poweroff ends it.
    pid, _, log = c.start("cr", "--hyperv", "all", "--on-crash", "preserve",
                          cpus="1", append="crash")
    end = time.time() + 20
    r = {}
    while time.time() < end:
        r = c.ctl_json("cr", "status")
        if r.get("state") == "crashed":
            break
        time.sleep(0.1)
    c.expect(r.get("state") == "crashed", f"status after the crash: {r}")
    crash = r.get("crash") or {}
    c.expect(crash.get("vp") == 0 and crash.get("reports") == 1,
             f"crash report: {crash}")
    c.expect(crash.get("p") == ["0x1e", "0xc0de00000011", "0xc0de00000022",
                                "0xc0de00000033", "0xc0de00000044"],
             f"crash MSR values: {crash}")
    c.expect("message" in crash and crash["message"] is None,
             f"a message without CrashNotifyMsg: {crash}")
    c.ctl("cr", "poweroff", "--wait")
    c.expect(wait_gone(pid), "poweroff after the crash")
    text = open(log, errors="replace").read()
    c.expect("guest crash reported by vCPU 0: P0=0x1e" in text,
             f"no crash line in the log: {text[-1000:]}")
    # on_crash=restart waits for the guest's own reset (mbtest halts
    # instead); a poweroff from the host in that time is a poweroff.
    pid, _, log = c.start("cr2", "--hyperv", "all", "--on-crash", "restart", "-v",
                          cpus="1", append="crash")
    end = time.time() + 20
    while time.time() < end and not (c.ctl_json("cr2", "status")
                                     .get("crash")):
        time.sleep(0.1)
    c.ctl("cr2", "poweroff", "--wait")
    c.expect(wait_gone(pid), "poweroff during the crash grace period")
    text = open(log, errors="replace").read()
    c.expect("on_crash=restart" in text and "restarting (on_crash" not in text and "at most 30 s" in text,
             f"poweroff became a restart: {text[-1500:]}")


def case_lockout(c):
    # #16: a real VM refuses smuggled requests, a table full of idle
    # clients still lets `ctl status` in, and a shutdown whose client went
    # away can be taken over or cancelled (mbtest never opens the Shutdown
    # IC, so a shutdown waits for its timeout).
    pid, _, _ = c.start("lo", "--hyperv", "all", cpus="1")
    path = os.path.join(c.tmp, "run", "lo.sock")

    def conn():
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(path)
        return s, s.makefile("rw")

    def ask(f, line):
        f.write(line + "\n")
        f.flush()
        return json.loads(f.readline())

    s, f = conn()
    for line, needle in (
            ('{"cmd":"status","cmd":"poweroff"}', "duplicate key 'cmd'"),
            ('{"cmd":"status","\\u0063md":"poweroff"}', "duplicate key"),
            ('{"cmd":"status\\u0000x"}', "NUL"),
            ('{"cmd":"status","id":"\\ud800"}', "lone surrogate")):
        r = ask(f, line)
        c.expect(r["ok"] is False and r["code"] == "parse-error" and
                 needle in r["error"] and r["id"] is None, f"{line}: {r}")
    c.expect(ask(f, '{"cmd":"status","id":1}')["ok"], "status after rejects")
    f.close()
    s.close()  # with f: makefile() keeps the socket open
    time.sleep(0.3)  # the server sees the close before the next accept
    c.expect(alive(pid), "the duplicate-key request stopped the VM")

    # 16 idle connections fill the table; after 1 s idle, status evicts one.
    idle = [conn() for _ in range(16)]
    time.sleep(1.5)
    out, _ = c.ctl("lo", "status")
    c.expect("state: running" in out, out)
    evicted = 0
    for s, f in idle:
        s.settimeout(0.2)
        try:
            line = f.readline()
        except (socket.timeout, OSError):
            continue
        if line:
            r = json.loads(line)
            c.expect(r["code"] == "evicted", f"idle client got {r}")
            evicted += 1
    c.expect(evicted == 1, f"{evicted} evicted, want 1")
    for s, f in idle:
        f.close()
        s.close()

    # A pending shutdown blocks another while its client waits ...
    s, f = conn()
    f.write('{"cmd":"shutdown","timeout":3600,"id":"a"}\n')
    f.flush()
    c.expect(ask(f, '{"cmd":"status","id":2}')["id"] == 2, "status")
    _, err = c.ctl("lo", "shutdown", want=1)
    c.expect("in progress" in err, err)
    # ... shutdown-cancel drops it and answers the waiter ...
    r = c.ctl_json("lo", "shutdown-cancel")
    c.expect("guest_asked" in r, f"shutdown-cancel: {r}")
    r = json.loads(f.readline())
    c.expect(r["id"] == "a" and r["ok"] is False and
             "cancelled" in r["error"], f"cancelled shutdown: {r}")
    _, err = c.ctl("lo", "shutdown-cancel", want=1)
    c.expect("no shutdown" in err, err)
    # ... and once its client has gone, the next shutdown takes it over
    # (timeout 1 s: the fallback is tried at once, not in an hour).
    f.write('{"cmd":"shutdown","timeout":3600,"id":"b"}\n')
    f.flush()
    c.expect(ask(f, '{"cmd":"status","id":3}')["id"] == 3, "status")
    f.close()
    s.close()
    time.sleep(0.2)
    t0 = time.time()
    _, err = c.ctl("lo", "shutdown", "timeout=1", want=1)
    c.expect("ACPI" in err and time.time() - t0 < 10, f"takeover: {err}")
    c.ctl("lo", "poweroff", "--wait")
    c.expect(wait_gone(pid), "poweroff")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
NEEDS_KVM = {"daemon_ctl", "name_clash", "shutdown", "crash_status",
             "lockout"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--hvkvm", required=True)
    ap.add_argument("--mbtest", required=True)
    a = ap.parse_args()
    if a.case in NEEDS_KVM:
        why = kvm_usable()
        if why:
            print(f"SKIPPED: {why}")
            return SKIP
    c = Case(a)
    try:
        CASES[a.case](c)
    except AssertionError as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    finally:
        c.cleanup()
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
