#!/usr/bin/env bash
# Installs the peer runtime for bench/peers into the ignored folder .deps/ (nothing of it is
# committed). Idempotent; prints nothing when everything is already there.
#
#   .deps/onnxruntime/lib/libonnxruntime.so.1   ONNX Runtime 1.30.0 CPU library, from the npm
#                                               package onnxruntime-node@1.30.0
#   .deps/onnxruntime/include/*.h               ONNX Runtime C/C++ API headers (1.29; the C API
#                                               only appends, so they work with the 1.30 library),
#                                               from the npm package com.github.asus4.onnxruntime@0.4.9
#
# Only npm (Debian's) is used, through its ordinary registry. See /work/shared/notes/peers.md.
# Also the Debian package python3-onnx, with which bench/peers/quantize_qdq.py writes the int8
# (QDQ) models.
set -euo pipefail
if ! dpkg-query -W -f='${Status}' python3-onnx 2>/dev/null | grep -q "install ok installed"; then
  echo "setup_peers: installing python3-onnx"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-onnx >/dev/null ||
    { echo "setup_peers: apt-get install python3-onnx failed" >&2; exit 1; }
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
ORT="$DEPS/onnxruntime"
NODE_VERSION=1.30.0
HEADERS_PKG=com.github.asus4.onnxruntime@0.4.9
LIB="$ORT/lib/libonnxruntime.so.1"
STAMP="$ORT/.installed"
want="onnxruntime-node@$NODE_VERSION $HEADERS_PKG"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -f "$LIB" && -f "$ORT/include/onnxruntime_cxx_api.h" && -f "$ORT/include/onnxruntime_float16.h" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "setup_peers: npm is missing (Debian: apt-get install npm)" >&2; exit 1; }

log="$DEPS/setup_peers.log"
mkdir -p "$DEPS" "$ORT/lib" "$ORT/include"
: >"$log"
fail() { echo "setup_peers: $1 (log: $log)" >&2; exit 1; }

# 1. The library: onnxruntime-node ships libonnxruntime.so.1 inside its tarball. Its install
#    script would try to download a GPU add-on; ONNXRUNTIME_NODE_INSTALL=skip turns that off.
npm_dir="$DEPS/npm"
mkdir -p "$npm_dir"
[[ -f "$npm_dir/package.json" ]] || echo '{"name":"pms-peers","private":true}' >"$npm_dir/package.json"
if [[ ! -f "$npm_dir/node_modules/onnxruntime-node/package.json" ]] ||
   [[ "$(node -p "require('$npm_dir/node_modules/onnxruntime-node/package.json').version" 2>/dev/null)" != "$NODE_VERSION" ]]; then
  (cd "$npm_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error \
     "onnxruntime-node@$NODE_VERSION") >>"$log" 2>&1 || fail "npm install onnxruntime-node@$NODE_VERSION failed"
fi
so="$npm_dir/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
[[ -f "$so" ]] || so="$(find "$npm_dir/node_modules/onnxruntime-node" -name 'libonnxruntime.so*' -type f | head -n 1)"
[[ -f "$so" ]] || fail "libonnxruntime.so not found in onnxruntime-node"
cp -f "$so" "$LIB"
ln -sf libonnxruntime.so.1 "$ORT/lib/libonnxruntime.so"

# 2. The headers: only the ORT C/C++ API headers out of the package's iOS xcframework.
tmp="$(mktemp -d "$DEPS/headers.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --loglevel=error "$HEADERS_PKG") >>"$log" 2>&1 || fail "npm pack $HEADERS_PKG failed"
tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)"
[[ -f "$tgz" ]] || fail "npm pack $HEADERS_PKG produced no tarball"
# One copy of each header (the xcframework holds one per platform slice).
tar -tzf "$tgz" | grep -E '/Headers/onnxruntime_[a-z0-9_]+\.(h|hpp|inl)$' >"$tmp/list" || true
[[ -s "$tmp/list" ]] || fail "no onnxruntime headers in $HEADERS_PKG"
mkdir -p "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x" -T "$tmp/list"
while read -r f; do
  base="$(basename "$f")"
  [[ -f "$ORT/include/$base.new" ]] || cp "$tmp/x/$f" "$ORT/include/$base.new"
done <"$tmp/list"
for f in "$ORT"/include/*.new; do mv -f "$f" "${f%.new}"; done
[[ -f "$ORT/include/onnxruntime_cxx_api.h" ]] || fail "onnxruntime_cxx_api.h missing after extraction"
echo "$want" >"$STAMP"
echo "setup_peers: ONNX Runtime $NODE_VERSION in $ORT (lib/, include/)"
