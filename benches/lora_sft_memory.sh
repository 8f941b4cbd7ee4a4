#!/usr/bin/env bash
# Step time and peak RSS of one SFT step of SmolLM2-135M-Instruct at batch 4 × 256 tokens: rlp
# (full fine-tuning and LoRA r=16 on all seven linear maps, each with and without burn's
# gradient checkpointing) beside PyTorch + peft doing the same step (with and without
# transformers' layer checkpointing), each configuration in its own process. The model is the
# one `rlp fetch smollm2` + `rlp import gguf` produce (MODEL, default ~/.cache/rlp/smollm2/hf);
# the 4 examples are cut from the arith drift corpus to 128 prompt + 127 response tokens. Last,
# rlp's QLoRA (4-bit base) alone: peft's QLoRA needs bitsandbytes, which needs CUDA.
#   bash benches/lora_sft_memory.sh [MODEL] [PYTHON]
# PYTHON needs torch, transformers and peft (scripts/reference/README.md's venv).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-$HOME/.cache/rlp/smollm2/hf}"
py="${2:-/opt/refvenv/bin/python}"
steps=4
cargo build --release --quiet
rlp=target/release/rlp
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$py" - "$model" "$out/data.jsonl" <<'PY'
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(f"{sys.argv[1]}/tokenizer.json")
text = " ".join(json.loads(l)["text"] for l in open("datasets/arith/drift.jsonl"))
ids = tok.encode(text).ids
rows = []
for i in range(4):
    chunk = ids[i * 255:(i + 1) * 255]
    prompt, response = tok.decode(chunk[:128]), tok.decode(chunk[128:])
    rows.append({"prompt": prompt, "response": response})
with open(sys.argv[2], "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
PY
for mode in full lora; do
  for ck in "" ckpt; do
    flags=()
    [ "$mode" = lora ] && flags+=(--lora-rank 16 --lora-alpha 32)
    [ -n "$ck" ] && flags+=(--grad-checkpointing)
    run="$out/rlp-$mode$ck"
    /usr/bin/time -f "%M" -o "$out/rss" "$rlp" sft --init "$model" --data "$out/data.jsonl" \
      --out "$run" --steps "$steps" --batch-size 4 --max-len 300 --lr 2e-4 "${flags[@]}" > /dev/null 2>&1
    python3 - "$run/metrics.jsonl" "$(cat "$out/rss")" "$mode" "${ck:-}" <<'PY'
import json, statistics, sys
walls = [json.loads(l)["wall_time"] for l in open(sys.argv[1])]
steps = [b - a for a, b in zip(walls, walls[1:])]
print(json.dumps({"impl": "rlp", "mode": sys.argv[3], "checkpointing": sys.argv[4] == "ckpt",
                  "seconds_per_step": statistics.median(steps),
                  "peak_rss_mib": int(sys.argv[2]) / 1024}))
PY
    "$py" benches/pytorch/lora_sft_step.py "$model" "$out/data.jsonl" "$mode" $ck "$steps"
  done
done
run="$out/rlp-qlora"
/usr/bin/time -f "%M" -o "$out/rss" "$rlp" sft --init "$model" --data "$out/data.jsonl" \
  --out "$run" --steps "$steps" --batch-size 4 --max-len 300 --lr 2e-4 \
  --lora-rank 16 --lora-alpha 32 --lora-quantize q4 > /dev/null 2>&1
python3 - "$run/metrics.jsonl" "$(cat "$out/rss")" <<'PY'
import json, statistics, sys
walls = [json.loads(l)["wall_time"] for l in open(sys.argv[1])]
steps = [b - a for a, b in zip(walls, walls[1:])]
print(json.dumps({"impl": "rlp", "mode": "qlora-q4", "checkpointing": False,
                  "seconds_per_step": statistics.median(steps),
                  "peak_rss_mib": int(sys.argv[2]) / 1024}))
PY
