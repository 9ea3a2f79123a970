# The project's entry points. `make test` is THE test command (README, .ci/run).
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
FUZZ_SECONDS ?= 300

.PHONY: all deps python-deps build release test interop bench fuzz clean

all: build

# System headers the SwiftPM system-library targets need: zlib (CRC32) and OpenSSL's libcrypto
# (SHA-256, HMAC). Installed with apt-get when missing, through sudo when not root.
deps:
	@missing=(); \
	[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev); \
	[ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev); \
	if [ $${#missing[@]} -gt 0 ]; then \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make deps: installing $${missing[*]} with apt-get (headers for zlib and libcrypto)"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
	fi

# boto3 and pytest drive the interop test (the official AWS SDK for Python against MockBedrock).
python-deps:
	@$(PYTHON) -c "import boto3, pytest" 2>/dev/null || { \
	  echo "make python-deps: installing boto3 and pytest with pip (for the interop test)"; \
	  $(PYTHON) -m pip install --quiet boto3 pytest; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps python-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory interop

# boto3 over every fixture, against the debug MockBedrock binary that `swift build` made.
interop: python-deps
	MOCK_BEDROCK_BIN=.build/debug/MockBedrock $(PYTHON) -m pytest -q -p no:cacheprovider Tests/Interop

bench: deps
	$(SWIFT) build -c release --product Benchmarks
	.build/release/Benchmarks codec

# libFuzzer with AddressSanitizer over the event-stream decoder, seeded with the official vectors
# and the recorded captures; bounded by FUZZ_SECONDS. Not part of `make test`.
fuzz: deps
	$(SWIFT) build -c release --package-path Fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
	mkdir -p Fuzz/corpus
	cp Tests/EventStreamTests/Resources/eventstream-vectors/encoded/*/* Fixtures/*.eventstream Fuzz/corpus/
	Fuzz/.build/release/EventStreamFuzzer Fuzz/corpus -max_total_time=$(FUZZ_SECONDS) \
	  -rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10 -print_final_stats=1

clean:
	rm -rf .build Fuzz/.build Fuzz/corpus
