//! `rlp ppo`: PPO on a task's prompts against a reward — a reward-model directory (a proxy) or
//! the task's gold scorer — from one TOML file holding every setting (`PpoRunConfig`), with
//! periodic evaluation (gold, proxy, KL to the initial policy, drift, diversity).
//!
//! The run directory receives `config.toml` (the resolved settings), `metrics.jsonl` (one line
//! per iteration: score, KL, β, losses, timings), `eval.jsonl` (one line per evaluation),
//! `policy/` (the final checkpoint with its tokenizer), `checkpoint-N/` every
//! `checkpoint_every` iterations (the policy's weights), the plots `gold_proxy_vs_kl.{svg,png}`
//! and `reward_vs_drift.{svg,png}`, and `report.md`.

use rlp_core::With;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use rlp_core::{BackendSpec, RewardFn, SeededRng};
use rlp_eval::{AnnotatorPoolConfig, EvalConfig, EvalRun, EvalSummary, LinePlot, Report};
use rlp_models::checkpoint::StoreDtype;
use rlp_models::lora::LoraConfig;
use rlp_models::pretrained::save_parts;
use rlp_models::{CausalLm, TextTokenizer};
use rlp_policy_opt::PolicyError;
use rlp_policy_opt::anchor::{Anchor, EmaAnchor, FrozenAnchor};
use rlp_policy_opt::elastic_reset::{ElasticReset, ElasticResetConfig};
use rlp_policy_opt::ppo::{PpoConfig, PpoRun, PpoStats, PpoTrainer, ValueInit, ValueModel};
use rlp_reward::{Aggregation, RewardModel};
use rlp_tasks::{DEFAULT_TASK, EvalSplit, load_task};
use rlp_train::{Callback, DriveOptions, RunDir, TrainError, drive};
use serde::{Deserialize, Serialize};

use super::eval::{WinRates, win_rates_over};
use super::{evaluator, load_policy, policy_reward, progress_bar, read_toml, start_run_dir};

/// Every setting of a PPO run (`rlp ppo --config FILE`; flags override fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpoRunConfig {
    /// Task whose train prompts are optimised on and eval prompts evaluated on.
    pub task: String,
    /// Policy checkpoint directory with `tokenizer.json` (default: the task's base policy).
    pub policy: Option<PathBuf>,
    /// The reward PPO maximises: a reward-model directory, `gold` (the task's gold scorer), or
    /// `ensemble` (the members of `[ensemble]` combined by its rule).
    pub reward: String,
    /// PPO iterations.
    pub iterations: usize,
    /// Evaluate every this many iterations (and before the first and after the last).
    pub eval_every: usize,
    /// Eval prompts used per evaluation (from the start of `eval_split`).
    pub eval_prompts: usize,
    /// The held-out prompts evaluated on: `eval` (reported) or `dev` (development runs).
    pub eval_split: EvalSplit,
    /// Drift-corpus texts used per evaluation.
    pub drift_texts: usize,
    /// Save the policy into `checkpoint-N/` every this many iterations (0: never).
    pub checkpoint_every: usize,
    /// Evaluate the starting policy before the first iteration (off where a caller measures
    /// the same starting policy once for several runs, as the RLP pipeline does).
    pub eval_at_start: bool,
    /// End with the final policy's win-rates over the starting policy (`win_rates.json`).
    pub final_win_rates: bool,
    /// Backend.
    pub backend: BackendSpec,
    /// Seed of the task (where it is generated) and of the prompt order.
    pub seed: u64,
    /// A reward-model ensemble (`[ensemble]`, Coste et al.), used when `reward = "ensemble"`.
    pub ensemble: Option<EnsembleSpec>,
    /// What the KL penalty is measured against (`[anchor]`, `kind = "initial"` by default).
    pub anchor: AnchorSpec,
    /// Elastic Reset (`[elastic_reset]`): an EMA of the policy, and every `reset_every`
    /// iterations the policy reset to it and the EMA to the starting policy. Off when absent.
    /// It chooses the KL anchor itself (`elastic_reset.anchor`), so `[anchor]` must stay at
    /// `initial` (or a soup, which is then the starting policy).
    pub elastic_reset: Option<ElasticResetConfig>,
    /// PPO's settings.
    pub ppo: PpoConfig,
    /// Evaluation settings.
    pub eval: EvalConfig,
    /// Train LoRA adapters on the frozen policy (and the value model's copy of it) instead of
    /// every weight (`[lora]`: rank, alpha, targets); the KL anchor stays the plain starting
    /// policy. Not with an EMA anchor or Elastic Reset, which move whole weights.
    pub lora: Option<LoraConfig>,
    /// Burn's balanced gradient checkpointing in the update (less memory, more time).
    pub grad_checkpointing: bool,
}

