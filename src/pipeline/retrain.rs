//! Step 5 of Algorithm 1: retrain the reward model on the first-round policy's samples, by
//! RLP-UML (Bradley–Terry on `D` plus `λ·L_M` on view pairs) or RLP-SPG (Bradley–Terry on
//! `D ∪ D̂`).

use std::path::Path;

use anyhow::{Context, Result};
use rlp_core::jsonl::write_jsonl;
use rlp_core::{PreferencePair, SeededRng};
use rlp_ib::{ViewPair, train_uml};
use rlp_reward::{LearnedReward, RewardModel};
use rlp_spg::{PairPrecision, SemanticClusterer, build_pairs};

use super::Shared;
use super::config::RetrainInit;
use super::stages::{fresh_rm, save_rm, train_rm};
use crate::runs::progress_bar;

/// One line of `policy_samples.jsonl`.
#[derive(serde::Serialize)]
struct Samples<'a> {
    prompt: &'a str,
    responses: &'a [String],
}

/// Writes the policy samples, one prompt with its responses per line.
pub(crate) fn write_samples(
    path: &Path,
    prompts: &[String],
    samples: &[Vec<String>],
) -> Result<()> {
    let lines: Vec<Samples> = prompts
        .iter()
        .zip(samples)
        .map(|(p, r)| Samples {
            prompt: p,
            responses: r,
        })
        .collect();
    Ok(write_jsonl(path, &lines)?)
}

/// The reward model retraining starts from, on the training device.
fn init(s: &Shared, seed: u64) -> Result<RewardModel> {
    match s.config.retrain_init {
        RetrainInit::RewardModel => Ok(RewardModel::load(&s.r_dir, &s.train)
            .with_context(|| format!("loading r from {}", s.r_dir.display()))?
            .with_trainable(s.config.trainable)?),
        RetrainInit::Sft => fresh_rm(
            s.config,
            super::sft_on_train(s.config, &s.task, &s.train)?,
            seed,
        ),
    }
}

/// The pairs of `D` retraining revisits: all of them, or a seeded subset of `retrain_pairs`.
fn revisited(s: &Shared, seed: u64) -> Vec<PreferencePair> {
    revisited_pairs(&s.preferences, s.config.retrain_pairs, seed)
}

/// `k` pairs of `d` drawn by a seeded shuffle (all of `d` for `k = 0` or `k ≥ |d|`).
pub fn revisited_pairs(d: &[PreferencePair], k: usize, seed: u64) -> Vec<PreferencePair> {
    if k == 0 || k >= d.len() {
        return d.to_vec();
    }
    let mut idx: Vec<usize> = (0..d.len()).collect();
    SeededRng::new(seed)
        .fork("pipeline-retrain-subset")
        .shuffle(&mut idx);
    idx[..k].iter().map(|&i| d[i].clone()).collect()
}

/// RLP-UML: Bradley–Terry on the revisited pairs of `D` plus `λ·L_M` on [`ViewPair::disjoint`] views.
pub(crate) fn uml(
    s: &Shared,
    prompts: &[String],
    samples: &[Vec<String>],
    seed: u64,
    dir: &Path,
) -> Result<LearnedReward> {
    let views = ViewPair::disjoint(prompts, samples);
    let d = revisited(s, seed);
    let mut config = s.config.uml.clone();
    config.rm.seed = seed;
    std::fs::create_dir_all(dir)?;
    let bar = progress_bar(0);
    let mut steps = Vec::new();
    let (model, report) = train_uml(
        init(s, seed)?,
        &s.tokenizer,
        &d,
        &views,
        &config,
        &mut |st| {
            steps.push(*st);
            bar.set_length(st.total as u64);
            bar.set_position(st.step as u64);
            bar.set_message(format!(
                "UML: bt {:.3}  I_JS {:.3}  SKL {:.3}",
                st.bt_loss, st.code.mi, st.code.skl
            ));
        },
    )?;
    bar.finish_and_clear();
    eprintln!(
        "    {} pairs of D, {} view pairs: I_JS {} after the head warm-up, {:.3} over the last \
         epoch (−log 4 = −1.386 is no information); SKL {:.3} ({:.0} s)",
        d.len(),
        views.len(),
        report
            .warmup_mi
            .map_or("–".to_string(), |m| format!("{m:.3}")),
        report.mean_mi,
        report.mean_skl,
        report.seconds
    );
    // Every step's losses and I_JS: the trajectory the report summarises.
    write_jsonl(dir.join("metrics.jsonl"), &steps)?;
    std::fs::write(
        dir.join("uml_report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    save_rm(&model, &s.tokenizer, dir, &s.plain, s.norm.as_ref())
}

/// The clusterer the config names.
fn clusterer(s: &Shared) -> Result<Box<dyn SemanticClusterer>> {
    Ok(s.config.clusterer.build(&s.sft, &s.tokenizer, &s.plain)?)
}

/// The control: `r` retrained as [`spg`] retrains it, on the revisited pairs of `D` alone.
pub(crate) fn control(s: &Shared, seed: u64, dir: &Path) -> Result<LearnedReward> {
    bradley_terry(s, seed, Vec::new(), dir)
}

/// Bradley–Terry retraining on the revisited pairs of `D` plus `extra`, with `spg_train`'s
/// settings, saved (normalised) into `dir`.
fn bradley_terry(
    s: &Shared,
    seed: u64,
    extra: Vec<PreferencePair>,
    dir: &Path,
) -> Result<LearnedReward> {
    let mut d = revisited(s, seed);
    d.extend(extra);
    let mut train = s.config.spg_train.clone();
    train.seed = seed;
    let (reward, _) = train_rm(
        init(s, seed)?,
        &s.tokenizer,
        &d,
        &train,
        dir,
        &s.plain,
        s.norm.as_ref(),
    )?;
    Ok(reward)
}

/// RLP-SPG: synthetic pairs `D̂` from the self-consistent prompts, then Bradley–Terry on
/// `D ∪ D̂` (unweighted).
pub(crate) fn spg(
    s: &Shared,
    prompts: &[String],
    samples: &[Vec<String>],
    seed: u64,
    dir: &Path,
) -> Result<LearnedReward> {
    let mut config = s.config.spg.clone();
    config.seed = seed;
    let mut clusterer = clusterer(s)?;
    let (synthetic, report) = build_pairs(prompts, samples, clusterer.as_mut(), &s.r, &config)?;
    std::fs::create_dir_all(dir)?;
    write_jsonl(dir.join("spg_pairs.jsonl"), &synthetic)?;
    std::fs::write(
        dir.join("spg_report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    // The precision of D̂ by the gold scorer (a diagnostic only: nothing trains on it).
    let precision = PairPrecision::measure(s.task.gold.as_ref(), &synthetic)?;
    std::fs::write(
        dir.join("spg_precision.json"),
        serde_json::to_string_pretty(&precision)?,
    )?;
    eprintln!(
        "    D̂: kept {} of {} prompts ({} below γ = {}, {} with one cluster); mean confidence {:.2}; \
         gold orders {} of {} pairs as D̂ does ({} ties, {} reversed)",
        report.kept,
        report.prompts,
        report.skipped_low_confidence,
        config.min_confidence,
        report.skipped_single_cluster,
        report.mean_confidence,
        precision.ordered,
        precision.pairs,
        precision.ties,
        precision.reversed,
    );
    bradley_terry(s, seed, synthetic, dir)
}
