//! Import tests on small GGUF files written here: a tiny llama with known HF weights, stored
//! the way llama.cpp's converter stores them (q/k rows permuted, dims reversed), must come back
//! exactly; every kind of bad file must give an error naming what is wrong.

use std::collections::HashMap;

use super::*;
use crate::checkpoint::{expected_tensors, read_safetensors};
use rlp_core::{ScratchDir, SeededRng};

/// A metadata value to write.
enum W {
    U32(u32),
    F32(f32),
    Str(String),
    Strs(Vec<String>),
    I32s(Vec<i32>),
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

/// Writes a GGUF v3 file: metadata, then F32 (type 0) or raw-typed tensors.
fn write_gguf(meta: &[(&str, W)], tensors: &[(String, Vec<u64>, u32, Vec<u8>)]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((meta.len() as u64).to_le_bytes());
    for (k, v) in meta {
        put_str(&mut b, k);
        match v {
            W::U32(x) => {
                b.extend(4u32.to_le_bytes());
                b.extend(x.to_le_bytes());
            }
            W::F32(x) => {
                b.extend(6u32.to_le_bytes());
                b.extend(x.to_le_bytes());
            }
            W::Str(s) => {
                b.extend(8u32.to_le_bytes());
                put_str(&mut b, s);
            }
            W::Strs(v) => {
                b.extend(9u32.to_le_bytes());
                b.extend(8u32.to_le_bytes());
                b.extend((v.len() as u64).to_le_bytes());
                v.iter().for_each(|s| put_str(&mut b, s));
            }
            W::I32s(v) => {
                b.extend(9u32.to_le_bytes());
                b.extend(5u32.to_le_bytes());
                b.extend((v.len() as u64).to_le_bytes());
                v.iter().for_each(|x| b.extend(x.to_le_bytes()));
            }
        }
    }
    let mut offset = 0u64;
    for (name, dims, ty, data) in tensors {
        put_str(&mut b, name);
        b.extend((dims.len() as u32).to_le_bytes());
        dims.iter().for_each(|d| b.extend(d.to_le_bytes()));
        b.extend(ty.to_le_bytes());
        b.extend(offset.to_le_bytes());
        offset += (data.len() as u64).div_ceil(32) * 32;
    }
    b.resize(b.len().div_ceil(32) * 32, 0);
    for (_, _, _, data) in tensors {
        b.extend(data);
        b.resize(b.len().div_ceil(32) * 32, 0);
    }
    b
}

/// llama.cpp's converter permutation (HF → GGUF): `gguf[h·d + 2i + t] = hf[h·d + t·d/2 + i]`.
fn permute_rows(w: &[f32], rows: usize, cols: usize, heads: usize) -> Vec<f32> {
    let (d, mut out) = (rows / heads, vec![0.0; w.len()]);
    for h in 0..heads {
        for i in 0..d / 2 {
            for t in 0..2 {
                let (g, f) = (h * d + 2 * i + t, h * d + t * d / 2 + i);
                out[g * cols..(g + 1) * cols].copy_from_slice(&w[f * cols..(f + 1) * cols]);
            }
        }
    }
    out
}

fn gguf_name(hf: &str) -> String {
    let map = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];
    if let Some((_, g)) = map.iter().find(|(h, _)| *h == hf) {
        return g.to_string();
    }
    let rest = hf.strip_prefix("model.layers.").unwrap();
    let (i, part) = rest.split_once('.').unwrap();
    let g = match part {
        "input_layernorm.weight" => "attn_norm",
        "self_attn.q_proj.weight" => "attn_q",
        "self_attn.k_proj.weight" => "attn_k",
        "self_attn.v_proj.weight" => "attn_v",
        "self_attn.o_proj.weight" => "attn_output",
        "post_attention_layernorm.weight" => "ffn_norm",
        "mlp.gate_proj.weight" => "ffn_gate",
        "mlp.up_proj.weight" => "ffn_up",
        "mlp.down_proj.weight" => "ffn_down",
        p => panic!("{p}"),
    };
    format!("blk.{i}.{g}.weight")
}

const TOKENS: [&str; 8] = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "a",
    "b",
    "Ġ",
    "ab",
    "Ġab",
];

