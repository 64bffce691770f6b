#!/usr/bin/env bash
# Runs Shears' test suite: installs dependencies, fetches the default model, builds in release
# and runs every test (unit tests on tiny generated models, real-model and reference-data tests).
# Under CI (CI=true) missing reference data fails the run instead of skipping those tests.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/install-deps.sh --test
SHEARS_MODEL="$(Scripts/fetch-model.sh | tail -n 1)"
export SHEARS_MODEL
# shellcheck source=lib/blas-env.sh
source Scripts/lib/blas-env.sh
if [ "${CI:-}" = "true" ]; then
    export SHEARS_REQUIRE_REFERENCE=1
fi

# The tree must be as swift-format (configured by .swift-format) leaves it; to fix it:
# swift format format --in-place --recursive --parallel Sources Tests Plugins Package.swift
swift format lint --strict --recursive --parallel Sources Tests Plugins Package.swift
swift build -c release --build-tests
swift test -c release --skip-build "$@"
