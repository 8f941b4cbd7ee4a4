//! `rlp data`: write a shipped dataset to a directory.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rlp::core::jsonl::write_jsonl;

/// The arguments of `rlp data`.
#[derive(clap::Args)]
pub(crate) struct DataArgs {
    /// Dataset name (`toy-reverse`, `arith` or `tweet-detox`).
    pub(crate) name: String,
    /// Output directory.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// `arith`: replace files that exist with other contents (otherwise an error names them).
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// `tweet-detox`: the `datasets/tweet-sentiment` directory to read tweets from.
    #[arg(long, default_value = "datasets/tweet-sentiment")]
    pub(crate) source: PathBuf,
}

/// Runs `rlp data`.
pub(crate) fn run(a: DataArgs) -> Result<()> {
    match a {
        DataArgs {
            name,
            out,
            overwrite,
            ..
        } if name == rlp::tasks::arith::NAME => {
            let m = rlp::tasks::arith::write_dataset(&out, overwrite)?;
            for f in &m.files {
                println!("{:<22} {:>6} rows  {}", f.name, f.rows, f.sha256);
            }
            println!(
                "wrote the arith task (seed {}) to {}",
                m.seed,
                out.display()
            );
            Ok(())
        }
        DataArgs {
            name, out, source, ..
        } if name == "tweet-detox" => {
            let d = rlp::runs::detox_data::write_tweet_detox(&source, &out, None)?;
            println!(
                "{} tweets, {} flagged by R1 ({} too short, {} duplicate prompts): wrote {} train \
             and {} eval prompts to {}",
                d.tweets,
                d.flagged,
                d.too_short,
                d.duplicate_prompts,
                d.train.len(),
                d.eval.len(),
                out.display()
            );
            Ok(())
        }
        DataArgs { name, out, .. } => {
            anyhow::ensure!(
                name == "toy-reverse",
                "unknown dataset `{name}` (known: toy-reverse, arith, tweet-detox)"
            );
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let (train, eval) = rlp::toy::dataset(0, 4000, 200);
            write_jsonl(out.join("train.jsonl"), &train)?;
            write_jsonl(out.join("eval.jsonl"), &eval)?;
            println!(
                "wrote {} train and {} eval examples to {}",
                train.len(),
                eval.len(),
                out.display()
            );
            Ok(())
        }
    }
}
