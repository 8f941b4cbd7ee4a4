//! Training and evaluating a [`SequenceClassifier`] on labelled texts: the cross-entropy loss
//! `L = −mean_i log softmax(logits_i)[y_i]`, AdamW with warm-up and linear decay, seeded
//! shuffling, and held-out accuracy, per-class recall and mean NLL. Empty texts are skipped and
//! counted; texts longer than the context keep their last `max_len` tokens (counted).

use std::time::Instant;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use rlp_core::LabelledText;
use rlp_core::tensor_io::{ints, to_f32};
use rlp_models::TextTokenizer;
use rlp_train::OptimConfig;
use rlp_train::optim::require_autodiff;

use super::SequenceClassifier;
use crate::encode::{Overlong, collate_scores, encode_text};
use crate::error::{Result, RewardError};
use rlp_train::{BatchFn, EpochPlan, EpochTrainer, StepInfo, Trainer};

/// `−mean_i log softmax(logits_i)[targets_i]`: `logits` `[b, C]`, `targets` `[b]` → one element.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [b, _] = logits.dims();
    let logp = log_softmax(logits, 1).gather(1, targets.reshape([b, 1]));
    logp.mean().neg()
}

/// Every setting of a classifier training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClassifierTrainConfig {
    /// Passes over the training texts.
    pub epochs: usize,
    /// Texts per step.
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up over the first 5% of steps, then linear decay to 10%).
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Per-tensor gradient-norm clip (`None`: off; see `rlp_train::OptimConfig`).
    pub max_grad_norm: Option<f32>,
    /// Context length in tokens (longer texts keep their end).
    pub max_len: usize,
    /// Seed of the data order.
    pub seed: u64,
}

impl Default for ClassifierTrainConfig {
    fn default() -> Self {
        Self {
            epochs: 2,
            batch_size: 32,
            lr: 5e-4,
            weight_decay: 0.01,
            max_grad_norm: Some(1.0),
            max_len: 64,
            seed: 0,
        }
    }
}

/// Usable examples as `(ids, class)`, with how many were skipped (empty) or truncated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodedTexts {
    /// `(token ids + eos, class index)`.
    pub examples: Vec<(Vec<u32>, usize)>,
    /// Empty texts left out.
    pub empty: usize,
    /// Texts cut to their last `max_len` tokens.
    pub truncated: usize,
}

/// Encodes `data` for `model`; a label the model does not know is an error naming the example.
pub fn encode_labelled(
    model: &SequenceClassifier,
    tokenizer: &TextTokenizer,
    data: &[LabelledText],
    max_len: usize,
) -> Result<EncodedTexts> {
    if max_len == 0 {
        return Err(RewardError::invalid("max_len", "must be positive"));
    }
    let mut out = EncodedTexts::default();
    for (i, ex) in data.iter().enumerate() {
        let class = model.label_index(&ex.label).ok_or_else(|| {
            RewardError::invalid(
                "label",
                format!(
                    "example {}: `{}` is not one of the model's classes {:?}",
                    i + 1,
                    ex.label,
                    model.labels
                ),
            )
        })?;
        if ex.text.trim().is_empty() {
            out.empty += 1;
            continue;
        }
        let (ids, cut) = encode_text(tokenizer, "", &ex.text, max_len, Overlong::KeepEnd)?
            .expect("KeepEnd always keeps the text");
        out.truncated += usize::from(cut);
        out.examples.push((ids, class));
    }
    Ok(out)
}

/// What a training run reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierTrainReport {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Texts trained on.
    pub examples: usize,
    /// Empty texts skipped.
    pub skipped_empty: usize,
    /// Texts truncated to the context.
    pub truncated: usize,
    /// Mean loss over the last epoch.
    pub last_epoch_loss: f64,
    /// Mean batch accuracy over the last epoch (before each update).
    pub last_epoch_accuracy: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The resumable classifier trainer [`classifier_trainer`] builds.
pub type ClassifierTrainer =
    EpochTrainer<SequenceClassifier, BatchFn<SequenceClassifier, RewardError>, RewardError>;

