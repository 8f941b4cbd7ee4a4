//! RLP's Algorithm 1 end to end, with its baselines (`docs/algorithms.md`, "RLP: Reward Learning on Policy"):
//!
//! 1. SFT: the task's base policy.
//! 2. `D`: simulated human preferences on SFT samples (gold scorer, a fraction flipped); the
//!    first reward model `r` trained on `D`.
//! 3. PPO from SFT against `r`: the first-round policy `π₁` (the PPO baseline).
//! 4. `P`: `n` samples of `π₁` per unlabelled prompt.
//! 5. Retrain: RLP-UML (`D` plus `λ·L_M` on view pairs from `P`) and RLP-SPG (`D ∪ D̂`, `D̂` the
//!    synthetic pairs of `P`'s self-consistent prompts).
//! 6. PPO again from SFT against each retrained `r̂`.
//!
//! Every method (SFT, best-of-n against `r`, PPO, RLP-UML, RLP-SPG) is judged against the SFT
//! model's outputs on the eval prompts, per seed; the table reports mean ± SE across seeds, and
//! the diagnostic reports how well `r` and `r̂` rank the policies' own samples.
//!
//! The run directory holds `config.toml`, `preferences.jsonl`, `rm/`, one `seed-N/` per seed
//! (`ppo/`, `policy_samples.jsonl`, `sft_samples.jsonl` with `policy_samples.sft_too`,
//! `rm-uml/`, `rm-spg/` with `spg_pairs.jsonl`, `spg_report.json` and `spg_precision.json` (how
//! often gold orders `D̂`'s pairs as `D̂` does), `rm-control/`, `ppo-control/`, `ppo-uml/`,
//! `ppo-spg/`, `results.json`), `results.jsonl`, `table.md`, `win_rates.{svg,png}` and
//! `report.md`.

pub mod agreement;
pub mod config;
mod judge;
mod report;
pub mod retrain;
pub mod rundir;
pub mod stages;
pub mod table;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rlp_core::{MemoReward, SeededRng};
use rlp_eval::bon_kl;
use rlp_models::{CausalLm, TextTokenizer, checkpoint};
use rlp_reward::LearnedReward;
use rlp_tasks::{Task, load_task};

pub use agreement::{Agreement, pairwise_agreement};
pub use config::{DEFAULT_CONFIG, MAIN_JOB_SEEDS, PipelineConfig};
pub use table::{AgreementResult, METHODS, MethodResult};

use crate::runs::{load_policy, start_run_dir};

/// What a pipeline run ends with.
#[derive(Debug, Clone)]
pub struct PipelineReport {
    /// Every method in every seed.
    pub results: Vec<MethodResult>,
    /// The reward-model diagnostic in every seed.
    pub agreement: Vec<AgreementResult>,
    /// The table (Markdown).
    pub table: String,
    /// The diagnostic table (Markdown).
    pub agreement_table: String,
    /// Each RLP variant against PPO and the control: the paired difference and whether it is
    /// more than two standard errors from zero (Markdown list).
    pub verdict: String,
    /// The first-round policy's gold score, proxy score and KL at each evaluated PPO iteration
    /// (Markdown; `None` unless `ppo_eval_every > 0`): r being exploited shows as a proxy that
    /// rises while gold falls.
    pub pi1_curve: Option<String>,
    /// What the retraining had to work with, per seed: SPG's kept prompts, their confidence
    /// and the precision of its synthetic pairs, and UML's mutual-information estimate
    /// (Markdown).
    pub mechanism: String,
    /// Wall-clock seconds of each stage, summed over seeds.
    pub timings: Vec<(String, f64)>,
    /// The run directory.
    pub out: PathBuf,
}

/// Wall-clock seconds per stage, summed over seeds, in first-seen order.
#[derive(Default)]
struct Timings(Vec<(String, f64)>);

impl Timings {
    fn time<T>(&mut self, stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = Instant::now();
        let v = f()?;
        let secs = t.elapsed().as_secs_f64();
        match self.0.iter_mut().find(|(s, _)| s == stage) {
            Some((_, total)) => *total += secs,
            None => self.0.push((stage.to_string(), secs)),
        }
        Ok(v)
    }
}

/// Everything a seed needs that the seeds share.
pub(crate) struct Shared<'a> {
    config: &'a PipelineConfig,
    task: Task,
    sft: CausalLm,
    tokenizer: TextTokenizer,
    preferences: Vec<rlp_core::PreferencePair>,
    r: LearnedReward,
    r_dir: PathBuf,
    plain: burn::tensor::Device,
    train: burn::tensor::Device,
    /// Eval prompts, each repeated `samples_per_prompt` times (prompt-major).
    rows: Vec<String>,
    /// The SFT model's drift perplexity.
    sft_drift: f64,
    /// The texts every reward model is normalised on (`None`: no normalisation).
    norm: Option<stages::NormSet>,
}

