#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Booting Debian's SeaBIOS under hvkvm (the firmware stage). Each case is
one ctest test:

    seabios_test.py CASE --hvkvm PATH [--bios PATH]

The BIOS's debug port (0x402) reaches hvkvm's log with -v, its console
the serial port (etc/sercon-port). A failed boot ends with
reboot-timeout=0 and --no-reboot (status 2). Exit 0 = pass, 1 = fail,
77 = skipped (no usable /dev/kvm, or no SeaBIOS image)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

IDE = "/pci@i0cf8/ide@1,1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from platform_test import SKIP, kvm_usable  # noqa: E402


def boot_code(marker, value):
    """Real-mode code loaded at 0x7c00: waits for the BIOS console to
    drain (10 timer ticks), prints @marker on COM1 and ends hvkvm through
    debug-exit 0xf4 with @value (status (value << 1) | 1)."""
    msg = marker + b"\r\n\0"
    code = bytes([
        0xFB,                    # sti
        0xB9, 0x0A, 0x00,        # mov cx, 10
        0xF4,                    # w: hlt
        0xE2, 0xFD,              # loop w
        0x31, 0xC0,              # xor ax, ax
        0x8E, 0xD8,              # mov ds, ax
        0xBE, 0x2C, 0x7C,        # mov si, msg (0x7c00 + 44)
        0xAC,                    # next: lodsb
        0x84, 0xC0,              # test al, al
        0x74, 0x12,              # jz done
        0x88, 0xC4,              # mov ah, al
        0xBA, 0xFD, 0x03,        # mov dx, 0x3fd (LSR)
        0xEC,                    # poll: in al, dx
        0xA8, 0x20,              # test al, 0x20 (THRE)
        0x74, 0xFB,              # jz poll
        0xBA, 0xF8, 0x03,        # mov dx, 0x3f8
        0x88, 0xE0,              # mov al, ah
        0xEE,                    # out dx, al
        0xEB, 0xE9,              # jmp next
        0xB0, value,             # done: mov al, value
        0xE6, 0xF4,              # out 0xf4, al
        0xF4,                    # h: hlt
        0xEB, 0xFD,              # jmp h
    ])
    assert len(code) == 44
    return code + msg


def mbr_image(path):
    """A disk whose MBR prints HVKVM-MBR-OK, then exits with 0x2a."""
    sector = boot_code(b"HVKVM-MBR-OK", 0x2A)
    sector += b"\0" * (510 - len(sector)) + b"\x55\xaa"
    with open(path, "wb") as f:
        f.write(sector)
        f.truncate(1024 * 1024)


def eltorito_image(path):
    """An El Torito CD (no emulation, as Windows setup CDs are): the boot
    record volume descriptor at sector 17, the catalog at 19, the boot
    image at 20, which prints HVKVM-CD-OK and exits with 0x2b."""
    iso = bytearray(2048 * 32)
    brvd = 17 * 2048
    iso[brvd + 1:brvd + 6] = b"CD001"
    iso[brvd + 6] = 1
    iso[brvd + 7:brvd + 30] = b"EL TORITO SPECIFICATION"
    iso[brvd + 0x47:brvd + 0x4B] = (19).to_bytes(4, "little")
    cat = 19 * 2048
    iso[cat] = 1                       # validation entry, platform 80x86
    iso[cat + 0x1E:cat + 0x20] = b"\x55\xaa"
    iso[cat + 0x20] = 0x88             # bootable, no emulation
    iso[cat + 0x26:cat + 0x28] = (4).to_bytes(2, "little")
    iso[cat + 0x28:cat + 0x2C] = (20).to_bytes(4, "little")
    code = boot_code(b"HVKVM-CD-OK", 0x2B)
    iso[20 * 2048:20 * 2048 + len(code)] = code
    with open(path, "wb") as f:
        f.write(iso)


