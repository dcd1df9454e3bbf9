# Thin entry points; the build itself is CMake (CMakePresets.json).
#   make demo    install deps, build release, run the main job: the server + a live replay
#                through its HTTP API (scripts/demo.sh; DATASET=kind:path to change the stream)
#   make demo-offline  the offline evaluation of the baselines (HTML report in out/demo/)
#   make test    install deps, build the asan preset, run the whole test suite (ctest)
#   make build   install deps, build release: build/release/bin/flywheel
#   make format  clang-format all sources in place
#   make tidy    clang-tidy 14 over all non-test sources (scripts/tidy.py; clean results cached,
#                their hashes written to .ci/tidy-clean.txt: commit it)
#   make tsa     clang 14 build with -Wthread-safety -Werror: the clang-fuzz preset (libraries,
#                tests and fuzz targets, with ASan + UBSan + libFuzzer instrumentation)
#   make fuzz    build the clang-fuzz preset's fuzz targets and run each for FUZZ_SECONDS (60)
#                on a copy of its corpus (scripts/fuzz.sh, doc/fuzzing.md); a crash fails
#   make fuzz-merge  minimise what `make fuzz` found into the seed corpora fuzz/corpus/
JOBS ?= $(shell nproc)

.PHONY: deps build demo demo-offline test format check-format tidy tsan tsa fuzz fuzz-merge clean

deps:
	@./scripts/install_deps.sh

build: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS) --target flywheel

demo: build
	DATASET="$(DATASET)" MODELS="$(MODELS)" ./scripts/demo.sh

demo-offline: build
	./build/release/bin/flywheel demo

test: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan

tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan

tsa: deps
	cmake --preset clang-fuzz
	cmake --build --preset clang-fuzz -j $(JOBS)

FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

fuzz-merge:
	./scripts/fuzz.sh --merge

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

check-format:
	git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

tidy: build
	python3 scripts/tidy.py --build-dir build/release --jobs $(JOBS) --write-known

clean:
	rm -rf build out
