#!/bin/bash
# Build everything (ASan+UBSan) and run the whole test suite: unit, fuzz
# (bounded), interop and the guest-booting integration tests.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
# With only "-L unit" the test-guest kernel is not built.
# Environment: BUILD (build folder, default build-test), HVKVM_CACHE (where
# the test kernel is cached, default /var/cache/hvkvm).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
source tests/guest/cache-lib.sh
trap 'cache_on_error test.sh' ERR

guest=1
case " $* " in
*" -L unit "*|*" -L ^unit$ "*|*" --label-regex unit "*) guest=0 ;;
esac

scripts/install-deps.sh
if [ $guest = 1 ]; then
	tests/guest/build-kernel.sh >/dev/null || {
		echo "test.sh: error: the test-guest kernel build failed (see above)" >&2
		exit 1
	}
fi
BUILD=${BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Sanitize -DHVKVM_FUZZ=ON \
	-DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
exec ctest --test-dir "$BUILD" --output-on-failure "$@"
