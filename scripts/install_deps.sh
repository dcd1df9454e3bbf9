#!/usr/bin/env bash
# Installs the Debian 12 packages Flywheel needs to build and test, only those missing.
# Non-interactive; needs root (or sudo). Safe to run repeatedly.
#   --torch  also libtorch-dev, for the optional LibTorch bench (cmake -DFLYWHEEL_TORCH_BENCH=ON)
set -euo pipefail

PACKAGES=(
  build-essential cmake make git pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev zlib1g-dev
  libopenblas-dev libeigen3-dev
  libboost-dev
  libhnswlib-dev
  libhiredis-dev redis-server  # Redis Streams (src/stream); the redis-labelled tests start redis-server
  clang-format clang-tidy
  clang libclang-rt-14-dev  # libclang-rt: ASan, UBSan and libFuzzer runtimes (clang-fuzz preset)
  curl
  python3
  nodejs
  ccache
  chromium
)
if [ "${1:-}" = "--torch" ]; then
  PACKAGES+=(libtorch-dev)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
