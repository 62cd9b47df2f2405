#!/usr/bin/env bash
# pms versus ONNX Runtime, side by side, in one command (see bench/README.md):
#
#   bench/peers/run.sh [side_by_side options, e.g. --rounds 15 --threads 1,2 --sets tiny_random_k150]
#
# 1. scripts/setup_peers.sh: ONNX Runtime 1.30 (library + headers) into .deps/onnxruntime,
#    python3-onnx
# 2. bench/peers/export_onnx.py: the ONNX models (fp32, and int8 in QDQ form) and matching .pms
#    into .deps/peers (if missing)
# 3. builds build-peers/bench/peers/side_by_side (meson, release, -Dtests=false)
# 4. runs it: the Markdown tables go to stdout
# Environment: BUILD_DIR (default build-peers), MODELS_DIR (default .deps/peers), PYTHON
# (default /usr/bin/python3, which has torch).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build-peers}"
MODELS_DIR="${MODELS_DIR:-.deps/peers}"
PYTHON="${PYTHON:-/usr/bin/python3}"

scripts/setup_peers.sh

need_export=0
for set in tiny_random_k150 base_random_k150 tiny_random_k150_int8 base_random_k150_int8; do
  for f in "$set.pms" "$set.body.onnx" "$set.labels.onnx"; do
    [[ -f "$MODELS_DIR/$f" ]] || need_export=1
  done
done
if [[ $need_export == 1 ]]; then
  echo "run.sh: exporting the ONNX models into $MODELS_DIR (a few minutes)..." >&2
  "$PYTHON" bench/peers/export_onnx.py --out "$MODELS_DIR" >&2
fi

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  meson setup "$BUILD_DIR" --buildtype=release -Dtests=false >/dev/null
elif ! grep -q 'bench/peers/side_by_side' "$BUILD_DIR/build.ninja"; then
  meson setup --reconfigure "$BUILD_DIR" >/dev/null  # configured before ORT was installed
fi
ninja -C "$BUILD_DIR" bench/peers/side_by_side >/dev/null || {
  echo "run.sh: build failed; rerun: ninja -C $BUILD_DIR bench/peers/side_by_side" >&2
  exit 1
}
exec "$BUILD_DIR/bench/peers/side_by_side" --models "$MODELS_DIR" "$@"
