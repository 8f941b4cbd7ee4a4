#!/usr/bin/env python3
"""SmolLM2-135M-Instruct generation, rlp (flex, KV cache) beside transformers' `generate`.

    HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=1 /opt/refvenv/bin/python benches/smollm2_generate.py [repeats]

Both sides load the same Q4_1 GGUF dequantized to f32 (rlp through `rlp import gguf`,
transformers through its GGUF loader), encode the same 8 ChatML prompts (the Rust side renders
them and prints them for this script), and generate greedily
with the KV cache and exactly N new tokens (no early stop), batch 1 and 8, on 2 CPU threads.
N = 1 times the prefill; N = 64 is the workload. Reported: median seconds per call and new
tokens/s. The Rust side is `benches/src/bin/smollm2_generate.rs`, built in release here.
Environment: scripts/reference/README.md.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import transformers
import transformers.generation.utils as generation_utils
from transformers import AutoModelForCausalLM, AutoTokenizer

# Debian's torch 1.13.1 cannot import torch.distributed.fsdp under Python 3.11, which
# `generate` probes for; nothing here is sharded.
generation_utils.is_fsdp_managed_module = lambda module: False

BENCHES = Path(__file__).resolve().parent


def rust(repeats):
    subprocess.run(["cargo", "build", "--release", "--bin", "smollm2_generate"], cwd=BENCHES,
                   check=True)
    out = subprocess.run([str(BENCHES / "target/release/smollm2_generate"), "flex", str(repeats)],
                         cwd=BENCHES, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return lines[0]["prompts"], lines[1:]


def torch_side(prompts, repeats):
    torch.set_num_threads(2)
    gguf = Path(os.environ.get("RLP_CACHE", Path.home() / ".cache/rlp")) / "smollm2"
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(gguf, gguf_file=name)
    tok.padding_side = "left"
    tok.pad_token = "<|endoftext|>"  # id 0, what rlp pads with
    model = AutoModelForCausalLM.from_pretrained(gguf, gguf_file=name, torch_dtype=torch.float32)
    model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    rows = []
    for batch in (1, 8):
        enc = tok(prompts[:batch], add_special_tokens=False,
                  return_tensors="pt", padding=True)
        for new in (1, 64):
            kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, use_cache=True,
                      pad_token_id=0)
            with torch.no_grad():
                model.generate(**enc, **kw)
                times = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    out = model.generate(**enc, **kw)
                    times.append(time.perf_counter() - t)
            assert out.shape[1] == enc["input_ids"].shape[1] + new
            s = statistics.median(times)
            rows.append({"impl": f"transformers-{transformers.__version__}/torch-{torch.__version__}",
                         "batch": batch, "new_tokens": new, "seconds": round(s, 4),
                         "tokens_per_s": round(batch * new / s, 1)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    prompts, ours = rust(repeats)
    ref = torch_side(prompts, repeats)
    print(f"{'batch':>5} {'new':>4} {'rlp flex s':>11} {'transformers s':>15} {'speed-up':>9} {'rlp tok/s':>10}")
    for a in ours:
        b = next(r for r in ref if r["batch"] == a["batch"] and r["new_tokens"] == a["new_tokens"])
        print(f"{a['batch']:>5} {a['new_tokens']:>4} {a['seconds']:>11.3f} {b['seconds']:>15.3f} "
              f"{b['seconds'] / a['seconds']:>8.2f}x {a['tokens_per_s']:>10.1f}")


if __name__ == "__main__":
    main()
