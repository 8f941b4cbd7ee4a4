//! The runs the `rlp` binary drives, callable from code and tests.

/// `eprintln!` by the rank that reports (rank 0 of a data-parallel group; the only rank
/// otherwise): a note every rank would repeat.
macro_rules! note {
    ($($arg:tt)*) => {
        if rlp_core::parallel::is_writer() {
            eprintln!($($arg)*);
        }
    };
}

pub mod bon;
pub mod classifier;
pub mod detox_data;
pub mod dpo;
pub mod eval;
pub mod fdpg;
pub mod generate;
pub mod lora;
pub mod online;
pub mod overrides;
pub mod ppo;
pub mod quark;
pub mod reward;
pub mod sft;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rlp_core::{RewardFn, SeededRng};
use rlp_eval::{EvalConfig, EvalRun, evaluate_policy_detailed};
use rlp_models::{CausalLm, TextTokenizer, checkpoint};
use rlp_reward::{Ensemble, LearnedReward};

use ppo::EnsembleSpec;
use rlp_tasks::{Task, load_base_policy};
use rlp_train::{Callback, RunDir, StepInfo, Trainer};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A run's TOML config (`what` names it in errors, e.g. `PPO`); errors name the file and, as
/// the TOML parser reports it, the key. Keys under a deprecated name are accepted with a
/// warning naming the new one ([`deprecated_keys`]).
pub(crate) fn read_toml<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config = toml::from_str(&text)
        .with_context(|| format!("{}: invalid {what} config", path.display()))?;
    if let Ok(table) = text.parse::<toml::Table>() {
        for (old, new) in deprecated_keys(&table) {
            note!(
                "warning: {}: `{old}` is deprecated; call it `{new}`",
                path.display()
            );
        }
    }
    Ok(config)
}

/// The old names of renamed config fields, by the table that holds them: `(table, old, new)`.
/// Each old name once meant something else in another table (γ was GAE's discount and RLP-SPG's
/// confidence threshold; β was four different coefficients).
pub const RENAMED_KEYS: &[(&str, &str, &str)] = &[
    ("ppo", "gamma", "gae_gamma"),
    ("ppo", "lambda", "gae_lambda"),
    ("spg", "gamma", "min_confidence"),
    ("dpo", "beta", "kl_beta"),
    ("fdpg", "beta", "kl_beta"),
    ("quark", "beta", "kl_beta"),
    ("quark", "alpha", "entropy_alpha"),
    ("uml", "beta", "ib_beta"),
];

