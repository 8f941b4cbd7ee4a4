//! `rlp reward label | train | eval`: reward models from the command line.

use rlp_core::With;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use rlp::models::{GenerationConfig, SamplingParams};
use rlp::reward::RmTrainConfig;
use rlp::train::Existing;

use super::{BackendFlag, LoraFlags, OverwriteFlag, ResumeFlag, outdir};

#[derive(Subcommand)]
pub(crate) enum RewardCommand {
    /// Sample two responses per task prompt from a policy, label them with the task's gold
    /// scorer (flipping --flip of the labels) and write preference JSONL.
    Label {
        /// Policy checkpoint directory (with tokenizer.json; default: the task's base policy).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Task: tweet-sentiment, tweet-detox, arith or synthetic.
        #[arg(long, default_value = "tweet-sentiment")]
        task: String,
        /// Output JSONL.
        #[arg(long)]
        out: PathBuf,
        /// Replace --out when it exists (without it, that is an error).
        #[arg(long)]
        overwrite: bool,
        /// Prompts to label: train, or eval (held-out pairs).
        #[arg(long, default_value = "train", value_parser = ["train", "eval"])]
        split: String,
        /// Use N prompts of the split, cycling when N exceeds it (default: each once).
        #[arg(long)]
        prompts: Option<usize>,
        /// Fraction of labels flipped (label noise).
        #[arg(long, default_value_t = 0.25)]
        flip: f64,
        /// New tokens per response at most.
        #[arg(long, default_value_t = 24)]
        max_new_tokens: usize,
        /// Sampling temperature.
        #[arg(long, default_value_t = 1.0)]
        temperature: f32,
        /// Seed (sampling and flips).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        backend: BackendFlag,
    },
    /// Train a reward model (Bradley–Terry) from a policy checkpoint on preference JSONL.
    Train(RewardTrainArgs),
    /// Pairwise accuracy of a reward-model directory on preference JSONL.
    Eval {
        /// Reward-model directory (what `rlp reward train` writes).
        #[arg(long)]
        model: PathBuf,
        /// Preference JSONL.
        #[arg(long)]
        data: PathBuf,
        /// Context length in tokens.
        #[arg(long, default_value_t = 512)]
        max_len: usize,
        /// Longer pairs: skip or keep-end.
        #[arg(long, default_value = "skip", value_parser = parse_overlong)]
        overlong: rlp::reward::Overlong,
        #[command(flatten)]
        backend: BackendFlag,
    },
}

#[derive(clap::Args)]
pub(crate) struct RewardTrainArgs {
    /// Preference JSONL: {"prompt", "chosen", "rejected", "margin"?} per line.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Held-out preference JSONL, evaluated after training.
    #[arg(long)]
    pub(crate) eval: Option<PathBuf>,
    /// Policy checkpoint directory (with tokenizer.json) to start from.
    #[arg(long)]
    pub(crate) init: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) out_flag: OverwriteFlag,
    /// Trainable parameters: all, or top:N (the head and the top N layers; top:0 = head only).
    #[arg(long, default_value = "all", value_parser = parse_trainable)]
    pub(crate) trainable: rlp::reward::Trainable,
    /// Passes over the data.
    #[arg(long, default_value_t = RmTrainConfig::default().epochs)]
    pub(crate) epochs: usize,
    /// Pairs per step.
    #[arg(long, default_value_t = RmTrainConfig::default().batch_size)]
    pub(crate) batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = RmTrainConfig::default().lr)]
    pub(crate) lr: f64,
    /// L2 penalty on the scores.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) l2: f64,
    /// Context length in tokens.
    #[arg(long, default_value_t = RmTrainConfig::default().max_len)]
    pub(crate) max_len: usize,
    /// Longer pairs: skip or keep-end.
    #[arg(long, default_value = "skip", value_parser = parse_overlong)]
    pub(crate) overlong: rlp::reward::Overlong,
    /// Seed (head init and data order).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
    /// Save a resumable checkpoint-N (a loadable reward model) every N steps (0: only the
    /// final model).
    #[arg(long, default_value_t = 0)]
    pub(crate) save_every: usize,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
    #[command(flatten)]
    pub(crate) lora: LoraFlags,
}

