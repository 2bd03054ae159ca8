#!/bin/sh
# SPDX-License-Identifier: MIT
# Crash consistency of dynamic and differencing VHDs (half the time each;
# the differencing disk sits on an empty dynamic parent, so a lost sector
# bitmap bit shows up as zeros where flushed data should be). A writer
# (random 4K writes at queue depth 8, a flush after every 32) is SIGKILLed
# at random moments, over and over. After every kill: `hvkvm img check`
# passes, QEMU reads the same content we do for the dynamic disk
# (qemu-img compare; `qemu-img check` has no vpc support and answers 63;
# QEMU has no differencing VHD support), and everything acknowledged before
# the last completed flush reads back (vhd_crash_writer verify).
# usage: vhd_crash.sh HVKVM_IMG WRITER WORKDIR [SECONDS]
set -u
IMG=$1
W=$2
D=$3
BUDGET=${4:-40}
rm -rf "$D"
mkdir -p "$D"
have_qemu=0
command -v qemu-img >/dev/null 2>&1 && have_qemu=1
kind=""
i=0
fail() {
	echo "vhd_crash: FAIL ($kind) after kill $i: $*"
	exit 1
}

# phase KIND SECONDS
phase() {
	kind=$1
	rm -f "$D/crash.vhd" "$D/base.vhd" "$D/log"
	if [ "$kind" = differencing ]; then
		"$IMG" create -f vhd --type dynamic "$D/base.vhd" 256M || exit 1
		"$IMG" create -f vhd --type differencing --parent "$D/base.vhd" \
			"$D/crash.vhd" || exit 1
	else
		"$IMG" create -f vhd --type dynamic "$D/crash.vhd" 256M || exit 1
	fi
	start=$(date +%s)
	i=0
	while [ $(($(date +%s) - start)) -lt "$2" ]; do
		i=$((i + 1))
		"$W" write "$D/crash.vhd" "$D/log" "$i" &
		pid=$!
		ms=$(($(od -An -N2 -tu2 /dev/urandom) % 700 + 30))
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		"$IMG" check "$D/crash.vhd" >"$D/check.out" 2>&1 ||
			{ cat "$D/check.out"; fail "hvkvm img check"; }
		if [ $have_qemu = 1 ] && [ "$kind" = dynamic ]; then
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
	echo "vhd_crash: $kind: $i kills, $rounds flushed rounds, consistent every time"
	"$IMG" info "$D/crash.vhd" | grep blocks | head -1
}

phase dynamic $((BUDGET / 2))
phase differencing $((BUDGET - BUDGET / 2))
rm -rf "$D"
