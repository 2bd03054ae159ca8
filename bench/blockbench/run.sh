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
# Prints markdown tables; figures are medians of REPS runs (default 5).
# usage: bench/blockbench/run.sh BUILD_DIR [WORKDIR] [REPS]
set -eu
B=$1
W=${2:-/tmp/hvkvm-blockbench}
REPS=${3:-5}
IMG=$B/vhd/hvkvm-img
BB=$B/bench/blockbench
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
sync

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

# run TOOL IMAGE FMT WORKLOAD -> "IOPS CPU-microseconds-per-request"
# (user+system time of the whole process, io_uring workers included, from
# /usr/bin/time: far less noisy than IOPS on a shared machine).
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
	n=$(echo "$args" | sed -n 's/-c \([0-9]*\).*/\1/p')
	flush=""
	case $wl in rw*|sw*) flush=1 ;; esac
	if [ "$tool" = hvkvm ]; then
		/usr/bin/time -f "cpu %U %S" -o cpu.txt \
			"$BB" -f "$fmt" -t none ${flush:+--flush} $args "$file" >out.txt
		iops=$(sed -n 's/.* iops=\([0-9]*\) .*/\1/p' out.txt)
	else
		qf=raw
		[ "$fmt" = vhd ] && qf=vpc
		/usr/bin/time -f "cpu %U %S" -o cpu.txt \
			qemu-img bench -f $qf -t none -i $AIO \
			${flush:+--flush-interval=$n} $args "$file" >out.txt
		iops=$(sed -n 's/Run completed in \([0-9.]*\) seconds.*/\1/p' out.txt |
			awk -v n=$n '{printf "%d", n / $1}')
	fi
	awk -v i=$iops -v n=$n '/^cpu/ {printf "%d %.2f\n", i, ($2 + $3) * 1e6 / n}' cpu.txt
}

# Interleaved: for each workload and repetition every image runs once with
# each tool, so ratios compare neighbouring runs on this noisy machine.
for wl in rr4k rw4k sr64k sw64k; do
	i=0
	while [ $i -lt "$REPS" ]; do
		for img in raw.img fixed.vhd dynpre.vhd fixedfresh dynfresh; do
			fmt=vhd
			[ $img = raw.img ] && fmt=raw
			run_one hvkvm $img $fmt $wl >>"h-$img-$wl.txt"
			run_one qemu $img $fmt $wl >>"q-$img-$wl.txt"
		done
		i=$((i + 1))
	done
done
col() { # FILE COLUMN -> median of that column
	awk -v c=$2 '{print $c}' "$1" | median
}
printf '| image | workload | hvkvm IOPS | hvkvm MB/s | hvkvm CPU us/req | qemu-img IOPS | qemu-img MB/s | qemu-img CPU us/req |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|\n'
for img in raw.img fixed.vhd dynpre.vhd fixedfresh dynfresh; do
	for wl in rr4k rw4k sr64k sw64k; do
		bs=4096
		case $wl in *64k) bs=65536 ;; esac
		h=$(col "h-$img-$wl.txt" 1)
		hc=$(col "h-$img-$wl.txt" 2)
		q=$(col "q-$img-$wl.txt" 1)
		qc=$(col "q-$img-$wl.txt" 2)
		echo "$img $wl $h $q $hc $qc" >>results.txt
		awk -v i=$img -v w=$wl -v h=$h -v q=$q -v hc=$hc -v qc=$qc -v bs=$bs 'BEGIN {
			printf "| %s | %s | %d | %.1f | %.1f | %d | %.1f | %.1f |\n",
			i, w, h, h * bs / 1e6, hc, q, q * bs / 1e6, qc }'
	done
done
# Ratios against the reference images, measured in this run.
echo
printf '| ratio | workload | hvkvm IOPS | qemu-img IOPS | hvkvm CPU/req | qemu-img CPU/req |\n|---|---|---:|---:|---:|---:|\n'
awk '{ h[$1 " " $2] = $3; q[$1 " " $2] = $4; hc[$1 " " $2] = $5; qc[$1 " " $2] = $6 }
function row(name, a, b, w) {
	printf "| %s | %s | %.3f | %.3f | %.3f | %.3f |\n", name, w,
		h[a " " w] / h[b " " w], q[a " " w] / q[b " " w],
		hc[a " " w] / hc[b " " w], qc[a " " w] / qc[b " " w]
}
END {
	split("rr4k rw4k sr64k sw64k", ws, " ")
	for (k = 1; k <= 4; k++)
		row("fixed/raw", "fixed.vhd", "raw.img", ws[k])
	for (k = 1; k <= 4; k++)
		row("dynamic-prealloc/fixed", "dynpre.vhd", "fixed.vhd", ws[k])
	row("dynamic-fresh/fixed-fresh (first touch)", "dynfresh", "fixedfresh", "rw4k")
	row("dynamic-fresh/fixed-fresh (first touch)", "dynfresh", "fixedfresh", "sw64k")
}' results.txt
