//! A thin wrapper over the `tokenizers` crate: load an HF `tokenizer.json`, train a byte-level
//! BPE on a corpus, encode/decode, and render the ChatML chat template.

use std::path::Path;

use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, TokenizerImpl,
};

use crate::error::{ModelError, Result};

/// `<|endoftext|>`: padding and document end (id 0 in tokenizers trained here).
pub const ENDOFTEXT: &str = "<|endoftext|>";
/// `<|im_start|>`: opens a ChatML turn (id 1).
pub const IM_START: &str = "<|im_start|>";
/// `<|im_end|>`: closes a ChatML turn and ends generation (id 2).
pub const IM_END: &str = "<|im_end|>";

/// A chat message for [`TextTokenizer::render_chatml`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// An HF tokenizer plus the special ids generation and training need.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    /// The id generation stops on by default (`<|im_end|>` if present, else `<|endoftext|>`).
    pub eos_id: Option<u32>,
    /// The id used for padding (`<|endoftext|>` if present, else the eos id).
    pub pad_id: Option<u32>,
    /// The system message the model's chat template inserts when a conversation has none
    /// (SmolLM2's: "You are a helpful AI assistant named SmolLM, trained by Hugging Face").
    pub default_system: Option<String>,
    /// The `tokenizer_config.json` it was loaded with, if any, written back as it was on save;
    /// without one, [`Self::hf_tokenizer_config`] writes rlp's own.
    pub hf_config: Option<serde_json::Value>,
}

/// rlp's ChatML template in Jinja (what [`TextTokenizer::render_chatml`] renders), for
/// `tokenizer_config.json`'s `chat_template`.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

fn tok_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

impl TextTokenizer {
    /// Wraps a loaded tokenizer, finding the special ids by name.
    pub fn new(inner: tokenizers::Tokenizer) -> Self {
        let endoftext = inner.token_to_id(ENDOFTEXT);
        let eos_id = inner.token_to_id(IM_END).or(endoftext);
        let pad_id = endoftext.or(eos_id);
        Self {
            inner,
            eos_id,
            pad_id,
            default_system: None,
            hf_config: None,
        }
    }

