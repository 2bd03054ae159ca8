#!/bin/bash
# Build (or find in the cache) the hvkvm test-guest kernel.
#
# Kernel source: Debian's linux-source-6.1 (apt-get download + dpkg-deb -x;
# nothing else is fetched). Configuration: `make tinyconfig` + kernel.config,
# everything built in. Patches: patches/*.patch. Built-in test module:
# hvkvm_test.c (drivers/misc/hvkvm_test.c in the tree).
#
# Output: $CACHE/guest/<key>/{vmlinux,bzImage,config,stamp}, where <key>
# hashes everything that goes into the kernel; $CACHE/guest/current points
# at the newest one. On success the output directory is printed on stdout,
# and nothing else is: progress and the build's own output go to stderr.
# On failure stdout stays empty, one "build-kernel: error:" line says what
# failed, and the status is non-zero. Callers: KDIR=$(build-kernel.sh).
#
# usage: build-kernel.sh [--print-path] [--force] [-j N]
#   --print-path  print the cache directory for the current inputs and exit
#                 (status 1 if that kernel has not been built)
#   --force       rebuild even if the cache entry is valid
#   -j N          parallel make jobs (default: nproc)
# environment: HVKVM_CACHE (default /var/cache/hvkvm)
#   HVKVM_KBUILD_FAKE=ok|fail  (tests only) replace package install, source
#                 and make by writing stub files, or by failing; exercises
#                 the cache bookkeeping without building a kernel
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
CACHE=${HVKVM_CACHE:-/var/cache/hvkvm}
OUTROOT=$CACHE/guest
BUILDROOT=$CACHE/guest-build
PKG=linux-source-6.1
KEEP=3			# cache entries kept besides the current one

print_path=0
force=0
jobs=$(nproc 2>/dev/null || echo 2)

# stdout carries only the result; everything else goes to stderr.
exec 3>&1 1>&2
# shellcheck source=cache-lib.sh
source "$HERE/cache-lib.sh"
trap 'cache_on_error build-kernel' ERR

msg() { echo "build-kernel: $*" >&2; }
fail() { echo "build-kernel: error: $*" >&2; exit 1; }
result() { echo "$1" >&3; }
fake=${HVKVM_KBUILD_FAKE:-}
case "$fake" in
""|ok|fail) ;;
*) fail "HVKVM_KBUILD_FAKE must be ok or fail, not '$fake'" ;;
esac

while [ $# -gt 0 ]; do
	case "$1" in
	--print-path) print_path=1 ;;
	--force) force=1 ;;
	-j) shift; jobs=${1:?-j needs a number} ;;
	-j*) jobs=${1#-j} ;;
	-h|--help) sed -n '2,/^set -E/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&3; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done