/// Runs the pipeline as `config` says, writing into `out`.
pub fn run_pipeline(config: &PipelineConfig, out: &Path) -> Result<PipelineReport> {
    config.validate()?;
    start_run_dir(out, config)?;
    let _ = std::fs::remove_file(out.join("results.jsonl"));
    let mut timings = Timings::default();
    let plain = config.backend.device()?;
    let train = config.backend.autodiff_device()?;
    let task = load_task(&config.task, config.seeds[0], &plain)?.evaluated_on(config.eval.split)?;
    let (sft, tokenizer) = load_policy(config.policy.as_deref(), &task, config.seeds[0], &plain)?;
    let unlabelled = config.preferences.pairs + config.policy_samples.prompts;
    if task.train_prompts.len() < unlabelled {
        anyhow::bail!(
            "task {}: {} train prompts, but preferences.pairs + policy_samples.prompts = {unlabelled}",
            task.name,
            task.train_prompts.len()
        );
    }

    eprintln!(
        "[1/3] D: {} simulated preferences on SFT samples ({}% flipped)",
        config.preferences.pairs,
        config.preferences.flip * 100.0
    );
    let (preferences, label) = timings.time("label D", || {
        stages::label_preferences(&task, &sft, &tokenizer, &config.preferences, out)
    })?;
    eprintln!(
        "      {} pairs ({} flipped; skipped {} identical, {} gold ties)",
        label.pairs, label.flipped, label.identical, label.ties
    );
    let norm = (config.normalize_pairs > 0)
        .then(|| stages::NormSet::from_pairs(&preferences, config.normalize_pairs));
    eprintln!("[2/3] r: Bradley–Terry on D");
    let r_dir = out.join("rm");
    let (r, r_report) = timings.time("train r", || {
        let init = stages::fresh_rm(
            config,
            sft_on_train(config, &task, &train)?,
            config.seeds[0],
        )?;
        stages::train_rm(
            init,
            &tokenizer,
            &preferences,
            &config.reward,
            &r_dir,
            &plain,
            norm.as_ref(),
        )
    })?;
    eprintln!(
        "      last-epoch loss {:.4}, batch accuracy {:.3}, {:.0} s",
        r_report.last_epoch_loss, r_report.last_epoch_accuracy, r_report.seconds
    );

    let prompts = &task.eval_prompts[..config.eval.prompts.min(task.eval_prompts.len())];
    let rows: Vec<String> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), config.eval.samples_per_prompt))
        .collect();
    let sft_drift = timings.time("SFT drift", || {
        stages::drift_ppl(&sft, &tokenizer, &task, config.eval.drift_texts)
    })?;
    let shared = Shared {
        config,
        task,
        sft,
        tokenizer,
        preferences,
        r,
        r_dir,
        plain,
        train,
        rows,
        sft_drift,
        norm,
    };
    let mut results = Vec::new();
    let mut agreement = Vec::new();
    for (i, &seed) in config.seeds.iter().enumerate() {
        eprintln!("[3/3] seed {seed} ({} of {})", i + 1, config.seeds.len());
        let (res, agr) = run_seed(
            &shared,
            seed,
            &out.join(format!("seed-{seed}")),
            &mut timings,
        )?;
        let dir = rlp_train::RunDir::new(out);
        for r in &res {
            dir.append_jsonl("results.jsonl", r)?;
        }
        results.extend(res);
        agreement.extend(agr);
    }
    let table = format!(
        "{}\n{}",
        table::markdown(&results, config.seeds.len()),
        table::differences_markdown(&results)
    );
    let agreement_table = table::agreement_markdown(&agreement);
    std::fs::write(out.join("table.md"), &table)?;
    let report = PipelineReport {
        agreement,
        table,
        agreement_table,
        verdict: verdict::verdict(&results),
        pi1_curve: report::pi1_curve(config, out),
        mechanism: report::mechanism(config, out),
        results,
        timings: timings.0,
        out: out.to_path_buf(),
    };
    report::write(config, &report)?;
    Ok(report)
}

/// The SFT model loaded again, on the training device.
fn sft_on_train(
    config: &PipelineConfig,
    task: &Task,
    train: &burn::tensor::Device,
) -> Result<CausalLm> {
    Ok(load_policy(config.policy.as_deref(), task, config.seeds[0], train)?.0)
}

