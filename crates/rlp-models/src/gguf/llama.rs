//! A llama.cpp `llama` GGUF as a Hugging Face Llama checkpoint: the `LlamaConfig` from the
//! `llama.*` metadata, and every tensor dequantized, renamed (`blk.N.attn_q.weight` →
//! `model.layers.N.self_attn.q_proj.weight`) and, for q/k, un-permuted.
//!
//! llama.cpp's converter reorders the rows of `q_proj` and `k_proj` so that its interleaved
//! RoPE (pairs `(2i, 2i+1)`) computes what HF's rotate-half RoPE (pairs `(i, i + d/2)`) does:
//! within each head of width `d`, GGUF row `2i + t` holds HF row `t·d/2 + i` (`t ∈ {0, 1}`).
//! [`unpermute_rows`] undoes that.

use std::collections::HashMap;

use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::gguf::reader::GgufFile;

/// HF-named host tensors: name → (shape, values), row-major.
pub type HostTensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Undoes llama.cpp's q/k row permutation for a `[rows, cols]` row-major matrix of `heads`
/// heads: `hf[h·d + t·d/2 + i] = gguf[h·d + 2i + t]` with `d = rows / heads`.
pub fn unpermute_rows(w: &[f32], rows: usize, cols: usize, heads: usize) -> Vec<f32> {
    assert_eq!(w.len(), rows * cols, "matrix size");
    assert!(
        heads > 0 && rows % (2 * heads) == 0,
        "rows split into heads of even width"
    );
    let d = rows / heads;
    let half = d / 2;
    let mut out = vec![0.0; w.len()];
    for h in 0..heads {
        for i in 0..half {
            for t in 0..2 {
                let src = (h * d + 2 * i + t) * cols;
                let dst = (h * d + t * half + i) * cols;
                out[dst..dst + cols].copy_from_slice(&w[src..src + cols]);
            }
        }
    }
    out
}

/// The `LlamaConfig` a `llama` GGUF describes. Errors name the metadata key at fault.
pub fn config(g: &GgufFile) -> Result<LlamaConfig> {
    let arch = g.get_str("general.architecture")?;
    if arch != "llama" {
        return Err(ModelError::Gguf {
            path: g.path.clone(),
            what: "general.architecture".into(),
            message: format!("`{arch}` is not supported (only `llama` is)"),
        });
    }
    let k = |s: &str| format!("llama.{s}");
    let uint = |s: &str| g.get_uint(&k(s)).map(|v| v as usize);
    let heads = uint("attention.head_count")?;
    let hidden = uint("embedding_length")?;
    let vocab = match g.opt_uint(&k("vocab_size"))? {
        Some(v) => v as usize,
        None => g.get_str_array("tokenizer.ggml.tokens")?.len(),
    };
    for key in ["rope.scaling.type", "rope.scaling.factor"] {
        if let Some(v) = g.meta.get(&k(key)) {
            let none = matches!(v, crate::gguf::reader::MetaValue::Str(s) if s == "none");
            if !none {
                return Err(ModelError::Gguf {
                    path: g.path.clone(),
                    what: k(key),
                    message: format!("RoPE scaling ({v:?}) is not supported"),
                });
            }
        }
    }
    let mut c = LlamaConfig::new(
        vocab,
        hidden,
        uint("feed_forward_length")?,
        uint("block_count")?,
        heads,
        g.opt_uint(&k("attention.head_count_kv"))?
            .map_or(heads, |v| v as usize),
        uint("context_length")?,
    );
    if let Some(rd) = g.opt_uint(&k("rope.dimension_count"))? {
        if heads == 0 || rd as usize * heads != hidden {
            c.head_dim = Some(rd as usize);
        }
    }
    c.rms_norm_eps = g.get_float(&k("attention.layer_norm_rms_epsilon"))?;
    c.rope_theta = if g.meta.contains_key(&k("rope.freq_base")) {
        g.get_float(&k("rope.freq_base"))?
    } else {
        10_000.0
    };
    c.tie_word_embeddings = g.tensor("output.weight").is_none();
    let id = |key: &str| -> Result<Option<u32>> { Ok(g.opt_uint(key)?.map(|v| v as u32)) };
    c.bos_token_id = id("tokenizer.ggml.bos_token_id")?;
    c.eos_token_id = id("tokenizer.ggml.eos_token_id")?;
    c.pad_token_id = id("tokenizer.ggml.padding_token_id")?;
    c.validate(&g.path.display().to_string())?;
    Ok(c)
}

