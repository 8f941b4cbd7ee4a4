//! sklearn's `TfidfVectorizer.transform` for `analyzer="word"`, `ngram_range=(1, 1)` and the
//! default token pattern `(?u)\b\w\w+\b`.
//!
//! Tokens. Python's `re` `\w` (with `(?u)`) is `str.isalnum() or "_"`, which is exactly
//! `[\p{L}\p{N}_]` (checked over all code points with Python 3.11, Unicode 14). It is not Rust
//! regex's `\w`, which adds the combining marks, ZWJ/ZWNJ, all connector punctuation (U+203F,
//! U+FF3F) and `Other_Alphabetic` symbols (Ⓐ), and leaves out the `No` numbers (², ½); so the
//! pattern is written out with that class. `\b\w\w+\b` then matches exactly the maximal runs
//! of at least two word characters, which is what `[\p{L}\p{N}_]{2,}` finds, leftmost-first.
//! Lowercasing is `str::to_lowercase`, which like Python's `str.lower` uses the full Unicode
//! mapping (İ → i + U+0307, Kelvin sign → k) and the final-sigma rule. Both sides follow their
//! own Unicode version (Python 3.11: 14.0): text in scripts or letters added later may
//! tokenize differently, which changes nothing for this English vocabulary.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde_json::Value;

use super::ProfanityError;
use super::model::Fields;

/// The token pattern this port implements (sklearn's default).
const TOKEN_PATTERN: &str = r"(?u)\b\w\w+\b";
/// The same tokens with Python's `\w` spelled out (see the module docs).
const RUST_PATTERN: &str = r"[\p{L}\p{N}_]{2,}";

/// Row normalisation (`norm=` of the vectorizer).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Norm {
    L1,
    L2,
    None,
}

#[derive(Debug, Clone)]
pub(super) struct Tfidf {
    /// Term → column, stop words left out: with unigrams, dropping stop words before the
    /// vocabulary lookup (sklearn's order) is the same as never finding them in it.
    lookup: HashMap<String, u32>,
    stop_words: HashSet<String>,
    idf: Option<Vec<f64>>,
    n_features: usize,
    lowercase: bool,
    binary: bool,
    sublinear_tf: bool,
    norm: Norm,
    token: Regex,
}

impl Tfidf {
    pub(super) fn n_features(&self) -> usize {
        self.n_features
    }

