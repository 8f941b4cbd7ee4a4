//! `arith`: arithmetic word problems with one correct integer answer — the convergent-answer
//! setting RLP-SPG's self-consistency needs (Lang et al., NAACL 2024, evaluate on instruction
//! following whose answers converge; a tweet continuation has no such thing).
//!
//! - prompts: templated word problems ([`problem`]), 1–3 operations from + − × ÷ on small
//!   integers, ending in [`ANSWER_CUE`]; a policy answers with free text whose answer line is
//!   `The answer is N.` (the worked solutions the base policy learns from end that way);
//! - gold ([`ArithGold`]): 1 when the first answer line ([`rlp_core::answer::final_answer`])
//!   equals the problem's answer, else 0 — a missing, malformed or out-of-range answer is wrong;
//! - splits, all generated from one seed and disjoint by prompt text ([`splits`]): 4,000 train
//!   prompts to optimise on, 500 dev prompts for choosing hyperparameters (carved from the same
//!   distribution, never reported), 500 eval prompts, 10,000 worked solutions to SFT the base
//!   policy on, and a drift corpus of 1,000 held-out worked solutions;
//! - the base policy: `models/arith/base`, trained by this project on the SFT split (its README
//!   gives the command, seed and wall time).
//!
//! The data ships in `datasets/arith` with a MANIFEST of counts and sha256; `rlp data arith
//! --out datasets/arith` regenerates it byte for byte ([`write_dataset`]). The task itself is
//! generated in memory from the same code, so it needs no files.

mod dataset;
pub mod problem;

use std::collections::HashMap;

use rlp_core::answer::final_answer;
use rlp_core::burn::tensor::Device;
use rlp_core::{BoxError, RewardFn, SeededRng, check_pairing};

pub use dataset::{DatasetFile, Manifest, dataset_files, render_split, write_dataset};
pub use problem::{ANSWER_CUE, Op, Problem, random_problem};

use crate::assets::shipped_base_policy;
use crate::error::TaskError;
use crate::task::{BasePolicy, Task};

/// The task's name.
pub const NAME: &str = "arith";

/// The seed every split is generated from.
pub const SEED: u64 = 20_241_207;

/// Problems per split, in the order they are drawn.
pub const SPLIT_SIZES: [(&str, usize); 5] = [
    ("eval", 500),
    ("dev", 500),
    ("train", 4000),
    ("sft", 10_000),
    ("drift", 1000),
];

/// The task's splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splits {
    /// Held-out prompts the results are reported on.
    pub eval: Vec<Problem>,
    /// Prompts for choosing hyperparameters.
    pub dev: Vec<Problem>,
    /// Prompts to optimise on.
    pub train: Vec<Problem>,
    /// Worked solutions the base policy is fine-tuned on.
    pub sft: Vec<Problem>,
    /// Held-out worked solutions for the drift perplexity.
    pub drift: Vec<Problem>,
}

impl Splits {
    /// Every split with its name, in [`SPLIT_SIZES`] order.
    pub fn named(&self) -> [(&'static str, &[Problem]); 5] {
        [
            ("eval", &self.eval),
            ("dev", &self.dev),
            ("train", &self.train),
            ("sft", &self.sft),
            ("drift", &self.drift),
        ]
    }
}

/// The splits of [`SEED`]: problems drawn in turn from one stream, a prompt already drawn
/// skipped, cut into [`SPLIT_SIZES`].
pub fn splits() -> Splits {
    let mut rng = SeededRng::new(SEED).fork("arith/problems");
    let mut seen = std::collections::HashSet::new();
    let mut take = |n: usize| -> Vec<Problem> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let p = random_problem(&mut rng);
            if seen.insert(p.prompt.clone()) {
                out.push(p);
            }
        }
        out
    };
    let [eval, dev, train, sft, drift] = SPLIT_SIZES.map(|(_, n)| take(n));
    Splits {
        eval,
        dev,
        train,
        sft,
        drift,
    }
}

