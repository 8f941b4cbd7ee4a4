//! The results table, shaped like RLP's Table 2: one row per method, each column the mean over
//! seeds ± its standard error across seeds.

use rlp_eval::MeanSe;
use serde::{Deserialize, Serialize};

use super::agreement::Agreement;

/// The methods, in the table's order.
pub const METHODS: [&str; 6] = ["SFT", "Best-of-n", "PPO", "Retrain-D", "RLP-UML", "RLP-SPG"];

/// One method's measurements in one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// One of [`METHODS`].
    pub method: String,
    /// The seed.
    pub seed: u64,
    /// Win-rate against the SFT model's outputs under the gold judge.
    pub win_gold: f64,
    /// Its standard error within the seed.
    pub win_gold_se: f64,
    /// Win-rate under the simulated annotator pool.
    pub win_annotators: f64,
    /// Its standard error within the seed.
    pub win_annotators_se: f64,
    /// Gold score of the judged responses.
    pub gold: MeanSe,
    /// Sequence KL to the SFT model in nats (PPO runs: k1 at temperature 1; best-of-n: the
    /// analytic bound `log n − (n−1)/n`; SFT: 0).
    pub kl: f64,
    /// Perplexity on the drift corpus (`None` for best-of-n, which has no single policy).
    pub drift_ppl: Option<f64>,
    /// Mean gold score of the greedy responses, one per eval prompt (`None` unless
    /// `eval.greedy`; best-of-n has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_greedy: Option<f64>,
}

/// Reward-model agreement with the gold scorer on a policy's samples, before and after
/// retraining, in one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementResult {
    /// `Retrain-D` (the control), `RLP-UML` or `RLP-SPG`.
    pub method: String,
    /// The seed.
    pub seed: u64,
    /// Whose samples: `P (π₁, all pairs)` (the first-round policy's samples retraining read,
    /// every pair within a prompt), `SFT` (the SFT model's eval samples, the distribution `r`
    /// was trained on), `PPO` (the first-round policy's eval samples) or the method's final
    /// policy (its eval samples).
    pub samples: String,
    /// The first reward model `r`.
    pub before: Agreement,
    /// The retrained `r̂`.
    pub after: Agreement,
}

/// `mean ± SE` across seeds of `f` over the rows of `method`.
fn across(rows: &[MethodResult], method: &str, f: impl Fn(&MethodResult) -> f64) -> MeanSe {
    let v: Vec<f64> = rows.iter().filter(|r| r.method == method).map(f).collect();
    MeanSe::of(&v)
}

fn cell(m: MeanSe, scale: f64, digits: usize) -> String {
    format!(
        "{:.digits$} ± {:.digits$}",
        m.mean * scale,
        m.se * scale,
        digits = digits
    )
}

/// `mean ± SE` across seeds of the seeds of `method` where `f` has a value, or `–` when none
/// has (a column some methods do not measure).
fn optional_cell(
    rows: &[MethodResult],
    method: &str,
    f: impl Fn(&MethodResult) -> Option<f64>,
    digits: usize,
) -> String {
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| r.method == method)
        .filter_map(f)
        .collect();
    if v.is_empty() {
        "–".to_string()
    } else {
        cell(MeanSe::of(&v), 1.0, digits)
    }
}

/// The table in Markdown: win-rates in percent (gold judge, annotator pool), gold score (and
/// the greedy responses' gold score when measured), KL, drift perplexity; mean ± SE across
/// `seeds` seeds.
pub fn markdown(rows: &[MethodResult], seeds: usize) -> String {
    let greedy = rows.iter().any(|r| r.gold_greedy.is_some());
    let mut s = format!(
        "| method | win-rate vs SFT, gold judge (%) | win-rate vs SFT, annotators (%) | gold score |{} KL to SFT (nats) | drift ppl |\n\
         |---|---|---|---|{}---|---|\n",
        if greedy { " gold score, greedy |" } else { "" },
        if greedy { "---|" } else { "" },
    );
    for m in METHODS {
        if !rows.iter().any(|r| r.method == m) {
            continue;
        }
        let greedy_cell = if greedy {
            format!(" {} |", optional_cell(rows, m, |r| r.gold_greedy, 3))
        } else {
            String::new()
        };
        s += &format!(
            "| {m} | {} | {} | {} |{greedy_cell} {} | {} |\n",
            cell(across(rows, m, |r| r.win_gold), 100.0, 1),
            cell(across(rows, m, |r| r.win_annotators), 100.0, 1),
            cell(across(rows, m, |r| r.gold.mean), 1.0, 3),
            cell(across(rows, m, |r| r.kl), 1.0, 2),
            optional_cell(rows, m, |r| r.drift_ppl, 0),
        );
    }
    s += &format!("\nMean ± standard error across {seeds} seed(s).\n");
    s
}

