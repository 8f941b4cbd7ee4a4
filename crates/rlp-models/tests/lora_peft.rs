//! Parity with Python `peft`: a LoRA adapter that peft 0.13.2 wrote, on a tiny random Llama
//! that transformers 4.46.3 wrote, gives peft's logits in rlp; so does the merged model. The
//! fixture is made by `scripts/reference/peft_lora.py make` (its `meta` names the versions).

use std::path::PathBuf;

use rlp_core::device::test_backend;
use rlp_core::tensor_io::{ints, max_abs_diff, to_f32};
use rlp_models::lora::{LoraTarget, load_adapter, merge};
use rlp_models::{CausalLm, checkpoint};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/peft_lora")
}

struct Reference {
    tokens: Vec<Vec<i64>>,
    base: Vec<f32>,
    adapted: Vec<f32>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture().join("logits.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    Reference {
        tokens: serde_json::from_value(v["tokens"].clone()).unwrap(),
        base: floats("base_logits"),
        adapted: floats("adapted_logits"),
    }
}

fn logits(m: &CausalLm, tokens: &[Vec<i64>]) -> Vec<f32> {
    let d = m.device();
    let (b, t) = (tokens.len(), tokens[0].len());
    let flat: Vec<i64> = tokens.concat();
    to_f32(m.forward(ints(flat, [b, t], &d), None).logits)
}

#[test]
fn a_peft_adapter_gives_peft_logits() {
    let d = test_backend().device().unwrap();
    let r = reference();
    let base = checkpoint::load(fixture().join("base"), &d).unwrap();
    let w = max_abs_diff(&logits(&base, &r.tokens), &r.base);
    assert!(w <= 1e-3, "base: max |Δ| {w:e} > 1e-3");

    let (adapted, config) = load_adapter(base, fixture().join("adapter")).unwrap();
    assert_eq!((config.rank, config.alpha), (4, 8.0));
    assert_eq!(
        config.targets,
        vec![
            LoraTarget::Q,
            LoraTarget::V,
            LoraTarget::O,
            LoraTarget::Down
        ]
    );
    let ours = logits(&adapted, &r.tokens);
    // The adapter matters: it moves peft's logits by about 1.
    assert!(max_abs_diff(&r.base, &r.adapted) > 0.5);
    let w = max_abs_diff(&ours, &r.adapted);
    assert!(w <= 1e-3, "adapted: max |Δ| {w:e} > 1e-3");

    let merged = merge(adapted);
    let w = max_abs_diff(&logits(&merged, &r.tokens), &r.adapted);
    assert!(w <= 1e-3, "merged: max |Δ| {w:e} > 1e-3");
}
