#!/usr/bin/env python3
"""Write the parity fixture for `rlp_tasks::profanity`: sentences and sklearn's probabilities.

    python profanity_reference.py [--out FILE] [--bench]

Downloads and verifies `alt-profanity-check==1.9.1` exactly as export_profanity.py does (same
pins, same code), unpickles it with scikit-learn 1.9.1, and writes FILE (default
crates/rlp-tasks/tests/fixtures/profanity.json, committed) with one case per line:

    {"text": ..., "tokens": [...], "p": "0.0123..."}

`p` is `model.predict_proba(vectorizer.transform([text]))[:, 1]`, i.e. P(profane), as the repr()
string of the float64 (exact; see export_profanity.py for why strings). `tokens` is
`vectorizer.build_analyzer()(text)`: the lowercased `(?u)\\b\\w\\w+\\b` tokens with English stop
words removed, in and out of the vocabulary, so the test also checks the tokenizer on words the
model ignores. JSON is written with ensure_ascii, so invisible characters (ZWJ, combining marks)
show up as \\u escapes.

The sentences are written here, by hand or from word lists combined below; none comes from a
data set. They cover clean text, rudeness, profanity and insults, mixed case, accents (composed
and decomposed), digits, punctuation, the empty string, a very long text, apostrophes,
underscores, hyphens, non-Latin scripts, emoji, and characters on which Python's `\\w` and Rust
regex's `\\w` disagree (combining marks, ZWJ, superscript digits, circled letters, U+203F).

--bench times sklearn on these sentences (single thread) and prints sentences/s to stderr.
"""

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import export_profanity as ex  # noqa: E402  (same pins, download and checks)

DEFAULT_OUT = HERE.parent / "tests" / "fixtures" / "profanity.json"

CLEAN = [
    "Have a lovely day!",
    "Thank you for fixing the citation on the history page.",
    "The weather in Zurich is mild this week.",
    "I think the second paragraph could use a better source.",
    "Could you explain why the edit was reverted?",
    "Happy birthday, hope the cake was good.",
    "The meeting moved to Thursday at 3pm.",
    "Please see the talk page before making large changes.",
    "Great work on the new article about volcanoes.",
    "I disagree with the merge proposal, but I respect the consensus.",
    "The recipe needs two eggs and a cup of flour.",
    "Our cat sleeps on the keyboard every afternoon.",
    "Welcome to Wikipedia! Feel free to ask questions.",
    "This image is licensed under a free license.",
    "The train was late again, so I read a book.",
    "Can someone add an infobox to this article?",
    "Nice photo of the lighthouse.",
    "He kindly offered to review the draft.",
    "The river floods every spring.",
    "Sources say the bridge opened in 1932.",
    "I removed the duplicate link in the references section.",
    "Thanks for the warm welcome, everyone.",
    "The committee will vote next month.",
    "Let us keep the discussion civil and on topic.",
    "My grandmother grows tomatoes and basil.",
]

RUDE = [
    "This edit is stupid and you know it.",
    "Stop being so annoying.",
    "What a dumb idea.",
    "Shut up and go away.",
    "You clearly have no clue what you are talking about.",
    "Your article is garbage.",
    "Nobody cares about your opinion, loser.",
    "That was a pathetic excuse for an argument.",
    "Get lost, troll.",
    "You are so lame.",
    "Quit whining about the deletion.",
    "This is the crappiest page on the whole site.",
    "Damn, that was a bad call.",
    "What the hell is wrong with you?",
    "Go to hell.",
]

PROFANE = [
    "fuck you",
    "Fuck off and die.",
    "You are a stupid piece of shit.",
    "what a fucking moron",
    "you dumb bitch",
    "shut the fuck up",
    "this is bullshit",
    "eat shit",
    "you worthless asshole",
    "go fuck yourself, idiot",
    "motherfucker",
    "dickhead",
    "what a cunt",
    "son of a bitch",
    "you suck",
    "screw you, jackass",
    "kiss my ass",
    "holy crap",
    "piss off",
    "you bastard",
]

