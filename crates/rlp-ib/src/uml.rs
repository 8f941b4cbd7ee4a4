//! RLP-UML's reward-model retraining (`docs/algorithms.md`, "RLP: Reward Learning on Policy"; Lang et al. 2024,
//! eq. 3 and §3.2): `L = L_BT(D) + λ·L_M`, the Bradley–Terry loss on the human preference pairs
//! `D` plus `λ` times the multi-view loss on pairs of policy responses to one prompt, optimised
//! jointly over the reward model and the [`IbHead`] so that `L_M`'s gradient reaches the reward
//! model through its representation `h`.
//!
//! Each optimiser step takes the next minibatch of `D` (the epoch loop of
//! [`rlp_reward::run_epochs`]: a seeded shuffle per epoch, linear warm-up then decay) and the
//! next `view_batch_size` view pairs (a seeded shuffle of the view pairs, walked in full batches
//! and reshuffled when fewer than a batch remain, so no batch holds a pair twice), scores all
//! of their sequences in one forward pass, and minimises `L_BT + λ·L_M`. One AdamW and one
//! learning rate drive the reward model and the head together (the reference MIB code also
//! uses one rate, 1e-4, for encoder and critic), after a warm-up of the head alone on the
//! reward model's frozen representations ([`crate::warmup`]; `head_warmup_steps = 0` skips it).

use std::cell::Cell;
use std::time::Instant;

use burn::module::Module;
use rlp_core::tensor_io::{floats, scalar, to_f32};
use rlp_core::{PreferencePair, SeededRng};
use rlp_models::TextTokenizer;
use rlp_reward::{
    EncodedPair, EpochPlan, RewardModel, RmTrainConfig, SkipCounts, StepInfo, bt_loss,
    collate_scores, encode_pairs, pair_accuracy, run_epochs,
};
use rlp_train::optim::require_autodiff;

use crate::error::{IbError, Result};
use crate::head::{HeadShape, IbHead, IbStats};
use crate::objective::{BetaSchedule, DtsWeights, Objective};
use crate::warmup::{frozen_views, warm_up_head};

/// Every setting of an RLP-UML retraining run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct UmlConfig {
    /// `λ`, the weight of `L_M` (0.5 in RLP; 0 trains the plain Bradley–Terry loss, with `L_M`
    /// still evaluated and reported).
    pub lambda: f64,
    /// Which multi-view loss (`mib`, RLP-UML's, by default).
    pub objective: Objective,
    /// DTS's weights for `objective = "mib-dts"` (`[uml.dts]`; unset: [`DtsWeights::default`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts: Option<DtsWeights>,
    /// Width of the code `z` (64, the reference MIB code's; RLP does not state it).
    pub z_dim: usize,
    /// Hidden width of the encoder's `μ` and `σ` MLPs (RLP does not state it; the reference
    /// uses 1024 on 784-pixel images, 256 keeps the head small beside a small backbone).
    pub encoder_hidden: usize,
    /// Hidden width of the critic's MLP (as `encoder_hidden`).
    pub critic_hidden: usize,
    /// The information-bottleneck weight `β` of `D_SKL` over steps (`mib` only). Configs may
    /// still say `beta` (deprecated).
    #[serde(alias = "beta")]
    pub ib_beta: BetaSchedule,
    /// View pairs per step (at least 2: the negatives come from the other rows of the batch).
    /// When fewer pairs are usable, every step takes all of them.
    pub view_batch_size: usize,
    /// The Bradley–Terry part: epochs over `D`, its batch size, learning rate, clipping, context
    /// length, overlong policy (applied to the view pairs too) and the seed.
    pub rm: RmTrainConfig,
    /// Steps of head warm-up before the joint training: the encoder and critic alone, on the
    /// reward model's frozen representations of the view pairs (see [`crate::warmup`]; 0: off,
    /// the head starts from random weights).
    pub head_warmup_steps: usize,
    /// The warm-up's learning rate (constant).
    pub head_lr: f64,
}

impl Default for UmlConfig {
    fn default() -> Self {
        Self {
            lambda: 0.5,
            objective: Objective::Mib,
            dts: None,
            z_dim: 64,
            encoder_hidden: 256,
            critic_hidden: 256,
            ib_beta: BetaSchedule::default(),
            view_batch_size: 16,
            rm: RmTrainConfig::default(),
            head_warmup_steps: 200,
            head_lr: 1e-3,
        }
    }
}

