//! [`With`]: change some fields of a value in one expression.
//!
//! Every config in the workspace is `#[non_exhaustive]`, so that a release can add a field
//! without breaking callers. Outside its crate such a struct cannot be written as a literal,
//! not even with `..Default::default()`. Start from the default and set what differs:
//!
//! ```
//! use rlp_core::With;
//!
//! #[derive(Default)]
//! #[non_exhaustive]
//! pub struct Settings {
//!     pub lr: f64,
//!     pub steps: usize,
//! }
//!
//! let s = Settings::default().with(|s| {
//!     s.lr = 1e-3;
//!     s.steps = 10;
//! });
//! assert_eq!((s.lr, s.steps), (1e-3, 10));
//! ```

/// Adds [`With::with`] to every sized type.
pub trait With: Sized {
    /// `self` after `change` has edited it in place.
    #[must_use]
    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

impl<T> With for T {}

#[cfg(test)]
mod tests {
    use super::With;

    #[test]
    fn with_edits_a_copy_and_returns_it() {
        let base = vec![1, 2];
        let longer = base.clone().with(|v| v.push(3));
        assert_eq!((base, longer), (vec![1, 2], vec![1, 2, 3]));
    }
}
