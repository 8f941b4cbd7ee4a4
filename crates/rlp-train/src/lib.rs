#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod drive;
pub mod epoch_trainer;
pub mod error;
pub mod grad_sync;
#[cfg(feature = "mpi")]
pub mod mpi_world;
pub mod nll;
pub mod optim;
pub mod plan;
pub mod resume_check;
pub mod run_dir;
pub mod sft;
pub mod soup;
pub mod trainer;
pub mod vocab;

pub use drive::{DriveOptions, DriveOutcome, drive};
pub use epoch_trainer::{
    BatchFn, EpochOutcome, EpochTrainer, ShardWeight, StepInfo, load_counted_state,
    load_weights_and_moments, read_state, run_epochs, save_counted_state, save_weights_and_moments,
    write_state,
};
pub use error::{Result, TrainError};
pub use nll::{NllTrainer, SftBatch, StepStats, collate_sft, response_nll, response_targets};
pub use optim::{AdamW, OptimConfig};
pub use plan::{EpochPlan, PlanCursor, PlanLength};
pub use resume_check::interrupted_and_whole;
pub use rlp_models::Pretrained;
pub use run_dir::{Existing, RunDir};
pub use sft::{SftPlan, SftTrainer, sft_trainer};
pub use soup::{ema_update, try_ema_update, weighted_average};
pub use trainer::{Callback, Trainer};
pub use vocab::{grow_vocab, grow_vocab_with_tokens};
