#!/usr/bin/env bash
# Data-parallel SFT throughput: examples per second of one process against `mpirun -n 2`, in one
# run, alternating, on the same machine. Each configuration trains STEPS steps (default 40) of
# global minibatch 32 of the default fresh SFT model (4 layers, width 128) on toy-reverse; the
# rate is (steps - 1) * 32 over the wall time between the first and the last step in
# metrics.jsonl (the first step, with its set-up, is left out). Configurations:
#   1p×2t  one process, 2 threads (RAYON_NUM_THREADS=2), the usual single-process run
#   1p×1t  one process, 1 thread
#   2p×1t  mpirun -n 2, 1 thread per rank, 16 examples per rank
# ROUNDS (default 3) rounds; the median of each is printed. Needs Open MPI (mpirun) and a build
# with the mpi feature, which this script makes.
#   bash benches/data_parallel.sh [STEPS] [ROUNDS] [EXTRA rlp sft FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-40}"
rounds="${2:-3}"
shift $(( $# > 2 ? 2 : $# ))
cargo build --release --quiet --features mpi
rlp="$PWD/target/release/rlp"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(sft --data datasets/toy-reverse/train.jsonl --steps "$steps" --batch-size 32 --seed 0 "$@")
for r in $(seq "$rounds"); do
  RAYON_NUM_THREADS=2 "$rlp" "${args[@]}" --out "$out/1p2t-$r" > /dev/null 2>&1
  RAYON_NUM_THREADS=1 "$rlp" "${args[@]}" --out "$out/1p1t-$r" > /dev/null 2>&1
  mpirun -n 2 --oversubscribe -x RAYON_NUM_THREADS=1 "$rlp" "${args[@]}" --out "$out/2p1t-$r" > /dev/null 2>&1
done
python3 - "$out" "$rounds" <<'PY'
import json, pathlib, statistics, sys
root, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def rate(d):
    rows = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if l.strip()]
    return (len(rows) - 1) * 32 / (rows[-1]["wall_time"] - rows[0]["wall_time"])
base = None
for name, label in [("1p2t", "1 process × 2 threads"), ("1p1t", "1 process × 1 thread"), ("2p1t", "2 ranks × 1 thread (MPI)")]:
    rates = [rate(root / f"{name}-{r}") for r in range(1, rounds + 1)]
    med = statistics.median(rates)
    base = base or med
    print(f"{label:26s} {med:8.1f} examples/s  ({med / base:.2f}× the first)  rounds: " + ", ".join(f"{x:.1f}" for x in rates))
PY
