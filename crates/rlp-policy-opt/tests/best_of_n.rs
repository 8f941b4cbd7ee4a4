//! Best-of-n on a tiny random decoder with a rule-based reward (the number of `e`s in the
//! response): the best sample is the highest-scoring one (first on ties), its mean reward beats
//! single samples for n = 8, and n = 1 is a plain sample.

use rlp_core::With;
use rlp_core::burn::tensor::Device;
use rlp_core::device::test_backend;
use rlp_core::{FnReward, RewardFn, SeededRng};
use rlp_models::{CausalLm, GenerationConfig, LlamaConfig, TextTokenizer, generate_text};
use rlp_policy_opt::{BestOfN, best_of_n};

fn tokenizer() -> TextTokenizer {
    let words = ["tree", "cat", "sheep", "dog", "bee", "mat", "green", "sun"];
    let mut rng = SeededRng::new(3);
    let corpus: Vec<String> = (0..300)
        .map(|_| {
            (0..8)
                .map(|_| words[rng.below(words.len())])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    TextTokenizer::train_bpe(corpus.iter(), 290).unwrap()
}

fn policy(tk: &TextTokenizer, device: &Device) -> CausalLm {
    CausalLm::init(
        &LlamaConfig::tiny(tk.vocab_size()),
        &mut SeededRng::new(21),
        device,
    )
    .unwrap()
}

fn gen_config() -> GenerationConfig {
    GenerationConfig::default().with(|c| c.max_new_tokens = 10)
}

fn count_e(_prompt: &str, response: &str) -> f32 {
    response.matches('e').count() as f32
}

fn prompts() -> Vec<String> {
    ["the cat", "a green", "sun", "sheep and", "dog", "bee tree"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn mean(xs: impl Iterator<Item = f32>) -> f64 {
    let v: Vec<f32> = xs.collect();
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64
}

#[test]
fn best_of_n_picks_the_best_and_beats_single_samples() {
    let tk = tokenizer();
    let d = test_backend().device().unwrap();
    let m = policy(&tk, &d);
    let reward = FnReward::new("count-e", count_e);
    let prompts = prompts();

    let single = best_of_n(
        &m,
        &tk,
        &prompts,
        1,
        &gen_config(),
        &reward,
        &mut SeededRng::new(1),
    )
    .unwrap();
    let single_mean = mean(single.iter().map(|b| b.best_score));
    let mut means = vec![];
    for n in [2, 4, 8] {
        let out: Vec<BestOfN> = best_of_n(
            &m,
            &tk,
            &prompts,
            n,
            &gen_config(),
            &reward,
            &mut SeededRng::new(2),
        )
        .unwrap();
        assert_eq!(out.len(), prompts.len());
        for (b, p) in out.iter().zip(&prompts) {
            assert_eq!((b.samples.len(), b.scores.len()), (n, n));
            let rescored = reward.score(&vec![p.clone(); n], &b.samples).unwrap();
            assert_eq!(rescored, b.scores);
            let max = b.scores.iter().copied().fold(f32::MIN, f32::max);
            assert_eq!(b.best_score, max);
            assert_eq!(b.best, b.samples[b.best_index]);
            assert_eq!(
                b.best_index,
                b.scores.iter().position(|&s| s == max).unwrap()
            );
        }
        let best = mean(out.iter().map(|b| b.best_score));
        let all = mean(out.iter().flat_map(|b| b.scores.iter().copied()));
        assert!(best >= all, "n = {n}: best {best} < mean sample {all}");
        means.push((n, best, all));
    }
    eprintln!("single-sample mean {single_mean}; (n, best-of-n mean, sample mean): {means:?}");
    let (_, best8, all8) = means[2];
    assert!(
        best8 > all8,
        "best-of-8 {best8} must beat its samples' mean {all8}"
    );
    assert!(
        best8 > single_mean,
        "best-of-8 {best8} must beat single samples {single_mean}"
    );
}

#[test]
fn n_one_is_a_plain_sample_and_ties_go_to_the_first() {
    let tk = tokenizer();
    let d = test_backend().device().unwrap();
    let m = policy(&tk, &d);
    let prompts = prompts();
    let reward = FnReward::new("count-e", count_e);
    let one = best_of_n(
        &m,
        &tk,
        &prompts,
        1,
        &gen_config(),
        &reward,
        &mut SeededRng::new(9),
    )
    .unwrap();
    let plain = generate_text(&m, &tk, &prompts, &gen_config(), &mut SeededRng::new(9)).unwrap();
    for (b, c) in one.iter().zip(&plain) {
        assert_eq!(b.best, c.text);
        assert_eq!(b.samples, vec![c.text.clone()]);
    }
    let constant = FnReward::new("constant", |_: &str, _: &str| 1.0);
    let out = best_of_n(
        &m,
        &tk,
        &prompts,
        4,
        &gen_config(),
        &constant,
        &mut SeededRng::new(9),
    )
    .unwrap();
    assert!(
        out.iter()
            .all(|b| b.best_index == 0 && b.best == b.samples[0])
    );
}

#[test]
fn bad_input_is_an_error() {
    let tk = tokenizer();
    let d = test_backend().device().unwrap();
    let m = policy(&tk, &d);
    let reward = FnReward::new("count-e", count_e);
    let mut rng = SeededRng::new(0);
    let e = best_of_n(&m, &tk, &prompts(), 0, &gen_config(), &reward, &mut rng).unwrap_err();
    assert!(e.to_string().contains("`n`"), "{e}");
    let nan = FnReward::new("nan", |_: &str, _: &str| f32::NAN);
    let e = best_of_n(&m, &tk, &prompts(), 2, &gen_config(), &nan, &mut rng).unwrap_err();
    assert!(e.to_string().contains("reward `nan`"), "{e}");
    let mut huge = gen_config();
    huge.max_new_tokens = 10_000;
    assert!(best_of_n(&m, &tk, &prompts(), 2, &huge, &reward, &mut rng).is_err());
    assert!(
        best_of_n(&m, &tk, &[], 3, &gen_config(), &reward, &mut rng)
            .unwrap()
            .is_empty()
    );
}