/// One seed: the baselines, the control, both RLP variants, the judgements and the
/// diagnostic.
fn run_seed(
    s: &Shared,
    seed: u64,
    dir: &Path,
    timings: &mut Timings,
) -> Result<(Vec<MethodResult>, Vec<AgreementResult>)> {
    let c = s.config;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let rng = SeededRng::new(seed).fork("pipeline-seed");
    let prompts: Vec<String> = s
        .rows
        .iter()
        .step_by(c.eval.samples_per_prompt)
        .cloned()
        .collect();
    let sample_eval = |policy: &CausalLm, stream: &str| -> Result<Vec<String>> {
        stages::sample_texts(
            policy,
            &s.tokenizer,
            &prompts,
            c.eval.samples_per_prompt,
            c.eval.max_new_tokens,
            c.eval.temperature,
            &mut rng.fork(stream),
            stream,
        )
    };
    // Greedy responses, one per eval prompt, when the config asks for them.
    let greedy_eval = |policy: &CausalLm, method: &str| -> Result<Option<Vec<String>>> {
        if !c.eval.greedy {
            return Ok(None);
        }
        let stream = format!("{method} greedy");
        stages::sample_texts(
            policy,
            &s.tokenizer,
            &prompts,
            1,
            c.eval.max_new_tokens,
            0.0,
            &mut rng.fork(&stream),
            &stream,
        )
        .map(Some)
    };
    let reference = timings.time("eval samples", || sample_eval(&s.sft, "SFT reference"))?;
    let mut arms = vec![judge::Arm {
        method: "SFT",
        texts: timings.time("eval samples", || sample_eval(&s.sft, "SFT"))?,
        kl: 0.0,
        drift_ppl: Some(s.sft_drift),
        greedy: timings.time("eval samples", || greedy_eval(&s.sft, "SFT"))?,
    }];
    arms.push(judge::Arm {
        method: "Best-of-n",
        texts: timings.time("best-of-n", || {
            stages::best_of_n_texts(c, &s.sft, &s.tokenizer, &s.rows, &s.r, &mut rng.fork("bon"))
        })?,
        kl: bon_kl(c.bon.n),
        drift_ppl: None,
        greedy: None,
    });
    // One PPO round from SFT against `reward_dir`; its final policy's eval samples.
    let ppo_arm = |timings: &mut Timings,
                   method: &'static str,
                   reward_dir: &Path,
                   run: &str|
     -> Result<judge::Arm> {
        eprintln!("  {method}: PPO against {}", reward_dir.display());
        let report = timings.time("PPO", || {
            // π₁ (the PPO baseline) is followed along its run; the other rounds are judged at
            // the end.
            let every = if method == "PPO" { c.ppo_eval_every } else { 0 };
            stages::ppo_round(c, reward_dir, seed, every, &dir.join(run))
        })?;
        let policy = load_run_policy(&dir.join(run), &s.plain)?;
        let e = &report.evals[report.evals.len() - 1].1;
        Ok(judge::Arm {
            method,
            texts: timings.time("eval samples", || sample_eval(&policy, method))?,
            kl: e.kl_k1.mean,
            drift_ppl: e.drift_ppl,
            greedy: timings.time("eval samples", || greedy_eval(&policy, method))?,
        })
    };
    let ppo = ppo_arm(timings, "PPO", &s.r_dir, "ppo")?;
    let pi1 = load_run_policy(&dir.join("ppo"), &s.plain)?;

    let start = c.preferences.pairs;
    let unlabelled = &s.task.train_prompts[start..start + c.policy_samples.prompts];
    // n samples per unlabelled prompt from `policy`, with a progress bar labelled `what`.
    let sample_unlabelled = |policy: &CausalLm, what: &str| -> Result<Vec<Vec<String>>> {
        let generation = rlp_models::GenerationConfig::sampling(
            c.policy_samples.max_new_tokens,
            c.policy_samples.temperature,
        );
        let bar = crate::runs::progress_bar(unlabelled.len());
        bar.set_message(format!("{what}: {} samples per prompt", c.policy_samples.n));
        let out = rlp_spg::sample_responses_with_progress(
            policy,
            &s.tokenizer,
            unlabelled,
            c.policy_samples.n,
            &generation,
            seed,
            |done, _| bar.set_position(done as u64),
        )?;
        bar.finish_and_clear();
        Ok(out)
    };
    let samples = timings.time("policy samples", || sample_unlabelled(&pi1, "P"))?;
    retrain::write_samples(&dir.join("policy_samples.jsonl"), unlabelled, &samples)?;
    let sft_samples = if c.policy_samples.sft_too {
        let out = timings.time("policy samples", || {
            sample_unlabelled(&s.sft, "SFT on P's prompts")
        })?;
        retrain::write_samples(&dir.join("sft_samples.jsonl"), unlabelled, &out)?;
        Some(out)
    } else {
        None
    };

    eprintln!("  RLP-UML: retrain r with the multi-view information bottleneck");
    let uml_dir = dir.join("rm-uml");
    let r_uml = timings.time("retrain UML", || {
        retrain::uml(s, unlabelled, &samples, seed, &uml_dir)
    })?;
    eprintln!("  RLP-SPG: synthetic preferences from self-consistent samples");
    let spg_dir = dir.join("rm-spg");
    let r_spg = timings.time("retrain SPG", || {
        retrain::spg(s, unlabelled, &samples, seed, &spg_dir)
    })?;
    let control_dir = dir.join("rm-control");
    let r_control = if c.control {
        eprintln!("  control: retrain r on D alone (no policy samples)");
        Some(timings.time("retrain control", || {
            retrain::control(s, seed, &control_dir)
        })?)
    } else {
        None
    };
    arms.push(ppo);
    if c.control {
        arms.push(ppo_arm(timings, "Retrain-D", &control_dir, "ppo-control")?);
    }
    arms.push(ppo_arm(timings, "RLP-UML", &uml_dir, "ppo-uml")?);
    arms.push(ppo_arm(timings, "RLP-SPG", &spg_dir, "ppo-spg")?);

    let memo = MemoReward::new(s.task.gold.as_ref());
    let results = timings.time("judging", || {
        judge::judge_arms(
            &arms,
            &reference,
            &s.rows,
            &prompts,
            &memo,
            &c.eval.annotators,
            seed,
        )
    })?;
    let texts = |m: &str| &arms.iter().find(|a| a.method == m).expect("arm").texts;
    let mut agreement = Vec::new();
    let mut retrained = vec![("RLP-UML", &r_uml), ("RLP-SPG", &r_spg)];
    if let Some(r_control) = &r_control {
        retrained.insert(0, ("Retrain-D", r_control));
    }
    // All pairs within each prompt's n samples of P (the texts retraining saw, without gold
    // labels; many more pairs than the eval samples give) and, with `sft_too`, of the SFT
    // model's samples on the same prompts. r's agreement on each is the same for every
    // retraining, so it is measured once.
    let mut all_pairs = vec![("P (π₁, all pairs)", &samples)];
    if let Some(sft_samples) = &sft_samples {
        all_pairs.push(("SFT on P's prompts (all pairs)", sft_samples));
    }
    let r_on_all_pairs = timings.time("judging", || {
        all_pairs
            .iter()
            .map(|(_, texts)| rundir::agreement_on_samples(&s.r, &memo, unlabelled, texts))
            .collect::<Result<Vec<_>>>()
    })?;
    for (method, r_hat) in retrained {
        for ((name, texts), before) in all_pairs.iter().zip(&r_on_all_pairs) {
            let after = timings.time("judging", || {
                rundir::agreement_on_samples(r_hat, &memo, unlabelled, texts)
            })?;
            agreement.push(AgreementResult {
                method: method.into(),
                seed,
                samples: (*name).into(),
                before: *before,
                after,
            });
        }
        for samples in ["SFT", "PPO", method] {
            let (before, after) = judge::agreement_of(
                &s.r,
                r_hat,
                &memo,
                &s.rows,
                texts(samples),
                c.eval.samples_per_prompt,
            )?;
            agreement.push(AgreementResult {
                method: method.into(),
                seed,
                samples: samples.into(),
                before,
                after,
            });
        }
    }
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({"methods": results, "agreement": agreement}),
        )?,
    )?;
    for r in &results {
        eprintln!(
            "  {:<10} win-rate {:.3} ± {:.3} (gold judge)  {:.3} ± {:.3} (annotators)  gold {:.3}  KL {:.2}",
            r.method,
            r.win_gold,
            r.win_gold_se,
            r.win_annotators,
            r.win_annotators_se,
            r.gold.mean,
            r.kl
        );
    }
    Ok((results, agreement))
}

/// The final policy of the PPO run in `dir` on `device`.
fn load_run_policy(dir: &Path, device: &burn::tensor::Device) -> Result<CausalLm> {
    let p = dir.join("policy");
    checkpoint::load(&p, device).with_context(|| format!("loading {}", p.display()))
}
