#!/usr/bin/env python3
"""LoRA adapters between Hugging Face `peft` and rlp, both ways.

    make   OUT            write a tiny random Llama (OUT/base), a PEFT LoRA adapter on it with
                          non-zero B (OUT/adapter) and both models' logits (OUT/logits.json):
                          the fixture of crates/rlp-models/tests/lora_peft.rs
    check  BASE ADAPTER MERGED
                          load ADAPTER onto BASE with peft (PeftModel.from_pretrained), load MERGED
                          (what `rlp lora merge` wrote) with plain transformers, and compare their
                          logits; exit 1 beyond 1e-3 (the SmolLM2 parity bound). With an ADAPTER that rlp wrote, this checks
                          that peft reads rlp's adapters as rlp means them.

Environment: scripts/reference/README.md's, with peft==0.13.2 (transformers==4.46.3). Run with
HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=1.
"""

import datetime
import json
import sys
from pathlib import Path

import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

TOKENS = [[1, 5, 9, 3, 30, 2, 7, 11], [4, 8, 15, 16, 23, 42, 60, 0]]


def logits(model, tokens):
    with torch.no_grad():
        ids = torch.tensor(tokens)
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float()


def make(out: Path):
    torch.manual_seed(20261207)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        initializer_range=0.1,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    base = LlamaForCausalLM(config).eval()
    base.save_pretrained(out / "base", safe_serialization=True)
    base_logits = logits(base, TOKENS)

    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        lora_dropout=0.0,
        target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora).eval()
    # PEFT starts B at zero; a fixture of the identity would test nothing.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.1)
    model.save_pretrained(out / "adapter")
    adapted_logits = logits(model, TOKENS)

    fixture = {
        "meta": {
            "made": datetime.date.today().isoformat(),
            "script": "scripts/reference/peft_lora.py make",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
        "tokens": TOKENS,
        "base_logits": base_logits.flatten().tolist(),
        "adapted_logits": adapted_logits.flatten().tolist(),
        "shape": list(adapted_logits.shape),
    }
    (out / "logits.json").write_text(json.dumps(fixture))
    diff = (adapted_logits - base_logits).abs().max().item()
    print(f"wrote {out}: the adapter moves the logits by up to {diff:.4f}")


def check(base_dir: Path, adapter_dir: Path, merged_dir: Path):
    base = AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32).eval()
    with_adapter = PeftModel.from_pretrained(base, adapter_dir).eval()
    vocab = with_adapter.config.vocab_size
    tokens = [[t % vocab for t in row] for row in TOKENS]
    ours = logits(with_adapter, tokens)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, torch_dtype=torch.float32).eval()
    theirs = logits(merged, tokens)
    diff = (ours - theirs).abs().max().item()
    print(f"peft(base + adapter) vs rlp's merged checkpoint: max |Δlogit| = {diff:.3g}")
    sys.exit(0 if diff <= 1e-3 else 1)


if __name__ == "__main__":
    torch.set_num_threads(2)
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(__doc__)
