#!/bin/bash
# SPDX-License-Identifier: MIT
# Tests of the test-guest cache bookkeeping (build-kernel.sh, cache-lib.sh)
# without building a kernel: HVKVM_KBUILD_FAKE=ok|fail stands in for the
# package install, source and make steps. Each case gets its own empty
# HVKVM_CACHE. Prints one line per case and "N passed, N failed".
#
# usage: test_build_cache.sh
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BK=$HERE/build-kernel.sh
WORK=$(mktemp -d /tmp/hvkvm-cachetest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pass=0
failed=0
problems=""

# Per case: a fresh cache; run NAME sets $out, $err, $rc.
new_cache() { CACHE=$WORK/$1; mkdir -p "$CACHE"; }
run() {
	out=$(HVKVM_CACHE=$CACHE HVKVM_KBUILD_FAKE=${FAKE:-ok} \
		timeout 60 "$BK" "$@" 2>"$WORK/stderr")
	rc=$?
	err=$(cat "$WORK/stderr")
}
want() {	# want DESCRIPTION CONDITION...
	local what=$1
	shift
	if ! "$@"; then
		problems="$problems
    $what"
	fi
}
finish() {	# finish CASE
	if [ -z "$problems" ]; then
		echo "PASS $1"
		pass=$((pass + 1))
	else
		echo "FAIL $1:$problems"
		echo "    stdout: '$out'"
		echo "    stderr (last 5 lines):"
		tail -n 5 <<<"$err" | sed 's/^/      /'
		failed=$((failed + 1))
	fi
	problems=""
}
one_line() { [ "$(wc -l <<<"$out")" = 1 ] && [ -n "$out" ]; }
valid_entry() {
	[ -f "$1/stamp" ] && [ -f "$1/vmlinux" ] && [ -f "$1/bzImage" ] &&
		grep -qx "key ${1##*/}" "$1/stamp"
}
builds() { cat "$CACHE/guest-build/fake-builds" 2>/dev/null | wc -l; }
current_is() { [ "$(readlink "$CACHE/guest/current")" = "$1" ]; }
# old_entry KEY AGE_SECONDS: a complete entry of another key, AGE old.
old_entry() {
	local d=$CACHE/guest/$1
	mkdir -p "$d"
	echo "key $1" > "$d/stamp"
	: > "$d/vmlinux"
	: > "$d/bzImage"
	touch -d "@$(($(date +%s) - $2))" "$d"
}
key_now() {
	HVKVM_CACHE=$CACHE HVKVM_KBUILD_FAKE=ok "$BK" --print-path \
		2>/dev/null | sed 's:.*/::'
}

# 1. Empty cache: the first build completes and prints exactly its folder.
new_cache empty
run
want "status 0 (got $rc)" [ $rc = 0 ]
want "stdout is one line" one_line
want "stdout names a valid entry" valid_entry "$out"
want "current points at it" current_is "${out##*/}"
want "built once" [ "$(builds)" = 1 ]
want "stderr says done" grep -q "build-kernel: done" <<<"$err"
finish empty_cache

# 2. Only the current entry: found again, not rebuilt, same answer.
first=$out
run
want "status 0 (got $rc)" [ $rc = 0 ]
want "same folder" [ "$out" = "$first" ]
want "not rebuilt" [ "$(builds)" = 1 ]
run --print-path
want "--print-path status 0" [ $rc = 0 ]
want "--print-path prints it" [ "$out" = "$first" ]
finish only_current_entry

# 3. More entries than the cache keeps (3 besides the current one): the
# newest three stay, the older ones go, the new entry and current stay,
# and names that are not keys are left alone.
new_cache many
for i in 1 2 3 4 5 6; do
	old_entry "$(printf '%016x' $((0xa0 + i)))" $((i * 100))
done
mkdir -p "$CACHE/guest/notes"
run
key=${out##*/}
left=$(cd "$CACHE/guest" && ls -1d -- * | grep -v -e current -e notes -e "$key" | sort | tr '\n' ' ' || true)
want "status 0 (got $rc)" [ $rc = 0 ]
want "kept the three newest old entries (left: $left)" \
	[ "$left" = "00000000000000a1 00000000000000a2 00000000000000a3 " ]
want "the new entry is valid" valid_entry "$out"
want "a non-key folder is left alone" [ -d "$CACHE/guest/notes" ]
want "current is the new entry" current_is "$key"
finish more_entries_than_kept

# 4. A stale lock file (its build died): no obstacle.
new_cache stale_lock
mkdir -p "$CACHE/guest-build"
echo 999999 > "$CACHE/guest-build/.lock"
run
want "status 0 (got $rc)" [ $rc = 0 ]
want "valid entry" valid_entry "$out"
want "did not wait" eval '! grep -q waiting <<<"$err"'
finish stale_lock

# 5. A lock held by a live build: waits, says so, then finds that build's
# entry instead of building it again.
new_cache held_lock
mkdir -p "$CACHE/guest-build"
key=$(HVKVM_CACHE=$CACHE HVKVM_KBUILD_FAKE=ok "$BK" --print-path 2>&1 |
	sed -n 's:.*not built yet\: .*/::p')
(
	exec 9>>"$CACHE/guest-build/.lock"
	flock 9
	echo $BASHPID > "$CACHE/guest-build/.lock"
	touch "$WORK/locked"
	sleep 2
	# "Finish" the other build: a complete entry for the same key.
	mkdir -p "$CACHE/guest/$key"
	: > "$CACHE/guest/$key/vmlinux"
	: > "$CACHE/guest/$key/bzImage"
	echo "key $key" > "$CACHE/guest/$key/stamp"
) &
holder=$!
while [ ! -e "$WORK/locked" ]; do sleep 0.1; done
run
wait $holder
want "status 0 (got $rc)" [ $rc = 0 ]
want "said it waited" grep -q "waiting for another build" <<<"$err"
want "took the other build's entry" [ "$out" = "$CACHE/guest/$key" ]
want "did not build again" [ "$(builds)" = 0 ]
finish held_lock

# 6. A half-written entry from an interrupted build (a <key>.tmp folder
# and a <key> folder without a stamp): rebuilt, and the debris is gone.
new_cache half_written
mkdir -p "$CACHE/guest"
key=$(HVKVM_CACHE=$CACHE HVKVM_KBUILD_FAKE=ok "$BK" --print-path 2>&1 |
	sed -n 's:.*not built yet\: .*/::p')
mkdir -p "$CACHE/guest/$key.tmp" "$CACHE/guest/$key" \
	"$CACHE/guest/00000000000000b1.tmp" "$CACHE/guest/00000000000000b2"
echo partial > "$CACHE/guest/$key.tmp/vmlinux"
echo partial > "$CACHE/guest/$key/vmlinux"
: > "$CACHE/guest/00000000000000b2/vmlinux"
run
want "status 0 (got $rc)" [ $rc = 0 ]
want "built (key $key)" [ "$(builds)" = 1 ]
want "valid entry" valid_entry "$CACHE/guest/$key"
want "its .tmp is gone" [ ! -e "$CACHE/guest/$key.tmp" ]
want "another build's .tmp is gone" [ ! -e "$CACHE/guest/00000000000000b1.tmp" ]
want "an entry without a stamp is gone" [ ! -e "$CACHE/guest/00000000000000b2" ]
finish half_written_entry

# 7. A failing build: non-zero status, nothing on stdout, one error line,
# no entry, and the previous current entry stays current.
new_cache failing
old_entry 00000000000000c1 10
ln -s 00000000000000c1 "$CACHE/guest/current"
FAKE=fail run
FAKE=ok
want "non-zero status (got $rc)" [ $rc != 0 ]
want "nothing on stdout" [ -z "$out" ]
want "an error line" grep -q "^build-kernel: error: " <<<"$err"
want "current unchanged" current_is 00000000000000c1
want "no new entry" [ "$(ls "$CACHE/guest" | grep -cv -e current -e 00000000000000c1)" = 0 ]
finish failing_build

# 8. --print-path on an empty cache: status 1, nothing on stdout.
new_cache print_empty
run --print-path
want "status 1 (got $rc)" [ $rc = 1 ]
want "nothing on stdout" [ -z "$out" ]
finish print_path_empty

# 9. Bad arguments: one clear line, non-zero status.
new_cache badarg
run --frobnicate
want "non-zero status (got $rc)" [ $rc != 0 ]
want "names the argument" grep -q "unknown argument: --frobnicate" <<<"$err"
finish bad_argument

# 10. The callers' pattern: KDIR=$(build-kernel.sh) gets the folder alone.
new_cache caller
KDIR=$(HVKVM_CACHE=$CACHE HVKVM_KBUILD_FAKE=ok "$BK" 2>/dev/null)
rc=$?
out=$KDIR
want "status 0" [ $rc = 0 ]
want "KDIR/vmlinux exists" [ -f "$KDIR/vmlinux" ]
finish caller_pattern

# 11. cache_on_error names the failing step.
out=$(bash -c 'set -Eeuo pipefail; source "$1"; trap "cache_on_error demo" ERR
	true; stat /nonexistent/file >/dev/null 2>&1; echo after' _ \
	"$HERE/cache-lib.sh" 2>&1)
rc=$?
err=$out
want "non-zero status" [ $rc != 0 ]
want "one line naming the step" grep -qx \
	"demo: error: step 'stat /nonexistent/file > /dev/null 2>&1' failed with status 1 (line 2)" <<<"$out"
want "stopped there" eval '! grep -q after <<<"$out"'
finish error_names_step

echo "$pass passed, $failed failed"
[ $failed = 0 ]
