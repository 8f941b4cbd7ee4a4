//! The `arith` task: the generator is deterministic (a golden hash of the first prompts, the
//! split sizes), the shipped `datasets/arith` is byte for byte what it generates, and the task
//! loads through `load_task` with a gold scorer that grades the worked solutions right.

use rlp_core::device::test_backend;
use rlp_tasks::arith::{self, SPLIT_SIZES, dataset_files, splits};
use rlp_tasks::{TASKS, load_task};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first eval prompts, and the hash of the first 20 joined by newlines: a change to the
/// templates, the number ranges or the seed shows up here first.
#[test]
fn generator_is_deterministic() {
    let s = splits();
    assert_eq!(s, splits());
    let first: Vec<&str> = s.eval.iter().take(20).map(|p| p.prompt.as_str()).collect();
    assert_eq!(first[0], GOLDEN_FIRST_PROMPT, "{}", first[0]);
    assert_eq!(hex(first.join("\n").as_bytes()), GOLDEN_FIRST_20_SHA256);
    let sizes: Vec<usize> = s.named().iter().map(|(_, ps)| ps.len()).collect();
    assert_eq!(sizes, SPLIT_SIZES.map(|(_, n)| n).to_vec());
}

const GOLDEN_FIRST_PROMPT: &str = "There are 5 shells in Yara's box. Then she has 3 times as many. \
                                   She loses 11. How many shells does Yara have now?\nAnswer:";
/// `python3 -c "import json,hashlib; ps=[json.loads(l)['prompt'] for l in
/// open('datasets/arith/prompts_eval.jsonl')][:20];
/// print(hashlib.sha256('\n'.join(ps).encode()).hexdigest())"`, computed independently
/// from the shipped file.
const GOLDEN_FIRST_20_SHA256: &str =
    "8bc6748c1acb7a78f9cf0dbb4778b3cafd718295b75f2ad0a78c08ba8ea8867f";

/// `rlp data arith --out datasets/arith` regenerates the shipped files exactly.
#[test]
fn shipped_dataset_is_what_the_generator_writes() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/arith"));
    let (manifest, files) = dataset_files();
    assert_eq!(files.len(), 6);
    for (name, text) in &files {
        let shipped = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
        assert!(
            shipped == text.as_bytes(),
            "{name} differs from the generator's output"
        );
    }
    assert_eq!(manifest.files[0].name, "prompts_eval.jsonl");
    assert_eq!(manifest.files[0].rows, 500);
}

#[test]
fn writing_refuses_to_overwrite_edited_files() {
    let dir = rlp_core::ScratchDir::new("arith-data").unwrap();
    let out = dir.path().join("arith");
    arith::write_dataset(&out, false).unwrap();
    // Writing the same bytes again is fine.
    arith::write_dataset(&out, false).unwrap();
    let eval = out.join("prompts_eval.jsonl");
    std::fs::write(&eval, "edited\n").unwrap();
    let err = arith::write_dataset(&out, false).unwrap_err().to_string();
    assert!(
        err.contains("prompts_eval.jsonl") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&eval).unwrap(), "edited\n");
    arith::write_dataset(&out, true).unwrap();
    assert_ne!(std::fs::read_to_string(&eval).unwrap(), "edited\n");
}

#[test]
fn task_loads_and_gold_grades_worked_solutions() {
    assert!(TASKS.contains(&"arith"));
    let device = test_backend().device().unwrap();
    let task = load_task("arith", 0, &device).unwrap();
    assert_eq!(
        (
            task.train_prompts.len(),
            task.eval_prompts.len(),
            task.drift.len()
        ),
        (4000, 500, 1000)
    );
    let s = splits();
    let prompts: Vec<String> = s.eval.iter().take(50).map(|p| p.prompt.clone()).collect();
    let right: Vec<String> = s.eval.iter().take(50).map(|p| p.solution.clone()).collect();
    let wrong: Vec<String> = s
        .eval
        .iter()
        .take(50)
        .map(|p| {
            p.solution.replace(
                &format!("is {}.", p.answer),
                &format!("is {}.", p.answer + 1),
            )
        })
        .collect();
    assert!(
        task.gold
            .score(&prompts, &right)
            .unwrap()
            .iter()
            .all(|&g| g == 1.0)
    );
    assert!(
        task.gold
            .score(&prompts, &wrong)
            .unwrap()
            .iter()
            .all(|&g| g == 0.0)
    );
}

/// The shipped base policy loads, answers in the task's format, and solves a recorded share of
/// 50 eval prompts at temperature 1 (seeded; 0.28 on flex on the development machine, and the
/// base measures 28.7 ± 1.3% on all 500, `models/arith/README.md`). The band is ± 3 binomial
/// SEs around 0.29, so it fails on a wrong model or a broken loader, not on sampling noise.
#[test]
fn base_policy_solves_a_recorded_share() {
    use rlp_models::{GenerationConfig, generate_text};
    let device = test_backend().device().unwrap();
    let task = load_task("arith", 0, &device).unwrap();
    let base = rlp_tasks::load_base_policy(&task, 0, &device).unwrap();
    let prompts: Vec<String> = task.eval_prompts[..50].to_vec();
    let mut rng = rlp_core::SeededRng::new(0).fork("arith-base-test");
    let out = generate_text(
        &base.model,
        &base.tokenizer,
        &prompts,
        &GenerationConfig::sampling(40, 1.0),
        &mut rng,
    )
    .unwrap();
    let texts: Vec<String> = out.iter().map(|c| c.text.clone()).collect();
    let answered = texts
        .iter()
        .filter(|t| rlp_core::answer::final_answer(t).is_some())
        .count();
    assert!(answered >= 45, "{answered}/50 answer lines: {texts:?}");
    let gold = task.gold.score(&prompts, &texts).unwrap();
    let accuracy = gold.iter().sum::<f32>() / 50.0;
    eprintln!("base accuracy on 50 eval prompts at T = 1: {accuracy}");
    assert!((0.10..=0.48).contains(&accuracy), "accuracy {accuracy}");
}

/// `evaluated_on(Dev)` judges on the dev prompts (500, disjoint from train and eval); a task
/// without a dev split says so instead of silently evaluating on eval.
#[test]
fn dev_split_replaces_the_eval_prompts() {
    use rlp_tasks::{EvalSplit, TaskError};
    let device = test_backend().device().unwrap();
    let task = load_task("arith", 0, &device).unwrap();
    let (eval, dev) = (task.eval_prompts.clone(), task.dev_prompts.clone());
    assert_eq!(dev.len(), 500);
    assert!(
        dev.iter()
            .all(|p| !eval.contains(p) && !task.train_prompts.contains(p))
    );
    let on_dev = task.evaluated_on(EvalSplit::Dev).unwrap();
    assert_eq!(on_dev.eval_prompts, dev);
    let on_eval = load_task("arith", 0, &device)
        .unwrap()
        .evaluated_on(EvalSplit::Eval)
        .unwrap();
    assert_eq!(on_eval.eval_prompts, eval);
    let err = load_task("synthetic", 0, &device)
        .unwrap()
        .evaluated_on(EvalSplit::Dev)
        .err()
        .unwrap();
    assert!(matches!(err, TaskError::NoDevSplit { .. }), "{err}");
    assert!(
        err.to_string().contains("`synthetic` has no dev split"),
        "{err}"
    );
}
