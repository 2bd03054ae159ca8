#!/bin/sh
# Install the Debian 12 packages hvkvm needs to build, test and benchmark.
# Only what is missing is installed. Run as root (or through sudo).
set -e
PKGS="build-essential cmake pkg-config clang clang-format
linux-libc-dev libxml2-dev libxml2-utils uuid-dev liburing-dev liburcu-dev libcmocka-dev libjson-c-dev
acpica-tools libvirt-clients
qemu-utils libvhdi-utils qemu-system-x86 seabios
syslinux syslinux-common isolinux mtools xorriso
bc flex bison libelf-dev libssl-dev cpio xz-utils python3 util-linux iproute2
dnsmasq-base iputils-ping"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq || {
		echo "install-deps: error: apt-get update failed (is the Debian archive reachable?)" >&2
		exit 1
	}
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends $missing || {
		echo "install-deps: error: apt-get install failed for:$missing" >&2
		exit 1
	}
fi
