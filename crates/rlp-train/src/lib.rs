//! # rlp-train
//!
//! The one training driver every method in `rlp` runs through. A method implements
//! [`Trainer`] (one optimisation step, and its whole state saved and restored); [`drive`] runs it
//! in a [`RunDir`], writing `metrics.jsonl`, atomic `checkpoint-N/` directories and resuming
//! from the newest complete one, so that an interrupted and resumed run ends with the same
//! weights, bit for bit, as an uninterrupted one. [`Callback`]s add evaluation, progress and
//! extra files at fixed seams.
//!
//! Methods that walk a dataset in shuffled minibatches (supervised fine-tuning, reward models,
//! classifiers, DPO, RLP-UML) share [`EpochTrainer`]: an [`EpochPlan`] fixes which examples
//! every step sees from the seed alone, and AdamW follows linear warm-up then linear decay.
//! [`Pretrained`] is a model with its tokenizer, saved and loaded as a Hugging Face directory.
#![warn(missing_docs)]

pub mod drive;
pub mod epoch_trainer;
pub mod error;
#[cfg(feature = "mpi")]
pub mod mpi_world;
pub mod plan;
pub mod resume_check;
pub mod run_dir;
pub mod sft;
pub mod trainer;

pub use drive::{DriveOptions, DriveOutcome, drive};
pub use epoch_trainer::{
    BatchFn, EpochOutcome, EpochTrainer, ShardWeight, StepInfo, load_counted_state,
    load_weights_and_moments, read_state, run_epochs, save_counted_state, save_weights_and_moments,
    write_state,
};
pub use error::{Result, TrainError};
pub use plan::{EpochPlan, PlanCursor, PlanLength};
pub use resume_check::interrupted_and_whole;
pub use rlp_models::Pretrained;
pub use run_dir::{Existing, RunDir};
pub use sft::{SftPlan, SftTrainer, sft_trainer};
pub use trainer::{Callback, Trainer};