    fn lowered<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.lowercase {
            text.to_lowercase().into()
        } else {
            text.into()
        }
    }

    /// `build_analyzer()(text)`: lowercase, tokenize, drop stop words.
    pub(super) fn tokens(&self, text: &str) -> Vec<String> {
        let text = self.lowered(text);
        self.token
            .find_iter(&text)
            .map(|m| m.as_str())
            .filter(|t| !self.stop_words.contains(*t))
            .map(str::to_string)
            .collect()
    }

    /// The nonzero `(column, x_j)` of the tf-idf row, sorted by column (sklearn sorts the CSR
    /// indices): `tf_j` = count (`1` if binary, `1 + ln count` if sublinear), `x_j = tf_j ·
    /// idf_j`, then l2: `x_j / sqrt(Σ x_k²)` (l1: `x_j / Σ |x_k|`), sums in column order, a
    /// zero row left as it is.
    pub(super) fn transform(&self, text: &str) -> Vec<(u32, f64)> {
        let text = self.lowered(text);
        let mut cols: Vec<u32> = self
            .token
            .find_iter(&text)
            .filter_map(|m| self.lookup.get(m.as_str()).copied())
            .collect();
        cols.sort_unstable();
        let mut x: Vec<(u32, f64)> = Vec::with_capacity(cols.len());
        for j in cols {
            match x.last_mut() {
                Some((last, count)) if *last == j => *count += 1.0,
                _ => x.push((j, 1.0)),
            }
        }
        for (j, v) in &mut x {
            if self.binary {
                *v = 1.0;
            }
            if self.sublinear_tf {
                *v = v.ln() + 1.0;
            }
            if let Some(idf) = &self.idf {
                *v *= idf[*j as usize];
            }
        }
        let total = match self.norm {
            Norm::L2 => x.iter().fold(0.0, |s, (_, v)| s + v * v).sqrt(),
            Norm::L1 => x.iter().fold(0.0, |s, (_, v)| s + v.abs()),
            Norm::None => 0.0,
        };
        if total != 0.0 {
            for (_, v) in &mut x {
                *v /= total;
            }
        }
        x
    }

    /// Reads the `vectorizer` object of the export; refuses settings not implemented here.
    pub(super) fn from_json(f: &Fields, v: &Value, at: &str) -> Result<Self, ProfanityError> {
        let field = |key: &str| f.get(v, at, key);
        let name = |key: &str| format!("{at}.{key}");
        let expect =
            |key: &str, want: Value, supported: &'static str| -> Result<(), ProfanityError> {
                let got = field(key)?;
                if *got == want {
                    Ok(())
                } else {
                    Err(f.unsupported(&name(key), got, supported))
                }
            };
        expect("analyzer", "word".into(), "analyzer \"word\"")?;
        expect(
            "token_pattern",
            TOKEN_PATTERN.into(),
            "the default token pattern (?u)\\b\\w\\w+\\b",
        )?;
        expect(
            "ngram_range",
            serde_json::json!([1, 1]),
            "unigrams, ngram_range [1, 1]",
        )?;
        expect("strip_accents", Value::Null, "strip_accents null")?;
        expect("dtype", "float64".into(), "dtype float64")?;
        let norm = match field("norm")? {
            Value::String(s) if s == "l2" => Norm::L2,
            Value::String(s) if s == "l1" => Norm::L1,
            Value::Null => Norm::None,
            other => {
                return Err(f.unsupported(&name("norm"), other, "norm \"l2\", \"l1\" or null"));
            }
        };
        let n = f.usize(field("n_features")?, &name("n_features"))?;
        if u32::try_from(n).is_err() {
            let got = field("n_features")?;
            return Err(f.unsupported(&name("n_features"), got, "at most 2^32 - 1 columns"));
        }
        let use_idf = f.bool(field("use_idf")?, &name("use_idf"))?;
        let idf = if use_idf {
            Some(f.f64_vec(field("idf")?, &name("idf"), n)?)
        } else {
            None
        };
        let stop_words: HashSet<String> = match field("stop_words")? {
            Value::Null => HashSet::new(),
            s => f
                .array(s, &name("stop_words"))?
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    w.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| f.wrong_type(&format!("{at}.stop_words[{i}]"), "a string"))
                })
                .collect::<Result<_, _>>()?,
        };
        let vocab = field("vocabulary")?
            .as_object()
            .ok_or_else(|| f.wrong_type(&name("vocabulary"), "an object term -> column"))?;
        if vocab.len() != n {
            return Err(f.wrong_length(&name("vocabulary"), vocab.len(), n));
        }
        let mut owner: Vec<Option<&str>> = vec![None; n];
        let mut lookup = HashMap::with_capacity(n);
        for (term, col) in vocab {
            let here = format!("{at}.vocabulary[{term:?}]");
            let c = col
                .as_u64()
                .ok_or_else(|| f.wrong_type(&here, "a column index"))?;
            if c >= n as u64 {
                return Err(ProfanityError::ColumnOutOfRange {
                    path: f.path.to_path_buf(),
                    field: here,
                    column: c,
                    n_features: n,
                });
            }
            if let Some(other) = owner[c as usize] {
                return Err(ProfanityError::DuplicateColumn {
                    path: f.path.to_path_buf(),
                    field: here,
                    column: c,
                    other: other.to_string(),
                });
            }
            owner[c as usize] = Some(term);
            if !stop_words.contains(term) {
                lookup.insert(term.clone(), c as u32);
            }
        }
        Ok(Self {
            lookup,
            stop_words,
            idf,
            n_features: n,
            lowercase: f.bool(field("lowercase")?, &name("lowercase"))?,
            binary: f.bool(field("binary")?, &name("binary"))?,
            sublinear_tf: f.bool(field("sublinear_tf")?, &name("sublinear_tf"))?,
            norm,
            token: Regex::new(RUST_PATTERN).expect("valid token regex"),
        })
    }
}
