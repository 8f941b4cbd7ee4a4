#!/usr/bin/env bash
# Data-parallel throughput: one process against `mpirun -n 2`, in one run, alternating, on the
# same machine. Configurations:
#   1p×2t  one process, 2 threads (RAYON_NUM_THREADS=2), the usual single-process run
#   1p×1t  one process, 1 thread
#   2p×1t  mpirun -n 2, 1 thread per rank
#   2d×2t  --devices flex,flex: 2 ranks as threads of one process sharing 2 pool threads
# Workloads (the first argument):
#   sft   STEPS steps (default 40) of global minibatch 32 of the default fresh SFT model
#         (4 layers, width 128) on toy-reverse; the rate is examples per second, (steps − 1) · 32
#         over the wall time between the first and the last step in metrics.jsonl (the first
#         step, with its set-up, is left out). Extra flags go to `rlp sft`.
#   grpo  STEPS steps (default 6) of configs/grpo-arith.toml (4 prompts × 8 completions per
#         step), evaluation cut to 8 prompts; the rate is generation steps per second, measured
#         the same way.
# ROUNDS (default 3) rounds; the median of each configuration is printed. Needs Open MPI
# (mpirun) and a build with the mpi feature, which this script makes.
#   bash benches/data_parallel.sh [sft|grpo] [STEPS] [ROUNDS] [EXTRA rlp FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-sft}"
case "$mode" in
  sft) steps="${2:-40}"; per_step=32 ;;
  grpo) steps="${2:-6}"; per_step=1 ;;
  *) echo "unknown workload $mode (sft or grpo)" >&2; exit 2 ;;
esac
rounds="${3:-3}"
shift $(( $# > 3 ? 3 : $# ))
cargo build --release --quiet --features mpi
rlp="$PWD/target/release/rlp"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ "$mode" = sft ]; then
  args=(sft --data datasets/toy-reverse/train.jsonl --steps "$steps" --batch-size 32 --seed 0 "$@")
else
  args=(grpo --config configs/grpo-arith.toml --steps "$steps" --seed 0 --set eval_prompts=8
        --set drift_texts=8 --set "eval_every=$steps" --set checkpoint_every=0 "$@")
fi
for r in $(seq "$rounds"); do
  RAYON_NUM_THREADS=2 "$rlp" "${args[@]}" --out "$out/1p2t-$r" > /dev/null 2>&1
  RAYON_NUM_THREADS=1 "$rlp" "${args[@]}" --out "$out/1p1t-$r" > /dev/null 2>&1
  mpirun -n 2 --oversubscribe -x RAYON_NUM_THREADS=1 "$rlp" "${args[@]}" --out "$out/2p1t-$r" > /dev/null 2>&1
  RAYON_NUM_THREADS=2 "$rlp" "${args[@]}" --devices flex,flex --out "$out/2d2t-$r" > /dev/null 2>&1
done
python3 - "$out" "$rounds" "$per_step" "$mode" <<'PY'
import json, pathlib, statistics, sys
root, rounds, per_step, mode = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
unit = "examples/s" if mode == "sft" else "steps/s"
def rate(d):
    rows = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if l.strip()]
    return (len(rows) - 1) * per_step / (rows[-1]["wall_time"] - rows[0]["wall_time"])
base = None
for name, label in [("1p2t", "1 process × 2 threads"), ("1p1t", "1 process × 1 thread"), ("2p1t", "2 ranks × 1 thread (MPI)"), ("2d2t", "--devices flex,flex")]:
    rates = [rate(root / f"{name}-{r}") for r in range(1, rounds + 1)]
    med = statistics.median(rates)
    base = base or med
    print(f"{label:26s} {med:8.3f} {unit}  ({med / base:.2f}× the first)  rounds: " + ", ".join(f"{x:.3f}" for x in rates))
PY
