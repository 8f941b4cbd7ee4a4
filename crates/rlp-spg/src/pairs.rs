//! RLP-SPG's pair rule (Lang et al., NAACL 2024, §3.3; `docs/algorithms.md`, "RLP: Reward Learning on Policy"):
//! per prompt, the n policy responses are clustered by meaning; the confidence is
//! `|largest cluster| / n`; a prompt is kept only if the confidence is at least γ; the winner
//! `y_w` is the member of the largest cluster that the reward model scores highest; the loser
//! `y_l` is a random response from the other clusters (no pair when there are none).
//!
//! Details the paper leaves open, decided here:
//! - ties for the largest cluster go to the cluster that appears first in sampling order (a
//!   seeded random choice, since samples are exchangeable); ties in reward go to the earlier
//!   response;
//! - the loser is uniform over the *responses* outside the largest cluster (a cluster is picked
//!   in proportion to its size);
//! - empty (whitespace-only) responses count towards n and are clustered like any other, but are
//!   never a winner or a loser: no reward model can learn from an empty side
//!   ([`rlp_reward::SkipCounts`] would drop the pair). Nor is a loser whose text equals the
//!   winner's. A prompt whose largest cluster is all empty is skipped as
//!   [`SpgOutcome::EmptyWinner`].

use rlp_core::{PreferencePair, RewardFn, SeededRng};

use crate::cluster::{SemanticClusterer, canonical_ids, cluster_sizes, largest_cluster};
use crate::config::{SpgConfig, check_gamma};
use crate::error::{Result, SpgError};
use crate::outcome::SpgOutcome;
use crate::report::SpgReport;

/// Whether a response is unusable as either side of a pair.
fn is_empty(response: &str) -> bool {
    response.trim().is_empty()
}

/// One prompt's responses split by the largest cluster.
struct Split {
    /// Size of the largest cluster.
    largest: usize,
    /// Number of clusters.
    clusters: usize,
    /// `largest / n`.
    confidence: f64,
    /// Non-empty members of the largest cluster (winner candidates).
    members: Vec<usize>,
    /// Non-empty responses outside it (loser candidates, before the equal-text filter).
    others: Vec<usize>,
}

impl Split {
    fn new(responses: &[String], clusters: &[usize]) -> Result<Self> {
        if responses.is_empty() {
            return Err(SpgError::invalid("responses", "no responses"));
        }
        if clusters.len() != responses.len() {
            return Err(SpgError::invalid(
                "clusters",
                format!(
                    "{} cluster ids for {} responses",
                    clusters.len(),
                    responses.len()
                ),
            ));
        }
        let (label, largest) = largest_cluster(clusters).expect("responses are not empty");
        let usable = |i: &usize| !is_empty(&responses[*i]);
        let (members, others) = (0..responses.len())
            .filter(usable)
            .partition(|&i| clusters[i] == label);
        Ok(Self {
            largest,
            clusters: cluster_sizes(clusters).len(),
            confidence: largest as f64 / responses.len() as f64,
            members,
            others,
        })
    }

    /// Whether the rule will read the members' scores under `gamma`.
    fn needs_scores(&self, gamma: f64) -> bool {
        self.confidence >= gamma && !self.members.is_empty() && !self.others.is_empty()
    }
}

/// The pair rule for one prompt, as a pure function of its `responses`, their cluster ids
/// (any labels; equal labels = same cluster), their reward `scores` and `rng` (drawn from only
/// when a pair is made, once). Only the scores of the largest cluster's non-empty members are
/// read (the others may be anything, e.g. NaN); those must be finite. See the module docs for
/// tie-breaking and empty responses.
pub fn spg_pair(
    prompt: &str,
    responses: &[String],
    clusters: &[usize],
    scores: &[f32],
    gamma: f64,
    rng: &mut SeededRng,
) -> Result<SpgOutcome> {
    check_gamma(gamma)?;
    let split = Split::new(responses, clusters)?;
    if scores.len() != responses.len() {
        return Err(SpgError::invalid(
            "scores",
            format!("{} scores for {} responses", scores.len(), responses.len()),
        ));
    }
    decide(prompt, responses, &split, scores, gamma, rng)
}

