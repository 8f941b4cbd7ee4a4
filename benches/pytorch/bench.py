"""Side-by-side reference for rlp's criterion benches: the same decoder and workloads in PyTorch.

    python benches/pytorch/bench.py            # both workloads
    python benches/pytorch/bench.py train      # one AdamW step, 4x128 decoder, batch 16x64
    python benches/pytorch/bench.py generate   # batch 8, 16-token prompts, 64 new tokens, greedy

The model mirrors benches/common.rs: Llama architecture, 4 layers, d=128, 4 heads (2 KV),
SwiGLU 344, vocab 512, untied head. Times are medians over repeated runs on 2 CPU threads.
Written for this project (no code copied); needs `pip install torch`.
"""
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)

V, D, FFN, L, H, KVH, HD = 512, 128, 344, 4, 4, 2, 32
THETA = 10000.0


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(positions):
    inv = THETA ** (-torch.arange(0, HD, 2, dtype=torch.float32) / HD)
    ang = positions[..., None].float() * inv
    emb = torch.cat([ang, ang], -1)
    return emb.cos()[:, None], emb.sin()[:, None]


def apply_rope(x, cos, sin):
    x1, x2 = x[..., : HD // 2], x[..., HD // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(D), RMSNorm(D)
        self.q = nn.Linear(D, H * HD, bias=False)
        self.k = nn.Linear(D, KVH * HD, bias=False)
        self.v = nn.Linear(D, KVH * HD, bias=False)
        self.o = nn.Linear(H * HD, D, bias=False)
        self.gate = nn.Linear(D, FFN, bias=False)
        self.up = nn.Linear(D, FFN, bias=False)
        self.down = nn.Linear(FFN, D, bias=False)

    def forward(self, x, cos, sin, cache=None):
        b, t, _ = x.shape
        h = self.n1(x)
        q = apply_rope(self.q(h).view(b, t, H, HD).transpose(1, 2), cos, sin)
        k = apply_rope(self.k(h).view(b, t, KVH, HD).transpose(1, 2), cos, sin)
        v = self.v(h).view(b, t, KVH, HD).transpose(1, 2)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        k = k.repeat_interleave(H // KVH, 1)
        v = v.repeat_interleave(H // KVH, 1)
        causal = cache is None or t > 1
        a = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, H * HD))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.norm = RMSNorm(D)
        self.head = nn.Linear(D, V, bias=False)

    def forward(self, tokens, start=0, caches=None):
        b, t = tokens.shape
        pos = torch.arange(start, start + t).expand(b, t)
        cos, sin = rope(pos)
        x = self.embed(tokens)
        for i, blk in enumerate(self.blocks):
            x = blk(x, cos, sin, None if caches is None else caches[i])
        return self.head(self.norm(x))


def median_time(fn, warmup=3, reps=15):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def bench_train():
    model = Decoder()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    x = torch.randint(3, V, (16, 65))

    def step():
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    t = median_time(step)
    print(f"pytorch train_step_4x128_b16x64: {t * 1e3:.1f} ms")


@torch.no_grad()
def bench_generate():
    model = Decoder().eval()
    prompts = torch.randint(3, V, (8, 16))

    def with_cache():
        caches = [dict() for _ in range(L)]
        logits = model(prompts, 0, caches)
        tok = logits[:, -1].argmax(-1, keepdim=True)
        for i in range(63):
            logits = model(tok, 16 + i, caches)
            tok = logits[:, -1].argmax(-1, keepdim=True)

    def no_cache():
        seq = prompts
        for _ in range(64):
            tok = model(seq)[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, tok], 1)

    for name, fn in [("kv_cache", with_cache), ("no_cache", no_cache)]:
        t = median_time(fn, warmup=1, reps=5)
        print(f"pytorch generate_4x128_b8_p16_n64/{name}: {t * 1e3:.1f} ms, {8 * 64 / t:.0f} tokens/s")


if __name__ == "__main__":
    what = sys.argv[1:] or ["train", "generate"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if "train" in what:
        bench_train()
    if "generate" in what:
        bench_generate()
