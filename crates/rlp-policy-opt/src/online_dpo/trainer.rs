//! [`OnlineDpoTrainer`]: one step of online DPO samples two completions of each prompt from the
//! current policy (KV cache, plain device), ranks each pair with a reward function or a judge,
//! and takes one AdamW step on the DPO loss ([`dpo_loss`]) of the ranked pairs against the
//! frozen starting policy. Tied pairs carry no preference and are left out (TRL keeps them,
//! taking the first sample as chosen); their share is reported.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use rlp_core::masked::masked_sum_rows;
use rlp_core::parallel;
use rlp_core::tensor_io::{floats, ints, to_f32};
use rlp_core::{Judge, RewardFn, SeededRng};
use rlp_models::{CausalLm, TextTokenizer};
use rlp_train::AdamW;
use rlp_train::optim::require_autodiff;
use rlp_train::{load_counted_state, save_counted_state};
use serde::{Deserialize, Serialize};

use super::config::OnlineDpoConfig;
use crate::anchor::{Anchor, FrozenAnchor};
use crate::dpo::{DpoLossStats, dpo_loss};
use crate::error::{PolicyError, Result};
use crate::ppo::rollout::{response_logprobs, sample_rollout};
use crate::scores::checked_scores;

/// What ranks the two samples of a prompt.
#[derive(Clone, Copy)]
pub enum Ranker<'a> {
    /// The higher score wins; equal scores tie.
    Reward(&'a dyn RewardFn),
    /// `P(a ≻ b) > ½` makes `a` the winner, `< ½` `b`; exactly ½ ties.
    Judge(&'a dyn Judge),
}

/// What one step did (host values, one `metrics.jsonl` line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineDpoStats {
    /// Steps done, this one included.
    pub step: usize,
    /// Mean reward of the samples (`None` under a judge).
    pub score: Option<f64>,
    /// Share of pairs that tied (left out of the loss).
    pub ties: f64,
    /// Pairs in the loss.
    pub pairs: usize,
    /// The DPO loss (`None` when every pair tied and no update was made).
    pub loss: Option<f64>,
    /// The DPO statistics of the ranked pairs (margin, accuracy, implicit rewards).
    pub dpo: Option<DpoLossStats>,
    /// Mean sequence KL of the samples to the reference, `Σ_t (log π − log π_ref)` (k1).
    pub kl: f64,
    /// Mean sample length in tokens (stop token included).
    pub response_len: f64,
    /// Share of samples cut at `max_new_tokens` without a stop token.
    pub truncated: f64,
    /// Learning rate.
    pub lr: f64,
    /// Seconds generating.
    pub time_generate: f64,
    /// Seconds ranking and in the reference pass.
    pub time_score: f64,
    /// Seconds updating.
    pub time_update: f64,
}

/// Online DPO on a policy (on an autodiff device) against the frozen starting policy (plain
/// device).
pub struct OnlineDpoTrainer {
    pub(crate) policy: CausalLm,
    reference: FrozenAnchor,
    tokenizer: TextTokenizer,
    config: OnlineDpoConfig,
    pub(crate) optim: AdamW,
    pub(crate) steps: usize,
    rng: SeededRng,
}

impl OnlineDpoTrainer {
    /// A trainer; `policy` is also the reference. Errors: an invalid config, a policy not on an
    /// autodiff device, or a tokenizer larger than its vocabulary.
    pub fn new(
        policy: CausalLm,
        tokenizer: TextTokenizer,
        config: OnlineDpoConfig,
    ) -> Result<Self> {
        config.validate()?;
        parallel::check_divisible(config.prompts_per_step, "prompts_per_step")?;
        require_autodiff(&policy, "policy")?;
        tokenizer.check_model_vocab(policy.config.vocab_size)?;
        Ok(Self {
            reference: FrozenAnchor::new(&policy),
            policy,
            tokenizer,
            optim: AdamW::new(config.optim()),
            steps: 0,
            rng: SeededRng::new(config.seed).fork("online-dpo"),
            config,
        })
    }