/// The KL anchor of a run (`docs/algorithms.md`: PPO, Elastic Reset, SALSA).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AnchorSpec {
    /// The frozen starting policy.
    #[default]
    Initial,
    /// An EMA of the policy, `θ̄ ← η·θ̄ + (1 − η)·θ` after every iteration (η = 0.995 in
    /// Elastic Reset).
    Ema {
        /// η.
        eta: f64,
    },
    /// SALSA: the weight soup `Σ wᵢ θᵢ` of checkpoints is both the frozen anchor and the
    /// policy's starting point (so `policy` must be unset).
    Soup {
        /// Checkpoint directories (with `tokenizer.json`; the first one's tokenizer is used).
        models: Vec<PathBuf>,
        /// Their weights, summing to 1 (SALSA: 0.5, 0.5).
        weights: Vec<f64>,
    },
}

/// A reward-model ensemble (Coste et al., ICLR 2024): `k` reward-model directories whose scores
/// are combined per sample by `aggregation` (mean, WCO, or UWO with its λ). The value model, when
/// initialised from the reward model, starts from the first member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSpec {
    /// The members' reward-model directories.
    pub members: Vec<PathBuf>,
    /// How their scores are combined (`[ensemble.aggregation]`: `rule = "mean" | "wco" |
    /// "uwo"`, UWO with `lambda` and `ddof`).
    pub aggregation: Aggregation,
}

impl Default for PpoRunConfig {
    fn default() -> Self {
        Self {
            task: DEFAULT_TASK.into(),
            policy: None,
            reward: "gold".into(),
            ensemble: None,
            iterations: 50,
            eval_every: 10,
            eval_prompts: 128,
            eval_split: EvalSplit::Eval,
            drift_texts: 200,
            checkpoint_every: 0,
            eval_at_start: true,
            final_win_rates: true,
            backend: BackendSpec::default(),
            seed: 0,
            anchor: AnchorSpec::Initial,
            elastic_reset: None,
            ppo: PpoConfig::default(),
            eval: EvalConfig::default().with(|c| c.max_new_tokens = 24),
            lora: None,
            grad_checkpointing: false,
        }
    }
}

impl PpoRunConfig {
    /// Reads a TOML file; errors name the file (and the key, as the TOML parser reports it).
    pub fn load(path: &Path) -> Result<Self> {
        read_toml(path, "PPO")
    }
}

/// What a run ends with.
#[derive(Debug, Clone)]
pub struct PpoRunReport {
    /// Per-iteration statistics.
    pub stats: Vec<PpoStats>,
    /// `(iteration, summary)` of every evaluation.
    pub evals: Vec<(usize, EvalSummary)>,
    /// Win-rates of the final policy's evaluation samples over the starting policy's (gold
    /// judge and the default annotator pool); `None` when the run had nothing left to do.
    pub win_rates: Option<WinRates>,
    /// The run directory.
    pub out: PathBuf,
}

