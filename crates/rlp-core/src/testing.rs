//! The workspace's test kit (feature `test-utils`, which crates enable in their
//! dev-dependencies): [`test_devices!`](crate::test_devices) runs one test body on every backend
//! compiled into the crate under test, within one build; [`device::test_backend`] picks the
//! backend of the tests that run on one (`RLP_TEST_BACKEND`).
//!
//! Tolerances go through burn's own comparison, `TensorData::assert_approx_eq` with a
//! [`Tolerance`](burn::tensor::Tolerance), which names the first elements that differ.
//!
//! [`device::test_backend`]: crate::device::test_backend

/// Defines a module `name` holding one `#[test]` per backend compiled into the calling crate —
/// `flex`, `ndarray` and `wgpu`, as that crate's own features say — each running `body` with
/// `device` bound to the backend's plain device (`device.autodiff()` gives the training one).
/// Modelled on candle's `test_device!`.
///
/// ```ignore
/// rlp_core::test_devices! {
///     /// The loss of two equal scores is ln 2.
///     fn equal_scores_cost_ln_2(device) {
///         let l = bt_loss(floats(vec![1.0], [1], device), floats(vec![1.0], [1], device), None, &cfg);
///         l.into_data().assert_approx_eq::<f32>(&TensorData::from([LN_2]), Tolerance::absolute(1e-6));
///     }
/// }
/// ```
#[macro_export]
macro_rules! test_devices {
    ($(#[$attr:meta])* fn $name:ident($device:ident) $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            fn body($device: &$crate::burn::tensor::Device) $body

            #[cfg(feature = "flex")]
            #[test]
            fn flex() {
                body(&$crate::BackendSpec::Flex.device().expect("flex is compiled in"));
            }

            #[cfg(feature = "ndarray")]
            #[test]
            fn ndarray() {
                body(&$crate::BackendSpec::NdArray.device().expect("ndarray is compiled in"));
            }

            #[cfg(feature = "wgpu")]
            #[test]
            fn wgpu() {
                body(&$crate::BackendSpec::Wgpu.device().expect("wgpu is compiled in"));
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::tensor_io::{floats, to_f32};
    use burn::tensor::{TensorData, Tolerance};

    crate::test_devices! {
        /// The macro's device is a working one of its backend.
        fn a_device_of_every_compiled_backend(device) {
            let t = floats(vec![1.0, 2.0, 3.0], [3], device);
            assert_eq!(to_f32(t.clone() * 2.0), [2.0, 4.0, 6.0]);
            (t.exp().sum())
                .into_data()
                .assert_approx_eq::<f32>(&TensorData::from([30.192_875f32]), Tolerance::absolute(1e-4));
        }
    }
}
