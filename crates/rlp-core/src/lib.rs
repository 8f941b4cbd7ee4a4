#![doc = include_str!("../README.md")]
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
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod traits;
pub mod with;

pub use data::{Completion, LabelledText, PreferencePair, PromptResponse};
pub use device::BackendSpec;
pub use error::{CoreError, Result};
pub use memo::MemoReward;
pub use metrics::MetricsSink;
pub use rng::SeededRng;
pub use scratch::ScratchDir;
pub use traits::{BoxError, FnReward, Judge, RewardFn, check_pairing};
pub use with::With;

/// Re-export of burn so downstream crates use the exact same version.
pub use burn;
