//! One seeded random source for everything random: weight init, data order, sampling, label
//! noise. A run's seed fixes all of them.
//!
//! Each consumer takes its own *stream* with [`SeededRng::fork`], so adding a random draw in one
//! place (say, sampling) does not shift the numbers another place (say, data order) sees.

use rand::{Rng, RngCore, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;

/// A deterministic ChaCha8 generator.
#[derive(Debug, Clone)]
pub struct SeededRng {
    seed: u64,
    inner: ChaCha8Rng,
}

impl SeededRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The seed this generator started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// An independent generator for the named purpose, derived from this one's seed only (not
    /// from its position), so forks are stable however much the parent has been used.
    pub fn fork(&self, purpose: &str) -> SeededRng {
        // FNV-1a of the purpose, mixed with the seed by SplitMix64's finaliser.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in purpose.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut z = self.seed ^ h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        SeededRng::new(z)
    }

    /// A uniform float in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `n` values from `N(0, std²)` as f32, for weight initialisation.
    pub fn normal_vec(&mut self, n: usize, std: f64) -> Vec<f32> {
        (0..n).map(|_| (self.normal() * std) as f32).collect()
    }

    /// A uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Shuffles a slice in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        items.shuffle(&mut self.inner);
    }

    /// A raw 64-bit draw (e.g. to seed a backend).
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
        let xa: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(
            xa,
            (0..5)
                .map(|_| SeededRng::new(8).next_u64())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn forks_are_independent_of_parent_position() {
        let mut parent = SeededRng::new(1);
        let before = parent.fork("init").next_u64();
        parent.next_u64();
        assert_eq!(parent.fork("init").next_u64(), before);
        assert_ne!(parent.fork("data").next_u64(), before);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = SeededRng::new(3);
        let xs: Vec<f64> = (0..20_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
