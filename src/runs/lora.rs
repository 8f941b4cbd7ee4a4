//! LoRA adapters and gradient checkpointing for the training verbs. Every training run config
//! carries the same two settings, `[lora]` (rank, α, targets; absent: full fine-tuning) and
//! `grad_checkpointing`; this module turns them into the training device, the adapted model and
//! the PEFT adapter directory written beside each merged checkpoint.

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;
use rlp_core::{BackendSpec, SeededRng};
use rlp_models::CausalLm;
use rlp_models::lora::{LoraConfig, apply_lora, save_adapter};

/// The subdirectory of a checkpoint (or run output) that holds the PEFT adapter
/// (`adapter_config.json`, `adapter_model.safetensors`); the checkpoint itself holds the merged
/// model, which every rlp verb and `transformers` load as a plain model.
pub const ADAPTER_DIR: &str = "adapter";

/// The training device of `backend`: autodiff, with burn's balanced gradient checkpointing
/// (memory-bound activations recomputed in the backward pass instead of kept) when asked.
pub fn training_device(backend: &BackendSpec, grad_checkpointing: bool) -> Result<Device> {
    let device = backend.autodiff_device()?;
    Ok(if grad_checkpointing {
        device.gradient_checkpointing()
    } else {
        device
    })
}

/// `model` with fresh LoRA adapters when `lora` is set (their `A` drawn from `seed`'s `lora`
/// stream; `B = 0`, so the model is unchanged until it trains), with one line on stderr saying
/// how many parameters train; else `model` itself.
pub fn adapt(model: CausalLm, lora: Option<&LoraConfig>, seed: u64) -> Result<CausalLm> {
    let Some(lora) = lora else {
        return Ok(model);
    };
    let model = apply_lora(model, lora, &mut SeededRng::new(seed).fork("lora"))?;
    note!("{}", describe(&model, lora));
    Ok(model)
}

/// Writes `model`'s adapter into `dir/adapter` when `lora` is set; `base` (the checkpoint the
/// run started from) is recorded as PEFT's `base_model_name_or_path`.
pub fn save_adapter_in(
    model: &CausalLm,
    lora: Option<&LoraConfig>,
    base: Option<&Path>,
    dir: &Path,
) -> rlp_models::Result<()> {
    let Some(lora) = lora else {
        return Ok(());
    };
    let base = base.map(|p| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    });
    save_adapter(model, lora, base.as_deref(), dir.join(ADAPTER_DIR))
}

/// One line for a run's start: how many parameters train out of how many.
fn describe(model: &CausalLm, lora: &LoraConfig) -> String {
    let trainable: usize = rlp_models::lora::adapters(model)
        .iter()
        .map(|(_, a)| {
            a.a.val().dims().iter().product::<usize>() + a.b.val().dims().iter().product::<usize>()
        })
        .sum();
    let base = match lora.quantize {
        Some(rlp_models::lora::BaseQuant::Q8) => " (QLoRA, 8-bit base)",
        Some(rlp_models::lora::BaseQuant::Q4) => " (QLoRA, 4-bit base)",
        None => "",
    };
    format!(
        "LoRA r={} α={}{base} on {}: {trainable} trainable parameters of {}",
        lora.rank,
        lora.alpha,
        lora.target_names(),
        model.param_count()
    )
}
