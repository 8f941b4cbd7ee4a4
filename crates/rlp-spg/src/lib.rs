//! # rlp-spg
//!
//! Synthetic preference generation of RLP-SPG (`../shared/ALGORITHMS.md`, RLP section).
#![warn(missing_docs)]
