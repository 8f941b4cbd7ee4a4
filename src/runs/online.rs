//! `rlp grpo`, `rlp rloo` and `rlp online-dpo`: the policy optimisers that sample their own
//! training data and need no value model, on a task's prompts against a reward — a reward-model
//! directory, the task's gold scorer, or an ensemble — from one TOML file (`OnlineRunConfig`),
//! through the training driver (so they resume).
//!
//! The run directory receives `config.toml`, `metrics.jsonl` (one line per step: the method's
//! statistics and timings), `eval.jsonl` (one line per evaluation: the summary, and the mean
//! length of the completions the gold scorer rates at least ½ and of the others — on arith,
//! correct and incorrect answers), `checkpoint-N/` every `checkpoint_every` steps (a loadable
//! policy with `trainer/` to resume), the final `policy/`, `gold_vs_kl.{svg,png}`, `report.md`
//! and `summary.json` (the start and the end, and the wall time per step).

use rlp_core::With;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use rlp_core::{BackendSpec, RewardFn, SeededRng};
use rlp_eval::{EvalConfig, EvalRun, EvalSummary, LinePlot, Report};
use rlp_models::checkpoint::StoreDtype;
use rlp_models::lora::LoraConfig;
use rlp_models::pretrained::save_parts;
use rlp_models::{CausalLm, TextTokenizer};
use rlp_policy_opt::PolicyError;
use rlp_policy_opt::grpo::{GroupRun, GroupTrainer, GrpoConfig};
use rlp_policy_opt::online_dpo::{OnlineDpoConfig, OnlineDpoRun, OnlineDpoTrainer, Ranker};
use rlp_policy_opt::rloo::RlooConfig;
use rlp_tasks::{DEFAULT_TASK, EvalSplit, load_task};
use rlp_train::{Callback, DriveOptions, RunDir, TrainError, Trainer, drive};
use serde::{Deserialize, Serialize};

use super::ppo::EnsembleSpec;
use super::{evaluator, load_policy, policy_reward, progress_bar, read_toml, start_run_dir};

/// Which method a run trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnlineMethod {
    /// GRPO and its variants (`[grpo]`).
    Grpo,
    /// RLOO (`[rloo]`).
    Rloo,
    /// Online DPO (`[online_dpo]`).
    OnlineDpo,
}

impl OnlineMethod {
    /// The CLI verb.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Grpo => "grpo",
            Self::Rloo => "rloo",
            Self::OnlineDpo => "online-dpo",
        }
    }

    /// The config table holding the method's settings.
    pub fn table(self) -> &'static str {
        match self {
            Self::Grpo => "grpo",
            Self::Rloo => "rloo",
            Self::OnlineDpo => "online_dpo",
        }
    }
}

/// Every setting of a GRPO, RLOO or online-DPO run (`rlp grpo|rloo|online-dpo --config FILE`;
/// `--set` and flags override fields). Only the running method's table may be present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineRunConfig {
    /// Task whose train prompts are sampled and eval prompts evaluated.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy); it
    /// is also the frozen reference of the KL terms.
    pub policy: Option<PathBuf>,
    /// The reward: a reward-model directory, `gold` (the task's scorer) or `ensemble` (the
    /// members of `[ensemble]` combined by its rule).
    pub reward: String,
    /// A reward-model ensemble, used when `reward = "ensemble"`.
    pub ensemble: Option<EnsembleSpec>,
    /// Steps (generation batches).
    pub steps: usize,
    /// Evaluate every this many steps (and before the first and after the last).
    pub eval_every: usize,
    /// Eval prompts per evaluation (from the start of `eval_split`).
    pub eval_prompts: usize,
    /// The held-out prompts evaluated on: `eval` (reported) or `dev` (development runs).
    pub eval_split: EvalSplit,
    /// Drift-corpus texts per evaluation.
    pub drift_texts: usize,
    /// Save a resumable `checkpoint-N` every this many steps (0: never).
    pub checkpoint_every: usize,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated), the prompt draws and the evaluation.
    pub seed: u64,
    /// GRPO's settings (`rlp grpo`).
    pub grpo: Option<GrpoConfig>,
    /// RLOO's settings (`rlp rloo`).
    pub rloo: Option<RlooConfig>,
    /// Online DPO's settings (`rlp online-dpo`).
    pub online_dpo: Option<OnlineDpoConfig>,
    /// Evaluation settings.
    pub eval: EvalConfig,
    /// Train LoRA adapters on the frozen policy instead of every weight (`[lora]`: rank,
    /// alpha, targets); the reference stays the plain starting policy.
    pub lora: Option<LoraConfig>,
    /// Burn's balanced gradient checkpointing in the update (less memory, more time).
    pub grad_checkpointing: bool,
}

