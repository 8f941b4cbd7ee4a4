//! Reproducible LoRA dropout. burn's [`burn::nn::Dropout`] draws its masks from the backend's
//! random stream; [`dropout_step`] ties that stream to the training step, so that a run and the
//! same run resumed from a checkpoint draw the same masks. The training driver (`rlp_train::drive`)
//! opens one scope per step; the first dropout of the step seeds the device with a hash of the
//! step, and every later draw in the step follows in the forward pass's fixed order.

use std::cell::Cell;

use burn::tensor::Device;

thread_local! {
    /// The step of the open scope, and whether its first dropout has seeded the device.
    static STEP: Cell<Option<(u64, bool)>> = const { Cell::new(None) };
}

/// An open dropout scope; closing it (dropping the guard) ends the step.
#[must_use = "the scope ends when the guard is dropped"]
pub struct DropoutStep {
    previous: Option<(u64, bool)>,
}

impl Drop for DropoutStep {
    fn drop(&mut self) {
        STEP.with(|s| s.set(self.previous));
    }
}

/// Opens the dropout scope of training step `step` on this thread (scopes nest; the innermost
/// counts).
pub fn dropout_step(step: u64) -> DropoutStep {
    DropoutStep {
        previous: STEP.with(|s| s.replace(Some((step, false)))),
    }
}

/// SplitMix64's finaliser: neighbouring steps get unrelated seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seeds `device`'s random stream from the open scope's step, once per scope. Outside a scope
/// it does nothing (the stream goes on as it was).
pub(crate) fn seed_dropout(device: &Device) {
    STEP.with(|s| {
        if let Some((step, false)) = s.get() {
            device.seed(mix(step ^ 0x4C6F_5241));
            s.set(Some((step, true)));
        }
    });
}