fn parse_overlong(s: &str) -> Result<rlp::reward::Overlong, String> {
    match s {
        "skip" => Ok(rlp::reward::Overlong::Skip),
        "keep-end" => Ok(rlp::reward::Overlong::KeepEnd),
        other => Err(format!("`{other}`: expected skip or keep-end")),
    }
}

fn parse_trainable(s: &str) -> Result<rlp::reward::Trainable, String> {
    if s == "all" {
        return Ok(rlp::reward::Trainable::All);
    }
    s.strip_prefix("top:")
        .and_then(|n| n.parse().ok())
        .map(rlp::reward::Trainable::Top)
        .ok_or_else(|| format!("`{s}`: expected all or top:N"))
}

/// Runs `rlp reward`.
pub(crate) fn run(c: RewardCommand) -> Result<()> {
    use rlp::runs::reward as run;
    match c {
        RewardCommand::Label {
            policy,
            task,
            out,
            overwrite,
            split,
            prompts,
            flip,
            max_new_tokens,
            temperature,
            seed,
            backend: b,
        } => {
            outdir::claim_file(&out, overwrite)?;
            let r = run::label(&run::LabelRun {
                policy,
                task,
                eval_split: split == "eval",
                prompts,
                generation: GenerationConfig::default().with(|c| {
                    c.max_new_tokens = max_new_tokens;
                    c.sampling = SamplingParams::default();
                    c.sampling.temperature = temperature;
                    c.sampling.top_k = None;
                    c.sampling.top_p = None;
                }),
                label: rlp::reward::LabelConfig::default().with(|c| {
                    c.flip = flip;
                    c.seed = seed;
                }),
                out: out.clone(),
                backend: b.spec(),
            })?;
            report!(
                "labelled {} pairs ({} flipped; skipped {} identical, {} gold ties) to {}",
                r.pairs,
                r.flipped,
                r.identical,
                r.ties,
                out.display()
            );
            Ok(())
        }
        RewardCommand::Train(a) => {
            outdir::refuse_init_as_out(Some(&a.init), &a.out)?;
            let resume = a.resume.resume;
            let existing = Existing::from_flags(a.out_flag.overwrite, resume);
            let cfg = run::RewardTrainConfig {
                data: a.data,
                eval: a.eval,
                init: a.init,
                out: a.out,
                trainable: a.trainable,
                train: rlp::reward::RmTrainConfig::default().with(|c| {
                    c.epochs = a.epochs;
                    c.batch_size = a.batch_size;
                    c.lr = a.lr;
                    c.bt = rlp::reward::BtConfig::default();
                    c.bt.l2 = a.l2;
                    c.max_len = a.max_len;
                    c.overlong = a.overlong;
                    c.seed = a.seed;
                }),
                seed: a.seed,
                backend: a.backend.spec(),
                save_every: a.save_every,
                lora: None,
                grad_checkpointing: false,
            };
            let mut cfg = cfg;
            a.lora.apply(&mut cfg.lora, &mut cfg.grad_checkpointing);
            let r = outdir::run_in(&cfg.out, existing, true, |_| run::train(&cfg, resume))?;
            report!(
                "reward train: {} pairs, {} steps, last-epoch loss {:.4}, accuracy {:.3}, {:.1} s; saved to {}",
                r.train.pairs,
                r.train.steps,
                r.train.last_epoch_loss,
                r.train.last_epoch_accuracy,
                r.train.seconds,
                cfg.out.display()
            );
            if let Some(e) = r.eval {
                report!(
                    "held-out: accuracy {:.3} on {} pairs, mean gap {:.3} ({})",
                    e.accuracy,
                    e.pairs,
                    e.mean_gap,
                    e.skipped
                );
            }
            Ok(())
        }
        RewardCommand::Eval {
            model,
            data,
            max_len,
            overlong,
            backend: b,
        } => {
            let e = run::eval(&model, &data, max_len, overlong, b.spec())?;
            report!(
                "accuracy {:.3} on {} pairs, mean gap {:.3} ({})",
                e.accuracy,
                e.pairs,
                e.mean_gap,
                e.skipped
            );
            Ok(())
        }
    }
}
