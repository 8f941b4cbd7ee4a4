//! Data-parallel training under `mpirun` (the `mpi` feature; Open MPI's `mpirun` on PATH).
//!
//! The core property: two ranks with half of each minibatch end with the weights of one process
//! with the whole minibatch (within float tolerance: the shards' sums round differently), for
//! `sft`, `reward train` and `dpo`. Around it: resume after `kill -9` of one rank, a dead rank
//! ending the job instead of hanging it, PPO, GRPO and RLOO with sharded generation resuming
//! exactly, and bad configurations refused before any work.
//!
//! Every launch uses a host file with two slots on 127.0.0.1, the loopback form of a
//! multi-machine launch, and one thread per rank.
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    as_if_killed_after_step_3, metrics, rlp, stderr, tiny_sft, tiny_sft_args, write_pairs,
};
use rlp_core::ScratchDir;
use rlp_models::checkpoint::read_safetensors;

/// `mpirun` over `n` ranks of the `rlp` under test with `args`, as root if need be, one thread
/// per rank, on the loopback host file in `dir`.
fn mpirun(dir: &Path, n: usize, args: &[&str]) -> Command {
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, "127.0.0.1 slots=2\n").unwrap();
    let mut c = Command::new("mpirun");
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--hostfile", hosts.to_str().unwrap(), "--oversubscribe"])
        .args(["-n", &n.to_string(), "-x", "RAYON_NUM_THREADS=1"])
        .arg(env!("CARGO_BIN_EXE_rlp"))
        .args(args);
    c
}

fn run_mpi(dir: &Path, n: usize, args: &[&str]) -> Output {
    mpirun(dir, n, args).output().expect("mpirun runs")
}

fn one_thread(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlp"))
        .env("RAYON_NUM_THREADS", "1")
        .args(args)
        .output()
        .expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The largest |Δ| between two safetensors files' tensors (which must have the same names and
/// shapes), and the largest |value|.
fn weight_gap(a: &Path, b: &Path) -> (f32, f32) {
    let (a, b) = (read_safetensors(a).unwrap(), read_safetensors(b).unwrap());
    assert_eq!(
        a.keys().collect::<std::collections::BTreeSet<_>>(),
        b.keys().collect()
    );
    let mut gap = 0.0f32;
    let mut scale = 0.0f32;
    for (name, (shape, x)) in &a {
        let (shape_b, y) = &b[name];
        assert_eq!(shape, shape_b, "{name}");
        gap = gap.max(rlp_core::tensor_io::max_abs_diff(x, y));
        scale = x.iter().fold(scale, |m, v| m.max(v.abs()));
    }
    (gap, scale)
}

/// `(step, loss)` of every metrics line.
fn losses(dir: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap())
        })
        .collect()
}

/// One process with global minibatch 16 against two ranks of 8 each: the same per-step losses
/// (to 1e-5) and the same weights up to `tolerance`; rank 0 alone wrote the run.
///
/// The weights' tolerance is a small fraction of the learning rate, not float epsilon: AdamW
/// divides by `√v`, so a gradient component near zero whose last bits differ (the shards' sums
/// round differently) moves its weight by up to the learning rate either way. Measured: SFT
/// (8 steps) and DPO (4 steps) agree to 1e-7, reward training (4 steps) to 2.6e-5, about 1% of
/// its learning rate 3e-3; one process on 1 and 2 threads agrees exactly.
fn equivalent(
    d: &Path,
    name: &str,
    args: &dyn Fn(&Path) -> Vec<String>,
    weights: &str,
    tolerance: f32,
) {
    let one = d.join(format!("{name}-one"));
    let two = d.join(format!("{name}-two"));
    let a = args(&one);
    let o = one_thread(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    let a = args(&two);
    let o = run_mpi(d, 2, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{name} under mpirun: {}", stderr(&o));
    // Rank 0 alone reported on stdout.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().count() >= 1, "{name}: {out}");
    let (gap, scale) = weight_gap(&one.join(weights), &two.join(weights));
    assert!(
        gap <= tolerance * scale.max(1.0),
        "{name}: max |Δw| {gap} (largest |w| {scale})"
    );
    let (l1, l2) = (losses(&one), losses(&two));
    assert_eq!(l1.len(), l2.len(), "{name}");
    for ((s1, a), (s2, b)) in l1.iter().zip(&l2) {
        assert_eq!(s1, s2);
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1.0),
            "{name} step {s1}: {a} vs {b}"
        );
    }
}

