# Cairn: the two commands are `make run` and `make test`.
#   make build   release build into build/
#   make test    install missing packages, build, run every test (release + sanitizers + fuzz)
#   make run     build and start a local 3-node cluster (`cairn dev`) on http://127.0.0.1:8001-8003
#   make asan    sanitizer build and its tests only
#   make fuzz    libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make test-upgrade  rolling upgrade from the previous release to this build (tests/upgrade)
#   make deb     Debian packages cairn and libcairn-dev into dist/ (docs/install.md)
#   make image   OCI image archive (FROM scratch, umoci) into dist/ (docs/install.md)

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
RUN_DIR ?= $(CURDIR)/data/dev
RUN_PORT ?= 8001
RUN_PEER_PORT ?= 7001
RUN_NODES ?= 3

# ccache: hash paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: deps build test test-release asan fuzz run clean format ui-deps test-upgrade deb image

deps:
	@./scripts/deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# The console's browser test (tests/ui) needs playwright-core from the npm registry; the
# protocol front-ends' e2e suites run real client libraries from it (docs/compat.md).
ui-deps: deps
	@test -d tests/ui/node_modules/playwright-core || npm ci --prefix tests/ui --no-audit --no-fund
	@test -d tests/e2e/apollo_client/node_modules/node-apollo || npm ci --prefix tests/e2e/apollo_client --no-audit --no-fund
	@test -d tests/e2e/nacos_client/node_modules/nacos || npm ci --prefix tests/e2e/nacos_client --no-audit --no-fund

test-release: build ui-deps
	ctest --preset release -j $(JOBS)

asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS) -LE e2e

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target fuzzers
	./scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

test: test-release asan fuzz

# Builds the previous release (tests/upgrade/run.sh records which) into build-upgrade/, starts a
# 3-node cluster on it and replaces its nodes one at a time with build/cairn under write load.
# Not in `make test`: it costs a second build of the server; run it as its own CI step and
# before every release.
test-upgrade: build
	tests/upgrade/run.sh $(CURDIR)/build/cairn

# Packages and image from the release build (nothing downloaded: Debian's dpkg-dev and umoci).
deb: build
	scripts/package/deb.sh build dist

image: build
	scripts/package/image.sh build dist

run: build
	build/cairn dev --data-dir $(RUN_DIR) --nodes $(RUN_NODES) --http-port $(RUN_PORT) --peer-port $(RUN_PEER_PORT)

format:
	find src tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-debug build-asan build-fuzz build-upgrade dist
