#!/usr/bin/env bash
# Runs every check and test: formatting, lints, unit, golden and end-to-end
# tests (the gateway and the simulator on loopback). Needs only the Rust
# toolchain pinned in rust-toolchain.toml; Cargo.lock pins the crates.
set -euo pipefail
cd "$(dirname "$0")/.."

# On CI, reuse a build cache outside the fresh clone when the machine has one.
if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="${HOME}/.cache/switchyard-target"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