/// `a − b` per seed (seeds where both ran), mean ± SE across seeds, of `f`.
pub fn paired_difference(
    rows: &[MethodResult],
    a: &str,
    b: &str,
    f: impl Fn(&MethodResult) -> f64,
) -> MeanSe {
    let diffs: Vec<f64> = rows
        .iter()
        .filter(|r| r.method == a)
        .filter_map(|ra| {
            rows.iter()
                .find(|rb| rb.method == b && rb.seed == ra.seed)
                .map(|rb| f(ra) - f(rb))
        })
        .collect();
    MeanSe::of(&diffs)
}

/// The paired comparisons of each RLP variant with PPO and with the control (same seed, same PPO settings and
/// random streams; only the reward model differs), in win-rate points.
pub fn differences_markdown(rows: &[MethodResult]) -> String {
    let mut s = String::new();
    for m in ["RLP-UML", "RLP-SPG"] {
        if !rows.iter().any(|r| r.method == m) {
            continue;
        }
        for base in ["PPO", "Retrain-D"] {
            if !rows.iter().any(|r| r.method == base) {
                continue;
            }
            let g = paired_difference(rows, m, base, |r| r.win_gold);
            let a = paired_difference(rows, m, base, |r| r.win_annotators);
            let score = paired_difference(rows, m, base, |r| r.gold.mean);
            // Greedy gold only where both methods measured it (NaN otherwise, then left out).
            let greedy = paired_difference(rows, m, base, |r| r.gold_greedy.unwrap_or(f64::NAN));
            let greedy = if greedy.mean.is_finite() {
                format!("; greedy {:+.3} ± {:.3}", greedy.mean, greedy.se)
            } else {
                String::new()
            };
            s += &format!(
                "- {m} − {base}, paired by seed: {:+.1} ± {:.1} points (gold judge), {:+.1} ± {:.1} \
                 (annotators); gold score {:+.3} ± {:.3}{greedy}\n",
                g.mean * 100.0,
                g.se * 100.0,
                a.mean * 100.0,
                a.se * 100.0,
                score.mean,
                score.se,
            );
        }
    }
    s
}

/// The agreement table in Markdown: mean over seeds ± SE across seeds.
pub fn agreement_markdown(rows: &[AgreementResult]) -> String {
    let mut s = String::from(
        "| retraining | samples from | agreement of r (before) | agreement of r̂ (after) | pairs per seed |\n\
         |---|---|---|---|---|\n",
    );
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.method.clone(), r.samples.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (method, samples) in keys {
        let sel: Vec<&AgreementResult> = rows
            .iter()
            .filter(|r| r.method == method && r.samples == samples)
            .collect();
        let before = MeanSe::of(&sel.iter().map(|r| r.before.rate).collect::<Vec<_>>());
        let after = MeanSe::of(&sel.iter().map(|r| r.after.rate).collect::<Vec<_>>());
        let pairs = sel.iter().map(|r| r.before.pairs).sum::<usize>() / sel.len().max(1);
        s += &format!(
            "| {method} | {samples} | {} | {} | {pairs} |\n",
            cell(before, 100.0, 1),
            cell(after, 100.0, 1)
        );
    }
    s
}

/// A result row for tests: `win` as both win-rates and the gold score, KL 1, drift 100.
#[cfg(test)]
pub(super) fn test_row(method: &str, seed: u64, win: f64) -> MethodResult {
    MethodResult {
        method: method.into(),
        seed,
        win_gold: win,
        win_gold_se: 0.0,
        win_annotators: win,
        win_annotators_se: 0.0,
        gold: MeanSe::of(&[win]),
        kl: 1.0,
        drift_ppl: Some(100.0),
        gold_greedy: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_row as row;

    /// PPO wins 0.6 and 0.7 in two seeds: mean 65.0%, sample SD 0.0707, SE = SD/√2 = 5.0%.
    #[test]
    fn table_reports_mean_and_se_across_seeds() {
        let rows = [row("PPO", 0, 0.6), row("PPO", 1, 0.7), row("SFT", 0, 0.5)];
        let t = markdown(&rows, 2);
        assert!(t.contains("| PPO | 65.0 ± 5.0 |"), "{t}");
        assert!(t.contains("| SFT | 50.0 ± 0.0 |"), "{t}");
        assert!(!t.contains("RLP-UML"));
    }

    /// Seed 0: 0.70 − 0.60 = 0.10; seed 1: 0.60 − 0.70 = −0.10 → mean 0, SD 0.1414, SE 0.1.
    #[test]
    fn paired_difference_matches_seeds() {
        let rows = [
            row("PPO", 0, 0.6),
            row("PPO", 1, 0.7),
            row("RLP-UML", 0, 0.7),
            row("RLP-UML", 1, 0.6),
            row("RLP-SPG", 2, 0.9),
        ];
        let d = paired_difference(&rows, "RLP-UML", "PPO", |r| r.win_gold);
        assert!(d.mean.abs() < 1e-12);
        assert!((d.se - 0.1).abs() < 1e-9, "{}", d.se);
        assert_eq!(
            paired_difference(&rows, "RLP-SPG", "PPO", |r| r.win_gold).n,
            0
        );
        let text = differences_markdown(&rows);
        assert!(
            text.contains("RLP-UML − PPO, paired by seed: +0.0 ± 10.0 points"),
            "{text}"
        );
    }
}