impl Default for OnlineRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            reward: "gold".into(),
            ensemble: None,
            steps: 40,
            eval_every: 10,
            eval_prompts: 128,
            eval_split: EvalSplit::Eval,
            drift_texts: 200,
            checkpoint_every: 0,
            backend: BackendSpec::default(),
            seed: 0,
            grpo: None,
            rloo: None,
            online_dpo: None,
            eval: EvalConfig::default().with(|c| c.max_new_tokens = 24),
            lora: None,
            grad_checkpointing: false,
        }
    }
}

impl OnlineRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "online-training")
    }

    /// Checks the run-level fields and that no other method's table is set.
    pub fn check(&self, method: OnlineMethod) -> Result<()> {
        let present = [
            (OnlineMethod::Grpo, self.grpo.is_some()),
            (OnlineMethod::Rloo, self.rloo.is_some()),
            (OnlineMethod::OnlineDpo, self.online_dpo.is_some()),
        ];
        if let Some((other, _)) = present.iter().find(|(m, set)| *set && *m != method) {
            bail!(
                "the config sets [{}], but this is `rlp {}`: its settings go in [{}]",
                other.table(),
                method.verb(),
                method.table()
            );
        }
        if self.steps == 0 {
            bail!("steps: must be at least 1");
        }
        self.eval.validate()?;
        Ok(())
    }
}

/// The mean length (tokens, stop token included) of completions the gold scorer rates at least
/// ½ and of the others: on arith, right and wrong answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LengthsByGold {
    /// Completions with gold ≥ ½.
    pub high: usize,
    /// Their mean length (`None` when there are none).
    pub high_len: Option<f64>,
    /// Completions with gold < ½.
    pub low: usize,
    /// Their mean length (`None` when there are none).
    pub low_len: Option<f64>,
}

impl LengthsByGold {
    /// The lengths of an evaluation's completions split by their gold score.
    pub fn of(run: &EvalRun) -> Self {
        let (mut high, mut low) = (Vec::new(), Vec::new());
        for (c, g) in run.completions.iter().zip(&run.gold) {
            let len = c.tokens.len() as f64;
            if *g >= 0.5 {
                high.push(len);
            } else {
                low.push(len);
            }
        }
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        Self {
            high: high.len(),
            high_len: mean(&high),
            low: low.len(),
            low_len: mean(&low),
        }
    }
}

/// One evaluation of a run (`eval.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineEval {
    /// Steps done when it was taken.
    pub step: usize,
    /// The summary (gold, proxy, KL to the start, drift, diversity).
    pub eval: EvalSummary,
    /// Completion lengths by gold.
    pub lengths: LengthsByGold,
}

/// What a run ends with (`summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnlineOutcome {
    /// The method.
    pub method: OnlineMethod,
    /// Steps taken.
    pub steps: usize,
    /// Mean wall time of a step in seconds (generation, scoring and update; from
    /// `metrics.jsonl`).
    pub seconds_per_step: f64,
    /// Every evaluation, the first at step 0.
    pub evals: Vec<OnlineEval>,
}

/// The run types the evaluation callback watches.
trait Watched: Trainer<Error = PolicyError> {
    fn policy(&self) -> &CausalLm;
    fn describe(stats: &Self::Stats) -> String;
}

impl Watched for GroupRun<'_> {
    fn policy(&self) -> &CausalLm {
        self.trainer.policy()
    }

    fn describe(s: &Self::Stats) -> String {
        format!(
            "score {:.3}  equal groups {:.2}  clip {:.3}",
            s.score,
            s.equal_reward_groups,
            s.surrogate.clip_low + s.surrogate.clip_high
        )
    }
}

impl Watched for OnlineDpoRun<'_> {
    fn policy(&self) -> &CausalLm {
        self.trainer.policy()
    }

    fn describe(s: &Self::Stats) -> String {
        format!(
            "score {}  ties {:.2}  kl {:.2}",
            s.score.map_or("-".into(), |x| format!("{x:.3}")),
            s.ties,
            s.kl
        )
    }
}

/// The progress bar, the evaluations every `eval_every` steps (`eval.jsonl`), and the policy as
/// a loadable directory in every checkpoint.
struct EvalWatch<'a> {
    config: &'a OnlineRunConfig,
    out: &'a Path,
    tokenizer: &'a TextTokenizer,
    evaluate: &'a dyn Fn(&CausalLm) -> Result<EvalRun>,
    bar: indicatif::ProgressBar,
    evals: Vec<OnlineEval>,
}

fn in_callback(e: anyhow::Error) -> PolicyError {
    TrainError::Callback(format!("{e:#}")).into()
}

