//! f-DPG's resumable state: beside the policy's weights and AdamW's moments, the proposal (when
//! an offline proposal has moved off the initial model), the partition estimates `Ẑ` (overall
//! and per prompt) and the baseline's window. Every random stream is forked from the seed by the
//! optimiser step, so the step count is the whole RNG state.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use rlp_train::optim::{load_module, save_module};
use rlp_train::{load_weights_and_moments, read_state, save_weights_and_moments, write_state};

use super::baseline::MovingBaseline;
use super::partition::PartitionEstimate;
use super::trainer::FdpgTrainer;
use crate::error::Result;

/// The scalar state of an [`FdpgTrainer`] (`state.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FdpgState {
    pub(crate) optimizer_steps: u64,
    pub(crate) proposal_is_initial: bool,
    pub(crate) z: PartitionEstimate,
    pub(crate) z_by_prompt: BTreeMap<String, PartitionEstimate>,
    pub(crate) baseline: MovingBaseline,
}

const PROPOSAL_FILE: &str = "proposal.bpk";

impl FdpgTrainer {
    /// Writes everything the next step depends on into the directory `dir` (which exists).
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        save_weights_and_moments(dir, &self.policy, &self.optim)?;
        if let (Some(q), false) = (&self.proposal, self.proposal_is_initial) {
            save_module(q, &dir.join(PROPOSAL_FILE))?;
        }
        let state = FdpgState {
            optimizer_steps: self.optim.step,
            proposal_is_initial: self.proposal_is_initial,
            z: self.z.clone(),
            z_by_prompt: self
                .z_by_prompt
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            baseline: self.baseline.clone(),
        };
        Ok(write_state(dir, &state)?)
    }

    /// Restores a state written by [`FdpgTrainer::save_state`] into this trainer, built from
    /// the same policy, target and config.
    pub fn load_state(&mut self, dir: &Path) -> Result<()> {
        let state: FdpgState = read_state(dir)?;
        self.policy = load_weights_and_moments(
            dir,
            self.policy.clone(),
            &mut self.optim,
            state.optimizer_steps,
        )?;
        if !state.proposal_is_initial {
            let q = self
                .proposal
                .clone()
                .unwrap_or_else(|| self.initial.clone());
            self.proposal = Some(load_module(q, &dir.join(PROPOSAL_FILE))?);
        }
        self.proposal_is_initial = state.proposal_is_initial;
        self.z = state.z;
        self.z_by_prompt = state.z_by_prompt.into_iter().collect();
        self.baseline = state.baseline;
        Ok(())
    }
}

/// Serde for an `f64` as its bit pattern: exact, and defined for ±∞ and NaN (JSON numbers are
/// not).
pub(crate) mod exact_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(x.to_bits())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(u64::deserialize(d)?))
    }
}

/// [`exact_f64`] for a queue of values.
pub(crate) mod exact_f64_deque {
    use super::VecDeque;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(xs: &VecDeque<f64>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(xs.iter().map(|x| x.to_bits()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VecDeque<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(f64::from_bits)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimates round-trip exactly, the empty one's `−∞` and `+∞` included.
    #[test]
    fn estimates_round_trip_exactly() {
        let mut z = PartitionEstimate::new(None);
        let empty = serde_json::to_string(&z).unwrap();
        assert_eq!(
            serde_json::from_str::<PartitionEstimate>(&empty).unwrap(),
            z
        );
        z.update(&[0.1, -3.0, f64::NEG_INFINITY]);
        let text = serde_json::to_string(&z).unwrap();
        assert_eq!(serde_json::from_str::<PartitionEstimate>(&text).unwrap(), z);
        let mut b = MovingBaseline::new(3);
        b.next(&[1.0 / 3.0, 2.0]);
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<MovingBaseline>(&text).unwrap(), b);
    }
}