impl UmlConfig {
    /// Checks every field, naming the first one that cannot be used.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, m: String| Err(IbError::invalid(f, m));
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return bad("lambda", format!("{} is not finite and ≥ 0", self.lambda));
        }
        for (field, value) in [
            ("z_dim", self.z_dim),
            ("encoder_hidden", self.encoder_hidden),
            ("critic_hidden", self.critic_hidden),
            ("rm.epochs", self.rm.epochs),
            ("rm.batch_size", self.rm.batch_size),
            ("rm.max_len", self.rm.max_len),
        ] {
            if value == 0 {
                return bad(field, "must be positive".into());
            }
        }
        if !(self.head_lr.is_finite() && self.head_lr > 0.0) {
            return bad(
                "head_lr",
                format!("{} is not positive and finite", self.head_lr),
            );
        }
        if self.view_batch_size < 2 {
            return bad(
                "view_batch_size",
                format!(
                    "{} < 2: the estimators' negatives are the other rows of the batch",
                    self.view_batch_size
                ),
            );
        }
        if !(self.rm.lr.is_finite() && self.rm.lr > 0.0) {
            return bad(
                "rm.lr",
                format!("{} is not positive and finite", self.rm.lr),
            );
        }
        if self
            .rm
            .max_grad_norm
            .is_some_and(|g| !(g.is_finite() && g > 0.0))
        {
            return bad("rm.max_grad_norm", "must be positive and finite".into());
        }
        if let Some(dts) = &self.dts {
            if self.objective != Objective::MibDts {
                return bad(
                    "dts",
                    "[uml.dts] is set but objective is not \"mib-dts\"".into(),
                );
            }
            dts.validate(self.z_dim)?;
        }
        self.ib_beta.validate("ib_beta")
    }
}

/// Two views of one prompt: two different policy responses to it (`v_i = (x, y_i)`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewPair {
    /// The prompt `x`.
    pub prompt: String,
    /// The first response `y₁`.
    pub a: String,
    /// The second response `y₂`.
    pub b: String,
}

impl ViewPair {
    /// RLP-UML's views of one prompt's samples: disjoint consecutive pairs `(y₁, y₂), (y₃, y₄),
    /// …` (an odd last sample is left out); `samples[i]` are the samples of `prompts[i]`.
    pub fn disjoint(prompts: &[String], samples: &[Vec<String>]) -> Vec<ViewPair> {
        prompts
            .iter()
            .zip(samples)
            .flat_map(|(p, ys)| {
                ys.chunks_exact(2).map(move |v| ViewPair {
                    prompt: p.clone(),
                    a: v[0].clone(),
                    b: v[1].clone(),
                })
            })
            .collect()
    }
}

/// What the per-step callback receives.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UmlStepInfo {
    /// Steps done (1-based).
    pub step: usize,
    /// Steps in the run.
    pub total: usize,
    /// `L_BT + λ·L_M` before the update.
    pub loss: f64,
    /// The Bradley–Terry loss on the batch of `D`.
    pub bt_loss: f64,
    /// `L_M` on the batch of view pairs.
    pub l_m: f64,
    /// The code's statistics on the batch: the mutual-information estimate in `L_M`, the
    /// sample `D_SKL`, and the diagnostics TC, dimension-wise KL, `I_q(x; z)` and the active
    /// dimensions (written inline, as `mi`, `skl`, `tc`, `dw_kl`, `mi_x`, `active_dims`).
    #[serde(flatten)]
    pub code: IbStats,
    /// `β` used.
    pub beta: f64,
    /// Pairwise accuracy on the batch of `D` before the update.
    pub accuracy: f64,
    /// The learning rate used.
    pub lr: f64,
}

/// What a run reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UmlReport {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Preference pairs trained on (after skips).
    pub pairs: usize,
    /// Preference pairs left out, and why.
    pub skipped: SkipCounts,
    /// View pairs usable (after skips).
    pub views: usize,
    /// View pairs drawn into at least one step.
    pub views_used: usize,
    /// View pairs left out, and why (`identical`: the two responses are the same text).
    pub view_skips: SkipCounts,
    /// View pairs per step actually used (`view_batch_size`, or all usable pairs if fewer).
    pub view_batch_size: usize,
    /// Mean Bradley–Terry loss over the last epoch.
    pub last_epoch_bt_loss: f64,
    /// Mean total loss `L_BT + λ·L_M` over the last epoch.
    pub last_epoch_loss: f64,
    /// Mean batch accuracy on `D` over the last epoch (before each update).
    pub last_epoch_accuracy: f64,
    /// The mutual-information estimate at the end of the head warm-up (`None` without one).
    pub warmup_mi: Option<f64>,
    /// Mean mutual-information estimate over the last epoch.
    pub mean_mi: f64,
    /// Mean sample `D_SKL` over the last epoch.
    pub mean_skl: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The reward model and the information-bottleneck head, optimised as one module.
#[derive(Module, Debug)]
pub struct UmlModel {
    /// The reward model being retrained.
    pub rm: RewardModel,
    /// The encoder and critic of `L_M`.
    pub head: IbHead,
}

