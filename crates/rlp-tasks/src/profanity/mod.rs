//! A pure-Rust port of the `alt-profanity-check==1.9.1` toxicity model (PyPI, MIT), the gold
//! toxicity scorer R1 of the `tweet-detox` task (`datasets/README.md`): P(profane) of a text,
//! for a reward of `1 − p`.
//!
//! The model is scikit-learn's, and this module repeats its arithmetic step by step in f64:
//!
//! 1. `TfidfVectorizer` (`analyzer="word"`, `ngram_range=(1, 1)`): Python `str.lower`, tokens
//!    `(?u)\b\w\w+\b`, English stop words removed, counts per vocabulary column (15,442 terms);
//!    `tf = count` (or `1` if `binary`, `1 + ln count` if `sublinear_tf`), `x_j = tf_j · idf_j`,
//!    then `x ← x / ‖x‖₂` (an all-zero row stays zero). Python's `\w` there is
//!    `[\p{L}\p{N}_]`, not Rust regex's `\w` (marks, ZWJ, ² differ): see `tfidf.rs`.
//! 2. `CalibratedClassifierCV(LinearSVC, method="sigmoid")` with 5 members, each a linear SVM
//!    `f_i = w_i·x + c_i` and a Platt calibrator `p_i = 1 / (1 + exp(a_i f_i + b_i))`; the
//!    result is the mean `p = (p_1 + … + p_5) / 5`.
//!
//! The numbers (vocabulary, idf, `w_i`, `c_i`, `a_i`, `b_i`) are not in this repository: the
//! project's `crates/rlp-tasks/scripts/export_profanity.py` downloads the wheel from PyPI, checks
//! its sha256, unpickles it with scikit-learn 1.9.1 and writes them as JSON (every float as the
//! repr() string of the float64, so the bits round-trip exactly) to
//! `$RLP_CACHE/profanity/profanity.json` (else `$XDG_CACHE_HOME/rlp/…`, else `~/.cache/rlp/…`).
//! `tests/profanity.rs` compares [`ProfanityModel::predict_proba`] with sklearn's
//! `predict_proba(...)[:, 1]` on the committed fixture `tests/fixtures/profanity.json`.

mod model;
mod tfidf;

use std::path::{Path, PathBuf};

use model::{Fields, Member};
use tfidf::Tfidf;

/// Why a profanity model file could not be loaded. Every variant names the file; the field
/// variants also name the JSON field at fault as a path such as `members[2].coef[17]`.
#[derive(Debug, thiserror::Error)]
pub enum ProfanityError {
    /// The file could not be read.
    #[error("cannot read the profanity model {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: not valid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A required field is absent.
    #[error("{}: missing field `{field}`", path.display())]
    MissingField {
        /// The file.
        path: PathBuf,
        /// The JSON path of the missing field.
        field: String,
    },
    /// A field holds the wrong kind of value.
    #[error("{}: field `{field}`: expected {expected}", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The JSON path of the field.
        field: String,
        /// What the field should hold.
        expected: &'static str,
    },
    /// An array (or the vocabulary) has the wrong number of entries.
    #[error("{}: field `{field}` has {len} entries, expected {expected}", path.display())]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// The JSON path of the field.
        field: String,
        /// Its length.
        len: usize,
        /// The length it must have (`n_features`, or "at least one" written as 1).
        expected: usize,
    },
    /// A number is NaN or infinite.
    #[error("{}: field `{field}` = {value} is not a finite number", path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The JSON path of the number.
        field: String,
        /// The number as written in the file.
        value: String,
    },
    /// A vocabulary column is not below `n_features`.
    #[error("{}: field `{field}`: column {column} out of range 0..{n_features}", path.display())]
    ColumnOutOfRange {
        /// The file.
        path: PathBuf,
        /// The JSON path of the vocabulary entry.
        field: String,
        /// The column.
        column: u64,
        /// The number of columns.
        n_features: usize,
    },
    /// Two vocabulary terms share a column.
    #[error("{}: field `{field}`: column {column} is also used by {other:?}", path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The JSON path of the second entry.
        field: String,
        /// The column.
        column: u64,
        /// The term that had it first.
        other: String,
    },
    /// A setting this port does not implement (e.g. bigrams, a custom token pattern).
    #[error("{}: field `{field}` = {value}: unsupported, this port implements {supported}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The JSON path of the setting.
        field: String,
        /// The value found.
        value: String,
        /// What is implemented.
        supported: &'static str,
    },
}

