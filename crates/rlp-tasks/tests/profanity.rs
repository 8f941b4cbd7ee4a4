//! The alt-profanity-check 1.9.1 port against scikit-learn itself.
//!
//! The model's numbers are exported from the PyPI wheel by the project's own script,
//! `scripts/export_profanity.py`, into the cache (`$RLP_CACHE`, else `$XDG_CACHE_HOME/rlp`, else
//! `~/.cache/rlp`, then `profanity/profanity.json`), through `rlp_tasks::fetch::fetch_profanity`
//! (which installs scikit-learn 1.9.1 into the cache when `python3` lacks it; PyPI is needed
//! once).
//!
//! Parity: every sentence of `tests/fixtures/profanity.json` (written by
//! `scripts/profanity_reference.py`) must give sklearn's tokens exactly and its
//! `predict_proba(...)[:, 1]` to 1e-6. Then malformed files must fail with errors that name the
//! file and the field.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use rlp_tasks::fetch::fetch_profanity;
use rlp_tasks::profanity::{ProfanityError, ProfanityModel};
use serde_json::{Value, json};

const TOLERANCE: f64 = 1e-6;

/// The export in the cache, made by the project's script when it is not there yet (a no-op
/// when it is).
fn export_path() -> PathBuf {
    fetch_profanity(None).unwrap_or_else(|e| panic!("fetching the profanity model: {e}"))
}

/// One model per test process.
fn model() -> &'static ProfanityModel {
    static MODEL: OnceLock<ProfanityModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = export_path();
        ProfanityModel::load(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

struct Case {
    text: String,
    tokens: Vec<String>,
    p: f64,
}

fn fixture() -> Vec<Case> {
    let v: Value =
        serde_json::from_str(include_str!("fixtures/profanity.json")).expect("fixture parses");
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().expect("text").to_string(),
            tokens: c["tokens"]
                .as_array()
                .expect("tokens")
                .iter()
                .map(|t| t.as_str().expect("token").to_string())
                .collect(),
            p: c["p"].as_str().expect("p").parse().expect("p is a float"),
        })
        .collect()
}

#[test]
fn matches_sklearn_on_the_fixture() {
    let model = model();
    assert_eq!(model.n_features(), 15_442);
    assert_eq!(model.n_members(), 5);
    let cases = fixture();
    assert!(cases.len() >= 200, "{} sentences", cases.len());
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let start = Instant::now();
    let got = model.predict_proba_batch(&texts);
    let secs = start.elapsed().as_secs_f64();
    let (mut max_diff, mut exact, mut worst) = (0.0f64, 0, "");
    for (case, &p) in cases.iter().zip(&got) {
        assert_eq!(
            model.tokens(&case.text),
            case.tokens,
            "tokens of {:?}",
            case.text
        );
        let d = (p - case.p).abs();
        assert!(
            d <= TOLERANCE,
            "{:?}: rust {p}, sklearn {}, |Δ| = {d:e}",
            case.text,
            case.p
        );
        assert_eq!(
            model.predict_proba(&case.text),
            p,
            "batch and single differ on {:?}",
            case.text
        );
        exact += usize::from(p == case.p);
        if d > max_diff {
            (max_diff, worst) = (d, &case.text);
        }
    }
    let worst = if max_diff > 0.0 {
        format!(" (on {worst:?})")
    } else {
        String::new()
    };
    eprintln!(
        "profanity parity: {} sentences, max |Δ| = {max_diff:e}{worst}, {exact} bit-exact; \
         {:.0} sentences/s (first pass, cold)",
        cases.len(),
        cases.len() as f64 / secs
    );
}

#[test]
fn separates_clean_from_profane() {
    let m = model();
    assert!(m.predict_proba("Have a lovely day, and thanks for the help!") < 0.1);
    assert!(m.predict_proba("shut the fuck up, you stupid idiot") > 0.99);
}

// ---- load errors, on a small valid export that each test breaks in one place ----

fn tiny() -> Value {
    json!({
        "meta": {"format": "rlp-profanity/1"},
        "vectorizer": {
            "analyzer": "word", "lowercase": true, "strip_accents": null,
            "token_pattern": "(?u)\\b\\w\\w+\\b", "ngram_range": [1, 1],
            "stop_words": ["the"], "binary": false, "sublinear_tf": false, "use_idf": true,
            "smooth_idf": true, "norm": "l2", "dtype": "float64", "n_features": 3,
            "vocabulary": {"bad": 0, "good": 1, "ugly": 2},
            "idf": ["1.5", "4.0", "2.0"]
        },
        "members": [
            {"coef": ["2.0", "-0.5", "1.0"], "intercept": "0.1", "a": "-2.0", "b": "1.8"},
            {"coef": ["1.0", "-1.0", "0.5"], "intercept": "0.0", "a": "-1.0", "b": "0.0"}
        ]
    })
}

/// Writes `text` to a file in a fresh scratch dir, loads it, removes the dir.
fn load_text(name: &str, text: &str) -> (PathBuf, Result<ProfanityModel, ProfanityError>) {
    let dir = rlp_core::ScratchDir::new("profanity-test").unwrap();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, text).unwrap();
    let r = ProfanityModel::load(&path);
    (path, r)
}

fn load_broken(name: &str, edit: impl FnOnce(&mut Value)) -> (PathBuf, ProfanityError) {
    let mut v = tiny();
    edit(&mut v);
    let (path, r) = load_text(name, &v.to_string());
    let err = r.expect_err("a broken export must not load");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message names the file: {msg}"
    );
    (path, err)
}

#[test]
fn tiny_export_loads() {
    let (_, r) = load_text("valid", &tiny().to_string());
    let m = r.unwrap();
    assert_eq!((m.n_features(), m.n_members()), (3, 2));
    assert_eq!(m.tokens("The BAD, the good"), ["bad", "good"]);
}

