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
