#!/bin/bash
# hostile_inputs.sh SEGMENT EVALUATE WEIGHTS.pms IMAGE.jpg
# Damaged and crafted weights, huge images and bad command lines, made on the fly by
# make_hostile_files.py (beside this script): each case must give its exit status (1 an
# error, 2 a wrong command line) and exactly one stderr line naming the problem, or run.
set -u
segment=$1 evaluate=$2 weights=$3 image=$4
here=$(dirname "$0")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$here/make_hostile_files.py" "$weights" "$image" "$dir" || exit 1
status=0
check() {  # check WANT_STATUS REGEX COMMAND...: one stderr line matching REGEX (any stderr if REGEX is empty)
  local want=$1 regex=$2 err rc
  shift 2
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  [ "$want" -eq 2 ] && err=$(printf '%s\n' "$err" | head -n 1)  # a usage error's one line, then the usage
  if [ "$rc" -ne "$want" ] || { [ -n "$regex" ] && { [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || ! printf '%s\n' "$err" | grep -Eq -- "$regex"; }; }; then
    echo "FAIL: ${*##*/}: exit $rc (expected $want), stderr: $err (expected one line matching $regex)"
    status=1
  else
    echo "ok ($rc): ${err:-no stderr}"
  fi
}
seg() { check "$1" "$2" "$segment" "${@:3}"; }
ev() { check "$1" "$2" "$evaluate" "${@:3}"; }

# Weights: a damaged header is refused by the checksum, an old file by its version, a file
# that loads but does not reproduce its reference by the self-test.
seg 1 'header_flip.pms: weights checksum mismatch' --weights "$dir/header_flip.pms" --input "$image"
seg 1 'v1.pms: unsupported weights format version \(re-convert' --weights "$dir/v1.pms" --input "$image"
seg 1 'k3.pms: self-test: .*--skip-self-test' --weights "$dir/k3.pms" --input "$image"
ev 1 'k3.pms: self-test: ' --weights "$dir/k3.pms" --images "$dir/set/images" --labels "$dir/set/labels"
seg 0 '' --weights "$dir/k3.pms" --input "$image" --skip-self-test
seg 1 'classifier_1e38.pms: self-test: ' --weights "$dir/classifier_1e38.pms" --input "$image"
# Past the self-test, non-finite logits are refused by the library's status (or, from a
# library that labelled outside [0, K), by the tools' range checks), never written through.
seg 1 '(inference failed|outside the 11 classes)' --weights "$dir/classifier_1e38.pms" --input "$image" --skip-self-test
ev 1 '(inference failed|outside the 11 classes)' --weights "$dir/classifier_1e38.pms" --skip-self-test \
  --images "$dir/set/images" --labels "$dir/set/labels"

# Memory: the workspace is computed from the image header and refused, with its size and a
# hint, before anything is decoded or allocated; --max-side shrinks before that check.
seg 1 'zeros_16384.png: a 16384x16384 network input needs a 1[0-9]\.[0-9] GB workspace .*--max-side' \
  --weights "$weights" --input "$dir/zeros_16384.png" --max-memory 4096
seg 1 'zeros_4000x3000.png: a 4000x3000 network input needs .*--max-side' \
  --weights "$weights" --input "$dir/zeros_4000x3000.png" --max-memory 256
seg 0 '' --weights "$weights" --input "$dir/zeros_4000x3000.png" --max-memory 256 --max-side 1024
ev 1 'a.jpg: a 480x360 image needs a .* workspace, more than the 1.0 MB available' --max-memory 1 \
  --weights "$weights" --images "$dir/set/images" --labels "$dir/set/labels"

# Progress lines go to a terminal only: into a pipe, a good run writes nothing on stderr.
ev 0 '' --weights "$weights" --images "$dir/set/images" --labels "$dir/set/labels"
if [ -n "$("$evaluate" --weights "$weights" --images "$dir/set/images" --labels "$dir/set/labels" 2>&1 >/dev/null)" ]; then
  echo "FAIL: evaluate wrote progress into a pipe"
  status=1
fi

# Wrong command lines exit 2.
seg 2 '--weights and --input are required' --input "$image"
seg 2 'unknown option --bogus' --weights "$weights" --input "$image" --bogus 1
seg 2 'missing value after --mode' --weights "$weights" --input "$image" --mode
seg 2 '--threads needs a whole number' --weights "$weights" --input "$image" --threads 0
seg 2 '--max-side needs a whole number' --weights "$weights" --input "$image" --max-side 99999
ev 2 '--weights, --images and --labels are required' --weights "$weights"
ev 2 '--mode is auto, vim or exact' --weights "$weights" --images "$dir" --labels "$dir" --mode fast
ev 2 '--expect-miou needs a percentage' --weights "$weights" --images "$dir" --labels "$dir" --expect-miou x
exit $status
