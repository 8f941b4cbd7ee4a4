//! LoRA on every training verb: `--lora-rank` trains adapters on a frozen model, the run's
//! output is the merged model with `adapter/` in PEFT's format beside it, `rlp lora merge` of
//! that adapter onto the starting model gives the run's merged weights, and the weights the
//! adapters do not target are the starting model's, bit for bit.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{assert_clean_failure, rlp, stderr, tiny_sft, write_pairs};
use rlp_core::ScratchDir;

type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

fn weights(dir: &Path) -> Tensors {
    rlp::models::checkpoint::read_safetensors(&dir.join("model.safetensors")).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Checks one verb's output model directory `trained` (with `adapter/`) against `base`.
fn check(verb: &str, base: &Path, trained: &Path, scratch: &Path) {
    let adapter = trained.join("adapter");
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        assert!(adapter.join(f).is_file(), "{verb}: adapter/{f} missing");
    }
    let merged = scratch.join(format!("merged-{verb}"));
    let o = rlp(&[
        "lora",
        "merge",
        "--base",
        s(base),
        "--adapter",
        s(&adapter),
        "--out",
        s(&merged),
    ]);
    assert!(o.status.success(), "{verb}: {}", stderr(&o));
    assert!(merged.join("tokenizer.json").is_file());
    let (b, t, m) = (weights(base), weights(trained), weights(&merged));
    let mut adapted = 0;
    for (name, (shape, base_vals)) in &b {
        let (_, trained_vals) = &t[name];
        let (merged_shape, merged_vals) = &m[name];
        assert_eq!(shape, merged_shape);
        let worst = trained_vals
            .iter()
            .zip(merged_vals)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-5,
            "{verb}: {name}: run's merge vs rlp lora merge: {worst}"
        );
        let targeted = name.contains("q_proj") || name.contains("v_proj");
        if targeted {
            adapted += usize::from(trained_vals != base_vals);
        } else {
            assert!(trained_vals == base_vals, "{verb}: frozen {name} changed");
        }
    }
    assert!(adapted > 0, "{verb}: no targeted weight moved");
}

#[test]
fn every_training_verb_trains_a_peft_adapter() {
    let d = ScratchDir::new("lora-verbs").unwrap();
    let base = tiny_sft(d.path());
    let lora = [
        "--lora-rank",
        "2",
        "--lora-alpha",
        "4",
        "--lora-targets",
        "q,v",
    ];
    let pairs = d.join("pairs.jsonl");
    write_pairs(&pairs, 16, 0);
    let run = |verb: &str, args: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(lora);
        let o = rlp(&a);
        assert!(o.status.success(), "{verb}: {}", stderr(&o));
        assert!(stderr(&o).contains("LoRA r=2"), "{verb}: {}", stderr(&o));
    };

    let sft = d.join("sft");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/toy-reverse/eval.jsonl");
    run(
        "sft",
        &[
            "sft",
            "--init",
            s(&base),
            "--data",
            s(&data),
            "--out",
            s(&sft),
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--lr",
            "1e-2",
        ],
    );
    check("sft", &base, &sft, d.path());

    let rm = d.join("rm");
    run(
        "reward",
        &[
            "reward",
            "train",
            "--init",
            s(&base),
            "--data",
            s(&pairs),
            "--out",
            s(&rm),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--lr",
            "1e-2",
        ],
    );
    check("reward", &base, &rm, d.path());

    let dpo = d.join("dpo");
    let dpo_cfg = d.join("dpo.toml");
    std::fs::write(&dpo_cfg, "[dpo]\nbatch_size = 8\nlr = 1e-2\n").unwrap();
    run(
        "dpo",
        &[
            "dpo",
            "--config",
            s(&dpo_cfg),
            "--task",
            "synthetic",
            "--policy",
            s(&base),
            "--data",
            s(&pairs),
            "--out",
            s(&dpo),
        ],
    );
    check("dpo", &base, &dpo.join("policy"), d.path());

    let ppo = d.join("ppo");
    let ppo_cfg = d.join("ppo.toml");
    std::fs::write(
        &ppo_cfg,
        "task = \"synthetic\"\nreward = \"gold\"\niterations = 2\neval_every = 2\n\
         eval_prompts = 8\ndrift_texts = 8\nfinal_win_rates = false\n[ppo]\n\
         rollout_batch_size = 8\nmini_batch_size = 4\nppo_epochs = 1\nmax_new_tokens = 6\n\
         value_init = \"policy\"\nlr = 1e-2\n[eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    run(
        "ppo",
        &[
            "ppo",
            "--config",
            s(&ppo_cfg),
            "--policy",
            s(&base),
            "--out",
            s(&ppo),
        ],
    );
    check("ppo", &base, &ppo.join("policy"), d.path());

    for verb in ["grpo", "rloo"] {
        let out = d.join(verb);
        let cfg = d.join(format!("{verb}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "task = \"synthetic\"\nsteps = 3\neval_every = 3\neval_prompts = 8\n\
                 drift_texts = 8\n[{verb}]\nlr = 1e-2\nprompts_per_step = 4\n\
                 max_new_tokens = 6\nmask_truncated = false\n[eval]\nmax_new_tokens = 6\n"
            ),
        )
        .unwrap();
        // The reward model trained above scores every sample differently, so no group ties.
        run(
            verb,
            &[
                verb,
                "--config",
                s(&cfg),
                "--policy",
                s(&base),
                "--reward",
                s(&rm),
                "--out",
                s(&out),
            ],
        );
        check(verb, &base, &out.join("policy"), d.path());
    }
}

