#!/bin/bash
# Build everything and boot the demo guest to a shell prompt on the serial
# console (Ctrl-A x quits).
#
# On hardware KVM the guest is the test kernel with a busybox initramfs and
# /bin/sh on ttyS0. On an emulating KVM (kvm_pvm, no VMX/SVM), guest
# userspace cannot run, so the prompt is the test kernel's built-in
# kernel-side shell (hvkvm# : help, echo, cpus, mem, uptime, poweroff).
# Environment: CPUS (default 2), MEM (default 512M), HVKVM_CACHE (where the
# test kernel is cached, default /var/cache/hvkvm).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
source tests/guest/cache-lib.sh
trap 'cache_on_error demo.sh' ERR
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target hvkvm
KDIR=$(tests/guest/build-kernel.sh) || {
	echo "demo.sh: error: the test-guest kernel build failed (see above)" >&2
	exit 1
}
CPUS=${CPUS:-2}
MEM=${MEM:-512M}
BASE="console=ttyS0 tsc=reliable noxsave mitigations=off i8042.noaux 8250.nr_uarts=1 no_timer_check"
if [ -e /sys/module/kvm_pvm ]; then
	# Host CPUID bits leak through such a KVM: see docs/emulating-kvm.md.
	BASE="$BASE clearcpuid=151,158,308 nowatchdog rcupdate.rcu_cpu_stall_suppress=1 workqueue.watchdog_thresh=0"
fi
if [ -e /sys/module/kvm_pvm ] || [ "${HVKVM_DEMO:-}" = kernel-shell ]; then
	echo "demo: emulating KVM detected: booting to the kernel-side shell (a few minutes here)"
	exec build/src/hvkvm run --kernel "$KDIR/vmlinux" --cpus "$CPUS" \
		--memory "$MEM" --hyperv all \
		--append "$BASE quiet hvkvm_test.checks=console"
fi
IDIR=$(tests/guest/build-initramfs.sh) || {
	echo "demo.sh: error: the demo initramfs build failed (see above)" >&2
	exit 1
}
INITRD=$IDIR/initramfs.cpio
exec build/src/hvkvm run --kernel "$KDIR/vmlinux" --initrd "$INITRD" \
	--cpus "$CPUS" --memory "$MEM" --hyperv all \
	--append "$BASE rdinit=/init"
