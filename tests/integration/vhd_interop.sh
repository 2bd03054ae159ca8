#!/bin/sh
# SPDX-License-Identifier: MIT
# Interop with Debian's qemu-utils and libvhdi-utils:
#  - images `hvkvm img` makes (fixed, dynamic, differencing) pass
#    `qemu-img check` (QEMU's vpc driver has no check: exit 63 is accepted),
#    match the raw source under `qemu-img compare`, and vhdiinfo reads them;
#  - images `qemu-img create -f vpc -o subformat=fixed|dynamic` makes are
#    read and written by us and still pass check and compare afterwards;
#  - a host block device (loop device, if one can be set up) works as a
#    pass-through disk.
# QEMU derives the size of a non-"win "/"qem2" VHD from its CHS geometry.
# `img create`/`resize` round sizes up to whole cylinders (checked below at
# a size that is not CHS-exact); `img convert` keeps the source's size, so
# compare uses force_size_calc, except for one image whose size is
# CHS-exact where plain `-f vpc` must work too.
# (QEMU probes a fixed VHD, whose only footer is at the end, as raw: the
# footer sector then counts into its size. Always give -f vpc.)
# usage: vhd_interop.sh HVKVM_IMG VHD_INTEROP_IO WORKDIR
set -u
IMG=$1
IO=$2
D=$3
command -v qemu-img >/dev/null 2>&1 || { echo "qemu-img missing: SKIP"; exit 77; }
rm -rf "$D"
mkdir -p "$D"
cd "$D" || exit 1
n=0
fail() {
	echo "vhd_interop: FAIL: $*"
	exit 1
}
ok() {
	n=$((n + 1))
}
qcheck() {
	qemu-img check -f vpc "$1" >check.out 2>&1
	rc=$?
	[ $rc = 0 ] || [ $rc = 63 ] || { cat check.out; fail "qemu-img check $1 rc $rc"; }
}
qcompare_exact() { # raw vhd
	qemu-img compare -q --image-opts "driver=raw,file.filename=$1" \
		"driver=vpc,force_size_calc=current_size,file.filename=$2" ||
		fail "qemu-img compare $1 $2"
}

# A 48 MiB source: random data, zeros, a few scattered sectors.
head -c 10M /dev/urandom >src.raw
truncate -s 48M src.raw
dd if=/dev/urandom of=src.raw bs=512 seek=50000 count=3 conv=notrunc 2>/dev/null
dd if=/dev/urandom of=src.raw bs=1M seek=40 count=2 conv=notrunc 2>/dev/null

for t in fixed dynamic; do
	"$IMG" convert -O vhd --type $t src.raw our-$t.vhd || fail "convert $t"
	"$IMG" check our-$t.vhd >/dev/null || fail "our check $t"
	qcheck our-$t.vhd
	qcompare_exact src.raw our-$t.vhd
	ok
	if command -v vhdiinfo >/dev/null 2>&1; then
		vhdiinfo our-$t.vhd >vi.out 2>&1 || { cat vi.out; fail "vhdiinfo $t"; }
		grep -q "(50331648 bytes)" vi.out || { cat vi.out; fail "vhdiinfo size $t"; }
		ok
	fi
	# Back to raw through us.
	"$IMG" convert -O raw our-$t.vhd back-$t.raw || fail "convert back $t"
	cmp -s src.raw back-$t.raw || fail "round trip $t"
	ok
done

# CHS-exact size (what qemu-img itself would pick for 100M): plain -f vpc.
truncate -s 104865792 chs.raw
dd if=/dev/urandom of=chs.raw bs=1M seek=7 count=3 conv=notrunc 2>/dev/null
"$IMG" convert -O vhd chs.raw chs.vhd || fail "convert chs"
qemu-img compare -q -f raw -F vpc chs.raw chs.vhd || fail "plain compare (CHS-exact size)"
ok

