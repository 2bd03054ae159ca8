#!/bin/sh
# SPDX-License-Identifier: MIT
# Crash consistency of dynamic VHDs: a writer (random 4K writes at queue
# depth 8, a flush after every 32) is SIGKILLed at random moments, over and
# over. After every kill: `hvkvm img check` passes, QEMU reads the same
# content we do (qemu-img compare; `qemu-img check` has no vpc support and
# answers 63), and everything acknowledged before the last completed flush
# reads back (vhd_crash_writer verify).
# usage: vhd_crash.sh HVKVM_IMG WRITER WORKDIR [SECONDS]
set -u
IMG=$1
W=$2
D=$3
BUDGET=${4:-40}
rm -rf "$D"
mkdir -p "$D"
"$IMG" create -f vhd --type dynamic "$D/crash.vhd" 256M || exit 1
fail() {
	echo "vhd_crash: FAIL after kill $i: $*"
	exit 1
}
have_qemu=0
command -v qemu-img >/dev/null 2>&1 && have_qemu=1
start=$(date +%s)
i=0
while [ $(($(date +%s) - start)) -lt "$BUDGET" ]; do
	i=$((i + 1))
	"$W" write "$D/crash.vhd" "$D/log" "$i" &
	pid=$!
	ms=$(($(od -An -N2 -tu2 /dev/urandom) % 700 + 30))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	"$IMG" check "$D/crash.vhd" >"$D/check.out" 2>&1 ||
		{ cat "$D/check.out"; fail "hvkvm img check"; }
	if [ $have_qemu = 1 ]; then
		qemu-img check -f vpc "$D/crash.vhd" >/dev/null 2>&1
		rc=$?
		[ $rc = 0 ] || [ $rc = 63 ] || fail "qemu-img check rc $rc"
		rm -f "$D/x.raw"
		"$IMG" convert -O raw "$D/crash.vhd" "$D/x.raw" ||
			fail "hvkvm img convert"
		qemu-img compare -q --image-opts \
			"driver=raw,file.filename=$D/x.raw" \
			"driver=vpc,force_size_calc=current_size,file.filename=$D/crash.vhd" ||
			fail "qemu-img compare: QEMU sees other data"
	fi
	"$W" verify "$D/crash.vhd" "$D/log" || fail "flushed data lost"
done
rounds=$(grep -c '^F' "$D/log")
echo "vhd_crash: $i kills, $rounds flushed rounds, image consistent every time"
"$IMG" info "$D/crash.vhd" | grep blocks
rm -rf "$D"