    /// Loads a `tokenizer.json`. A `tokenizer_config.json` beside it, if any, supplies the chat
    /// template's default system message (see [`default_system_of`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
        let mut tk = Self::new(inner);
        let cfg_path = path.with_file_name("tokenizer_config.json");
        if let Ok(text) = std::fs::read_to_string(&cfg_path) {
            let cfg: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", cfg_path.display())))?;
            tk.default_system = cfg
                .get("chat_template")
                .and_then(|t| t.as_str())
                .and_then(default_system_of);
            tk.hf_config = Some(cfg);
        }
        Ok(tk)
    }

    /// The `tokenizer_config.json` transformers' `AutoTokenizer` reads: the one loaded, with
    /// whatever of the eos token, the pad token and the padding side it lacks filled in, or
    /// rlp's own — `PreTrainedTokenizerFast` with the eos and pad tokens by content, the ChatML
    /// template, and left padding (what batched generation with a decoder needs).
    pub fn hf_tokenizer_config(&self, model_max_length: usize) -> serde_json::Value {
        let token = |id: Option<u32>| {
            id.and_then(|i| self.inner.id_to_token(i))
                .map_or(serde_json::Value::Null, serde_json::Value::String)
        };
        let mut cfg = self.hf_config.clone().unwrap_or_else(|| {
            serde_json::json!({
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": serde_json::Value::Null,
                "unk_token": serde_json::Value::Null,
                "add_bos_token": false,
                "add_prefix_space": false,
                "clean_up_tokenization_spaces": false,
                "model_max_length": model_max_length,
                "chat_template": CHATML_TEMPLATE,
            })
        });
        if let Some(obj) = cfg.as_object_mut() {
            let missing = |obj: &serde_json::Map<String, serde_json::Value>, key: &str| {
                obj.get(key).is_none_or(serde_json::Value::is_null)
            };
            if missing(obj, "eos_token") {
                obj.insert("eos_token".into(), token(self.eos_id));
            }
            if missing(obj, "pad_token") {
                obj.insert("pad_token".into(), token(self.pad_id));
            }
            if missing(obj, "padding_side") {
                obj.insert("padding_side".into(), "left".into());
            }
        }
        cfg
    }

    /// Writes `tokenizer.json`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.inner
            .save(path, false)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))
    }

    /// Trains a byte-level BPE (GPT-2 style, no prefix space) with up to `vocab_size` ids on
    /// `texts`. Ids 0, 1, 2 are `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`; every byte is in
    /// the initial alphabet, so any text encodes.
    pub fn train_bpe<S: AsRef<str> + Send>(
        texts: impl Iterator<Item = S> + Send,
        vocab_size: usize,
    ) -> Result<Self> {
        let specials: Vec<AddedToken> = [ENDOFTEXT, IM_START, IM_END]
            .iter()
            .map(|s| AddedToken::from(*s, true))
            .collect();
        if vocab_size < 256 + specials.len() {
            return Err(ModelError::input(
                "vocab_size",
                format!("{vocab_size} is below the 256-byte alphabet plus 3 special tokens"),
            ));
        }
        let mut trainer = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(specials.clone())
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let mut tk: TokenizerImpl<
            BPE,
            NormalizerWrapper,
            ByteLevel,
            PostProcessorWrapper,
            DecoderWrapper,
        > = TokenizerImpl::new(BPE::default());
        tk.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        tk.with_decoder(Some(ByteLevel::new(false, true, true)));
        tk.train(&mut trainer, texts).map_err(tok_err)?;
        tk.add_special_tokens(&specials);
        let inner: tokenizers::Tokenizer = tk.into();
        Ok(Self::new(inner))
    }

    /// Number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Errors when some id of this tokenizer would index past the model's embedding table.
    pub fn check_model_vocab(&self, model_vocab: usize) -> Result<()> {
        if self.vocab_size() > model_vocab {
            return Err(ModelError::VocabMismatch {
                tokenizer: self.vocab_size(),
                model: model_vocab,
            });
        }
        Ok(())
    }

    /// The id of a token string, if any.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Encodes text; special-token strings in the text (`<|im_start|>` …) map to their ids.
    /// No BOS/EOS is added (the template or the caller adds them).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .inner
            .encode(text, false)
            .map_err(tok_err)?
            .get_ids()
            .to_vec())
    }

    /// Decodes ids, dropping special tokens when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner.decode(ids, skip_special).map_err(tok_err)
    }

    /// Renders messages in ChatML:
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`
    /// when `add_generation_prompt`.
    pub fn render_chatml(messages: &[ChatMessage], add_generation_prompt: bool) -> String {
        let mut s = String::new();
        for m in messages {
            s.push_str(IM_START);
            s.push_str(&m.role);
            s.push('\n');
            s.push_str(&m.content);
            s.push_str(IM_END);
            s.push('\n');
        }
        if add_generation_prompt {
            s.push_str(IM_START);
            s.push_str("assistant\n");
        }
        s
    }

    /// Renders a conversation with this model's template: ChatML, preceded by
    /// [`Self::default_system`] when the first message is not a system message (what the
    /// Jinja chat templates of ChatML models such as SmolLM2 do).
    pub fn render_chat(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> String {
        match (&self.default_system, messages.first()) {
            (Some(sys), first) if first.is_none_or(|m| m.role != "system") => {
                let mut all = vec![ChatMessage::new("system", sys.clone())];
                all.extend_from_slice(messages);
                Self::render_chatml(&all, add_generation_prompt)
            }
            _ => Self::render_chatml(messages, add_generation_prompt),
        }
    }

    /// The wrapped `tokenizers::Tokenizer`.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

/// The default system message of a ChatML Jinja chat template: the literal text between
/// `<|im_start|>system` plus a newline (a real one, or Jinja's `\n` escape) and `<|im_end|>`,
/// if the template writes one.
pub fn default_system_of(template: &str) -> Option<String> {
    let (start, escaped) = ["\n", "\\n"].iter().find_map(|nl| {
        let open = format!("{IM_START}system{nl}");
        template
            .find(&open)
            .map(|i| (i + open.len(), nl.len() == 2))
    })?;
    let len = template[start..].find(IM_END)?;
    let text = &template[start..start + len];
    // A template that interpolates the message (`{{ message['content'] }}`) has no default.
    if text.contains("{{") || text.contains('\'') {
        return None;
    }
    Some(if escaped {
        text.replace("\\n", "\n")
    } else {
        text.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        (0..200)
            .map(|i| {
                format!(
                    "the movie number {i} was great and the popcorn was salty, naïve café {}",
                    i * 7
                )
            })
            .collect()
    }

    #[test]
    fn trained_bpe_round_trips_and_merges() {
        let tk = TextTokenizer::train_bpe(corpus().into_iter(), 400).unwrap();
        assert_eq!(tk.token_id(ENDOFTEXT), Some(0));
        assert_eq!(tk.token_id(IM_START), Some(1));
        assert_eq!((tk.eos_id, tk.pad_id), (Some(2), Some(0)));
        let text = "the movie was great, naïve café 🎬";
        let ids = tk.encode(text).unwrap();
        assert!(ids.len() < text.len(), "BPE should merge frequent pairs");
        assert_eq!(tk.decode(&ids, false).unwrap(), text);
        let d = rlp_core::ScratchDir::new("tok").unwrap();
        let saved = d.join("tokenizer.json");
        tk.save(&saved).unwrap();
        let back = TextTokenizer::load(&saved).unwrap();
        assert_eq!(back.encode(text).unwrap(), ids);
    }

    #[test]
    fn chatml_template_and_special_ids() {
        let tk = TextTokenizer::train_bpe(corpus().into_iter(), 300).unwrap();
        let s = TextTokenizer::render_chatml(&[ChatMessage::new("user", "hi")], true);
        assert_eq!(s, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        let ids = tk.encode(&s).unwrap();
        assert_eq!(ids[0], 1);
        assert!(ids.contains(&2));
        assert_eq!(tk.decode(&ids, true).unwrap(), "user\nhi\nassistant\n");
    }

    #[test]
    fn default_system_message_comes_from_the_template() {
        // SmolLM2-135M-Instruct's template, as its GGUF stores it.
        let t = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
        let sys = default_system_of(t).unwrap();
        assert_eq!(
            sys,
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
        );
        assert_eq!(default_system_of("{{ messages }}"), None);
        // The same template with Jinja-escaped newlines.
        assert_eq!(
            default_system_of(&t.replace('\n', "\\n")).as_deref(),
            Some(sys.as_str())
        );
        let mut tk = TextTokenizer::train_bpe(corpus().into_iter(), 300).unwrap();
        tk.default_system = Some(sys.clone());
        let user = [ChatMessage::new("user", "hi")];
        assert_eq!(
            tk.render_chat(&user, true),
            format!(
                "<|im_start|>system\n{sys}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
            )
        );
        let own = [
            ChatMessage::new("system", "Be brief."),
            ChatMessage::new("user", "hi"),
        ];
        assert_eq!(
            tk.render_chat(&own, false),
            TextTokenizer::render_chatml(&own, false)
        );
    }

    #[test]
    fn mismatched_vocab_and_bad_files_are_errors() {
        let tk = TextTokenizer::train_bpe(corpus().into_iter(), 300).unwrap();
        assert!(
            tk.check_model_vocab(100)
                .unwrap_err()
                .to_string()
                .contains("vocab_size is 100")
        );
        assert!(TextTokenizer::load("/nonexistent/tokenizer.json").is_err());
        assert!(TextTokenizer::train_bpe(corpus().into_iter(), 10).is_err());
    }
}
