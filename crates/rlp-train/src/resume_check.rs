//! [`interrupted_and_whole`]: the [`Trainer`] contract exercised, for a method's tests. It
//! builds the same trainer three times and returns two of them: one driven to the end with a
//! checkpoint every `every` steps, and one that resumed, through [`drive`], from the checkpoint
//! a run stopped after `stop_after` steps left behind. A method keeps the contract when the two
//! agree bit for bit (weights, and whatever else its tests compare).

use std::path::Path;

use crate::drive::{DriveOptions, checkpoint, drive};
use crate::error::TrainError;
use crate::run_dir::RunDir;
use crate::trainer::Trainer;

/// `(resumed, whole)`: `make()` resumed from the last checkpoint before `stop_after` steps, and
/// `make()` driven to the end, both with a checkpoint every `every` steps, in run directories
/// under `dir` (which must not hold runs yet). Errors: the trainers' own, or no checkpoint
/// before `stop_after` (`every > stop_after`).
pub fn interrupted_and_whole<T: Trainer>(
    make: impl Fn() -> T,
    dir: impl AsRef<Path>,
    every: usize,
    stop_after: usize,
) -> Result<(T, T), T::Error> {
    let last = if every == 0 {
        0
    } else {
        stop_after / every * every
    };
    if last == 0 {
        return Err(TrainError::invalid(
            "every",
            format!("no checkpoint before step {stop_after} with one every {every} steps"),
        )
        .into());
    }
    let dir = dir.as_ref();
    let options = |resume| DriveOptions {
        checkpoint_every: every,
        resume,
    };
    let mut whole = make();
    drive(
        &mut whole,
        &RunDir::new(dir.join("whole")),
        options(false),
        &mut [],
    )?;
    let cut = RunDir::new(dir.join("interrupted"));
    cut.create().map_err(T::Error::from)?;
    let mut first = make();
    while first.steps_done() < stop_after {
        first.step()?;
        if first.steps_done() == last {
            checkpoint(&first, &cut, last, &mut [])?;
        }
    }
    let mut resumed = make();
    let outcome = drive(&mut resumed, &cut, options(true), &mut [])?;
    if outcome.resumed_from != Some(last) {
        return Err(TrainError::invalid(
            "resume",
            format!(
                "resumed from {:?}, not from checkpoint {last}",
                outcome.resumed_from
            ),
        )
        .into());
    }
    Ok((resumed, whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trainer whose state is a running value `x` and its step count; the forgetful one does
    /// not save `x`, so it breaks the contract.
    struct Walk {
        x: u64,
        steps: usize,
        saves_x: bool,
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct WalkState {
        x: Option<u64>,
        steps: usize,
    }

    impl Trainer for Walk {
        type Stats = serde_json::Value;
        type Error = TrainError;

        fn total_steps(&self) -> usize {
            5
        }

        fn steps_done(&self) -> usize {
            self.steps
        }

        fn step(&mut self) -> Result<Self::Stats, TrainError> {
            self.steps += 1;
            self.x = self.x.wrapping_mul(31).wrapping_add(self.steps as u64);
            Ok(serde_json::json!({ "x": self.x }))
        }

        fn save_state(&self, dir: &Path) -> Result<(), TrainError> {
            let x = self.saves_x.then_some(self.x);
            crate::write_state(
                dir,
                &WalkState {
                    x,
                    steps: self.steps,
                },
            )
        }

        fn load_state(&mut self, dir: &Path) -> Result<(), TrainError> {
            let s: WalkState = crate::read_state(dir)?;
            self.x = s.x.unwrap_or(0);
            self.steps = s.steps;
            Ok(())
        }
    }

    /// The check tells a trainer that keeps the contract from one that forgets part of its
    /// state, and refuses a plan with no checkpoint before the interruption.
    #[test]
    fn tells_a_whole_state_from_a_forgetful_one() {
        let d = rlp_core::ScratchDir::new("resume-check").unwrap();
        let walk = |saves_x| {
            move || Walk {
                x: 1,
                steps: 0,
                saves_x,
            }
        };
        let (resumed, whole) = interrupted_and_whole(walk(true), d.join("ok"), 2, 3).unwrap();
        assert_eq!((resumed.steps, resumed.x), (whole.steps, whole.x));
        let (resumed, whole) = interrupted_and_whole(walk(false), d.join("bad"), 2, 3).unwrap();
        assert_eq!(resumed.steps, whole.steps);
        assert_ne!(resumed.x, whole.x);
        let e = interrupted_and_whole(walk(true), d.join("none"), 4, 3)
            .err()
            .unwrap();
        assert!(e.to_string().contains("every"), "{e}");
    }
}