#[test]
fn bad_lora_input_is_a_clear_error() {
    let d = ScratchDir::new("lora-bad").unwrap();
    let base = tiny_sft(d.path());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/toy-reverse/eval.jsonl");
    let sft = |extra: &[&str]| {
        let mut a = vec![
            "sft",
            "--init",
            s(&base),
            "--data",
            s(&data),
            "--steps",
            "1",
            "--batch-size",
            "2",
        ];
        a.extend(extra);
        let out = d.join("x");
        let _ = std::fs::remove_dir_all(&out);
        a.extend(["--out", "PLACEHOLDER"]);
        let n = a.len();
        let out_s = out.to_str().unwrap().to_string();
        let mut owned: Vec<String> = a.iter().map(|x| x.to_string()).collect();
        owned[n - 1] = out_s;
        rlp(&owned.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_clean_failure(&sft(&["--lora-targets", "q,qkv"]), "qkv");
    assert_clean_failure(&sft(&["--lora-rank", "0"]), "lora.rank");
    assert_clean_failure(&sft(&["--lora-rank", "2", "--lora-alpha=-1"]), "lora.alpha");

    // A merge refuses a missing adapter, an adapter for another model, and an occupied --out.
    let merge = |adapter: &Path, out: &Path| {
        rlp(&[
            "lora",
            "merge",
            "--base",
            s(&base),
            "--adapter",
            s(adapter),
            "--out",
            s(out),
        ])
    };
    assert_clean_failure(
        &merge(&d.join("nope"), &d.join("m1")),
        "adapter_config.json",
    );
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/rlp-models/tests/fixtures/peft_lora/adapter");
    assert_clean_failure(&merge(&fixture, &d.join("m2")), "lora_A.weight");
    std::fs::create_dir_all(d.join("m3")).unwrap();
    std::fs::write(d.join("m3/keep.txt"), "mine").unwrap();
    let lora_run = d.join("lora-run");
    let o = rlp(&[
        "sft",
        "--init",
        s(&base),
        "--data",
        s(&data),
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--lora-rank",
        "2",
        "--out",
        s(&lora_run),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_clean_failure(
        &merge(&lora_run.join("adapter"), &d.join("m3")),
        "--overwrite",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("m3/keep.txt")).unwrap(),
        "mine"
    );
    assert_clean_failure(&merge(&lora_run.join("adapter"), &base), "input directory");
}
