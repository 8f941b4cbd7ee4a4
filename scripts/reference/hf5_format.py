#!/usr/bin/env python3
"""Hugging Face format fidelity with transformers 5, both ways.

    make   OUT    a tiny random Llama with RoPE θ = 500000, saved by transformers 5
                  (config.json with `rope_parameters` and `dtype`, no top-level `rope_theta`),
                  and its logits on one 16-token row (OUT/logits.json): the fixture of
                  crates/rlp-models/tests/hf5_format.rs
    check  DIR [PROMPT]
                  load a directory rlp wrote with AutoTokenizer and AutoModelForCausalLM:
                  the tokenizer must have eos and pad tokens and pad a batch on the left, the
                  weights must have the dtype config.json names; prints the greedy
                  continuation of PROMPT (8 tokens) to compare with `rlp generate`

Environment: a venv with torch==2.9.0 (CPU wheel) and transformers==5.25.0:

    python3 -m venv /opt/tf5venv
    /opt/tf5venv/bin/pip install torch==2.9.0 --index-url https://download.pytorch.org/whl/cpu
    /opt/tf5venv/bin/pip install transformers==5.25.0
"""

import datetime
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

TOKENS = [[1, 5, 9, 3, 30, 2, 7, 11, 40, 41, 12, 63, 8, 8, 19, 50]]


def make(out: Path):
    torch.manual_seed(500000)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        tie_word_embeddings=False,
        initializer_range=0.1,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(out / "model")
    with torch.no_grad():
        ids = torch.tensor(TOKENS)
        logits = model(input_ids=ids).logits.float()
    written = json.loads((out / "model" / "config.json").read_text())
    fixture = {
        "meta": {
            "made": datetime.date.today().isoformat(),
            "script": "scripts/reference/hf5_format.py make",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "tokens": TOKENS,
        "logits": logits.flatten().tolist(),
        "shape": list(logits.shape),
    }
    (out / "logits.json").write_text(json.dumps(fixture))
    print(f"wrote {out}: config keys {sorted(written)}")


def check(d: Path, prompt: str):
    tok = AutoTokenizer.from_pretrained(d)
    assert tok.eos_token is not None, "no eos token"
    assert tok.pad_token is not None, "no pad token"
    batch = tok(["a", prompt], padding=True, return_tensors="pt")
    assert tok.padding_side == "left", tok.padding_side
    assert batch["attention_mask"][0, 0] == 0, "the short row is not padded on the left"
    config = json.loads((d / "config.json").read_text())
    named = config.get("dtype") or config.get("torch_dtype")
    model = AutoModelForCausalLM.from_pretrained(d, dtype="auto").eval()
    got = str(next(model.parameters()).dtype).removeprefix("torch.")
    assert got == named, f"config.json names {named}, the weights load as {got}"
    model = model.float()
    ids = tok(prompt, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    text = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=False)
    print(f"eos {tok.eos_token!r}, pad {tok.pad_token!r}, padding left, dtype {got}")
    print(f"greedy: {text!r}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "check":
        check(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) == 4 else "reverse: a b c =>")
    else:
        sys.exit(__doc__)