class Case:
    def __init__(self, a):
        self.hv = a.hvkvm
        self.bios = a.bios
        self.tmp = tempfile.mkdtemp(prefix="hvkvm-seabios-")

    def expect(self, cond, what):
        if not cond:
            raise AssertionError(what)

    def boot(self, *extra, memory="128", timeout=120):
        """Run with -v; returns (status, log lines from the BIOS, serial)."""
        ser = os.path.join(self.tmp, "serial.log")
        if os.path.exists(ser):
            os.unlink(ser)
        p = subprocess.run(
            [self.hv, "run", "-v", "--bios", self.bios, "--memory", memory,
             "--serial", "file:" + ser, "--no-reboot", *extra],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            errors="replace", timeout=timeout)
        bios = [l.split("bios: ", 1)[1] for l in p.stderr.splitlines()
                if "hvkvm: info: bios: " in l]
        serial = ""
        if os.path.exists(ser):
            with open(ser, errors="replace") as f:
                serial = f.read().replace("\r", "")
        self.stderr = p.stderr
        return p.returncode, bios, serial

    def xml_cdrom_hdc(self, iso):
        """A domain XML with @iso as the CD-ROM on hdc (secondary master)."""
        path = os.path.join(self.tmp, "cd.xml")
        with open(path, "w") as f:
            f.write(f"""<domain type='kvm'>
  <name>seabios-cd</name>
  <memory unit='MiB'>128</memory>
  <devices>
    <disk type='file' device='cdrom'>
      <source file='{iso}'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
  </devices>
</domain>
""")
        return path

    def order(self, text, needles):
        """Every needle appears in @text, in this order."""
        at = 0
        for n in needles:
            i = text.find(n, at)
            self.expect(i >= 0, f"'{n}' missing (after offset {at}) in:\n"
                        f"{text}")
            at = i + len(n)


def case_no_disks(c):
    """No disks: QEMU's fw_cfg found, the e820 map as --memory says, ACPI
    through the table loader, then no bootable device and a clean end."""
    rc, log, serial = c.boot("--boot", "hd,reboot-timeout=0")
    text = "\n".join(log)
    c.expect(rc == 2, f"status {rc}, want 2 (reset, --no-reboot):\n"
             f"{c.stderr}")
    for want in ("Running on QEMU (i440fx)", "Found QEMU fw_cfg",
                 "QEMU fw_cfg DMA interface supported",
                 "qemu/e820: addr 0x0000000000000000 "
                 "len 0x000000000009fc00 [RAM]",
                 "qemu/e820: addr 0x0000000000100000 "
                 "len 0x0000000007f00000 [RAM]",
                 "Relocating init from",  # shadowed: PAM made it RAM
                 "(via xsdt)", "ACPI: parse DSDT at",
                 "sercon: using ioport 0x3f8",
                 "Found 1 cpu(s)"):
        c.expect(want in text, f"'{want}' not in the BIOS log:\n{text}")
    # The FADT the BIOS found is where the table loader put it.
    m = re.search(r"table\(50434146\)=0x([0-9a-f]+) \(via xsdt\)", text)
    c.expect(m and int(m.group(1), 16) < 128 << 20,
             f"FADT address: {text}")
    c.order(serial, ["SeaBIOS (version", "Booting from",
                     "No bootable device.", "Rebooting"])
    # 256 MiB: the map follows --memory.
    rc, log, _ = c.boot("--boot", "reboot-timeout=0", memory="256")
    c.expect("qemu/e820: addr 0x0000000000100000 len 0x000000000ff00000 "
             "[RAM]" in "\n".join(log), f"256 MiB e820: {log}")


