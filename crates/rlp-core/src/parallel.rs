//! The process group of data-parallel training: which rank this process is, how many there
//! are, and the few collectives a data-parallel step needs (sums of gradient buffers, a
//! barrier, an all-gather of hashes).
//!
//! A process starts as the only rank of a one-process group ([`world`] is [`Solo`]). A launcher
//! (the `rlp` binary under `mpirun`, built with its `mpi` feature) installs another
//! [`Collective`] once, before any training, with [`install`]. Several ranks can also live in
//! one process, a thread each ([`LocalGroup`], entered with [`run_as`]): one rank per device of
//! a machine. Library code asks [`world`]:
//! - the optimiser step (`rlp_train::AdamW`) averages gradients over the ranks;
//! - a trainer takes its [`shard`] of each global minibatch;
//! - only the [`is_writer`] rank (rank 0) writes run directories and models.
//!
//! Correctness never rests on the sharding: ranks that all compute on the same, unsharded data
//! average identical gradients and stay in step, only without the speed-up. Every random
//! stream therefore depends on the seed and the step, never on the rank.

use std::sync::OnceLock;

use crate::error::{CoreError, Result};

/// A group of processes that train one model together, each holding the same weights.
///
/// Every rank calls every collective in the same order with buffers of the same length; a
/// rank that stops calling them leaves the others waiting (an MPI launcher ends the whole job
/// when a rank exits).
pub trait Collective: Send + Sync {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Replaces `buf` on every rank by the elementwise sum of every rank's `buf`.
    fn sum_f32(&self, buf: &mut [f32]);
    /// Replaces `buf` on every rank by the elementwise sum of every rank's `buf`.
    fn sum_f64(&self, buf: &mut [f64]);
    /// Every rank's `value`, in rank order.
    fn gather_u64(&self, value: u64) -> Vec<u64>;
    /// Returns once every rank has called it.
    fn barrier(&self);
    /// Ends every rank of the group with exit status `code` (after a rank's unrecoverable
    /// error, so the others do not wait for it forever).
    fn abort(&self, code: i32) -> !;
    /// The engine, for messages and logs (for example `MPI (Open MPI v4.1.4)`).
    fn engine(&self) -> String;
}

/// The group of one process: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Solo;

impl Collective for Solo {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f32(&self, _: &mut [f32]) {}
    fn sum_f64(&self, _: &mut [f64]) {}
    fn gather_u64(&self, value: u64) -> Vec<u64> {
        vec![value]
    }
    fn barrier(&self) {}
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
    fn engine(&self) -> String {
        "one process".into()
    }
}

static WORLD: OnceLock<Box<dyn Collective>> = OnceLock::new();

thread_local! {
    /// This thread's group inside [`run_as`].
    static LOCAL: std::cell::Cell<Option<&'static dyn Collective>> =
        const { std::cell::Cell::new(None) };
}

/// Runs `f` as a rank of `group` on this thread: [`world`] answers `group` until `f` returns.
/// For ranks that are threads of one process ([`LocalGroup`]).
pub fn run_as<T>(group: &'static dyn Collective, f: impl FnOnce() -> T) -> T {
    let before = LOCAL.with(|l| l.replace(Some(group)));
    let out = f();
    LOCAL.with(|l| l.set(before));
    out
}

/// Makes `group` this process's [`world`]. Once per process, before the first [`world`] call
/// that matters (the first call of [`world`] fixes [`Solo`] otherwise); a second install is an
/// error.
pub fn install(group: Box<dyn Collective>) -> Result<()> {
    WORLD.set(group).map_err(|_| CoreError::InvalidValue {
        field: "parallel::install".into(),
        message: "the process group is already set (install once, before training)".into(),
    })
}

/// This thread's group: the one [`run_as`] entered, else the process's installed one, else
/// [`Solo`].
pub fn world() -> &'static dyn Collective {
    if let Some(local) = LOCAL.with(|l| l.get()) {
        return local;
    }
    WORLD.get_or_init(|| Box::new(Solo)).as_ref()
}

/// Ranks that are threads of one process, reducing through host memory: each rank leaves its
/// buffer in its slot, and every rank adds the slots up in rank order, so that all of them get
/// the same bits. Works on every backend (gradients are on the host for the sum anyway).
pub struct LocalGroup {
    rank: usize,
    shared: std::sync::Arc<LocalShared>,
}

struct LocalShared {
    size: usize,
    barrier: std::sync::Barrier,
    f32s: std::sync::Mutex<Vec<Vec<f32>>>,
    f64s: std::sync::Mutex<Vec<Vec<f64>>>,
    u64s: std::sync::Mutex<Vec<u64>>,
}

