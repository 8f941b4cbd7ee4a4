//! The verdict: each RLP variant against PPO and against the control, paired by seed, called
//! only when the difference is more than two standard errors from zero — and, across two runs
//! of the same seeds on different backends (or machines), called only where both runs agree.
//!
//! Why the second rule: a paired standard error within one run measures the spread across
//! seeds on one set of kernels. Floating-point kernels that round differently (flex and
//! ndarray, or AVX2 and AVX-512 machines) send PPO down different trajectories from the same
//! seed, so one run's standard error understates the real spread. A verdict that flips when
//! only the kernels change is not a verdict.

use std::path::Path;

use anyhow::{Context, Result};
use rlp_eval::MeanSe;

use super::table::{MethodResult, paired_difference};

/// The comparisons the verdict makes: (RLP variant, baseline).
pub const COMPARISONS: [(&str, &str); 4] = [
    ("RLP-UML", "PPO"),
    ("RLP-UML", "Retrain-D"),
    ("RLP-SPG", "PPO"),
    ("RLP-SPG", "Retrain-D"),
];

/// What one paired difference says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// More than two standard errors above zero.
    Beats,
    /// More than two standard errors below zero.
    Loses,
    /// Within two standard errors of zero.
    NoDifference,
    /// Fewer than two seeds: no standard error.
    OneSeed,
}

impl Call {
    /// The call on a paired difference `d` (mean and SE across seeds).
    pub fn of(d: &MeanSe) -> Self {
        if d.n < 2 {
            Call::OneSeed
        } else if d.mean > 2.0 * d.se {
            Call::Beats
        } else if d.mean < -2.0 * d.se {
            Call::Loses
        } else {
            Call::NoDifference
        }
    }

    /// The call in words, for `method` against `base`.
    pub fn words(self, method: &str, base: &str) -> String {
        match self {
            Call::Beats => format!("{method} beats {base}"),
            Call::Loses => format!("{method} loses to {base}"),
            Call::NoDifference => format!("no difference from {base} within two standard errors"),
            Call::OneSeed => "one seed: no standard error".to_string(),
        }
    }
}

/// The paired gold win-rate difference `method − base` in `rows`.
fn win_difference(rows: &[MethodResult], method: &str, base: &str) -> MeanSe {
    paired_difference(rows, method, base, |x| x.win_gold)
}

/// One line per comparison: its paired gold win-rate difference and its call.
pub fn verdict(rows: &[MethodResult]) -> String {
    let mut lines = Vec::new();
    for (m, base) in COMPARISONS {
        let d = win_difference(rows, m, base);
        if d.n == 0 {
            continue;
        }
        lines.push(format!(
            "- {m} − {base}: {:+.1} ± {:.1} points of gold win-rate over {} seed(s): {}.",
            d.mean * 100.0,
            d.se * 100.0,
            d.n,
            Call::of(&d).words(m, base)
        ));
    }
    lines.join("\n")
}

/// One pipeline run's results with a label (its backend, or the machine it ran on).
#[derive(Debug, Clone)]
pub struct LabelledRun {
    /// What tells this run apart, e.g. `flex` or `ndarray`.
    pub label: String,
    /// Its `results.jsonl`.
    pub rows: Vec<MethodResult>,
}

impl LabelledRun {
    /// Reads a run directory's `results.jsonl`; the label is the backend in its `config.toml`
    /// (or the directory's name when that cannot be read).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("results.jsonl");
        let rows = rlp_core::jsonl::read_jsonl(&path)
            .with_context(|| format!("reading the results of the run {}", dir.display()))?;
        let label = std::fs::read_to_string(dir.join("config.toml"))
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|t| {
                t.get("backend")
                    .and_then(|b| b.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Self { label, rows })
    }
}

/// How many seeds would put a paired difference of mean `effect` and per-seed standard
/// deviation `sd` two standard errors from zero: the least `n` with `2·sd/√n < |effect|`, that
/// is `⌊(2·sd/effect)²⌋ + 1`. `None` when the effect is zero (no number of seeds settles it).
pub fn seeds_to_settle(effect: f64, sd: f64) -> Option<usize> {
    if effect.abs() < 1e-12 || !effect.is_finite() || !sd.is_finite() {
        return None;
    }
    let n = (2.0 * sd / effect).powi(2).floor();
    (n < 1e9).then(|| n as usize + 1)
}

