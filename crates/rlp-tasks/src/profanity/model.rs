//! The calibrated linear SVMs of `CalibratedClassifierCV(LinearSVC, method="sigmoid")`, and the
//! checked reading of the export's JSON fields.

use std::path::Path;

use serde_json::Value;

use super::ProfanityError;

/// One ensemble member: `LinearSVC` weights `w` (dense, one per column) and intercept `c`, and
/// its `_SigmoidCalibration` (`a`, `b`).
#[derive(Debug, Clone)]
pub(super) struct Member {
    coef: Vec<f64>,
    intercept: f64,
    a: f64,
    b: f64,
}

impl Member {
    /// `1 / (1 + exp(a f + b))` with `f = Σ_j x_j w_j + c` summed in column order from 0, as
    /// scipy's CSR mat-vec product, then `+ intercept_`, then sklearn's `expit(-(a f + b))`.
    /// `x` holds the nonzero `(column, value)` pairs sorted by column.
    pub(super) fn probability(&self, x: &[(u32, f64)]) -> f64 {
        let mut dot = 0.0;
        for &(j, v) in x {
            dot += v * self.coef[j as usize];
        }
        let f = dot + self.intercept;
        1.0 / (1.0 + (self.a * f + self.b).exp())
    }
}

/// Reads `members`: a non-empty array of `{coef, intercept, a, b}`, `coef` of length `n`.
pub(super) fn members_from_json(
    f: &Fields,
    root: &Value,
    n: usize,
) -> Result<Vec<Member>, ProfanityError> {
    let list = f.array(f.get(root, "", "members")?, "members")?;
    if list.is_empty() {
        return Err(f.wrong_length("members", 0, 1));
    }
    let mut members = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let at = format!("members[{i}]");
        members.push(Member {
            coef: f.f64_vec(f.get(m, &at, "coef")?, &format!("{at}.coef"), n)?,
            intercept: f.f64(f.get(m, &at, "intercept")?, &format!("{at}.intercept"))?,
            a: f.f64(f.get(m, &at, "a")?, &format!("{at}.a"))?,
            b: f.f64(f.get(m, &at, "b")?, &format!("{at}.b"))?,
        });
    }
    Ok(members)
}

/// Field access that turns every problem into a [`ProfanityError`] naming the file and the
/// field's JSON path (`vectorizer.idf[3]`, `members[0].a`, ...).
pub(super) struct Fields<'p> {
    pub(super) path: &'p Path,
}

impl Fields<'_> {
    fn join(at: &str, key: &str) -> String {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    }

    /// `parent[key]`; `at` is the parent's path.
    pub(super) fn get<'v>(
        &self,
        parent: &'v Value,
        at: &str,
        key: &str,
    ) -> Result<&'v Value, ProfanityError> {
        let Some(obj) = parent.as_object() else {
            return Err(self.wrong_type(if at.is_empty() { "<root>" } else { at }, "an object"));
        };
        obj.get(key).ok_or_else(|| ProfanityError::MissingField {
            path: self.path.to_path_buf(),
            field: Self::join(at, key),
        })
    }

    pub(super) fn wrong_type(&self, field: &str, expected: &'static str) -> ProfanityError {
        ProfanityError::WrongType {
            path: self.path.to_path_buf(),
            field: field.into(),
            expected,
        }
    }

    pub(super) fn wrong_length(&self, field: &str, len: usize, expected: usize) -> ProfanityError {
        ProfanityError::WrongLength {
            path: self.path.to_path_buf(),
            field: field.into(),
            len,
            expected,
        }
    }

    pub(super) fn unsupported(
        &self,
        field: &str,
        value: &Value,
        supported: &'static str,
    ) -> ProfanityError {
        ProfanityError::Unsupported {
            path: self.path.to_path_buf(),
            field: field.into(),
            value: value.to_string(),
            supported,
        }
    }

    pub(super) fn array<'v>(
        &self,
        v: &'v Value,
        field: &str,
    ) -> Result<&'v Vec<Value>, ProfanityError> {
        v.as_array()
            .ok_or_else(|| self.wrong_type(field, "an array"))
    }

    pub(super) fn bool(&self, v: &Value, field: &str) -> Result<bool, ProfanityError> {
        v.as_bool()
            .ok_or_else(|| self.wrong_type(field, "true or false"))
    }

    pub(super) fn usize(&self, v: &Value, field: &str) -> Result<usize, ProfanityError> {
        v.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.wrong_type(field, "a non-negative integer"))
    }

    /// A float64 written as a decimal string (exact: Rust's parser is correctly rounded) or as
    /// a JSON number; NaN and ±inf are refused.
    pub(super) fn f64(&self, v: &Value, field: &str) -> Result<f64, ProfanityError> {
        let x = match v {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
        .ok_or_else(|| self.wrong_type(field, "a float64 (decimal string or number)"))?;
        if !x.is_finite() {
            let value = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return Err(ProfanityError::NonFinite {
                path: self.path.to_path_buf(),
                field: field.into(),
                value,
            });
        }
        Ok(x)
    }

    /// An array of exactly `n` float64s (see [`Fields::f64`]).
    pub(super) fn f64_vec(
        &self,
        v: &Value,
        field: &str,
        n: usize,
    ) -> Result<Vec<f64>, ProfanityError> {
        let a = self.array(v, field)?;
        if a.len() != n {
            return Err(self.wrong_length(field, a.len(), n));
        }
        a.iter()
            .enumerate()
            .map(|(i, x)| self.f64(x, &format!("{field}[{i}]")))
            .collect()
    }
}