/// Builds the trainer of `model` (on an autodiff device) on `data`: the texts are encoded once
/// (empty ones skipped, long ones cut to their end, both counted) and each step's loss is the
/// cross-entropy of a minibatch, its accuracy the minibatch's classification accuracy.
/// Deterministic for a given seed and backend, and resumable. Returns the counts of the
/// encoding beside it.
pub fn classifier_trainer(
    model: SequenceClassifier,
    tokenizer: &TextTokenizer,
    data: &[LabelledText],
    config: &ClassifierTrainConfig,
) -> Result<(ClassifierTrainer, EncodedCounts)> {
    require_autodiff(&model, "classifier")?;
    for (field, value) in [("batch_size", config.batch_size), ("epochs", config.epochs)] {
        if value == 0 {
            return Err(RewardError::invalid(field, "must be at least 1"));
        }
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(RewardError::invalid(
            "lr",
            format!("{} is not positive", config.lr),
        ));
    }
    tokenizer.check_model_vocab(model.backbone.config.vocab_size)?;
    let enc = encode_labelled(&model, tokenizer, data, config.max_len)?;
    if enc.examples.is_empty() {
        return Err(RewardError::invalid(
            "data",
            format!("no usable texts ({} empty)", enc.empty),
        ));
    }
    let counts = EncodedCounts {
        examples: enc.examples.len(),
        empty: enc.empty,
        truncated: enc.truncated,
    };
    let device = model.backbone.device();
    let pad = tokenizer.pad_id.unwrap_or(0);
    let plan = EpochPlan::epochs(
        enc.examples.len(),
        config.batch_size,
        config.epochs,
        config.seed,
        "classifier-train",
    );
    let mut optim = OptimConfig::default();
    optim.lr = config.lr;
    optim.weight_decay = config.weight_decay;
    optim.max_grad_norm = config.max_grad_norm;
    let examples = enc.examples;
    let batch: BatchFn<SequenceClassifier, RewardError> =
        Box::new(move |model: &SequenceClassifier, idx: &[usize]| {
            let seqs: Vec<&[u32]> = idx.iter().map(|&j| examples[j].0.as_slice()).collect();
            let classes: Vec<usize> = idx.iter().map(|&j| examples[j].1).collect();
            let logits = model.logits(&collate_scores(&seqs, pad, &device));
            let accuracy = accuracy(&to_f32(logits.clone().detach()), &classes);
            let targets = ints(
                classes.iter().map(|&c| c as i64).collect(),
                [classes.len()],
                &device,
            );
            Ok((cross_entropy(logits, targets), accuracy))
        });
    Ok((EpochTrainer::new(model, plan, optim, batch)?, counts))
}

/// How many texts a [`ClassifierTrainer`] trains on, and how many were left out or cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedCounts {
    /// Texts trained on.
    pub examples: usize,
    /// Empty texts skipped.
    pub empty: usize,
    /// Texts truncated to the context.
    pub truncated: usize,
}

/// Trains `model` (on an autodiff device) on `data` to the end of the plan; `on_step` sees
/// every step (its `accuracy` is the batch's classification accuracy). Deterministic for a
/// given seed and backend.
pub fn train_classifier(
    model: SequenceClassifier,
    tokenizer: &TextTokenizer,
    data: &[LabelledText],
    config: &ClassifierTrainConfig,
    on_step: &mut dyn FnMut(&StepInfo),
) -> Result<(SequenceClassifier, ClassifierTrainReport)> {
    let start = Instant::now();
    let (mut trainer, counts) = classifier_trainer(model, tokenizer, data, config)?;
    while trainer.steps_done() < trainer.total_steps() {
        on_step(&trainer.step()?);
    }
    Ok(classifier_report(
        trainer,
        counts,
        start.elapsed().as_secs_f64(),
    ))
}

/// The trained model and the report of a finished [`ClassifierTrainer`] that ran `seconds`.
pub fn classifier_report(
    trainer: ClassifierTrainer,
    counts: EncodedCounts,
    seconds: f64,
) -> (SequenceClassifier, ClassifierTrainReport) {
    let done = trainer.outcome();
    (
        trainer.into_model(),
        ClassifierTrainReport {
            steps: done.steps,
            examples: counts.examples,
            skipped_empty: counts.empty,
            truncated: counts.truncated,
            last_epoch_loss: done.last_epoch_loss,
            last_epoch_accuracy: done.last_epoch_accuracy,
            seconds,
        },
    )
}

