#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Platform integration tests that boot the tiny Multiboot test kernel
(mbtest) or feed hvkvm bad input. Each case is one ctest test:

    platform_test.py CASE --hvkvm PATH --mbtest PATH

Exit 0 = pass, 1 = fail, 77 = skipped (no usable /dev/kvm)."""
import argparse
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

SKIP = 77


def kvm_usable():
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this host"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible to this user"
    return None


def run(args, timeout=60, stdin=subprocess.DEVNULL):
    p = subprocess.run(args, stdin=stdin, capture_output=True,
                       timeout=timeout, text=True, errors="replace")
    return p.returncode, p.stdout, p.stderr


class Case:
    def __init__(self, a):
        self.a = a
        self.hv = a.hvkvm
        self.mb = a.mbtest

    def boot(self, append, *extra, timeout=60):
        return run([self.hv, "run", "--kernel", self.mb, "--append", append,
                    "--serial", "stdio", *extra], timeout=timeout)

    def expect(self, cond, what):
        if not cond:
            raise AssertionError(what)


def case_debug_exit(c):
    rc, out, err = c.boot("hello", "--debug-exit", "0xf4", "--cpus", "2",
                          "--memory", "256M")
    c.expect(rc == (0x21 << 1) | 1, f"status {rc}, want 67; stderr: {err}")
    c.expect("multiboot magic ok" in out, "no boot line")
    c.expect("fw_cfg signature QEMU" in out, "fw_cfg signature")
    c.expect("fw_cfg cpus 0x02" in out, "fw_cfg CPU count")
    # 256 MiB: mem_upper = 255 MiB in KiB.
    c.expect("mem_upper KiB 0x0003FC00" in out, f"memory size: {out}")
    c.expect("cmdline hello" in out, "command line")


def case_acpi_s5(c):
    rc, out, err = c.boot("s5", "--cpus", "4")
    c.expect(rc == 0, f"S5 status {rc}, want 0; {err}")
    c.expect("ACPI S5" in out, "S5 line")


def case_reset_exit(c):
    for how in ("reset", "kbdreset"):
        rc, out, err = c.boot(how, "--no-reboot")
        c.expect(rc == 2, f"{how}: status {rc}, want 2; {err}")


def case_reset_reboots(c):
    # Without --no-reboot the guest boots again after its reset; stop it
    # with SIGTERM after a few boots.
    p = subprocess.Popen([c.hv, "run", "--kernel", c.mb, "--append", "reset",
                          "--serial", "stdio"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)
    p.terminate()
    out, err = p.communicate(timeout=30)
    boots = out.count(b"multiboot magic ok")
    c.expect(boots >= 2, f"{boots} boots seen, want >= 2")
    c.expect(p.returncode == 16, f"status after SIGTERM {p.returncode}, want 16")


def case_triple_fault(c):
    rc, out, err = c.boot("triple")
    c.expect(rc == 8, f"status {rc}, want 8")
    c.expect("triple fault" in err, f"no triple-fault message: {err}")
    c.expect("RIP=" in err and "CR0=" in err, "no register dump")


CRASH_LINE = ("guest crash reported by vCPU 0: P0=0x1e P1=0xc0de00000011 "
              "P2=0xc0de00000022 P3=0xc0de00000033 P4=0xc0de00000044")


def case_crash(c):
    """Hyper-V crash MSRs: the VMM logs the values and applies on_crash."""
    # destroy (the default): status 4 at once
    rc, out, err = c.boot("crash", "--hyperv", "all")
    c.expect(rc == 4, f"on_crash=destroy: status {rc}, want 4; {err}")
    c.expect(CRASH_LINE in err, f"no crash line with the MSR values: {err}")
    c.expect("on_crash=destroy" in err, "policy not named")
    # without the crash enlightenment the MSRs #GP: a triple fault here
    rc, out, err = c.boot("crash", "--hyperv", "relaxed,vpindex")
    c.expect(rc == 8 and "guest crash" not in err,
             f"crash MSRs without hyperv crash: status {rc}; {err}")
    # restart: the guest's own reset after the report reboots it, even
    # with --no-reboot (which only covers resets without a crash)
    p = subprocess.Popen([c.hv, "run", "--kernel", c.mb, "--append",
                          "crashreset", "--serial", "stdio", "--hyperv", "all",
                          "--on-crash", "restart", "--no-reboot", "-v"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(4)
    p.terminate()
    out, err = p.communicate(timeout=30)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    boots = out.count("multiboot magic ok")
    c.expect(boots >= 2, f"on_crash=restart: {boots} boots, want >= 2; {err}")
    c.expect(err.count("guest crashed: restarting") >= 1,
             f"no restart message: {err[-2000:]}")
    c.expect(p.returncode == 16, f"status after SIGTERM {p.returncode}")
    # preserve: the vCPUs stop, the process stays until told to end
    p = subprocess.Popen([c.hv, "run", "--kernel", c.mb, "--append",
                          "crashreset", "--serial", "stdio", "--hyperv", "all",
                          "--on-crash", "preserve"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(3)
    alive = p.poll() is None
    p.terminate()
    out, err = p.communicate(timeout=30)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    c.expect(alive, f"on_crash=preserve: exited {p.returncode}; {err}")
    c.expect(out.count("multiboot magic ok") == 1,
             "on_crash=preserve: the guest ran on (it reset)")
    c.expect("on_crash=preserve" in err, f"no preserve message: {err}")
    # CrashNotifyMsg: the guest's message is logged, sanitised, line by line
    rc, out, err = c.boot("crashmsg", "--hyperv", "all")
    c.expect(rc == 4, f"crashmsg: status {rc}, want 4; {err}")
    c.expect("guest crash message (41 bytes):" in err, f"no message: {err}")
    c.expect("guest| mbtest panic: first line" in err and
             "guest| \tsecond line ??" in err, f"message lines: {err}")
    # bad flag value
    rc, out, err = c.boot("crash", "--on-crash", "explode")
    c.expect(rc == 1 and "--on-crash explode" in err,
             f"bad --on-crash: status {rc}; {err}")


def case_console_pty(c):
    # Drive the interactive console through a pty: type, read the echo.
    master, slave = pty.openpty()
    p = subprocess.Popen([c.hv, "run", "--kernel", c.mb, "--append", "echo",
                          "--debug-exit", "0xf4"], stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE)
    os.close(slave)
    buf = b""

    def read_until(token, secs):
        nonlocal buf
        end = time.time() + secs
        while token not in buf and time.time() < end:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    buf += os.read(master, 4096)
                except OSError:
                    break
        return token in buf

    c.expect(read_until(b"echo> ", 30), f"no prompt: {buf!r}")
    os.write(master, b"hvkvm")
    c.expect(read_until(b"hvkvm", 10), f"no echo: {buf!r}")
    # Ctrl-A Ctrl-A passes one Ctrl-A to the guest.
    os.write(master, b"\x01\x01")
    c.expect(read_until(b"\x01", 10), "Ctrl-A Ctrl-A not passed through")
    os.write(master, b"q")
    rc = p.wait(timeout=30)
    c.expect(rc == 67, f"status {rc}, want 67")
    os.close(master)


def case_console_quit(c):
    # Ctrl-A x on the terminal stops the VM with status 16 and restores it.
    master, slave = pty.openpty()
    p = subprocess.Popen([c.hv, "run", "--kernel", c.mb, "--append", "echo"],
                         stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    time.sleep(2)
    os.write(master, b"\x01x")
    rc = p.wait(timeout=30)
    import termios
    attrs = termios.tcgetattr(slave)
    os.close(slave)
    os.close(master)
    c.expect(rc == 16, f"status {rc}, want 16")
    c.expect(attrs[3] & termios.ICANON, "terminal left in raw mode")


def bad(c, args, needle, want_rc=1):
    rc, out, err = run([c.hv] + args, timeout=60)
    lines = [l for l in err.strip().splitlines() if l]
    c.expect(rc == want_rc, f"{args}: status {rc}, want {want_rc}: {err}")
    c.expect(len(lines) == 1, f"{args}: want one error line, got {lines}")
    c.expect(needle in err, f"{args}: '{needle}' not in '{err.strip()}'")


def case_hypercall(c):
    """32-bit protected mode through the hypercall page: its prologue sends
    a 32-bit caller to the general trap, which answers fast HvSignalEvent
    on an unknown connection and an unknown call code."""
    rc, out, err = c.boot("hypercall", "--hyperv", "all",
                          "--debug-exit", "0xf4")
    c.expect(rc == (0x21 << 1) | 1, f"status {rc}, want 67; stderr: {err}")
    # HV_STATUS_INVALID_CONNECTION_ID, HV_STATUS_INVALID_HYPERCALL_CODE
    c.expect("hypercall signal-event status 0x00000012" in out,
             f"HvSignalEvent status: {out}")
    c.expect("hypercall bad-code status 0x00000002" in out,
             f"bad code status: {out}")


def case_bad_input(c):
    tmp = tempfile.mkdtemp()
    notk = os.path.join(tmp, "notakernel")
    with open(notk, "wb") as f:
        f.write(b"\x00" * 8192)
    big = os.path.join(tmp, "big.img")
    with open(big, "wb") as f:
        f.truncate(600 * 1024 * 1024)
    noread = os.path.join(tmp, "noread")
    with open(noread, "wb") as f:
        f.write(b"x")
    bad(c, ["run", "--kernel", "/nonexistent/vmlinux"], "/nonexistent/vmlinux")
    bad(c, ["run", "--kernel", notk], "not a bzImage")
    bad(c, ["run", "--kernel", c.mb, "--initrd", big, "--memory", "512M"],
        "initrd")
    bad(c, ["run", "--kernel", c.mb, "--memory", "100000G"], "memory")
    bad(c, ["run", "--kernel", c.mb, "--memory", "lots"], "--memory")
    bad(c, ["run", "--kernel", c.mb, "--cpus", "0"], "cpu")
    bad(c, ["run", "--kernel", c.mb, "--cpus", "65"], "cpu")
    # Without --kernel the BIOS boots (tests/integration/seabios_test.py).
    bad(c, ["run", "--kernel", c.mb, "--bios", "/x/bios.bin"],
        "both a kernel")
    bad(c, ["run", "--boot", "fd"], "--boot: fd: hvkvm has no floppy")
    bad(c, ["run", "--boot", "hd,usb"], "--boot: 'usb'")
    bad(c, ["run", "--kernel", c.mb, "--serial", "tcp:1"], "serial")
    # Disk files: missing, a directory (one line naming drive and file).
    bad(c, ["run", "--kernel", c.mb, "--disk",
             "file=/nonexistent/d.vhd,bus=ide"],
        "disk hda: /nonexistent/d.vhd: No such file")
    bad(c, ["run", "--kernel", c.mb, "--disk", f"file={tmp},bus=ide"],
        f"disk hda: {tmp}: Is a directory")
    bad(c, ["run", "--bogus"], "bogus")
    bad(c, ["frobnicate"], "unknown command")
    xml = os.path.join(tmp, "bad.xml")
    with open(xml, "w") as f:
        f.write("<domain type='kvm'>\n<name>x</name>\n<memory>")
    bad(c, ["run", "--config", xml], "bad.xml")
    with open(xml, "w") as f:
        f.write("<domain type='kvm'>\n  <name>x</name>\n  <hostdev/>\n</domain>\n")
    bad(c, ["run", "--config", xml], "bad.xml:3")
    if os.geteuid() == 0:
        rc, out, err = run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", c.hv, "run", "--kernel", c.mb])
        c.expect(rc == 1 and "/dev/kvm" in err and len(err.strip().splitlines()) == 1,
                 f"no-permission case: {rc} {err}")


def case_stage_errors(c):
    """A start-up stage that fails names itself in one line, and unwinds
    what it and the stages before it made (the sanitizer build reports
    leaks as more lines and another status)."""
    # devices: the debug-exit port clashes with COM1 after uart, rtc,
    # i8042, pci, fw_cfg and acpi-pm were made.
    bad(c, ["run", "--kernel", c.mb, "--debug-exit", "0x3f8"],
        "hvkvm: error: vm: stage 'devices' failed: debug-exit: port 0x3f8 "
        "(4 ports) overlaps uart at 0x3f8-0x3ff")
    bad(c, ["run", "--kernel", c.mb, "--debug-exit", "0xcf9"],
        "debug-exit: port 0xcf9 (4 ports) overlaps pci-addr at 0xcf8-0xcfb")
    # kernel: everything up to the devices stands when the file is missing.
    bad(c, ["run", "--kernel", "/nonexistent/vmlinux"],
        "vm: stage 'kernel' failed: kernel /nonexistent/vmlinux: "
        "No such file or directory")
    bad(c, ["run", "--kernel", c.mb, "--hyperv", "all", "--cpus", "2",
            "--initrd", "/nonexistent/initrd"],
        "vm: stage 'kernel' failed: initrd /nonexistent/initrd")
    if os.geteuid() == 0:
        rc, out, err = run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", c.hv, "run", "--kernel", c.mb])
        lines = err.strip().splitlines()
        c.expect(rc == 1 and len(lines) == 1 and
                 "vm: stage 'kvm' failed: /dev/kvm: Permission denied"
                 in lines[0], f"no-permission case: {rc} {err}")


def case_help(c):
    for args in (["--help"], ["run", "--help"], ["--version"]):
        rc, out, err = run([c.hv] + args)
        c.expect(rc == 0 and out.strip(), f"{args}: {rc}")
    rc, out, _ = run([c.hv, "run", "--help"])
    for flag in ("--config", "--kernel", "--initrd", "--append", "--memory",
                 "--cpus", "--serial", "--disk", "--nic", "--bios",
                 "--boot"):
        c.expect(flag in out, f"run --help lacks {flag}")


def ram_vmflags(pid):
    """VmFlags of the guest RAM mapping: the memfd 'hvkvm-ram', or with
    --mem-merge the largest anonymous mapping."""
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split()[0]
            if "-" in first and not first.endswith(":"):
                lo, hi = (int(v, 16) for v in first.split("-"))
                cur = [hi - lo, line, None]
                maps.append(cur)
            elif line.startswith("VmFlags:") and cur:
                cur[2] = line.split()[1:]
    for size, head, flags in maps:
        if "memfd:hvkvm-ram" in head:
            return flags
    anon = [m for m in maps if len(m[1].split()) == 5]
    # 200 MiB of guest RAM: the one anonymous mapping of that size.
    ram = [m for m in anon if m[0] == 200 << 20]
    return ram[0][2] if len(ram) == 1 else None


def case_guest_ram(c):
    """Guest RAM is not dumpable and not mergeable, unless --mem-merge on
    (#16)."""
    for extra, merge in (([], False), (["--mem-merge", "on"], True)):
        p = subprocess.Popen([c.hv, "run", "--kernel", c.mb, "--append",
                              "echo", "--serial", "none", "--memory",
                              "200M", *extra],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        flags = None
        end = time.time() + 30
        while flags is None and time.time() < end and p.poll() is None:
            time.sleep(0.2)
            try:
                flags = ram_vmflags(p.pid)
            except OSError:
                break
        p.terminate()
        out, err = p.communicate(timeout=30)
        c.expect(flags is not None, f"{extra}: no guest RAM mapping; {err}")
        c.expect("dd" in flags, f"{extra}: guest RAM dumpable: {flags}")
        c.expect(("mg" in flags) == merge,
                 f"{extra}: mergeable {'mg' in flags}, want {merge}")
    bad(c, ["run", "--kernel", c.mb, "--mem-merge", "maybe"],
        "--mem-merge maybe: expected on or off")


def case_hostile_input(c):
    """Issue #16: one clear line for each, never silently accepted."""
    tmp = tempfile.mkdtemp()
    # Single-valued options given twice.
    bad(c, ["run", "--kernel", c.mb, "--kernel", "/other"],
        f"run: --kernel given twice ('{c.mb}' and '/other')")
    for opt, v in (("--memory", "1G"), ("--cpus", "2"), ("--serial", "none"),
                   ("--append", "x"), ("--debug-exit", "0xf4"),
                   ("--hyperv", "all"), ("--name", "a"), ("-m", "1G")):
        long = {"-m": "--memory"}.get(opt, opt)
        bad(c, ["run", "--kernel", c.mb, opt, v, opt, v],
            f"run: {long} given twice")
    # Unique XML elements given twice, through hvkvm run.
    xml = os.path.join(tmp, "dup.xml")
    with open(xml, "w") as f:
        f.write("<domain type='kvm'>\n<metadata>\n"
                "<hvkvm:config xmlns:hvkvm='https://hvkvm.dev/xmlns/1'>\n"
                "<hvkvm:debug-exit port='0xf4'/>\n"
                "<hvkvm:debug-exit port='0xf5'/>\n"
                "</hvkvm:config></metadata></domain>\n")
    bad(c, ["run", "--config", xml], f"{xml}:5: ")
    # Non-UTF-8 input: our one line, nothing from libxml2.
    with open(xml, "wb") as f:
        f.write(b"<?xml version='1.0' encoding='EUC-JP'?>\n"
                b"<domain type='kvm'><name>\xff\xff\xff</name></domain>\n")
    bad(c, ["run", "--config", xml], f"{xml}:")
    # img info on what is not a disk image.
    empty = os.path.join(tmp, "empty.img")
    open(empty, "w").close()
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    bad(c, ["img", "info", tmp], f"{tmp}: is a directory")
    for dev in ("/dev/null", "/dev/zero", fifo):
        bad(c, ["img", "info", dev], f"{dev}: not a disk image")
        bad(c, ["img", "info", "--json", dev], f"{dev}: not a disk image")
    bad(c, ["img", "info", empty], f"{empty}: empty, not a disk image")


def case_serial_file(c):
    """--serial file:PATH: no symlinks, no FIFOs, created 0600, write errors
    said once; our log lines end in a bare LF; a world-writable runtime
    directory is refused (#16)."""
    tmp = tempfile.mkdtemp()
    target = os.path.join(tmp, "victim")
    with open(target, "w") as f:
        f.write("precious\n")
    link = os.path.join(tmp, "link")
    os.symlink(target, link)
    bad(c, ["run", "--kernel", c.mb, "--serial", f"file:{link}"],
        f"--serial file:{link}: is a symbolic link (not followed)")
    with open(target) as f:
        c.expect(f.read() == "precious\n", "symlink target written")
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    bad(c, ["run", "--kernel", c.mb, "--serial", f"file:{fifo}"],
        f"--serial file:{fifo}: not a regular file or character device")
    bad(c, ["run", "--kernel", c.mb, "--serial", f"file:{tmp}"],
        f"--serial file:{tmp}: Is a directory")
    log = os.path.join(tmp, "com1.log")
    old = os.umask(0o022)
    try:
        rc, out, err = run([c.hv, "run", "--kernel", c.mb, "--append",
                            "hello", "--debug-exit", "0xf4", "--serial",
                            f"file:{log}"])
    finally:
        os.umask(old)
    c.expect(rc == 67, f"file serial: status {rc}; {err}")
    c.expect(os.stat(log).st_mode & 0o777 == 0o600,
             f"log mode {oct(os.stat(log).st_mode)}, want 0600")
    with open(log, "rb") as f:
        c.expect(b"multiboot magic ok" in f.read(), "no output in the file")
    # /dev/full: a character device that fails every write, said once.
    p = subprocess.run([c.hv, "run", "--kernel", c.mb, "--append", "hello",
                        "--debug-exit", "0xf4", "--serial", "file:/dev/full"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    c.expect(p.returncode == 67, f"/dev/full: status {p.returncode}")
    warn = [l for l in p.stderr.split(b"\n") if b"serial output lost" in l]
    c.expect(len(warn) == 1, f"/dev/full: want one warning: {p.stderr!r}")
    c.expect(b"No space left on device" in warn[0], f"{warn[0]!r}")
    # Log lines to a file or pipe end in LF, not CRLF.
    c.expect(b"\r" not in p.stderr, f"CR in log lines: {p.stderr!r}")
    # A runtime directory anyone can write to is refused in one line.
    shared = os.path.join(tmp, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    p = subprocess.run([c.hv, "run", "--kernel", c.mb, "--append", "hello",
                        "--debug-exit", "0xf4"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HVKVM_RUNTIME_DIR=shared))
    lines = p.stderr.strip().splitlines()
    c.expect(p.returncode == 1 and len(lines) == 1 and
             f"runtime directory {shared}: writable by everyone" in lines[0],
             f"world-writable runtime dir: {p.returncode} {p.stderr}")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
NEEDS_KVM = {"debug_exit", "acpi_s5", "reset_exit", "reset_reboots",
             "triple_fault", "console_pty", "console_quit", "crash",
             "hypercall", "stage_errors", "guest_ram", "serial_file"}


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
    try:
        CASES[a.case](Case(a))
    except AssertionError as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