fn meta(arch: &str) -> Vec<(&'static str, W)> {
    vec![
        ("general.architecture", W::Str(arch.into())),
        ("llama.block_count", W::U32(2)),
        ("llama.context_length", W::U32(64)),
        ("llama.embedding_length", W::U32(16)),
        ("llama.feed_forward_length", W::U32(32)),
        ("llama.attention.head_count", W::U32(2)),
        ("llama.attention.head_count_kv", W::U32(1)),
        ("llama.rope.freq_base", W::F32(100000.0)),
        ("llama.attention.layer_norm_rms_epsilon", W::F32(1e-5)),
        ("tokenizer.ggml.model", W::Str("gpt2".into())),
        ("tokenizer.ggml.pre", W::Str("smollm".into())),
        (
            "tokenizer.ggml.tokens",
            W::Strs(TOKENS.iter().map(|s| s.to_string()).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            W::I32s(vec![3, 3, 3, 1, 1, 1, 1, 1]),
        ),
        (
            "tokenizer.ggml.merges",
            W::Strs(vec!["a b".into(), "Ġ ab".into()]),
        ),
        ("tokenizer.ggml.bos_token_id", W::U32(1)),
        ("tokenizer.ggml.eos_token_id", W::U32(2)),
        (
            "tokenizer.chat_template",
            W::Str("{{ '<|im_start|>system\nBe kind.<|im_end|>\n' }}".into()),
        ),
    ]
}

/// HF tensors of the tiny model and their GGUF (F32) encoding.
fn tiny() -> (
    HashMap<String, Vec<f32>>,
    Vec<(String, Vec<u64>, u32, Vec<u8>)>,
) {
    let mut cfg = LlamaConfig::new(8, 16, 32, 2, 2, 1, 64);
    cfg.tie_word_embeddings = true;
    let mut rng = SeededRng::new(3);
    let (mut hf, mut gg) = (HashMap::new(), Vec::new());
    for (name, shape) in expected_tensors(&cfg) {
        let vals = rng.normal_vec(shape.iter().product(), 0.5);
        let heads = if name.ends_with("q_proj.weight") {
            Some(2)
        } else if name.ends_with("k_proj.weight") {
            Some(1)
        } else {
            None
        };
        let stored = match heads {
            Some(h) => permute_rows(&vals, shape[0], shape[1], h),
            None => vals.clone(),
        };
        let dims = shape.iter().rev().map(|&d| d as u64).collect();
        let bytes = stored.iter().flat_map(|x| x.to_le_bytes()).collect();
        gg.push((gguf_name(&name), dims, 0, bytes));
        hf.insert(name, vals);
    }
    (hf, gg)
}

fn tmp(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("gguf-{name}")).unwrap()
}

/// Writes `bytes` to `m.gguf` in a fresh scratch dir and imports it into `out` there.
fn import_bytes(name: &str, bytes: &[u8]) -> (Result<ImportReport>, ScratchDir) {
    let d = tmp(name);
    let path = d.join("m.gguf");
    std::fs::write(&path, bytes).unwrap();
    (import(&path, d.join("out"), |_, _| {}), d)
}

#[test]
fn a_tiny_llama_round_trips_exactly_through_gguf() {
    let (hf, gg) = tiny();
    let (r, scratch) = import_bytes("rt", &write_gguf(&meta("llama"), &gg));
    let (r, out) = (r.unwrap(), scratch.join("out"));
    assert_eq!(
        (r.tensors, r.types.clone()),
        (20, vec![("F32".to_string(), 20)])
    );
    assert!(r.config.tie_word_embeddings);
    assert_eq!(
        (r.config.rope_theta, r.config.rms_norm_eps),
        (100000.0, 1e-5)
    );
    assert_eq!(
        (r.config.bos_token_id, r.config.eos_token_id),
        (Some(1), Some(2))
    );
    let back = read_safetensors(&out.join("model.safetensors")).unwrap();
    assert_eq!(back.len(), hf.len());
    for (name, vals) in &hf {
        assert_eq!(&back[name].1, vals, "{name}");
    }
    // The rebuilt tokenizer applies the merges and knows the specials.
    let tk = crate::TextTokenizer::load(out.join("tokenizer.json")).unwrap();
    assert_eq!(tk.encode("ab ab").unwrap(), vec![6, 7]);
    assert_eq!(tk.encode("<|im_start|>a").unwrap(), vec![1, 3]);
    assert_eq!(tk.decode(&[6, 7], false).unwrap(), "ab ab");
    assert_eq!(tk.default_system.as_deref(), Some("Be kind."));
    let device = rlp_core::device::test_backend().device().unwrap();
    let model = crate::checkpoint::load(&out, &device).unwrap();
    assert_eq!(
        model.param_count(),
        hf.values().map(Vec::len).sum::<usize>()
    );
    // Nothing but the output directory is left behind.
    let left: Vec<_> = std::fs::read_dir(out.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

fn import_err(name: &str, bytes: &[u8]) -> String {
    let (r, d) = import_bytes(name, bytes);
    let e = r.unwrap_err().to_string();
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("m.gguf")],
        "{name}: debris {left:?}"
    );
    e
}

