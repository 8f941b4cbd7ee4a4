//! SALSA (Chegini et al., 2024): PPO whose starting point and KL reference is the weight soup
//! `α θ_SFT1 + (1 − α) θ_SFT2` of two SFT models fine-tuned from the same pretrained model with
//! different seeds, against PPO from one SFT model with that model as its reference. The
//! paper's claim: the soup reference gives higher reward and win-rate than the plain one.
//!
//!     # the proxy reward model of docs/tasks.md (tweet-sentiment) (runs/proxy, 0.718 agreement)
//!     cargo run --release --example salsa -- runs/proxy [OUT] \
//!         [--alpha 0.5] [--sft-steps 200] [--iterations 30] [--beta 0.05] [--seeds 0,1] [--reuse]
//!
//! 1. SFT: the shipped pretrained base (`models/tweet-sentiment/base`) fine-tuned on the 15,118
//!    human-written tweets of `datasets/tweet-sentiment/labelled_train.jsonl` (text only, as
//!    documents), `--sft-steps` steps of 32 at lr 5e-4, with seeds 1 and 2 (the seed fixes the
//!    data order), into OUT/sft-seed1 and OUT/sft-seed2 (reused when present).
//! 2. PPO from SFT1 with SFT1 as the KL reference, and SALSA from the soup with the soup as the
//!    reference: the main job's PPO settings (32 prompts per iteration, 2 epochs of
//!    minibatch 16, lr 2e-4, value model from the reward model) at a fixed β, one run of each
//!    per seed.
//! 3. Every starting point and every final policy is judged against the same fixed reference,
//!    the pretrained base's own samples, on 128 eval prompts × 2 samples: gold score, win-rate
//!    under the gold judge and a simulated annotator pool (AlpacaFarm's protocol), KL to its own
//!    reference, drift.
//!
//! Writes the run directories, `report.md` and a plot into OUT (default `runs/salsa`).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rlp::core::BackendSpec;
use rlp::eval::{EvalSummary, LinePlot, MeanSe, Report, markdown_table};
use rlp::models::checkpoint::StoreDtype;
use rlp::models::pretrained::save_parts;
use rlp::models::{TextTokenizer, checkpoint};
use rlp::runs::eval::{EvalOutcome, EvalRunConfig, run_eval};
use rlp::runs::ppo::{AnchorSpec, PpoRunConfig};
use rlp::runs::sft::{SftConfig, run as run_sft};
use rlp::train::weighted_average;
use support::{run_arm, study_eval, study_ppo};

/// SALSA (a soup of SFT checkpoints as the KL anchor and start) against PPO on tweet-sentiment.
#[derive(clap::Parser)]
struct Args {
    /// The proxy reward-model directory PPO optimises.
    reward: String,
    /// Output directory.
    #[arg(default_value = "runs/salsa")]
    out: PathBuf,
    /// Weight of the first SFT checkpoint in the soup (the second gets 1 − α).
    #[arg(long, default_value_t = 0.5)]
    alpha: f64,
    /// SFT steps of each soup ingredient.
    #[arg(long, default_value_t = 200)]
    sft_steps: usize,
    /// PPO iterations per arm.
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// The KL coefficient.
    #[arg(long, default_value_t = 0.05)]
    beta: f64,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    seeds: Vec<u64>,
    /// Keep finished PPO and SALSA runs found in OUT.
    #[arg(long)]
    reuse: bool,
}

/// The command line, checked.
fn parse_args() -> Result<Args> {
    let args: Args = clap::Parser::parse();
    if !(0.0..=1.0).contains(&args.alpha) {
        bail!("--alpha: {} is not in [0, 1]", args.alpha);
    }
    Ok(args)
}

/// The human-written tweets of the labelled corpus as one document per line.
fn sft_corpus(out: &Path) -> Result<PathBuf> {
    let src = rlp::tasks::tweet_sentiment::models_dir()
        .join("../../datasets/tweet-sentiment/labelled_train.jsonl");
    let text =
        std::fs::read_to_string(&src).with_context(|| format!("reading {}", src.display()))?;
    let path = out.join("sft-corpus.txt");
    let mut f =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", src.display(), i + 1))?;
        let tweet = v["text"]
            .as_str()
            .with_context(|| format!("{}:{}: no string `text`", src.display(), i + 1))?;
        writeln!(f, "{}", tweet.replace('\n', " "))?;
    }
    Ok(path)
}

