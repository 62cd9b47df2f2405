#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the examples in release mode
# and segments a CamVid street photo with the shipped Tiny weights.
#   scripts/demo.sh [IMAGE] [WEIGHTS]
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:-examples/images/0001TP_008550.jpg}
weights=${2:-weights/pp_mobileseg_tiny_camvid.pms}

scripts/setup.sh
if [ ! -f build-release/build.ninja ]; then
  meson setup build-release --buildtype=release -Dtests=false -Dbench=disabled >/dev/null
fi
meson compile -C build-release segment >/dev/null

mkdir -p out
name=$(basename "${image%.*}")
build-release/examples/segment --weights "$weights" --input "$image" \
  --overlay "out/${name}_overlay.png" --mask "out/${name}_mask.png" --repeat 10
