//! The pipeline's `report.md` and its plot.

use anyhow::Result;
use rlp_eval::{LinePlot, MeanSe, Report};

use super::PipelineReport;
use super::config::PipelineConfig;
use super::table::METHODS;

/// Writes `report.md` and `win_rates.{svg,png}` into the run directory.
pub fn write(config: &PipelineConfig, r: &PipelineReport) -> Result<()> {
    let mut plot = LinePlot::new(
        format!("{}: win-rate vs SFT against KL", config.task),
        "KL to SFT (nats)",
        "win-rate vs SFT, gold judge",
    );
    for m in METHODS {
        let rows: Vec<_> = r.results.iter().filter(|x| x.method == m).collect();
        if rows.is_empty() {
            continue;
        }
        let kl = MeanSe::of(&rows.iter().map(|x| x.kl).collect::<Vec<_>>()).mean;
        let win = MeanSe::of(&rows.iter().map(|x| x.win_gold).collect::<Vec<_>>()).mean;
        plot = plot.with_series(m, vec![(kl, win)]);
    }
    plot.save_svg(r.out.join("win_rates.svg"))?;
    plot.save_png(r.out.join("win_rates.png"))?;

    let mut report = Report::new(format!("RLP pipeline on {}", config.task));
    report.paragraph(format!(
        "Algorithm 1 of Lang et al. (NAACL 2024) with its baselines, {} seed(s) ({:?}). \
         SFT = the task's base policy; D = {} simulated preferences ({}% flipped); \
         PPO: {} iterations per round; RLP samples n = {} responses for each of {} unlabelled \
         prompts from the first-round policy. Every method's responses on {} eval prompts × {} \
         (temperature {}) are judged against the SFT model's own samples.",
        config.seeds.len(),
        config.seeds,
        config.preferences.pairs,
        config.preferences.flip * 100.0,
        config.iterations,
        config.policy_samples.n,
        config.policy_samples.prompts,
        config.eval.prompts,
        config.eval.samples_per_prompt,
        config.eval.temperature,
    ));
    report.heading("Results");
    report.paragraph(r.table.clone());
    report.paragraph(
        "How to read it: a win-rate above 50% means the method's responses beat the SFT \
         model's more often than not under that judge. The gold judge prefers the higher gold \
         score; the annotator pool is a seeded set of noisy simulated annotators over the same \
         gold scorer. RLP helps where its rows beat PPO's by more than their standard errors.",
    );
    report.heading("Verdict");
    report.paragraph(r.verdict.clone());
    if let Some(curve) = &r.pi1_curve {
        report.heading("π₁ through PPO");
        report.paragraph(curve.clone());
    }
    report.heading("What the retraining had to work with");
    report.paragraph(r.mechanism.clone());
    report.heading("Does retraining fix the reward model on policy samples?");
    report.paragraph(format!(
        "Pairwise agreement with the gold scorer on pairs of samples of the same eval prompt, \
         of the first reward model r and the retrained r̂ (mean ± SE across seeds).\n\n{}",
        r.agreement_table
    ));
    report.image("win-rate vs KL", "win_rates.svg");
    report.heading("Time");
    let rows: Vec<Vec<String>> = r
        .timings
        .iter()
        .map(|(s, t)| vec![s.clone(), format!("{t:.0}")])
        .collect();
    report.table(&["stage", "seconds (all seeds)"], &rows)?;
    report.write(&r.out)?;
    Ok(())
}

