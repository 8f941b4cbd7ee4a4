//! `rlp eval`: measures a policy checkpoint (default: the task's base policy) on a task's eval
//! prompts against the task's base policy as reference — gold (and proxy) score, KL k1/k3,
//! drift, diversity — and its win-rate over the base policy's responses to the same prompts
//! under the gold judge and under a pool of simulated annotators.
//!
//! The run directory receives `config.toml` (the resolved settings), `eval.json` (the summary
//! and win-rates), `samples.jsonl` (prompt, response, the base policy's response, gold, proxy)
//! and `report.md`.

use rlp_core::With;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rlp_core::{BackendSpec, RewardFn, SeededRng};
use rlp_eval::error::score_checked;
use rlp_eval::{
    AnnotatorPool, AnnotatorPoolConfig, EvalConfig, EvalSummary, GoldJudge, MeanSe, Report,
    WinRate, evaluate_policy_detailed, win_rate,
};
use rlp_models::generate_text;
use rlp_tasks::{DEFAULT_TASK, load_task};
use serde::{Deserialize, Serialize};

use super::{load_policy, load_proxy, read_toml, start_run_dir};

/// Every setting of an evaluation (`rlp eval --config FILE`; flags override fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalRunConfig {
    /// Task whose eval prompts, gold scorer, drift corpus and base policy are used.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy).
    pub policy: Option<PathBuf>,
    /// The reference the KL, drift and win-rates are measured against: a checkpoint directory
    /// sharing the policy's tokenizer (default: the task's base policy), e.g. the pretrained
    /// model a fine-tune started from.
    pub reference: Option<PathBuf>,
    /// An optional proxy: a reward-model directory, or `gold` for none.
    pub reward: String,
    /// Eval prompts used (from the start of the task's eval split).
    pub eval_prompts: usize,
    /// Drift-corpus texts used.
    pub drift_texts: usize,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated) and of sampling.
    pub seed: u64,
    /// Sampling and batching (the base policy's responses are sampled alike).
    pub eval: EvalConfig,
    /// The simulated annotators of the second win-rate.
    pub annotators: AnnotatorPoolConfig,
    /// Sample the reference on the same prompts and report win-rates over it (off: only the
    /// policy is sampled, half the generation).
    pub win_rates: bool,
}

impl Default for EvalRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            reference: None,
            reward: "gold".into(),
            eval_prompts: 128,
            drift_texts: 200,
            backend: BackendSpec::default(),
            seed: 0,
            eval: EvalConfig::default().with(|c| c.max_new_tokens = 24),
            annotators: AnnotatorPoolConfig::default(),
            win_rates: true,
        }
    }
}

impl EvalRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "eval")
    }
}

/// What an evaluation ends with (`eval.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalOutcome {
    /// The policy's measurements against the base policy as reference.
    pub summary: EvalSummary,
    /// Gold score of the reference's responses (absent with `win_rates = false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_gold: Option<MeanSe>,
    /// Win-rate over the reference's responses under the gold judge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_rate_gold: Option<WinRate>,
    /// Win-rate over the reference's responses under the annotator pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_rate_annotators: Option<WinRate>,
}

/// One line of `samples.jsonl`.
#[derive(Serialize)]
struct Sample<'a> {
    prompt: &'a str,
    response: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    gold: f64,
    proxy: Option<f64>,
}

/// Win-rates of an evaluation's responses over a reference policy's own samples on the same
/// prompts (sampled as `eval` says, from `rng.fork("reference")`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WinRates {
    /// Gold score of the reference's responses.
    pub reference_gold: MeanSe,
    /// Win-rate under the gold judge.
    pub gold: WinRate,
    /// Win-rate under the simulated annotator pool.
    pub annotators: WinRate,
    /// The reference's responses, in the order of the evaluation's.
    #[serde(skip)]
    pub reference_texts: Vec<String>,
}

/// Samples `reference` on the prompts of `run` and judges `run`'s responses against those
/// samples with the gold judge and an annotator pool over `gold`.
pub(crate) fn win_rates_over(
    reference: &rlp_models::CausalLm,
    tokenizer: &rlp_models::TextTokenizer,
    run: &rlp_eval::EvalRun,
    gold: &dyn RewardFn,
    annotators: &AnnotatorPoolConfig,
    eval: &EvalConfig,
    rng: &SeededRng,
) -> Result<WinRates> {
    let rows: Vec<String> = run.completions.iter().map(|c| c.prompt.clone()).collect();
    let texts: Vec<String> = run.completions.iter().map(|c| c.text.clone()).collect();
    let generation = rlp_models::GenerationConfig::sampling(eval.max_new_tokens, eval.temperature);
    let mut sampler = rng.fork("reference");
    let mut ref_texts = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(eval.batch_size.max(1)) {
        let c = generate_text(reference, tokenizer, chunk, &generation, &mut sampler)?;
        ref_texts.extend(c.into_iter().map(|c| c.text));
    }
    let ref_gold = score_checked(gold, &rows, &ref_texts)?;
    let pool = AnnotatorPool::new(gold, annotators.clone())?;
    Ok(WinRates {
        reference_gold: MeanSe::of(&ref_gold),
        gold: win_rate(&GoldJudge::new(gold), &rows, &texts, &ref_texts)?,
        annotators: win_rate(&pool, &rows, &texts, &ref_texts)?,
        reference_texts: ref_texts,
    })
}

