//! What the binary's integration tests share: running `rlp`, reading its stderr, asserting a
//! clean failure, and a tiny SFT checkpoint to point verbs at.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `rlp` binary with `args`.
pub fn rlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlp"))
        .args(args)
        .output()
        .expect("runs")
}

/// Its stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A non-zero exit that is not a panic, with `needle` in the message.
pub fn assert_clean_failure(o: &Output, needle: &str) {
    let e = stderr(o);
    assert!(!o.status.success(), "expected failure, got success: {e}");
    assert!(!e.contains("panicked"), "panic instead of an error: {e}");
    assert!(e.contains(needle), "error should mention `{needle}`: {e}");
}

/// The arguments of `rlp sft` of a 1-layer, 32-wide model for 4 steps of 4 examples on
/// toy-reverse into `out`, with `extra`: a `--flag value` of the base set replaces its value,
/// anything else is appended.
pub fn tiny_sft_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/toy-reverse/eval.jsonl");
    let mut base = [
        "sft",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--steps",
        "4",
        "--batch-size",
        "4",
        "--layers",
        "1",
        "--hidden",
        "32",
        "--heads",
        "2",
        "--kv-heads",
        "1",
        "--ffn",
        "64",
        "--vocab-size",
        "300",
        "--max-len",
        "64",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect::<Vec<_>>();
    let mut rest = extra.iter();
    while let Some(&a) = rest.next() {
        let at = base.iter().position(|b| b == a);
        match at {
            Some(i) if a.starts_with("--") && i + 1 < base.len() => {
                base[i + 1] = rest.next().expect("a value after the flag").to_string();
            }
            _ => base.push(a.to_string()),
        }
    }
    base
}

/// `rlp sft` with [`tiny_sft_args`].
pub fn tiny_sft_into(out: &Path, extra: &[&str]) -> Output {
    let args = tiny_sft_args(out, extra);
    rlp(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A tiny SFT checkpoint ([`tiny_sft_into`]) in `dir/model`.
pub fn tiny_sft(dir: &Path) -> PathBuf {
    let out = dir.join("model");
    let o = tiny_sft_into(&out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// Preference JSONL over toy-reverse-like words: the chosen side says "a" more often.
pub fn write_pairs(path: &Path, n: usize, offset: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let k = (i + offset) % 3 + 1;
            let chosen = " a".repeat(k + 1) + " b";
            let rejected = " b".repeat(k + 1) + " a";
            serde_json::json!({"prompt": "reverse: a b =>", "chosen": chosen, "rejected": rejected})
                .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Labelled JSONL: digit strings labelled by their first digit's parity.
pub fn write_labelled(path: &Path, n: usize, offset: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let x = i + offset;
            let label = if x % 2 == 0 { "even" } else { "odd" };
            format!("{{\"text\":\"{} 123\",\"label\":\"{label}\"}}", x % 10)
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Turns the finished run `full` into `killed`, a copy of what a kill after step 3 leaves.
pub fn as_if_killed_after_step_3(full: &Path, killed: &Path) {
    std::fs::create_dir_all(killed).unwrap();
    for e in std::fs::read_dir(full).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        match name.as_str() {
            "checkpoint-2" => copy_dir(&e.path(), &killed.join(&name)),
            "metrics.jsonl" => {
                let text = std::fs::read_to_string(e.path()).unwrap();
                let mut kept: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
                kept.push_str("{\"step\": 4, \"loss\"");
                std::fs::write(killed.join(&name), kept).unwrap();
            }
            n if n.ends_with("_config.json") || n == "config.toml" => {
                std::fs::copy(e.path(), killed.join(&name)).unwrap();
            }
            _ => {}
        }
    }
    // A save interrupted half-way: the trainer state is there, the rest is not.
    let partial = killed.join(".checkpoint-4.partial/trainer");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("state.json"), "{").unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The metrics lines without their timings (`wall_time`, `seconds`, `time_*`, at any depth).
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    fn untimed(v: &mut serde_json::Value) {
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| k != "wall_time" && k != "seconds" && !k.starts_with("time_"));
            o.values_mut().for_each(untimed);
        }
    }
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            untimed(&mut v);
            v
        })
        .collect()
}
