//! [`EpochPlan`]: which examples every step of a minibatch trainer sees, fixed by the seed.
//!
//! The examples are visited in epochs; before each epoch the running order (the identity at the
//! start) is shuffled in place by one seeded RNG stream. [`PlanLength::Epochs`] cuts each epoch
//! into consecutive minibatches (the last of an epoch may be short); [`PlanLength::Steps`] reads
//! the concatenated epochs as one stream of full minibatches, which may straddle an epoch
//! boundary. Either way the indices of step `s` are a function of the plan and `s` alone, so a
//! resumed run ([`PlanCursor::seek`]) sees exactly the minibatches an uninterrupted one does.

use rlp_core::SeededRng;

use crate::error::{Result, TrainError};

/// How long a plan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanLength {
    /// Whole passes over the examples, each cut into `⌈examples / batch_size⌉` minibatches.
    Epochs(usize),
    /// This many full minibatches, read across epoch boundaries.
    Steps(usize),
}

/// How to walk `examples` indices in minibatches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpochPlan {
    /// Examples (indices `0..examples`).
    pub examples: usize,
    /// Indices per step.
    pub batch_size: usize,
    /// How long it runs.
    pub length: PlanLength,
    /// Seed of the order.
    pub seed: u64,
    /// The name of the order's RNG stream (forked from `seed`).
    pub stream: String,
}

impl EpochPlan {
    /// A plan of `epochs` passes over `examples` in minibatches of `batch_size`.
    pub fn epochs(
        examples: usize,
        batch_size: usize,
        epochs: usize,
        seed: u64,
        stream: &str,
    ) -> Self {
        Self {
            examples,
            batch_size,
            length: PlanLength::Epochs(epochs),
            seed,
            stream: stream.into(),
        }
    }

    /// A plan of `steps` full minibatches of `batch_size` drawn from `examples`.
    pub fn steps(
        examples: usize,
        batch_size: usize,
        steps: usize,
        seed: u64,
        stream: &str,
    ) -> Self {
        Self {
            examples,
            batch_size,
            length: PlanLength::Steps(steps),
            seed,
            stream: stream.into(),
        }
    }

    /// Checks that every minibatch splits over the data-parallel ranks of
    /// [`rlp_core::parallel::world`] with at least one example each: the batch size divisible
    /// by the number of ranks, and an epoch's short last minibatch (if any) no smaller than it.
    pub fn check_shardable(&self) -> Result<()> {
        let ranks = rlp_core::parallel::world().size();
        if ranks == 1 {
            return Ok(());
        }
        if !self.batch_size.is_multiple_of(ranks) {
            return Err(TrainError::invalid(
                "batch_size",
                format!(
                    "the global minibatch of {} does not split evenly over {ranks} \
                     data-parallel ranks: make it a multiple of {ranks}",
                    self.batch_size
                ),
            ));
        }
        let tail = self.examples % self.batch_size;
        if matches!(self.length, PlanLength::Epochs(_)) && tail != 0 && tail < ranks {
            return Err(TrainError::invalid(
                "batch_size",
                format!(
                    "each epoch ends with a minibatch of {tail} of the {} examples, fewer \
                     than the {ranks} data-parallel ranks: choose a batch size that leaves 0 \
                     or at least {ranks}",
                    self.examples
                ),
            ));
        }
        Ok(())
    }

