#!/bin/bash
# Build (or find in the cache) the demo initramfs for hardware-KVM hosts:
# an uncompressed newc cpio with Debian's busybox-static and an /init that
# mounts proc, sys and devtmpfs and runs a shell on the console.
# (Guest userspace cannot run under the software KVM of the test machines;
# there the kernel's built-in hvkvm_test module is the whole test.)
#
# Output: $CACHE/initramfs/<key>/{initramfs.cpio,stamp}; <key> hashes this
# script and the busybox-static version; $CACHE/initramfs/current points at
# the newest. On success the output directory is printed on stdout, and
# nothing else is (progress goes to stderr); on failure stdout stays empty,
# one "build-initramfs: error:" line says what failed, and the status is
# non-zero.
#
# usage: build-initramfs.sh [--print-path] [--force]
# environment: HVKVM_CACHE (default /var/cache/hvkvm)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
CACHE=${HVKVM_CACHE:-/var/cache/hvkvm}
OUTROOT=$CACHE/initramfs
PKG=busybox-static

print_path=0
force=0

exec 3>&1 1>&2
# shellcheck source=cache-lib.sh
source "$HERE/cache-lib.sh"
trap 'cache_on_error build-initramfs' ERR

msg() { echo "build-initramfs: $*" >&2; }
result() { echo "$1" >&3; }
fail() { echo "build-initramfs: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--print-path) print_path=1 ;;
	--force) force=1 ;;
	-h|--help) sed -n '2,/^set -E/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&3; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done

pkg_version() {
	local v deb sig memo=$OUTROOT/.version-$PKG
	# apt-cache takes over a second here (no pkgcache.bin): remember its
	# answer for as long as the package lists stay the same.
	sig=$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null |
		sha256sum | cut -c1-16)
	if [ -f "$memo" ] && [ "$(cut -d' ' -f1 "$memo")" = "$sig" ]; then
		cut -d' ' -f2 "$memo"
		return
	fi
	v=$(apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	if [ -n "$v" ] && [ "$v" != "(none)" ] && [ -w "$(dirname "$memo")" ]; then
		echo "$sig $v" > "$memo"
	fi
	if [ -n "$v" ] && [ "$v" != "(none)" ]; then
		echo "$v"
		return
	fi
	deb=$(ls -1 "$OUTROOT"/dl/*/"${PKG}"_*.deb 2>/dev/null | tail -1 || true)
	[ -n "$deb" ] || fail "$PKG is unknown to apt (run apt-get update)"
	dpkg-deb -f "$deb" Version
}

ver=$(pkg_version)
key=$({ echo "$PKG $ver"; cat "$SELF"; } | sha256sum | cut -c1-16)
out=$OUTROOT/$key

valid() { cache_entry_valid "$out" "$key" initramfs.cpio; }

if [ $print_path = 1 ]; then
	valid || { msg "not built yet: $out"; exit 1; }
	result "$out"
	exit 0
fi
if [ $force = 0 ] && valid; then
	cache_set_current "$OUTROOT" "$key"
	result "$out"
	exit 0
fi

[ "$(id -u)" = 0 ] || fail "must run as root (creates device nodes)"
mkdir -p "$OUTROOT"
cache_lock "$OUTROOT/.lock" build-initramfs
if [ $force = 0 ] && valid; then
	cache_set_current "$OUTROOT" "$key"
	result "$out"
	exit 0
fi

# The .deb name carries the epoch URL-encoded; keep one directory per version.
dl=$OUTROOT/dl/$(echo "$ver" | tr -c 'A-Za-z0-9.+~\n-' '_')
deb=$(ls -1 "$dl"/"${PKG}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	mkdir -p "$dl"
	msg "downloading $PKG $ver"
	(cd "$dl" && apt-get download "$PKG=$ver") ||
		fail "apt-get download $PKG=$ver failed"
	deb=$(ls -1 "$dl"/"${PKG}"_*.deb 2>/dev/null | head -1 || true)
	[ -n "$deb" ] || fail "apt-get download did not produce a .deb"
fi

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/deb" "$tmp/root"
dpkg-deb -x "$deb" "$tmp/deb"
root=$tmp/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin}
cp "$tmp/deb/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
cat > "$root/init" <<'EOF'
#!/bin/sh
# hvkvm demo initramfs
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "hvkvm demo initramfs: $(uname -sr), $(nproc) CPUs"
grep -E '^(MemTotal|MemFree):' /proc/meminfo
echo "type 'poweroff -f' to power off"
while :; do
	setsid cttyhack sh -l
done
EOF
chmod 755 "$root/init"
echo 'PS1="hvkvm-guest:\w# "' > "$root/etc/profile"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) > "$tmp/initramfs.cpio"
rm -rf "$tmp/deb" "$tmp/root"
{
	echo "key $key"
	echo "package $PKG $ver"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$tmp/stamp"
cache_commit "$OUTROOT" "$key" "$tmp"
cache_prune "$OUTROOT" 3 "$key"
msg "$(stat -c %s "$out/initramfs.cpio") bytes"
result "$out"
