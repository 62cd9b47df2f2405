#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test suite:
# the kernel and network tests for each x86 ISA level (SSE2, AVX2+FMA, AVX-512), the Python
# reference/converter tests, and the AArch64 NEON build under qemu on small inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

jobs=$(nproc)
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=debugoptimized -Db_ndebug=false >/dev/null
fi
meson compile -C build -j "$jobs"
meson test -C build --print-errorlogs --num-processes "$jobs"

if [ ! -f build-aarch64/build.ninja ]; then
  meson setup build-aarch64 --cross-file scripts/cross/aarch64-linux-gnu.ini \
    --buildtype=debugoptimized -Db_ndebug=false -Dbench=false -Dexamples=false -Dtest_scale=small >/dev/null
fi
meson compile -C build-aarch64 -j "$jobs"
meson test -C build-aarch64 --print-errorlogs --num-processes "$jobs"

# The fuzz harnesses of tests/fuzz, 60 s each from the committed seeds.
scripts/fuzz.sh 60
