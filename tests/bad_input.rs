//! The bad-input suite: malformed, hostile or contradictory input to every verb of the `rlp`
//! binary, one table row per case. Each case must end in
//! - a non-zero exit that is not a panic (never 101, never an abort);
//! - a message naming the culprit: the file and line, the field, tensor or option, and giving
//!   an I/O cause once;
//! - no change to any file that existed before (hashed before and after the whole table);
//! - no partial output: the case's fresh `--out` does not exist afterwards.
//!
//! Placeholders in the arguments: `{F}` the fixture directory, `{out}` a fresh output path
//! for the case, `{model}` a tiny SFT checkpoint, `{toy}` the shipped toy-reverse data.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{rlp, stderr, tiny_sft};
use rlp_core::ScratchDir;
use sha2::{Digest, Sha256};

/// One bad input: what to run and what its message must name.
struct Case {
    /// The arguments, with placeholders.
    args: &'static str,
    /// Text the error message must contain.
    needle: &'static str,
}

const fn case(args: &'static str, needle: &'static str) -> Case {
    Case { args, needle }
}

/// Every file under `dir`, with the SHA-256 of its contents.
fn hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let digest = Sha256::digest(std::fs::read(&p).unwrap());
                out.insert(p, format!("{digest:x}"));
            }
        }
    }
    out
}