/// Every key of `table` (at any depth) spelled by an old name in [`RENAMED_KEYS`], as dotted
/// `(old path, new path)`.
pub fn deprecated_keys(table: &toml::Table) -> Vec<(String, String)> {
    fn walk(t: &toml::Table, path: &str, out: &mut Vec<(String, String)>) {
        let parent = path.rsplit('.').next().unwrap_or("");
        for (key, value) in t {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if let Some((_, _, new)) = RENAMED_KEYS
                .iter()
                .find(|(table, old, _)| *table == parent && old == key)
            {
                out.push((here.clone(), format!("{path}.{new}")));
            }
            if let toml::Value::Table(inner) = value {
                walk(inner, &here, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(table, "", &mut out);
    out
}

/// Creates the run directory `out` and writes the resolved `config` to `out/config.toml`.
pub(crate) fn start_run_dir(out: &Path, config: &impl Serialize) -> Result<()> {
    if !rlp_core::parallel::is_writer() {
        return Ok(());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("config.toml");
    std::fs::write(&path, toml::to_string_pretty(config)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The policy checkpoint `dir` (with its `tokenizer.json`) on `device`, or `task`'s base
/// policy (`seed` initialises generated ones) when `dir` is `None`.
pub(crate) fn load_policy(
    dir: Option<&Path>,
    task: &Task,
    seed: u64,
    device: &Device,
) -> Result<(CausalLm, TextTokenizer)> {
    match dir {
        Some(dir) => Ok((
            checkpoint::load(dir, device)
                .with_context(|| format!("loading the policy {}", dir.display()))?,
            TextTokenizer::load(dir.join("tokenizer.json"))
                .with_context(|| format!("loading the policy {}", dir.display()))?,
        )),
        None => {
            let b = load_base_policy(task, seed, device)?;
            Ok((b.model, b.tokenizer))
        }
    }
}

/// The proxy reward `reward` names: `None` for `gold` (the task's gold scorer), else the
/// reward-model directory on `device`, its length limit clipped to the policy's `context`.
pub(crate) fn load_proxy(
    reward: &str,
    context: usize,
    device: &Device,
) -> Result<Option<LearnedReward>> {
    if reward == "gold" {
        return Ok(None);
    }
    let mut r = LearnedReward::load(reward, device)
        .with_context(|| format!("loading the reward model {reward}"))?;
    r.max_len = r.max_len.min(context);
    Ok(Some(r))
}

/// A reward a trainer can own: the reward-model directory `reward` (its length limit clipped to
/// `context`), or for `gold` a fresh copy of the gold scorer of `task` (built with `seed`).
pub(crate) fn owned_reward(
    reward: &str,
    task: &str,
    seed: u64,
    context: usize,
    device: &Device,
) -> Result<Box<dyn rlp_core::RewardFn>> {
    Ok(match load_proxy(reward, context, device)? {
        Some(proxy) => Box::new(proxy),
        None => rlp_tasks::load_task(task, seed, device)?.gold,
    })
}

/// The proxy a policy optimiser maximises for `reward` (a reward-model directory, `gold`, or
/// `ensemble` with its `[ensemble]` table): `None` for the task's gold scorer. Also the
/// reward-model directory a value model initialised from the reward model starts from (an
/// ensemble's first member).
pub(crate) fn policy_reward(
    reward: &str,
    ensemble: Option<&EnsembleSpec>,
    context: usize,
    device: &Device,
) -> Result<(Option<Box<dyn RewardFn>>, Option<PathBuf>)> {
    match (reward, ensemble) {
        ("ensemble", Some(spec)) => {
            let Some(first) = spec.members.first() else {
                bail!("ensemble.members: an ensemble needs at least one reward model");
            };
            let members = spec
                .members
                .iter()
                .map(|dir| {
                    let path = dir.to_string_lossy();
                    match load_proxy(&path, context, device)
                        .with_context(|| format!("ensemble.members: {path}"))?
                    {
                        Some(r) => Ok(Box::new(r) as Box<dyn RewardFn>),
                        None => bail!("ensemble.members: `gold` is not a reward-model directory"),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let ensemble = Ensemble::new(members, spec.aggregation)
                .map_err(|e| anyhow::anyhow!("ensemble.aggregation: {e}"))?;
            Ok((Some(Box::new(ensemble)), Some(first.clone())))
        }
        ("ensemble", None) => bail!(
            "reward = \"ensemble\" needs an [ensemble] table (members, and [ensemble.aggregation] \
             with its rule)"
        ),
        (other, Some(_)) => bail!(
            "[ensemble] is set but reward = \"{other}\": set reward = \"ensemble\" to optimise \
             against it, or drop [ensemble]"
        ),
        (reward, None) => Ok((
            load_proxy(reward, context, device)?.map(|p| Box::new(p) as Box<dyn RewardFn>),
            (reward != "gold").then(|| PathBuf::from(reward)),
        )),
    }
}

/// What a policy run measures at each evaluation: `policy` against the starting policy `start`
/// on the first `counts.0` eval prompts and `counts.1` drift texts of `task`, with the gold
/// scorer and the proxy (when there is one), sampled from streams of `rng`.
pub(crate) fn evaluator<'a>(
    task: &'a Task,
    start: &'a CausalLm,
    tokenizer: &'a TextTokenizer,
    proxy: Option<&'a dyn RewardFn>,
    counts: (usize, usize),
    config: &'a EvalConfig,
    rng: &'a SeededRng,
) -> impl Fn(&CausalLm) -> Result<EvalRun> + 'a {
    let prompts = &task.eval_prompts[..counts.0.min(task.eval_prompts.len())];
    let drift = &task.drift[..counts.1.min(task.drift.len())];
    move |policy: &CausalLm| {
        Ok(evaluate_policy_detailed(
            &policy.valid(),
            start,
            tokenizer,
            prompts,
            task.gold.as_ref(),
            proxy,
            drift,
            config,
            rng,
        )?)
    }
}

/// The progress bar every run shows: bar, position, elapsed and ETA, and a message.
pub(crate) fn progress_bar(total: usize) -> ProgressBar {
    // Under data parallelism rank 0 shows progress for the group.
    if !rlp_core::parallel::is_writer() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("valid template"),
    );
    bar
}

/// The progress bar of a trainer that reports [`StepInfo`] (loss, and accuracy where the
/// method has one), as a driver callback; `metrics.jsonl` is the driver's.
pub(crate) struct StepProgress {
    bar: ProgressBar,
}

impl StepProgress {
    /// A bar over `total` steps.
    pub(crate) fn new(total: usize) -> Self {
        Self {
            bar: progress_bar(total),
        }
    }

    /// Clears the bar.
    pub(crate) fn finish(self) {
        self.bar.finish_and_clear();
    }
}

impl<T: Trainer<Stats = StepInfo>> Callback<T> for StepProgress {
    fn on_step(&mut self, _: &T, step: usize, s: &StepInfo) -> Result<(), T::Error> {
        self.bar.set_position(step as u64);
        let acc = if s.accuracy.is_nan() {
            String::new()
        } else {
            format!("  acc {:.2}", s.accuracy)
        };
        self.bar.set_message(format!("loss {:.4}{acc}", s.loss));
        Ok(())
    }
}

/// Writes a run's resolved settings as pretty JSON to `run/name`, atomically.
pub(crate) fn write_config(run: &RunDir, name: &str, config: &impl Serialize) -> Result<()> {
    if !rlp_core::parallel::is_writer() {
        return Ok(());
    }
    run.create()?;
    rlp_train::run_dir::write_atomic(
        &run.join(name),
        serde_json::to_string_pretty(config)?.as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_names_are_found_where_they_meant_the_old_thing() {
        let t: toml::Table = "[ppo]\ngamma = 1.0\nlambda = 0.9\nlr = 1e-3\n[spg]\ngamma = 0.5\n\
                              [uml]\nlambda = 0.5\n[uml.beta]\nkind = \"constant\"\n"
            .parse()
            .unwrap();
        let found = deprecated_keys(&t);
        let want = [
            ("ppo.gamma", "ppo.gae_gamma"),
            ("ppo.lambda", "ppo.gae_lambda"),
            ("spg.gamma", "spg.min_confidence"),
            ("uml.beta", "uml.ib_beta"),
        ];
        assert_eq!(found.len(), want.len(), "{found:?}");
        for (old, new) in want {
            assert!(found.contains(&(old.into(), new.into())), "{found:?}");
        }
        // `lambda` under [uml] is UML's own weight, not GAE's: no warning.
        assert!(!found.iter().any(|(o, _)| o == "uml.lambda"));
    }
}

/// Under data parallelism, checks before any training that every rank resolved the same
/// config and holds the same training data (`data` gives its bytes, computed only then): a
/// clear error instead of ranks that silently train different models.
pub(crate) fn check_ranks_agree(
    cfg: &impl serde::Serialize,
    data: impl FnOnce() -> Vec<u8>,
) -> anyhow::Result<()> {
    if rlp_core::parallel::world().size() == 1 {
        return Ok(());
    }
    rlp_core::parallel::check_agreement("config", &serde_json::to_vec(cfg)?)?;
    rlp_core::parallel::check_agreement("training data", &data())?;
    Ok(())
}

/// The token ids of `(prompt, response)` examples as bytes (each example ended by
/// `u32::MAX`), for [`check_ranks_agree`].
pub(crate) fn token_bytes(examples: &[(Vec<u32>, Vec<u32>)]) -> Vec<u8> {
    examples
        .iter()
        .flat_map(|(p, r)| p.iter().chain(r).chain(std::iter::once(&u32::MAX)))
        .flat_map(|id| id.to_le_bytes())
        .collect()
}

/// An error when this process is one of several data-parallel ranks: for what trains in one
/// process only (`what` names it). Data-parallel training covers `sft`, `reward train`, `dpo`,
/// `ppo`, `grpo`, `rloo` and `online-dpo` (docs/distributed.md).
pub fn single_process(what: &str) -> anyhow::Result<()> {
    let ranks = rlp_core::parallel::world().size();
    if ranks > 1 {
        anyhow::bail!(
            "{what} does not train data-parallel; run it as one process, not as {ranks} ranks \
             (under mpirun or with --devices); the data-parallel verbs are sft, reward train, \
             dpo, ppo, grpo, rloo and online-dpo (docs/distributed.md)"
        );
    }
    Ok(())
}
