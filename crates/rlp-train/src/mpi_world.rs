//! Data parallelism across processes over MPI (the `mpi` feature): [`start`] joins the job an
//! MPI launcher (`mpirun -n N …`) started this process in and installs it as the
//! [`rlp_core::parallel`] group, so that every trainer averages its gradients over the ranks.
//!
//! Sums go through `MPI_Reduce` to rank 0 and `MPI_Bcast` back, not `MPI_Allreduce`: an
//! all-reduce may add the ranks' floats in a different order on different ranks, and a one-ulp
//! difference would let the ranks' weights drift apart. Reduce-then-broadcast hands every rank
//! the very same bits. Buffers go in buckets of at most [`BUCKET`] values, far below MPI's
//! 2³¹-element count limit.
//!
//! A rank that exits, by an error, a panic or a signal, ends the job: Open MPI's `mpirun`
//! stops every rank when one exits without finalising MPI, and a rank's error calls
//! [`Collective::abort`]. No rank waits forever for one that is gone.

use std::thread::ThreadId;

use ::mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use ::mpi::environment::Universe;
use ::mpi::topology::{Communicator, SimpleCommunicator};
use rlp_core::parallel::{self, Collective};

use crate::error::{Result, TrainError};

/// Values per reduction call: 16 M floats (64 MiB of `f32`).
pub const BUCKET: usize = 1 << 24;

/// Holds MPI open; dropping it finalises MPI (do so at the very end of `main`).
pub struct MpiSession {
    _universe: Universe,
}

/// The world communicator of an MPI job as a [`Collective`].
struct MpiGroup {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// MPI is initialised with `MPI_THREAD_FUNNELED`: only this thread may call it.
    thread: ThreadId,
}

// SAFETY: the communicator is only used from the thread that initialised MPI; every method
// checks that (`MpiGroup::check_thread`) before calling into MPI.
unsafe impl Send for MpiGroup {}
// SAFETY: as above; no method mutates the group.
unsafe impl Sync for MpiGroup {}

impl MpiGroup {
    fn check_thread(&self) {
        assert_eq!(
            std::thread::current().id(),
            self.thread,
            "MPI collectives must run on the thread that initialised MPI (the main thread)"
        );
    }

    fn sum<T>(&self, buf: &mut [T])
    where
        T: Copy + Default + ::mpi::datatype::Equivalence,
    {
        self.check_thread();
        let root = self.world.process_at_rank(0);
        for chunk in buf.chunks_mut(BUCKET) {
            if self.rank == 0 {
                let mut total = vec![T::default(); chunk.len()];
                root.reduce_into_root(&*chunk, &mut total[..], SystemOperation::sum());
                chunk.copy_from_slice(&total);
            } else {
                root.reduce_into(&*chunk, SystemOperation::sum());
            }
            root.broadcast_into(chunk);
        }
    }
}

impl Collective for MpiGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum_f32(&self, buf: &mut [f32]) {
        self.sum(buf)
    }

    fn sum_f64(&self, buf: &mut [f64]) {
        self.sum(buf)
    }

    fn gather_u64(&self, value: u64) -> Vec<u64> {
        self.check_thread();
        let mut all = vec![0u64; self.size];
        self.world.all_gather_into(&value, &mut all[..]);
        all
    }

    fn barrier(&self) {
        self.check_thread();
        self.world.barrier();
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn engine(&self) -> String {
        let version = ::mpi::environment::library_version().unwrap_or_default();
        let first = version
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(',');
        format!("MPI ({first})")
    }
}

/// Joins the MPI job this process was launched in, when a launcher started it (see
/// [`parallel::launcher_size`]), and installs its world as [`parallel::world`]. Returns the
/// session to keep until the end of `main`, or `None` when no launcher started this process
/// (it then trains alone, without initialising MPI).
pub fn start() -> Result<Option<MpiSession>> {
    if parallel::launcher_size().is_none() {
        return Ok(None);
    }
    let Some((universe, _)) = ::mpi::initialize_with_threading(::mpi::Threading::Funneled) else {
        return Err(TrainError::invalid(
            "mpi",
            "MPI was already initialised in this process",
        ));
    };
    let world = universe.world();
    let group = MpiGroup {
        rank: world.rank() as usize,
        size: world.size() as usize,
        world,
        thread: std::thread::current().id(),
    };
    parallel::install(Box::new(group)).map_err(|e| TrainError::invalid("mpi", e.to_string()))?;
    Ok(Some(MpiSession {
        _universe: universe,
    }))
}
