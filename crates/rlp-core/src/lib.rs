//! # rlp-core
//!
//! The shared vocabulary of the `rlp` workspace: device selection over burn's run-time backends,
//! one seeded random source, masked tensor operations (sums, means, variances, whitening),
//! log-probabilities and entropies from logits, the KL estimators k1/k2/k3, the data types that
//! flow between trainers (prompt/response examples, completions, preference pairs), JSONL I/O with
//! errors that name the file and line, an append-only metrics sink, a self-deleting scratch
//! directory, and the two seams every optimizer and evaluator speaks: [`RewardFn`] and [`Judge`].
//!
//! Model and algorithm code carries no backend type parameter: burn 0.22 picks the backend at run
//! time through [`burn::tensor::Device`], which [`device::BackendSpec`] builds.
#![warn(missing_docs)]

pub mod answer;
pub mod data;
pub mod device;
pub mod error;
pub mod fuzz;
pub mod jsonl;
pub mod kl;
pub mod logprobs;
pub mod masked;
pub mod memo;
pub mod metrics;
pub mod parallel;
pub mod rng;
pub mod scratch;
pub mod tensor_io;
pub mod traits;

pub use data::{Completion, LabelledText, PreferencePair, PromptResponse};
pub use device::BackendSpec;
pub use error::{CoreError, Result};
pub use memo::MemoReward;
pub use metrics::MetricsSink;
pub use rng::SeededRng;
pub use scratch::ScratchDir;
pub use traits::{BoxError, FnReward, Judge, RewardFn, check_pairing};

/// Re-export of burn so downstream crates use the exact same version.
pub use burn;
