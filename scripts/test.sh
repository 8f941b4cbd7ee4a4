#!/usr/bin/env bash
# The test suite: everything on flex (the default backend), then the model tests again on
# ndarray and on wgpu (Mesa's llvmpipe software Vulkan where no GPU is present).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true

echo "== flex: the whole workspace"
cargo test --workspace

echo "== ndarray + wgpu build; core and model tests on each"
cargo build --workspace --tests --features ndarray,wgpu
RLP_TEST_BACKEND=ndarray cargo test -p rlp-core -p rlp-models --features ndarray,wgpu
RLP_TEST_BACKEND=wgpu cargo test -p rlp-core -p rlp-models --features ndarray,wgpu