    /// Checks the plan can run: examples and a positive length, and (for a step plan, whose
    /// minibatches are full) no more indices per step than examples.
    pub fn validate(&self) -> Result<()> {
        if self.examples == 0 {
            return Err(TrainError::invalid(
                "examples",
                "there is nothing to train on",
            ));
        }
        if self.batch_size == 0 {
            return Err(TrainError::invalid("batch_size", "must be at least 1"));
        }
        match self.length {
            PlanLength::Epochs(0) => Err(TrainError::invalid("epochs", "must be at least 1")),
            PlanLength::Steps(0) => Err(TrainError::invalid("steps", "must be at least 1")),
            PlanLength::Steps(_) if self.batch_size > self.examples => Err(TrainError::invalid(
                "batch_size",
                format!(
                    "{} exceeds the {} usable examples",
                    self.batch_size, self.examples
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Minibatches per epoch under [`PlanLength::Epochs`].
    pub fn steps_per_epoch(&self) -> usize {
        self.examples.div_ceil(self.batch_size.max(1))
    }

    /// Steps in the whole plan.
    pub fn total_steps(&self) -> usize {
        match self.length {
            PlanLength::Epochs(e) => self.steps_per_epoch() * e,
            PlanLength::Steps(s) => s,
        }
    }

    /// The 0-based epoch step `step` (0-based) falls in (for a step plan: the epoch of its
    /// first index).
    pub fn epoch_of(&self, step: usize) -> usize {
        match self.length {
            PlanLength::Epochs(_) => step / self.steps_per_epoch().max(1),
            PlanLength::Steps(_) => step * self.batch_size / self.examples.max(1),
        }
    }

    /// A cursor at the plan's start.
    pub fn cursor(&self) -> PlanCursor {
        PlanCursor {
            plan: self.clone(),
            rng: SeededRng::new(self.seed).fork(&self.stream),
            order: (0..self.examples).collect(),
            shuffled: 0,
        }
    }
}

/// A position in an [`EpochPlan`]: the running order with as many epochs shuffled as the
/// steps asked for so far need.
#[derive(Debug, Clone)]
pub struct PlanCursor {
    plan: EpochPlan,
    rng: SeededRng,
    order: Vec<usize>,
    /// Epochs whose shuffle has been applied to `order` (the current epoch is `shuffled - 1`).
    shuffled: usize,
}

impl PlanCursor {
    /// The plan walked.
    pub fn plan(&self) -> &EpochPlan {
        &self.plan
    }

    /// Makes `epoch` (0-based) the current one, replaying shuffles from the start when it lies
    /// behind the cursor.
    fn enter(&mut self, epoch: usize) {
        if epoch + 1 < self.shuffled {
            *self = self.plan.cursor();
        }
        while self.shuffled <= epoch {
            self.rng.shuffle(&mut self.order);
            self.shuffled += 1;
        }
    }

    /// Prepares the cursor to serve `step` (0-based) next, as a resumed run does; the same as
    /// having served every step before it.
    pub fn seek(&mut self, step: usize) {
        self.enter(self.plan.epoch_of(step));
    }

    /// The example indices of `step` (0-based). Steps may be asked in any order, but asking
    /// them in order is cheapest (a step behind the current epoch replays the shuffles).
    pub fn indices(&mut self, step: usize) -> Vec<usize> {
        let (n, b) = (self.plan.examples, self.plan.batch_size);
        match self.plan.length {
            PlanLength::Epochs(_) => {
                let per = self.plan.steps_per_epoch();
                self.enter(step / per);
                let at = (step % per) * b;
                self.order[at..(at + b).min(n)].to_vec()
            }
            PlanLength::Steps(_) => {
                let mut out = Vec::with_capacity(b);
                for p in step * b..(step + 1) * b {
                    self.enter(p / n);
                    out.push(self.order[p % n]);
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The loop the reward trainers ran before the plan existed: shuffle the running order in
    /// place each epoch and cut it into chunks.
    fn epochs_by_hand(n: usize, b: usize, e: usize, seed: u64, stream: &str) -> Vec<Vec<usize>> {
        let mut rng = SeededRng::new(seed).fork(stream);
        let mut order: Vec<usize> = (0..n).collect();
        let mut out = Vec::new();
        for _ in 0..e {
            rng.shuffle(&mut order);
            out.extend(order.chunks(b).map(<[usize]>::to_vec));
        }
        out
    }

    /// The loop SFT ran: a cursor over the running order, reshuffled when it runs out.
    fn stream_by_hand(
        n: usize,
        b: usize,
        steps: usize,
        seed: u64,
        stream: &str,
    ) -> Vec<Vec<usize>> {
        let mut rng = SeededRng::new(seed).fork(stream);
        let mut order: Vec<usize> = (0..n).collect();
        let mut cursor = n;
        (0..steps)
            .map(|_| {
                (0..b)
                    .map(|_| {
                        if cursor == n {
                            rng.shuffle(&mut order);
                            cursor = 0;
                        }
                        cursor += 1;
                        order[cursor - 1]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn lengths_and_validation() {
        let p = EpochPlan::epochs(10, 4, 3, 0, "x");
        assert_eq!((p.steps_per_epoch(), p.total_steps()), (3, 9));
        assert_eq!(p.epoch_of(5), 1);
        assert_eq!(EpochPlan::steps(10, 4, 7, 0, "x").total_steps(), 7);
        assert_eq!(EpochPlan::steps(10, 4, 7, 0, "x").epoch_of(5), 2);
        let field = |p: EpochPlan| match p.validate() {
            Err(TrainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(EpochPlan::epochs(0, 4, 1, 0, "x")), "examples");
        assert_eq!(field(EpochPlan::epochs(3, 0, 1, 0, "x")), "batch_size");
        assert_eq!(field(EpochPlan::epochs(3, 4, 0, 0, "x")), "epochs");
        assert_eq!(field(EpochPlan::steps(3, 4, 2, 0, "x")), "batch_size");
        EpochPlan::epochs(3, 4, 1, 0, "x").validate().unwrap();
    }

    proptest! {
        /// Both lengths serve exactly the minibatches of the hand-written loops they replace,
        /// and a cursor that seeks to any step (a resumed run) serves the same rest.
        #[test]
        fn plans_match_the_loops_they_replace(
            n in 1usize..40, b in 1usize..12, e in 1usize..4, seed in 0u64..1000, from in 0usize..60,
        ) {
            let plan = EpochPlan::epochs(n, b, e, seed, "s");
            let want = epochs_by_hand(n, b, e, seed, "s");
            let mut c = plan.cursor();
            let got: Vec<_> = (0..plan.total_steps()).map(|s| c.indices(s)).collect();
            prop_assert_eq!(&got, &want);
            let from = from % plan.total_steps();
            let mut resumed = plan.cursor();
            resumed.seek(from);
            for (s, w) in want.iter().enumerate().skip(from) {
                prop_assert_eq!(&resumed.indices(s), w);
            }

            let b = b.min(n);
            let steps = 1 + from % 25;
            let plan = EpochPlan::steps(n, b, steps, seed, "t");
            let want = stream_by_hand(n, b, steps, seed, "t");
            let mut c = plan.cursor();
            let got: Vec<_> = (0..steps).map(|s| c.indices(s)).collect();
            prop_assert_eq!(&got, &want);
            let mut resumed = plan.cursor();
            resumed.seek(from % steps);
            for (s, w) in want.iter().enumerate().skip(from % steps) {
                prop_assert_eq!(&resumed.indices(s), w);
            }
            // Asking a step behind the cursor replays the shuffles.
            prop_assert_eq!(&c.indices(0), &want[0]);
        }
    }
}
