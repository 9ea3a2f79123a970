# The project's entry points. `make test` is THE test command (README, .ci/run).
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
FUZZ_SECONDS ?= 300

.PHONY: all deps python-deps contract-deps node-deps browser-deps build release test interop hardening end-to-end contract soak soak-smoke web-client lint client-types format dev run bench fuzz clean

all: build

# Installs the Debian packages of the shell array `missing` with apt-get (through sudo when not
# root) and says so; $(1) says what they are for.
define apt_install_missing
if [ $${#missing[@]} -gt 0 ]; then \
  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
  echo "make $@: installing $${missing[*]} with apt-get ($(1))"; \
  $$sudo apt-get update -qq && \
  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
fi
endef

# System headers the SwiftPM system-library targets need: zlib (CRC32) and OpenSSL's libcrypto
# (SHA-256, HMAC). Installed with apt-get when missing, through sudo when not root.
deps:
	@missing=(); \
	[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev); \
	[ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev); \
	$(call apt_install_missing,headers for zlib and libcrypto)

# boto3 and pytest drive the interop test (the official AWS SDK for Python against MockBedrock);
# PyJWT and cryptography forge tokens for the access-control tests in Tests/Hardening;
# opentelemetry-proto decodes the spans the service exports, in Tests/EndToEnd's OTLP receiver.
python-deps:
	@$(PYTHON) -c "import boto3, pytest, jwt, cryptography, opentelemetry.proto" 2>/dev/null || { \
	  echo "make python-deps: installing boto3, pytest, pyjwt, cryptography and opentelemetry-proto with pip (for the interop, hardening and end-to-end tests)"; \
	  $(PYTHON) -m pip install --quiet boto3 pytest pyjwt cryptography opentelemetry-proto; }

# schemathesis (it fuzzes the API from its OpenAPI document), openapi-spec-validator and
# jsonschema, for Tests/Contract.
contract-deps: python-deps
	@$(PYTHON) -c "import schemathesis, openapi_spec_validator, jsonschema, referencing" 2>/dev/null || { \
	  echo "make contract-deps: installing schemathesis and openapi-spec-validator with pip (for the contract tests)"; \
	  $(PYTHON) -m pip install --quiet schemathesis openapi-spec-validator; }

# Node (the client library's tests) and TypeScript's tsc (it checks the library's JSDoc types and
# writes its .d.ts), from Debian's packages when missing.
node-deps:
	@missing=(); \
	command -v node >/dev/null || missing+=(nodejs); \
	command -v tsc >/dev/null || missing+=(node-typescript); \
	$(call apt_install_missing,the browser client's tests and type checks)

# Headless Chromium and its driver from Debian's packages, and Selenium from PyPI, when missing.
browser-deps: node-deps python-deps
	@missing=(); \
	command -v chromium >/dev/null || missing+=(chromium); \
	command -v chromedriver >/dev/null || missing+=(chromium-driver); \
	fc-list 2>/dev/null | grep -q . || missing+=(fonts-liberation); \
	$(call apt_install_missing,the playground's tests in a real browser)
	@$(PYTHON) -c "import selenium" 2>/dev/null || { \
	  echo "make browser-deps: installing selenium with pip (it drives chromium-driver)"; \
	  $(PYTHON) -m pip install --quiet selenium; }

build: deps
	$(SWIFT) build

# The two release binaries, as the Dockerfile builds them, with their sizes.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product bedrock-agent-streaming
	$(SWIFT) build -c release --static-swift-stdlib --product MockBedrock
	@ls -l .build/release/bedrock-agent-streaming .build/release/MockBedrock | awk '{printf "%s: %.1f MB\n", $$9, $$5 / 1e6}'

test: deps python-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory interop
	$(MAKE) --no-print-directory hardening
	$(MAKE) --no-print-directory end-to-end
	$(MAKE) --no-print-directory contract
	$(MAKE) --no-print-directory soak-smoke
	$(MAKE) --no-print-directory web-client
	$(MAKE) --no-print-directory lint
	@echo "Load generator smoke run (debug binaries, a few checked streams; not a measurement):"
	.build/debug/Benchmarks load --smoke --binaries .build/debug --output .build/bench-smoke.json

# boto3 over every fixture, against the debug MockBedrock binary that `swift build` made.
interop: python-deps
	MOCK_BEDROCK_BIN=.build/debug/MockBedrock $(PYTHON) -m pytest -q -p no:cacheprovider Tests/Interop

# Hostile clients (raw sockets: slow, silent, stalled, malformed, too many) against the debug
# service and MockBedrock binaries that `swift build` made.
hardening: python-deps
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug $(PYTHON) -m pytest -q -p no:cacheprovider Tests/Hardening

# The frontends' protocols (SSE, the AI SDK UI message stream) against the debug service and
# MockBedrock binaries, parsed and checked by the test suite's own SSE parser.
end-to-end: python-deps
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug $(PYTHON) -m pytest -q -p no:cacheprovider Tests/EndToEnd

# The published contract: GET /openapi.json validated, fuzzed by schemathesis (fixed seed, bounded)
# and held to the statuses, codes and lines the debug service and MockBedrock binaries produce.
contract: contract-deps
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug $(PYTHON) -m pytest -q -p no:cacheprovider Tests/Contract

# Reliability under faults and load (Tests/Soak/soak.py): a steady mixed load with every fault,
# hostile clients, MockBedrock killed and restarted, credentials expiring, SIGTERM with streams in
# flight; prints the figures and writes RELIABILITY.md. SOAK_SECONDS long (default 180).
SOAK_SECONDS ?= 180
soak: build python-deps
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug $(PYTHON) Tests/Soak/soak.py --duration $(SOAK_SECONDS) --report RELIABILITY.md

# The same, 20 seconds, for make test: it fails on any violation, crash, leak or cut stream.
soak-smoke: python-deps
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug $(PYTHON) Tests/Soak/soak.py --smoke

# The browser client library under Node's test runner, then the playground in headless Chromium
# (screenshots in .build/screenshots), against the debug service and MockBedrock binaries.
web-client: browser-deps
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug node --test Tests/WebClient/
	SERVICE_BIN_DIR=$(CURDIR)/.build/debug $(PYTHON) -m pytest -q -p no:cacheprovider Tests/WebClient

# The Swift sources against .swift-format (swift-format, in the toolchain); the client library's
# JSDoc types checked by tsc, and its .d.ts as tsc writes it; then the deployment files, checked
# offline: hadolint, docker compose config, cfn-lint, botocore.
SWIFT_SOURCES = Sources Tests Fuzz/Sources Package.swift Fuzz/Package.swift
CLIENT = Sources/BrowserClient/agent-stream
TSC_FLAGS = --allowJs --strict --target es2022 --module es2022 --lib es2022,dom
CLIENT_TYPES_HEADER = // Generated from agent-stream.js by `make client-types` (tsc); do not edit.
lint: node-deps
	$(SWIFT) format lint --strict --recursive $(SWIFT_SOURCES)
	tsc $(TSC_FLAGS) --checkJs --noEmit $(CLIENT).js
	@tsc $(TSC_FLAGS) --declaration --emitDeclarationOnly --outDir .build/client-types $(CLIENT).js && \
	  { echo '$(CLIENT_TYPES_HEADER)'; cat .build/client-types/agent-stream.d.ts; } | diff -u $(CLIENT).d.ts - \
	  && echo "$(CLIENT).d.ts is what tsc writes from the JSDoc" \
	  || { echo "$(CLIENT).d.ts is out of date: run make client-types"; exit 1; }
	bash deploy/lint.sh

# Writes the client library's .d.ts from its JSDoc.
client-types: node-deps
	tsc $(TSC_FLAGS) --declaration --emitDeclarationOnly --outDir .build/client-types $(CLIENT).js
	{ echo '$(CLIENT_TYPES_HEADER)'; cat .build/client-types/agent-stream.d.ts; } > $(CLIENT).d.ts

# Rewrites the Swift sources in the project's style.
format:
	$(SWIFT) format --in-place --recursive $(SWIFT_SOURCES)

# MockBedrock and the service wired to it, as `docker compose up` does, without Docker.
DEV_ENV = AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=AKIDMOCKBEDROCK AWS_SECRET_ACCESS_KEY=mock-bedrock-secret AWS_EC2_METADATA_DISABLED=true
# Ctrl-C stops both programs (each exits 0 on SIGINT) and ends without an error from make.
# `make dev AUTH_MODE=jwt` puts the service behind MockBedrock's OIDC issuer (/oidc) and prints
# the curl that gets a token; AUTH_MODE=api_key makes a key (Fixtures are not touched: the file
# is .build/dev-api-keys.json).
AUTH_MODE ?= none
DEV_AUTH_ENV_none =
DEV_AUTH_ENV_jwt = AUTH_MODE=jwt JWT_ISSUER=http://127.0.0.1:4566/oidc JWT_AUDIENCE=mock-client JWT_FORWARD_CLAIMS=email
DEV_AUTH_ENV_api_key = AUTH_MODE=api_key API_KEYS_FILE=.build/dev-api-keys.json
DEV_BODY = '{\"input_text\": \"Hello\", \"agent_id\": \"HELLO\"}'
dev: build
	@case "$(AUTH_MODE)" in none|jwt|api_key) ;; *) echo "make dev: AUTH_MODE must be none, jwt or api_key"; exit 2;; esac; \
	if [ "$(AUTH_MODE)" = api_key ]; then \
	  .build/debug/bedrock-agent-streaming new-api-key --id dev > .build/dev-api-key.txt; \
	  key=$$(sed -n 2p .build/dev-api-key.txt | tr -d ' '); \
	  echo "{\"keys\": [$$(sed -n 4p .build/dev-api-key.txt | tr -d ' ')]}" > .build/dev-api-keys.json; \
	fi; \
	MOCK_BEDROCK_ACCESS_KEY_ID=AKIDMOCKBEDROCK MOCK_BEDROCK_SECRET_ACCESS_KEY=mock-bedrock-secret \
	  .build/debug/MockBedrock & mock=$$!; \
	$(DEV_ENV) $(DEV_AUTH_ENV_$(AUTH_MODE)) .build/debug/bedrock-agent-streaming & service=$$!; \
	trap 'kill -INT $$mock $$service 2>/dev/null; wait; exit 0' INT TERM; \
	sleep 1; \
	echo; echo "Streaming from the mock agent HELLO (AUTH_MODE=$(AUTH_MODE)):"; \
	case "$(AUTH_MODE)" in \
	  none) echo "  curl -N -X POST http://localhost:8000/api/agent/stream -H 'Content-Type: application/json' -d $(DEV_BODY)";; \
	  jwt) echo "  TOKEN=\$$(curl -s -X POST http://127.0.0.1:4566/oidc/token -d 'grant_type=client_credentials&sub=dev-user&audience=mock-client&email=dev@example.com' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"; \
	       echo "  curl -N -X POST http://localhost:8000/api/agent/stream -H \"Authorization: Bearer \$$TOKEN\" -H 'Content-Type: application/json' -d $(DEV_BODY)";; \
	  api_key) echo "  curl -N -X POST http://localhost:8000/api/agent/stream -H \"X-API-Key: $$key\" -H 'Content-Type: application/json' -d $(DEV_BODY)";; \
	esac; \
	echo "The playground, in a browser: http://localhost:8000/playground?agent_id=HELLO"; \
	echo "Stop with Ctrl-C."; echo; \
	wait