/// Evaluates as `config` says, writing into `out`.
pub fn run_eval(config: &EvalRunConfig, out: &Path) -> Result<EvalOutcome> {
    config.eval.validate()?;
    config.annotators.validate()?;
    if config.eval_prompts == 0 {
        bail!("eval_prompts must be at least 1");
    }
    start_run_dir(out, config)?;
    let device = config.backend.device()?;
    let task = load_task(&config.task, config.seed, &device)?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &device)?;
    let (reference, ref_tokenizer) =
        load_policy(config.reference.as_deref(), &task, config.seed, &device)
            .context("loading the reference (`reference`, --reference)")?;
    if ref_tokenizer.vocab_size() != tokenizer.vocab_size()
        || reference.config.vocab_size != policy.config.vocab_size
    {
        bail!(
            "the reference ({}) and the policy do not share a vocabulary ({} vs {} ids): \
             KL and drift need the same tokenizer; pass --reference with the model the policy \
             was fine-tuned from",
            config
                .reference
                .as_ref()
                .map_or("the task's base policy".to_string(), |p| p
                    .display()
                    .to_string()),
            ref_tokenizer.vocab_size(),
            tokenizer.vocab_size()
        );
    }
    let proxy = load_proxy(
        &config.reward,
        policy.config.max_position_embeddings,
        &device,
    )?;
    let prompts = &task.eval_prompts[..config.eval_prompts.min(task.eval_prompts.len())];
    let drift = &task.drift[..config.drift_texts.min(task.drift.len())];
    let rng = SeededRng::new(config.seed).fork("eval-run");
    let run = evaluate_policy_detailed(
        &policy,
        &reference,
        &tokenizer,
        prompts,
        task.gold.as_ref(),
        proxy.as_ref().map(|p| p as &dyn RewardFn),
        drift,
        &config.eval,
        &rng,
    )?;
    let wins = config
        .win_rates
        .then(|| {
            win_rates_over(
                &reference,
                &ref_tokenizer,
                &run,
                task.gold.as_ref(),
                &config.annotators,
                &config.eval,
                &rng,
            )
        })
        .transpose()?;
    let rows: Vec<String> = run.completions.iter().map(|c| c.prompt.clone()).collect();
    let texts: Vec<String> = run.completions.iter().map(|c| c.text.clone()).collect();
    let ref_texts = wins.as_ref().map(|w| w.reference_texts.clone());
    let outcome = EvalOutcome {
        summary: run.summary,
        reference_gold: wins.as_ref().map(|w| w.reference_gold),
        win_rate_gold: wins.as_ref().map(|w| w.gold.clone()),
        win_rate_annotators: wins.as_ref().map(|w| w.annotators.clone()),
    };
    let samples: Vec<Sample> = (0..rows.len())
        .map(|i| Sample {
            prompt: &rows[i],
            response: &texts[i],
            reference: ref_texts.as_ref().map(|r| r[i].as_str()),
            gold: run.gold[i],
            proxy: run.proxy.as_ref().map(|p| p[i]),
        })
        .collect();
    rlp_core::jsonl::write_jsonl(out.join("samples.jsonl"), &samples)?;
    std::fs::write(
        out.join("eval.json"),
        serde_json::to_string_pretty(&outcome)?,
    )?;
    write_report(config, &outcome, out)?;
    Ok(outcome)
}

/// `report.md`: the summary table and the win-rates.
fn write_report(config: &EvalRunConfig, o: &EvalOutcome, out: &Path) -> Result<()> {
    let policy = config
        .policy
        .as_ref()
        .map_or("the base policy".into(), |p| format!("`{}`", p.display()));
    let proxy = match config.reward.as_str() {
        "gold" => "none".into(),
        r => format!("`{r}`"),
    };
    let reference = config
        .reference
        .as_ref()
        .map_or("the task's base policy".into(), |p| {
            format!("`{}`", p.display())
        });
    let mut report = Report::new(format!("Evaluation on {}", config.task));
    report.paragraph(format!(
        "Policy: {policy}; reference: {reference}; proxy: {proxy}; {} prompts × {} samples at \
         temperature {}; seed {}.{}",
        o.summary.prompts,
        config.eval.samples_per_prompt,
        config.eval.temperature,
        config.seed,
        o.reference_gold.map_or(String::new(), |g| format!(
            " The reference's own responses score gold {:.3} ± {:.3}.",
            g.mean, g.se
        )),
    ));
    report.summary_table(&[("policy".into(), o.summary.clone())])?;
    let row = |judge: &str, w: &WinRate| {
        vec![
            judge.to_string(),
            format!("{:.3} ± {:.3}", w.rate, w.se),
            format!("{} / {} / {}", w.wins, w.ties, w.losses),
        ]
    };
    if let (Some(gold), Some(pool)) = (&o.win_rate_gold, &o.win_rate_annotators) {
        report.heading("Win-rate over the reference");
        report.table(
            &["judge", "win rate ± SE", "wins / ties / losses"],
            &[row("gold", gold), row("annotator pool", pool)],
        )?;
    }
    report.write(out)?;
    Ok(())
}
