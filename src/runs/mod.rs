//! The runs the `rlp` binary drives, callable from code and tests.

pub mod generate;
pub mod reward;
pub mod sft;