/// The HF name of a GGUF tensor, and how many heads to un-permute it by (q and k only).
fn hf_name(name: &str, c: &LlamaConfig) -> Option<(String, Option<usize>)> {
    match name {
        "token_embd.weight" => return Some(("model.embed_tokens.weight".into(), None)),
        "output_norm.weight" => return Some(("model.norm.weight".into(), None)),
        "output.weight" => return Some(("lm_head.weight".into(), None)),
        _ => {}
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (hf, heads) = match part {
        "attn_norm.weight" => ("input_layernorm.weight", None),
        "attn_q.weight" => ("self_attn.q_proj.weight", Some(c.num_attention_heads)),
        "attn_k.weight" => ("self_attn.k_proj.weight", Some(c.kv_heads())),
        "attn_v.weight" => ("self_attn.v_proj.weight", None),
        "attn_output.weight" => ("self_attn.o_proj.weight", None),
        "ffn_norm.weight" => ("post_attention_layernorm.weight", None),
        "ffn_gate.weight" => ("mlp.gate_proj.weight", None),
        "ffn_up.weight" => ("mlp.up_proj.weight", None),
        "ffn_down.weight" => ("mlp.down_proj.weight", None),
        _ => return None,
    };
    Some((format!("model.layers.{layer}.{hf}"), heads))
}

/// Every tensor of the file, dequantized to f32 under its HF name and layout. `progress` is
/// called after each tensor with (done, total). Unknown tensor names are errors.
pub fn tensors(
    g: &GgufFile,
    c: &LlamaConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<HostTensors> {
    let mut out = HashMap::new();
    for (i, t) in g.tensors.iter().enumerate() {
        let (name, heads) = hf_name(&t.name, c).ok_or_else(|| ModelError::Gguf {
            path: g.path.clone(),
            what: t.name.clone(),
            message: "not a tensor of the llama architecture".into(),
        })?;
        let shape = t.hf_shape();
        let mut vals = g.dequantize(t)?;
        if let Some(h) = heads {
            let (rows, cols) = match shape[..] {
                [r, c] => (r, c),
                _ => (0, 0),
            };
            if rows == 0 || rows % (2 * h) != 0 {
                return Err(ModelError::Gguf {
                    path: g.path.clone(),
                    what: t.name.clone(),
                    message: format!("shape {shape:?} does not split into {h} heads"),
                });
            }
            vals = unpermute_rows(&vals, rows, cols, h);
        }
        out.insert(name, (shape, vals));
        progress(i + 1, g.tensors.len());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_the_converters_permutation() {
        // llama.cpp's converter: w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols),
        // i.e. gguf[h·d + 2i + t] = hf[h·d + t·d/2 + i]. With 2 heads of width 4 and one column
        // holding the HF row index, the GGUF order is [0, 2, 1, 3, 4, 6, 5, 7].
        let gguf = vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0];
        assert_eq!(
            unpermute_rows(&gguf, 8, 1, 2),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        // Whole rows move together.
        let w: Vec<f32> = (0..12).map(|x| x as f32).collect(); // 4 rows × 3 cols, 1 head
        assert_eq!(
            unpermute_rows(&w, 4, 3, 1),
            vec![0., 1., 2., 6., 7., 8., 3., 4., 5., 9., 10., 11.]
        );
    }

    #[test]
    fn names_map_to_hf() {
        let c = LlamaConfig::new(10, 8, 16, 2, 2, 1, 32);
        assert_eq!(
            hf_name("blk.1.attn_k.weight", &c),
            Some(("model.layers.1.self_attn.k_proj.weight".into(), Some(1)))
        );
        assert_eq!(hf_name("blk.x.attn_k.weight", &c), None);
        assert_eq!(hf_name("rope_freqs.weight", &c), None);
    }
}