/// SFT model `seed` (trained unless OUT/sft-seed{seed} already holds one).
fn sft(args: &Args, corpus: &Path, seed: u64) -> Result<PathBuf> {
    let dir = args.out.join(format!("sft-seed{seed}"));
    if dir.join("model.safetensors").is_file() {
        eprintln!("== SFT seed {seed}: reusing {}", dir.display());
        return Ok(dir);
    }
    eprintln!("== SFT seed {seed} → {}", dir.display());
    let report = run_sft(
        &SftConfig {
            data: corpus.to_path_buf(),
            out: dir.clone(),
            init: Some(rlp::tasks::tweet_sentiment::models_dir().join("base")),
            max_len: 64,
            steps: args.sft_steps,
            batch_size: 32,
            lr: 5e-4,
            seed,
            ..Default::default()
        },
        false,
    )?;
    eprintln!(
        "   loss {:.3} → {:.3} ({} tweets, {} skipped)",
        report.first_loss, report.final_loss, report.examples, report.skipped
    );
    Ok(dir)
}

/// The soup `α θ_1 + (1 − α) θ_2` saved into `dir` (with the first model's tokenizer), so it
/// can be judged like any checkpoint.
fn save_soup(first: &Path, second: &Path, alpha: f64, dir: &Path) -> Result<PathBuf> {
    let device = BackendSpec::default().device()?;
    let a = checkpoint::load(first, &device)?;
    let b = checkpoint::load(second, &device)?;
    let soup = weighted_average(&[&a, &b], &[alpha, 1.0 - alpha])?;
    let tokenizer = TextTokenizer::load(first.join("tokenizer.json"))?;
    save_parts(&soup, &tokenizer, dir, StoreDtype::F32)?;
    Ok(dir.to_path_buf())
}

/// Gold, win-rates against the pretrained base and drift of the policy in `policy`.
fn judge(policy: &Path, out: &Path, seed: u64) -> Result<EvalOutcome> {
    run_eval(
        &EvalRunConfig {
            policy: Some(policy.to_path_buf()),
            seed,
            eval: study_eval(seed),
            ..Default::default()
        },
        out,
    )
}

/// One PPO or SALSA run: the main job's PPO settings at the fixed β of `--beta`, from `policy`
/// (or the soup) with `anchor` as the KL reference, evaluated every 10 iterations.
fn ppo_arm(args: &Args, anchor: AnchorSpec, policy: Option<PathBuf>, seed: u64) -> PpoRunConfig {
    let mut config = study_ppo(
        args.reward.clone(),
        args.beta,
        args.iterations,
        10,
        seed,
        BackendSpec::default(),
    );
    config.policy = policy;
    config.anchor = anchor;
    config
}

/// A table row: name, seed, gold ± SE, KL to its reference, drift, win-rates over the base.
fn row(name: &str, seed: &str, e: &EvalOutcome, kl: Option<&EvalSummary>) -> Vec<String> {
    vec![
        name.to_string(),
        seed.to_string(),
        format!("{:.3} ± {:.3}", e.summary.gold.mean, e.summary.gold.se),
        kl.map_or("0".into(), |s| format!("{:.2}", s.kl_k1.mean)),
        e.summary
            .drift_ppl
            .map_or("-".into(), |p| format!("{p:.1}")),
        e.win_rate_gold.as_ref().map_or("-".into(), |w| {
            format!("{:.1} ± {:.1}", w.rate * 100.0, w.se * 100.0)
        }),
        e.win_rate_annotators.as_ref().map_or("-".into(), |w| {
            format!("{:.1} ± {:.1}", w.rate * 100.0, w.se * 100.0)
        }),
    ]
}