/// The task: train and eval prompts, the gold scorer over every split's prompts, and the drift
/// corpus (prompt + worked solution).
pub fn arith() -> Task {
    let s = splits();
    let prompts = |ps: &[Problem]| ps.iter().map(|p| p.prompt.clone()).collect::<Vec<_>>();
    Task {
        name: NAME.into(),
        train_prompts: prompts(&s.train),
        eval_prompts: prompts(&s.eval),
        dev_prompts: prompts(&s.dev),
        drift: s
            .drift
            .iter()
            .map(|p| format!("{}{}", p.prompt, p.solution))
            .collect(),
        gold: Box::new(ArithGold::new(
            s.named().iter().flat_map(|(_, ps)| ps.iter()),
        )),
    }
}

/// The shipped base policy's directory, `models/arith/base` (see [`crate::assets`]).
pub fn base_policy_dir() -> std::path::PathBuf {
    crate::assets::models_dir(NAME).join("base")
}

/// The shipped base policy (`models/arith/base`) and its tokenizer.
pub fn base_policy(device: &Device) -> Result<BasePolicy, TaskError> {
    shipped_base_policy(NAME, device)
}

/// The gold scorer: 1.0 when a response's first answer line states the prompt's answer, else
/// 0.0. It knows the answers of the problems it was built from; a prompt it does not know is
/// an error naming it.
#[derive(Debug, Clone)]
pub struct ArithGold {
    answers: HashMap<String, i64>,
}

impl ArithGold {
    /// A scorer for `problems`.
    pub fn new<'a>(problems: impl IntoIterator<Item = &'a Problem>) -> Self {
        Self {
            answers: problems
                .into_iter()
                .map(|p| (p.prompt.clone(), p.answer))
                .collect(),
        }
    }

    /// The answer to `prompt`, when it is one of the scorer's problems.
    pub fn answer(&self, prompt: &str) -> Option<i64> {
        self.answers.get(prompt).copied()
    }

    /// Whether `response` answers `prompt` correctly (`None` for an unknown prompt).
    pub fn correct(&self, prompt: &str, response: &str) -> Option<bool> {
        let answer = self.answer(prompt)?;
        Some(final_answer(response) == Some(answer))
    }
}

impl RewardFn for ArithGold {
    fn name(&self) -> String {
        "arith-gold".into()
    }

    fn score(&self, prompts: &[String], responses: &[String]) -> Result<Vec<f32>, BoxError> {
        check_pairing(&self.name(), prompts, responses)?;
        prompts
            .iter()
            .zip(responses)
            .enumerate()
            .map(|(i, (p, r))| match self.correct(p, r) {
                Some(ok) => Ok(f32::from(u8::from(ok))),
                None => Err(format!(
                    "arith-gold: prompt {i} is not an arith problem: {:?}",
                    p.chars().take(80).collect::<String>()
                )
                .into()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_have_their_sizes_and_are_disjoint() {
        let s = splits();
        let named = s.named();
        for ((name, ps), (want_name, n)) in named.iter().zip(SPLIT_SIZES) {
            assert_eq!((*name, ps.len()), (want_name, n));
        }
        let all: std::collections::HashSet<&str> = named
            .iter()
            .flat_map(|(_, ps)| ps.iter().map(|p| p.prompt.as_str()))
            .collect();
        assert_eq!(all.len(), SPLIT_SIZES.iter().map(|(_, n)| n).sum::<usize>());
    }

    #[test]
    fn gold_scores_first_answer_lines_and_names_unknown_prompts() {
        let s = splits();
        let gold = ArithGold::new(&s.eval);
        let p = &s.eval[0];
        let prompts = vec![p.prompt.clone(); 5];
        let right = format!("The answer is {}.", p.answer);
        let wrong = format!("The answer is {}.", p.answer + 1);
        let responses = vec![
            p.solution.clone(),
            format!(" I think so.\n{right}"),
            format!("{wrong}\n{right}"),
            format!("The answer is {}", p.answer),
            String::new(),
        ];
        assert_eq!(
            gold.score(&prompts, &responses).unwrap(),
            vec![1.0, 1.0, 0.0, 0.0, 0.0]
        );
        let err = gold
            .score(&["What is 2 + 2?".into()], &["4".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("prompt 0") && err.contains("2 + 2"), "{err}");
        assert!(gold.score(&prompts, &responses[..2]).is_err());
    }
}
