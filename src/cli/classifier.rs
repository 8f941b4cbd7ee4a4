//! `rlp classifier train | eval`: sequence classifiers (gold scorers).

use rlp_core::With;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use rlp::reward::ClassifierTrainConfig;
use rlp::train::Existing;

use super::{BackendFlag, OverwriteFlag, ResumeFlag, outdir, parse_store_dtype};

#[derive(Subcommand)]
pub(crate) enum ClassifierCommand {
    /// Train a classifier from a policy checkpoint on labelled JSONL ({"text", "label"}).
    Train(ClassifierTrainArgs),
    /// Accuracy, per-class recall and NLL of a classifier directory on labelled JSONL.
    Eval {
        /// Classifier directory (what `rlp classifier train` writes).
        #[arg(long)]
        model: PathBuf,
        /// Labelled JSONL.
        #[arg(long)]
        data: PathBuf,
        /// Context length in tokens (longer texts keep their end).
        #[arg(long, default_value_t = 64)]
        max_len: usize,
        #[command(flatten)]
        backend: BackendFlag,
    },
}

#[derive(clap::Args)]
pub(crate) struct ClassifierTrainArgs {
    /// Labelled JSONL: {"text", "label"} per line.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Held-out labelled JSONL, evaluated after training (written to OUT/eval.json).
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
    /// Identity-initialised decoder layers to stack on the backbone (a judge larger than the
    /// policy).
    #[arg(long, default_value_t = 0)]
    pub(crate) grow_layers: usize,
    /// Passes over the data.
    #[arg(long, default_value_t = ClassifierTrainConfig::default().epochs)]
    pub(crate) epochs: usize,
    /// Texts per step.
    #[arg(long, default_value_t = ClassifierTrainConfig::default().batch_size)]
    pub(crate) batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = ClassifierTrainConfig::default().lr)]
    pub(crate) lr: f64,
    /// Context length in tokens (longer texts keep their end).
    #[arg(long, default_value_t = ClassifierTrainConfig::default().max_len)]
    pub(crate) max_len: usize,
    /// Storage type of the saved weights: f32, f16 or bf16.
    #[arg(long, default_value = "f32", value_parser = parse_store_dtype)]
    pub(crate) save_dtype: rlp::models::checkpoint::StoreDtype,
    /// Seed (head, grown layers, data order).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
    /// Save a resumable checkpoint-N (a loadable classifier) every N steps (0: only the final
    /// model).
    #[arg(long, default_value_t = 0)]
    pub(crate) save_every: usize,
    #[command(flatten)]
    pub(crate) resume: ResumeFlag,
}

/// Runs `rlp classifier`.
pub(crate) fn run(c: ClassifierCommand) -> Result<()> {
    use rlp::runs::classifier as run;
    match c {
        ClassifierCommand::Train(a) => {
            outdir::refuse_init_as_out(Some(&a.init), &a.out)?;
            let resume = a.resume.resume;
            let existing = Existing::from_flags(a.out_flag.overwrite, resume);
            let classifier_run = run::ClassifierRun {
                data: a.data,
                eval: a.eval,
                init: a.init,
                out: a.out.clone(),
                labels: None,
                grow_layers: a.grow_layers,
                train: rlp::reward::ClassifierTrainConfig::default().with(|c| {
                    c.epochs = a.epochs;
                    c.batch_size = a.batch_size;
                    c.lr = a.lr;
                    c.max_len = a.max_len;
                    c.seed = a.seed;
                }),
                save_dtype: a.save_dtype,
                seed: a.seed,
                backend: a.backend.spec(),
                save_every: a.save_every,
            };
            let r = outdir::run_in(&a.out, existing, true, |_| {
                run::train(&classifier_run, resume)
            })?;
            println!(
                "classifier train: {} texts ({} empty skipped, {} truncated), {:.2}M parameters, {} steps, last-epoch loss {:.4}, accuracy {:.3}, {:.1} s; saved to {}",
                r.train.examples,
                r.train.skipped_empty,
                r.train.truncated,
                r.params as f64 / 1e6,
                r.train.steps,
                r.train.last_epoch_loss,
                r.train.last_epoch_accuracy,
                r.train.seconds,
                a.out.display()
            );
            if let Some(e) = r.eval {
                println!("held-out: {}", run::describe(&e));
            }
            Ok(())
        }
        ClassifierCommand::Eval {
            model,
            data,
            max_len,
            backend: b,
        } => {
            let e = run::eval(&model, &data, max_len, b.spec())?;
            println!("{}", run::describe(&e));
            Ok(())
        }
    }
}
