//! Judging a seed's methods: each method's responses against the SFT model's own samples under
//! the gold judge and the annotator pool, their gold scores, and the reward models' agreement
//! with the gold scorer on a policy's samples.

use anyhow::Result;
use rlp_core::RewardFn;
use rlp_eval::error::score_checked;
use rlp_eval::{AnnotatorPool, AnnotatorPoolConfig, GoldJudge, MeanSe, win_rate};
use rlp_reward::LearnedReward;

use super::agreement::{Agreement, pairwise_agreement};
use super::table::MethodResult;

/// One method's responses in one seed, with the KL and drift measured where it was trained.
pub struct Arm {
    /// One of [`super::METHODS`].
    pub method: &'static str,
    /// Responses to the eval rows (prompt-major).
    pub texts: Vec<String>,
    /// KL to the SFT model (nats).
    pub kl: f64,
    /// Drift perplexity, where the method has a single policy.
    pub drift_ppl: Option<f64>,
    /// Greedy responses, one per eval prompt (when the config asks for them and the method has
    /// a single policy).
    pub greedy: Option<Vec<String>>,
}

/// Every arm against `reference` (the SFT model's samples on `rows`) under the gold judge and
/// the annotator pool over `gold` (seeded by `seed`); greedy responses are scored against
/// `prompts` (the eval prompts, once each).
pub fn judge_arms(
    arms: &[Arm],
    reference: &[String],
    rows: &[String],
    prompts: &[String],
    gold: &dyn RewardFn,
    annotators: &AnnotatorPoolConfig,
    seed: u64,
) -> Result<Vec<MethodResult>> {
    let mut pool_config = annotators.clone();
    pool_config.seed = annotators.seed.wrapping_add(seed);
    let pool = AnnotatorPool::new(gold, pool_config)?;
    let judge = GoldJudge::new(gold);
    arms.iter()
        .map(|arm| {
            let g = score_checked(gold, rows, &arm.texts)?;
            let wg = win_rate(&judge, rows, &arm.texts, reference)?;
            let wa = win_rate(&pool, rows, &arm.texts, reference)?;
            let gold_greedy = arm
                .greedy
                .as_ref()
                .map(|t| score_checked(gold, prompts, t).map(|g| MeanSe::of(&g).mean))
                .transpose()?;
            Ok(MethodResult {
                method: arm.method.into(),
                seed,
                win_gold: wg.rate,
                win_gold_se: wg.se,
                win_annotators: wa.rate,
                win_annotators_se: wa.se,
                gold: MeanSe::of(&g),
                kl: arm.kl,
                drift_ppl: arm.drift_ppl,
                gold_greedy,
            })
        })
        .collect()
}

/// Agreement with `gold` of `before` and `after` on `texts` (groups of `k` samples per prompt).
pub fn agreement_of(
    before: &LearnedReward,
    after: &LearnedReward,
    gold: &dyn RewardFn,
    rows: &[String],
    texts: &[String],
    k: usize,
) -> Result<(Agreement, Agreement)> {
    let g = score_checked(gold, rows, texts)?;
    let scores = |rm: &LearnedReward| -> Result<Vec<f64>> {
        Ok(rm
            .score_texts(rows, texts)?
            .into_iter()
            .map(f64::from)
            .collect())
    };
    Ok((
        pairwise_agreement(&scores(before)?, &g, k),
        pairwise_agreement(&scores(after)?, &g, k),
    ))
}
