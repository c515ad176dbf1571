# The two commands of the README are `make run` and `make test`; the rest serve developers.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CTEST_JOBS ?= $(JOBS)

.PHONY: help deps build build-debug build-release build-fuzz run stop demo test test-unit fuzz bench fmt lint asan tsan clean

help:
	@echo "make run      install, build (release), start a local PostgreSQL and pagohubd"
	@echo "make stop     stop what 'make run' started"
	@echo "make demo     one payment from start to finish on the local setup (starts it if needed)"
	@echo "make test     install, build (debug, fuzz), run every test tier (unit, pg, e2e, fuzz)"
	@echo "make fuzz     run the fuzz targets for FUZZ_SECONDS each (default 300)"
	@echo "make bench    build (release) and run the benchmarks with their baselines"
	@echo "make fmt      clang-format every C++ file"
	@echo "make lint     clang-tidy on C++ files changed against main"
	@echo "make asan     build with ASan+UBSan and run the tests"

deps:
	@scripts/install-deps

build-debug: deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)

build-release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# The fuzz targets (clang, libFuzzer, ASan + UBSan): only they are built in build/fuzz.
build-fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

build: build-debug

run: build-release
	@scripts/run-local start

stop:
	@scripts/run-local stop

# The local setup of `make run` (started quietly when it is not running), then scripts/demo.
demo: build-release
	@scripts/run-local start >/dev/null
	@scripts/demo

# The fuzz tier runs each target for 30 s from its seeds (tests/fuzz): a smoke run that keeps the
# targets building and catches what a short search finds; `make fuzz` searches longer.
test: build-debug build-fuzz
	ctest --preset debug -j $(CTEST_JOBS) --timeout 900
	ctest --preset fuzz -j $(CTEST_JOBS)

FUZZ_SECONDS ?= 300
fuzz: build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=0 ctest --preset fuzz -j $(CTEST_JOBS) --timeout $$(( $(FUZZ_SECONDS) + 300 ))

test-unit: build-debug
	ctest --preset debug -L unit -j $(CTEST_JOBS)

bench: build-release
	@bench/run

fmt:
	@git ls-files -- '*.cpp' '*.hpp' | xargs -r clang-format -i

# Debian 12's clang-tidy (LLVM 14) does not know -std=c++23 and, like LLVM 16, announces concepts
# at a level below what libstdc++ 12 wants before it offers <expected>; GCC builds the code, so the
# analyser is told the same language level by hand.
TIDY_ARGS := --quiet --extra-arg=-std=c++2b --extra-arg=-U__cpp_concepts \
	--extra-arg=-D__cpp_concepts=202002L --extra-arg=-Wno-unknown-warning-option

lint: build-debug
	@files=$$( { git diff --name-only origin/main... 2>/dev/null || git diff --name-only HEAD~1; } \
	          | grep -E '\.cpp$$' || true); \
	if [ -z "$$files" ]; then echo "lint: no changed C++ files"; exit 0; fi; \
	clang-tidy -p build/debug $(TIDY_ARGS) $$files

asan: deps
	cmake --preset asan-ubsan >/dev/null
	cmake --build --preset asan-ubsan -j $(JOBS)
	ctest --preset asan-ubsan -j $(CTEST_JOBS) --timeout 1800

tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(CTEST_JOBS) --timeout 1800

clean:
	rm -rf build
