# The two commands of the README, and the helpers behind them. Every target installs what it needs.
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_FLAGS := -Xswiftc -warnings-as-errors

.PHONY: demo log-demo test deps lint tsan benchmark fuzz ci

# Debian's liblz4-dev (and pkg-config, through which SwiftPM finds it) and libssl-dev (libcrypto: AES-256-GCM and
# SHA-256) when missing.
deps:
	@if ! pkg-config --exists liblz4 libcrypto 2>/dev/null; then \
		echo "installing liblz4-dev, libssl-dev and pkg-config"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev libssl-dev pkg-config >/dev/null; \
	fi

# The main job: generate 100,000 customers' year of events, ingest them durably, then stats, a customer's
# history, an erasure, a verification, a rebuild, a profile and the RFM groups (scripts/demo.sh).
# CUSTOMERS=10000 for a quicker run.
demo: deps
	swift build -c release --product crm
	bash scripts/demo.sh "$$(swift build -c release --show-bin-path)/crm"

# The storage core alone: write a log of 1,000,000 records, reopen, replay, verify, print statistics.
log-demo: deps
	swift run -c release eventlog-demo demo-log 1000000

# The tests, after a build that treats warnings as errors.
test: deps
	swift build --build-tests $(SWIFT_FLAGS) --explicit-target-dependency-import-check error
	swift test --skip-build

# Under ThreadSanitizer: the concurrency tests, the parallel rebuilds (determinism) and the snapshot writer.
tsan: deps
	swift test --sanitize=thread --scratch-path .build-tsan --filter "Concurrency|ProjectionRunnerTests|SnapshotTests|chunkedMapStreamed"

lint:
	swift format lint --strict --recursive Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources

benchmark: deps
	cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --no-progress

# libFuzzer on the batch decoder; FUZZ_SECONDS=600 for a long run (docs/fuzzing.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	cd Fuzz && swift build -c debug -Xswiftc -sanitize=fuzzer,address --product FuzzBatchDecoder
	mkdir -p Fuzz/corpus && Fuzz/.build/debug/FuzzBatchDecoder Fuzz/corpus ../fixtures/frames -max_total_time=$(FUZZ_SECONDS) -max_len=70000
