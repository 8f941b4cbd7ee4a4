//! The pipeline's `report.md` and its plot.

use anyhow::Result;
use rlp_eval::{LinePlot, MeanSe, Report};

use super::config::PipelineConfig;
use super::table::METHODS;
use super::PipelineReport;

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