/// tests/common's tiny SFT on toy-reverse's 200 examples, `steps` steps of global minibatch
/// 16, a checkpoint every `save_every` steps (0: none).
fn sft_args(out: &Path, steps: usize, save_every: usize) -> Vec<String> {
    let (steps, every) = (steps.to_string(), save_every.to_string());
    tiny_sft_args(
        out,
        &[
            "--steps",
            &steps,
            "--batch-size",
            "16",
            "--save-every",
            &every,
        ],
    )
}

/// The core test: 2 ranks × 8 = 1 process × 16 after K steps, for SFT (a token-mean loss, so
/// shards weigh their response tokens), reward-model training and DPO.
#[test]
fn two_ranks_train_as_one_process_with_the_whole_batch() {
    let d = ScratchDir::new("dp-equivalence").unwrap();
    equivalent(
        d.path(),
        "sft",
        &|out| sft_args(out, 8, 0),
        "model.safetensors",
        1e-5,
    );

    let policy = tiny_sft(d.path());
    let pairs = d.join("pairs.jsonl");
    write_pairs(&pairs, 32, 0);
    let reward = |out: &Path| -> Vec<String> {
        [
            "reward",
            "train",
            "--data",
            s(&pairs),
            "--init",
            s(&policy),
            "--out",
            s(out),
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--lr",
            "3e-3",
        ]
        .map(String::from)
        .to_vec()
    };
    equivalent(d.path(), "reward", &reward, "model.safetensors", 1e-4);

    let config = d.join("dpo.toml");
    std::fs::write(&config, "[dpo]\nbatch_size = 16\nlr = 1e-3\nepochs = 2\n").unwrap();
    let dpo = |out: &Path| -> Vec<String> {
        [
            "dpo",
            "--config",
            s(&config),
            "--task",
            "synthetic",
            "--policy",
            s(&policy),
            "--data",
            s(&pairs),
            "--out",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let one = d.join("dpo-one");
    equivalent(d.path(), "dpo", &dpo, "policy/model.safetensors", 1e-5);
    assert!(one.join("dpo.json").is_file());
}

/// kill -9 of one rank mid-run ends the whole job (no rank waits forever); the same command
/// with --resume continues from rank 0's newest checkpoint and ends with the weights and
/// metrics of the uninterrupted data-parallel run, bit for bit.
#[test]
fn a_killed_rank_ends_the_job_and_the_run_resumes_exactly() {
    let d = ScratchDir::new("dp-resume").unwrap();
    // Long enough (about 6 s on 2 ranks) that the kill lands mid-run even on a loaded machine.
    let (steps, every) = (600, 20);
    let whole = d.join("whole");
    let a = sft_args(&whole, steps, every);
    let o = run_mpi(
        d.path(),
        2,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let killed = d.join("killed");
    let a = sft_args(&killed, steps, every);
    let mut job = mpirun(
        d.path(),
        2,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Wait for the first checkpoint, then kill rank 1 (the youngest child of mpirun).
    let start = Instant::now();
    while !killed.join("checkpoint-20/trainer/state.json").is_file() {
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    let children = Command::new("pgrep")
        .args(["-n", "-P", &job.id().to_string()])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&children.stdout).trim().to_string();
    assert!(!pid.is_empty(), "no rank found under mpirun");
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job hangs after a rank died"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let done = losses(&killed).len();
    assert!(
        done < steps,
        "the run finished before the kill ({done} steps)"
    );

    let mut a = sft_args(&killed, steps, every);
    a.push("--resume".into());
    let o = run_mpi(
        d.path(),
        2,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = |dir: &Path| std::fs::read(dir.join("model.safetensors")).unwrap();
    assert!(
        bytes(&whole) == bytes(&killed),
        "weights differ after resume"
    );
    assert_eq!(losses(&whole), losses(&killed));
}

/// GRPO, RLOO and online DPO on two ranks, each generating for half of the prompts (online DPO:
/// a rank without a pair joins the update with a zero gradient): the run completes with
/// rank 0's files, and an interrupted run (checkpoint-2 kept, a torn metrics line, a
/// half-written checkpoint-4) resumes under mpirun to the uninterrupted run's bits. Each
/// rank's random streams follow from the seed, the step and the rank alone, so the checkpoint
/// holds every rank's state.
#[test]
fn grpo_rloo_and_online_dpo_train_on_two_ranks_and_resume_exactly() {
    for (verb, table) in [
        ("grpo", "grpo"),
        ("rloo", "rloo"),
        ("online-dpo", "online_dpo"),
    ] {
        // Online DPO has no minibatches: one update on all of a step's pairs.
        let minibatch = if verb == "online-dpo" {
            ""
        } else {
            "mini_batch_size = 8\n"
        };
        let d = ScratchDir::new(&format!("dp-{verb}")).unwrap();
        let config = d.join("online.toml");
        std::fs::write(
            &config,
            format!(
                "task = \"synthetic\"\nsteps = 6\neval_every = 3\ncheckpoint_every = 2\n\
                 eval_prompts = 8\ndrift_texts = 8\n[{table}]\nlr = 1e-3\n\
                 prompts_per_step = 4\n{minibatch}max_new_tokens = 6\n\
                 [eval]\nmax_new_tokens = 6\n"
            ),
        )
        .unwrap();
        let files = ["policy/model.safetensors", "summary.json", "eval.jsonl"];
        resumes_exactly_on_two_ranks(&d, &[verb, "--config", s(&config)], &files, 6);
        // A prompt count that does not split over the ranks is refused.
        let odd = d.join("odd.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &odd,
            text.replace("prompts_per_step = 4", "prompts_per_step = 3"),
        )
        .unwrap();
        let o = run_mpi(
            d.path(),
            2,
            &[verb, "--config", s(&odd), "--out", s(&d.join("odd"))],
        );
        let e = stderr(&o);
        assert!(
            !o.status.success() && e.contains("prompts_per_step"),
            "{verb}: {e}"
        );
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// PPO on two ranks (rollouts of half of the prompts each, whitening and the logged means over
/// both, policy and value losses weighted by tokens): the run completes with rank 0's files,
/// and an interrupted run resumes under mpirun to the uninterrupted run's bits.
#[test]
fn ppo_trains_on_two_ranks_and_resumes_exactly() {
    let d = ScratchDir::new("dp-ppo").unwrap();
    let config = d.join("ppo.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nreward = \"gold\"\niterations = 4\neval_every = 2\n\
         checkpoint_every = 2\neval_prompts = 8\ndrift_texts = 8\n[ppo]\n\
         rollout_batch_size = 8\nmini_batch_size = 4\nppo_epochs = 1\nmax_new_tokens = 6\n\
         value_init = \"policy\"\nwhiten_rewards = true\n[eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    let files = ["policy/model.safetensors", "report.md", "eval.jsonl"];
    resumes_exactly_on_two_ranks(&d, &["ppo", "--config", s(&config)], &files, 4);
}

/// `args --out full` on two ranks writes `files` and `steps` metrics lines; the directory a
/// kill after step 3 leaves, resumed with `--resume` on two ranks, ends with the same policy
/// weights and metrics, bit for bit.
fn resumes_exactly_on_two_ranks(d: &ScratchDir, args: &[&str], files: &[&str], steps: usize) {
    let run = |out: &Path, extra: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--out", s(out)]);
        a.extend(extra);
        let o = run_mpi(d.path(), 2, &a);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };
    let (full, killed) = (d.join("full"), d.join("killed"));
    run(&full, &[]);
    for f in files {
        assert!(full.join(f).is_file(), "{args:?}: {f}");
    }
    assert_eq!(metrics(&full).len(), steps, "{args:?}");
    as_if_killed_after_step_3(&full, &killed);
    run(&killed, &["--resume"]);
    let bytes = |dir: &Path| std::fs::read(dir.join("policy/model.safetensors")).unwrap();
    assert!(
        bytes(&full) == bytes(&killed),
        "{args:?}: weights differ after resume"
    );
    assert_eq!(metrics(&full), metrics(&killed), "{args:?}");
}

/// `--devices flex,flex`: two ranks as threads of one process, one per device, reducing through
/// host memory in rank order. They train exactly as two MPI ranks do, bit for bit, for SFT and
/// for GRPO (sharded generation with per-rank streams); devices that do not exist or are not
/// built in, and verbs that do not train data-parallel, are clear errors.
#[test]
fn devices_in_one_process_train_as_mpi_ranks_do() {
    let d = ScratchDir::new("dp-devices").unwrap();
    let (mpi, threads) = (d.join("sft-mpi"), d.join("sft-threads"));
    let a = sft_args(&mpi, 8, 0);
    let o = run_mpi(
        d.path(),
        2,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut a = sft_args(&threads, 8, 0);
    a.extend(["--devices".into(), "flex,flex".into()]);
    let o = one_thread(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        1,
        "rank 0 reports once"
    );
    let bytes = |dir: &Path, f: &str| std::fs::read(dir.join(f)).unwrap();
    assert!(bytes(&mpi, "model.safetensors") == bytes(&threads, "model.safetensors"));
    assert_eq!(losses(&mpi), losses(&threads));

    let config = d.join("grpo.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nsteps = 3\neval_every = 3\neval_prompts = 8\n\
         drift_texts = 8\n[grpo]\nlr = 1e-3\nprompts_per_step = 4\nmini_batch_size = 8\n\
         max_new_tokens = 6\n[eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    let (mpi, threads) = (d.join("grpo-mpi"), d.join("grpo-threads"));
    let o = run_mpi(
        d.path(),
        2,
        &["grpo", "--config", s(&config), "--out", s(&mpi)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = one_thread(&[
        "grpo",
        "--config",
        s(&config),
        "--out",
        s(&threads),
        "--devices",
        "flex,flex",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let weights = "policy/model.safetensors";
    assert!(bytes(&mpi, weights) == bytes(&threads, weights));
    assert_eq!(metrics(&mpi), metrics(&threads));

    for (devices, needle) in [
        ("flex,tpu", "unknown backend `tpu`"),
        (
            "cuda:0,cuda:1",
            "not compiled in: rebuild with `--features cuda`",
        ),
    ] {
        let o = rlp(&["sft", "--devices", devices, "--data", "x.jsonl"]);
        let e = stderr(&o);
        assert!(!o.status.success() && e.contains(needle), "{devices}: {e}");
    }
    let o = rlp(&[
        "generate",
        "--devices",
        "flex,flex",
        "--model",
        "x",
        "--prompt",
        "y",
    ]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("does not train data-parallel"),
        "{e}"
    );
}

/// Refused before any work, on every rank, with the field or cause named: a global batch that
/// does not split over the ranks, ranks launched with different configs, and a verb that does
/// not train data-parallel.
#[test]
fn bad_data_parallel_configurations_are_clear_errors() {
    let d = ScratchDir::new("dp-errors").unwrap();
    let mut a = sft_args(&d.join("odd"), 4, 0);
    let at = a.iter().position(|x| x == "--batch-size").unwrap();
    a[at + 1] = "15".into();
    let o = run_mpi(
        d.path(),
        2,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("batch_size") && e.contains("15"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    assert!(!d.join("odd/model.safetensors").exists());

    // MPMD: rank 0 and rank 1 with different learning rates.
    let a = sft_args(&d.join("split"), 4, 0);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let hosts = d.join("hosts");
    std::fs::write(&hosts, "127.0.0.1 slots=2\n").unwrap();
    let o = Command::new("mpirun")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--hostfile", s(&hosts), "--oversubscribe", "-n", "1"])
        .arg(env!("CARGO_BIN_EXE_rlp"))
        .args(&a)
        .args(["--lr", "1e-3", ":", "-n", "1"])
        .arg(env!("CARGO_BIN_EXE_rlp"))
        .args(&a)
        .args(["--lr", "2e-3"])
        .output()
        .unwrap();
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("disagree") && e.contains("config"),
        "{e}"
    );

    let o = run_mpi(d.path(), 2, &["generate", "--model", "x", "--prompt", "y"]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("does not train data-parallel"),
        "{e}"
    );

    // A single process of the same binary is unaffected.
    let o = rlp(&["sft", "--help"]);
    assert!(o.status.success());
}
