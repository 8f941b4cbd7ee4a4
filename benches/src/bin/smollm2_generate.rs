//! SmolLM2-135M-Instruct generation throughput on a CPU backend with the KV cache: greedy,
//! 64 new tokens (never stopping early), batch 1 and 8, the same chat prompts as
//! `benches/smollm2_generate.py`, which runs this binary beside transformers' `generate`.
//!
//!     cargo run --release --bin smollm2_generate -- [flex|ndarray] [repeats]
//!
//! Prints a JSON line with the rendered prompts (the Python side reuses them verbatim), then
//! one per (batch, new tokens): median seconds per call and new tokens/s. N = 1 new token times
//! the prefill.

use std::time::Instant;

use rlp::core::{BackendSpec, SeededRng};
use rlp::models::fetch::smollm2_checkpoint;
use rlp::models::{
    ChatMessage, GenerationConfig, SamplingParams, TextTokenizer, checkpoint, generate,
};

const QUESTIONS: [&str; 8] = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Why is the sky blue?",
    "Name three kinds of fruit.",
    "How do I boil an egg?",
    "What is 12 times 7?",
    "Give me a synonym for happy.",
    "Who wrote Romeo and Juliet?",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec: BackendSpec = args.get(1).map_or("flex", String::as_str).parse().unwrap();
    let repeats: usize = args.get(2).map_or(5, |s| s.parse().unwrap());
    let dir = smollm2_checkpoint(None).unwrap();
    let device = spec.device().unwrap();
    let model = checkpoint::load(&dir, &device).unwrap();
    let tk = TextTokenizer::load(dir.join("tokenizer.json")).unwrap();
    let texts: Vec<String> = QUESTIONS
        .iter()
        .map(|q| tk.render_chat(&[ChatMessage::new("user", *q)], true))
        .collect();
    let quoted: Vec<String> = texts.iter().map(|t| format!("{t:?}")).collect();
    println!("{{\"prompts\":[{}]}}", quoted.join(","));
    let prompts: Vec<Vec<u32>> = texts.iter().map(|t| tk.encode(t).unwrap()).collect();
    for batch in [1usize, 8] {
        for new_tokens in [1usize, 64] {
            let mut cfg = GenerationConfig::default();
            cfg.max_new_tokens = new_tokens;
            cfg.sampling = SamplingParams::greedy();
            cfg.stop_tokens = vec![u32::MAX];
            cfg.use_cache = true;
            let p = &prompts[..batch];
            generate(&model, p, 0, &cfg, &mut SeededRng::new(0)).unwrap(); // warm-up
            let times: Vec<f64> = (0..repeats)
                .map(|_| {
                    let t = Instant::now();
                    let g = generate(&model, p, 0, &cfg, &mut SeededRng::new(0)).unwrap();
                    assert!(g.iter().all(|r| r.tokens.len() == new_tokens));
                    t.elapsed().as_secs_f64()
                })
                .collect();
            let s = median(times);
            println!(
                "{{\"impl\":\"rlp-{spec}\",\"batch\":{batch},\"new_tokens\":{new_tokens},\"seconds\":{s:.4},\"tokens_per_s\":{:.1}}}",
                (batch * new_tokens) as f64 / s
            );
        }
    }
}
