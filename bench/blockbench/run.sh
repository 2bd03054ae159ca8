#!/bin/sh
# SPDX-License-Identifier: MIT
# Block backend benchmark: hvkvm's backend (blockbench) against
# `qemu-img bench` on the same files in the same run. Workloads at queue
# depth 8 over a 100 MiB region (104865792 bytes, CHS-exact so QEMU sees the
# same size): 4K "random" read/write (a prime stride that visits every 4K
# slot once), 64K sequential read/write. Images: raw, VHD fixed, VHD
# dynamic pre-allocated, and, re-created before every run so that writes
# are first touch, VHD fixed fresh (a sparse file) and VHD dynamic fresh.
# O_DIRECT (cache=none) for both tools.
# Prints a markdown table; figures are medians of REPS runs.
# usage: bench/blockbench/run.sh BUILD_DIR [WORKDIR] [REPS]
set -eu
B=$1
W=${2:-/tmp/hvkvm-blockbench}
REPS=${3:-3}
IMG=$B/vhd/hvkvm-img
BB=$B/vhd/blockbench
SIZE=104865792
STRIDE=$((7919 * 4096))
rm -rf "$W"
mkdir -p "$W"
cd "$W"
AIO=io_uring
qemu-img bench -q -f raw -t none -i io_uring -c 1 /dev/null 2>/dev/null || AIO=native

head -c $SIZE /dev/urandom >raw.img
"$IMG" convert -O vhd --type fixed raw.img fixed.vhd
"$IMG" convert -O vhd --type dynamic raw.img dynpre.vhd

# workload name: blockbench/qemu-img args
wl_args() {
	case $1 in
	rr4k) echo "-c 25600 -d 8 -s 4096 -S $STRIDE" ;;
	rw4k) echo "-c 25600 -d 8 -s 4096 -S $STRIDE -w" ;;
	sr64k) echo "-c 1600 -d 8 -s 65536 -S 65536" ;;
	sw64k) echo "-c 1600 -d 8 -s 65536 -S 65536 -w" ;;
	esac
}

median() {
	sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# run TOOL IMAGE FMT WORKLOAD -> IOPS
run_one() {
	tool=$1
	img=$2
	fmt=$3
	wl=$4
	file=$img
	case $img in
	dynfresh | fixedfresh)
		rm -f $img.vhd
		t=dynamic
		[ $img = fixedfresh ] && t=fixed
		"$IMG" create -f vhd --type $t $img.vhd $SIZE
		file=$img.vhd
		;;
	esac
	args=$(wl_args "$wl")
	flush=""
	case $wl in rw*|sw*) flush=1 ;; esac
	if [ "$tool" = hvkvm ]; then
		"$BB" -f "$fmt" -t none ${flush:+--flush} $args "$file" |
			sed -n 's/.* iops=\([0-9]*\) .*/\1/p'
	else
		qf=raw
		[ "$fmt" = vhd ] && qf=vpc
		n=$(echo "$args" | sed -n 's/-c \([0-9]*\).*/\1/p')
		qemu-img bench -f $qf -t none -i $AIO ${flush:+--flush-interval=$n} \
			$args "$file" |
			sed -n 's/Run completed in \([0-9.]*\) seconds.*/\1/p' |
			awk -v n=$n '{printf "%d\n", n / $1}'
	fi
}

printf '| image | workload | hvkvm IOPS | hvkvm MB/s | qemu-img IOPS | qemu-img MB/s | hvkvm/qemu |\n'
printf '|---|---|---:|---:|---:|---:|---:|\n'
for img in raw.img fixed.vhd dynpre.vhd fixedfresh dynfresh; do
	fmt=vhd
	[ $img = raw.img ] && fmt=raw
	for wl in rr4k rw4k sr64k sw64k; do
		bs=4096
		case $wl in *64k) bs=65536 ;; esac
		: >h.txt
		: >q.txt
		i=0
		while [ $i -lt "$REPS" ]; do
			run_one hvkvm $img $fmt $wl >>h.txt
			run_one qemu $img $fmt $wl >>q.txt
			i=$((i + 1))
		done
		h=$(median <h.txt)
		q=$(median <q.txt)
		echo "$img $wl $h $q" >>results.txt
		awk -v i=$img -v w=$wl -v h=$h -v q=$q -v bs=$bs 'BEGIN {
			printf "| %s | %s | %d | %.1f | %d | %.1f | %.2f |\n",
			i, w, h, h * bs / 1e6, q, q * bs / 1e6, h / q }'
	done
done
# Ratios against the reference images, measured in this run.
echo
printf '| ratio | workload | hvkvm | qemu-img |\n|---|---|---:|---:|\n'
awk '{ h[$1 " " $2] = $3; q[$1 " " $2] = $4 }
END {
	split("rr4k rw4k sr64k sw64k", ws, " ")
	for (k = 1; k <= 4; k++) {
		w = ws[k]
		printf "| fixed/raw | %s | %.3f | %.3f |\n", w,
			h["fixed.vhd " w] / h["raw.img " w], q["fixed.vhd " w] / q["raw.img " w]
	}
	for (k = 1; k <= 4; k++) {
		w = ws[k]
		printf "| dynamic-prealloc/fixed | %s | %.3f | %.3f |\n", w,
			h["dynpre.vhd " w] / h["fixed.vhd " w], q["dynpre.vhd " w] / q["fixed.vhd " w]
	}
	printf "| dynamic-fresh/fixed-fresh (first touch) | rw4k | %.3f | %.3f |\n",
		h["dynfresh rw4k"] / h["fixedfresh rw4k"], q["dynfresh rw4k"] / q["fixedfresh rw4k"]
	printf "| dynamic-fresh/fixed-fresh (first touch) | sw64k | %.3f | %.3f |\n",
		h["dynfresh sw64k"] / h["fixedfresh sw64k"], q["dynfresh sw64k"] / q["fixedfresh sw64k"]
}' results.txt
