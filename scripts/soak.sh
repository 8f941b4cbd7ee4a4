#!/usr/bin/env bash
# The soak test of resume (docs/reliability.md): PPO on the synthetic task for ITERATIONS
# iterations (default 1000) with a checkpoint every 10, once without interruption (its resident
# memory sampled every 0.2 s) and once killed with SIGKILL at KILLS random moments (default 20;
# 0.2–2 s apart, so some kills land during a save) and resumed each time with --resume. Prints
# whether the final weights of the two runs are byte-identical, the kills that landed, and the
# RSS of the uninterrupted run at 10% / 50% / 100% of its iterations.
#   bash scripts/soak.sh [ITERATIONS] [KILLS]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-1000}"
kills="${2:-20}"
cargo build --release --quiet
rlp="$PWD/target/release/rlp"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cat > "$dir/soak.toml" <<TOML
task = "synthetic"
reward = "gold"
iterations = $iterations
eval_every = $iterations
eval_prompts = 8
drift_texts = 8
checkpoint_every = 10
final_win_rates = false
seed = 7
[ppo]
rollout_batch_size = 16
mini_batch_size = 8
ppo_epochs = 2
lr = 1e-4
max_new_tokens = 12
seed = 7
[eval]
max_new_tokens = 12
TOML

# 1. Uninterrupted, with RSS samples "iterations-done rss-kB".
"$rlp" ppo --config "$dir/soak.toml" --out "$dir/whole" > /dev/null 2>&1 &
pid=$!
while kill -0 "$pid" 2> /dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
  done_its=0
  [ -f "$dir/whole/metrics.jsonl" ] && done_its=$(wc -l < "$dir/whole/metrics.jsonl")
  [ -n "$rss" ] && echo "$done_its $rss" >> "$dir/rss.txt"
  sleep 0.2
done
wait "$pid"

# 2. Killed KILLS times, resumed each time.
landed=0
for k in $(seq 1 "$kills"); do
  resume=()
  [ -d "$dir/killed" ] && resume=(--resume)
  "$rlp" ppo --config "$dir/soak.toml" --out "$dir/killed" "${resume[@]}" > "$dir/log.txt" 2>&1 &
  pid=$!
  sleep "$(python3 -c "import random; random.seed($k); print(round(random.uniform(0.2, 2.0), 2))")"
  if kill -9 "$pid" 2> /dev/null; then landed=$((landed + 1)); fi
  wait "$pid" 2> /dev/null || true
done
"$rlp" ppo --config "$dir/soak.toml" --out "$dir/killed" --resume > /dev/null 2>&1

if cmp -s "$dir/whole/policy/model.safetensors" "$dir/killed/policy/model.safetensors"; then
  same="byte-identical"
else
  same="DIFFERENT"
fi
echo "soak: $iterations iterations; $landed of $kills SIGKILLs landed before the run finished; final weights $same"
python3 - "$dir/rss.txt" "$iterations" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
def at(frac):
    target = frac * n
    best = min(rows, key=lambda r: abs(r[0] - target))
    return best
for frac in (0.1, 0.5, 1.0):
    its, kb = at(frac)
    print(f"RSS after {its} iterations: {kb / 1024:.1f} MiB")
print(f"RSS max {max(r[1] for r in rows) / 1024:.1f} MiB over {len(rows)} samples")
PY
