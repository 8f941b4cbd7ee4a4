//! `--set KEY=VALUE`: one override layer for every field of every run config. The config is
//! turned into a TOML tree, each `KEY` (a dotted path such as `ppo.lr` or `eval.max_new_tokens`)
//! is set to `VALUE` (read as a TOML value — `1e-4`, `true`, `[0, 1]`, `{ kind = "fixed", beta
//! = 0.1 }` — and as a plain string when it is not one), and the tree is read back through the
//! config's own serde rules, so an unknown key or a wrong type is the same error a config file
//! would give, naming the `--set` at fault.

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `config` with every `KEY=VALUE` of `sets` applied in order (a later one wins).
pub fn apply_sets<C: Serialize + DeserializeOwned>(config: C, sets: &[String]) -> Result<C> {
    if sets.is_empty() {
        return Ok(config);
    }
    let mut tree = toml::Table::try_from(&config).context("the config is not a TOML table")?;
    for set in sets {
        let (path, raw) = set
            .split_once('=')
            .with_context(|| format!("--set {set}: expected KEY=VALUE, e.g. ppo.lr=1e-4"))?;
        let keys: Vec<&str> = path.trim().split('.').map(str::trim).collect();
        if keys.iter().any(|k| k.is_empty()) {
            bail!("--set {set}: `{path}` is not a dotted key such as ppo.lr");
        }
        let value = parse_value(raw.trim());
        let (last, parents) = keys.split_last().expect("at least one key");
        let mut table = &mut tree;
        for (i, key) in parents.iter().enumerate() {
            let entry = table
                .entry(key.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = match entry {
                toml::Value::Table(t) => t,
                _ => bail!(
                    "--set {set}: `{}` is a value, not a table of settings",
                    keys[..=i].join(".")
                ),
            };
        }
        table.insert(last.to_string(), value);
        let check: Result<C, _> = toml::Value::Table(tree.clone()).try_into();
        if let Err(e) = check {
            bail!("--set {set}: {}", e.message().trim());
        }
    }
    Ok(toml::Value::Table(tree).try_into()?)
}

/// `raw` as a TOML value, or as a string when it does not parse as one (so `task=arith` and
/// `task="arith"` mean the same).
fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        lr: f64,
        steps: usize,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Outer {
        task: String,
        seeds: Vec<u64>,
        inner: Inner,
        extra: Option<Inner>,
    }

    impl Default for Inner {
        fn default() -> Self {
            Self {
                lr: 1e-3,
                steps: 10,
            }
        }
    }

    impl Default for Outer {
        fn default() -> Self {
            Self {
                task: "arith".into(),
                seeds: vec![0],
                inner: Inner::default(),
                extra: None,
            }
        }
    }

    fn sets(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn sets_reach_any_field_and_later_ones_win() {
        let c = apply_sets(
            Outer::default(),
            &sets(&[
                "inner.lr=1e-4",
                "task=tweet-sentiment",
                "seeds=[1, 2]",
                "extra.steps=3",
                "inner.steps=5",
                "inner.steps=7",
            ]),
        )
        .unwrap();
        assert_eq!(c.inner, Inner { lr: 1e-4, steps: 7 });
        assert_eq!(
            (c.task.as_str(), c.seeds.as_slice()),
            ("tweet-sentiment", &[1, 2][..])
        );
        // A table that was unset (None) is created with the field's defaults.
        assert_eq!(c.extra, Some(Inner { lr: 1e-3, steps: 3 }));
        assert_eq!(apply_sets(Outer::default(), &[]).unwrap(), Outer::default());
    }

    #[test]
    fn unknown_keys_wrong_types_and_bad_syntax_name_the_set() {
        let err = |s: &str| {
            apply_sets(Outer::default(), &sets(&[s]))
                .unwrap_err()
                .to_string()
        };
        let e = err("inner.lrr=1");
        assert!(e.contains("--set inner.lrr=1") && e.contains("lrr"), "{e}");
        let e = err("inner.steps=many");
        assert!(
            e.contains("--set inner.steps=many") && e.contains("invalid type"),
            "{e}"
        );
        assert!(err("inner.lr").contains("KEY=VALUE"));
        assert!(err("inner..lr=1").contains("dotted key"));
        assert!(err("task.x=1").contains("not a table"));
    }
}