impl EvalWatch<'_> {
    fn evaluate_at(&mut self, step: usize, policy: &CausalLm) -> Result<()> {
        let run = (self.evaluate)(policy)?;
        let e = OnlineEval {
            step,
            eval: run.summary.clone(),
            lengths: LengthsByGold::of(&run),
        };
        let line = format!(
            "step {step}: gold {:.3} ± {:.3}  KL {:.2}  length {} (gold ≥ ½) / {} (others)",
            e.eval.gold.mean,
            e.eval.gold.se,
            e.eval.kl_k1.mean,
            e.lengths.high_len.map_or("-".into(), |l| format!("{l:.1}")),
            e.lengths.low_len.map_or("-".into(), |l| format!("{l:.1}")),
        );
        if rlp_core::parallel::is_writer() {
            self.bar.suspend(|| eprintln!("{line}"));
        }
        RunDir::new(self.out).append_jsonl("eval.jsonl", &e)?;
        self.evals.push(e);
        Ok(())
    }
}

impl<T: Watched> Callback<T> for EvalWatch<'_> {
    fn on_step(&mut self, run: &T, step: usize, s: &T::Stats) -> Result<(), PolicyError> {
        self.bar.set_position(step as u64);
        self.bar.set_message(T::describe(s));
        if step % self.config.eval_every.max(1) == 0 || step == self.config.steps {
            self.evaluate_at(step, run.policy()).map_err(in_callback)?;
        }
        Ok(())
    }

    fn on_checkpoint(&mut self, run: &T, _: usize, dir: &Path) -> Result<(), PolicyError> {
        save_parts(&run.policy().valid(), self.tokenizer, dir, StoreDtype::F32)?;
        let (lora, base) = (self.config.lora.as_ref(), self.config.policy.as_deref());
        super::lora::save_adapter_in(run.policy(), lora, base, dir)?;
        Ok(())
    }

    fn on_resume(&mut self, _: &T, step: usize, _: &Path) -> Result<(), PolicyError> {
        let dir = RunDir::new(self.out);
        self.evals = dir
            .truncate_jsonl("eval.jsonl", "step", step)?
            .into_iter()
            .map(serde_json::from_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                in_callback(anyhow::anyhow!("{}: {e}", dir.join("eval.jsonl").display()))
            })?;
        self.bar.set_position(step as u64);
        Ok(())
    }
}

/// Drives `run` to the end with the watch; returns the final policy (plain device).
fn drive_watched<T: Watched>(
    run: &mut T,
    watch: &mut EvalWatch<'_>,
    config: &OnlineRunConfig,
    out: &Path,
    resume: bool,
) -> Result<CausalLm> {
    let options = DriveOptions {
        checkpoint_every: config.checkpoint_every,
        resume,
    };
    drive(run, &RunDir::new(out), options, &mut [watch])?;
    Ok(run.policy().valid())
}

