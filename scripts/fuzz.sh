#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer harnesses of tests/fuzz (clang,
# -fsanitize=fuzzer,address,undefined, in build-fuzz/) and runs each for SECONDS (default 60),
# starting from the committed seeds in tests/fuzz/corpus/<set>/. What the fuzzer finds on the
# way goes to build-fuzz/corpus/<harness>/ (never into the committed seeds); a crash leaves
# its input in build-fuzz/artifacts/ and makes the script fail. A finding becomes a seed file
# and a doctest case.
#   fuzz_weights_raw       raw bytes -> WeightsFile::parse, MobileSeg<Tiny/Base>::load, inference
#   fuzz_weights_resealed  edits of the shipped weights, checksum recomputed -> load, inference
#   fuzz_image_decode      bytes -> the example tools' image decoding
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
out=build-fuzz
cxx=${CXX_FUZZ:-clang++}
mkdir -p "$out/artifacts"

# No -g: it triples the compile time of the model harnesses (add it to reproduce with file:line).
flags=(-std=c++20 -O1 -march=native -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -Iexamples -DPMS_SOURCE_DIR="\"$PWD\"")

# harness  seed set  libraries
harnesses=(
  "fuzz_weights_raw weights_raw"
  "fuzz_weights_resealed weights_resealed"
  "fuzz_image_decode images libpng,libjpeg"
)

sources_newer_than() {  # whether any header or harness source is newer than the binary $1
  [ ! -x "$1" ] || [ -n "$(find include examples/common tests/fuzz -newer "$1" \( -name '*.hpp' -o -name '*.cpp' \) -print -quit)" ]
}

builds=()  # the harnesses build in parallel (two of them compile the whole network)
for h in "${harnesses[@]}"; do
  read -r name seeds libraries <<< "$h"
  if sources_newer_than "$out/$name"; then
    echo "fuzz.sh: building $name"
    # shellcheck disable=SC2046  # pkg-config's flags are separate words
    nice -n 10 "$cxx" "${flags[@]}" "tests/fuzz/$name.cpp" -o "$out/$name" \
      $([ -z "$libraries" ] || pkg-config --cflags --libs ${libraries//,/ }) &
    builds+=($!)
  fi
done
for pid in "${builds[@]}"; do wait "$pid"; done  # set -e: a failed build stops here

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for h in "${harnesses[@]}"; do
  read -r name seeds _ <<< "$h"
  mkdir -p "$out/corpus/$name"
  echo "fuzz.sh: $name for $seconds s"
  if ! "$out/$name" -max_total_time="$seconds" "$out/corpus/$name" -timeout=120 -rss_limit_mb=4096 -print_final_stats=1 \
       -artifact_prefix="$out/artifacts/$name-" "tests/fuzz/corpus/$seeds" \
       > "$out/$name.log" 2>&1; then
    echo "fuzz.sh: $name FAILED (log: $out/$name.log)"
    tail -n 40 "$out/$name.log"
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$out/$name.log" | sed "s/^/fuzz.sh: $name: /" || true
done
exit $status
