#!/bin/sh
# SPDX-License-Identifier: MIT
# A/B comparison of two builds of the block backend (e.g. before and after
# a change): the CPU-per-request rows of run.sh (same images, workloads
# and CPU measure), hvkvm only, with the two builds' runs alternating so
# that both see the same machine load. Figures are medians of REPS pairs.
# usage: bench/blockbench/ab.sh BUILD_A BUILD_B [WORKDIR] [REPS]
set -eu
A=$1
B=$2
W=${3:-/tmp/hvkvm-blockbench-ab}
REPS=${4:-7}
SIZE=104865792
STRIDE=$((7919 * 4096))
rm -rf "$W"
mkdir -p "$W"
cd "$W"
head -c $SIZE /dev/urandom >raw.img
"$A/vhd/hvkvm-img" convert -O vhd --type fixed raw.img fixed.vhd
"$A/vhd/hvkvm-img" convert -O vhd --type dynamic raw.img dynpre.vhd
sync

wl_args() {
	case $1 in
	rr4k) echo "-c 25600 -d 8 -s 4096 -S $STRIDE" ;;
	rw4k) echo "-c 25600 -d 8 -s 4096 -S $STRIDE -w --flush" ;;
	sw64k) echo "-c 1600 -d 8 -s 65536 -S 65536 -w --flush" ;;
	esac
}

# one BUILD IMAGE WORKLOAD -> CPU microseconds per request
one() {
	file=$2
	fmt=vhd
	[ "$2" = raw.img ] && fmt=raw
	if [ "$2" = dynfresh ]; then
		rm -f dynfresh.vhd
		"$1/vhd/hvkvm-img" create -f vhd --type dynamic dynfresh.vhd $SIZE
		file=dynfresh.vhd
	fi
	args=$(wl_args "$3")
	n=$(echo "$args" | sed -n 's/-c \([0-9]*\).*/\1/p')
	/usr/bin/time -f "cpu %U %S" -o cpu.txt \
		"$1/bench/blockbench" -f $fmt -t none $args "$file" >/dev/null
	awk -v n="$n" '/^cpu/ {printf "%.2f\n", ($2 + $3) * 1e6 / n}' cpu.txt
}

median() {
	sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

printf '| image | workload | A CPU us/req | B CPU us/req | B/A |\n|---|---|---:|---:|---:|\n'
for img in raw.img fixed.vhd dynpre.vhd dynfresh; do
	for wl in rr4k rw4k sw64k; do
		[ $img = dynfresh ] && [ $wl = rr4k ] && continue
		: >a.txt
		: >b.txt
		i=0
		while [ $i -lt "$REPS" ]; do
			one "$A" $img $wl >>a.txt
			one "$B" $img $wl >>b.txt
			i=$((i + 1))
		done
		a=$(median <a.txt)
		b=$(median <b.txt)
		awk -v i=$img -v w=$wl -v a="$a" -v b="$b" 'BEGIN {
			printf "| %s | %s | %.1f | %.1f | %.3f |\n", i, w, a, b, b / a }'
	done
done
