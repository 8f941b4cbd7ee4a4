//! PPO, GRPO, Dr. GRPO, RLOO and online DPO on `arith` against the gold scorer, from the shipped
//! configs (`configs/{ppo,grpo,dr-grpo,rloo,online-dpo}-arith.toml`, frozen after development
//! on seed 100 and the dev split), with the same number of generated samples per step (32),
//! the same number of steps and the same β = 0.05.
//!
//!     cargo run --release --example online_methods -- [OUT] [--seeds 0,1,2] [--split eval]
//!
//! Every final policy is then measured the same way: `--eval-prompts` prompts of the split × 2
//! samples at temperature 1 against the base policy — gold, KL to the base (k1), and the mean
//! length of right (gold = 1) and wrong completions, which is Dr. GRPO's diagnostic (Liu et al.
//! 2025 argue that GRPO's per-sequence length normalisation and std scaling make wrong answers
//! grow longer). Wall time per step is read from each run's `metrics.jsonl`. Writes the runs,
//! `results.jsonl` and `table.md` (mean ± SE over seeds, and each method's difference with PPO
//! paired by seed) into OUT (default `runs/online-methods`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rlp::core::SeededRng;
use rlp::eval::{EvalConfig, MeanSe, evaluate_policy_detailed};
use rlp::models::{CausalLm, checkpoint};
use rlp::runs::online::{
    LengthsByGold, OnlineMethod, OnlineRunConfig, run_online, seconds_per_step,
};
use rlp::runs::ppo::{PpoRunConfig, run_ppo};
use rlp::tasks::{BasePolicy, EvalSplit, Task, load_base_policy, load_task};
use serde::{Deserialize, Serialize};

/// The methods, with their configs.
const METHODS: [(&str, &str); 5] = [
    ("PPO", "ppo-arith.toml"),
    ("GRPO", "grpo-arith.toml"),
    ("Dr. GRPO", "dr-grpo-arith.toml"),
    ("RLOO", "rloo-arith.toml"),
    ("online DPO", "online-dpo-arith.toml"),
];

/// The comparison.
#[derive(clap::Parser)]
struct Args {
    /// Output directory.
    #[arg(default_value = "runs/online-methods")]
    out: PathBuf,
    /// Seeds (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    /// The held-out split measured and evaluated during the runs: eval (reported) or dev.
    #[arg(long, default_value = "eval", value_parser = parse_split)]
    split: EvalSplit,
    /// Prompts of the split in the final measurement (2 samples each).
    #[arg(long, default_value_t = 250)]
    eval_prompts: usize,
    /// Where the configs are.
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Measure the runs already in OUT again instead of training (the measurement is seeded,
    /// so it gives the same numbers).
    #[arg(long)]
    measure_only: bool,
}

/// One finished run, measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    method: String,
    seed: u64,
    gold: f64,
    kl: f64,
    lengths: LengthsByGold,
    seconds_per_step: f64,
}

fn main() -> Result<()> {
    let args = <Args as clap::Parser>::parse();
    std::fs::create_dir_all(&args.out)?;
    let results = args.out.join("results.jsonl");
    let _ = std::fs::remove_file(&results);
    let mut rows = Vec::new();
    let device = rlp::core::BackendSpec::default().device()?;
    let task = load_task("arith", 0, &device)?.evaluated_on(args.split)?;
    let base = load_base_policy(&task, 0, &device)?;
    for &seed in &args.seeds {
        let row = measure("base policy", seed, &base.model, &base, &task, &args)?;
        rlp::train::run_dir::RunDir::new(&args.out).append_jsonl("results.jsonl", &row)?;
        rows.push(row);
        for (method, file) in METHODS {
            let dir = args.out.join(format!("{}-seed{seed}", slug(method)));
            if !args.measure_only {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)?;
                }
                eprintln!("== {method}, seed {seed}");
                train(method, &args.configs.join(file), seed, args.split, &dir)?;
            }
            let policy = checkpoint::load(dir.join("policy"), &device)
                .with_context(|| format!("loading {}", dir.join("policy").display()))?;
            let mut row = measure(method, seed, &policy, &base, &task, &args)?;
            row.seconds_per_step = seconds_per_step(&dir.join("metrics.jsonl"))?;
            eprintln!(
                "{method}, seed {seed}: gold {:.3}, KL {:.2}, {:.2} s/step",
                row.gold, row.kl, row.seconds_per_step
            );
            rlp::train::run_dir::RunDir::new(&args.out).append_jsonl("results.jsonl", &row)?;
            rows.push(row);
        }
    }
    let table = table(&rows, &args);
    std::fs::write(args.out.join("table.md"), &table)?;
    println!("{table}");
    Ok(())
}

