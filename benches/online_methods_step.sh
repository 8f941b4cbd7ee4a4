#!/usr/bin/env bash
# Wall time per step of PPO, GRPO, Dr. GRPO, RLOO and online DPO on arith, from the shipped
# configs (32 generated samples per step each), measured side by side in one run on a quiet
# machine: STEPS steps of each (default 10; seed 0), evaluation reduced to 8 prompts once at the
# end, the mean over the steps of generation + scoring + update time from metrics.jsonl.
#   bash benches/online_methods_step.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-10}"
cargo build --release --quiet
rlp=target/release/rlp
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
quick=(--set eval_prompts=8 --set drift_texts=8 --set "eval_every=$steps" --set checkpoint_every=0 --seed 0 --overwrite)
"$rlp" ppo --config configs/ppo-arith.toml --iterations "$steps" "${quick[@]}" --set final_win_rates=false --out "$out/PPO" > /dev/null 2>&1
for m in grpo:grpo dr-grpo:grpo rloo:rloo online-dpo:online-dpo; do
  "$rlp" "${m##*:}" --config "configs/${m%%:*}-arith.toml" --steps "$steps" "${quick[@]}" --out "$out/${m%%:*}" > /dev/null 2>&1
done
python3 - "$out" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
for name in ["PPO", "grpo", "dr-grpo", "rloo", "online-dpo"]:
    rows = [json.loads(l) for l in (root / name / "metrics.jsonl").read_text().splitlines() if l.strip()]
    parts = {k: sum(r[k] for r in rows) / len(rows) for k in ["time_generate", "time_score", "time_update"]}
    total = sum(parts.values())
    print(f"{name:11s} {total:.3f} s/step  (generate {parts['time_generate']:.3f}, score {parts['time_score']:.3f}, update {parts['time_update']:.3f})")
PY