/// Runs `method` as `config` says, writing into `out`; with `resume`, continues from the newest
/// `checkpoint-N` there and ends with the policy an uninterrupted run would have.
pub fn run_online(
    method: OnlineMethod,
    config: &OnlineRunConfig,
    out: &Path,
    resume: bool,
) -> Result<OnlineOutcome> {
    config.check(method)?;
    let grpo = config.grpo.clone().unwrap_or_default();
    let rloo = config.rloo.clone().unwrap_or_default();
    let online_dpo = config.online_dpo.clone().unwrap_or_default();
    let context = format!("[{}]", method.table());
    match method {
        OnlineMethod::Grpo => grpo.validate().context(context)?,
        OnlineMethod::Rloo => rloo.validate().context(context)?,
        OnlineMethod::OnlineDpo => online_dpo.validate().context(context)?,
    }
    if resume && RunDir::new(out).latest_checkpoint().is_none() {
        bail!(
            "--resume: no complete checkpoint-N (with trainer/state.json) under {}",
            out.display()
        );
    }
    start_run_dir(out, config)?;
    let plain = config.backend.device()?;
    let train = super::lora::training_device(&config.backend, config.grad_checkpointing)?;
    let task = load_task(&config.task, config.seed, &plain)?.evaluated_on(config.eval_split)?;
    let (policy, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seed, &train)?;
    let start = policy.valid();
    let policy = super::lora::adapt(policy, config.lora.as_ref(), config.seed)?;
    let (proxy, _) = policy_reward(
        &config.reward,
        config.ensemble.as_ref(),
        start.config.max_position_embeddings,
        &plain,
    )?;
    let reward: &dyn RewardFn = match &proxy {
        Some(p) => p.as_ref(),
        None => task.gold.as_ref(),
    };
    let eval_rng = SeededRng::new(config.seed).fork("online-eval");
    let evaluate = evaluator(
        &task,
        &start,
        &tokenizer,
        proxy.as_deref(),
        (config.eval_prompts, config.drift_texts),
        &config.eval,
        &eval_rng,
    );
    let mut watch = EvalWatch {
        config,
        out,
        tokenizer: &tokenizer,
        evaluate: &evaluate,
        bar: progress_bar(config.steps),
        evals: Vec::new(),
    };
    super::check_ranks_agree(config, || task.train_prompts.join("\n").into_bytes())?;
    if !resume {
        if rlp_core::parallel::is_writer() {
            let _ = std::fs::remove_file(out.join("eval.jsonl"));
        }
        watch.evaluate_at(0, &start)?;
    }
    let rng = SeededRng::new(config.seed).fork(&format!("{}-run", method.verb()));
    let prompts = &task.train_prompts;
    let steps = config.steps;
    let end = match method {
        OnlineMethod::Grpo | OnlineMethod::Rloo => {
            let settings = if method == OnlineMethod::Grpo {
                grpo.settings()?
            } else {
                rloo.settings()?
            };
            let trainer = GroupTrainer::new(policy, tokenizer.clone(), settings)?;
            let mut run = GroupRun::new(trainer, prompts, reward, rng, steps)?;
            drive_watched(&mut run, &mut watch, config, out, resume)?
        }
        OnlineMethod::OnlineDpo => {
            let trainer = OnlineDpoTrainer::new(policy, tokenizer.clone(), online_dpo)?;
            let ranker = Ranker::Reward(reward);
            let mut run = OnlineDpoRun::new(trainer, prompts, &ranker, rng, steps)?;
            drive_watched(&mut run, &mut watch, config, out, resume)?
        }
    };
    watch.bar.finish_and_clear();
    let outcome = OnlineOutcome {
        method,
        steps,
        seconds_per_step: seconds_per_step(&out.join("metrics.jsonl"))?,
        evals: watch.evals,
    };
    if !rlp_core::parallel::is_writer() {
        return Ok(outcome);
    }
    save_parts(&end, &tokenizer, &out.join("policy"), StoreDtype::F32)?;
    let (lora, base) = (config.lora.as_ref(), config.policy.as_deref());
    super::lora::save_adapter_in(&end, lora, base, &out.join("policy"))?;
    rlp_train::run_dir::write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&outcome)?.as_bytes(),
    )?;
    write_report(config, &outcome, out)?;
    Ok(outcome)
}

/// The mean over `metrics.jsonl` lines of the sum of their `time_*` fields.
pub fn seconds_per_step(metrics: &Path) -> Result<f64> {
    let text = std::fs::read_to_string(metrics)
        .with_context(|| format!("reading {}", metrics.display()))?;
    let mut times = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", metrics.display(), i + 1))?;
        let secs: f64 = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("time_"))
            .filter_map(|(_, x)| x.as_f64())
            .sum();
        times.push(secs);
    }
    Ok(times.iter().sum::<f64>() / times.len().max(1) as f64)
}

/// `report.md` and the plot of gold against KL.
fn write_report(config: &OnlineRunConfig, outcome: &OnlineOutcome, out: &Path) -> Result<()> {
    let name = outcome.method.verb();
    let plot = LinePlot::new(
        format!("{name} on {} against {}", config.task, config.reward),
        "KL(π ‖ π_init) (nats, k1)",
        "gold score",
    )
    .with_series(
        "gold",
        outcome
            .evals
            .iter()
            .map(|e| (e.eval.kl_k1.mean.max(0.0), e.eval.gold.mean))
            .collect(),
    );
    plot.save_svg(out.join("gold_vs_kl.svg"))?;
    plot.save_png(out.join("gold_vs_kl.png"))?;
    let mut report = Report::new(format!("{name} on {}", config.task));
    report.paragraph(format!(
        "Reward: `{}`; {} steps; {:.2} s per step; seed {}. Settings in `config.toml`.",
        config.reward, outcome.steps, outcome.seconds_per_step, config.seed
    ));
    let rows: Vec<(String, EvalSummary)> = outcome
        .evals
        .iter()
        .map(|e| (format!("step {}", e.step), e.eval.clone()))
        .collect();
    report.summary_table(&rows)?;
    report.heading("Completion length by gold score");
    let fmt = |n: usize, l: Option<f64>| l.map_or("-".into(), |l| format!("{l:.1} ({n})"));
    let lengths: Vec<Vec<String>> = outcome
        .evals
        .iter()
        .map(|e| {
            vec![
                format!("step {}", e.step),
                fmt(e.lengths.high, e.lengths.high_len),
                fmt(e.lengths.low, e.lengths.low_len),
            ]
        })
        .collect();
    report.table(
        &[
            "",
            "gold ≥ ½: tokens (completions)",
            "gold < ½: tokens (completions)",
        ],
        &lengths,
    )?;
    report.image("gold vs KL", "gold_vs_kl.png");
    report.write(out)?;
    Ok(())
}