/// The fixture files the cases point at (all small; the model is 1 layer, 32 wide).
fn fixtures(f: &Path) {
    let w = |name: &str, bytes: &[u8]| std::fs::write(f.join(name), bytes).unwrap();
    let model = tiny_sft(f);
    w("array.jsonl", br#"[{"prompt": "a", "response": "b"}]"#);
    w("empty.jsonl", b"\n\n");
    w(
        "latin1.jsonl",
        b"{\"prompt\": \"a\", \"response\": \"\xe9\"}\n",
    );
    w(
        "no_response.jsonl",
        b"{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\"}\n",
    );
    w(
        "empty_response.jsonl",
        b"{\"prompt\": \"a\", \"response\": \"\"}\n",
    );
    w("unknown_key.toml", b"steps = 1\nlearning_rate = 3\n");
    w(
        "grpo_table.toml",
        b"task = \"synthetic\"\n[grpo]\ngroup_size = 4\n",
    );
    w("wrong_type.toml", b"steps = \"ten\"\n");
    w("not_toml.toml", b"[[[\n");
    w("not_a_tokenizer.json", br#"{"a": 1}"#);
    w(
        "same_pairs.jsonl",
        b"{\"prompt\":\"p\",\"chosen\":\" a\",\"rejected\":\" a\"}\n",
    );
    w("bad_pair.jsonl", b"{\"prompt\":\"p\",\"chosen\":1}\n");
    w("labels_no_label.jsonl", b"{\"text\": \"hello\"}\n");
    w("existing.jsonl", b"{\"keep\": true}\n");
    w("not.gguf", b"GGML is not GGUF");
    // GGUF v3 claiming 2^60 tensors and no metadata.
    let mut gguf = b"GGUF".to_vec();
    gguf.extend(3u32.to_le_bytes());
    gguf.extend((1u64 << 60).to_le_bytes());
    gguf.extend(0u64.to_le_bytes());
    w("huge_count.gguf", &gguf);
    w("a_file", b"not a directory");
    // Broken copies of the model: config.json an array; weights truncated; weights with NaN.
    let copy = |name: &str| {
        let d = f.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(&model).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
            }
        }
        d
    };
    std::fs::write(copy("array_config").join("config.json"), "[]").unwrap();
    let d = copy("truncated_weights");
    let bytes = std::fs::read(d.join("model.safetensors")).unwrap();
    std::fs::write(d.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let d = copy("nan_weights");
    let path = d.join("model.safetensors");
    let mut tensors: Vec<_> = rlp::models::checkpoint::read_safetensors(&path)
        .unwrap()
        .into_iter()
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors[0].1.1[0] = f32::NAN;
    rlp::models::checkpoint::write_safetensors(&tensors, &path).unwrap();
    let d = copy("no_config");
    std::fs::remove_file(d.join("config.json")).unwrap();
    // A finished run directory, and an output directory holding a model.
    std::fs::create_dir_all(f.join("finished_run")).unwrap();
    w("finished_run/config.toml", b"task = \"synthetic\"\n");
    w("finished_run/metrics.jsonl", b"{\"step\": 1}\n");
}

const CASES: &[Case] = &[
    // rlp sft: data.
    case("sft --data {F}/nowhere.jsonl --out {out}", "nowhere.jsonl"),
    case("sft --data /dev/zero --out {out}", "longer than"),
    case("sft --data {F}/array.jsonl --out {out}", "array.jsonl:1"),
    case(
        "sft --data {F}/empty.jsonl --out {out}",
        "empty.jsonl: the dataset is empty",
    ),
    case(
        "sft --data {F}/latin1.jsonl --out {out}",
        "latin1.jsonl:1: not UTF-8",
    ),
    case(
        "sft --data {F}/no_response.jsonl --out {out}",
        "no_response.jsonl:2",
    ),
    case(
        "sft --data {F}/empty_response.jsonl --out {out}",
        "empty_response.jsonl:1: empty response",
    ),
    // rlp sft: options.
    case("sft --data {toy} --out {out} --lr NaN", "lr"),
    case("sft --data {toy} --out {out} --lr=-1", "lr"),
    case("sft --data {toy} --out {out} --lr inf", "lr"),
    case("sft --data {toy} --out {out} --steps 0", "steps"),
    case("sft --data {toy} --out {out} --batch-size 0", "batch_size"),
    case(
        "sft --data {toy} --out {out} --batch-size 100000",
        "batch_size",
    ),
    case("sft --data {toy} --out {out} --backend tpu", "tpu"),
    case("sft --data {toy} --out {out} --save-dtype f8", "f8"),
    case("sft --data {toy} --out {out} --steps ten", "--steps"),
    // rlp sft: configs, checkpoints and output directories.
    case("sft --config {F}/nowhere.toml --out {out}", "nowhere.toml"),
    case(
        "sft --config {F}/unknown_key.toml --data {toy} --out {out}",
        "learning_rate",
    ),
    case(
        "sft --config {F}/wrong_type.toml --data {toy} --out {out}",
        "steps",
    ),
    case(
        "sft --config {F}/not_toml.toml --data {toy} --out {out}",
        "not_toml.toml",
    ),
    case("sft --data {toy} --init {F}/nowhere --out {out}", "nowhere"),
    case(
        "sft --data {toy} --init {F}/no_config --out {out}",
        "config.json",
    ),
    case(
        "sft --data {toy} --init {F}/array_config --out {out}",
        "config.json",
    ),
    case(
        "sft --data {toy} --init {F}/truncated_weights --out {out}",
        "model.safetensors",
    ),
    case("sft --data {toy} --init {F}/nan_weights --out {out}", "NaN"),
    case(
        "sft --data {toy} --tokenizer {F}/not_a_tokenizer.json --out {out}",
        "not_a_tokenizer.json",
    ),
    case("sft --data {toy} --init {model} --out {model}", "both name"),
    case(
        "sft --data {toy} --init {model} --out {model} --overwrite",
        "both name",
    ),
    case(
        "sft --data {toy} --out {model}",
        "already holds a run or a model",
    ),
    case(
        "sft --data {toy} --out {F}/finished_run",
        "already holds a run or a model",
    ),
    case("sft --data {toy} --out {F}/a_file", "is a file"),
    // rlp generate.
    case("generate --model {F}/nowhere --prompt hi", "nowhere"),
    case("generate --model {F}/nan_weights --prompt hi", "NaN"),
    case(
        "generate --model {F}/truncated_weights --prompt hi",
        "model.safetensors",
    ),
    case(
        "generate --model {model} --prompt hi --temperature NaN",
        "temperature",
    ),
    case(
        "generate --model {model} --prompt hi --temperature=-1",
        "temperature",
    ),
    case("generate --model {model} --prompt hi --top-p 0", "top_p"),
    case("generate --model {model} --prompt hi --top-p 1.5", "top_p"),
    case("generate --model {model} --prompt hi --top-k 0", "top_k"),
    // rlp reward label.
    case(
        "reward label --policy {model} --task imdb --out {out}",
        "unknown task `imdb`",
    ),
    case(
        "reward label --policy {model} --task synthetic --flip 2 --out {out}",
        "flip",
    ),
    case(
        "reward label --policy {model} --task synthetic --flip NaN --out {out}",
        "flip",
    ),
    case(
        "reward label --policy {model} --task synthetic --temperature=-1 --out {out}",
        "temperature",
    ),
    case(
        "reward label --policy {F}/nowhere --task synthetic --out {out}",
        "nowhere",
    ),
    case(
        "reward label --policy {model} --task synthetic --out {F}/existing.jsonl",
        "already exists",
    ),
    case(
        "reward label --policy {model} --task synthetic --out {F}",
        "is a directory",
    ),
    // rlp reward train / eval.
    case(
        "reward train --data {F}/nowhere.jsonl --init {model} --out {out}",
        "nowhere.jsonl",
    ),
    case(
        "reward train --data {F}/same_pairs.jsonl --init {F}/nowhere --out {out}",
        "nowhere",
    ),
    case(
        "reward train --data {F}/same_pairs.jsonl --init {model} --out {out}",
        "no usable pairs",
    ),
    case(
        "reward train --data {F}/bad_pair.jsonl --init {model} --out {out}",
        "bad_pair.jsonl:1",
    ),
    case(
        "reward train --data {F}/same_pairs.jsonl --init {model} --out {out} --trainable some",
        "top:N",
    ),
    case(
        "reward train --data {F}/same_pairs.jsonl --init {model} --out {out} --overlong cut",
        "cut",
    ),
    case(
        "reward train --data {F}/same_pairs.jsonl --init {model} --out {model}",
        "both name",
    ),
    case(
        "reward train --data {F}/same_pairs.jsonl --init {model} --out {F}/finished_run",
        "already holds",
    ),
    case(
        "reward eval --model {model} --data {F}/same_pairs.jsonl",
        "score.weight",
    ),
    case(
        "reward eval --model {F}/nowhere --data {F}/same_pairs.jsonl",
        "nowhere",
    ),
    // rlp classifier.
    case(
        "classifier train --data {F}/nowhere.jsonl --init {model} --out {out}",
        "nowhere.jsonl",
    ),
    case(
        "classifier train --data {F}/labels_no_label.jsonl --init {model} --out {out}",
        "labels_no_label.jsonl:1",
    ),
    case(
        "classifier eval --model {model} --data {F}/labels_no_label.jsonl",
        "labels_no_label.jsonl",
    ),
    // rlp ppo.
    case(
        "ppo --config {F}/unknown_key.toml --out {out}",
        "learning_rate",
    ),
    case("ppo --config {F}/nowhere.toml --out {out}", "nowhere.toml"),
    case(
        "ppo --task synthetic --reward {F}/nowhere --out {out}",
        "nowhere",
    ),
    case("ppo --task imdb --out {out}", "unknown task `imdb`"),
    case(
        "ppo --task synthetic --iterations 0 --out {out}",
        "iterations",
    ),
    case("ppo --task synthetic --lr NaN --out {out}", "lr"),
    case("ppo --task synthetic --beta=-1 --out {out}", "beta"),
    case("ppo --task synthetic --resume --out {out}", "--resume"),
    case(
        "ppo --task synthetic --resume --overwrite --out {out}",
        "cannot be used with",
    ),
    case(
        "ppo --task synthetic --out {F}/finished_run",
        "--resume to continue it",
    ),
    // rlp fdpg.
    case("fdpg --task synthetic --set fdpg.lr=-1 --out {out}", "lr"),
    case(
        "fdpg --task synthetic --set fdpg.lrr=1 --out {out}",
        "--set fdpg.lrr=1",
    ),
    case(
        "fdpg --task synthetic --reward {F}/nowhere --out {out}",
        "nowhere",
    ),
    case("fdpg --task synthetic --steps 0 --out {out}", "steps"),
    case("fdpg --task synthetic --resume --out {out}", "--resume"),
    case(
        "fdpg --config {F}/unknown_key.toml --out {out}",
        "unknown_key.toml",
    ),
    // rlp quark.
    case(
        "quark --task synthetic --set quark.num_quantiles=1 --out {out}",
        "num_quantiles",
    ),
    case("quark --task synthetic --phases 0 --out {out}", "phases"),
    case(
        "quark --task synthetic --reward {F}/nowhere --out {out}",
        "nowhere",
    ),
    case("quark --task synthetic --resume --out {out}", "--resume"),
    // rlp grpo, rloo, online-dpo.
    case(
        "grpo --task synthetic --set grpo.group_size=1 --out {out}",
        "group_size",
    ),
    case(
        "grpo --task synthetic --set grpo.loss_aggregation=\"mean\" --out {out}",
        "loss_aggregation",
    ),
    case("grpo --task synthetic --lr=-1 --out {out}", "lr"),
    case("grpo --task synthetic --steps 0 --out {out}", "steps"),
    case("grpo --task synthetic --resume --out {out}", "--resume"),
    case("rloo --config {F}/grpo_table.toml --out {out}", "[grpo]"),
    case("rloo --task synthetic --set rloo.k=1 --out {out}", "k"),
    case(
        "rloo --task synthetic --reward {F}/nowhere --out {out}",
        "nowhere",
    ),
    case(
        "online-dpo --task synthetic --set online_dpo.kl_beta=0 --out {out}",
        "kl_beta",
    ),
    case(
        "online-dpo --task synthetic --resume --out {out}",
        "--resume",
    ),
    // rlp dpo, eval, bon.
    case("dpo --task synthetic --out {out}", "--data"),
    case(
        "dpo --task synthetic --data {F}/nowhere.jsonl --out {out}",
        "nowhere.jsonl",
    ),
    case(
        "dpo --task synthetic --data {F}/same_pairs.jsonl --beta=-1 --out {out}",
        "beta",
    ),
    case(
        "dpo --task synthetic --data {F}/same_pairs.jsonl --out {F}/finished_run",
        "already holds",
    ),
    case(
        "eval --task synthetic --reward {F}/nowhere --out {out}",
        "nowhere",
    ),
    case(
        "eval --config {F}/unknown_key.toml --out {out}",
        "learning_rate",
    ),
    case(
        "bon --task synthetic --reward {F}/nowhere --out {out}",
        "nowhere",
    ),
    case("bon --task synthetic --n 0 --out {out}", "n"),
    // rlp pipeline and verdict.
    case("pipeline --seeds 1,1 --out {out}", "seeds"),
    case(
        "pipeline --config {F}/unknown_key.toml --out {out}",
        "learning_rate",
    ),
    case(
        "pipeline --config configs/pipeline-tweet-sentiment.toml --eval-split dev --out {out}",
        "has no dev split",
    ),
    case("pipeline --backend tpu --out {out}", "tpu"),
    case("pipeline --out {F}/finished_run", "already holds"),
    case("verdict {F}/nowhere {F}/finished_run", "nowhere"),
    case("verdict {F}/finished_run {F}/finished_run", "results.jsonl"),
    // rlp import gguf, data, fetch, compare.
    case("import gguf {F}/not.gguf {out}", "not a GGUF file"),
    case(
        "import gguf {F}/huge_count.gguf {out}",
        "1152921504606846976 tensors",
    ),
    case("import gguf {F}/nowhere.gguf {out}", "nowhere.gguf"),
    case("data imdb --out {out}", "imdb"),
    case("fetch llama-70b", "llama-70b"),
    case("compare {F}/nowhere --out {out}", "nowhere"),
];

#[test]
fn every_bad_input_is_a_clean_error() {
    assert!(CASES.len() >= 60, "{} cases", CASES.len());
    let dir = ScratchDir::new("bad-input").unwrap();
    let f = dir.path();
    fixtures(f);
    let toy = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/toy-reverse/eval.jsonl");
    let before = hashes(f);
    let mut failures = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let out = f.join(format!("out-{i}"));
        let args: Vec<String> = c
            .args
            .split_whitespace()
            .map(|a| {
                a.replace("{F}", f.to_str().unwrap())
                    .replace("{out}", out.to_str().unwrap())
                    .replace("{model}", f.join("model").to_str().unwrap())
                    .replace("{toy}", toy.to_str().unwrap())
            })
            .collect();
        let o = rlp(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let e = stderr(&o);
        let code = o.status.code();
        let problem = if o.status.success() {
            Some("exit 0".to_string())
        } else if code == Some(101) || code.is_none() || e.contains("panicked") {
            Some(format!("panic or abort (exit {code:?})"))
        } else if !e.contains(c.needle) {
            Some(format!("message does not name `{}`", c.needle))
        } else if e.matches("(os error").count() > 1 {
            Some("message repeats its I/O cause".to_string())
        } else if out.exists() {
            Some(format!("left {} behind", out.display()))
        } else {
            None
        };
        if let Some(p) = problem {
            failures.push(format!("`rlp {}`: {p}\n    {}", c.args, e.trim()));
        }
    }
    // No file that existed before changed or vanished.
    let after = hashes(f);
    for (path, hash) in &before {
        match after.get(path) {
            Some(h) if h == hash => {}
            Some(_) => failures.push(format!("{} changed", path.display())),
            None => failures.push(format!("{} vanished", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
