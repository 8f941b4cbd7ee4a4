//! Every training verb that writes `checkpoint-N` resumes exactly (issue: resume for every
//! verb). Each case runs a verb to the end with `--save-every 2`, then rebuilds the directory a
//! `kill -9` after step 3 would have left (checkpoint-2 complete, a half-written checkpoint-4
//! under its temporary name, metrics for steps 1–3 with the last line torn, no final model)
//! and runs the same command with `--resume`. The `grpo`, `rloo` and `online-dpo` cases are
//! also those verbs' smoke tests. The final weights must be byte-identical and
//! the metrics equal but for their wall times.

mod common;

use std::path::{Path, PathBuf};

use common::{
    as_if_killed_after_step_3, metrics, rlp, stderr, tiny_sft, tiny_sft_args, write_labelled,
    write_pairs,
};
use rlp_core::ScratchDir;

/// Runs `args` (which must write `checkpoint-N` every 2 steps into `--out`) into `full`, fakes the kill into
/// `killed`, resumes it, and compares.
fn resumes_exactly(args: &dyn Fn(&Path) -> Vec<String>, full: &Path, killed: &Path, weights: &str) {
    let run = |out: &Path, extra: &[&str]| {
        let mut a = args(out);
        a.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = rlp(&a);
        assert!(o.status.success(), "{a:?}: {}", stderr(&o));
    };
    run(full, &[]);
    assert!(full.join("checkpoint-2/trainer/state.json").is_file());
    as_if_killed_after_step_3(full, killed);
    // Without --resume the half-finished run is refused, not replaced.
    let a = args(killed);
    let o = rlp(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !o.status.success() && stderr(&o).contains("--resume"),
        "{}",
        stderr(&o)
    );
    run(killed, &["--resume"]);
    let bytes = |d: &Path| std::fs::read(d.join(weights)).unwrap();
    assert!(
        bytes(full) == bytes(killed),
        "{weights} differs after resume"
    );
    assert_eq!(metrics(full), metrics(killed));
    assert!(!killed.join(".checkpoint-4.partial").exists());
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn sft_resumes_exactly() {
    sft_resumes_exactly_with(&[], "model.safetensors");
}

#[test]
fn lora_sft_resumes_exactly() {
    sft_resumes_exactly_with(
        &[
            "--lora-rank",
            "4",
            "--lora-targets",
            "q,v,down",
            "--grad-checkpointing",
        ],
        "adapter/adapter_model.safetensors",
    );
}

#[test]
fn qlora_sft_resumes_exactly() {
    // The trainer state holds the quantized base as it is (burnpack stores the packed integers
    // and scales), so a resumed run continues from the same base.
    sft_resumes_exactly_with(
        &["--lora-rank", "4", "--lora-quantize", "q4"],
        "adapter/adapter_model.safetensors",
    );
}

/// `rlp sft` with `extra` flags resumes exactly, comparing `weights`.
fn sft_resumes_exactly_with(extra: &[&str], weights: &str) {
    let d = ScratchDir::new("resume-sft").unwrap();
    let args = |out: &Path| -> Vec<String> {
        // tests/common's tiny model, for 6 steps.
        let mut more = vec!["--steps", "6", "--save-every", "2"];
        more.extend(extra);
        tiny_sft_args(out, &more)
    };
    resumes_exactly(&args, &d.join("full"), &d.join("killed"), weights);
    // Every checkpoint is a loadable model directory too.
    assert!(d.join("killed/checkpoint-4/tokenizer.json").is_file());
    assert!(d.join("killed/checkpoint-6/model.safetensors").is_file());
}

#[test]
fn reward_train_resumes_exactly() {
    let d = ScratchDir::new("resume-reward").unwrap();
    let policy: PathBuf = tiny_sft(d.path());
    let pairs = d.join("pairs.jsonl");
    write_pairs(&pairs, 24, 0);
    let args = |out: &Path| -> Vec<String> {
        [
            "reward",
            "train",
            "--data",
            &s(&pairs),
            "--init",
            &s(&policy),
            "--out",
            &s(out),
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--lr",
            "3e-3",
            "--save-every",
            "2",
        ]
        .map(String::from)
        .to_vec()
    };
    resumes_exactly(
        &args,
        &d.join("full"),
        &d.join("killed"),
        "model.safetensors",
    );
}

#[test]
fn classifier_train_resumes_exactly() {
    let d = ScratchDir::new("resume-classifier").unwrap();
    let policy: PathBuf = tiny_sft(d.path());
    let data = d.join("labelled.jsonl");
    write_labelled(&data, 40, 0);
    let args = |out: &Path| -> Vec<String> {
        [
            "classifier",
            "train",
            "--data",
            &s(&data),
            "--init",
            &s(&policy),
            "--out",
            &s(out),
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--save-every",
            "2",
        ]
        .map(String::from)
        .to_vec()
    };
    resumes_exactly(
        &args,
        &d.join("full"),
        &d.join("killed"),
        "model.safetensors",
    );
}

#[test]
fn dpo_resumes_exactly() {
    let d = ScratchDir::new("resume-dpo").unwrap();
    let pairs = d.join("pairs.jsonl");
    let line = "{\"prompt\": \"review: so city\", \"chosen\": \" good great good\", \
                \"rejected\": \" bad worst bad\"}\n";
    std::fs::write(&pairs, line.repeat(24)).unwrap();
    let config = d.join("dpo.toml");
    std::fs::write(
        &config,
        "checkpoint_every = 2\n[dpo]\nbatch_size = 4\nlr = 1e-3\n",
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        [
            "dpo",
            "--config",
            &s(&config),
            "--task",
            "synthetic",
            "--data",
            &s(&pairs),
            "--out",
            &s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    resumes_exactly(
        &args,
        &d.join("full"),
        &d.join("killed"),
        "policy/model.safetensors",
    );
    assert!(
        d.join("killed/checkpoint-4/policy/tokenizer.json")
            .is_file()
    );
}

#[test]
fn fdpg_resumes_exactly() {
    let d = ScratchDir::new("resume-fdpg").unwrap();
    let config = d.join("fdpg.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nsteps = 6\ncheckpoint_every = 2\neval_prompts = 8\n\
         drift_texts = 8\n[fdpg]\nlr = 1e-3\nbatch_size = 8\nmax_new_tokens = 6\n\
         [eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        ["fdpg", "--config", &s(&config), "--out", &s(out)]
            .map(String::from)
            .to_vec()
    };
    resumes_exactly(
        &args,
        &d.join("full"),
        &d.join("killed"),
        "policy/model.safetensors",
    );
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("killed/eval.json")).unwrap())
            .unwrap();
    assert_eq!(eval["steps"], 6);
    assert!(eval["end"]["gold"]["mean"].as_f64().is_some(), "{eval}");
}

#[test]
fn quark_resumes_exactly() {
    let d = ScratchDir::new("resume-quark").unwrap();
    let config = d.join("quark.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nphases = 6\ncheckpoint_every = 2\neval_prompts = 8\n\
         [quark]\nlr = 1e-3\nbatch_size = 4\nsamples_per_phase = 8\nsteps_per_phase = 2\n\
         max_new_tokens = 6\n",
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        ["quark", "--config", &s(&config), "--out", &s(out)]
            .map(String::from)
            .to_vec()
    };
    resumes_exactly(
        &args,
        &d.join("full"),
        &d.join("killed"),
        "policy/model.safetensors",
    );
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("killed/eval.json")).unwrap())
            .unwrap();
    assert_eq!(eval["phases"], 6);
    // The policy and its checkpoints carry the K reward tokens in their tokenizer.
    let tk = std::fs::read_to_string(d.join("killed/checkpoint-4/policy/tokenizer.json")).unwrap();
    assert!(
        tk.contains("<|quark_4|>"),
        "no reward tokens in the checkpoint's tokenizer"
    );
}

