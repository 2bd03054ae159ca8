#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The block pattern the guest test module's "blk" check shares with the
host (tests/guest/hvkvm_test.c, hvt_pat_fill): each 512-byte sector at LBA l
with seed s is b"HVKVMPAT", le64 l, le64 s, then byte i = (l*31 + s*17 + i)
& 0xff for i in 24..511. The host fills disk k with seed blk_seed + 16*k; the
guest writes its ranges with that seed + 1.

    blkpat.py fill RAW SIZE SEED           write a raw image full of the pattern
    blkpat.py check RAW SEED [LBA NSEC]    every sector host pattern, except
                                           LBA..LBA+NSEC-1: guest's (SEED+1)

As a module: fill(path, size, seed), check(path, seed, written) -> list of
problems, guest_written(write_lba, step) -> (lba, nsec) of the guest's
writes (hvt_blk_writes in the module)."""
import struct
import sys

SECTOR = 512
# hvt_blk_writes[] in tests/guest/hvkvm_test.c, each rounded up to the
# logical block size in sectors.
GUEST_WRITES = [1, 8, 128, 3, 64, 16, 7, 128, 1, 32]


def _tail_table():
    """tail[k][i-24] for k = (l*31 + s*17) & 0xff."""
    return [bytes((k + i) & 0xff for i in range(24, SECTOR))
            for k in range(256)]


_TAIL = _tail_table()


def sector(lba, seed):
    k = (lba * 31 + seed * 17) & 0xff
    return b"HVKVMPAT" + struct.pack("<QQ", lba, seed) + _TAIL[k]


def fill(path, size, seed):
    """Create (or overwrite) the raw image @path of @size bytes."""
    if size % SECTOR:
        raise ValueError("size must be a multiple of 512")
    with open(path, "wb") as f:
        chunk = []
        for lba in range(size // SECTOR):
            chunk.append(sector(lba, seed))
            if len(chunk) == 2048:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def guest_written(write_lba=2048, step=1):
    """The range the module's writes cover: (first lba, sectors)."""
    total = sum(-(-n // step) * step for n in GUEST_WRITES)
    return write_lba, total


def check(path, seed, written=None, limit=5):
    """Problems found (at most @limit), [] if the image is as expected."""
    problems = []
    lo, n = written if written else (0, 0)
    with open(path, "rb") as f:
        lba = 0
        while True:
            data = f.read(SECTOR * 2048)
            if not data:
                break
            for off in range(0, len(data), SECTOR):
                want_seed = seed + 1 if lo <= lba < lo + n else seed
                if data[off:off + SECTOR] != sector(lba, want_seed):
                    got = data[off + 16:off + 24]
                    got_seed = struct.unpack("<Q", got)[0] if len(got) == 8 else None
                    problems.append(f"sector {lba}: want seed {want_seed}, "
                                    f"found {'seed %d' % got_seed if data[off:off + 8] == b'HVKVMPAT' else 'other data'}")
                    if len(problems) >= limit:
                        return problems
                lba += 1
    return problems


def main(argv):
    if len(argv) >= 4 and argv[0] == "fill":
        fill(argv[1], int(argv[2]), int(argv[3]))
        return 0
    if len(argv) in (3, 5) and argv[0] == "check":
        written = (int(argv[3]), int(argv[4])) if len(argv) == 5 else None
        p = check(argv[1], int(argv[2]), written)
        for line in p:
            print(line)
        return 1 if p else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
