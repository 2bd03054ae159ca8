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
# at the newest one. The last line printed is the output directory.
#
# usage: build-kernel.sh [--print-path] [--force] [-j N]
#   --print-path  print the cache directory for the current inputs and exit
#                 (status 1 if that kernel has not been built)
#   --force       rebuild even if the cache entry is valid
#   -j N          parallel make jobs (default: nproc)
# environment: HVKVM_CACHE (default /var/cache/hvkvm)
set -euo pipefail

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

msg() { echo "build-kernel: $*" >&2; }
fail() { echo "build-kernel: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--print-path) print_path=1 ;;
	--force) force=1 ;;
	-j) shift; jobs=${1:?-j needs a number} ;;
	-j*) jobs=${1#-j} ;;
	-h|--help) sed -n '2,/^set -e/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) fail "unknown argument: $1" ;;
	esac
	shift
done

# The package version: what apt would fetch, or else a .deb we already have.
pkg_version() {
	local v deb sig memo=$BUILDROOT/.version-$PKG
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
	deb=$(ls -1 "$BUILDROOT"/dl/"${PKG}"_*_all.deb 2>/dev/null | sort -V | tail -1)
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
	[ -f "$1/stamp" ] && [ -f "$1/vmlinux" ] && [ -f "$1/bzImage" ] &&
		grep -qx "key $2" "$1/stamp"
}

ver=$(pkg_version)
key=$(cache_key "$ver")
out=$OUTROOT/$key

if [ $print_path = 1 ]; then
	entry_valid "$out" "$key" || { msg "not built yet: $out"; exit 1; }
	echo "$out"
	exit 0
fi

if [ $force = 0 ] && entry_valid "$out" "$key"; then
	ln -sfn "$key" "$OUTROOT/current"
	echo "$out"
	exit 0
fi

[ "$(id -u)" = 0 ] || msg "warning: not root; package installs will fail"
mkdir -p "$OUTROOT" "$BUILDROOT/dl"
exec 9>"$BUILDROOT/.lock"
flock 9

# Build dependencies (the same list as scripts/install-deps.sh).
need=""
for p in build-essential bc flex bison libelf-dev libssl-dev cpio xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	msg "installing:$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $need
fi

# Source tree: extracted once per (package version, patches).
tk=$(tree_key "$ver")
src=$BUILDROOT/src-$tk
obj=$BUILDROOT/obj-$tk
if [ ! -f "$src/.hvkvm-prepared" ]; then
	deb=$BUILDROOT/dl/${PKG}_${ver}_all.deb
	if [ ! -f "$deb" ]; then
		msg "downloading $PKG $ver"
		(cd "$BUILDROOT/dl" && apt-get download "$PKG=$ver")
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
make -C "$src" O="$obj" -j"$jobs" vmlinux bzImage
t1=$(date +%s)

readelf -n "$obj/vmlinux" | grep -A1 -w Xen | grep -q '0x00000012\|PHYS32_ENTRY' ||
	fail "vmlinux has no Xen PVH entry note (is CONFIG_PVH set?)"

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
	echo "make_seconds $((t1 - t0))"
	echo "cc $(gcc --version | head -1)"
} > "$tmp/stamp"
rm -rf "$out"
mv "$tmp" "$out"
ln -sfn "$key" "$OUTROOT/current"

# Prune old entries: keep the current one and the $KEEP newest others.
ls -1dt "$OUTROOT"/*/ 2>/dev/null | sed "s:/\$::" | grep -v -e "/$key\$" -e "/current\$" |
	tail -n +$((KEEP + 1)) | while read -r d; do
	[ -f "$d/stamp" ] && rm -rf "$d"
done

msg "done in $((t1 - t0)) s"
echo "$out"