# Combinatorial: subjects x templates x words, clean and toxic words mixed.
SUBJECTS = ["he", "your friend", "this editor", "the admin", "my neighbour"]
TEMPLATES = ["{s} is the {w}.", "I think {s} acts like the biggest {w}", "{s} = {w}!!!"]
WORDS = ["hero", "genius", "idiot", "moron", "teacher", "loser", "asshole", "scientist",
         "jerk", "retard", "friend", "dick"]

CASES = [
    "YOU ARE AN IDIOT", "You Are An Idiot", "yOu ArE aN iDiOt", "FuCk", "FUCK", "fUcK tHiS",
    "SHIT happens", "Thank You Very Much", "HAVE A NICE DAY", "sTuPiD",
]

ACCENTS = [
    "José and Beyoncé went to see Pokémon.",
    "POKÉMON is fun",               # É lowercases to é
    "Poke\u0301mon is fun",         # decomposed é: Python splits at the combining mark
    "josé is an idiot",
    "jose\u0301 is an idiot",
    "café naïve résumé coöperate",
    "Zürich Straße STRASSE",
    "expért trácht míkka",
    "l'été à Montréal était très agréable",
    "Ça va? Très bien, merci.",
    "İstanbul idiot",               # İ lowercases to i + U+0307 (a combining mark)
    "\u212Aill yourself",           # KELVIN SIGN lowercases to k: "kill"
    "ſhit",                         # long s stays long s
]

DIGITS = [
    "fuck2", "f4ck you", "h8ers gonna h8", "2fast 2furious", "123 456 7890", "1 2 3 4 5",
    "shit123", "2024 was 100% fine", "idiot1 idiot2 idiot3", "b1tch", "a1", "007 agent",
    "\u0661\u0662\u0663 arabic digits", "fuck\u00b2",  # superscript two is \w in Python
    "idiot\u00bd",
]

PUNCT = [
    "f.u.c.k", "sh!t", "a**hole", "what?!?!", "idiot...idiot", "(stupid)", "[moron]",
    "\"jerk\"", "shit,shit;shit:shit", "you're an idiot!!!", "idiot/moron\\loser",
    "email me at someone@example.com", "http://example.com/fuck", "#hashtag @user",
    "<b>bold</b> &amp; stuff", "*** !!! ???", "f u c k", "s h i t head",
]

EDGE = [
    "", " ", "a", "I", "ok", "\n\t\n", "   fuck   ", "idiot\u00a0idiot",  # NBSP
    "the and of", "you you you", "never mind", "was were is are", "yourself",
]

APOS_UNDERSCORE_HYPHEN = [
    "don't you dare", "you're a jerk", "it\u2019s fine", "motherf'ing idiot", "o'reilly",
    "user_talk page", "__toc__", "_noticeboard", "fuck_you", "shit_", "fair_use rationale",
    "articles_for_deletion", "___", "snake_case_words", "shit-head", "f-ing moron",
    "well-known fact", "self-made man", "dumb-ass", "x-ray", "mother-fucker",
]

NON_LATIN = [
    "Привет, как дела?", "Ты идиот", "ΣΊΣΥΦΟΣ", "μελ ετητης",
    "連絡 見学 迷惑", "竜龙 聖やや", "こんにちは世界", "你好，世界", "안녕하세요",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "ውይይት", "สวัสดีครับ",
    "βcommand dαlus snunɐw", "Ｆｕｃｋ ｙｏｕ", "ⒻⓊⒸⓀ you",
]

EMOJI = [
    "you \U0001F4A9", "\U0001F44D great job", "\U0001F468\u200d\U0001F469\u200d\U0001F467 family",
    "stu\u200dpid", "fuck\u200dyou", "fuck\u200cyou", "fuck\u203fyou", "\U0001F595 off",
    "I \u2764\ufe0f this", "\U0001F602\U0001F602\U0001F602 lol", "idiot\U0001F921",
    "shit\u0301", "d\u0308umb",
]