/// What runs beside the PPO iterations: the progress bar, Elastic Reset's messages, the
/// evaluations every `eval_every` iterations (`eval.jsonl`), the per-iteration statistics a
/// report needs, and the policy as a loadable directory in every checkpoint.
struct PpoWatch<'a> {
    config: &'a PpoRunConfig,
    out: &'a Path,
    tokenizer: &'a TextTokenizer,
    evaluate: &'a dyn Fn(&CausalLm) -> Result<EvalRun>,
    bar: indicatif::ProgressBar,
    stats: Vec<PpoStats>,
    evals: Vec<(usize, EvalSummary)>,
    last_run: Option<EvalRun>,
    resets: usize,
}

/// An error of a callback as the driver carries it (the whole chain, as text).
fn in_callback(e: anyhow::Error) -> PolicyError {
    TrainError::Callback(format!("{e:#}")).into()
}

impl PpoWatch<'_> {
    fn evaluate_at(&mut self, it: usize, policy: &CausalLm) -> Result<()> {
        let run = (self.evaluate)(policy)?;
        let e = run.summary.clone();
        if it == self.config.iterations {
            self.last_run = Some(run);
        }
        let line = format!(
            "iteration {it}: gold {:.3} ± {:.3}{}  KL {:.2}  drift ppl {}",
            e.gold.mean,
            e.gold.se,
            e.proxy
                .map(|p| format!("  proxy {:.3}", p.mean))
                .unwrap_or_default(),
            e.kl_k1.mean,
            e.drift_ppl.map(|p| format!("{p:.1}")).unwrap_or("-".into()),
        );
        // Printed whether or not stderr is a terminal (a hidden bar drops `println`), by rank
        // 0 alone under data parallelism.
        if rlp_core::parallel::is_writer() {
            self.bar.suspend(|| eprintln!("{line}"));
        }
        RunDir::new(self.out).append_jsonl(
            "eval.jsonl",
            &serde_json::json!({"iteration": it, "eval": e}),
        )?;
        self.evals.push((it, e));
        Ok(())
    }
}

impl<'r> Callback<PpoRun<'r>> for PpoWatch<'_> {
    fn on_step(&mut self, run: &PpoRun<'r>, it: usize, s: &PpoStats) -> Result<(), PolicyError> {
        if run.resets() > self.resets {
            self.resets = run.resets();
            self.bar.suspend(|| {
                if !rlp_core::parallel::is_writer() {
                    return;
                }
                eprintln!(
                    "iteration {it}: elastic reset {} (policy ← EMA, EMA ← initial)",
                    self.resets
                )
            });
        }
        let secs = s.time_generate + s.time_score + s.time_update;
        self.bar.set_position(it as u64);
        self.bar.set_message(format!(
            "score {:.3}  kl {:.2}  β {:.3}  {secs:.1} s/it",
            s.score, s.kl, s.beta
        ));
        self.stats.push(s.clone());
        if it % self.config.eval_every.max(1) == 0 || it == self.config.iterations {
            self.evaluate_at(it, &run.ppo.policy).map_err(in_callback)?;
        }
        Ok(())
    }

    fn on_checkpoint(&mut self, run: &PpoRun<'r>, _: usize, dir: &Path) -> Result<(), PolicyError> {
        save_parts(
            &run.ppo.policy.valid(),
            self.tokenizer,
            dir,
            StoreDtype::F32,
        )?;
        let (lora, base) = (self.config.lora.as_ref(), self.config.policy.as_deref());
        super::lora::save_adapter_in(&run.ppo.policy, lora, base, dir)?;
        Ok(())
    }

    /// The statistics and evaluations of the iterations up to the checkpoint (the driver has
    /// dropped a killed run's later metrics lines; later evaluations go here).
    fn on_resume(&mut self, run: &PpoRun<'r>, it: usize, _: &Path) -> Result<(), PolicyError> {
        let dir = RunDir::new(self.out);
        self.stats = dir
            .truncate_jsonl("metrics.jsonl", "step", it)?
            .into_iter()
            .map(serde_json::from_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                in_callback(anyhow::anyhow!(
                    "{}: {e}",
                    dir.join("metrics.jsonl").display()
                ))
            })?;
        self.evals = dir
            .truncate_jsonl("eval.jsonl", "iteration", it)?
            .into_iter()
            .map(|v| {
                Ok((
                    v["iteration"].as_u64().unwrap_or(0) as usize,
                    serde_json::from_value(v["eval"].clone())?,
                ))
            })
            .collect::<Result<Vec<(usize, EvalSummary)>>>()
            .map_err(in_callback)?;
        self.resets = run.resets();
        self.bar.set_position(it as u64);
        Ok(())
    }
}

