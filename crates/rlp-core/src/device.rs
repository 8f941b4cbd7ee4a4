//! Device selection: parse `flex | ndarray | wgpu | cuda[:N]` and build the burn [`Device`],
//! with or without autodiff.
//!
//! burn 0.22 dispatches on the device at run time, so everything downstream takes a plain
//! `&Device`. A backend whose Cargo feature was not compiled in is a clear error naming the
//! feature, never a panic.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::{CoreError, Result};

/// A backend named on the command line or in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum BackendSpec {
    /// burn's pure-Rust, SIMD, multi-threaded CPU backend (the default).
    Flex,
    /// burn's ndarray CPU backend (deprecated by burn, kept selectable).
    NdArray,
    /// The wgpu backend on the default adapter (Vulkan, Metal, DX12, or Mesa's llvmpipe).
    Wgpu,
    /// CUDA device with the given index.
    Cuda(usize),
}

impl Default for BackendSpec {
    fn default() -> Self {
        Self::Flex
    }
}

impl BackendSpec {
    /// The Cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::NdArray => "ndarray",
            Self::Wgpu => "wgpu",
            Self::Cuda(_) => "cuda",
        }
    }

    /// Whether this binary was built with the backend's feature.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Flex => cfg!(feature = "flex"),
            Self::NdArray => cfg!(feature = "ndarray"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Cuda(_) => cfg!(feature = "cuda"),
        }
    }

    /// The backends compiled into this binary, in the order `flex, ndarray, wgpu, cuda`.
    pub fn compiled() -> Vec<BackendSpec> {
        [Self::Flex, Self::NdArray, Self::Wgpu, Self::Cuda(0)]
            .into_iter()
            .filter(|b| b.is_compiled())
            .collect()
    }

    /// The first backend compiled in, in the order of [`Self::compiled`]; flex when none is
    /// (its [`Self::device`] then names the feature to enable). A library's examples run on it.
    pub fn preferred() -> BackendSpec {
        Self::compiled().first().copied().unwrap_or_default()
    }

    /// Builds the inference device (no autodiff); on a thread inside [`placed_on`], that
    /// thread's backend instead.
    pub fn device(self) -> Result<Device> {
        let spec = PLACED.with(|p| p.get()).unwrap_or(self);
        spec.unplaced_device()
    }

    fn unplaced_device(self) -> Result<Device> {
        if !self.is_compiled() {
            return Err(CoreError::BackendNotCompiled {
                backend: self.to_string(),
                feature: self.feature(),
            });
        }
        Ok(self.build())
    }

    /// Builds the training device: the same backend with autodiff enabled.
    pub fn autodiff_device(self) -> Result<Device> {
        Ok(self.device()?.autodiff())
    }

    #[allow(unreachable_code, unused_variables, deprecated)]
    fn build(self) -> Device {
        match self {
            Self::Flex => {
                #[cfg(feature = "flex")]
                return Device::flex();
            }
            Self::NdArray => {
                #[cfg(feature = "ndarray")]
                return Device::ndarray();
            }
            Self::Wgpu => {
                #[cfg(feature = "wgpu")]
                return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
            }
            Self::Cuda(index) => {
                #[cfg(feature = "cuda")]
                return Device::cuda(index);
            }
        }
        unreachable!("is_compiled() was checked by the caller")
    }
}

thread_local! {
    /// The backend this thread's devices are built on, inside [`placed_on`].
    static PLACED: std::cell::Cell<Option<BackendSpec>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with every [`BackendSpec::device`] and [`BackendSpec::autodiff_device`] on this
/// thread building `spec`'s device, whatever backend a config names: the device of one rank of
/// an in-process data-parallel group (`rlp --devices`), one thread per device.
pub fn placed_on<T>(spec: BackendSpec, f: impl FnOnce() -> T) -> T {
    let before = PLACED.with(|p| p.replace(Some(spec)));
    let out = f();
    PLACED.with(|p| p.set(before));
    out
}

impl FromStr for BackendSpec {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "flex" => Ok(Self::Flex),
            "ndarray" => Ok(Self::NdArray),
            "wgpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(idx) => idx
                    .parse::<usize>()
                    .map(Self::Cuda)
                    .map_err(|_| CoreError::UnknownBackend(s.to_string())),
                None => Err(CoreError::UnknownBackend(s.to_string())),
            },
        }
    }
}

impl TryFrom<String> for BackendSpec {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<BackendSpec> for String {
    fn from(b: BackendSpec) -> String {
        b.to_string()
    }
}

impl fmt::Display for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flex => write!(f, "flex"),
            Self::NdArray => write!(f, "ndarray"),
            Self::Wgpu => write!(f, "wgpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// The backend the test suite runs on: `RLP_TEST_BACKEND` if set (e.g. `wgpu` in CI's
/// software-Vulkan pass), else `flex`.
///
/// Panics with a clear message when the variable names an unknown or uncompiled backend: this is
/// for tests and benches only, never for user input (feature `test-utils`).
#[cfg(any(test, feature = "test-utils"))]
pub fn test_backend() -> BackendSpec {
    match std::env::var("RLP_TEST_BACKEND") {
        Ok(s) if !s.is_empty() => {
            let spec: BackendSpec = s
                .parse()
                .unwrap_or_else(|e| panic!("RLP_TEST_BACKEND: {e}"));
            assert!(
                spec.is_compiled(),
                "RLP_TEST_BACKEND={spec} but the `{}` feature is off",
                spec.feature()
            );
            spec
        }
        _ => BackendSpec::preferred(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("flex".parse::<BackendSpec>().unwrap(), BackendSpec::Flex);
        assert_eq!(
            " NdArray ".parse::<BackendSpec>().unwrap(),
            BackendSpec::NdArray
        );
        assert_eq!("wgpu".parse::<BackendSpec>().unwrap(), BackendSpec::Wgpu);
        assert_eq!("cuda".parse::<BackendSpec>().unwrap(), BackendSpec::Cuda(0));
        assert_eq!(
            "cuda:3".parse::<BackendSpec>().unwrap(),
            BackendSpec::Cuda(3)
        );
        for b in [BackendSpec::Flex, BackendSpec::Cuda(2)] {
            assert_eq!(b.to_string().parse::<BackendSpec>().unwrap(), b);
        }
    }

    #[test]
    fn unknown_backend_is_an_error() {
        let err = "tpu".parse::<BackendSpec>().unwrap_err();
        assert!(err.to_string().contains("unknown backend `tpu`"), "{err}");
        assert!("cuda:x".parse::<BackendSpec>().is_err());
    }

    #[test]
    fn uncompiled_backend_names_its_feature() {
        for b in [
            BackendSpec::NdArray,
            BackendSpec::Wgpu,
            BackendSpec::Cuda(0),
        ] {
            if !b.is_compiled() {
                let err = b.device().unwrap_err().to_string();
                assert!(
                    err.contains(&format!("--features {}", b.feature())),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn default_backend_builds_both_devices() {
        let spec = test_backend();
        let dev = spec.device().unwrap();
        assert!(!dev.is_autodiff());
        assert!(spec.autodiff_device().unwrap().is_autodiff());
    }
}
