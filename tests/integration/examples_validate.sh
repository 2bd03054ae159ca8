#!/bin/sh
# SPDX-License-Identifier: MIT
# Every examples/*.xml must be valid libvirt domain XML (libvirt's own
# virt-xml-validate) and must parse and validate with hvkvm's reader.
# usage: examples_validate.sh CONFIG_CHECK EXAMPLES_DIR
# Exit 77 (skip) when virt-xml-validate is not installed.
set -u
check=$1
dir=$2

if ! command -v virt-xml-validate >/dev/null 2>&1; then
	echo "SKIP: virt-xml-validate not installed (Debian: libvirt-clients)"
	exit 77
fi

n=0
fail=0
for f in "$dir"/*.xml; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	if ! virt-xml-validate "$f" domain; then
		echo "FAIL: $f is not valid libvirt domain XML"
		fail=1
	fi
	if ! "$check" "$f"; then
		echo "FAIL: $f is rejected by hvkvm"
		fail=1
	fi
done
if [ "$n" -lt 3 ]; then
	echo "FAIL: expected at least 3 examples in $dir, found $n"
	fail=1
fi
exit $fail