/// Runs PPO as `config` says, writing into `out`. With `resume`, continues from the last
/// resumable `checkpoint-N/` in `out` (written every `checkpoint_every` iterations): the
/// trainer's weights, optimiser moments, β and iteration are restored, and the records of
/// iterations after `N` (from a run killed later) are dropped, so the finished run is the
/// uninterrupted one.
pub fn run_ppo(config: &PpoRunConfig, out: &Path, resume: bool) -> Result<PpoRunReport> {
    config.ppo.validate()?;
    config.eval.validate()?;
    if config.iterations == 0 {
        bail!("iterations must be at least 1");
    }
    if resume && RunDir::new(out).latest_checkpoint().is_none() {
        bail!(
            "--resume: no complete checkpoint-N (with trainer/state.json) under {}",
            out.display()
        );
    }
    if config.lora.is_some()
        && (config.elastic_reset.is_some() || matches!(config.anchor, AnchorSpec::Ema { .. }))
    {
        bail!(
            "[lora] trains adapters on a frozen policy, but an EMA anchor and Elastic Reset \
             average and reset whole weights: drop [lora], or use the initial (or soup) anchor"
        );
    }
    start_run_dir(out, config)?;
    let plain = config.backend.device()?;
    let train = super::lora::training_device(&config.backend, config.grad_checkpointing)?;
    let task = load_task(&config.task, config.seed, &plain)?.evaluated_on(config.eval_split)?;
    super::check_ranks_agree(config, || task.train_prompts.join("\n").into_bytes())?;
    // Loaded on the training device; `start` is its frozen plain copy (anchor and reference).
    let (policy, tokenizer) = match &config.anchor {
        AnchorSpec::Soup { models, weights } => soup_policy(config, models, weights, &train)?,
        _ => load_policy(config.policy.as_deref(), &task, config.seed, &train)?,
    };
    let start = policy.valid();
    let policy = super::lora::adapt(policy, config.lora.as_ref(), config.seed)?;
    let (proxy, value_rm) = policy_reward(
        &config.reward,
        config.ensemble.as_ref(),
        start.config.max_position_embeddings,
        &plain,
    )?;
    let reward: &dyn RewardFn = match &proxy {
        Some(p) => p.as_ref(),
        None => task.gold.as_ref(),
    };
    let rng = SeededRng::new(config.seed).fork("ppo-run");
    let value = match (config.ppo.value_init, &value_rm) {
        (ValueInit::RewardModel, Some(dir)) => {
            ValueModel::from_reward_model(RewardModel::load(dir, &train)?)
        }
        _ => ValueModel::from_policy(policy.clone(), &mut rng.fork("value-head")),
    };
    let elastic = match &config.elastic_reset {
        Some(_) if matches!(config.anchor, AnchorSpec::Ema { .. }) => bail!(
            "[anchor] kind = \"ema\" and [elastic_reset] both set the KL anchor: choose it with \
             elastic_reset.anchor (\"initial\" or \"ema\") and drop [anchor]"
        ),
        Some(er) => Some(ElasticReset::new(&start, &value, er.clone())?),
        None => None,
    };
    let anchor: Box<dyn Anchor> = match (&elastic, &config.anchor) {
        (Some(er), _) => Box::new(er.anchor()),
        (None, AnchorSpec::Ema { eta }) => Box::new(EmaAnchor::new(&start, *eta)?),
        (None, AnchorSpec::Initial | AnchorSpec::Soup { .. }) => {
            Box::new(FrozenAnchor::new(&start))
        }
    };
    let ppo = PpoTrainer::new(policy, value, anchor, tokenizer.clone(), config.ppo.clone())?;
    let eval_rng = SeededRng::new(config.seed).fork("ppo-eval");
    let evaluate = evaluator(
        &task,
        &start,
        &tokenizer,
        proxy.as_deref(),
        (config.eval_prompts, config.drift_texts),
        &config.eval,
        &eval_rng,
    );
    let mut run = PpoRun::new(
        ppo,
        elastic,
        &task.train_prompts,
        reward,
        rng,
        config.iterations,
    )?;
    let mut watch = PpoWatch {
        config,
        out,
        tokenizer: &tokenizer,
        evaluate: &evaluate,
        bar: progress_bar(config.iterations),
        stats: Vec::with_capacity(config.iterations),
        evals: Vec::new(),
        last_run: None,
        resets: 0,
    };
    if !resume {
        if rlp_core::parallel::is_writer() {
            let _ = std::fs::remove_file(out.join("eval.jsonl"));
        }
        if config.eval_at_start {
            watch.evaluate_at(0, &run.ppo.policy)?;
        }
    }
    let options = DriveOptions {
        checkpoint_every: config.checkpoint_every,
        resume,
    };
    drive(&mut run, &RunDir::new(out), options, &mut [&mut watch])?;
    watch.bar.finish_and_clear();
    if !rlp_core::parallel::is_writer() {
        // Rank 0 writes the policy, the win rates and the report; the others are done.
        return Ok(PpoRunReport {
            stats: watch.stats,
            evals: watch.evals,
            win_rates: None,
            out: out.to_path_buf(),
        });
    }
    let dir = out.join("policy");
    save_parts(&run.ppo.policy.valid(), &tokenizer, &dir, StoreDtype::F32)?;
    let (lora, base) = (config.lora.as_ref(), config.policy.as_deref());
    super::lora::save_adapter_in(&run.ppo.policy, lora, base, &dir)?;
    let win_rates = match &watch.last_run {
        Some(last) if config.final_win_rates => {
            let w = win_rates_over(
                &start,
                &tokenizer,
                last,
                task.gold.as_ref(),
                &AnnotatorPoolConfig::default(),
                &config.eval,
                &eval_rng,
            )?;
            std::fs::write(
                out.join("win_rates.json"),
                serde_json::to_string_pretty(&w)?,
            )?;
            Some(w)
        }
        _ => None,
    };
    write_report(config, &watch.evals, win_rates.as_ref(), out)?;
    Ok(PpoRunReport {
        stats: watch.stats,
        evals: watch.evals,
        win_rates,
        out: out.to_path_buf(),
    })
}