/// The view pairs' seeded order, walked in full batches.
struct ViewCycle {
    order: Vec<usize>,
    pos: usize,
    batch: usize,
    rng: SeededRng,
}

impl ViewCycle {
    fn new(n: usize, batch: usize, rng: SeededRng) -> Self {
        Self {
            order: (0..n).collect(),
            pos: n, // reshuffle before the first batch
            batch,
            rng,
        }
    }

    fn next_batch(&mut self) -> &[usize] {
        if self.pos + self.batch > self.order.len() {
            self.rng.shuffle(&mut self.order);
            self.pos = 0;
        }
        self.pos += self.batch;
        &self.order[self.pos - self.batch..self.pos]
    }
}

/// One step's parts, passed from the loss closure to the step callback.
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    bt: f64,
    l_m: f64,
    beta: f64,
    code: IbStats,
}

/// Retrains `rm` (on an autodiff device) with `L_BT(d) + λ·L_M(views)` under `config`;
/// `on_step` sees every step. Returns the retrained reward model (the head is dropped) and the
/// report. Deterministic for a given seed (`config.rm.seed`) and backend: the head's weights,
/// the view order and the reparameterisation noise come from named forks of it.
pub fn train_uml(
    rm: RewardModel,
    tokenizer: &TextTokenizer,
    d: &[PreferencePair],
    views: &[ViewPair],
    config: &UmlConfig,
    on_step: &mut dyn FnMut(&UmlStepInfo),
) -> Result<(RewardModel, UmlReport)> {
    config.validate()?;
    require_autodiff(&rm, "reward model")?;
    tokenizer.check_model_vocab(rm.backbone.config.vocab_size)?;
    let rmc = &config.rm;
    let (pairs, skipped) = encode_pairs(tokenizer, d, rmc.max_len, rmc.overlong)?;
    if pairs.is_empty() {
        return Err(IbError::NotEnough {
            what: "preference pairs".into(),
            message: format!("0 left ({skipped})"),
        });
    }
    let (view_codes, view_skips) = encode_views(tokenizer, views, rmc)?;
    if view_codes.len() < 2 {
        return Err(IbError::NotEnough {
            what: "view pairs".into(),
            message: format!(
                "{} left, the estimators need at least 2 ({view_skips})",
                view_codes.len()
            ),
        });
    }
    let view_batch = config.view_batch_size.min(view_codes.len());
    let device = rm.backbone.device();
    let pad = tokenizer.pad_id.unwrap_or(0);
    let root = SeededRng::new(rmc.seed);
    let shape = HeadShape {
        d: rm.backbone.config.hidden_size,
        z_dim: config.z_dim,
        encoder_hidden: config.encoder_hidden,
        critic_hidden: config.critic_hidden,
    };
    let head = IbHead::init(config.objective, shape, &mut root.fork("uml-head"), &device)
        .with_dts(config.dts.unwrap_or_default(), 2 * view_codes.len());
    let (h1, h2) = frozen_views(&rm, &view_codes, pad);
    let (head, warm_mi) = warm_up_head(
        head,
        &h1,
        &h2,
        config.head_warmup_steps,
        view_batch,
        config.head_lr,
        config.ib_beta.at(0, 1),
        &mut root.fork("uml-warmup"),
    )?;
    drop((h1, h2));
    let model = UmlModel { rm, head };
    let plan = EpochPlan::epochs(
        pairs.len(),
        rmc.batch_size,
        rmc.epochs,
        rmc.seed,
        "uml-train",
    );
    let total = pairs.len().div_ceil(rmc.batch_size) * rmc.epochs;
    let start = Instant::now();

    let parts = Cell::new(Parts::default());
    let mut cycle = ViewCycle::new(view_codes.len(), view_batch, root.fork("uml-views"));
    let mut noise = root.fork("uml-noise");
    let mut drawn = vec![false; view_codes.len()];
    let mut step = 0usize;
    let batch = |model: &UmlModel, idx: &[usize]| {
        let n = idx.len();
        let vidx = cycle.next_batch();
        let m = vidx.len();
        for &j in vidx {
            drawn[j] = true;
        }
        let seqs: Vec<&[u32]> = idx
            .iter()
            .map(|&j| pairs[j].chosen.as_slice())
            .chain(idx.iter().map(|&j| pairs[j].rejected.as_slice()))
            .chain(vidx.iter().map(|&j| view_codes[j].chosen.as_slice()))
            .chain(vidx.iter().map(|&j| view_codes[j].rejected.as_slice()))
            .collect();
        // One forward pass for the preference pairs and the views.
        let (scores, h) = model
            .rm
            .score_and_hidden(&collate_scores(&seqs, pad, &device));
        let r_w = scores.clone().slice(0..n);
        let r_l = scores.slice(n..2 * n);
        let margins: Vec<f32> = idx.iter().map(|&j| pairs[j].margin).collect();
        let margin = margins
            .iter()
            .any(|&x| x != 0.0)
            .then(|| floats(margins, [n], &device));
        let accuracy = pair_accuracy(&to_f32(r_w.clone().detach()), &to_f32(r_l.clone().detach()));
        let bt = bt_loss(r_w, r_l, margin, &rmc.bt);
        let h1 = h.clone().narrow(0, 2 * n, m);
        let h2 = h.narrow(0, 2 * n + m, m);
        let beta = config.ib_beta.at(step, total);
        let (l_m, stats) = model.head.loss(h1, h2, beta, &mut noise);
        parts.set(Parts {
            bt: scalar(bt.clone().detach()),
            l_m: scalar(l_m.clone().detach()),
            beta,
            code: stats,
        });
        step += 1;
        Ok::<_, rlp_reward::RewardError>((bt + l_m * config.lambda, accuracy))
    };
    let mut history: Vec<Parts> = Vec::with_capacity(total);
    let mut relay = |s: &StepInfo| {
        let p = parts.get();
        history.push(p);
        on_step(&UmlStepInfo {
            step: s.step,
            total: s.total,
            loss: s.loss,
            bt_loss: p.bt,
            l_m: p.l_m,
            code: p.code,
            beta: p.beta,
            accuracy: s.accuracy,
            lr: s.lr,
        });
    };
    let (model, done) = run_epochs(model, plan, rmc.optim(), batch, &mut relay)?;
    let per_epoch = pairs.len().div_ceil(rmc.batch_size);
    let last = &history[history.len().saturating_sub(per_epoch)..];
    let mean = |f: fn(&Parts) -> f64| last.iter().map(f).sum::<f64>() / last.len().max(1) as f64;
    Ok((
        model.rm,
        UmlReport {
            steps: done.steps,
            pairs: pairs.len(),
            skipped,
            views: view_codes.len(),
            views_used: drawn.iter().filter(|&&b| b).count(),
            view_skips,
            view_batch_size: view_batch,
            last_epoch_bt_loss: mean(|p| p.bt),
            last_epoch_loss: done.last_epoch_loss,
            last_epoch_accuracy: done.last_epoch_accuracy,
            warmup_mi: warm_mi,
            mean_mi: mean(|p| p.code.mi),
            mean_skl: mean(|p| p.code.skl),
            seconds: start.elapsed().as_secs_f64(),
        },
    ))
}

