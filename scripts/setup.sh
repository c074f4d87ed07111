#!/usr/bin/env bash
# Installs everything nativelm needs to build and test, from Debian packages (and npm for the
# TypeScript client). Idempotent: packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  nlohmann-json3-dev        # JSON (protocol, configs, tokenizer.json)
  libcurl4-openssl-dev libssl-dev  # Hub downloads, sha256
  libpcre2-dev libutf8proc-dev     # tokenizer regexes and Unicode
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-dev                  # only the benchmarks compare against OpenBLAS sgemm
  g++-aarch64-linux-gnu qemu-user  # make test-arm64: the NEON kernels, cross-built and emulated
  python3                          # the local Hub test server
  nodejs npm                       # TypeScript client and its tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node/npm may come from outside Debian (the image's own Node): accept any node >= 20 on PATH.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present" >&2
