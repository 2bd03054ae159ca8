#!/bin/sh
# Build everything (ASan+UBSan) and run the whole test suite: unit, fuzz
# (bounded), interop and the guest-booting integration tests.
# Usage: scripts/test.sh [ctest args...]
set -e
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ -x tests/guest/build-kernel.sh ]; then
	tests/guest/build-kernel.sh
fi
BUILD=${BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Sanitize -DHVKVM_FUZZ=ON \
	-DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
exec ctest --test-dir "$BUILD" --output-on-failure "$@"
