#!/usr/bin/env python3
"""Yardstick baselines for datasets/tweet-sentiment (standard library only, deterministic).

    python3 scripts/datasets/tweet_sentiment_baseline.py [--data datasets/tweet-sentiment]

Trains on labelled_train.jsonl, scores labelled_test.jsonl, prints JSON:
  - majority class (the most frequent label of labelled_train) accuracy;
  - multinomial naive Bayes on a bag of words (lowercased tokens [a-z0-9']+, hashtags kept as
    words without "#", "@user" dropped, "!" and "?" kept as tokens; Laplace smoothing alpha = 1;
    class prior = training frequency), 3-class accuracy and macro-F1;
  - the same NB trained and tested on the positive and negative rows only (binary).
"""

import argparse
import collections
import json
import math
import os
import re

TOKEN = re.compile(r"[a-z0-9']+|[!?]")


def tokens(text):
    return TOKEN.findall(text.lower().replace("@user", " "))


def load(path):
    with open(path, encoding="ascii") as f:
        return [json.loads(line) for line in f]


class NaiveBayes:
    def __init__(self, rows, alpha=1.0):
        self.labels = sorted({r["label"] for r in rows})
        self.count = {l: collections.Counter() for l in self.labels}
        docs = collections.Counter()
        for r in rows:
            docs[r["label"]] += 1
            self.count[r["label"]].update(tokens(r["text"]))
        self.vocab = set().union(*self.count.values())
        self.prior = {l: math.log(docs[l] / len(rows)) for l in self.labels}
        self.total = {l: sum(self.count[l].values()) for l in self.labels}
        self.alpha = alpha

    def predict(self, text):
        toks = [t for t in tokens(text) if t in self.vocab]
        v = len(self.vocab)

        def score(l):
            denom = math.log(self.total[l] + self.alpha * v)
            return self.prior[l] + sum(math.log(self.count[l][t] + self.alpha) - denom for t in toks)

        return max(self.labels, key=lambda l: (score(l), l))


def evaluate(pred, gold, labels):
    acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
    f1s = []
    for l in labels:
        tp = sum(p == l and g == l for p, g in zip(pred, gold))
        fp = sum(p == l and g != l for p, g in zip(pred, gold))
        fn = sum(p != l and g == l for p, g in zip(pred, gold))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"n": len(gold), "accuracy": round(acc, 4), "macro_f1": round(sum(f1s) / len(f1s), 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="datasets/tweet-sentiment")
    args = ap.parse_args()
    train = load(os.path.join(args.data, "labelled_train.jsonl"))
    test = load(os.path.join(args.data, "labelled_test.jsonl"))
    out = collections.OrderedDict()
    out["train_labels"] = dict(sorted(collections.Counter(r["label"] for r in train).items()))
    out["test_labels"] = dict(sorted(collections.Counter(r["label"] for r in test).items()))

    labels3 = sorted(out["train_labels"])
    gold = [r["label"] for r in test]
    majority = collections.Counter(r["label"] for r in train).most_common(1)[0][0]
    out["majority_3class"] = dict(label=majority, **evaluate([majority] * len(test), gold, labels3))
    nb = NaiveBayes(train)
    out["naive_bayes_3class"] = evaluate([nb.predict(r["text"]) for r in test], gold, labels3)

    bin_train = [r for r in train if r["label"] != "neutral"]
    bin_test = [r for r in test if r["label"] != "neutral"]
    bgold = [r["label"] for r in bin_test]
    labels2 = ["negative", "positive"]
    bmaj = collections.Counter(r["label"] for r in bin_train).most_common(1)[0][0]
    out["majority_pos_vs_neg"] = dict(label=bmaj, **evaluate([bmaj] * len(bin_test), bgold, labels2))
    nb2 = NaiveBayes(bin_train)
    out["naive_bayes_pos_vs_neg"] = evaluate([nb2.predict(r["text"]) for r in bin_test], bgold, labels2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
