#!/usr/bin/env bash
# Installs the Debian packages pms needs to build, test and run its examples.
# Idempotent and quiet: prints nothing when everything is already installed.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  libxsimd-dev doctest-dev libbenchmark-dev libpng-dev libjpeg-dev
  g++-aarch64-linux-gnu qemu-user               # the AArch64/NEON test build under emulation
  clang-14 libclang-rt-14-dev                   # the clang build; clang's sanitizer and libFuzzer runtimes
  python3-numpy python3-torch python3-pil       # the reference oracle and the weights converter
  clang libclang-rt-14-dev                      # the libFuzzer harnesses (scripts/fuzz.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "pms setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