/// Encodes the view pairs as reward-model inputs with the Bradley–Terry data's rules
/// ([`encode_pairs`]: `prompt + response` + eos, `config.max_len` and `config.overlong`):
/// pairs with an empty response, or two identical ones (before or after truncation), carry no
/// second view and are skipped and counted.
fn encode_views(
    tokenizer: &TextTokenizer,
    views: &[ViewPair],
    config: &RmTrainConfig,
) -> Result<(Vec<EncodedPair>, SkipCounts)> {
    let as_pairs: Vec<PreferencePair> = views
        .iter()
        .map(|v| PreferencePair {
            prompt: v.prompt.clone(),
            chosen: v.a.clone(),
            rejected: v.b.clone(),
            margin: None,
        })
        .collect();
    Ok(encode_pairs(
        tokenizer,
        &as_pairs,
        config.max_len,
        config.overlong,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[uml.dts]` is read (here from JSON, as serde reads the TOML), refused beside another
    /// objective, and its segment must divide `z_dim`; every error names the field.
    #[test]
    fn dts_weights_parse_and_validate() {
        let c: UmlConfig = serde_json::from_str(
            r#"{"objective": "mib-dts",
                "dts": {"beta_tc": 4.0, "beta_dw": 2.0, "gamma_mi": 1.0, "segment": 8}}"#,
        )
        .unwrap();
        assert_eq!(c.objective, Objective::MibDts);
        assert_eq!(c.dts.unwrap().segment, 8);
        c.validate().unwrap();
        let e = UmlConfig {
            objective: Objective::Mib,
            ..c.clone()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("dts"), "{e}");
        let mut odd = c.clone();
        odd.dts = Some(DtsWeights {
            segment: 5,
            ..DtsWeights::default()
        });
        assert!(
            odd.validate()
                .unwrap_err()
                .to_string()
                .contains("dts.segment")
        );
        let mut negative = c;
        negative.dts = Some(DtsWeights {
            beta_tc: -1.0,
            ..DtsWeights::default()
        });
        assert!(
            negative
                .validate()
                .unwrap_err()
                .to_string()
                .contains("dts.beta_tc")
        );
    }
}
