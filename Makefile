# The two commands of the README:
#   make serve  — set up, build, and start `nativelm serve` on the embedded default model
#   make test   — set up, build, and run every test (the release build, then the ASan+UBSan build)
# Other targets: build, test-release, test-asan, test-ts, test-arm64, test-avx512emu, bench.

JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
WERROR ?= ON
# Unity builds (CMakeLists.txt): about half the clean build time on 2 cores. UNITY=OFF builds file by file.
UNITY ?= ON

.PHONY: setup build build-asan serve test test-release test-asan test-ts test-arm64 test-avx512emu bench clean tokenizer-oracle \
  test-tokenizer-diff test-jinja-diff

setup:
	@bash scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNLM_WERROR=$(WERROR) \
	  -DCMAKE_UNITY_BUILD=$(UNITY) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNLM_SANITIZE=ON -DNLM_WERROR=$(WERROR) \
	  -DNLM_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=$(UNITY) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

serve: build
	./$(BUILD)/nativelm serve

test-release: build
	cd $(BUILD) && ctest --output-on-failure

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  NLM_SANITIZED=1 ctest --output-on-failure

test-ts: build
	@if [ -f clients/typescript/package.json ]; then \
	  cd clients/typescript && npm ci --no-audit --no-fund --silent && NATIVELM_BIN="$(abspath $(BUILD))/nativelm" npm test; \
	fi

# The kernels' NEON path: cross-compiled with g++-aarch64-linux-gnu, run under qemu-aarch64.
test-arm64: setup
	bash tests/kernels/standalone/run_tests.sh arm64

# The AVX-512 kernels' logic on any x86-64 CPU: kernels_tests with the AVX-512 table compiled on scalar
# stand-ins for its intrinsics (src/kernels/cpu/avx512_emu.h). Real AVX-512 hardware runs test-release.
test-avx512emu: setup
	bash tests/kernels/standalone/run_tests.sh avx512emu

# The tokenizer differential test's live oracle: transformers.js and the tokenizers library's Node binding
# (tests/tokenizer/js, offline once installed). Without npm the committed golden file is used.
tokenizer-oracle:
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/tokenizer/js && npm ci --no-audit --no-fund --silent --ignore-scripts || \
	    echo "tokenizer-oracle: npm ci failed; the tokenizer tests use the committed golden file"; \
	fi

test-tokenizer-diff: build tokenizer-oracle
	cd $(BUILD) && ./tests/tokenizer_tests --gtest_brief=1 --gtest_filter='TransformersJsDiff.*'

# Chat templates: nativelm's apply_template against @huggingface/jinja, judged by the Python Jinja2
# references (fails when nativelm departs from Python where the JS library agrees with Python).
test-jinja-diff: build
	cd tests/tokenizer/js-jinja && npm ci --no-audit --no-fund --silent --ignore-scripts && \
	  NLM_BINARY="$(abspath $(BUILD))/nativelm" npm test

test: test-tokenizer-diff test-jinja-diff test-release test-ts test-asan test-arm64 test-avx512emu

bench: build
	@for b in $(BUILD)/bench/*_bench; do echo "== $$b"; $$b; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-arm64 build-avx512emu
