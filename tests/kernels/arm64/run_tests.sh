#!/usr/bin/env bash
# Cross-compiles the kernels, their core dependencies and the kernel tests for ARM64 with Debian's
# g++-aarch64-linux-gnu (GoogleTest from /usr/src/googletest) and runs them under qemu-aarch64, so the
# NEON (+dotprod) path is tested against kernels/ref on an x86-64 machine. Used by `make test-arm64`.
# Objects go to build-arm64/ (incremental). NLM_SANITIZED=1 is set to shrink the large sizes: the
# emulator is ~20x slower than native; the assertions are unchanged.
set -euo pipefail
cd "$(dirname "$0")/../../.."
CXX=${CXX_ARM64:-aarch64-linux-gnu-g++}
OUT=${ARM64_BUILD:-build-arm64}
GTEST=/usr/src/googletest/googletest
if ! command -v "$CXX" >/dev/null || ! command -v qemu-aarch64 >/dev/null || [ ! -d "$GTEST" ]; then
  echo "test-arm64: needs g++-aarch64-linux-gnu, qemu-user and libgtest-dev (scripts/setup.sh)" >&2
  exit 1
fi
mkdir -p "$OUT/obj"
FLAGS=(-std=c++20 -O2 -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers -Werror
       -Isrc -Itests -I"$OUT/generated" -I"$GTEST/include" -I"$GTEST" -pthread)
mkdir -p "$OUT/generated/core"
[ -f "$OUT/generated/core/version.h" ] || sed 's/@[A-Za-z_]*@/0/g' src/core/version.h.in > "$OUT/generated/core/version.h"

srcs=(src/core/status.cpp src/core/log.cpp src/core/cpu_features.cpp src/core/thread_pool.cpp src/core/arena.cpp)
while IFS= read -r f; do srcs+=("$f"); done < <(find src/kernels -name '*.cpp' ! -name '*_avx2.cpp' ! -name '*_avx512.cpp' | sort)
srcs+=(tests/kernels/*_test.cpp tests/core/f16_test.cpp tests/core/thread_pool_test.cpp)

objs=()
compile() {
  local f=$1 o=$2 extra=()
  [[ $f == *_neon.cpp ]] && extra=(-march=armv8.2-a+dotprod+fp16)
  [[ $f == "$GTEST"/* ]] && extra=(-w)
  "$CXX" "${FLAGS[@]}" "${extra[@]}" -c "$f" -o "$o"
}
pids=()
for f in "${srcs[@]}" "$GTEST/src/gtest-all.cc" "$GTEST/src/gtest_main.cc"; do
  o="$OUT/obj/$(echo "$f" | tr '/' '_').o"
  objs+=("$o")
  newest=$(ls -t "$f" src/kernels/*.h src/kernels/*/*.h src/core/*.h tests/kernels/*.h 2>/dev/null | head -1)
  if [ ! -f "$o" ] || [ "$newest" -nt "$o" ]; then
    compile "$f" "$o" & pids+=($!)
    if (( ${#pids[@]} >= $(nproc) )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
"$CXX" -static -pthread -o "$OUT/kernels_tests_arm64" "${objs[@]}"
echo "test-arm64: running under qemu-aarch64" >&2
NLM_SANITIZED=1 qemu-aarch64 "$OUT/kernels_tests_arm64" --gtest_brief=1 "$@"
