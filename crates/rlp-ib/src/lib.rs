//! # rlp-ib
//!
//! The multi-view information bottleneck of RLP-UML (`../shared/ALGORITHMS.md`, RLP section).
#![warn(missing_docs)]