/// The alt-profanity-check model: a TF-IDF vectorizer and an ensemble of sigmoid-calibrated
/// linear SVMs, `p = mean_i 1 / (1 + exp(a_i (w_i·x + c_i) + b_i))` (see the module docs).
#[derive(Debug, Clone)]
pub struct ProfanityModel {
    tfidf: Tfidf,
    members: Vec<Member>,
}

impl ProfanityModel {
    /// Reads the JSON written by `scripts/export_profanity.py` (fields `vectorizer` and
    /// `members`; floats as decimal strings or JSON numbers). Checks every field: errors name
    /// the file and the field (missing, wrong type or length, non-finite, column out of range,
    /// unsupported setting).
    pub fn load(path: &Path) -> Result<Self, ProfanityError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfanityError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text, path)
    }

    /// As [`ProfanityModel::load`], from the file's text; `path` is only used in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, ProfanityError> {
        let root: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ProfanityError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        let f = Fields { path };
        let tfidf = Tfidf::from_json(&f, f.get(&root, "", "vectorizer")?, "vectorizer")?;
        let members = model::members_from_json(&f, &root, tfidf.n_features())?;
        Ok(Self { tfidf, members })
    }

    /// P(profane) of `text`: `p = (Σ_i 1 / (1 + exp(a_i (w_i·x + c_i) + b_i))) / n`, `x` the
    /// l2-normalised tf-idf row of `text`, summed in member order and then divided, as
    /// sklearn's `CalibratedClassifierCV.predict_proba(X)[:, 1]` does.
    pub fn predict_proba(&self, text: &str) -> f64 {
        let x = self.tfidf.transform(text);
        let mut sum = 0.0;
        for m in &self.members {
            sum += m.probability(&x);
        }
        sum / self.members.len() as f64
    }

    /// [`ProfanityModel::predict_proba`] of each text, in order (single thread).
    pub fn predict_proba_batch(&self, texts: &[&str]) -> Vec<f64> {
        texts.iter().map(|t| self.predict_proba(t)).collect()
    }

    /// The tokens sklearn's `build_analyzer()` gives for `text`: lowercased, `\b\w\w+\b` with
    /// Python's `\w`, stop words removed, in order, whether or not they are in the vocabulary.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        self.tfidf.tokens(text)
    }

    /// The number of vocabulary columns (15,442 for alt-profanity-check 1.9.1).
    pub fn n_features(&self) -> usize {
        self.tfidf.n_features()
    }

    /// The number of calibrated SVMs averaged (5 for alt-profanity-check 1.9.1).
    pub fn n_members(&self) -> usize {
        self.members.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made model. Vocabulary `bad`→0, `good`→1, `the`→2 (a stop word, so never
    /// counted although its weight is huge), idf `[1.5, 4.0, 1.0]`, two members:
    /// `w_1 = [2, -0.5, 100]`, `c_1 = 0.1`, `a_1 = -2`, `b_1 = 1.8` and
    /// `w_2 = [2, -0.5, 100]`, `c_2 = 0.1`, `a_2 = -1`, `b_2 = 0`.
    fn tiny(binary: bool, sublinear_tf: bool) -> ProfanityModel {
        let json = format!(
            r#"{{"vectorizer": {{"analyzer": "word", "lowercase": true, "strip_accents": null,
              "token_pattern": "(?u)\\b\\w\\w+\\b", "ngram_range": [1, 1],
              "stop_words": ["the", "a"], "binary": {binary}, "sublinear_tf": {sublinear_tf},
              "use_idf": true, "smooth_idf": true, "norm": "l2", "dtype": "float64",
              "n_features": 3, "vocabulary": {{"bad": 0, "good": 1, "the": 2}},
              "idf": ["1.5", "4.0", 1.0]}},
             "members": [
              {{"coef": ["2.0", "-0.5", "100"], "intercept": "0.1", "a": "-2.0", "b": "1.8"}},
              {{"coef": [2.0, -0.5, 100.0], "intercept": 0.1, "a": -1, "b": 0}}]}}"#
        );
        ProfanityModel::from_json_str(&json, Path::new("tiny.json")).unwrap()
    }

    fn sigmoid(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    #[test]
    fn golden_counts_idf_l2_and_calibration() {
        // "Bad bad GOOD the a": tokens bad, bad, good ("the" and "a" are stop words, "a" is also
        // a single character). tf·idf = (2·1.5, 1·4.0, 0) = (3, 4, 0), ‖·‖₂ = 5, x = (0.6, 0.8, 0).
        // f_1 = f_2 = 2·0.6 − 0.5·0.8 + 0.1 = 0.9.
        // p_1 = 1/(1+exp(−2·0.9 + 1.8)) = 1/(1+e⁰) = 0.5; p_2 = 1/(1+exp(−0.9)) = σ(0.9)
        //     = 0.7109495026250039; p = (0.5 + 0.7109495026250039)/2 = 0.605474751312502.
        let m = tiny(false, false);
        assert_eq!(m.tokens("Bad bad GOOD the a"), ["bad", "bad", "good"]);
        let p = m.predict_proba("Bad bad GOOD the a");
        assert!((p - 0.605474751312502).abs() < 1e-12, "{p}");
        assert!((sigmoid(0.9) - 0.7109495026250039).abs() < 1e-15);
    }

    #[test]
    fn golden_empty_row_is_the_intercept() {
        // No known token: x = 0 (not normalised), f_1 = f_2 = c = 0.1.
        // p_1 = 1/(1+exp(−0.2 + 1.8)) = σ(−1.6) = 0.16798161486607552,
        // p_2 = σ(0.1) = 0.52497918747894, p = 0.3464804011725078.
        let m = tiny(false, false);
        for text in ["", "x", "the the", "unknown words only", "ba d"] {
            let p = m.predict_proba(text);
            assert!((p - 0.3464804011725078).abs() < 1e-12, "{text:?}: {p}");
        }
        assert_eq!(m.predict_proba_batch(&["", "bad"]).len(), 2);
    }

    #[test]
    fn golden_single_token_is_a_unit_vector() {
        // "good!": x = (0, 1, 0) whatever the idf; f = −0.5 + 0.1 = −0.4.
        // p_1 = 1/(1+exp(0.8 + 1.8)) = σ(−2.6) = 0.06913842034334682,
        // p_2 = 1/(1+exp(0.4)) = σ(−0.4) = 0.401312339887548, p = 0.2352253801154474.
        let m = tiny(false, false);
        let want = 0.2352253801154474;
        assert!((m.predict_proba("good!") - want).abs() < 1e-12);
        assert!((m.predict_proba("GOOD good good") - want).abs() < 1e-12);
    }

    #[test]
    fn golden_binary_and_sublinear_tf() {
        // binary: "bad bad good" counts (1, 1) → tf·idf (1.5, 4), norm √18.25.
        let m = tiny(true, false);
        let n = (1.5f64 * 1.5 + 16.0).sqrt();
        let f = 2.0 * (1.5 / n) - 0.5 * (4.0 / n) + 0.1;
        let want = (sigmoid(-(-2.0 * f + 1.8)) + sigmoid(f)) / 2.0;
        assert!((m.predict_proba("bad bad good") - want).abs() < 1e-12);
        // sublinear: tf(bad) = 1 + ln 2.
        let m = tiny(false, true);
        let b = (1.0 + 2f64.ln()) * 1.5;
        let n = (b * b + 16.0).sqrt();
        let f = 2.0 * (b / n) - 0.5 * (4.0 / n) + 0.1;
        let want = (sigmoid(-(-2.0 * f + 1.8)) + sigmoid(f)) / 2.0;
        assert!((m.predict_proba("bad bad good") - want).abs() < 1e-12);
    }

    #[test]
    fn python_word_characters() {
        // Python's `\w` is [\p{L}\p{N}_]: superscripts and ½ are word characters, combining
        // marks, ZWJ and U+203F are not (Rust regex's `\w` says the opposite for each).
        let m = tiny(false, false);
        assert_eq!(m.tokens("bad² bad½ x_y"), ["bad²", "bad½", "x_y"]);
        assert_eq!(
            m.tokens("bad\u{301} go\u{200d}od bad\u{203f}good"),
            ["bad", "go", "od", "bad", "good"]
        );
        // İ lowercases to i + U+0307, so "İbad" gives "i", a mark, then "bad"; a final Σ
        // lowercases to ς; the Kelvin sign to k.
        assert_eq!(
            m.tokens("İbad ΟΔΟΣ \u{212a}ill"),
            ["bad", "\u{3bf}\u{3b4}\u{3bf}\u{3c2}", "kill"]
        );
    }
}