fn decide(
    prompt: &str,
    responses: &[String],
    split: &Split,
    scores: &[f32],
    gamma: f64,
    rng: &mut SeededRng,
) -> Result<SpgOutcome> {
    let confidence = split.confidence;
    if confidence < gamma {
        return Ok(SpgOutcome::LowConfidence { confidence });
    }
    if split.members.is_empty() {
        return Ok(SpgOutcome::EmptyWinner { confidence });
    }
    if split.others.is_empty() {
        return Ok(SpgOutcome::NoOtherCluster { confidence });
    }
    let mut winner = split.members[0];
    for &i in &split.members {
        if !scores[i].is_finite() {
            return Err(SpgError::invalid(
                "scores",
                format!("the score of response {i} is {}", scores[i]),
            ));
        }
        if scores[i] > scores[winner] {
            winner = i;
        }
    }
    let losers: Vec<usize> = split
        .others
        .iter()
        .copied()
        .filter(|&i| responses[i] != responses[winner])
        .collect();
    if losers.is_empty() {
        return Ok(SpgOutcome::NoOtherCluster { confidence });
    }
    let loser = losers[rng.below(losers.len())];
    Ok(SpgOutcome::Pair {
        pair: PreferencePair {
            prompt: prompt.to_string(),
            chosen: responses[winner].clone(),
            rejected: responses[loser].clone(),
            margin: None,
        },
        confidence,
        winner,
        loser,
    })
}

/// The random stream of prompt `i`'s loser draw: a fork of `seed` per prompt, so a prompt's
/// pair does not depend on the other prompts.
pub fn loser_rng(seed: u64, i: usize) -> SeededRng {
    SeededRng::new(seed).fork(&format!("spg-loser/{i}"))
}

/// Runs the rule over many prompts: clusters each prompt's `config.n` responses with
/// `clusterer`, scores the candidates for `y_w` with `reward` (one call for all prompts, and
/// only the largest cluster's members of prompts that can give a pair, which saves reward-model
/// passes), and decides with [`spg_pair`] (losers drawn from [`loser_rng`]). Returns each
/// prompt's outcome, in order, and the tally.
pub fn spg_outcomes(
    prompts: &[String],
    responses: &[Vec<String>],
    clusterer: &mut dyn SemanticClusterer,
    reward: &dyn RewardFn,
    config: &SpgConfig,
) -> Result<(Vec<SpgOutcome>, SpgReport)> {
    config.validate()?;
    if responses.len() != prompts.len() {
        return Err(SpgError::invalid(
            "responses",
            format!(
                "{} response lists for {} prompts",
                responses.len(),
                prompts.len()
            ),
        ));
    }
    if let Some(i) = responses.iter().position(|r| r.len() != config.n) {
        return Err(SpgError::invalid(
            "responses",
            format!(
                "prompt {i} has {} responses, expected n = {}",
                responses[i].len(),
                config.n
            ),
        ));
    }

    let mut splits = Vec::with_capacity(prompts.len());
    let mut all_ids = Vec::with_capacity(prompts.len());
    for (i, (p, r)) in prompts.iter().zip(responses).enumerate() {
        let ids = clusterer.cluster(p, r)?;
        if ids.len() != r.len() {
            return Err(SpgError::clusterer(
                clusterer.name(),
                format!(
                    "{} cluster ids for the {} responses of prompt {i}",
                    ids.len(),
                    r.len()
                ),
            ));
        }
        let ids = canonical_ids(&ids);
        splits.push(Split::new(r, &ids)?);
        all_ids.push(ids);
    }

    // Score only what the rule will read, in one call.
    let wanted: Vec<(usize, usize)> = splits
        .iter()
        .enumerate()
        .filter(|(_, s)| s.needs_scores(config.min_confidence))
        .flat_map(|(i, s)| s.members.iter().map(move |&j| (i, j)))
        .collect();
    let mut scores: Vec<Vec<f32>> = responses.iter().map(|r| vec![f32::NAN; r.len()]).collect();
    if !wanted.is_empty() {
        let ps: Vec<String> = wanted.iter().map(|&(i, _)| prompts[i].clone()).collect();
        let rs: Vec<String> = wanted
            .iter()
            .map(|&(i, j)| responses[i][j].clone())
            .collect();
        let scorer_error = |message: String| SpgError::Scorer {
            name: reward.name(),
            message,
        };
        let got = reward
            .score(&ps, &rs)
            .map_err(|e| scorer_error(e.to_string()))?;
        if got.len() != wanted.len() {
            return Err(scorer_error(format!(
                "{} scores for {} responses",
                got.len(),
                wanted.len()
            )));
        }
        for (&(i, j), s) in wanted.iter().zip(got) {
            if !s.is_finite() {
                return Err(scorer_error(format!(
                    "score {s} for response {j} of prompt {i}"
                )));
            }
            scores[i][j] = s;
        }
    }

    let mut outcomes = Vec::with_capacity(prompts.len());
    for (i, split) in splits.iter().enumerate() {
        let mut rng = loser_rng(config.seed, i);
        outcomes.push(decide(
            &prompts[i],
            &responses[i],
            split,
            &scores[i],
            config.min_confidence,
            &mut rng,
        )?);
    }
    let report = SpgReport::tally(
        config.n,
        outcomes
            .iter()
            .zip(&splits)
            .zip(responses)
            .map(|((o, s), r)| {
                let empty = r.iter().filter(|x| is_empty(x)).count();
                (o, s.largest, s.clusters, empty)
            }),
    );
    Ok((outcomes, report))
}

