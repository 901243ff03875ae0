#!/usr/bin/env bash
# Benchmark the gateway against the provider simulator, same machine, one run.
# Usage: scripts/bench.sh [--duration-secs N] [--out FILE.md] [--switchyard PATH] [--threads N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p switchyard-cli -p switchyard-bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/switchyard-bench" "$@"