/// SALSA's start: the weight soup of `models` on the training device, with the first one's
/// tokenizer.
fn soup_policy(
    config: &PpoRunConfig,
    models: &[PathBuf],
    weights: &[f64],
    train: &burn::tensor::Device,
) -> Result<(CausalLm, rlp_models::TextTokenizer)> {
    if config.policy.is_some() {
        bail!("`policy` and `anchor.kind = \"soup\"` both name the starting policy: set one");
    }
    let Some(first) = models.first() else {
        bail!("anchor.models: a soup needs at least one checkpoint");
    };
    let loaded = models
        .iter()
        .map(|d| {
            rlp_models::checkpoint::load(d, train)
                .with_context(|| format!("anchor.models: loading {}", d.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&CausalLm> = loaded.iter().collect();
    let soup = rlp_train::weighted_average(&refs, weights).context("anchor.weights")?;
    let tokenizer = rlp_models::TextTokenizer::load(first.join("tokenizer.json"))?;
    Ok((soup, tokenizer))
}

/// The reward's short name: `gold`, a reward model's directory name, or the ensemble's size
/// and rule.
fn reward_name(config: &PpoRunConfig) -> String {
    if let (Some(e), "ensemble") = (&config.ensemble, config.reward.as_str()) {
        let rule = match e.aggregation {
            Aggregation::Mean => "mean".to_string(),
            Aggregation::Wco => "WCO".to_string(),
            Aggregation::Uwo { lambda, .. } => format!("UWO λ = {lambda}"),
        };
        return format!("{}-member ensemble ({rule})", e.members.len());
    }
    Path::new(&config.reward)
        .file_name()
        .map_or(config.reward.clone(), |n| n.to_string_lossy().into_owned())
}

/// `β = 0.05`, or `adaptive β` for a run's KL control.
fn kl_name(config: &PpoRunConfig) -> String {
    match config.ppo.kl {
        rlp_policy_opt::ppo::KlControl::Fixed { beta } => format!("β = {beta}"),
        rlp_policy_opt::ppo::KlControl::Adaptive { target, .. } => {
            format!("adaptive β (target KL {target})")
        }
    }
}

/// A finished (or running) PPO run read back from its directory: its config and evaluations.
pub fn read_run(dir: &Path) -> Result<(PpoRunConfig, Vec<(usize, EvalSummary)>)> {
    let config = PpoRunConfig::load(&dir.join("config.toml"))?;
    let path = dir.join("eval.jsonl");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let evals = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
            let it = v["iteration"].as_u64().unwrap_or(0) as usize;
            let e = serde_json::from_value(v["eval"].clone())
                .with_context(|| format!("{}:{}: not an evaluation", path.display(), i + 1))?;
            Ok((it, e))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((config, evals))
}

/// Plots several runs together into `out` (`.svg` and `.png` are added): gold (solid names)
/// and proxy score against KL for each run, and a second figure `out-drift` of gold against
/// drift. Each run is labelled by its KL control (or `label` when given).
pub fn compare_runs(runs: &[(PathBuf, Option<String>)], out: &Path) -> Result<()> {
    if runs.is_empty() {
        bail!("no runs to compare");
    }
    let mut vs_kl = LinePlot::new("gold and proxy vs KL", "KL(π ‖ π_init) (nats, k1)", "score");
    let mut vs_drift = LinePlot::new(
        "gold vs drift",
        "drift (perplexity on held-out text)",
        "gold score",
    );
    let mut title_task = String::new();
    for (dir, label) in runs {
        let (config, evals) = read_run(dir)?;
        let name = label.clone().unwrap_or_else(|| kl_name(&config));
        title_task = config.task.clone();
        let kl = |e: &EvalSummary| e.kl_k1.mean.max(0.0);
        vs_kl = vs_kl.with_series(
            format!("gold, {name}"),
            evals.iter().map(|(_, e)| (kl(e), e.gold.mean)).collect(),
        );
        if evals.iter().all(|(_, e)| e.proxy.is_some()) {
            vs_kl = vs_kl.with_series(
                format!("proxy, {name}"),
                evals
                    .iter()
                    .map(|(_, e)| (kl(e), e.proxy.map_or(0.0, |p| p.mean)))
                    .collect(),
            );
        }
        vs_drift = vs_drift.with_series(
            name,
            evals
                .iter()
                .filter_map(|(_, e)| e.drift_ppl.map(|p| (p, e.gold.mean)))
                .collect(),
        );
    }
    vs_kl.title = format!("PPO on {title_task}: gold and proxy vs KL");
    vs_drift.title = format!("PPO on {title_task}: gold vs drift");
    let stem = out.to_string_lossy().into_owned();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    vs_kl.save_svg(format!("{stem}.svg"))?;
    vs_kl.save_png(format!("{stem}.png"))?;
    vs_drift.save_svg(format!("{stem}-drift.svg"))?;
    vs_drift.save_png(format!("{stem}-drift.png"))?;
    Ok(())
}

/// `report.md` and the two plots.
fn write_report(
    config: &PpoRunConfig,
    evals: &[(usize, EvalSummary)],
    win_rates: Option<&WinRates>,
    out: &Path,
) -> Result<()> {
    let kl = |e: &EvalSummary| e.kl_k1.mean.max(0.0);
    let mut plot = LinePlot::new(
        format!(
            "PPO on {} against {}, {}",
            config.task,
            reward_name(config),
            kl_name(config)
        ),
        "KL(π ‖ π_init) (nats, k1)",
        "score",
    )
    .with_series(
        "gold",
        evals.iter().map(|(_, e)| (kl(e), e.gold.mean)).collect(),
    );
    if evals.iter().all(|(_, e)| e.proxy.is_some()) {
        plot = plot.with_series(
            "proxy",
            evals
                .iter()
                .map(|(_, e)| (kl(e), e.proxy.map_or(0.0, |p| p.mean)))
                .collect(),
        );
    }
    plot.save_svg(out.join("gold_proxy_vs_kl.svg"))?;
    plot.save_png(out.join("gold_proxy_vs_kl.png"))?;
    let drift: Vec<(f64, f64)> = evals
        .iter()
        .filter_map(|(_, e)| e.drift_ppl.map(|p| (p, e.gold.mean)))
        .collect();
    let mut report = Report::new(format!("PPO on {}", config.task));
    report.paragraph(format!(
        "Reward: `{}`; KL control: {}; anchor: {:?}{}; {} iterations of {} prompts; seed {}.",
        reward_name(config),
        kl_name(config),
        config.anchor,
        config
            .elastic_reset
            .as_ref()
            .map_or(String::new(), |er| format!(
                "; Elastic Reset every {} iterations (η = {}, KL anchor {:?}, optimiser reset {}, \
             value reset {})",
                er.reset_every, er.eta, er.anchor, er.reset_optimizer, er.reset_value
            )),
        config.iterations,
        config.ppo.rollout_batch_size,
        config.seed
    ));
    let runs: Vec<(String, EvalSummary)> = evals
        .iter()
        .map(|(i, e)| (format!("iteration {i}"), e.clone()))
        .collect();
    report.summary_table(&runs)?;
    if let Some(w) = win_rates {
        let row = |name: &str, r: &rlp_eval::WinRate| {
            vec![
                name.to_string(),
                format!("{:.3} ± {:.3}", r.rate, r.se),
                format!("{} / {} / {}", r.wins, r.ties, r.losses),
            ]
        };
        report.heading("Win-rate of the final policy over the starting policy");
        report.paragraph(format!(
            "On the evaluation prompts; the starting policy's own samples score {:.3} ± {:.3} gold.",
            w.reference_gold.mean, w.reference_gold.se
        ));
        report.table(
            &["judge", "win rate ± SE", "wins / ties / losses"],
            &[row("gold", &w.gold), row("annotator pool", &w.annotators)],
        )?;
    }
    report.image("gold and proxy vs KL", "gold_proxy_vs_kl.png");
    if !drift.is_empty() {
        LinePlot::reward_vs_drift(
            format!("gold vs drift, PPO on {}", config.task),
            &[("PPO".into(), drift.clone())],
        )
        .save_png(out.join("reward_vs_drift.png"))?;
        LinePlot::reward_vs_drift("gold vs drift", &[("PPO".into(), drift.clone())])
            .save_svg(out.join("reward_vs_drift.svg"))?;
        report.image("gold vs drift", "reward_vs_drift.png");
    }
    report.write(out)?;
    Ok(())
}
