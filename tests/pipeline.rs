//! The RLP pipeline end to end on the tiny `synthetic` task: every method in every seed, the
//! table, the diagnostic, the run directory; and a seed fixes the run.

use std::path::Path;

use rlp::pipeline::{METHODS, PipelineConfig, run_pipeline};

/// The synthetic base after SFT on random words (so its samples have gold scores), saved once
/// per test binary.
fn sft_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rlp-pipeline-sft-{}", std::process::id()));
        let device = rlp::core::device::test_backend().autodiff_device().unwrap();
        let task = rlp::tasks::synthetic::synthetic(0);
        let b = rlp::tasks::synthetic::word_writer(&task, 0, 150, &device).unwrap();
        rlp::models::checkpoint::save(&b.model, &dir).unwrap();
        b.tokenizer.save(dir.join("tokenizer.json")).unwrap();
        dir
    })
    .clone()
}

/// A config small enough for seconds: two PPO iterations per round.
fn tiny(seeds: Vec<u64>) -> PipelineConfig {
    let text = r#"
task = "synthetic"
iterations = 2
retrain_pairs = 32

[preferences]
pairs = 64
max_new_tokens = 16

[reward]
batch_size = 16
lr = 1e-3
max_len = 32

[ppo]
rollout_batch_size = 8
mini_batch_size = 8
ppo_epochs = 1
lr = 1e-3
max_new_tokens = 8
kl = { kind = "fixed", beta = 0.05 }

[policy_samples]
prompts = 8
n = 4
max_new_tokens = 8

[uml]
view_batch_size = 4
z_dim = 8
encoder_hidden = 16
critic_hidden = 16

[uml.rm]
batch_size = 8
lr = 1e-4
max_len = 32

[spg]
n = 4

[spg_train]
batch_size = 8
lr = 1e-4
max_len = 32

[clusterer]
kind = "normalized"

[bon]
n = 2

[eval]
prompts = 6
samples_per_prompt = 2
max_new_tokens = 8
drift_texts = 8
"#;
    let mut c: PipelineConfig = toml::from_str(text).unwrap();
    c.seeds = seeds;
    c.policy = Some(sft_dir());
    c
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rlp-pipeline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_method_in_every_seed_with_table_and_report() {
    let out = scratch("full");
    let r = run_pipeline(&tiny(vec![0, 1]), &out).unwrap();
    assert_eq!(r.results.len(), METHODS.len() * 2);
    assert!(out.join("seed-0/rm-control/model.safetensors").exists());
    assert!(
        out.join("seed-0/ppo-control/policy/model.safetensors")
            .exists()
    );
    for m in METHODS {
        for seed in [0, 1] {
            let row = r
                .results
                .iter()
                .find(|x| x.method == m && x.seed == seed)
                .unwrap_or_else(|| panic!("{m} seed {seed} missing"));
            assert!((0.0..=1.0).contains(&row.win_gold), "{row:?}");
            assert!((0.0..=1.0).contains(&row.win_annotators), "{row:?}");
            assert!(row.gold.mean.is_finite() && row.kl.is_finite(), "{row:?}");
        }
        assert!(r.table.contains(&format!("| {m} |")), "{}", r.table);
    }
    // SFT has KL 0 to itself; PPO moved away from it.
    let ppo = r.results.iter().find(|x| x.method == "PPO").unwrap();
    assert!(ppo.kl > 0.0, "{ppo:?}");
    // The diagnostic: r and r̂ on P, on the first-round policy's and on each final policy's
    // eval samples.
    assert_eq!(r.agreement.len(), 3 * 4 * 2);
    for f in [
        "config.toml",
        "preferences.jsonl",
        "rm/model.safetensors",
        "rm/normalization.json",
        "seed-0/rm-uml/normalization.json",
        "results.jsonl",
        "table.md",
        "report.md",
        "win_rates.svg",
        "win_rates.png",
        "seed-0/ppo/policy/model.safetensors",
        "seed-0/policy_samples.jsonl",
        "seed-0/rm-uml/model.safetensors",
        "seed-0/rm-uml/uml_report.json",
        "seed-0/rm-spg/spg_pairs.jsonl",
        "seed-0/rm-spg/spg_report.json",
        "seed-1/ppo-uml/policy/model.safetensors",
        "seed-1/ppo-spg/policy/model.safetensors",
        "seed-1/results.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // The verdict compares each variant with PPO and the control; the report explains it.
    assert!(r.verdict.contains("RLP-UML − PPO") && r.verdict.contains("RLP-SPG − Retrain-D"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for part in ["## Verdict", "SPG kept", "UML's JS estimate"] {
        assert!(report.contains(part), "report.md lacks {part}");
    }
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), METHODS.len() * 2);
    let samples = std::fs::read_to_string(out.join("seed-0/policy_samples.jsonl")).unwrap();
    assert_eq!(samples.lines().count(), 8);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("seed-0/rm-spg/spg_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["prompts"], 8);
    let _ = std::fs::remove_dir_all(&out);
}

/// The same seed gives the same results, byte for byte.
#[test]
fn a_seed_fixes_the_run() {
    let (a, b) = (scratch("det-a"), scratch("det-b"));
    run_pipeline(&tiny(vec![3]), &a).unwrap();
    run_pipeline(&tiny(vec![3]), &b).unwrap();
    let read = |d: &Path| std::fs::read_to_string(d.join("results.jsonl")).unwrap();
    assert_eq!(read(&a), read(&b));
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn the_embedded_default_parses_and_validates() {
    let c = PipelineConfig::embedded_default().unwrap();
    c.validate().unwrap();
    assert_eq!(c.task, "arith");
    assert_eq!(c.seeds, [0, 1, 2, 3, 4], "the reported seeds");
    assert_eq!(
        c.eval.split,
        rlp::tasks::EvalSplit::Eval,
        "reported on eval"
    );
    let main = PipelineConfig::main_job().unwrap();
    assert_eq!(main.seeds, [0, 1, 2], "the main job: the first three");
    assert_eq!(
        PipelineConfig {
            seeds: c.seeds.clone(),
            ..main
        },
        c
    );
    // Tweet-sentiment stays one flag away.
    let tweets = PipelineConfig::load("configs/pipeline-tweet-sentiment.toml".as_ref()).unwrap();
    tweets.validate().unwrap();
    assert_eq!(tweets.task, "tweet-sentiment");
    let mut bad = c.clone();
    bad.seeds = vec![1, 1];
    assert!(bad.validate().unwrap_err().to_string().contains("seeds"));
}

/// `arith` end to end from the shipped base policy, seconds-scale: every table cell is finite,
/// and RLP-SPG, clustering samples by their final answer, keeps prompts (the base answers
/// consistently enough for a largest cluster of at least half the samples).
#[test]
fn arith_end_to_end_with_answer_clusters() {
    // The tiny config, on arith: the shipped base, answers of up to 40 tokens read whole by
    // every reward model, samples grouped by their final answer, greedy accuracy measured.
    let mut config = tiny(vec![0]);
    config.task = "arith".into();
    config.policy = None;
    config.preferences.pairs = 96;
    config.ppo.lr = 1e-4;
    config.policy_samples.n = 6;
    config.spg.n = 6;
    config.clusterer = rlp::pipeline::config::ClustererSpec::Answer;
    config.eval.greedy = true;
    config.ppo_eval_every = 1;
    config.policy_samples.sft_too = true;
    config.preferences.max_new_tokens = 40;
    config.ppo.max_new_tokens = 40;
    config.policy_samples.max_new_tokens = 40;
    config.eval.max_new_tokens = 40;
    for rm in [
        &mut config.reward,
        &mut config.uml.rm,
        &mut config.spg_train,
    ] {
        rm.max_len = 128;
    }
    config.validate().unwrap();
    let out = scratch("arith");
    let r = run_pipeline(&config, &out).unwrap();
    assert_eq!(r.results.len(), METHODS.len());
    for row in &r.results {
        assert!((0.0..=1.0).contains(&row.win_gold), "{row:?}");
        assert!((0.0..=1.0).contains(&row.gold.mean), "{row:?}");
        assert!(row.gold.se.is_finite() && row.kl.is_finite(), "{row:?}");
        assert!(row.drift_ppl.is_none_or(f64::is_finite), "{row:?}");
        // Greedy accuracy for every method with a single policy.
        match row.gold_greedy {
            Some(g) => assert!(
                (0.0..=1.0).contains(&g) && row.method != "Best-of-n",
                "{row:?}"
            ),
            None => assert_eq!(row.method, "Best-of-n", "{row:?}"),
        }
    }
    assert!(r.table.contains("gold score, greedy"), "{}", r.table);
    // The premise: r's agreement on SFT samples of P's prompts, beside π₁'s, per retraining.
    let premise = |samples: &str| {
        r.agreement
            .iter()
            .filter(|a| a.samples == samples)
            .map(|a| a.before.pairs)
            .collect::<Vec<_>>()
    };
    assert_eq!(premise("SFT on P's prompts (all pairs)").len(), 3);
    assert_eq!(premise("P (π₁, all pairs)").len(), 3);
    assert!(out.join("seed-0/sft_samples.jsonl").exists());
    // π₁ followed through PPO: a row per iteration.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## π₁ through PPO"), "{report}");
    assert!(
        report.contains("| 1 |") && report.contains("| 2 |"),
        "{report}"
    );
    assert!(
        !r.table.contains("NaN") && !r.table.contains("inf"),
        "{}",
        r.table
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("seed-0/rm-spg/spg_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["prompts"], 8);
    assert!(report["kept"].as_u64().unwrap() > 0, "{report}");
    // The precision of D̂ by gold: every kept pair is judged.
    let precision: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("seed-0/rm-spg/spg_precision.json")).unwrap(),
    )
    .unwrap();
    let p = |k: &str| precision[k].as_u64().unwrap();
    assert_eq!(
        p("ordered") + p("ties") + p("reversed"),
        p("pairs"),
        "{precision}"
    );
    assert!(p("pairs") > 0, "{precision}");
    // What `rlp pipeline` prints beside the table: π₁'s curve and the mechanism, with SPG's
    // pair precision and UML's I_JS by quarter of training (from rm-uml/metrics.jsonl).
    assert!(r.pi1_curve.as_ref().is_some_and(|c| c.contains("| 2 |")));
    let ordered = format!(
        "gold agrees with {}/{} of its pairs",
        p("ordered"),
        p("pairs")
    );
    assert!(r.mechanism.contains(&ordered), "{}", r.mechanism);
    assert!(
        r.mechanism.contains("by quarter of training: -"),
        "{}",
        r.mechanism
    );
    let _ = std::fs::remove_dir_all(&out);
}