/// A win-rate's rate (NaN where the evaluation skipped win-rates; this example never does).
fn rate(w: &Option<rlp::eval::WinRate>) -> f64 {
    w.as_ref().map_or(f64::NAN, |w| w.rate)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let start = std::time::Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let corpus = sft_corpus(&args.out)?;
    let sft1 = sft(&args, &corpus, 1)?;
    let sft2 = sft(&args, &corpus, 2)?;
    let soup = AnchorSpec::Soup {
        models: vec![sft1.clone(), sft2.clone()],
        weights: vec![args.alpha, 1.0 - args.alpha],
    };

    let mut rows = Vec::new();
    for (name, dir) in [("SFT1 (PPO's start)", sft1.clone()), ("SFT2", sft2.clone())] {
        let e = judge(&dir, &dir.join("eval-vs-base"), 0)?;
        rows.push(row(name, "-", &e, None));
    }
    let soup_dir = save_soup(&sft1, &sft2, args.alpha, &args.out.join("soup"))?;
    let e = judge(&soup_dir, &soup_dir.join("eval-vs-base"), 0)?;
    rows.push(row("soup (SALSA's start)", "-", &e, None));
    let mut diffs = (Vec::new(), Vec::new(), Vec::new());
    let mut curves = Vec::new();
    for &seed in &args.seeds {
        let mut finals = Vec::new();
        for (name, anchor, policy) in [
            ("PPO", AnchorSpec::Initial, Some(sft1.clone())),
            ("SALSA", soup.clone(), None),
        ] {
            let dir = args.out.join(format!("{}-seed{seed}", name.to_lowercase()));
            eprintln!("== {name}, seed {seed} → {}", dir.display());
            let report = run_arm(&ppo_arm(&args, anchor, policy, seed), &dir, args.reuse)?;
            let outcome = judge(&dir.join("policy"), &dir.join("eval-vs-base"), 0)?;
            let last = report.evals.last().map(|(_, e)| e.clone());
            rows.push(row(name, &seed.to_string(), &outcome, last.as_ref()));
            curves.push((
                format!("{name} s{seed}"),
                report
                    .evals
                    .iter()
                    .map(|(_, e)| (e.kl_k1.mean.max(0.0), e.gold.mean))
                    .collect::<Vec<_>>(),
            ));
            finals.push(outcome);
        }
        diffs
            .0
            .push(finals[1].summary.gold.mean - finals[0].summary.gold.mean);
        diffs
            .1
            .push(rate(&finals[1].win_rate_gold) - rate(&finals[0].win_rate_gold));
        diffs
            .2
            .push(rate(&finals[1].win_rate_annotators) - rate(&finals[0].win_rate_annotators));
    }

    let headers = [
        "policy",
        "seed",
        "gold ± SE",
        "KL to its reference",
        "drift ppl",
        "win-rate vs base, gold judge (%)",
        "win-rate vs base, annotators (%)",
    ];
    let mean_se = |xs: &[f64]| {
        let m = MeanSe::of(xs);
        (m.mean, m.se)
    };
    let (dg, dg_se) = mean_se(&diffs.0);
    let (dw, dw_se) = mean_se(&diffs.1);
    let (da, da_se) = mean_se(&diffs.2);
    let paired = format!(
        "SALSA − PPO, paired by seed over {} seeds: gold {dg:+.3} ± {dg_se:.3}; win-rate (gold \
         judge) {:+.1} ± {:.1} points; win-rate (annotators) {:+.1} ± {:.1} points.",
        args.seeds.len(),
        dw * 100.0,
        dw_se * 100.0,
        da * 100.0,
        da_se * 100.0
    );
    let mut plot = LinePlot::new(
        "SALSA vs PPO on tweet-sentiment: gold vs KL to the reference",
        "KL(π ‖ π_ref) (nats, k1)",
        "gold score",
    );
    for (name, pts) in curves {
        plot = plot.with_series(name, pts);
    }
    plot.save_svg(args.out.join("gold_vs_kl.svg"))?;
    plot.save_png(args.out.join("gold_vs_kl.png"))?;
    let mut report = Report::new("SALSA vs PPO on tweet-sentiment");
    report.paragraph(format!(
        "Reward model `{}`; soup α = {}; SFT {} steps; PPO {} iterations of 32 prompts at β = {}; \
         seeds {:?}. Judged on 128 eval prompts × 2 samples against the pretrained base's own \
         samples.",
        args.reward, args.alpha, args.sft_steps, args.iterations, args.beta, args.seeds
    ));
    report.table(&headers, &rows)?;
    report.paragraph(paired.clone());
    report.image("gold vs KL", "gold_vs_kl.png");
    report.write(&args.out)?;
    println!("{}", markdown_table(&headers, &rows));
    println!("{paired}");
    println!(
        "{:.1} min; report: {}",
        start.elapsed().as_secs_f64() / 60.0,
        args.out.join("report.md").display()
    );
    Ok(())
}
