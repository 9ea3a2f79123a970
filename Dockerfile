# syntax=docker/dockerfile:1
#
# One image, two programs:
#   /app/bedrock-agent-streaming   the service (the image's entrypoint; listens on $PORT, 8000)
#   /app/MockBedrock               the offline Bedrock Agent Runtime, STS and ECS credentials
#                                  endpoint (docker-compose.yml runs it with that entrypoint)
#
#   docker build -t bedrock-agent-streaming .
#
# Checked by hadolint (deploy/lint.sh); the README has the build, push and deploy steps.

# ---------------------------------------------------------------------------------------------
# Build: the official Swift image (Debian 12 "bookworm", the same release as the runtime base,
# so the system libraries the binaries were linked against are the ones they load).
FROM swift:6.3.1-bookworm AS build

# Headers and pkg-config files of the two system-library targets: CZlib (zlib1g-dev) and
# CLibCrypto (libssl-dev, for libcrypto's SHA-256 and HMAC).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libssl-dev \
        zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first, in their own layer: it is reused until Package.swift (or Package.resolved,
# copied when the build context has one) changes.
COPY Package.swift Package.resolved* ./
RUN swift package resolve

# Tests/ is copied only because the manifest names the test targets' folders; nothing of it is
# built. Fixtures/ is MockBedrock's data and ships in the runtime image.
COPY Sources ./Sources
COPY Tests ./Tests
COPY Fixtures ./Fixtures

# Release builds with the Swift runtime and Foundation linked in statically. Debug information
# is stripped (it halves the binaries); the symbol table stays, so crash backtraces keep their
# function names.
RUN swift build -c release --static-swift-stdlib --product bedrock-agent-streaming \
    && swift build -c release --static-swift-stdlib --product MockBedrock \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir -p /staging \
    && strip --strip-debug -o /staging/bedrock-agent-streaming "$bin/bedrock-agent-streaming" \
    && strip --strip-debug -o /staging/MockBedrock "$bin/MockBedrock" \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/swift-backtrace

# ---------------------------------------------------------------------------------------------
# Runtime: Debian 12 slim with only what the binaries load. `ldd` on the release binaries
# (built with --static-swift-stdlib; the service and MockBedrock link the same libraries) lists:
#   libcrypto.so.3   -> libssl3      CLibCrypto: SHA-256 and HMAC for SigV4 signing
#   libz.so.1        -> zlib1g       CZlib: the event-stream frames' CRC32
#   libxml2.so.2     -> libxml2      FoundationXML's XMLParser, which reads STS's XML answers
#                                    (AssumeRole, GetCallerIdentity); it brings libicu72 and
#                                    liblzma5 with it, which ldd lists as its dependencies
#   libstdc++.so.6, libgcc_s.so.1 -> libstdc++6, libgcc-s1   the C++ parts of the statically
#                                    linked Swift runtime and BoringSSL (already in the base)
#   libc.so.6, libm.so.6          -> libc6                   (already in the base)
# Not a library but needed at run time: ca-certificates, the trust store that swift-nio-ssl's
# bundled BoringSSL reads (/etc/ssl/certs) to verify the TLS certificates of the AWS endpoints.
FROM debian:bookworm-slim

# /run/api-keys: the mount point of the API keys volume (deploy/cloudformation.yaml); Fargate
# gives a task volume the owner and mode of the image's directory, so the init container, which
# runs as the app user, may write the file there.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates \
        libssl3 \
        libstdc++6 \
        libxml2 \
        zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && install -d -o 10001 -g 10001 -m 0700 /run/api-keys

WORKDIR /app
COPY --from=build /staging/bedrock-agent-streaming /staging/MockBedrock /staging/swift-backtrace /app/
COPY --from=build /build/Fixtures /app/Fixtures

# Defaults for running in a container; everything else is in the README's configuration table.
# SWIFT_BACKTRACE: on a crash, print every thread's backtrace to the log and exit, never wait
# for a debugger.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    MOCK_BEDROCK_FIXTURES=/app/Fixtures \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/app/swift-backtrace

# Numeric UID and GID, so that Kubernetes' runAsNonRoot and ECS can check them without /etc/passwd.
USER 10001:10001

EXPOSE 8000

# The service drains on SIGTERM: /health answers 503, streams get SHUTDOWN_GRACE_SECONDS (25 s)
# to finish. Stop with a longer timeout than that (docker stop -t 30; compose's
# stop_grace_period and ECS's stopTimeout are set to 30 s).
STOPSIGNAL SIGTERM

# The binary asks its own GET http://127.0.0.1:$PORT/health (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/app/bedrock-agent-streaming", "healthcheck"]

ENTRYPOINT ["/app/bedrock-agent-streaming"]
