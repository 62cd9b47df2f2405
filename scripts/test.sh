#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs each leg below,
# one build directory per leg (kept between runs, so a rerun only rebuilds what changed).
#   scripts/test.sh            the legs of the default run (see `legs` at the end)
#   scripts/test.sh LEG...     only those legs (build_defaults, default, aarch64, sanitize,
#                              no_exceptions, clang, fuzz)
# Each leg's build directory is configured once; delete it to change its options.
# No leg builds debug information: -g doubles or triples the compile time of the network's
# large inlined functions. To debug a failure, rebuild that leg's directory with -Ddebug=true.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

jobs=$(nproc)
is_x86_64=false
[ "$(uname -m)" = x86_64 ] && is_x86_64=true

# The widest x86 ISA level this machine runs: the second level of the legs that build two.
widest_x86_level() {
  if grep -qw avx512bw /proc/cpuinfo; then echo avx512; else echo avx2; fi
}

# configure DIR MESON_SETUP_ARGS...: meson setup, once.
configure() {
  local dir=$1
  shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
}

# GCC, release (-O3 -DNDEBUG), what users ship: the kernel and network suites for each x86
# ISA level (SSE2, AVX2+FMA, AVX-512) at full size with the golden outputs, the ISA-mix
# program, the Python reference and converter tests, the examples and their tests, and the
# benchmarks (built, not run). Asserts off and the optimiser's freedom (vectorised tails,
# inlining across layers) must not change a result. The asserts run in the aarch64,
# sanitize, no_exceptions, clang and fuzz legs.
leg_default() {
  configure build --buildtype=release
  meson compile -C build -j "$jobs"
  meson test -C build --print-errorlogs --num-processes "$jobs"
}

# The AArch64 NEON build under qemu, on small inputs.
leg_aarch64() {
  configure build-aarch64 --cross-file scripts/cross/aarch64-linux-gnu.ini \
    -Doptimization=2 -Ddebug=false -Db_ndebug=false -Dbench=disabled -Dexamples=disabled -Dtest_scale=small
  meson compile -C build-aarch64 -j "$jobs"
  meson test -C build-aarch64 --print-errorlogs --num-processes "$jobs"
}

# AddressSanitizer + UndefinedBehaviorSanitizer, with ASan's default options: every x86
# C++ suite (kernels, model, io, core, examples with their hostile-input tests) on small
# inputs, and any report fails its test (-fno-sanitize-recover: UBSan aborts instead of
# printing and going on). GCC's -fsanitize=undefined leaves out float-cast-overflow (a
# float -> int conversion out of range, as a label index from a non-finite logit): added.
# -O1, the sanitizers' usual level. What is left out, for CI's time (a whole network under
# ASan compiles for minutes per translation unit):
# - the kernel suite runs for every x86 level; the model suite for SSE2 (4 lanes, the most
#   scalar tail code) and the widest level (AVX-512 where the CPU runs it, else AVX2), not
#   for AVX2 on an AVX-512 machine (the network's own code is the same at every level, and
#   AVX2's kernels run in the kernel suite); the ISA-mix program not at all (it runs in the
#   default leg);
# - use-after-scope checks (-fno-sanitize-address-use-after-scope: they poison every SIMD
#   temporary of the inlined network and cost over a quarter of the compile time); heap,
#   stack and global overflows, use-after-free and leaks are all checked.
leg_sanitize() {
  local wide
  wide=$(widest_x86_level)
  configure build-sanitize -Doptimization=1 -Ddebug=false -Db_ndebug=false -Db_sanitize=address,undefined \
    -Dcpp_args="-fsanitize=float-cast-overflow -fno-sanitize-recover=all -fno-sanitize-address-use-after-scope" \
    -Dcpp_link_args=-fsanitize=float-cast-overflow \
    -Dtest_scale=small -Dtest_isas="sse2,avx2,$wide" -Dmodel_test_isas="sse2,$wide" -Disa_mix=false -Dbench=disabled
  meson compile -C build-sanitize -j "$jobs"
  meson test -C build-sanitize --print-errorlogs --num-processes "$jobs" --no-suite reference --no-suite slow
}

# The library and the kernel and model suites built with -fno-exceptions and -fno-rtti,
# as firmware builds them: pms needs neither. doctest without exceptions cannot leave a test
# case at a failed REQUIRE: it reports the failure and aborts the suite.
# One ISA level (SSE2, which every x86-64 CPU runs): exceptions do not depend on it.
leg_no_exceptions() {
  configure build-noexcept -Doptimization=2 -Ddebug=false -Db_ndebug=false -Dcpp_eh=none -Dcpp_rtti=false \
    -Dcpp_args=-DDOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS -Dtest_isas=sse2 -Dbench=disabled -Dexamples=disabled
  local targets=(tests/test_kernels_sse2 tests/test_model_sse2)
  # The generated weights files of the golden and hostile-weights cases (with Python's torch).
  if meson introspect build-noexcept --targets | grep -q '"golden_weights"'; then targets+=(golden_weights hostile_weights); fi
  meson compile -C build-noexcept -j "$jobs" "${targets[@]}"
  meson test -C build-noexcept --no-rebuild --print-errorlogs --num-processes "$jobs" kernels_sse2 model_sse2
}

# Debian's clang 14 (the compiler family of the Android NDK): the library, every C++ test
# suite and the examples compile with it, and pass. The test suites for the widest level
# this CPU runs; the ISA-mix program compiles every level's #if branches.
leg_clang() {
  local wide
  wide=$(widest_x86_level)
  configure build-clang --native-file scripts/native/clang14.ini -Doptimization=2 -Ddebug=false -Db_ndebug=false \
    -Dtest_isas="$wide" -Dbench=disabled
  meson compile -C build-clang -j "$jobs"
  meson test -C build-clang --print-errorlogs --num-processes "$jobs" --no-suite reference --no-suite slow
}

# Configure only: without Google Benchmark, libpng/libjpeg or torch, `meson setup` succeeds and turns
# the benchmarks, examples and golden data off, saying so; as a subproject pms installs
# nothing and defines no tests.
leg_build_defaults() {
  tests/configure/check_build_defaults.sh build-defaults-check
}

# The libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan), 60 s each from the committed
# seeds: the weights loader (raw and resealed) through inference, and the tools' image decoding.
leg_fuzz() {
  scripts/fuzz.sh 60
}

run_leg() {
  local start=$SECONDS
  echo "== test.sh: leg $1"
  "leg_$1"
  echo "== test.sh: leg $1 passed in $((SECONDS - start)) s"
}

legs=("$@")
if [ ${#legs[@]} -eq 0 ]; then
  legs=(build_defaults default aarch64 sanitize no_exceptions clang fuzz)
fi
for leg in "${legs[@]}"; do run_leg "$leg"; done
echo "== test.sh: ${legs[*]}: passed in $SECONDS s; CPU time (user, system) of this shell, then of its children:"
times