#[test]
fn missing_file_and_bad_json() {
    let path = std::env::temp_dir().join("rlp-profanity-test-no-such-file.json");
    let err = ProfanityModel::load(&path).unwrap_err();
    assert!(matches!(err, ProfanityError::Io { .. }), "{err}");
    assert!(err.to_string().contains("no-such-file"), "{err}");
    let (_, r) = load_text("not-json", "{\"vectorizer\": ");
    assert!(matches!(r.unwrap_err(), ProfanityError::Json { .. }));
}

#[test]
fn missing_fields_are_named() {
    let (_, e) = load_broken("no-idf", |v| {
        v["vectorizer"].as_object_mut().unwrap().remove("idf");
    });
    assert!(
        matches!(&e, ProfanityError::MissingField { field, .. } if field == "vectorizer.idf"),
        "{e}"
    );
    let (_, e) = load_broken("no-b", |v| {
        v["members"][1].as_object_mut().unwrap().remove("b");
    });
    assert!(
        matches!(&e, ProfanityError::MissingField { field, .. } if field == "members[1].b"),
        "{e}"
    );
    let (_, e) = load_broken("no-members", |v| {
        v.as_object_mut().unwrap().remove("members");
    });
    assert!(
        matches!(&e, ProfanityError::MissingField { field, .. } if field == "members"),
        "{e}"
    );
}

#[test]
fn wrong_lengths_are_named() {
    let (_, e) = load_broken("short-idf", |v| {
        v["vectorizer"]["idf"] = json!(["1.0", "2.0"])
    });
    assert!(
        matches!(&e, ProfanityError::WrongLength { field, len: 2, expected: 3, .. } if field == "vectorizer.idf"),
        "{e}"
    );
    let (_, e) = load_broken("long-coef", |v| {
        v["members"][1]["coef"] = json!([1, 2, 3, 4])
    });
    assert!(
        matches!(&e, ProfanityError::WrongLength { field, len: 4, expected: 3, .. } if field == "members[1].coef"),
        "{e}"
    );
    let (_, e) = load_broken("short-vocab", |v| {
        v["vectorizer"]["vocabulary"]
            .as_object_mut()
            .unwrap()
            .remove("ugly");
    });
    assert!(
        matches!(&e, ProfanityError::WrongLength { field, .. } if field == "vectorizer.vocabulary"),
        "{e}"
    );
    let (_, e) = load_broken("n-features", |v| v["vectorizer"]["n_features"] = json!(4));
    assert!(
        matches!(&e, ProfanityError::WrongLength { field, len: 3, expected: 4, .. } if field == "vectorizer.idf"),
        "{e}"
    );
    let (_, e) = load_broken("empty-members", |v| v["members"] = json!([]));
    assert!(
        matches!(&e, ProfanityError::WrongLength { field, len: 0, .. } if field == "members"),
        "{e}"
    );
}

#[test]
fn non_finite_numbers_are_refused() {
    for (name, bad) in [
        ("nan", json!("nan")),
        ("inf", json!("-inf")),
        ("overflow", json!("1e999")),
    ] {
        let (_, e) = load_broken(name, |v| v["members"][0]["coef"][1] = bad);
        assert!(
            matches!(&e, ProfanityError::NonFinite { field, .. } if field == "members[0].coef[1]"),
            "{e}"
        );
    }
    let (_, e) = load_broken("inf-a", |v| v["members"][1]["a"] = json!("inf"));
    assert!(
        matches!(&e, ProfanityError::NonFinite { field, .. } if field == "members[1].a"),
        "{e}"
    );
    let (_, e) = load_broken("text-idf", |v| v["vectorizer"]["idf"][0] = json!("one"));
    assert!(
        matches!(&e, ProfanityError::WrongType { field, .. } if field == "vectorizer.idf[0]"),
        "{e}"
    );
}

#[test]
fn vocabulary_columns_are_checked() {
    let (_, e) = load_broken("col-range", |v| {
        v["vectorizer"]["vocabulary"]["ugly"] = json!(3)
    });
    assert!(
        matches!(&e, ProfanityError::ColumnOutOfRange { field, column: 3, n_features: 3, .. }
            if field == "vectorizer.vocabulary[\"ugly\"]"),
        "{e}"
    );
    let (_, e) = load_broken("col-dup", |v| {
        v["vectorizer"]["vocabulary"]["ugly"] = json!(0)
    });
    assert!(
        matches!(&e, ProfanityError::DuplicateColumn { column: 0, .. }),
        "{e}"
    );
    let (_, e) = load_broken("col-neg", |v| {
        v["vectorizer"]["vocabulary"]["ugly"] = json!(-1)
    });
    assert!(matches!(&e, ProfanityError::WrongType { .. }), "{e}");
}

#[test]
fn unsupported_settings_are_refused() {
    let cases: [(&str, &str, Value); 5] = [
        ("bigrams", "ngram_range", json!([1, 2])),
        ("pattern", "token_pattern", json!("\\S+")),
        ("accents", "strip_accents", json!("unicode")),
        ("norm", "norm", json!("max")),
        ("chars", "analyzer", json!("char")),
    ];
    for (name, key, bad) in cases {
        let (_, e) = load_broken(name, |v| v["vectorizer"][key] = bad);
        let want = format!("vectorizer.{key}");
        assert!(
            matches!(&e, ProfanityError::Unsupported { field, .. } if *field == want),
            "{e}"
        );
    }
    let (_, e) = load_broken("binary-type", |v| v["vectorizer"]["binary"] = json!("yes"));
    assert!(
        matches!(&e, ProfanityError::WrongType { field, .. } if field == "vectorizer.binary"),
        "{e}"
    );
}