/// [`spg_outcomes`], keeping only the pairs: the synthetic preferences D̂ that RLP-SPG unions
/// with the human preferences D for reward-model retraining.
pub fn build_pairs(
    prompts: &[String],
    responses: &[Vec<String>],
    clusterer: &mut dyn SemanticClusterer,
    reward: &dyn RewardFn,
    config: &SpgConfig,
) -> Result<(Vec<PreferencePair>, SpgReport)> {
    let (outcomes, report) = spg_outcomes(prompts, responses, clusterer, reward, config)?;
    let pairs = outcomes
        .into_iter()
        .filter_map(|o| match o {
            SpgOutcome::Pair { pair, .. } => Some(pair),
            _ => None,
        })
        .collect();
    Ok((pairs, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalized::NormalizedTextClusterer;
    use proptest::prelude::*;
    use rlp_core::{BoxError, FnReward};
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| format!(" r{i}")).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Cluster 0 = responses {0, 1, 3, 5, 7}: 5 of 10, confidence 5/10 = 0.5 = γ, so kept (the
    /// boundary is inclusive). Their scores 0.1, 0.9, 0.3, 0.9, 0.2: the maximum 0.9 is shared by
    /// 1 and 5, the earlier wins, so y_w = r1. Response 2 scores 5.0 but is outside the largest
    /// cluster, so it cannot win. The loser is one of {2, 4, 6, 8, 9}.
    #[test]
    fn golden_boundary_prompt_is_kept_with_the_best_member() {
        let r = numbered(10);
        let c = [0, 0, 1, 0, 2, 0, 1, 0, 3, 4];
        let s = [0.1, 0.9, 5.0, 0.3, -1.0, 0.9, 2.0, 0.2, 0.0, 0.0];
        let o = spg_pair("p", &r, &c, &s, 0.5, &mut SeededRng::new(0)).unwrap();
        let SpgOutcome::Pair {
            pair,
            confidence,
            winner,
            loser,
        } = o
        else {
            panic!("{o:?}")
        };
        assert_eq!((confidence, winner, pair.chosen.as_str()), (0.5, 1, " r1"));
        assert!([2, 4, 6, 8, 9].contains(&loser), "{loser}");
        assert_eq!(pair.rejected, r[loser]);
        assert_eq!((pair.prompt.as_str(), pair.margin), ("p", None));
        // Just above the boundary, the same prompt is skipped.
        let o = spg_pair("p", &r, &c, &s, 0.51, &mut SeededRng::new(0)).unwrap();
        assert_eq!(o, SpgOutcome::LowConfidence { confidence: 0.5 });
    }

    /// Largest cluster 4 of 10 → 0.4 < 0.5: skipped; one cluster → 1.0 but no loser; six empty
    /// responses in the largest cluster → empty winner (0.6); a confident cluster whose only
    /// other responses are empty → no other cluster (0.7).
    #[test]
    fn golden_skips_and_their_reasons() {
        let r = numbered(10);
        let s = [0.0; 10];
        let mut rng = SeededRng::new(0);
        let low = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3];
        assert_eq!(
            spg_pair("p", &r, &low, &s, 0.5, &mut rng).unwrap(),
            SpgOutcome::LowConfidence { confidence: 0.4 }
        );
        assert_eq!(
            spg_pair("p", &r, &[7; 10], &s, 0.5, &mut rng).unwrap(),
            SpgOutcome::NoOtherCluster { confidence: 1.0 }
        );
        let mut empties = r.clone();
        for e in empties.iter_mut().take(6) {
            *e = " ".into();
        }
        let c = [0, 0, 0, 0, 0, 0, 1, 1, 2, 3];
        assert_eq!(
            spg_pair("p", &empties, &c, &s, 0.5, &mut rng).unwrap(),
            SpgOutcome::EmptyWinner { confidence: 0.6 }
        );
        let mut others_empty = r.clone();
        for e in others_empty.iter_mut().skip(7) {
            *e = String::new();
        }
        let c = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2];
        assert_eq!(
            spg_pair("p", &others_empty, &c, &s, 0.5, &mut rng).unwrap(),
            SpgOutcome::NoOtherCluster { confidence: 0.7 }
        );
        // γ = 0 (the paper's no-threshold ablation) keeps the low-confidence prompt.
        assert!(
            spg_pair("p", &r, &low, &s, 0.0, &mut rng)
                .unwrap()
                .pair()
                .is_some()
        );
    }

    /// Two clusters of 5 tie for largest: the one appearing first (label 1, responses 0..5) is
    /// the largest; its best member (score 3 at index 2) wins; the loser is from 5..10.
    #[test]
    fn a_tie_for_largest_goes_to_the_first_cluster() {
        let r = numbered(10);
        let c = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
        let s = [0.0, 1.0, 3.0, 2.0, 0.0, 9.0, 9.0, 9.0, 9.0, 9.0];
        let o = spg_pair("p", &r, &c, &s, 0.5, &mut SeededRng::new(3)).unwrap();
        let SpgOutcome::Pair { winner, loser, .. } = o else {
            panic!("{o:?}")
        };
        assert_eq!(winner, 2);
        assert!((5..10).contains(&loser));
    }

    /// Over 2,000 seeds the loser is drawn from the other clusters only, uniformly over their
    /// 5 responses: each count is within 5σ (σ = √(2000·0.2·0.8) ≈ 17.9) of 400.
    #[test]
    fn losers_come_from_the_other_clusters_uniformly() {
        let r = numbered(10);
        let c = [0, 0, 1, 0, 2, 0, 1, 0, 3, 4];
        let s = [0.0; 10];
        let mut counts = [0usize; 10];
        for seed in 0..2000 {
            let o = spg_pair("p", &r, &c, &s, 0.5, &mut SeededRng::new(seed)).unwrap();
            let SpgOutcome::Pair { loser, .. } = o else {
                panic!("{o:?}")
            };
            counts[loser] += 1;
        }
        for (i, &k) in counts.iter().enumerate() {
            if [2, 4, 6, 8, 9].contains(&i) {
                assert!((k as f64 - 400.0).abs() < 5.0 * 17.9, "{counts:?}");
            } else {
                assert_eq!(k, 0, "{counts:?}");
            }
        }
    }

    /// A loser with the winner's exact text is never drawn (the pair would teach nothing).
    #[test]
    fn a_loser_equal_to_the_winner_is_not_drawn() {
        let r = strings(&["a", "a", "b", "a", "a"]);
        let c = [0, 0, 0, 1, 2];
        let s = [0.0, 1.0, 0.0, 0.0, 0.0];
        // Winner "a" (index 1); responses 3 and 4 are "a" too, so nothing is left to lose.
        assert_eq!(
            spg_pair("p", &r, &c, &s, 0.5, &mut SeededRng::new(0)).unwrap(),
            SpgOutcome::NoOtherCluster { confidence: 0.6 }
        );
    }

    #[test]
    fn bad_inputs_name_the_argument() {
        let r = numbered(3);
        let mut rng = SeededRng::new(0);
        let err = |c: &[usize], s: &[f32], g: f64, rng: &mut SeededRng| {
            spg_pair("p", &r, c, s, g, rng).unwrap_err().to_string()
        };
        assert!(err(&[0, 0], &[0.0; 3], 0.5, &mut rng).contains("`clusters`"));
        assert!(err(&[0, 0, 1], &[0.0; 2], 0.5, &mut rng).contains("`scores`"));
        assert!(err(&[0, 0, 1], &[0.0; 3], 1.2, &mut rng).contains("`min_confidence`"));
        assert!(err(&[0, 0, 1], &[f32::NAN, 0.0, 0.0], 0.5, &mut rng).contains("`scores`"));
        let e = spg_pair("p", &[], &[], &[], 0.5, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`responses`"), "{e}");
        // A NaN outside the largest cluster is never read.
        assert!(spg_pair("p", &r, &[0, 0, 1], &[0.0, 0.0, f32::NAN], 0.5, &mut rng).is_ok());
    }

    /// Records every text it is asked to score; scores by length.
    struct Recording {
        seen: RefCell<Vec<String>>,
    }

    impl RewardFn for Recording {
        fn name(&self) -> String {
            "recording".into()
        }
        fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
            rlp_core::check_pairing("recording", prompts, responses)?;
            self.seen.borrow_mut().extend(responses.iter().cloned());
            Ok(responses.iter().map(|r| r.len() as f32).collect())
        }
    }

    /// Four prompts, n = 4, normalised-text clusters, reward = length in bytes:
    /// - p0: " good film", "Good film!!", " GOOD film", " bad": the first three normalise to
    ///   "good film" (3 of 4 → 0.75); lengths 10, 11, 10 → y_w = "Good film!!"; the only other
    ///   response is " bad" → y_l.
    /// - p1: four different words → largest 1 (0.25 < 0.5): low confidence.
    /// - p2: " x" four times → one cluster (1.0): no other cluster.
    /// - p3: "", " ", "\t", " y": three whitespace-only responses normalise to "" (0.75), with
    ///   no usable member: empty winner.
    ///
    /// Only p0's three members are scored. Largest sizes 3, 1, 4, 3 → histogram [0, 1, 0, 2, 1];
    /// mean confidence (0.75 + 0.25 + 1 + 0.75) / 4 = 0.6875; clusters 2, 4, 1, 2 → 2.25;
    /// empty responses: p3's three.
    #[test]
    fn build_pairs_golden_report() {
        let prompts = strings(&["p0", "p1", "p2", "p3"]);
        let responses = vec![
            strings(&[" good film", "Good film!!", " GOOD film", " bad"]),
            strings(&[" a", " b", " c", " d"]),
            strings(&[" x", " x", " x", " x"]),
            strings(&["", " ", "\t", " y"]),
        ];
        let reward = Recording {
            seen: RefCell::new(Vec::new()),
        };
        let cfg = SpgConfig {
            n: 4,
            min_confidence: 0.5,
            seed: 7,
        };
        let (outcomes, report) = spg_outcomes(
            &prompts,
            &responses,
            &mut NormalizedTextClusterer,
            &reward,
            &cfg,
        )
        .unwrap();
        assert_eq!(
            *reward.seen.borrow(),
            strings(&[" good film", "Good film!!", " GOOD film"])
        );
        let pair = outcomes[0].pair().unwrap();
        assert_eq!(
            (pair.chosen.as_str(), pair.rejected.as_str()),
            ("Good film!!", " bad")
        );
        assert_eq!(outcomes[1], SpgOutcome::LowConfidence { confidence: 0.25 });
        assert_eq!(outcomes[2], SpgOutcome::NoOtherCluster { confidence: 1.0 });
        assert_eq!(outcomes[3], SpgOutcome::EmptyWinner { confidence: 0.75 });
        assert_eq!(
            report,
            SpgReport {
                prompts: 4,
                kept: 1,
                skipped_low_confidence: 1,
                skipped_single_cluster: 1,
                skipped_empty_winner: 1,
                empty_responses: 3,
                largest_cluster_sizes: vec![0, 1, 0, 2, 1],
                mean_confidence: 0.6875,
                mean_clusters: 2.25,
            }
        );
        assert_eq!(report.skipped(), 3);
        let (pairs, again) = build_pairs(
            &prompts,
            &responses,
            &mut NormalizedTextClusterer,
            &reward,
            &cfg,
        )
        .unwrap();
        assert_eq!(again, report);
        assert_eq!(pairs, vec![pair.clone()]);
    }

    #[test]
    fn build_pairs_checks_its_inputs() {
        let prompts = strings(&["p0", "p1"]);
        let gold = FnReward::new("len", |_: &str, y: &str| y.len() as f32);
        let cfg = SpgConfig {
            n: 2,
            ..SpgConfig::default()
        };
        let ok = vec![strings(&[" a", " b"]), strings(&[" a", " a"])];
        let run = |r: &[Vec<String>], p: &[String], c: &SpgConfig| {
            build_pairs(p, r, &mut NormalizedTextClusterer, &gold, c)
        };
        assert!(run(&ok, &prompts, &cfg).is_ok());
        let e = run(&ok[..1], &prompts, &cfg).unwrap_err().to_string();
        assert!(e.contains("`responses`"), "{e}");
        let short = vec![strings(&[" a", " b"]), strings(&[" a"])];
        let e = run(&short, &prompts, &cfg).unwrap_err().to_string();
        assert!(
            e.contains("prompt 1 has 1 responses, expected n = 2"),
            "{e}"
        );
        let bad = SpgConfig {
            n: 1,
            ..cfg.clone()
        };
        let e = run(&ok, &prompts, &bad).unwrap_err().to_string();
        assert!(e.contains("`n`"), "{e}");
        // A reward that fails or answers NaN is named.
        let nan = FnReward::new("nan", |_: &str, _: &str| f32::NAN);
        let e = build_pairs(&prompts, &ok, &mut NormalizedTextClusterer, &nan, &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("reward `nan`"), "{e}");
        // A clusterer that returns the wrong number of ids is named.
        struct Short;
        impl SemanticClusterer for Short {
            fn name(&self) -> &str {
                "short"
            }
            fn cluster(&mut self, _: &str, _: &[String]) -> Result<Vec<usize>> {
                Ok(vec![0])
            }
        }
        let e = build_pairs(&prompts, &ok, &mut Short, &gold, &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("clusterer `short`"), "{e}");
    }

    /// The same seed gives the same pairs; pairs of a prompt do not depend on the others.
    #[test]
    fn seeded_and_independent_of_other_prompts() {
        let prompts: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let responses: Vec<Vec<String>> = (0..20)
            .map(|_| strings(&[" a", " a", " a", " b", " c", " d"]))
            .collect();
        let gold = FnReward::new("zero", |_: &str, _: &str| 0.0);
        let cfg = SpgConfig {
            n: 6,
            min_confidence: 0.5,
            seed: 11,
        };
        let run = |p: &[String], r: &[Vec<String>], c: &SpgConfig| {
            build_pairs(p, r, &mut NormalizedTextClusterer, &gold, c)
                .unwrap()
                .0
        };
        let a = run(&prompts, &responses, &cfg);
        assert_eq!(a, run(&prompts, &responses, &cfg));
        let rejected: BTreeSet<&str> = a.iter().map(|p| p.rejected.as_str()).collect();
        assert_eq!(rejected.len(), 3, "20 draws from 3 losers cover them all");
        let other = run(
            &prompts,
            &responses,
            &SpgConfig {
                seed: 12,
                ..cfg.clone()
            },
        );
        assert_ne!(a, other);
        // Dropping prompts 10.. leaves the first ten pairs as they were.
        assert_eq!(
            run(&prompts[..10], &responses[..10], &cfg),
            a[..10].to_vec()
        );
    }

    fn clusters_and_scores() -> impl Strategy<Value = (Vec<usize>, Vec<f32>, f64, u64)> {
        (2usize..=10).prop_flat_map(|n| {
            (
                prop::collection::vec(0usize..4, n),
                // Few distinct values, so reward ties happen.
                prop::collection::vec((-2i32..=2).prop_map(|x| x as f32), n),
                prop::sample::select(vec![0.0, 0.2, 0.3, 0.5, 0.6, 0.7, 1.0]),
                any::<u64>(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// With distinct non-empty responses: y_w is in the largest cluster (ties: the first to
        /// appear) and is its first member with the maximal score; y_l is outside it; kept ⇔
        /// confidence ≥ γ and another cluster exists; confidence = |largest| / n.
        #[test]
        fn the_rule_keeps_its_invariants((c, s, gamma, seed) in clusters_and_scores()) {
            let n = c.len();
            let r = numbered(n);
            let o = spg_pair("p", &r, &c, &s, gamma, &mut SeededRng::new(seed)).unwrap();
            let (label, size) = largest_cluster(&c).unwrap();
            let first = c.iter().position(|&x| x == label).unwrap();
            for (k, &x) in c.iter().enumerate() {
                // No other cluster is larger, nor as large and earlier.
                let sz = c.iter().filter(|&&y| y == x).count();
                prop_assert!(sz < size || (sz == size && c.iter().position(|&y| y == x).unwrap() >= first), "{k}");
            }
            let confidence = size as f64 / n as f64;
            prop_assert_eq!(o.confidence(), confidence);
            let other_cluster = c.iter().any(|&x| x != label);
            prop_assert_eq!(o.pair().is_some(), confidence >= gamma && other_cluster);
            if let SpgOutcome::Pair { pair, winner, loser, .. } = &o {
                prop_assert_eq!(c[*winner], label);
                prop_assert!(c[*loser] != label);
                let best = (0..n).filter(|&i| c[i] == label).map(|i| s[i]).fold(f32::MIN, f32::max);
                prop_assert_eq!(s[*winner], best);
                prop_assert!((0..*winner).all(|i| c[i] != label || s[i] < best));
                prop_assert_eq!(&pair.chosen, &r[*winner]);
                prop_assert_eq!(&pair.rejected, &r[*loser]);
            } else if confidence >= gamma {
                prop_assert_eq!(&o, &SpgOutcome::NoOtherCluster { confidence });
            } else {
                prop_assert_eq!(&o, &SpgOutcome::LowConfidence { confidence });
            }
            // Determinism for a seed.
            let again = spg_pair("p", &r, &c, &s, gamma, &mut SeededRng::new(seed)).unwrap();
            prop_assert_eq!(again, o);
        }

        /// Over many prompts with empty and repeated responses: the report's counts add up to
        /// the prompts, the histogram to the prompts, the pairs to `kept`; no pair has an empty
        /// or repeated side; empty responses are counted.
        #[test]
        fn reports_add_up(
            responses in prop::collection::vec(
                prop::collection::vec(prop::sample::select(vec!["", " ", " a", " A!", " b", " c"]), 5),
                0..12,
            ),
            gamma in prop::sample::select(vec![0.0, 0.4, 0.6, 1.0]),
            seed in any::<u64>(),
        ) {
            let responses: Vec<Vec<String>> = responses.iter().map(|r| strings(r)).collect();
            let prompts: Vec<String> = (0..responses.len()).map(|i| format!("p{i}")).collect();
            let gold = FnReward::new("len", |_: &str, y: &str| y.len() as f32);
            let cfg = SpgConfig { n: 5, min_confidence: gamma, seed };
            let (pairs, r) =
                build_pairs(&prompts, &responses, &mut NormalizedTextClusterer, &gold, &cfg).unwrap();
            prop_assert_eq!(r.prompts, prompts.len());
            prop_assert_eq!(r.kept + r.skipped(), r.prompts);
            prop_assert_eq!(r.largest_cluster_sizes.iter().sum::<usize>(), r.prompts);
            prop_assert_eq!(r.largest_cluster_sizes.len(), 6);
            prop_assert_eq!(pairs.len(), r.kept);
            let empty = responses.iter().flatten().filter(|x| x.trim().is_empty()).count();
            prop_assert_eq!(r.empty_responses, empty);
            for p in &pairs {
                prop_assert!(p.validate().is_ok(), "{p:?}");
            }
        }
    }
}
