//! How well a policy solves the `arith` task, and how self-consistent its answers are — the
//! two numbers RLP-SPG's premise rests on (a correct answer must be the most frequent one more
//! often than a single sample is correct).
//!
//!     cargo run --release --example arith_base -- [--model DIR] [--split eval|dev]
//!         [--prompts 500] [--k 10] [--temperature 1] [--seed 0]
//!
//! Default model: the shipped base policy (`models/arith/base`). Prints single-sample accuracy
//! at the temperature, majority-of-k accuracy, the mean largest-answer-cluster share (SPG's
//! confidence), greedy (T = 0) accuracy and the share of samples with no answer line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use rlp::core::answer::final_answer;
use rlp::core::{BackendSpec, SeededRng};
use rlp::eval::self_consistency;
use rlp::models::{CausalLm, GenerationConfig, TextTokenizer, checkpoint, generate_text};
use rlp::tasks::arith;

#[derive(Parser)]
struct Args {
    /// Policy checkpoint directory (default: the shipped `models/arith/base`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// `eval` or `dev`.
    #[arg(long, default_value = "eval")]
    split: String,
    /// Prompts from the start of the split.
    #[arg(long, default_value_t = 500)]
    prompts: usize,
    /// Samples per prompt.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// Longest response in tokens.
    #[arg(long, default_value_t = 48)]
    max_new_tokens: usize,
    /// Rows per generation batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend.
    #[arg(long, default_value = "flex")]
    backend: BackendSpec,
}

fn sample(
    model: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    config: &GenerationConfig,
    batch: usize,
    rng: &mut SeededRng,
) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(prompts.len());
    for chunk in prompts.chunks(batch) {
        out.extend(
            generate_text(model, tokenizer, chunk, config, rng)?
                .into_iter()
                .map(|c| c.text),
        );
    }
    Ok(out)
}

fn main() -> Result<()> {
    let a = Args::parse();
    anyhow::ensure!(
        a.k > 0 && a.prompts > 0,
        "--k and --prompts must be positive"
    );
    let device = a.backend.device()?;
    let dir = a.model.clone().unwrap_or_else(|| arith::base_policy_dir());
    let model = checkpoint::load(&dir, &device).with_context(|| format!("{}", dir.display()))?;
    let tokenizer = TextTokenizer::load(dir.join("tokenizer.json"))?;
    let splits = arith::splits();
    let problems = match a.split.as_str() {
        "eval" => &splits.eval,
        "dev" => &splits.dev,
        other => anyhow::bail!("--split: `{other}` is not `eval` or `dev`"),
    };
    let problems = &problems[..a.prompts.min(problems.len())];
    let start = Instant::now();
    let mut rng = SeededRng::new(a.seed).fork("arith-base/sample");

    let expanded: Vec<String> = problems
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.prompt.clone(), a.k))
        .collect();
    let sampled = sample(
        &model,
        &tokenizer,
        &expanded,
        &GenerationConfig::sampling(a.max_new_tokens, a.temperature),
        a.batch_size,
        &mut rng,
    )?;
    let answers: Vec<Vec<Option<i64>>> = sampled
        .chunks(a.k)
        .map(|c| c.iter().map(|t| final_answer(t)).collect())
        .collect();
    let correct: Vec<i64> = problems.iter().map(|p| p.answer).collect();
    let sc = self_consistency(&answers, &correct)?;
    let unanswered = answers.iter().flatten().filter(|x| x.is_none()).count();

    let prompts: Vec<String> = problems.iter().map(|p| p.prompt.clone()).collect();
    let greedy = sample(
        &model,
        &tokenizer,
        &prompts,
        &GenerationConfig::sampling(a.max_new_tokens, 0.0),
        a.batch_size,
        &mut rng,
    )?;
    let greedy_right = greedy
        .iter()
        .zip(&correct)
        .filter(|(t, c)| final_answer(t) == Some(**c))
        .count();

    println!(
        "{} on {} {} prompts, k = {} at T = {} ({:.0} s)",
        dir.display(),
        problems.len(),
        a.split,
        a.k,
        a.temperature,
        start.elapsed().as_secs_f64()
    );
    println!(
        "accuracy (one sample):     {:.1} ± {:.1} %",
        100.0 * sc.accuracy.mean,
        100.0 * sc.accuracy.se
    );
    println!(
        "majority-of-{} accuracy:   {:.1} ± {:.1} %",
        a.k,
        100.0 * sc.majority_accuracy.mean,
        100.0 * sc.majority_accuracy.se
    );
    println!("mean confidence:           {:.3}", sc.mean_confidence);
    println!(
        "greedy accuracy:           {:.1} %",
        100.0 * greedy_right as f64 / problems.len() as f64
    );
    println!(
        "no answer line:            {:.1} % of samples",
        100.0 * unanswered as f64 / sampled.len() as f64
    );
    for (p, g) in problems.iter().zip(&greedy).take(3) {
        println!("\n{}{g}\n(correct: {})", p.prompt, p.answer);
    }
    Ok(())
}