MIXED = [
    "Thanks for the help, you absolute idiot.",
    "I love this article but the author is a moron.",
    "Fucking brilliant work, well done!",
    "The shit hit the fan at the meeting, but we fixed it.",
    "Please stop vandalizing the page, it is not funny.",
    "If you keep reverting my edits I will report you.",
    "Go away. Nobody wants you here.",
    "You are an amazing, kind and stupid person.",
    "damn good coffee",
    "Hell yes, the bridge is open!",
    "The Dick Van Dyke show aired in 1961.",
    "Scunthorpe is a town in England.",
    "Assessment of the class action lawsuit.",
    "He was a bastard in the legal sense of the 1700s.",
]


def long_text():
    base = ("This is a long and mostly polite comment about the article, with one rude word "
            "near the end because someone called another editor an idiot. ")
    return base * 25 + "Seriously, what an idiot."


def sentences():
    combo = [t.format(s=s, w=w) for s, w, t in itertools.product(SUBJECTS, WORDS, TEMPLATES)]
    # A deterministic thinning keeps the fixture small but every subject/word/template used.
    combo = combo[::2]
    out = (CLEAN + RUDE + PROFANE + combo + CASES + ACCENTS + DIGITS + PUNCT + EDGE
           + APOS_UNDERSCORE_HYPHEN + NON_LATIN + EMOJI + MIXED + [long_text()])
    seen, uniq = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


def bench(vec, model, texts):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    batch = [t for t in texts if len(t) < 1000]
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        model.predict_proba(vec.transform(batch))[:, 1]
    batched = reps * len(batch) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for t in batch:
        model.predict_proba(vec.transform([t]))[:, 1]
    single = len(batch) / (time.perf_counter() - t0)
    ex.log(f"sklearn predict_proba: {batched:,.0f} sentences/s in batches of {len(batch)}, "
           f"{single:,.0f} sentences/s one at a time")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--bench", action="store_true", help="also time sklearn (stderr)")
    a = p.parse_args()
    ex.check_sklearn()
    import joblib
    import numpy
    import scipy
    import sklearn

    with tempfile.TemporaryDirectory(prefix="rlp-profanity-ref-") as tmp:
        work = Path(tmp)
        vec, model = ex.unpickle(ex.download_wheel(work), work)
    ex.check_objects(vec, model)
    texts = sentences()
    probs = model.predict_proba(vec.transform(texts))[:, 1]
    # Row-by-row must give the same numbers (no batch effects in sklearn's sparse path).
    for t, pb in zip(texts, probs):
        one = model.predict_proba(vec.transform([t]))[0, 1]
        if one != pb:
            ex.fail(f"batch and single predictions differ on {t!r}: {pb!r} vs {one!r}")
    analyze = vec.build_analyzer()
    meta = {
        "what": "P(profane) from alt-profanity-check 1.9.1: "
                "model.predict_proba(vectorizer.transform([text]))[:, 1]; tokens = "
                "vectorizer.build_analyzer()(text)",
        "package": ex.PACKAGE,
        "wheel_sha256": ex.WHEEL_SHA256,
        "date": datetime.now(timezone.utc).date().isoformat(),
        "command": ("python crates/rlp-tasks/scripts/profanity_reference.py "
                   + " ".join(sys.argv[1:])).strip(),
        "python": sys.executable,
        "versions": {"python": sys.version.split()[0], "unicode": __import__("unicodedata").unidata_version,
                     "scikit-learn": sklearn.__version__, "joblib": joblib.__version__,
                     "numpy": numpy.__version__, "scipy": scipy.__version__},
        "floats": "p is the repr() string of a float64",
        "n": len(texts),
    }
    lines = ["{", '"meta": ' + json.dumps(meta, ensure_ascii=True) + ",", '"cases": [']
    for i, (t, pb) in enumerate(zip(texts, probs)):
        case = {"text": t, "tokens": analyze(t), "p": ex.f64(pb)}
        lines.append(json.dumps(case, ensure_ascii=True) + ("," if i + 1 < len(texts) else ""))
    lines += ["]", "}"]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hi = sum(pb > 0.5 for pb in probs)
    ex.log(f"wrote {a.out}: {len(texts)} sentences, {hi} with p > 0.5, "
           f"{a.out.stat().st_size} bytes")
    if a.bench:
        bench(vec, model, texts)


if __name__ == "__main__":
    main()