/// The first-round policy's gold and proxy scores and KL at each evaluated PPO iteration, mean
/// across seeds (read from `seed-*/ppo/eval.jsonl`): a proxy that rises while gold falls is r
/// being exploited. `None` when π₁ was evaluated only at the end (`ppo_eval_every = 0`).
pub(super) fn pi1_curve(config: &PipelineConfig, out: &std::path::Path) -> Option<String> {
    if config.ppo_eval_every == 0 {
        return None;
    }
    // iteration → (gold, proxy, KL) per seed.
    let mut points: std::collections::BTreeMap<u64, Vec<(f64, f64, f64)>> = Default::default();
    for seed in &config.seeds {
        let path = out.join(format!("seed-{seed}/ppo/eval.jsonl"));
        let text = std::fs::read_to_string(path).ok()?;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let e = &v["eval"];
            points.entry(v["iteration"].as_u64()?).or_default().push((
                e["gold"]["mean"].as_f64()?,
                e["proxy"]["mean"].as_f64().unwrap_or(f64::NAN),
                e["kl_k1"]["mean"].as_f64()?,
            ));
        }
    }
    let mean = |xs: &[(f64, f64, f64)], f: fn(&(f64, f64, f64)) -> f64| {
        MeanSe::of(&xs.iter().map(f).collect::<Vec<_>>())
    };
    let mut s = format!(
        "Gold and proxy (r) scores of π₁'s samples on the eval prompts (temperature 1) and its \
         KL to SFT, mean ± SE across {} seed(s). The SFT model's gold score is in the results \
         table.\n\n| iteration | gold | proxy (r) | KL (nats) |\n|---|---|---|---|\n",
        config.seeds.len()
    );
    for (it, xs) in &points {
        s += &format!(
            "| {it} | {} | {} | {} |\n",
            mean(xs, |x| x.0).cell(3),
            mean(xs, |x| x.1).cell(3),
            mean(xs, |x| x.2).cell(2)
        );
    }
    Some(s)
}

/// Per seed: how many prompts SPG kept (and their mean confidence), and UML's mutual-information
/// estimate (−log 4 ≈ −1.386 means the critic found no shared information), read from the seed
/// directories.
pub(super) fn mechanism(config: &PipelineConfig, out: &std::path::Path) -> String {
    let read = |path: std::path::PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let mut lines = vec![format!(
        "RLP-SPG needs prompts whose {} samples agree (largest cluster ≥ γ = {} of them); RLP-UML \
         needs information shared by two responses to one prompt.",
        config.policy_samples.n, config.spg.min_confidence
    )];
    for seed in &config.seeds {
        let dir = out.join(format!("seed-{seed}"));
        let spg = read(dir.join("rm-spg/spg_report.json"));
        let uml = read(dir.join("rm-uml/uml_report.json"));
        let precision = read(dir.join("rm-spg/spg_precision.json"));
        let uml_steps: Vec<rlp_ib::UmlStepInfo> =
            rlp_core::jsonl::read_jsonl(&dir.join("rm-uml/metrics.jsonl")).unwrap_or_default();
        lines.push(format!(
            "- seed {seed}: SPG kept {} of {} prompts (mean confidence {}; gold agrees with {} of \
             its pairs); UML's JS estimate {} after the head warm-up, {} over the last epoch \
             (by quarter of training: {}; the code's total correlation {}, active dimensions \
             {}).",
            spg.as_ref().map_or("?".into(), |v| v["kept"].to_string()),
            spg.as_ref()
                .map_or("?".into(), |v| v["prompts"].to_string()),
            spg.as_ref()
                .and_then(|v| v["mean_confidence"].as_f64())
                .map_or("?".into(), |c| format!("{c:.2}")),
            precision
                .as_ref()
                .map_or("?".into(), |v| format!("{}/{}", v["ordered"], v["pairs"])),
            uml.as_ref()
                .and_then(|v| v["warmup_mi"].as_f64())
                .map_or("–".into(), |m| format!("{m:.3}")),
            uml.as_ref()
                .and_then(|v| v["mean_mi"].as_f64())
                .map_or("?".into(), |m| format!("{m:.3}")),
            by_quarter(&uml_steps, |s| s.code.mi, 3).unwrap_or_else(|| "?".into()),
            by_quarter(&uml_steps, |s| s.code.tc, 3).unwrap_or_else(|| "?".into()),
            by_quarter(&uml_steps, |s| s.code.active_dims as f64, 1).unwrap_or_else(|| "?".into()),
        ));
    }
    lines.join("\n")
}

/// A trajectory of UML's training (one of its per-step statistics `f`): the mean over each
/// quarter of the steps, with `decimals` decimals, joined by arrows (`None` under 4 steps).
fn by_quarter(
    steps: &[rlp_ib::UmlStepInfo],
    f: fn(&rlp_ib::UmlStepInfo) -> f64,
    decimals: usize,
) -> Option<String> {
    if steps.len() < 4 {
        return None;
    }
    let quarter = |q: usize| {
        let part = &steps[q * steps.len() / 4..(q + 1) * steps.len() / 4];
        part.iter().map(f).sum::<f64>() / part.len() as f64
    };
    Some(
        (0..4)
            .map(|q| format!("{:.decimals$}", quarter(q)))
            .collect::<Vec<_>>()
            .join(" → "),
    )
}
