# SPDX-License-Identifier: MIT
# Cache bookkeeping shared by build-kernel.sh and build-initramfs.sh (bash,
# sourced). An output root holds entries named by a 16-hex-digit key, each
# a directory with a "stamp" file whose first line is "key <key>"; a
# "current" symlink names the newest. A build writes "<key>.tmp" and renames
# it into place, so a reader never sees a half-written entry under its key.
#
# Written for `set -euo pipefail`: no pipeline here may fail because a
# filter selected nothing (that was issue #9).

# cache_entry_valid DIR KEY FILE...: DIR is a complete entry for KEY.
cache_entry_valid()
{
	local dir=$1 key=$2 f
	shift 2
	[ -f "$dir/stamp" ] || return 1
	for f in "$@"; do
		[ -f "$dir/$f" ] || return 1
	done
	grep -qx "key $key" "$dir/stamp"
}

# cache_lock FILE NAME: take an exclusive flock on FILE (fd 9) for the rest
# of the process. A lock file left by a build that died is no obstacle:
# flock locks go away with their holder. While another live build holds
# it, say so once and wait.
cache_lock()
{
	local file=$1 name=$2 holder
	exec 9>>"$file"
	if ! flock -n 9; then
		holder=$(cat "$file" 2>/dev/null || true)
		echo "$name: waiting for another build to finish${holder:+ (pid $holder)}" >&2
		flock 9
	fi
	# Record the holder for the message above (truncate, then write).
	: > "$file"
	echo "$$" >> "$file"
}

# cache_set_current ROOT KEY: point ROOT/current at KEY through a renamed
# symlink, so that "current" is never missing or half-made.
cache_set_current()
{
	ln -sfn "$2" "$1/.current.new"
	mv -T "$1/.current.new" "$1/current"
}

# cache_commit ROOT KEY TMP: move the finished TMP to ROOT/KEY and make it
# the current entry.
cache_commit()
{
	local root=$1 key=$2 tmp=$3
	rm -rf "${root:?}/$key"
	mv "$tmp" "$root/$key"
	cache_set_current "$root" "$key"
}

# cache_prune ROOT KEEP KEY: keep the entry KEY and the KEEP newest other
# complete entries; remove older ones, entries without a stamp and
# half-written "<key>.tmp" directories (interrupted builds). Only names that
# look like keys are touched. Call it with the build lock held.
cache_prune()
{
	local root=$1 keep=$2 key=$3 d name
	local -a old=()
	shopt -s nullglob
	for d in "$root"/*; do
		name=${d##*/}
		[ -d "$d" ] && [ ! -L "$d" ] || continue
		case "$name" in
		"$key") continue ;;
		*.tmp)
			[[ ${name%.tmp} =~ ^[0-9a-f]{16}$ ]] || continue
			rm -rf "$d"
			;;
		*)
			[[ $name =~ ^[0-9a-f]{16}$ ]] || continue
			if [ -f "$d/stamp" ]; then
				old+=("$(stat -c %Y "$d") $name")
			else
				rm -rf "$d"
			fi
			;;
		esac
	done
	shopt -u nullglob
	[ ${#old[@]} -gt "$keep" ] || return 0
	local i=0 entry
	while IFS= read -r entry; do
		i=$((i + 1))
		[ $i -gt "$keep" ] || continue
		rm -rf "${root:?}/${entry#* }"
	done < <(printf '%s\n' "${old[@]}" | sort -rn)
}

# cache_on_error NAME: one line naming the command that failed, for scripts
# that run under `set -e` (install with: trap 'cache_on_error NAME' ERR).
cache_on_error()
{
	local rc=$? cmd=$BASH_COMMAND line=${BASH_LINENO[0]}
	echo "$1: error: step '$cmd' failed with status $rc (line $line)" >&2
	exit "$rc"
}
