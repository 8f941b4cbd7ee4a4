//! A checkpoint as transformers 5.25 writes it — RoPE θ = 500000 under `rope_parameters` with no
//! top-level `rope_theta`, `dtype` for `torch_dtype` — loads with transformers' logits, saves and
//! loads again unchanged, and a rope type rlp does not implement is refused by name. The fixture
//! is made by `scripts/reference/hf5_format.py make` (its `meta` names the versions).

use std::path::{Path, PathBuf};

use rlp_core::ScratchDir;
use rlp_core::device::test_backend;
use rlp_core::tensor_io::{ints, max_abs_diff, to_f32};
use rlp_models::{CausalLm, checkpoint};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf5")
}

fn reference() -> (Vec<Vec<i64>>, Vec<f32>) {
    let text = std::fs::read_to_string(fixture().join("logits.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let logits = v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    (serde_json::from_value(v["tokens"].clone()).unwrap(), logits)
}

fn logits(m: &CausalLm, tokens: &[Vec<i64>]) -> Vec<f32> {
    let d = m.device();
    let (b, t) = (tokens.len(), tokens[0].len());
    to_f32(m.forward(ints(tokens.concat(), [b, t], &d), None).logits)
}

/// A copy of the fixture's model directory with its `config.json` edited by `edit`.
fn edited(scratch: &Path, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let dir = scratch.join("model");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["model.safetensors", "generation_config.json"] {
        std::fs::copy(fixture().join("model").join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(fixture().join("model/config.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut config);
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn a_transformers5_checkpoint_loads_with_its_rope_theta() {
    let d = test_backend().device().unwrap();
    let (tokens, want) = reference();
    let model = checkpoint::load(fixture().join("model"), &d).unwrap();
    assert_eq!(model.config.rope_theta, 500000.0);
    let ours = logits(&model, &tokens);
    let w = max_abs_diff(&ours, &want);
    assert!(w <= 1e-3, "max |Δ| {w:e} > 1e-3");

    // The fixture can tell: read with θ = 10000 (the old default), the logits move.
    let scratch = ScratchDir::new("hf5-theta").unwrap();
    let dir = edited(scratch.path(), |c| {
        c.as_object_mut().unwrap().remove("rope_parameters");
    });
    let wrong = checkpoint::load(&dir, &d).unwrap();
    assert_eq!(wrong.config.rope_theta, 10000.0);
    assert!(max_abs_diff(&logits(&wrong, &tokens), &want) > 1e-2);

    // Saved by rlp and loaded again: the same θ, the same logits, `rope_parameters` kept.
    let out = ScratchDir::new("hf5-save").unwrap();
    checkpoint::save(&model, out.path()).unwrap();
    let back = checkpoint::load(out.path(), &d).unwrap();
    assert_eq!(logits(&back, &tokens), ours);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(written["rope_theta"], 500000.0);
    assert_eq!(written["rope_parameters"]["rope_theta"], 500000.0);
}

#[test]
fn an_unimplemented_rope_type_is_refused_by_name() {
    let d = test_backend().device().unwrap();
    let scratch = ScratchDir::new("hf5-yarn").unwrap();
    let dir = edited(scratch.path(), |c| {
        c["rope_parameters"] = serde_json::json!({
            "rope_type": "yarn", "rope_theta": 500000.0, "factor": 4.0
        });
    });
    let e = checkpoint::load(&dir, &d).unwrap_err().to_string();
    assert!(e.contains("rope_parameters") && e.contains("`yarn`"), "{e}");
    assert!(e.contains("config.json"), "{e}");
}
