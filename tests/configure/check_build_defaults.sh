#!/usr/bin/env bash
# Build defaults: configures pms (no compiling) in two situations and checks the outcome.
#  1. A machine without Google Benchmark, libpng/libjpeg or torch: `meson setup` succeeds, the
#     benchmarks, examples and golden data turn themselves off and say so. The packages are
#     hidden, not removed: pkg-config sees only xsimd (and a stand-in doctest.pc), CMake
#     cannot run, and `import torch` fails.
#  2. pms as a Meson subproject of another project: it installs nothing and builds no tests.
# Usage: check_build_defaults.sh SCRATCH_DIR (emptied first).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$1
rm -rf "$scratch"
mkdir -p "$scratch/pkgconfig" "$scratch/bin" "$scratch/python" "$scratch/parent/subprojects"
scratch=$(cd "$scratch" && pwd)  # absolute: it becomes the subproject test's install prefix

failures=0
fail() {
  echo "FAILED: $*"
  failures=$((failures + 1))
}

xsimd_pc=$(pkg-config --variable=pcfiledir xsimd)/xsimd.pc
cp "$xsimd_pc" "$scratch/pkgconfig/"
# Debian's doctest has CMake files only: a stand-in .pc (its header is on the default path).
printf 'Name: doctest\nDescription: stand-in\nVersion: 2.4.9\nCflags:\n' >"$scratch/pkgconfig/doctest.pc"
printf '#!/bin/sh\nexit 1\n' >"$scratch/bin/cmake"
chmod +x "$scratch/bin/cmake"
echo 'raise ImportError("hidden by tests/configure/check_build_defaults.sh")' >"$scratch/python/torch.py"

hidden_env=(env PATH="$scratch/bin:$PATH" PKG_CONFIG_LIBDIR="$scratch/pkgconfig" PYTHONPATH="$scratch/python")

# 1. Without the optional packages.
if ! log=$("${hidden_env[@]}" meson setup "$scratch/build" "$source_dir" 2>&1); then
  echo "$log"
  fail "meson setup without benchmark, libpng/libjpeg and torch"
else
  for expected in 'Message: benchmarks: off' 'Message: examples: off' 'Message: golden data: off'; do
    grep -q "^$expected" <<<"$log" || fail "no '$expected' in the configure log"
  done
  targets=$(meson introspect "$scratch/build" --targets)
  for absent in bench_model bench_kernels segment evaluate golden_weights; do
    grep -q "\"name\": \"$absent\"" <<<"$targets" && fail "target $absent configured without its dependencies"
  done
  grep -q '"name": "test_kernels_sse2"' <<<"$targets" || fail "the kernel tests are not configured"
fi
# An explicitly enabled part whose dependency is missing is an error, not a silent skip.
"${hidden_env[@]}" meson setup "$scratch/build-enabled" "$source_dir" -Dbench=enabled >/dev/null 2>&1 &&
  fail "-Dbench=enabled configured without Google Benchmark"

# 2. As a subproject (with every package visible).
ln -s "$source_dir" "$scratch/parent/subprojects/pms"
cat >"$scratch/parent/meson.build" <<'MESON'
project('parent', 'cpp', default_options : ['cpp_std=c++20'])
executable('parent_app', 'app.cpp', dependencies : dependency('pms', fallback : ['pms', 'pms_dep']), install : true)
MESON
echo 'int main() { return 0; }' >"$scratch/parent/app.cpp"
if ! log=$(meson setup "$scratch/parent/build" "$scratch/parent" --prefix="$scratch/parent/install" 2>&1); then
  echo "$log"
  fail "meson setup of a project using pms as a subproject"
else
  [ "$(meson introspect "$scratch/parent/build" --tests)" = "[]" ] || fail "the subproject pms defines tests"
  installed=$(meson introspect "$scratch/parent/build" --installed)
  grep -q 'parent_app' <<<"$installed" || fail "the parent's own install is missing (the check is broken)"
  grep -qE 'mobileseg\.hpp|pms\.pc' <<<"$installed" && fail "the subproject pms installs files: $installed"
fi

[ "$failures" -eq 0 ] && echo "build defaults: OK"
exit $((failures > 0))