/// `rlp grpo`, `rlp rloo` or `rlp online-dpo` (whose settings go in `table`) on the synthetic
/// task for 6 steps, resumed after a fake kill; the run ends with its summary, report and plot.
fn online_resumes_exactly(verb: &str, table: &str) {
    online_resumes_exactly_with(verb, table, "", "policy/model.safetensors");
}

/// [`online_resumes_exactly`] with `extra` appended to the config, comparing `weights`.
fn online_resumes_exactly_with(verb: &str, table: &str, extra: &str, weights: &str) {
    let d = ScratchDir::new(&format!("resume-{verb}")).unwrap();
    let config = d.join("online.toml");
    std::fs::write(
        &config,
        format!(
            "task = \"synthetic\"\nsteps = 6\neval_every = 3\ncheckpoint_every = 2\n\
             eval_prompts = 8\ndrift_texts = 8\n[{table}]\nlr = 1e-3\nprompts_per_step = 4\n\
             max_new_tokens = 6\n[eval]\nmax_new_tokens = 6\n{extra}"
        ),
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        [verb, "--config", &s(&config), "--out", &s(out)]
            .map(String::from)
            .to_vec()
    };
    resumes_exactly(&args, &d.join("full"), &d.join("killed"), weights);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("full/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["steps"], 6);
    let steps: Vec<u64> = summary["evals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [0, 3, 6], "{summary}");
    assert!(summary["seconds_per_step"].as_f64().unwrap() > 0.0);
    for f in [
        "report.md",
        "gold_vs_kl.png",
        "checkpoint-4/model.safetensors",
    ] {
        assert!(d.join("killed").join(f).is_file(), "{f}");
    }
}

#[test]
fn grpo_resumes_exactly() {
    online_resumes_exactly("grpo", "grpo");
}

#[test]
fn grpo_with_lora_resumes_exactly() {
    // The adapter's factors and their AdamW moments are the trainer state; the merged policy
    // and the PEFT adapter both come out byte-identical.
    online_resumes_exactly_with(
        "grpo",
        "grpo",
        "[lora]\nrank = 4\ntargets = [\"q\", \"v\", \"down\"]\n",
        "policy/adapter/adapter_model.safetensors",
    );
}

#[test]
fn rloo_resumes_exactly() {
    online_resumes_exactly("rloo", "rloo");
}

#[test]
fn online_dpo_resumes_exactly() {
    online_resumes_exactly("online-dpo", "online_dpo");
}
