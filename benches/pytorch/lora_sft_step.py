"""One SFT step of a Hugging Face checkpoint in PyTorch + peft, beside `rlp sft` on the same data
(benches/lora_sft_memory.sh runs both).

    python benches/pytorch/lora_sft_step.py MODEL_DIR DATA.jsonl full|lora [ckpt] [steps]

Loads MODEL_DIR (config.json, model.safetensors, tokenizer.json) in float32, trains on the
prompt/response pairs of DATA.jsonl (all of them per step, padded on the right to the longest;
loss on the response tokens and the appended eos only, as rlp's SFT does) with AdamW (lr 2e-4,
grad-norm clip 1). `lora`: peft LoRA r=16, alpha=32 on q,k,v,o,gate,up,down; `full`: every weight.
`ckpt`: transformers' gradient checkpointing (torch.utils.checkpoint per decoder layer). Prints
one JSON line: seconds per step (median over the steps after the first) and the process's
peak RSS in MiB. 2 threads. Written for this project (no code copied); needs torch, transformers,
peft.
"""
import json
import resource
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

torch.set_num_threads(2)
torch.manual_seed(0)
model_dir, data, mode = sys.argv[1], sys.argv[2], sys.argv[3]
ckpt = "ckpt" in sys.argv[4:]
steps = int(next((a for a in sys.argv[4:] if a.isdigit()), "4"))

tok = PreTrainedTokenizerFast(tokenizer_file=f"{model_dir}/tokenizer.json")
eos = tok.convert_tokens_to_ids("<|im_end|>")
rows = [json.loads(l) for l in open(data) if l.strip()]
seqs, masks = [], []
for r in rows:
    p = tok.encode(r["prompt"], add_special_tokens=False)
    y = tok.encode(r["response"], add_special_tokens=False) + [eos]
    seqs.append(p + y)
    masks.append([0] * len(p) + [1] * len(y))
T = max(len(s) for s in seqs)
ids = torch.tensor([s + [0] * (T - len(s)) for s in seqs])
attn = torch.tensor([[1] * len(s) + [0] * (T - len(s)) for s in seqs])
labels = ids.clone()
labels[torch.tensor([m + [0] * (T - len(m)) for m in masks]) == 0] = -100

model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
if ckpt:
    model.gradient_checkpointing_enable()
    model.config.use_cache = False
if mode == "lora":
    from peft import LoraConfig, get_peft_model

    if ckpt:
        model.enable_input_require_grads()
    model = get_peft_model(
        model,
        LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.0,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            task_type="CAUSAL_LM",
        ),
    )
model.train()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.0)
times = []
for _ in range(steps):
    t = time.perf_counter()
    loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    times.append(time.perf_counter() - t)
print(json.dumps({
    "impl": "pytorch+peft" if mode == "lora" else "pytorch",
    "mode": mode,
    "checkpointing": ckpt,
    "batch": list(ids.shape),
    "trainable": sum(p.numel() for p in params),
    "seconds_per_step": statistics.median(times[1:]) if len(times) > 1 else times[0],
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "loss": float(loss.detach()),
}))
