"""One PPO iteration on the default task in PyTorch, beside benches/src/bin/ppo_iteration.rs.

    /opt/refvenv/bin/python benches/pytorch/ppo_iteration.py [iterations] [cpu|cuda]

Same sizes and weights as the Rust side: the shipped tweet-sentiment base (Llama, 4 layers x 192,
3.1M parameters) as policy, frozen reference and value backbone (fresh d->1 head), the gold
classifier (6 layers, score head with bias) as reward P(positive) - P(negative) of prompt +
response; 64 train prompts, at most 24 new tokens sampled at temperature 1 with transformers'
generate (KV cache), then GAE (gamma 1, lambda 0.95), whitened advantages, 4 epochs of
minibatch 16 with the clipped policy and value losses, AdamW lr 1e-5 with grad-norm clip 1 for
each model, beta 0.05. Prints one JSON line per iteration after a warm-up: seconds in
generation, scoring (reward, old/reference log-probs, values) and update. On `cpu` (the
default) 2 threads; on `cuda` the clock reads after a device synchronisation.
Written for this project (no code copied); needs torch, transformers, tokenizers, safetensors.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM, LlamaModel

DEV = torch.device(sys.argv[2] if len(sys.argv) > 2 else "cpu")
if DEV.type == "cpu":
    torch.set_num_threads(2)
torch.manual_seed(0)
ROOT = __file__.rsplit("/benches/", 1)[0]
BASE, GOLD = f"{ROOT}/models/tweet-sentiment/base", f"{ROOT}/models/tweet-sentiment/gold"
B, MB, EPOCHS, NEW = 64, 16, 4, 24
BETA, GAMMA, LAM, CLIP, CLIP_V, VF_COEF, LR = 0.05, 1.0, 0.95, 0.2, 0.2, 0.1, 1e-5

tok = Tokenizer.from_file(f"{BASE}/tokenizer.json")
# The checkpoints are F32, so every model loads in float32 (transformers 4.x and 5.x alike).
policy = LlamaForCausalLM.from_pretrained(BASE).to(DEV)
ref = LlamaForCausalLM.from_pretrained(BASE).to(DEV).eval()
value_backbone = LlamaModel.from_pretrained(BASE).to(DEV)
d = policy.config.hidden_size
value_head = torch.nn.Linear(d, 1)
torch.nn.init.normal_(value_head.weight, std=1.0 / (d + 1) ** 0.5)
torch.nn.init.zeros_(value_head.bias)
value_head = value_head.to(DEV)
gold = LlamaModel.from_pretrained(GOLD).to(DEV).eval()
head = load_file(f"{GOLD}/model.safetensors")
score_w, score_b = head["score.weight"].float().to(DEV), head["score.bias"].float().to(DEV)
labels = json.load(open(f"{GOLD}/labels.json"))
POS, NEG = labels.index("positive"), labels.index("negative")
PAD, EOS = policy.config.pad_token_id, policy.config.eos_token_id
prompts = [json.loads(l)["prompt"] for l in open(f"{ROOT}/datasets/tweet-sentiment/prompts_train.jsonl")]
opt_p = torch.optim.AdamW(policy.parameters(), lr=LR, weight_decay=0.0)
opt_v = torch.optim.AdamW(list(value_backbone.parameters()) + list(value_head.parameters()), lr=LR, weight_decay=0.0)


def left_pad(seqs):
    n = max(map(len, seqs))
    ids = torch.tensor([[PAD] * (n - len(s)) + s for s in seqs], device=DEV)
    mask = torch.tensor([[0] * (n - len(s)) + [1] * len(s) for s in seqs], device=DEV)
    return ids, mask


def clock():
    """Wall-clock seconds after the device has finished its queued work."""
    if DEV.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def positions(mask):
    return (mask.cumsum(-1) - 1).clamp(min=0)


def response_logprobs(model, ids, att, p):
    logits = model(input_ids=ids, attention_mask=att, position_ids=positions(att)).logits
    lp = torch.log_softmax(logits[:, p - 1:-1], -1)
    return lp.gather(-1, ids[:, p:].unsqueeze(-1)).squeeze(-1)


def values(ids, att, p):
    h = value_backbone(input_ids=ids, attention_mask=att, position_ids=positions(att)).last_hidden_state
    return value_head(h[:, p - 1:-1]).squeeze(-1)


def masked_mean(x, m):
    return (x * m).sum() / m.sum().clamp(min=1e-8)


def whiten(x, m):
    mu = masked_mean(x, m)
    var = masked_mean((x - mu) ** 2, m) * m.sum() / (m.sum() - 1).clamp(min=1)
    return (x - mu) / torch.sqrt(var + 1e-8) * m


def iteration(it):
    batch = prompts[it * B:(it + 1) * B]
    t0 = clock()
    ids, att = left_pad([tok.encode(p, add_special_tokens=False).ids for p in batch])
    p = ids.shape[1]
    with torch.no_grad():
        out = policy.generate(input_ids=ids, attention_mask=att, do_sample=True, temperature=1.0,
                              top_k=0, top_p=1.0, max_new_tokens=NEW, pad_token_id=PAD,
                              eos_token_id=EOS)
    resp = out[:, p:]
    # Response mask: tokens up to and including the first EOS.
    is_eos = (resp == EOS).int()
    after = (is_eos.cumsum(-1) - is_eos) > 0
    rmask = (~after).float()
    full_att = torch.cat([att, rmask.long()], 1)
    t1 = clock()
    with torch.no_grad():
        texts = [tok.decode([t for t, m in zip(r.tolist(), mk.tolist()) if m and t != EOS]) for r, mk in zip(resp, rmask)]
        whole = [a + b for a, b in zip(batch, texts)]
        g_ids, g_att = left_pad([tok.encode(t, add_special_tokens=False).ids[-64:] or [PAD] for t in whole])
        h = gold(input_ids=g_ids, attention_mask=g_att, position_ids=positions(g_att)).last_hidden_state[:, -1]
        probs = torch.softmax(h @ score_w.T + score_b, -1)
        score = probs[:, POS] - probs[:, NEG]
        old_lp = response_logprobs(policy, out, full_att, p)
        ref_lp = response_logprobs(ref, out, full_att, p)
        old_v = values(out, full_att, p)
        kl = (old_lp - ref_lp) * rmask
        rewards = -BETA * kl
        last = rmask.sum(-1).long() - 1
        rewards[torch.arange(len(batch), device=DEV), last] += score
        adv = torch.zeros_like(rewards)
        nxt_v = torch.zeros(len(batch), device=DEV)
        nxt_a = torch.zeros(len(batch), device=DEV)
        for t in reversed(range(resp.shape[1])):
            m = rmask[:, t]
            delta = rewards[:, t] + GAMMA * nxt_v - old_v[:, t]
            a = (delta + GAMMA * LAM * nxt_a) * m
            adv[:, t] = a
            nxt_v = old_v[:, t] * m
            nxt_a = a
        returns = adv + old_v
        adv = whiten(adv, rmask)
    t2 = clock()
    for _ in range(EPOCHS):
        order = torch.randperm(len(batch), device=DEV)
        for k in range(0, len(batch), MB):
            i = order[k:k + MB]
            lp = response_logprobs(policy, out[i], full_att[i], p)
            ratio = torch.exp(lp - old_lp[i])
            pg = torch.max(-adv[i] * ratio, -adv[i] * ratio.clamp(1 - CLIP, 1 + CLIP))
            loss = masked_mean(pg, rmask[i])
            opt_p.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt_p.step()
            v = values(out[i], full_att[i], p)
            vc = old_v[i] + (v - old_v[i]).clamp(-CLIP_V, CLIP_V)
            vloss = 0.5 * masked_mean(torch.max((v - returns[i]) ** 2, (vc - returns[i]) ** 2), rmask[i])
            opt_v.zero_grad()
            (VF_COEF * vloss).backward()
            torch.nn.utils.clip_grad_norm_(list(value_backbone.parameters()) + list(value_head.parameters()), 1.0)
            opt_v.step()
    t3 = clock()
    return t1 - t0, t2 - t1, t3 - t2, rmask.sum(-1).mean().item()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for it in range(n + 1):
        g, s, u, length = iteration(it)
        if it == 0:
            continue
        print(json.dumps({"backend": f"pytorch {torch.__version__}", "iteration": it, "generate_s": round(g, 3),
                          "score_s": round(s, 3), "update_s": round(u, 3), "total_s": round(g + s + u, 3),
                          "response_len": round(length, 1)}))
