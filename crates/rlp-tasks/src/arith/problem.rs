//! Templated arithmetic word problems and their worked solutions.
//!
//! A problem starts a person off with a count of objects, applies one to three operations
//! (+, −, × by 2 or 3, and exact ÷ by 2, 3 or 4), and asks for the final count. Numbers stay
//! small (start 2–20, steps 1–20, every intermediate count 0–99) so a ~1M-parameter decoder can
//! learn the arithmetic facts from a few thousand worked solutions. Surface forms vary by name,
//! pronoun, object, verb and question wording, so equal arithmetic appears in many texts.
//!
//! Everything is integer arithmetic on one seeded [`SeededRng`] stream, so a seed gives the
//! same problems byte for byte on every machine.

use rlp_core::SeededRng;
use rlp_core::answer::answer_line;

/// The text between a problem statement and its answer; prompts end with it.
pub const ANSWER_CUE: &str = "\nAnswer:";

/// The largest count any step may produce.
pub const MAX_COUNT: i64 = 99;

/// A person: name and subject/object pronouns.
const PEOPLE: [(&str, &str, &str); 12] = [
    ("Mia", "She", "her"),
    ("Noah", "He", "him"),
    ("Ava", "She", "her"),
    ("Liam", "He", "him"),
    ("Zoe", "She", "her"),
    ("Omar", "He", "him"),
    ("Lena", "She", "her"),
    ("Ravi", "He", "him"),
    ("Ines", "She", "her"),
    ("Theo", "He", "him"),
    ("Yara", "She", "her"),
    ("Kofi", "He", "him"),
];

/// Countable objects (plural).
const OBJECTS: [&str; 12] = [
    "apples", "marbles", "stickers", "coins", "books", "pencils", "cookies", "shells", "cards",
    "stamps", "buttons", "beads",
];

/// Verbs that add to the count (`{S} {verb} {n} more.`).
const ADD_VERBS: [&str; 4] = ["buys", "finds", "wins", "gets"];

/// Verbs that take from the count (`{S} {verb} {n}.`).
const SUB_VERBS: [&str; 4] = ["gives away", "loses", "sells", "uses"];

/// One arithmetic step applied to the running count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+ n`.
    Add(i64),
    /// `− n`.
    Sub(i64),
    /// `× n`.
    Mul(i64),
    /// `÷ n`, exact.
    Div(i64),
}

impl Op {
    /// The count after this step.
    pub fn apply(self, x: i64) -> i64 {
        match self {
            Op::Add(n) => x + n,
            Op::Sub(n) => x - n,
            Op::Mul(n) => x * n,
            Op::Div(n) => x / n,
        }
    }

    /// The worked step `"x op n = y."`.
    fn worked(self, x: i64) -> String {
        let (sym, n) = match self {
            Op::Add(n) => ('+', n),
            Op::Sub(n) => ('-', n),
            Op::Mul(n) => ('*', n),
            Op::Div(n) => ('/', n),
        };
        format!("{x} {sym} {n} = {}.", self.apply(x))
    }
}

/// A generated problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The problem statement followed by [`ANSWER_CUE`]; what the policy continues.
    pub prompt: String,
    /// The worked solution, a continuation of `prompt`: `" a + b = c. c - d = e.\nThe answer
    /// is e."`.
    pub solution: String,
    /// The correct final count.
    pub answer: i64,
    /// The starting count.
    pub start: i64,
    /// The operations in order.
    pub ops: Vec<Op>,
}

/// A random step valid from count `x`: the result stays in `0..=MAX_COUNT` and a division is
/// exact. Addition and subtraction are twice as likely as multiplication and division.
fn random_op(rng: &mut SeededRng, x: i64) -> Op {
    loop {
        let op = match rng.below(6) {
            0 | 1 => Op::Add(1 + rng.below(20) as i64),
            2 | 3 => Op::Sub(1 + rng.below(20) as i64),
            4 => Op::Mul(2 + rng.below(2) as i64),
            _ => Op::Div(2 + rng.below(3) as i64),
        };
        let ok = match op {
            Op::Sub(n) => n <= x,
            Op::Div(n) => x > 0 && x % n == 0,
            _ => true,
        };
        if ok && (0..=MAX_COUNT).contains(&op.apply(x)) {
            return op;
        }
    }
}

