//! LoRA (Hu et al. 2021) on the causal LM, on burn's reparameterisation: frozen base weights,
//! trainable low-rank factors on the targeted linear maps, adapters read and written in Hugging
//! Face PEFT's format, and merging into a plain checkpoint.
//!
//! ```
//! use rlp_core::{SeededRng, With};
//! use rlp_models::lora::{LoraConfig, LoraTarget, apply_lora, merge};
//! use rlp_models::{CausalLm, LlamaConfig};
//!
//! let device = rlp_core::device::test_backend().device().unwrap();
//! let base = CausalLm::init(&LlamaConfig::tiny(32), &mut SeededRng::new(0), &device).unwrap();
//! let lora = LoraConfig::default().with(|c| {
//!     c.rank = 4;
//!     c.alpha = 8.0;
//!     c.targets = vec![LoraTarget::Q, LoraTarget::V];
//! });
//! let adapted = apply_lora(base, &lora, &mut SeededRng::new(1)).unwrap();
//! assert_eq!(rlp_models::lora::adapters(&adapted).len(), 2 * adapted.layers.len());
//! let plain = merge(adapted); // B = 0 so far: the base model again
//! assert!(!rlp_models::lora::is_adapted(&plain));
//! ```
//!
//! With [`LoraConfig::quantize`] (QLoRA) the targeted bases are stored as 8- or 4-bit block-
//! quantized integers and dequantized on the fly.
//!
//! The forward pass of an adapted linear map computes `x·W + (α/r)·(x·A)·B` (see
//! [`crate::dense::linear`]) rather than composing the dense `W + (α/r)·A·B`, so neither the
//! composed weight nor its gradient is ever materialised.

mod attach;
mod config;
mod dropout;
mod peft;

pub use attach::{adapters, apply_lora, is_adapted, merge};
pub use config::{BaseQuant, LoraConfig, LoraTarget};
pub(crate) use dropout::seed_dropout;
pub use dropout::{DropoutStep, dropout_step};
pub use peft::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, load_adapter, read_adapter_config, save_adapter,
};