# The package version: what apt would fetch, or else a .deb we already have.
pkg_version() {
	local v deb sig memo=$BUILDROOT/.version-$PKG
	if [ -n "$fake" ]; then
		echo "0fake"
		return
	fi
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
	deb=$(ls -1 "$BUILDROOT"/dl/"${PKG}"_*_all.deb 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$deb" ] || fail "$PKG is unknown to apt (run apt-get update)"
	dpkg-deb -f "$deb" Version
}

patch_files() {
	ls -1 "$HERE"/patches/*.patch 2>/dev/null | LC_ALL=C sort
}

# Everything that decides what the kernel looks like.
cache_key() {
	{
		echo "pkg $PKG $1"
		echo "cc $(gcc --version | head -1)"
		for f in "$SELF" "$HERE/kernel.config" "$HERE/hvkvm_test.c" \
			 $(patch_files); do
			echo "file $(basename "$f")"
			cat "$f"
		done
	} | sha256sum | cut -c1-16
}

# The source tree only depends on the package and the patches.
tree_key() {
	{
		echo "$PKG $1"
		for f in $(patch_files); do cat "$f"; done
	} | sha256sum | cut -c1-12
}

entry_valid() {
	cache_entry_valid "$1" "$2" vmlinux bzImage
}

ver=$(pkg_version)
key=$(cache_key "$ver")
out=$OUTROOT/$key

if [ $print_path = 1 ]; then
	entry_valid "$out" "$key" || { msg "not built yet: $out"; exit 1; }
	result "$out"
	exit 0
fi

if [ $force = 0 ] && entry_valid "$out" "$key"; then
	cache_set_current "$OUTROOT" "$key"
	result "$out"
	exit 0
fi

[ -n "$fake" ] || [ "$(id -u)" = 0 ] ||
	msg "warning: not root; package installs will fail"
mkdir -p "$OUTROOT" "$BUILDROOT/dl"
cache_lock "$BUILDROOT/.lock" build-kernel
# Another build may have finished this entry while we waited for the lock.
if [ $force = 0 ] && entry_valid "$out" "$key"; then
	cache_set_current "$OUTROOT" "$key"
	result "$out"
	exit 0
fi

# build_tree: leaves vmlinux, arch/x86/boot/bzImage, .config and System.map
# in $obj and the make time in $make_seconds.
build_tree() {
# Build dependencies (the same list as scripts/install-deps.sh).
need=""
for p in build-essential bc flex bison libelf-dev libssl-dev cpio xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	msg "installing:$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $need ||
		fail "could not install the kernel build tools:$need"
fi

tk=$(tree_key "$ver")
src=$BUILDROOT/src-$tk
obj=$BUILDROOT/obj-$tk
# Source tree: extracted once per (package version, patches).
if [ ! -f "$src/.hvkvm-prepared" ]; then
	deb=$BUILDROOT/dl/${PKG}_${ver}_all.deb
	if [ ! -f "$deb" ]; then
		msg "downloading $PKG $ver"
		(cd "$BUILDROOT/dl" && apt-get download "$PKG=$ver") ||
			fail "apt-get download $PKG=$ver failed"
		[ -f "$deb" ] || fail "apt-get download did not produce $deb"
	fi
	tmp=$BUILDROOT/src-$tk.tmp
	rm -rf "$tmp" "$src" "$obj"
	mkdir -p "$tmp/deb"
	msg "extracting $PKG $ver"
	dpkg-deb -x "$deb" "$tmp/deb"
	tar -xJf "$tmp/deb/usr/src/$PKG.tar.xz" -C "$tmp"
	mv "$tmp/$PKG" "$tmp/linux"
	rm -rf "$tmp/deb"
	for p in $(patch_files); do
		msg "applying $(basename "$p")"
		patch -d "$tmp/linux" -p1 --forward --batch -s < "$p" ||
			fail "patch $(basename "$p") does not apply"
	done
	# Hook the test module into drivers/misc.
	cat >> "$tmp/linux/drivers/misc/Kconfig" <<'EOF'

config HVKVM_TEST
	bool "hvkvm built-in guest test module"
	depends on X86_64
	help
	  Boot-time checks driven by hvkvm_test.* on the kernel command line,
	  for the hvkvm VMM's integration tests. Not for normal kernels.
EOF
	echo 'obj-$(CONFIG_HVKVM_TEST) += hvkvm_test.o' \
		>> "$tmp/linux/drivers/misc/Makefile"
	touch "$tmp/linux/.hvkvm-prepared"
	mv "$tmp/linux" "$src"
	rm -rf "$tmp"
fi

# The test module: copied only when it changed, so make stays incremental.
cmp -s "$HERE/hvkvm_test.c" "$src/drivers/misc/hvkvm_test.c" ||
	cp "$HERE/hvkvm_test.c" "$src/drivers/misc/hvkvm_test.c"

# Configuration: generated in a scratch directory and copied over only when
# it differs from the build tree's, so an unchanged config rebuilds nothing.
cfg=$BUILDROOT/cfg-$tk
rm -rf "$cfg"
mkdir -p "$cfg" "$obj"
msg "configuring"
make -s -C "$src" O="$cfg" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$cfg" "$cfg/.config" \
	"$HERE/kernel.config" >/dev/null
make -s -C "$src" O="$cfg" olddefconfig >/dev/null

# Every option of the fragment must have survived olddefconfig.
dropped=""
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$cfg/.config" || dropped="$dropped
  want '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" "$cfg/.config" || echo "(absent)")'"
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		! grep -q "^$opt=" "$cfg/.config" || dropped="$dropped
  want '$line', got '$(grep "^$opt=" "$cfg/.config")'"
		;;
	esac
done < "$HERE/kernel.config"
[ -z "$dropped" ] ||
	fail "options of kernel.config lost in olddefconfig (missing dependency?):$dropped"

cmp -s "$cfg/.config" "$obj/.config" || cp "$cfg/.config" "$obj/.config"
rm -rf "$cfg"

msg "building in $obj with -j$jobs"
t0=$(date +%s)
make -C "$src" O="$obj" -j"$jobs" vmlinux bzImage ||
	fail "make vmlinux bzImage failed in $obj (output above)"
t1=$(date +%s)
make_seconds=$((t1 - t0))

readelf -n "$obj/vmlinux" | grep -A1 -w Xen | grep -q '0x00000012\|PHYS32_ENTRY' ||
	fail "vmlinux has no Xen PVH entry note (is CONFIG_PVH set?)"
}

# The stand-in for build_tree in the script's own tests (HVKVM_KBUILD_FAKE).
build_tree_fake() {
	obj=$BUILDROOT/obj-fake
	mkdir -p "$obj/arch/x86/boot"
	[ "$fake" = ok ] || fail "fake build failed (HVKVM_KBUILD_FAKE=$fake)"
	echo "fake vmlinux $key" > "$obj/vmlinux"
	echo "fake bzImage $key" > "$obj/arch/x86/boot/bzImage"
	echo "# fake config" > "$obj/.config"
	echo "fake" > "$obj/System.map"
	make_seconds=0
	echo "$key" >> "$BUILDROOT/fake-builds"
}

if [ -n "$fake" ]; then
	build_tree_fake
else
	build_tree
fi

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$obj/vmlinux" "$tmp/vmlinux"
cp "$obj/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$obj/.config" "$tmp/config"
cp "$obj/System.map" "$tmp/System.map"
{
	echo "key $key"
	echo "package $PKG $ver"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "make_seconds $make_seconds"
	echo "cc $(gcc --version | head -1)"
} > "$tmp/stamp"
cache_commit "$OUTROOT" "$key" "$tmp"
cache_prune "$OUTROOT" "$KEEP" "$key"

msg "done in $make_seconds s"
result "$out"
