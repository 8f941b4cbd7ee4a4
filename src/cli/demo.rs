//! `rlp demo`: SFT on the shipped toy-reverse task, then greedy decoding of its held-out prompts.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use rlp::core::jsonl::read_jsonl;
use rlp::core::{BackendSpec, PromptResponse};
use rlp::models::{GenerationConfig, SamplingParams};
use rlp::runs::generate::{NewTokens, PromptStyle};
use rlp::runs::{generate, sft};

use super::{BackendFlag, OverwriteFlag, out_dir, outdir};

const TOY_TRAIN: &str = include_str!("../../datasets/toy-reverse/train.jsonl");
const TOY_EVAL: &str = include_str!("../../datasets/toy-reverse/eval.jsonl");

/// The arguments of `rlp demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Output directory [default: runs/demo, or runs/demo-2, -3, … when that holds a run].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out_flag: OverwriteFlag,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
    /// Optimiser steps.
    #[arg(long, default_value_t = 800)]
    pub(crate) steps: usize,
}

pub(crate) fn run(a: DemoArgs) -> Result<()> {
    let (out, existing) = out_dir(a.out, "runs/demo", a.out_flag);
    let backend = a.backend.spec();
    outdir::run_in(&out.clone(), existing, false, |_| {
        demo(out, backend, a.steps)
    })
}

fn demo(out: PathBuf, backend: BackendSpec, steps: usize) -> Result<()> {
    let start = Instant::now();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let train_path = out.join("train.jsonl");
    std::fs::write(&train_path, TOY_TRAIN)?;
    std::fs::write(out.join("eval.jsonl"), TOY_EVAL)?;
    let eval: Vec<PromptResponse> = read_jsonl(out.join("eval.jsonl"))?;
    println!(
        "rlp demo: SFT on toy-reverse ({backend}), then greedy decoding of {} held-out prompts",
        eval.len()
    );
    let cfg = sft::SftConfig {
        data: train_path,
        out: out.clone(),
        backend,
        steps,
        ..Default::default()
    };
    let r = sft::run(&cfg, false)?;
    println!(
        "trained {} params on {} examples: loss {:.4} → {:.4}, {:.0} tokens/s",
        r.params, r.examples, r.first_loss, r.final_loss, r.tokens_per_sec
    );
    let mut gcfg = GenerationConfig::default();
    gcfg.sampling = SamplingParams::greedy();
    let prompts: Vec<String> = eval.iter().map(|e| e.prompt.clone()).collect();
    let outs = generate::run(
        &out,
        backend,
        &prompts,
        &PromptStyle::Raw,
        &gcfg,
        NewTokens::AtMost(16),
        0,
    )?;
    let exact = outs
        .iter()
        .zip(&eval)
        .filter(|(c, e)| c.text.trim() == e.response.trim())
        .count();
    for (c, e) in outs.iter().zip(&eval).take(5) {
        println!(
            "  {} {}   (want {})",
            c.prompt,
            c.text.trim(),
            e.response.trim()
        );
    }
    println!(
        "exact match on held-out prompts: {exact}/{} = {:.1}%  ({:.0} s in all; checkpoint in {})",
        eval.len(),
        100.0 * exact as f64 / eval.len() as f64,
        start.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}
