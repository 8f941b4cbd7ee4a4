//! A Hugging Face `tokenizer.json` rebuilt from a GGUF's tokenizer metadata: byte-level BPE
//! (`tokenizer.ggml.model = "gpt2"`) with the vocabulary of `tokenizer.ggml.tokens`, the merges of
//! `tokenizer.ggml.merges`, control tokens (`token_type` 3) as special added tokens and
//! user-defined ones (4) as plain added tokens, and the pre-tokenizer `tokenizer.ggml.pre` names.
//! Also the `tokenizer_config.json` that carries the chat template and the special tokens.

use serde_json::{Value, json};

use crate::error::{ModelError, Result};
use crate::gguf::reader::GgufFile;

/// The pre-tokenizer a `tokenizer.ggml.pre` value stands for, as llama.cpp defines it.
fn pre_tokenizer(pre: &str) -> Option<Value> {
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
        "trim_offsets": true, "use_regex": true});
    match pre {
        // llama.cpp: `\p{N}` (every digit alone), then the GPT-2 regex; HF writes this as
        // Digits(individual_digits) followed by ByteLevel(use_regex).
        "smollm" | "starcoder" | "refact" | "codeshell" => Some(json!({
            "type": "Sequence",
            "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]
        })),
        // The plain GPT-2 regex.
        "gpt-2" | "gpt2" | "default" => Some(byte_level),
        _ => None,
    }
}

fn err(g: &GgufFile, what: &str, message: impl Into<String>) -> ModelError {
    ModelError::Gguf {
        path: g.path.clone(),
        what: what.into(),
        message: message.into(),
    }
}

/// The `tokenizer.json` for the file's tokenizer. Errors name the metadata key at fault.
pub fn tokenizer_json(g: &GgufFile) -> Result<Value> {
    let model = g.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(err(
            g,
            "tokenizer.ggml.model",
            format!("`{model}` is not supported (byte-level BPE, `gpt2`, is)"),
        ));
    }
    let pre_name = if g.meta.contains_key("tokenizer.ggml.pre") {
        g.get_str("tokenizer.ggml.pre")?
    } else {
        "default"
    };
    let pre = pre_tokenizer(pre_name).ok_or_else(|| {
        err(
            g,
            "tokenizer.ggml.pre",
            format!("pre-tokenizer `{pre_name}` is not supported (smollm, starcoder, gpt-2 are)"),
        )
    })?;
    let tokens = g.get_str_array("tokenizer.ggml.tokens")?;
    let types = if g.meta.contains_key("tokenizer.ggml.token_type") {
        g.get_int_array("tokenizer.ggml.token_type")?
    } else {
        vec![1; tokens.len()]
    };
    if types.len() != tokens.len() {
        return Err(err(
            g,
            "tokenizer.ggml.token_type",
            format!("{} types for {} tokens", types.len(), tokens.len()),
        ));
    }
    let merges = g.get_str_array("tokenizer.ggml.merges")?;
    let mut vocab = serde_json::Map::with_capacity(tokens.len());
    let mut added = Vec::new();
    for (id, (&tok, &ty)) in tokens.iter().zip(&types).enumerate() {
        if vocab.insert(tok.to_string(), json!(id)).is_some() {
            return Err(err(
                g,
                "tokenizer.ggml.tokens",
                format!("token {tok:?} appears twice (second at id {id})"),
            ));
        }
        if ty == 3 || ty == 4 {
            added.push(json!({"id": id, "content": tok, "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": ty == 4, "special": ty == 3}));
        }
    }
    let mut pairs = Vec::with_capacity(merges.len());
    for (i, m) in merges.iter().enumerate() {
        let (a, b) = m
            .split_once(' ')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains(' '))
            .ok_or_else(|| {
                err(
                    g,
                    "tokenizer.ggml.merges",
                    format!("merge #{i} {m:?} is not two tokens"),
                )
            })?;
        pairs.push(json!([a, b]));
    }
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
        "trim_offsets": true, "use_regex": true});
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true,
            "trim_offsets": false, "use_regex": true},
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false,
            "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": pairs}
    }))
}

/// The `tokenizer_config.json`: special tokens by content and the chat template, if any.
pub fn tokenizer_config_json(g: &GgufFile, context_length: usize) -> Result<Value> {
    let tokens = g.get_str_array("tokenizer.ggml.tokens")?;
    let token = |key: &str| -> Result<Value> {
        match g.opt_uint(key)? {
            Some(id) => tokens
                .get(id as usize)
                .map(|t| json!(t))
                .ok_or_else(|| err(g, key, format!("id {id} is past the vocabulary"))),
            None => Ok(Value::Null),
        }
    };
    let template = match g.meta.get("tokenizer.chat_template") {
        Some(_) => json!(g.get_str("tokenizer.chat_template")?),
        None => Value::Null,
    };
    let add_bos = matches!(
        g.meta.get("tokenizer.ggml.add_bos_token"),
        Some(crate::gguf::reader::MetaValue::Bool(true))
    );
    Ok(json!({
        "tokenizer_class": "GPT2Tokenizer",
        "bos_token": token("tokenizer.ggml.bos_token_id")?,
        "eos_token": token("tokenizer.ggml.eos_token_id")?,
        "unk_token": token("tokenizer.ggml.unknown_token_id")?,
        "pad_token": token("tokenizer.ggml.padding_token_id")?,
        "add_bos_token": add_bos,
        "add_prefix_space": false,
        "clean_up_tokenization_spaces": false,
        "model_max_length": context_length,
        "chat_template": template,
    }))
}