def case_reboot(c):
    """A reset from the BIOS (reboot-timeout=0, no --no-reboot) rebuilds
    the VM: the BIOS starts over from the reset vector with PAM reset and
    shadows itself again (its init is relocated a second time)."""
    import signal
    import time
    ser = os.path.join(c.tmp, "serial.log")
    p = subprocess.Popen(
        [c.hv, "run", "-v", "--bios", c.bios, "--memory", "128",
         "--serial", "file:" + ser, "--boot", "reboot-timeout=0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, errors="replace")
    seen, lines, deadline = 0, [], time.monotonic() + 120
    try:
        for line in p.stderr:
            lines.append(line)
            if "bios: Relocating init from" in line:
                seen += 1
                if seen == 2:
                    break
            if time.monotonic() > deadline:
                break
    finally:
        p.send_signal(signal.SIGTERM)
        rest = p.communicate(timeout=60)[1]
    text = "".join(lines)
    c.expect(seen == 2, f"the BIOS did not start twice:\n{text}{rest}")
    c.order(text, ["bios: Rebooting.", "guest reset: rebooting",
                   "bios: SeaBIOS (version", "bios: Relocating init"])
    c.expect(p.returncode == 16, f"status {p.returncode}, want 16 (SIGTERM)")


def case_boot_order(c):
    """--boot cdrom,hd with a blank disk (hda) and a blank CD (hdb):
    bootorder names both IDE paths in that order and the BIOS tries the
    CD first; hd,cdrom the other way round."""
    disk = os.path.join(c.tmp, "blank.img")
    cd = os.path.join(c.tmp, "blank.iso")
    for p in (disk, cd):
        with open(p, "wb") as f:
            f.truncate(1024 * 1024)
    disks = ["--disk", f"file={disk},bus=ide,format=raw",
             "--disk", f"file={cd},bus=ide,media=cdrom"]
    rc, log, serial = c.boot("--boot", "cdrom,hd,reboot-timeout=0", *disks)
    text = "\n".join(log)
    c.expect(rc == 2, f"status {rc}: {c.stderr}")
    c.order(text, ["boot order:", f"1: {IDE}/drive@0/disk@1",
                   f"2: {IDE}/drive@0/disk@0"])
    c.order(serial, ["Booting from DVD/CD...", "Booting from Hard Disk...",
                     "No bootable device."])
    rc, log, serial = c.boot("--boot", "hd,cdrom,reboot-timeout=0", *disks)
    c.expect(rc == 2, f"status {rc}: {c.stderr}")
    c.order(serial, ["Booting from Hard Disk...", "Boot failed: not a "
                     "bootable disk", "Booting from DVD/CD...",
                     "No bootable device."])


def case_mbr(c):
    """An MBR on an IDE disk runs: its marker on COM1, then debug-exit."""
    disk = os.path.join(c.tmp, "mbr.img")
    mbr_image(disk)
    rc, log, serial = c.boot("--boot", "hd,reboot-timeout=0",
                             "--debug-exit", "0xf4",
                             "--disk", f"file={disk},bus=ide,format=raw")
    c.expect(rc == (0x2a << 1) | 1, f"status {rc}, want 85: {c.stderr}")
    c.order(serial, ["Booting from Hard Disk...", "HVKVM-MBR-OK"])


def case_cdrom(c):
    """--boot cdrom,hd with a blank disk on hda and an El Torito CD on
    hdc (channel 1): the CD's boot image runs."""
    disk = os.path.join(c.tmp, "blank.img")
    with open(disk, "wb") as f:
        f.truncate(1024 * 1024)
    cd = os.path.join(c.tmp, "boot.iso")
    eltorito_image(cd)
    rc, log, serial = c.boot(
        "--boot", "cdrom,hd,reboot-timeout=0", "--debug-exit", "0xf4",
        "--disk", f"file={disk},bus=ide,format=raw",
        "--config", c.xml_cdrom_hdc(cd))
    c.expect(rc == (0x2b << 1) | 1, f"status {rc}, want 87: {c.stderr}")
    c.order("\n".join(log), ["boot order:", f"1: {IDE}/drive@1/disk@0",
                              f"2: {IDE}/drive@0/disk@0"])
    c.order(serial, ["Booting from DVD/CD...", "HVKVM-CD-OK"])


def bad(c, args, needle):
    p = subprocess.run([c.hv, "run", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    lines = [l for l in p.stderr.strip().splitlines() if l]
    c.expect(p.returncode == 1, f"{args}: status {p.returncode}: {p.stderr}")
    c.expect(len(lines) == 1, f"{args}: want one error line, got {lines}")
    c.expect(needle in p.stderr, f"{args}: '{needle}' not in {p.stderr}")


def case_bad_bios(c):
    """A missing, odd-sized or too big image is one error line."""
    odd = os.path.join(c.tmp, "odd.bin")
    with open(odd, "wb") as f:
        f.write(b"\xff" * 100000)
    huge = os.path.join(c.tmp, "huge.bin")
    with open(huge, "wb") as f:
        f.truncate(32 << 20)
    bad(c, ["--bios", "/nonexistent/bios.bin"],
        "vm: stage 'firmware' failed: BIOS /nonexistent/bios.bin: "
        "No such file or directory")
    bad(c, ["--bios", odd], "100000 bytes: a ROM image is a multiple of "
        "64 KiB up to 16 MiB")
    bad(c, ["--bios", huge], "a ROM image is a multiple of 64 KiB")
    bad(c, ["--bios", c.tmp], "not a regular file")
    bad(c, ["--bios", c.bios, "--memory", "4M"], "at least 8 MiB")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--hvkvm", required=True)
    ap.add_argument("--bios", default="/usr/share/seabios/bios-256k.bin")
    a = ap.parse_args()
    why = kvm_usable()
    if why:
        print(f"SKIP: {why}")
        return SKIP
    if not os.path.exists(a.bios):
        print(f"SKIP: no {a.bios} (apt-get install seabios)")
        return SKIP
    try:
        CASES[a.case](Case(a))
    except AssertionError as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"FAIL {a.case}: timed out: {e}")
        return 1
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