# A size that is not CHS-exact: `img create` and `img resize` round it up
# to whole cylinders, so QEMU (which sizes our VHDs by their geometry) and
# libvhdi (which reads the footer's size) see our size, and the last
# sector we write reads back through QEMU. Fixed and dynamic.
head -c 512 /dev/urandom >last.raw
vsize() { # hvkvm-img info --json output -> the first virtual size
	grep -o '"virtual-size": [0-9]*' | head -1 | sed 's/.*: //'
}
for t in fixed dynamic; do
	odd=odd-$t.vhd
	"$IMG" create -f vhd --type $t $odd 50000384 >create.out ||
		fail "create $odd"
	grep -q "rounded up from 50000384" create.out ||
		{ cat create.out; fail "create $odd: no rounding reported"; }
	for step in create resize; do
		if [ $step = resize ]; then
			"$IMG" resize $odd +1000448 >/dev/null || fail "resize $odd"
		fi
		ours=$("$IMG" info --json $odd | vsize)
		qsize=$(qemu-img info --output=json -f vpc $odd | vsize)
		[ -n "$ours" ] && [ "$qsize" = "$ours" ] ||
			fail "$step $odd: qemu-img sees $qsize bytes, we $ours"
		# libvhdi reports the footer's *original* size, which per
		# the spec stays what it was at creation: no check after resize.
		if [ $step = create ] && command -v vhdiinfo >/dev/null 2>&1; then
			vhdiinfo $odd >vi.out 2>&1 || { cat vi.out; fail "vhdiinfo $odd"; }
			grep -q "($ours bytes)" vi.out ||
				{ cat vi.out; fail "$step $odd: vhdiinfo size"; }
		fi
		"$IO" $odd $((ours / 512 - 1)) last.raw || fail "write last sector of $odd"
		rm -f odd.raw
		qemu-img convert -f vpc -O raw $odd odd.raw || fail "qemu-img convert $odd"
		[ "$(stat -c %s odd.raw)" = "$ours" ] || fail "$step $odd: converted size"
		tail -c 512 odd.raw | cmp -s - last.raw ||
			fail "$step $odd: QEMU reads other data in the last sector"
		ok
	done
done

# Differencing: vhdiinfo reads it and finds the parent.
"$IMG" create -f vhd --type differencing --parent our-dynamic.vhd diff.vhd ||
	fail "create differencing"
"$IMG" check diff.vhd >/dev/null || fail "check differencing"
if command -v vhdiinfo >/dev/null 2>&1; then
	vhdiinfo diff.vhd >vi.out 2>&1 || { cat vi.out; fail "vhdiinfo diff"; }
	grep -q "Parent filename.*our-dynamic.vhd" vi.out || { cat vi.out; fail "vhdiinfo parent"; }
	ok
fi

# QEMU-made images: read them, write them, QEMU still agrees.
head -c 3M /dev/urandom >patch1.raw
head -c 4096 /dev/urandom >patch2.raw
for sub in fixed dynamic; do
	q=qemu-$sub.vhd
	qemu-img create -q -f vpc -o subformat=$sub $q 48M || fail "qemu-img create $sub"
	qemu-img convert -n -f raw -O vpc src.raw $q || fail "qemu-img convert $sub"
	qsize=$(qemu-img info --output=json --image-opts \
		"driver=vpc,force_size_calc=current_size,file.filename=$q" |
		sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
	"$IMG" check $q >/dev/null || fail "our check of qemu $sub"
	"$IMG" convert -O raw $q ours-of-$sub.raw || fail "read qemu $sub"
	[ "$(stat -c %s ours-of-$sub.raw)" = "$qsize" ] || fail "size of qemu $sub: ours $(stat -c %s ours-of-$sub.raw) qemu $qsize"
	qcompare_exact ours-of-$sub.raw $q
	ok
	# Write: 3 MiB across a block boundary and into unallocated space,
	# and 4 KiB over existing data. Apply the same to a raw copy.
	cp ours-of-$sub.raw expect-$sub.raw
	"$IO" $q 8000 patch1.raw || fail "write 1 into qemu $sub"
	"$IO" $q 64 patch2.raw || fail "write 2 into qemu $sub"
	dd if=patch1.raw of=expect-$sub.raw bs=512 seek=8000 conv=notrunc 2>/dev/null
	dd if=patch2.raw of=expect-$sub.raw bs=512 seek=64 conv=notrunc 2>/dev/null
	qcheck $q
	qcompare_exact expect-$sub.raw $q
	"$IMG" check $q >/dev/null || fail "our check after writing qemu $sub"
	ok
done
# Pass-through disk: a host block device (a loop device, when we may make
# one) through the same backend.
truncate -s 16M dev.img
if lo=$(losetup -f --show dev.img 2>/dev/null) && [ -b "$lo" ]; then
	"$IO" "$lo" 2048 patch1.raw
	rc=$?
	"$IMG" info "$lo" >info.out 2>&1
	losetup -d "$lo"
	[ $rc = 0 ] || fail "write to host block device $lo"
	grep -q "virtual size: 16777216" info.out || { cat info.out; fail "info on $lo"; }
	dd if=dev.img of=got.raw bs=512 skip=2048 count=6144 2>/dev/null
	cmp -s got.raw patch1.raw || fail "data written to $lo"
	ok
else
	echo "vhd_interop: no loop device; host block device check skipped"
fi

echo "vhd_interop: $n checks passed"
cd / && rm -rf "$D"
