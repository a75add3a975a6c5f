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

.PHONY: all deps build run test test-asan bench clean

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

# The C core and its tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIMS_SANITIZE=ON \
	    -DIMS_CORE_ONLY=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS) --output-junit junit.xml

bench: build
	@for b in $(BUILD)/bench/bench_*; do [ -x "$$b" ] || continue; echo "== $$b"; $$b; done
	@echo "== bench/bench_run.sh"; bash bench/bench_run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)

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