# The service alone, for real AWS: credentials and region come from the usual AWS sources.
run: build
	.build/debug/bedrock-agent-streaming

# Release binaries, then the codec's throughput and the load matrix (BENCHMARKS.md).
bench: deps
	$(SWIFT) build -c release --product Benchmarks
	$(SWIFT) build -c release --product bedrock-agent-streaming
	$(SWIFT) build -c release --product MockBedrock
	.build/release/Benchmarks codec
	.build/release/Benchmarks signing
	.build/release/Benchmarks request-parsing
	.build/release/Benchmarks auth
	.build/release/Benchmarks formats
	.build/release/Benchmarks observability
	.build/release/Benchmarks load --output bench-results.json

# libFuzzer with AddressSanitizer, each for FUZZ_SECONDS: the event-stream decoder (seeded with the
# official vectors and the recorded captures), the strict JSON parser and the request validation
# (JSON body to StreamRequest, both routes, seeded with API and chat requests and given the API's
# field names), and the SSE parser of the AgentCore backend. Not part of `make test`. Swift's
# backtracer is off, so that a failed property is reported by libFuzzer, with the input saved.
FUZZ_FLAGS = -rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10 -print_final_stats=1
FUZZ_RUN = SWIFT_BACKTRACE=enable=no
fuzz: deps
	$(SWIFT) build -c release --package-path Fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
	mkdir -p Fuzz/corpus/eventstream Fuzz/corpus/requests Fuzz/corpus/validated Fuzz/corpus/sse
	cp Tests/EventStreamTests/Resources/eventstream-vectors/encoded/*/* Fixtures/*.eventstream Fuzz/corpus/eventstream/
	cp Fuzz/Seeds/requests/* Fuzz/corpus/requests/
	cp Fuzz/Seeds/requests/* Fuzz/corpus/validated/
	cp Fuzz/Seeds/sse/* Fuzz/corpus/sse/
	$(FUZZ_RUN) Fuzz/.build/release/EventStreamFuzzer Fuzz/corpus/eventstream -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS)
	$(FUZZ_RUN) Fuzz/.build/release/RequestParserFuzzer Fuzz/corpus/requests -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -dict=Fuzz/Seeds/requests.dict $(FUZZ_FLAGS)
	$(FUZZ_RUN) Fuzz/.build/release/ValidatedRequestFuzzer Fuzz/corpus/validated -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -dict=Fuzz/Seeds/requests.dict $(FUZZ_FLAGS)
	$(FUZZ_RUN) Fuzz/.build/release/ServerSentEventFuzzer Fuzz/corpus/sse -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(FUZZ_FLAGS)

clean:
	rm -rf .build Fuzz/.build Fuzz/corpus
