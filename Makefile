# Thin wrapper: every target installs what is missing, configures CMake into
# build/ and builds. The real build is CMakeLists.txt.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# CI builds with warnings as errors.
ifneq ($(CI),)
CMAKE_ARGS += -DIMS_WERROR=ON
endif

BUILD_FUZZ ?= build-fuzz
BUILD_VALGRIND ?= build-valgrind
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test test-asan fuzz test-valgrind bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/iommusim run

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --output-junit junit.xml

# The whole suite (core, trace, SystemC timing model, command line) under
# AddressSanitizer + UndefinedBehaviorSanitizer; any report fails its test
# (docs/fuzzing.md says why each option is set).
IMS_ASAN_OPTIONS  ?= detect_stack_use_after_return=0:detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1
IMS_UBSAN_OPTIONS ?= halt_on_error=1:abort_on_error=1:print_stacktrace=1
test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIMS_SANITIZE=ON \
	    -DIMS_CORE_ONLY=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=$(IMS_ASAN_OPTIONS) UBSAN_OPTIONS=$(IMS_UBSAN_OPTIONS) \
	    ctest --output-on-failure -j $(JOBS) --output-junit junit.xml

# libFuzzer targets (tests/fuzz), FUZZ_SECONDS each; crashes are kept under
# $(BUILD_FUZZ)/artifacts/. Needs clang (scripts/deps.sh fuzz installs it).
fuzz:
	@bash scripts/deps.sh fuzz
	@cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_CXX_COMPILER=clang++ -DIMS_FUZZ=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

# The command-line tests with iommusim under valgrind memcheck
# (tests/memcheck.sh); not in CI (docs/fuzzing.md gives its time).
test-valgrind:
	@bash scripts/deps.sh valgrind
	@cmake -S . -B $(BUILD_VALGRIND) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_VALGRIND) -j $(JOBS)
	bash tests/memcheck.sh $(BUILD_VALGRIND) $(JOBS)

# Only the results table and plots of bench/bench_table.sh (seconds).
.PHONY: bench-table
bench-table: build
	@bash bench/bench_table.sh $(BUILD)

bench: build
	@echo "== bench/bench_table.sh"; bash bench/bench_table.sh $(BUILD)
	@for b in $(BUILD)/bench/bench_*; do [ -x "$$b" ] || continue; echo "== $$b"; $$b; done
	@echo "== bench/bench_run.sh"; bash bench/bench_run.sh $(BUILD)
	@echo "== bench/bench_cosim.sh"; bash bench/bench_cosim.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_VALGRIND)

# Regenerates every golden file (tests/golden/) in place with build/iommusim,
# then shows exactly what changed. Only for an intended change of behaviour
# (docs/testing.md); commit the new files with the change that explains them.
.PHONY: golden mutate
golden: build
	@bash scripts/golden.sh update $(BUILD)/iommusim
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	    git status --short -- tests/golden; \
	    git --no-pager diff --stat -- tests/golden; \
	    git --no-pager diff -- tests/golden; \
	fi

# Mutation testing (docs/testing.md): each mutant of MUTANTS applied alone in
# a scratch copy of the tree, built, and the test suite run. MUTATE_MATCH=REGEX
# runs the mutants whose id or file matches.
MUTANTS      ?= tests/mutants.txt
MUTATE_MATCH ?=
MUTATE_ARGS  ?=
mutate: deps
	@bash scripts/mutate.sh --list $(MUTANTS) --jobs $(JOBS) \
	    $(if $(MUTATE_MATCH),--match '$(MUTATE_MATCH)') $(MUTATE_ARGS)

# RTL lint (rtl/lint.sh, also the CTest rtl_lint): verilator --lint-only -Wall
# over rtl/ with the generated constants package and rtl/iommusim.vlt, at
# NumWalkers 1, 4 and 16; any warning fails. Waivers only in rtl/iommusim.vlt.
.PHONY: lint
lint: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) --target ims_rtl_vtd_pkg >/dev/null
	bash rtl/lint.sh $(BUILD)/rtl/iommusim_vtd_pkg.sv

# Coverage of the RTL walker (tests/cosim/coverage.sh; numbers in
# docs/rtl-verification.md): configures $(BUILD_COV) with
# -DIMS_RTL_COVERAGE=ON, runs the random co-simulation test, merges its
# counters with verilator_coverage into $(BUILD_COV)/coverage/ (annotated
# sources, summary.txt); fails if a user cover point has 0 hits.
# COVERAGE_ARGS: test_cosim_random arguments (default: as CTest runs it).
BUILD_COV     ?= build-cov
COVERAGE_ARGS ?=
.PHONY: coverage
coverage: deps
	CMAKE_ARGS="$(CMAKE_ARGS)" bash tests/cosim/coverage.sh $(BUILD_COV) $(JOBS) $(COVERAGE_ARGS)