/// One sentence describing `op` for a subject pronoun `s` and the `object`s.
fn describe(rng: &mut SeededRng, op: Op, s: &str, object: &str) -> String {
    match op {
        Op::Add(n) => format!("{s} {} {n} more.", ADD_VERBS[rng.below(ADD_VERBS.len())]),
        Op::Sub(n) => format!("{s} {} {n}.", SUB_VERBS[rng.below(SUB_VERBS.len())]),
        Op::Mul(2) => format!("Then the number of {object} doubles."),
        Op::Mul(n) => match rng.below(2) {
            0 => format!("Then the number of {object} triples."),
            _ => format!("Then {} has {n} times as many.", s.to_lowercase()),
        },
        Op::Div(n) => match rng.below(2) {
            0 => format!("{s} splits them into {n} equal groups and keeps one group."),
            _ => format!("{s} divides them into {n} equal shares and keeps one share."),
        },
    }
}

/// One problem drawn from `rng`.
pub fn random_problem(rng: &mut SeededRng) -> Problem {
    let (name, s, o) = PEOPLE[rng.below(PEOPLE.len())];
    let object = OBJECTS[rng.below(OBJECTS.len())];
    let start = 2 + rng.below(19) as i64;
    let n_ops = 1 + rng.below(3);
    let mut x = start;
    let mut ops = Vec::with_capacity(n_ops);
    for _ in 0..n_ops {
        let op = random_op(rng, x);
        ops.push(op);
        x = op.apply(x);
    }
    let answer = x;

    let opening = match rng.below(3) {
        0 => format!("{name} has {start} {object}."),
        1 => format!("{name} starts with {start} {object}."),
        _ => format!("There are {start} {object} in {name}'s box."),
    };
    let mut sentences = vec![opening];
    for &op in &ops {
        sentences.push(describe(rng, op, s, object));
    }
    sentences.push(match rng.below(3) {
        0 => format!("How many {object} does {name} have now?"),
        1 => format!("How many {object} are left with {o} in the end?"),
        _ => format!("How many {object} does {name} have at the end?"),
    });
    let prompt = format!("{}{ANSWER_CUE}", sentences.join(" "));

    let mut steps = Vec::with_capacity(ops.len());
    let mut y = start;
    for &op in &ops {
        steps.push(op.worked(y));
        y = op.apply(y);
    }
    let solution = format!(" {}\n{}", steps.join(" "), answer_line(answer));
    Problem {
        prompt,
        solution,
        answer,
        start,
        ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rlp_core::answer::final_answer;

    proptest! {
        /// Every problem of every seed: counts stay in range, divisions are exact, the worked
        /// solution's steps chain and end in the answer line the gold scorer reads.
        #[test]
        fn problems_are_well_formed(seed in any::<u64>()) {
            let mut rng = SeededRng::new(seed);
            for _ in 0..20 {
                let p = random_problem(&mut rng);
                prop_assert!((1..=3).contains(&p.ops.len()));
                let mut x = p.start;
                for &op in &p.ops {
                    if let Op::Div(n) = op {
                        prop_assert_eq!(x % n, 0);
                    }
                    x = op.apply(x);
                    prop_assert!((0..=MAX_COUNT).contains(&x));
                }
                prop_assert_eq!(x, p.answer);
                prop_assert_eq!(final_answer(&p.solution), Some(p.answer));
                prop_assert!(p.prompt.ends_with(ANSWER_CUE));
                prop_assert!(p.solution.starts_with(' '));
                prop_assert_eq!(p.solution.lines().count(), 2);
            }
        }
    }

    #[test]
    fn worked_steps() {
        assert_eq!(Op::Add(5).worked(7), "7 + 5 = 12.");
        assert_eq!(Op::Sub(3).worked(12), "12 - 3 = 9.");
        assert_eq!(Op::Mul(3).worked(9), "9 * 3 = 27.");
        assert_eq!(Op::Div(3).worked(27), "27 / 3 = 9.");
    }
}
