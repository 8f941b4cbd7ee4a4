#!/usr/bin/env python3
"""The table of scripts/smollm2_arith.sh: accuracy ± SE of each stage on the same 200 eval
prompts (greedy), the paired difference from the stage it started from ± its paired SE, a
format-blind diagnostic (the last integer of the response is the answer, whatever the format),
the seconds per training step and each stage's wall time and peak RSS.

    python3 scripts/smollm2_arith_table.py RUN_DIR
"""
import json
import math
import re
import sys
from pathlib import Path

run = Path(sys.argv[1])
answers = {
    r["prompt"]: r["answer"]
    for r in map(json.loads, Path("datasets/arith/prompts_eval.jsonl").open())
}


def last_number_right(name):
    out = []
    for l in (run / f"eval-{name}" / "samples.jsonl").open():
        r = json.loads(l)
        numbers = re.findall(r"-?\d+", r["response"])
        out.append(float(bool(numbers) and int(numbers[-1]) == answers[r["prompt"]]))
    return out


def golds(name):
    return [json.loads(l)["gold"] for l in (run / f"eval-{name}" / "samples.jsonl").open()]


def mean_se(xs):
    n = len(xs)
    m = sum(xs) / n
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, math.sqrt(var / n)


def timed(stage):
    p = run / f"time-{stage}"
    if not p.exists():
        return "-", "-"
    secs, kib = p.read_text().split()
    return f"{float(secs) / 60:.1f} min", f"{int(kib) / 1024:.0f} MiB"


def step_seconds(metrics):
    rows = [json.loads(l) for l in (run / metrics).open() if l.strip()]
    walls = [r["wall_time"] for r in rows]
    if "time_update" in rows[0]:
        return sum(r["time_generate"] + r["time_score"] + r["time_update"] for r in rows) / len(rows)
    return (walls[-1]) / len(walls)


stages = [("zero-shot", None, None, None), ("sft", "zero-shot", "sft", "sft/metrics.jsonl"),
          ("grpo", "sft", "grpo", "grpo/metrics.jsonl"), ("dpo", "sft", "dpo", "dpo/metrics.jsonl")]
print("| stage | accuracy ± SE | Δ vs its start ± paired SE | last number right | s/step | wall | peak RSS |")
print("|---|---|---|---|---|---|---|")
for name, start, stage, metrics in stages:
    g = golds(name)
    m, se = mean_se(g)
    if start:
        d = [a - b for a, b in zip(g, golds(start))]
        dm, dse = mean_se(d)
        delta = f"{dm * 100:+.1f} ± {dse * 100:.1f} pts vs {start}"
    else:
        delta = "-"
    sps = f"{step_seconds(metrics):.1f}" if metrics else "-"
    wall, rss = timed(stage) if stage else timed(f"eval-{name}")
    fm, fse = mean_se(last_number_right(name))
    print(f"| {name} | {m * 100:.1f} ± {se * 100:.1f}% | {delta} | {fm * 100:.1f} ± {fse * 100:.1f}% | {sps} | {wall} | {rss} |")
pairs = sum(1 for _ in (run / "pairs.jsonl").open())
print(f"\nDPO pairs (gold-labelled, ties dropped): {pairs}; eval prompts: {len(golds('sft'))}.")
