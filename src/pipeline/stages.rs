//! The steps of Algorithm 1 as the pipeline runs them: label `D`, train a reward model, one PPO
//! round from the SFT model, sample a policy, best-of-n. Each writes what it made into the run
//! directory.

use rlp_core::With;
use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;
use rlp_core::jsonl::write_jsonl;
use rlp_core::{PreferencePair, RewardFn, SeededRng};
use rlp_eval::EvalConfig;
use rlp_models::{CausalLm, TextTokenizer, generate_text};
use rlp_policy_opt::best_of_n;
use rlp_reward::{
    LabelConfig, LabelReport, LearnedReward, RewardModel, RmTrainConfig, RmTrainReport,
    label_pairs, reward_trainer, train::report_of,
};
use rlp_tasks::Task;

use super::config::{PipelineConfig, PreferenceConfig};
use crate::runs::ppo::{AnchorSpec, PpoRunConfig, PpoRunReport, run_ppo};
use crate::runs::{StepProgress, progress_bar, write_config};
pub use rlp_reward::NormSet;
use rlp_reward::normalize_saved;
use rlp_train::{DriveOptions, RunDir, Trainer, drive};

/// Rows per generation batch (the progress bar advances per batch).
const GENERATION_CHUNK: usize = 128;

/// `n` responses to each prompt, prompt-major (the `n` responses of prompt 0 first), in
/// batches of 128 rows with a progress bar labelled `what`.
pub fn sample_texts(
    policy: &CausalLm,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    n: usize,
    max_new_tokens: usize,
    temperature: f32,
    rng: &mut SeededRng,
    what: &str,
) -> Result<Vec<String>> {
    let rows: Vec<String> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), n))
        .collect();
    let generation = rlp_models::GenerationConfig::sampling(max_new_tokens, temperature);
    let bar = progress_bar(rows.len());
    bar.set_message(what.to_string());
    let mut texts = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(GENERATION_CHUNK) {
        let c = generate_text(policy, tokenizer, chunk, &generation, rng)
            .with_context(|| format!("sampling {what}"))?;
        texts.extend(c.into_iter().map(|c| c.text));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(texts)
}

/// `D`: two SFT samples for each of the first `pairs` train prompts, the gold scorer's
/// preference with a fraction flipped; written to `out/preferences.jsonl`.
pub fn label_preferences(
    task: &Task,
    sft: &CausalLm,
    tokenizer: &TextTokenizer,
    cfg: &PreferenceConfig,
    out: &Path,
) -> Result<(Vec<PreferencePair>, LabelReport)> {
    let prompts = &task.train_prompts[..cfg.pairs.min(task.train_prompts.len())];
    let mut rng = SeededRng::new(cfg.seed).fork("pipeline-preferences");
    let texts = sample_texts(
        sft,
        tokenizer,
        prompts,
        2,
        cfg.max_new_tokens,
        cfg.temperature,
        &mut rng,
        "D: SFT samples",
    )?;
    let (a, b): (Vec<String>, Vec<String>) = texts
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .unzip();
    let mut label = LabelConfig::default();
    label.flip = cfg.flip;
    label.seed = cfg.seed;
    let (pairs, report) = label_pairs(prompts, &a, &b, task.gold.as_ref(), &label)?;
    write_jsonl(out.join("preferences.jsonl"), &pairs)?;
    Ok((pairs, report))
}

/// Trains `model` on `pairs` with a progress bar and `dir/metrics.jsonl`, saves it (with the
/// tokenizer, normalised on `norm` when given) into `dir`, and returns it as a reward function.
pub fn train_rm(
    model: RewardModel,
    tokenizer: &TextTokenizer,
    pairs: &[PreferencePair],
    cfg: &RmTrainConfig,
    dir: &Path,
    plain: &Device,
    norm: Option<&NormSet>,
) -> Result<(LearnedReward, RmTrainReport)> {
    let run = RunDir::new(dir);
    write_config(&run, "reward_config.json", cfg)?;
    let start = std::time::Instant::now();
    let (mut trainer, data) = reward_trainer(model, tokenizer, pairs, cfg)?;
    let mut bar = StepProgress::new(trainer.total_steps());
    drive(&mut trainer, &run, DriveOptions::default(), &mut [&mut bar])?;
    bar.finish();
    let (model, report) = report_of(trainer, data, start.elapsed().as_secs_f64());
    let reward = save_rm(&model, tokenizer, dir, plain, norm)?;
    Ok((reward, report))
}

