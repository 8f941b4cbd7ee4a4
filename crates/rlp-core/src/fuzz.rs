//! How many cases the mutation-fuzzing property tests run: a seconds-scale default in CI, and as
//! many as `RLP_FUZZ_CASES` says for the long local runs (`docs/reliability.md`).

/// The environment variable that sets the number of cases of every fuzz target.
pub const CASES_VAR: &str = "RLP_FUZZ_CASES";

/// `RLP_FUZZ_CASES` when it is set to a number, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var(CASES_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}