/// The verdict across runs of the same seeds: per comparison, each run's paired difference
/// and call, and the joint call — it stands where every run makes the same call (beats or
/// loses, or no difference); otherwise it is inconclusive, with the number of seeds that
/// would settle it (mean effect over the runs, the largest per-seed SD among them).
pub fn across_runs(runs: &[LabelledRun]) -> String {
    let mut lines = Vec::new();
    for (m, base) in COMPARISONS {
        let diffs: Vec<(String, MeanSe)> = runs
            .iter()
            .map(|r| (r.label.clone(), win_difference(&r.rows, m, base)))
            .filter(|(_, d)| d.n > 0)
            .collect();
        if diffs.len() < runs.len() || diffs.is_empty() {
            continue;
        }
        let calls: Vec<Call> = diffs.iter().map(|(_, d)| Call::of(d)).collect();
        let each = diffs
            .iter()
            .map(|(label, d)| {
                format!(
                    "{label} {:+.1} ± {:.1} ({} seeds)",
                    d.mean * 100.0,
                    d.se * 100.0,
                    d.n
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let joint = if calls.contains(&Call::OneSeed) {
            "one seed: no standard error".to_string()
        } else if calls.iter().all(|c| *c == calls[0]) {
            format!(
                "{} on every run: the verdict stands",
                calls[0].words(m, base)
            )
        } else {
            let effect = diffs.iter().map(|(_, d)| d.mean).sum::<f64>() / diffs.len() as f64;
            let sd = diffs
                .iter()
                .map(|(_, d)| d.se * (d.n as f64).sqrt())
                .fold(0.0, f64::max);
            let settle = match seeds_to_settle(effect, sd) {
                Some(n) => format!("about {n} seeds would settle it"),
                None => "the mean effect is zero: no number of seeds settles it".to_string(),
            };
            format!(
                "the runs disagree ({}): inconclusive; at a mean effect of {:+.1} points and a \
                 per-seed SD of {:.1}, {settle}",
                calls
                    .iter()
                    .zip(&diffs)
                    .map(|(c, (label, _))| format!("{label}: {}", c.words(m, base)))
                    .collect::<Vec<_>>()
                    .join(", "),
                effect * 100.0,
                sd * 100.0,
            )
        };
        lines.push(format!(
            "- {m} − {base}, gold win-rate points: {each}. {joint}."
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::pipeline::table::test_row as row;

    /// PPO at 0.5 in every seed; RLP-SPG at `0.5 + d[i]` in seed `i`.
    fn run(label: &str, d: &[f64]) -> LabelledRun {
        let mut rows = Vec::new();
        for (i, x) in d.iter().enumerate() {
            rows.push(row("PPO", i as u64, 0.5));
            rows.push(row("Retrain-D", i as u64, 0.5));
            rows.push(row("RLP-SPG", i as u64, 0.5 + x));
        }
        LabelledRun {
            label: label.into(),
            rows,
        }
    }

    #[test]
    fn calls_follow_two_standard_errors() {
        let d = |mean, se| MeanSe { mean, se, n: 5 };
        assert_eq!(Call::of(&d(0.05, 0.02)), Call::Beats);
        assert_eq!(Call::of(&d(-0.05, 0.02)), Call::Loses);
        assert_eq!(Call::of(&d(0.03, 0.02)), Call::NoDifference);
        assert_eq!(
            Call::of(&MeanSe {
                mean: 1.0,
                se: 0.0,
                n: 1
            }),
            Call::OneSeed
        );
    }

    #[test]
    fn seeds_to_settle_solves_two_se_equals_effect() {
        // 2·sd/√n < |e| ⇔ n > (2·sd/e)²: sd 0.1, e 0.05 → n > 16 → 17.
        assert_eq!(seeds_to_settle(0.05, 0.1), Some(17));
        assert_eq!(seeds_to_settle(-0.05, 0.1), Some(17));
        // sd 0: one seed already settles it.
        assert_eq!(seeds_to_settle(0.05, 0.0), Some(1));
        assert_eq!(seeds_to_settle(0.0, 0.1), None);
    }

    #[test]
    fn a_verdict_stands_only_where_the_runs_agree() {
        // Seeds' differences +4..+6 points on both: beats on both, the verdict stands.
        let a = run("flex", &[0.04, 0.05, 0.06]);
        let b = run("ndarray", &[0.05, 0.06, 0.04]);
        let v = across_runs(&[a.clone(), b]);
        assert!(
            v.contains("RLP-SPG beats PPO on every run: the verdict stands"),
            "{v}"
        );
        // The other run sees nothing: inconclusive, and the seeds that would settle it.
        let c = run("ndarray", &[0.04, -0.04, 0.0]);
        let v = across_runs(&[a, c]);
        assert!(v.contains("the runs disagree"), "{v}");
        assert!(v.contains("flex: RLP-SPG beats PPO"), "{v}");
        assert!(v.contains("ndarray: no difference from PPO"), "{v}");
        // Effect (0.05 + 0) / 2 = 0.025; per-seed SDs 0.01 and 0.04 → (2·0.04/0.025)² = 10.24,
        // so 11 seeds.
        assert!(v.contains("about 11 seeds would settle it"), "{v}");
        // Comparisons with a method that did not run are left out.
        assert!(!v.contains("RLP-UML"), "{v}");
    }

    #[test]
    fn one_run_verdict_names_each_comparison() {
        let v = verdict(&run("flex", &[-0.04, -0.05, -0.06]).rows);
        assert!(v.contains("RLP-SPG − PPO: -5.0 ± 0.6 points"), "{v}");
        assert!(v.contains("RLP-SPG loses to PPO"), "{v}");
    }
}
