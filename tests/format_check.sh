#!/bin/sh
# SPDX-License-Identifier: MIT
# The tree's C files follow .clang-format (kernel style). tests/guest/ is
# kernel code, formatted as the kernel is, and left out.
# usage: format_check.sh SOURCE_DIR   (exit 77 = skipped: no clang-format)
set -u
top=${1:?usage: format_check.sh SOURCE_DIR}
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
	echo "SKIPPED: clang-format not installed (apt-get install clang-format)"
	exit 77
fi
cd "$top" || exit 1
if [ -d .git ] && command -v git >/dev/null; then
	files=$(git ls-files '*.c' '*.h' | grep -v '^tests/guest/')
else
	files=$(find . -name '*.[ch]' -not -path './tests/guest/*' \
		-not -path './build*' | sed 's:^\./::')
fi
bad=0
for f in $files; do
	if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
n=$(echo "$files" | wc -w)
echo "format: $((n - bad)) of $n files follow .clang-format"
[ "$bad" = 0 ]