#[test]
fn bad_files_are_errors_naming_the_field_or_tensor() {
    let (_, gg) = tiny();
    let good = write_gguf(&meta("llama"), &gg);

    let e = import_err("arch", &write_gguf(&meta("gpt2"), &gg));
    assert!(
        e.contains("general.architecture") && e.contains("gpt2"),
        "{e}"
    );

    let no_tokens: Vec<_> = meta("llama")
        .into_iter()
        .filter(|(k, _)| *k != "tokenizer.ggml.tokens")
        .collect();
    let e = import_err("tok", &write_gguf(&no_tokens, &gg));
    assert!(
        e.contains("tokenizer.ggml.tokens") && e.contains("missing"),
        "{e}"
    );

    let mut q4k = gg.clone();
    q4k[3].2 = 12;
    let e = import_err("q4k", &write_gguf(&meta("llama"), &q4k));
    assert!(e.contains(&q4k[3].0) && e.contains("Q4_K"), "{e}");

    let e = import_err("short", &good[..good.len() - 40]);
    assert!(
        e.contains("output_norm.weight") && e.contains("truncated"),
        "{e}"
    );
    let e = import_err("header", &good[..40]);
    assert!(e.contains("truncated"), "{e}");
    let e = import_err("magic", b"GGML not a gguf file at all");
    assert!(e.contains("not a GGUF file"), "{e}");

    let mut missing = gg.clone();
    missing.retain(|t| t.0 != "blk.1.ffn_up.weight");
    let e = import_err("missing", &write_gguf(&meta("llama"), &missing));
    assert!(
        e.contains("model.layers.1.mlp.up_proj.weight") && e.contains("missing"),
        "{e}"
    );

    let mut shaped = gg.clone();
    let i = shaped
        .iter()
        .position(|t| t.0 == "blk.0.ffn_gate.weight")
        .unwrap();
    shaped[i].1 = vec![32, 16];
    let e = import_err("shape", &write_gguf(&meta("llama"), &shaped));
    assert!(
        e.contains("model.layers.0.mlp.gate_proj.weight") && e.contains("shape"),
        "{e}"
    );

    let mut extra = gg.clone();
    extra.push(("rope_freqs.weight".into(), vec![8], 0, vec![0; 32]));
    let e = import_err("extra", &write_gguf(&meta("llama"), &extra));
    assert!(e.contains("rope_freqs.weight"), "{e}");
}

#[test]
fn an_existing_output_directory_is_refused() {
    let (_, gg) = tiny();
    let d = tmp("exists");
    std::fs::write(d.join("m.gguf"), write_gguf(&meta("llama"), &gg)).unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::write(d.join("out/keep.txt"), "mine").unwrap();
    let e = import(d.join("m.gguf"), d.join("out"), |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(
        std::fs::read_to_string(d.join("out/keep.txt")).unwrap(),
        "mine"
    );
}

/// Where the `offset` field of tensor `name`'s descriptor sits in `bytes` (after the name, the
/// dims count, `nd` dims and the type).
fn offset_field(bytes: &[u8], name: &str, nd: usize) -> usize {
    let at = bytes
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .unwrap();
    at + name.len() + 4 + 8 * nd + 4
}

/// Hostile numbers in the header and descriptors: each is an error naming the tensor or the
/// header, never a panic, a wrapped bounds check or an allocation sized by the file's claim.
#[test]
fn hostile_counts_offsets_and_dims_are_errors() {
    let (_, gg) = tiny();
    let good = write_gguf(&meta("llama"), &gg);
    let parse = |b: Vec<u8>| {
        GgufFile::parse(Path::new("m.gguf"), b)
            .err()
            .unwrap()
            .to_string()
    };
    let name = &gg[0].0;
    let nd = gg[0].1.len();
    // An offset near 2⁶⁴: start + size used to wrap around and pass the bounds check.
    for offset in [u64::MAX - 7, u64::MAX, 1 << 63] {
        let mut b = good.clone();
        let at = offset_field(&b, name, nd);
        b[at..at + 8].copy_from_slice(&offset.to_le_bytes());
        let e = parse(b);
        assert!(e.contains(name) && e.contains("runs to byte"), "{e}");
    }
    // Dims whose product overflows 64 bits.
    let mut b = good.clone();
    let at = offset_field(&b, name, nd) - 4 - 8 * nd;
    for d in 0..nd {
        b[at + 8 * d..at + 8 * d + 8].copy_from_slice(&(u64::MAX / 3).to_le_bytes());
    }
    let e = parse(b);
    assert!(e.contains(name) && e.contains("overflow"), "{e}");
    // 2⁶⁰ tensors, or 2⁶⁰ metadata entries: refused from the header, before any allocation.
    for field in [8, 16] {
        let mut b = good.clone();
        b[field..field + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
        let e = parse(b);
        assert!(
            e.contains("header") && e.contains("1152921504606846976"),
            "{e}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(rlp_core::fuzz::cases(256)))]
    /// Mutation fuzzing of a valid file: truncation, bit flips and 8-byte fields set to
    /// extremes, anywhere. Parsing (and reading every tensor) either succeeds or errors; it
    /// never panics.
    #[test]
    fn mutated_files_never_panic(
        cut in 0usize..4096,
        flips in proptest::collection::vec((0usize..4096, 0u8..8), 0..8),
        extremes in proptest::collection::vec((0usize..4096, 0usize..4), 0..3),
    ) {
        let (_, gg) = tiny();
        let mut b = write_gguf(&meta("llama"), &gg);
        for (at, bit) in flips {
            let n = b.len();
            b[at % n] ^= 1 << bit;
        }
        for (at, which) in extremes {
            let v = [0u64, 1 << 32, u64::MAX, u64::MAX / 2][which];
            let at = at % (b.len() - 8);
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        let keep = b.len() - cut % b.len();
        b.truncate(keep);
        if let Ok(f) = GgufFile::parse(Path::new("m.gguf"), b) {
            for t in &f.tensors {
                let _ = f.dequantize(t);
            }
        }
    }
}