    /// The policy being trained (autodiff device).
    pub fn policy(&self) -> &CausalLm {
        &self.policy
    }

    /// The settings.
    pub fn config(&self) -> &OnlineDpoConfig {
        &self.config
    }

    /// Steps done.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// `Some(true)`: the first sample wins, `Some(false)`: the second, `None`: a tie; and the
    /// scores, under a reward.
    fn rank(
        &self,
        ranker: Ranker<'_>,
        prompts: &[String],
        responses: &[String],
        finished: &[bool],
    ) -> Result<(Vec<Option<bool>>, Option<Vec<f32>>)> {
        match ranker {
            Ranker::Reward(reward) => {
                let mut scores = checked_scores(reward, prompts, responses)?;
                if let Some(p) = self.config.missing_eos_penalty {
                    for (s, done) in scores.iter_mut().zip(finished) {
                        if !done {
                            *s = p;
                        }
                    }
                }
                let winners = scores
                    .chunks(2)
                    .map(|s| (s[0] != s[1]).then_some(s[0] > s[1]))
                    .collect();
                Ok((winners, Some(scores)))
            }
            Ranker::Judge(judge) => {
                let firsts = |v: &[String], k: usize| -> Vec<String> {
                    v.iter().skip(k).step_by(2).cloned().collect()
                };
                let err = |message: String| PolicyError::RewardFn {
                    name: judge.name(),
                    message,
                };
                let p = judge
                    .prefer(
                        &firsts(prompts, 0),
                        &firsts(responses, 0),
                        &firsts(responses, 1),
                    )
                    .map_err(|e| err(e.to_string()))?;
                if p.len() * 2 != responses.len() {
                    return Err(err(format!(
                        "{} preferences for {} pairs",
                        p.len(),
                        responses.len() / 2
                    )));
                }
                if let Some(i) = p.iter().position(|x| !(0.0..=1.0).contains(x)) {
                    return Err(err(format!(
                        "preference {} for pair {i} is not in [0, 1]",
                        p[i]
                    )));
                }
                Ok((
                    p.iter().map(|&x| (x != 0.5).then_some(x > 0.5)).collect(),
                    None,
                ))
            }
        }
    }

