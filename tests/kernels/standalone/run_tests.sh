#!/usr/bin/env bash
# Builds the kernels, their core dependencies and the kernel tests without CMake (GoogleTest from
# /usr/src/googletest) for one of the ISA paths this machine cannot run natively, and runs them:
#   arm64      cross-compiled with Debian's g++-aarch64-linux-gnu, run under qemu-aarch64, so the NEON
#              (+dotprod) path is tested against kernels/ref on an x86-64 machine (`make test-arm64`);
#   avx512emu  native g++ with NLM_AVX512_EMULATE: the AVX-512 table on scalar stand-ins for its
#              intrinsics (src/kernels/cpu/avx512_emu.h) (`make test-avx512emu`).
# Objects go to build-<mode>/ (incremental). NLM_SANITIZED=1 is set to shrink the large sizes (the
# emulators are slow); the assertions are unchanged.
set -euo pipefail
cd "$(dirname "$0")/../../.."
MODE=${1:?usage: run_tests.sh arm64|avx512emu [gtest args]}
shift
GTEST=/usr/src/googletest/googletest
FLAGS=(-std=c++20 -O2 -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers -Werror
       -Isrc -Itests -pthread)
case $MODE in
  arm64)
    CXX=${CXX_ARM64:-aarch64-linux-gnu-g++}; OUT=${ARM64_BUILD:-build-arm64}; RUN=(qemu-aarch64)
    SKIP='_(avx2|avx512)\.cpp$'; LINK=(-static)
    command -v qemu-aarch64 >/dev/null || { echo "test-arm64: needs qemu-user (scripts/setup.sh)" >&2; exit 1; } ;;
  avx512emu)
    CXX=${CXX:-g++}; OUT=${EMU_BUILD:-build-avx512emu}; RUN=()
    SKIP='_neon\.cpp$'; LINK=(); FLAGS+=(-DNLM_AVX512_EMULATE) ;;
  *) echo "run_tests.sh: unknown mode $MODE" >&2; exit 2 ;;
esac
if ! command -v "$CXX" >/dev/null || [ ! -d "$GTEST" ]; then
  echo "test-$MODE: needs $CXX and libgtest-dev (scripts/setup.sh)" >&2
  exit 1
fi
FLAGS+=(-I"$OUT/generated" -I"$GTEST/include" -I"$GTEST")
mkdir -p "$OUT/obj" "$OUT/generated/core"
VERSION_H="$OUT/generated/core/version.h"
[ -f "$VERSION_H" ] || sed 's/@[A-Za-z_]*@/0/g' src/core/version.h.in > "$VERSION_H"

srcs=(src/core/status.cpp src/core/log.cpp src/core/cpu_features.cpp src/core/thread_pool.cpp src/core/arena.cpp)
while IFS= read -r f; do srcs+=("$f"); done < <(find src/kernels -name '*.cpp' | grep -Ev "$SKIP" | sort)
srcs+=(tests/kernels/*_test.cpp tests/core/f16_test.cpp tests/core/thread_pool_test.cpp)

objs=()
compile() {
  local f=$1 o=$2 extra=()
  case $f in
    *_neon.cpp) extra=(-march=armv8.2-a+dotprod+fp16) ;;
    *_avx2.cpp) extra=(-mavx2 -mfma -mf16c) ;;
    *_avx512.cpp) extra=(-mavx2 -mfma -mf16c -Wno-psabi) ;;  # emulated: no AVX-512 flags
    "$GTEST"/*) extra=(-w) ;;
  esac
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
"$CXX" "${LINK[@]}" -pthread -o "$OUT/kernels_tests_$MODE" "${objs[@]}"
echo "test-$MODE: running" >&2
NLM_SANITIZED=1 "${RUN[@]}" "$OUT/kernels_tests_$MODE" --gtest_brief=1 "$@"
