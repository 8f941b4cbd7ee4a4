//! The shipped example task `toy-reverse`: reverse the order of 3–5 common English words.
//! `rlp data toy-reverse` regenerates `datasets/toy-reverse/` exactly (seeded).

use rlp_core::{PromptResponse, SeededRng};

/// The word list (common English words, written for this project).
pub const WORDS: &[&str] = &[
    "time",
    "year",
    "people",
    "way",
    "day",
    "man",
    "thing",
    "woman",
    "life",
    "child",
    "world",
    "school",
    "state",
    "family",
    "student",
    "group",
    "country",
    "problem",
    "hand",
    "part",
    "place",
    "case",
    "week",
    "company",
    "system",
    "program",
    "question",
    "work",
    "number",
    "night",
    "point",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "name",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
    "red",
    "green",
    "blue",
    "happy",
];

/// One example: `reverse: w1 w2 w3` → ` w3 w2 w1`.
pub fn example(rng: &mut SeededRng) -> PromptResponse {
    let n = 3 + rng.below(3);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    let rev: Vec<&str> = words.iter().rev().copied().collect();
    PromptResponse {
        prompt: format!("reverse: {} =>", words.join(" ")),
        response: format!(" {}", rev.join(" ")),
    }
}

/// `(train, eval)` with `n_train` and `n_eval` examples from `seed`.
pub fn dataset(
    seed: u64,
    n_train: usize,
    n_eval: usize,
) -> (Vec<PromptResponse>, Vec<PromptResponse>) {
    let mut rng = SeededRng::new(seed);
    let train = (0..n_train).map(|_| example(&mut rng)).collect();
    let eval = (0..n_eval).map(|_| example(&mut rng)).collect();
    (train, eval)
}
