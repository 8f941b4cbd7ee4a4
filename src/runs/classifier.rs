//! `rlp classifier train | eval`: sequence classifiers (gold scorers) from the command line.
//!
//! - `train`: from a policy checkpoint (optionally grown by `--grow-layers` identity-initialised
//!   layers, so the judge is larger than the policy it judges) on labelled JSONL
//!   (`{"text", "label"}` per line); the run directory receives the classifier (`config.json`,
//!   `model.safetensors` with `score.*`, `labels.json`, `tokenizer.json`),
//!   `classifier_config.json`, `metrics.jsonl` and, with `--eval`, `eval.json`.
//! - `eval`: held-out accuracy, per-class recall and NLL of a classifier directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rlp_core::burn::module::Module;
use rlp_core::jsonl::read_jsonl;
use rlp_core::{BackendSpec, LabelledText, SeededRng};
use rlp_models::checkpoint::{self, StoreDtype};
use rlp_models::{TextTokenizer, grow_depth};
use rlp_reward::{
    ClassifierEvalReport, ClassifierTrainConfig, ClassifierTrainReport, ClassifierTrainer,
    RewardError, SequenceClassifier, classifier_report, classifier_trainer, evaluate_classifier,
};
use rlp_train::{Callback, DriveOptions, RunDir, Trainer, drive};
use serde::{Deserialize, Serialize};

use super::{StepProgress, write_config};

/// Every setting of `rlp classifier train`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierRun {
    /// Labelled JSONL to train on.
    pub data: PathBuf,
    /// Optional held-out labelled JSONL, evaluated after training.
    pub eval: Option<PathBuf>,
    /// Policy checkpoint directory (with `tokenizer.json`) the backbone starts from.
    pub init: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Class names in head order (default: the sorted distinct labels of `data`).
    pub labels: Option<Vec<String>>,
    /// Identity-initialised decoder layers stacked on the backbone before training.
    pub grow_layers: usize,
    /// Training settings.
    pub train: ClassifierTrainConfig,
    /// Storage type of the saved weights.
    pub save_dtype: StoreDtype,
    /// Seed of the head and the grown layers.
    pub seed: u64,
    /// Backend.
    pub backend: BackendSpec,
    /// Save a resumable `checkpoint-N` (with a loadable classifier) every this many steps (0:
    /// only the final model).
    #[serde(default)]
    pub save_every: usize,
}

/// Saves the classifier and its tokenizer into every checkpoint, so each loads on its own.
struct SaveClassifier<'a> {
    tokenizer: &'a TextTokenizer,
    dtype: StoreDtype,
}

impl Callback<ClassifierTrainer> for SaveClassifier<'_> {
    fn on_checkpoint(
        &mut self,
        t: &ClassifierTrainer,
        _: usize,
        dir: &Path,
    ) -> Result<(), RewardError> {
        t.model().save_with(self.tokenizer, dir, self.dtype)?;
        Ok(())
    }
}

/// What `rlp classifier train` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifierOutcome {
    /// The training report.
    pub train: ClassifierTrainReport,
    /// Parameters of the classifier.
    pub params: usize,
    /// The held-out evaluation, if `eval` was given.
    pub eval: Option<ClassifierEvalReport>,
}

/// Trains a classifier; leaves it in `run.out`. With `resume`, continues from the newest
/// `checkpoint-N` there and ends with the weights an uninterrupted run would have.
pub fn train(run: &ClassifierRun, resume: bool) -> Result<ClassifierOutcome> {
    let data: Vec<LabelledText> = read_jsonl(&run.data)?;
    let eval_data: Option<Vec<LabelledText>> = match &run.eval {
        Some(p) => Some(read_jsonl(p)?),
        None => None,
    };
    let labels = match &run.labels {
        Some(l) => l.clone(),
        None => {
            let mut l: Vec<String> = data.iter().map(|e| e.label.clone()).collect();
            l.sort();
            l.dedup();
            l
        }
    };
    let device = run.backend.autodiff_device()?;
    let policy = checkpoint::load(&run.init, &device)
        .with_context(|| format!("loading --init {}", run.init.display()))?;
    let tk = TextTokenizer::load(run.init.join("tokenizer.json"))?;
    let mut rng = SeededRng::new(run.seed).fork("classifier-init");
    let backbone = grow_depth(policy, run.grow_layers, &mut rng)?;
    let model = SequenceClassifier::from_policy(backbone, labels, &mut rng)
        .with_context(|| format!("classes of {}", run.data.display()))?;
    let params = model.num_params();
    let mut cfg = run.train.clone();
    cfg.max_len = cfg
        .max_len
        .min(model.backbone.config.max_position_embeddings);

    let dir = RunDir::new(&run.out);
    let start = std::time::Instant::now();
    let (mut trainer, counts) = classifier_trainer(model, &tk, &data, &cfg)
        .with_context(|| format!("training on {}", run.data.display()))?;
    write_config(&dir, "classifier_config.json", run)?;
    let mut bar = StepProgress::new(trainer.total_steps());
    let mut save = SaveClassifier {
        tokenizer: &tk,
        dtype: run.save_dtype,
    };
    let options = DriveOptions {
        checkpoint_every: run.save_every,
        resume,
    };
    drive(&mut trainer, &dir, options, &mut [&mut bar, &mut save])
        .with_context(|| format!("training on {}", run.data.display()))?;
    bar.finish();
    let (model, report) = classifier_report(trainer, counts, start.elapsed().as_secs_f64());
    model.save_with(&tk, &run.out, run.save_dtype)?;
    let eval = match (&eval_data, &run.eval) {
        (Some(d), Some(path)) => {
            let r = evaluate_classifier(&model, &tk, d, cfg.max_len, 64)
                .with_context(|| format!("evaluating on {}", path.display()))?;
            std::fs::write(
                run.out.join("eval.json"),
                serde_json::to_string_pretty(&r)? + "\n",
            )?;
            Some(r)
        }
        _ => None,
    };
    Ok(ClassifierOutcome {
        train: report,
        params,
        eval,
    })
}

/// Evaluates a classifier directory on labelled JSONL.
pub fn eval(
    model_dir: &Path,
    data: &Path,
    max_len: usize,
    backend: BackendSpec,
) -> Result<ClassifierEvalReport> {
    let data_rows: Vec<LabelledText> = read_jsonl(data)?;
    let device = backend.device()?;
    let model = SequenceClassifier::load(model_dir, &device)?;
    let tk = TextTokenizer::load(model_dir.join("tokenizer.json"))?;
    let max_len = max_len.min(model.backbone.config.max_position_embeddings);
    Ok(evaluate_classifier(&model, &tk, &data_rows, max_len, 64)
        .with_context(|| format!("evaluating on {}", data.display()))?)
}

/// One line per class: `name (count): recall`.
pub fn describe(r: &ClassifierEvalReport) -> String {
    let classes: Vec<String> = r
        .per_class
        .iter()
        .map(|(name, n, recall)| format!("{name} {recall:.3} of {n}"))
        .collect();
    format!(
        "accuracy {:.4} on {} texts, mean NLL {:.4}; recall: {}",
        r.accuracy,
        r.examples,
        r.mean_nll,
        classes.join(", ")
    )
}