    /// One step on `prompts` (two samples each) ranked by `ranker`. Errors: no prompts, a
    /// prompt that encodes to nothing, a failing reward or judge, and a non-finite loss or
    /// gradient (the policy is then unchanged).
    ///
    /// Under data parallelism each rank samples its share of `prompts` with a stream of its
    /// own; every rank joins the averaged update of a step in which any rank has a pair (a rank
    /// without one adds a zero gradient of weight 0), and the logged values are the batch's.
    pub fn step(&mut self, prompts: &[String], ranker: Ranker<'_>) -> Result<OnlineDpoStats> {
        let expanded: Vec<String> = parallel::shard(prompts)
            .iter()
            .flat_map(|p| [p.clone(), p.clone()])
            .collect();
        let plain = self.policy.valid();
        let t0 = Instant::now();
        let mut rng = self.rng.fork(&parallel::stream_name(&format!(
            "rollout-{}",
            self.steps + 1
        )));
        let generation = self.config.generation();
        let rollout = sample_rollout(&plain, &self.tokenizer, &expanded, &generation, &mut rng)?;
        let time_generate = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let (winners, scores) = self.rank(
            ranker,
            &rollout.prompts,
            &rollout.responses,
            &rollout.finished,
        )?;
        let all: Vec<usize> = (0..rollout.len()).collect();
        let ref_rows = rollout.tensors(&all, &plain.device());
        let ref_seq = to_f32(masked_sum_rows(
            response_logprobs(self.reference.model(), &ref_rows),
            ref_rows.response_mask.clone(),
        ));
        let time_score = t1.elapsed().as_secs_f64();

        let t2 = Instant::now();
        let device = self.policy.device();
        let rows = rollout.tensors(&all, &device);
        let seq = masked_sum_rows(
            response_logprobs(&self.policy, &rows),
            rows.response_mask.clone(),
        );
        let seq_host = to_f32(seq.clone().detach());
        let (chosen, rejected): (Vec<usize>, Vec<usize>) = winners
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                w.map(|first| {
                    if first {
                        (2 * i, 2 * i + 1)
                    } else {
                        (2 * i + 1, 2 * i)
                    }
                })
            })
            .unzip();
        let pairs = chosen.len();
        let all_pairs = parallel::sum(pairs as f64);
        let (mut loss_value, mut dpo) = (None, None);
        if pairs == 0 && all_pairs > 0.0 {
            // Another rank has pairs: join its update with a zero gradient that weighs nothing.
            let zero = seq.sum() * 0.0;
            let (policy, value) =
                self.optim
                    .minimize_weighted(self.policy.clone(), zero, self.config.lr, 0.0)?;
            self.policy = policy;
            loss_value = Some(value);
            let mut stats = DpoLossStats::default();
            stats.average_over_ranks(0.0);
            dpo = Some(stats);
        } else if pairs > 0 {
            let pick = |idx: &[usize]| -> Tensor<1, Int> {
                ints(
                    idx.iter().map(|&i| i as i64).collect(),
                    [idx.len()],
                    &device,
                )
            };
            let reference = |idx: &[usize]| {
                floats(
                    idx.iter().map(|&i| ref_seq[i]).collect(),
                    [idx.len()],
                    &device,
                )
            };
            let (loss, mut stats) = dpo_loss(
                seq.clone().select(0, pick(&chosen)),
                seq.select(0, pick(&rejected)),
                reference(&chosen),
                reference(&rejected),
                self.config.kl_beta,
                self.config.label_smoothing,
            );
            // A mean over pairs: a data-parallel shard weighs its pairs.
            let (policy, value) = self.optim.minimize_weighted(
                self.policy.clone(),
                loss,
                self.config.lr,
                pairs as f64,
            )?;
            self.policy = policy;
            loss_value = Some(value);
            stats.average_over_ranks(pairs as f64);
            dpo = Some(stats);
        }
        let time_update = t2.elapsed().as_secs_f64();

        // Sums over the whole batch (every rank's samples under data parallelism).
        let mut sums = [
            rollout.len() as f64,
            scores
                .as_ref()
                .map_or(0.0, |s| s.iter().map(|&x| x as f64).sum::<f64>()),
            winners.iter().filter(|w| w.is_none()).count() as f64,
            winners.len() as f64,
            seq_host
                .iter()
                .zip(&ref_seq)
                .map(|(p, r)| (p - r) as f64)
                .sum::<f64>(),
            rollout.lengths().iter().sum::<usize>() as f64,
            rollout.finished.iter().filter(|f| !**f).count() as f64,
        ];
        parallel::world().sum_f64(&mut sums);
        let [n, score_sum, ties, groups, kl_sum, tokens, truncated] = sums;
        self.steps += 1;
        Ok(OnlineDpoStats {
            step: self.steps,
            score: scores.map(|_| score_sum / n),
            ties: ties / groups,
            pairs: all_pairs as usize,
            loss: loss_value,
            dpo,
            kl: kl_sum / n,
            response_len: tokens / n,
            truncated: truncated / n,
            lr: self.config.lr,
            time_generate,
            time_score,
            time_update,
        })
    }

    /// Writes everything the next step depends on into the directory `dir` (which exists): the
    /// weights, AdamW's moments and the step count (every random stream is forked by it).
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        Ok(save_counted_state(
            dir,
            &self.policy,
            &self.optim,
            self.steps,
        )?)
    }

    /// Restores a state written by [`OnlineDpoTrainer::save_state`] into this trainer, built
    /// from the same starting policy and config.
    pub fn load_state(&mut self, dir: &Path) -> Result<()> {
        let (policy, steps) = load_counted_state(dir, self.policy.clone(), &mut self.optim)?;
        self.policy = policy;
        self.steps = steps;
        Ok(())
    }
}