impl LocalGroup {
    /// The `size` ranks of a new group, rank 0 first: hand one to each thread.
    pub fn new(size: usize) -> Vec<LocalGroup> {
        let shared = std::sync::Arc::new(LocalShared {
            size,
            barrier: std::sync::Barrier::new(size),
            f32s: std::sync::Mutex::new(vec![Vec::new(); size]),
            f64s: std::sync::Mutex::new(vec![Vec::new(); size]),
            u64s: std::sync::Mutex::new(vec![0; size]),
        });
        (0..size)
            .map(|rank| LocalGroup {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }

    fn sum<T: Copy + std::ops::Add<Output = T>>(
        &self,
        slots: &std::sync::Mutex<Vec<Vec<T>>>,
        buf: &mut [T],
    ) {
        let lock = || slots.lock().unwrap_or_else(|e| e.into_inner());
        lock()[self.rank] = buf.to_vec();
        self.shared.barrier.wait();
        {
            let all = lock();
            for (i, x) in buf.iter_mut().enumerate() {
                *x = all[0][i];
                for other in &all[1..] {
                    *x = *x + other[i];
                }
            }
        }
        // Nobody refills a slot before everyone has read them all.
        self.shared.barrier.wait();
    }
}

impl Collective for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.size
    }
    fn sum_f32(&self, buf: &mut [f32]) {
        self.sum(&self.shared.f32s, buf)
    }
    fn sum_f64(&self, buf: &mut [f64]) {
        self.sum(&self.shared.f64s, buf)
    }
    fn gather_u64(&self, value: u64) -> Vec<u64> {
        let lock = || self.shared.u64s.lock().unwrap_or_else(|e| e.into_inner());
        lock()[self.rank] = value;
        self.shared.barrier.wait();
        let all = lock().clone();
        self.shared.barrier.wait();
        all
    }
    fn barrier(&self) {
        self.shared.barrier.wait();
    }
    fn abort(&self, code: i32) -> ! {
        // The other ranks are threads of this process: ending it ends them.
        std::process::exit(code)
    }
    fn engine(&self) -> String {
        format!("{} threads of one process", self.shared.size)
    }
}

/// Whether this process writes the run's files (rank 0).
pub fn is_writer() -> bool {
    world().rank() == 0
}

/// The number of ranks a launcher started this process among, read from the environment that
/// Open MPI (`OMPI_COMM_WORLD_SIZE`) or MPICH and Intel MPI (`PMI_SIZE`) set; `None` outside a
/// launcher. Lets a binary built without MPI refuse to run as N copies that would each train
/// alone and overwrite each other's files.
pub fn launcher_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.trim().parse().ok())
}

/// For a binary built without MPI support: an error when a launcher started it as one of
/// `launched` (> 1) copies ([`launcher_size`]), each of which would train alone and write the
/// same files; `rebuild` says how to get a binary with MPI.
pub fn refuse_without_mpi(launched: Option<usize>, rebuild: &str) -> Result<()> {
    match launched {
        Some(n) if n > 1 => Err(CoreError::InvalidValue {
            field: "mpi".into(),
            message: format!(
                "an MPI launcher started {n} copies of this program, but it was built without \
                 MPI support, so each copy would train alone and write the same files; {rebuild}"
            ),
        }),
        _ => Ok(()),
    }
}

/// Checks that a global batch of `n` items (`field` names its setting) splits evenly over the
/// ranks, so that every rank's shard has the same, non-zero size.
pub fn check_divisible(n: usize, field: &str) -> Result<()> {
    let ranks = world().size();
    if n == 0 || !n.is_multiple_of(ranks) {
        return Err(CoreError::InvalidValue {
            field: field.into(),
            message: format!(
                "{n} does not split evenly over {ranks} data-parallel ranks: make it a \
                 multiple of {ranks}"
            ),
        });
    }
    Ok(())
}