/// Fraction of rows of host-side logits `[b · C]` whose argmax is the row's class.
fn accuracy(logits: &[f32], classes: &[usize]) -> f64 {
    let c = logits.len() / classes.len().max(1);
    let hits = classes
        .iter()
        .enumerate()
        .filter(|&(i, &y)| argmax(&logits[i * c..(i + 1) * c]) == y)
        .count();
    hits as f64 / classes.len().max(1) as f64
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Class probabilities of encoded texts, `batch_size` per forward pass, one row per text.
pub fn predict(
    model: &SequenceClassifier,
    seqs: &[Vec<u32>],
    pad_id: u32,
    batch_size: usize,
) -> Vec<Vec<f32>> {
    let device = model.backbone.device();
    let c = model.labels.len();
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(batch_size.max(1)) {
        let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
        let p = to_f32(model.probs(&collate_scores(&refs, pad_id, &device)));
        out.extend(p.chunks(c).map(<[f32]>::to_vec));
    }
    out
}

/// What a held-out evaluation reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierEvalReport {
    /// Texts scored.
    pub examples: usize,
    /// Fraction whose most probable class is the label.
    pub accuracy: f64,
    /// `−mean log P(label | text)`.
    pub mean_nll: f64,
    /// Per class (in the model's order): its name, its count, and the fraction of its texts
    /// classified as it (recall).
    pub per_class: Vec<(String, usize, f64)>,
    /// `confusion[i][j]`: texts of class `i` predicted as class `j`.
    pub confusion: Vec<Vec<usize>>,
}

/// Evaluates `model` on `data`.
pub fn evaluate_classifier(
    model: &SequenceClassifier,
    tokenizer: &TextTokenizer,
    data: &[LabelledText],
    max_len: usize,
    batch_size: usize,
) -> Result<ClassifierEvalReport> {
    tokenizer.check_model_vocab(model.backbone.config.vocab_size)?;
    let enc = encode_labelled(model, tokenizer, data, max_len)?;
    if enc.examples.is_empty() {
        return Err(RewardError::invalid("data", "no usable texts"));
    }
    let seqs: Vec<Vec<u32>> = enc.examples.iter().map(|e| e.0.clone()).collect();
    let probs = predict(model, &seqs, tokenizer.pad_id.unwrap_or(0), batch_size);
    let c = model.labels.len();
    let mut confusion = vec![vec![0usize; c]; c];
    let mut nll = 0.0;
    for (p, &(_, y)) in probs.iter().zip(&enc.examples) {
        confusion[y][argmax(p)] += 1;
        nll -= f64::from(p[y].max(1e-30)).ln();
    }
    let n = enc.examples.len();
    let hits: usize = (0..c).map(|i| confusion[i][i]).sum();
    let per_class = (0..c)
        .map(|i| {
            let count: usize = confusion[i].iter().sum();
            let recall = confusion[i][i] as f64 / count.max(1) as f64;
            (model.labels[i].clone(), count, recall)
        })
        .collect();
    Ok(ClassifierEvalReport {
        examples: n,
        accuracy: hits as f64 / n as f64,
        mean_nll: nll / n as f64,
        per_class,
        confusion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp_core::device::test_backend;
    use rlp_core::tensor_io::{floats, scalar};

    /// Golden values, derived by hand. Row 1: logits (0, ln 3) → p = (1/4, 3/4); its target is
    /// class 1, so −log p = ln(4/3) = 0.287682. Row 2: logits (2, 2) → p = (1/2, 1/2); target 0,
    /// −log p = ln 2 = 0.693147. Mean = 0.490415.
    #[test]
    fn cross_entropy_golden() {
        let d = test_backend().device().unwrap();
        let logits = floats(vec![0.0, 3f32.ln(), 2.0, 2.0], [2, 2], &d);
        let loss = cross_entropy(logits, ints(vec![1, 0], [2], &d));
        assert!((scalar(loss) - 0.490415).abs() < 1e-5);
    }

    #[test]
    fn accuracy_counts_argmax_hits() {
        // Rows (argmax 1), (argmax 0), (argmax 2) against classes 1, 1, 2 → 2/3.
        let logits = [0.1, 0.9, 0.0, 5.0, 1.0, 1.0, 0.0, 0.0, 0.5];
        assert!((accuracy(&logits, &[1, 1, 2]) - 2.0 / 3.0).abs() < 1e-12);
    }
}