/// `eval` or `dev`.
fn parse_split(s: &str) -> Result<EvalSplit, String> {
    match s {
        "eval" => Ok(EvalSplit::Eval),
        "dev" => Ok(EvalSplit::Dev),
        other => Err(format!("unknown split `{other}` (eval or dev)")),
    }
}

/// The method's name as a directory name (`dr-grpo`, `online-dpo`).
fn slug(method: &str) -> String {
    method.to_lowercase().replace(". ", "-").replace(' ', "-")
}

/// Runs `method` from `config` with every seed set to `seed`, evaluated on `split`.
fn train(method: &str, config: &Path, seed: u64, split: EvalSplit, out: &Path) -> Result<()> {
    if method == "PPO" {
        let mut c = PpoRunConfig::load(config)?;
        c.seed = seed;
        c.ppo.seed = seed;
        c.eval_split = split;
        run_ppo(&c, out, false)?;
        return Ok(());
    }
    let mut c = OnlineRunConfig::load(config)?;
    c.seed = seed;
    c.eval_split = split;
    let verb = if let Some(g) = c.grpo.as_mut() {
        g.seed = seed;
        OnlineMethod::Grpo
    } else if let Some(r) = c.rloo.as_mut() {
        r.seed = seed;
        OnlineMethod::Rloo
    } else {
        c.online_dpo.get_or_insert_default().seed = seed;
        OnlineMethod::OnlineDpo
    };
    run_online(verb, &c, out, false)?;
    Ok(())
}

/// `policy` measured on the split against the base policy (`seconds_per_step` left at 0).
fn measure(
    method: &str,
    seed: u64,
    policy: &CausalLm,
    base: &BasePolicy,
    task: &Task,
    args: &Args,
) -> Result<Row> {
    let prompts = &task.eval_prompts[..args.eval_prompts.min(task.eval_prompts.len())];
    let mut config = EvalConfig::default();
    config.samples_per_prompt = 2;
    config.max_new_tokens = 40;
    let run = evaluate_policy_detailed(
        policy,
        &base.model,
        &base.tokenizer,
        prompts,
        task.gold.as_ref(),
        None,
        &[],
        &config,
        &SeededRng::new(seed).fork("online-methods-measure"),
    )?;
    Ok(Row {
        method: method.into(),
        seed,
        gold: run.summary.gold.mean,
        kl: run.summary.kl_k1.mean,
        lengths: LengthsByGold::of(&run),
        seconds_per_step: 0.0,
    })
}

fn cell(m: MeanSe, digits: usize) -> String {
    format!("{:.*} ± {:.*}", digits, m.mean, digits, m.se)
}

/// The markdown table: mean ± SE over seeds, and the paired difference with PPO.
fn table(rows: &[Row], args: &Args) -> String {
    let of = |method: &str, f: &dyn Fn(&Row) -> Option<f64>| {
        MeanSe::of(
            &rows
                .iter()
                .filter(|r| r.method == method)
                .filter_map(f)
                .collect::<Vec<_>>(),
        )
    };
    let paired = |method: &str| {
        let d: Vec<f64> = rows
            .iter()
            .filter(|r| r.method == method)
            .filter_map(|r| {
                rows.iter()
                    .find(|p| p.method == "PPO" && p.seed == r.seed)
                    .map(|p| r.gold - p.gold)
            })
            .collect();
        MeanSe::of(&d)
    };
    let mut s = format!(
        "PPO, GRPO, Dr. GRPO, RLOO and online DPO on arith against the gold scorer; seeds {:?}, \
         the {:?} split ({} prompts × 2 samples at temperature 1).\n\n\
         | method | gold | gold − PPO (paired) | KL to base (nats) | tokens, right answers | \
         tokens, wrong answers | s per step |\n|---|---|---|---|---|---|---|\n",
        args.seeds, args.split, args.eval_prompts
    );
    let names = std::iter::once("base policy").chain(METHODS.iter().map(|(m, _)| *m));
    for method in names {
        if !rows.iter().any(|r| r.method == method) {
            continue;
        }
        let diff = if method == "PPO" {
            "–".to_string()
        } else {
            cell(paired(method), 3)
        };
        let secs = if method == "base policy" {
            "–".to_string()
        } else {
            cell(of(method, &|r| Some(r.seconds_per_step)), 2)
        };
        s += &format!(
            "| {method} | {} | {diff} | {} | {} | {} | {secs} |\n",
            cell(of(method, &|r| Some(r.gold)), 3),
            cell(of(method, &|r| Some(r.kl)), 2),
            cell(of(method, &|r| r.lengths.high_len), 1),
            cell(of(method, &|r| r.lengths.low_len), 1),
        );
    }
    s += "\nMean ± standard error across seeds; the difference with PPO is paired by seed.\n";
    s
}