/// Saves a reward model with its tokenizer into `dir` and loads it back on `plain` as a reward
/// function (so scoring carries no autodiff graph). With `norm`, the saved model is first
/// mapped so that `norm`'s texts score mean 0 and SD 1, and `normalization.json` records the
/// raw mean and SD.
pub fn save_rm(
    model: &RewardModel,
    tokenizer: &TextTokenizer,
    dir: &Path,
    plain: &Device,
    norm: Option<&NormSet>,
) -> Result<LearnedReward> {
    model.save_with(tokenizer, dir)?;
    let load = || {
        LearnedReward::load(dir, plain)
            .with_context(|| format!("reloading the reward model {}", dir.display()))
    };
    match norm {
        Some(norm) => normalize_saved(dir, plain, norm)
            .with_context(|| format!("normalising the reward model {}", dir.display())),
        None => load(),
    }
}

/// A fresh reward model on the SFT weights `sft` (on the training device), its head seeded by
/// `seed`, with the config's trainable parameters.
pub fn fresh_rm(config: &PipelineConfig, sft: CausalLm, seed: u64) -> Result<RewardModel> {
    let rng = &mut SeededRng::new(seed).fork("pipeline-rm-head");
    Ok(RewardModel::from_policy(sft, rng).with_trainable(config.trainable)?)
}

/// One PPO round from the SFT model against the reward model in `reward_dir`, evaluated every
/// `eval_every` iterations (0: at the end; temperature 1: KL and drift), into `out`.
pub fn ppo_round(
    config: &PipelineConfig,
    reward_dir: &Path,
    seed: u64,
    eval_every: usize,
    out: &Path,
) -> Result<PpoRunReport> {
    let mut ppo = config.ppo.clone();
    ppo.seed = seed;
    let run = PpoRunConfig {
        task: config.task.clone(),
        policy: config.policy.clone(),
        reward: reward_dir.to_string_lossy().into_owned(),
        iterations: config.iterations,
        eval_every: if eval_every == 0 {
            config.iterations
        } else {
            eval_every.min(config.iterations)
        },
        eval_prompts: config.eval.prompts,
        eval_split: config.eval.split,
        drift_texts: config.eval.drift_texts,
        checkpoint_every: 0,
        // The pipeline measures the SFT model once and judges every method itself.
        eval_at_start: false,
        final_win_rates: false,
        backend: config.backend.clone(),
        seed,
        anchor: AnchorSpec::Initial,
        ppo,
        eval: EvalConfig::default().with(|c| {
            c.samples_per_prompt = config.eval.samples_per_prompt;
            c.max_new_tokens = config.eval.max_new_tokens;
            c.temperature = 1.0;
            c.seed = seed;
        }),
        ..Default::default()
    };
    run_ppo(&run, out, false)
}

/// The SFT model's perplexity on the first `texts` texts of the task's drift corpus.
pub fn drift_ppl(
    sft: &CausalLm,
    tokenizer: &TextTokenizer,
    task: &Task,
    texts: usize,
) -> Result<f64> {
    let corpus = &task.drift[..texts.min(task.drift.len())];
    let config = rlp_eval::teacher_forced::ScoringConfig::default();
    Ok(rlp_eval::perplexity(sft, tokenizer, corpus, &config)?.ppl)
}

/// The best-of-`n` baseline: for every row (prompt), the `reward`-best of `n` SFT samples.
pub fn best_of_n_texts(
    config: &PipelineConfig,
    sft: &CausalLm,
    tokenizer: &TextTokenizer,
    rows: &[String],
    reward: &dyn RewardFn,
    rng: &mut SeededRng,
) -> Result<Vec<String>> {
    let generation =
        rlp_models::GenerationConfig::sampling(config.eval.max_new_tokens, config.bon.temperature);
    let per_batch = (GENERATION_CHUNK / config.bon.n).max(1);
    let bar = progress_bar(rows.len());
    bar.set_message(format!("best-of-{}", config.bon.n));
    let mut texts = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(per_batch) {
        let best = best_of_n(
            sft,
            tokenizer,
            chunk,
            config.bon.n,
            &generation,
            reward,
            rng,
        )?;
        texts.extend(best.into_iter().map(|b| b.best));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(texts)
}
