#!/usr/bin/env bash
# The test suite. One build with every backend that runs without special hardware (flex, the
# default, plus ndarray and wgpu), so CI compiles burn once:
#   1. the whole workspace on flex;
#   2. the library tests again on ndarray (SmolLM2 and MiniLM parity, reward training included);
#   3. the same again on wgpu (Mesa's llvmpipe software Vulkan where no GPU is present).
#   4. packaging: the rustdoc of every crate without a warning, every crate packaged, the
#      component crates rlp-losses, rlp-reward and rlp-policy-opt built alone on one backend,
#      and rlp-losses free of tokenizers and checkpoint formats.
# RLP_TEST_BACKEND picks the backend the tests build their devices on. The `mpi` feature adds
# the data-parallel tests (tests/distributed.rs: `mpirun -n 2` against one process); it needs
# Open MPI and libclang (Debian: libopenmpi-dev openmpi-bin libclang-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true
features=ndarray,wgpu,mpi
model_tests=(--lib --test decoding --test learning --test smollm2 --test minilm --test reward --test synthetic)

echo "== flex: the whole workspace"
cargo test --workspace --features "$features"

echo "== ndarray: core and model tests"
RLP_TEST_BACKEND=ndarray cargo test --workspace --features "$features" "${model_tests[@]}"

echo "== wgpu: core and model tests"
RLP_TEST_BACKEND=wgpu cargo test --workspace --features "$features" "${model_tests[@]}"

echo "== docs and packaging"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --features "$features"
cargo package --no-verify --workspace --allow-dirty
for crate in rlp-losses rlp-reward rlp-policy-opt; do
  cargo check -p "$crate" --no-default-features --features ndarray
done
# The losses build on burn and rlp-core alone: no tokenizers, no checkpoint formats.
if cargo tree -p rlp-losses --edges normal --features ndarray | grep -E "tokenizers|safetensors"; then
  echo "rlp-losses must not depend on tokenizers or safetensors" >&2
  exit 1
fi