/// The range of a global batch of `n` items that rank `rank` of `ranks` takes: consecutive
/// blocks in rank order, the first `n % ranks` ranks one item longer.
pub fn shard_range(n: usize, rank: usize, ranks: usize) -> std::ops::Range<usize> {
    let (base, extra) = (n / ranks, n % ranks);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// This rank's share of a global batch (all of it in a one-process group).
pub fn shard<T>(global: &[T]) -> &[T] {
    let w = world();
    &global[shard_range(global.len(), w.rank(), w.size())]
}

/// Replaces each of `values`, this rank's means over `weight` units, by the weighted mean over
/// the ranks `Σ_r w_r·v_r / Σ_r w_r`: a statistic of the global minibatch from its shards'.
/// Every rank must call it with the same number of values.
pub fn weighted_mean(values: &mut [f64], weight: f64) {
    let group = world();
    if group.size() == 1 {
        return;
    }
    let mut buf: Vec<f64> = values.iter().map(|v| v * weight).collect();
    buf.push(weight);
    group.sum_f64(&mut buf);
    let total = buf[values.len()];
    for (v, s) in values.iter_mut().zip(&buf) {
        *v = s / total;
    }
}

/// `x` summed over the ranks (`x` itself in one process).
pub fn sum(x: f64) -> f64 {
    let mut v = [x];
    world().sum_f64(&mut v);
    v[0]
}

/// The name of this rank's random stream `name`: `name` itself in one process (so a
/// one-process run draws as it always has), `name@rank<r>` under data parallelism, for ranks
/// that sample different data (rollouts of their own prompts) and must not reuse one another's
/// random numbers. The step and the rank then fix the stream, so a checkpoint needs no RNG
/// state of its own.
pub fn stream_name(name: &str) -> String {
    let group = world();
    if group.size() == 1 {
        name.to_string()
    } else {
        format!("{name}@rank{}", group.rank())
    }
}

/// FNV-1a, 64 bits: a stable hash (unlike std's, the same in every process and build).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Checks that every rank holds the same `bytes` (for example its resolved config as JSON),
/// by comparing hashes; the error names `what` and the ranks that differ from rank 0.
pub fn check_agreement(what: &str, bytes: &[u8]) -> Result<()> {
    let hashes = world().gather_u64(fnv1a(bytes));
    let differ: Vec<usize> = (1..hashes.len())
        .filter(|&r| hashes[r] != hashes[0])
        .collect();
    if differ.is_empty() {
        return Ok(());
    }
    Err(CoreError::InvalidValue {
        field: what.into(),
        message: format!(
            "the data-parallel ranks disagree: rank(s) {differ:?} hold another {what} than \
             rank 0 (launch every rank with the same command, config and files)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shards of every rank tile `0..n` in order, and differ in size by at most one.
        #[test]
        fn shards_tile_the_batch(n in 0usize..200, ranks in 1usize..9) {
            let mut next = 0;
            let mut sizes = vec![];
            for r in 0..ranks {
                let s = shard_range(n, r, ranks);
                prop_assert_eq!(s.start, next);
                next = s.end;
                sizes.push(s.len());
            }
            prop_assert_eq!(next, n);
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(hi - lo <= 1);
        }
    }

    #[test]
    fn one_process_is_the_whole_group() {
        let w = world();
        assert_eq!((w.rank(), w.size()), (0, 1));
        assert!(is_writer());
        assert_eq!(shard(&[1, 2, 3]), &[1, 2, 3]);
        let mut b = [1.5f32, -2.0];
        w.sum_f32(&mut b);
        assert_eq!(b, [1.5, -2.0]);
        assert!(check_agreement("config", b"x").is_ok());
        assert!(check_divisible(3, "batch_size").is_ok());
        let e = check_divisible(0, "batch_size").unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
    }

    #[test]
    fn a_launch_of_several_copies_without_mpi_is_refused() {
        assert!(refuse_without_mpi(None, "").is_ok());
        assert!(refuse_without_mpi(Some(1), "").is_ok());
        let e = refuse_without_mpi(Some(2), "rebuild with --features mpi")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2 copies") && e.contains("--features mpi"),
            "{e}"
        );
    }

    /// Three thread ranks: sums arrive identical on every rank and equal the rank-order sum;
    /// the all-gather is in rank order; `world` answers the group inside `run_as` only.
    #[test]
    fn a_local_group_sums_in_rank_order_on_every_rank() {
        let group: Vec<&'static LocalGroup> = LocalGroup::new(3)
            .into_iter()
            .map(|g| &*Box::leak(Box::new(g)))
            .collect();
        let out: Vec<(Vec<f32>, Vec<u64>, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|&g| {
                    s.spawn(move || {
                        run_as(g, || {
                            let r = world().rank();
                            let mut b = [0.1f32 * (r + 1) as f32, 1e8, -(r as f32)];
                            world().sum_f32(&mut b);
                            let hashes = world().gather_u64(10 + r as u64);
                            (b.to_vec(), hashes, is_writer())
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let want = [(0.1f32 + 0.2) + 0.3, 3e8, -3.0];
        for (r, (b, hashes, writer)) in out.iter().enumerate() {
            assert_eq!(b, &want);
            assert_eq!(hashes, &[10, 11, 12]);
            assert_eq!(*writer, r == 0);
        }
        assert_eq!(world().size(), 1, "outside run_as the thread is alone");
    }

    /// FNV-1a's published test vectors (the empty string is the offset basis).
    #[test]
    fn fnv1a_matches_its_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
