#!/usr/bin/env bash
# The test command: formatting, lints, unit/property/simulation tests.
# End-to-end scenarios (netns-tests/) join here as they land.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test
echo "== keepalived differential (scripts/keepalived-diff.sh)"; scripts/keepalived-diff.sh
