#!/bin/bash
# segment_bad_inputs.sh SEGMENT WEIGHTS.pms IMAGE.jpg
# Corrupt, empty and huge images and truncated weights, made on the fly: each must give
# exit status 1 and exactly one line on stderr naming the problem (never a crash).
set -u
segment=$1 weights=$2 image=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c 3000 "$image" > "$dir/truncated.jpg"
printf 'P6\n0 0\n255\n' > "$dir/empty.ppm"
printf 'P6\n100000 100000\n255\n' > "$dir/huge.ppm"
printf 'P6\n16 16\n255\n' > "$dir/short.ppm"        # header promises 768 bytes, none follow
head -c 5000 "$weights" > "$dir/truncated.pms"
status=0
check() {  # check WEIGHTS INPUT REGEX
  local err rc
  err=$("$segment" --weights "$1" --input "$2" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 1 ] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || ! printf '%s\n' "$err" | grep -Eq -- "$3"; then
    echo "FAIL: $2 with $1: exit $rc, stderr: $err (expected one line matching $3)"
    status=1
  else
    echo "ok: $err"
  fi
}
check "$weights" "$dir/truncated.jpg" 'truncated.jpg: not a readable image'
check "$weights" "$dir/empty.ppm" 'empty.ppm: (image has no pixels|not a readable image|image is empty)'
check "$weights" "$dir/huge.ppm" 'huge.ppm: (not a readable image|image .* is larger than)'
check "$weights" "$dir/short.ppm" 'short.ppm: not a readable image'
check "$dir/truncated.pms" "$image" 'truncated.pms: weights buffer is truncated'
exit $status
