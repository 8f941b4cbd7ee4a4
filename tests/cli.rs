//! The `rlp` binary end to end: a short SFT run and generation from its checkpoint, and every
//! kind of bad input ending in a clear error and a non-zero exit, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_clean_failure, rlp, stderr, tiny_sft, tiny_sft_into, write_pairs};
use rlp_core::ScratchDir;

fn tmp(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("cli-{name}")).unwrap()
}

/// `rlp COMMAND --config bad.toml` with `toml` (an unknown `key`) fails naming the file and key.
fn assert_unknown_key(command: &str, dir: &Path, toml: &str, key: &str) {
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, toml).unwrap();
    let o = rlp(&[command, "--config", bad.to_str().unwrap()]);
    assert_clean_failure(&o, "bad.toml");
    assert!(stderr(&o).contains(key), "{}", stderr(&o));
}

/// `rlp COMMAND --task synthetic FLAG DIR/nowhere` fails naming the missing directory.
fn assert_missing_dir(command: &str, flag: &str, dir: &Path) {
    let o = rlp(&[
        command,
        "--task",
        "synthetic",
        flag,
        dir.join("nowhere").to_str().unwrap(),
        "--out",
        dir.join("bad-run").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "nowhere");
}

/// `rlp sft --config`: the TOML sets every field, a flag overrides one, the resolved config lands
/// in `sft_config.json`; an unknown key and a missing `data` fail with clear errors.
#[test]
fn sft_from_toml_with_flag_override() {
    let dir = tmp("sft-toml");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/toy-reverse/eval.jsonl");
    let out = dir.join("model");
    let config = dir.join("sft.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\nout = {:?}\nsteps = 3\nbatch_size = 4\nlayers = 1\nhidden = 32\n\
             heads = 2\nkv_heads = 1\nffn = 64\nvocab_size = 300\nmax_len = 64\nlr = 1e-3\n",
            data.to_str().unwrap(),
            out.to_str().unwrap()
        ),
    )
    .unwrap();
    let o = rlp(&["sft", "--config", config.to_str().unwrap(), "--steps", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sft_config.json")).unwrap())
            .unwrap();
    assert_eq!(resolved["steps"], 2, "the flag wins over the file");
    assert_eq!(resolved["hidden"], 32, "the file wins over the default");
    assert_eq!(resolved["lr"], 1e-3);
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);

    assert_unknown_key("sft", dir.path(), "stpes = 3\n", "stpes");
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "steps = 2\n").unwrap();
    let o = rlp(&["sft", "--config", empty.to_str().unwrap()]);
    assert_clean_failure(&o, "data");
}

#[test]
fn sft_then_generate() {
    let dir = tmp("ok");
    let out = tiny_sft(dir.path());
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.jsonl",
        "sft_config.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4);
    assert!(metrics.contains("\"loss\""));
    let o = rlp(&[
        "generate",
        "--model",
        out.to_str().unwrap(),
        "--prompt",
        "reverse: a b =>",
        "--max-new-tokens",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("reverse: a b =>"));
    // A NaN or negative temperature is an error naming it, not garbage or silent greedy.
    for t in ["NaN", "-1"] {
        let o = rlp(&[
            "generate",
            "--model",
            out.to_str().unwrap(),
            "--prompt",
            "reverse: a b =>",
            &format!("--temperature={t}"),
        ]);
        assert_clean_failure(&o, "temperature");
    }
    // --save-dtype f16 halves the weights file, and the checkpoint still generates.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/toy-reverse/eval.jsonl");
    let half = dir.join("half");
    let o = rlp(&[
        "sft",
        "--data",
        data.to_str().unwrap(),
        "--out",
        half.to_str().unwrap(),
        "--steps",
        "2",
        "--layers",
        "1",
        "--hidden",
        "32",
        "--heads",
        "2",
        "--kv-heads",
        "1",
        "--ffn",
        "64",
        "--vocab-size",
        "300",
        "--max-len",
        "64",
        "--save-dtype",
        "f16",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let size = |d: &Path| {
        std::fs::metadata(d.join("model.safetensors"))
            .unwrap()
            .len()
    };
    assert!(
        size(&half) * 2 < size(&out) + 4096,
        "{} vs {}",
        size(&half),
        size(&out)
    );
    let o = rlp(&[
        "generate",
        "--model",
        half.to_str().unwrap(),
        "--prompt",
        "reverse: a =>",
        "--max-new-tokens",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rlp(&[
        "sft",
        "--data",
        "x.jsonl",
        "--out",
        "y",
        "--save-dtype",
        "f8",
    ]);
    assert_clean_failure(&o, "expected f32, f16 or bf16");
    // A prompt longer than the context window (64) is an error, not a panic.
    let long = "word ".repeat(200);
    let o = rlp(&[
        "generate",
        "--model",
        out.to_str().unwrap(),
        "--prompt",
        &long,
    ]);
    assert_clean_failure(&o, "context window");
    // By default the new tokens fit what the window leaves; an explicit bound is kept.
    let o = rlp(&[
        "generate",
        "--model",
        out.to_str().unwrap(),
        "--prompt",
        "reverse: a b =>",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rlp(&[
        "generate",
        "--model",
        out.to_str().unwrap(),
        "--prompt",
        "reverse: a b =>",
        "--max-new-tokens",
        "64",
    ]);
    assert_clean_failure(&o, "context window");
    // A tokenizer that does not match the model's vocabulary.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(out.join(f), other.join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    cfg["vocab_size"] = 100.into();
    std::fs::write(other.join("config.json"), cfg.to_string()).unwrap();
    std::fs::copy(out.join("tokenizer.json"), other.join("tokenizer.json")).unwrap();
    let o = rlp(&[
        "generate",
        "--model",
        other.to_str().unwrap(),
        "--prompt",
        "x",
    ]);
    assert_clean_failure(&o, "model.embed_tokens.weight");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tmp("bad");
    let o = rlp(&["sft", "--data", "x.jsonl", "--out", "y", "--backend", "tpu"]);
    assert_clean_failure(&o, "unknown backend `tpu`");
    if !cfg!(feature = "cuda") {
        let o = rlp(&[
            "generate",
            "--model",
            "m",
            "--prompt",
            "x",
            "--backend",
            "cuda",
        ]);
        assert_clean_failure(&o, "--features cuda");
    }
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"prompt\":\"a\",\"response\":\"b\"}\n{\"prompt\": 3}\n",
    )
    .unwrap();
    let o = rlp(&[
        "sft",
        "--data",
        bad.to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "bad.jsonl:2");
    // Float options are checked before any work; a batch larger than the data is an error,
    // and so is a run that would overwrite the checkpoint it starts from.
    let good = dir.join("good.jsonl");
    std::fs::write(&good, "{\"prompt\":\"a\",\"response\":\" b\"}\n".repeat(4)).unwrap();
    for lr in ["NaN", "-1", "inf", "0"] {
        let o = rlp(&[
            "sft",
            "--data",
            good.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
            &format!("--lr={lr}"),
        ]);
        assert_clean_failure(&o, "--lr");
        assert!(!dir.join("o").exists(), "--lr {lr}: output written");
    }
    let o = rlp(&[
        "sft",
        "--data",
        good.to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
        "--batch-size",
        "100000",
    ]);
    assert_clean_failure(&o, "--batch-size");
    assert_clean_failure(&o, "4 usable examples");
    let o = rlp(&[
        "sft",
        "--data",
        good.to_str().unwrap(),
        "--init",
        dir.join("o").to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "--init, --out");
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let o = rlp(&[
        "sft",
        "--data",
        empty.to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "empty");
    let o = rlp(&[
        "sft",
        "--data",
        dir.join("missing.jsonl").to_str().unwrap(),
        "--out",
        "o",
    ]);
    assert_clean_failure(&o, "missing.jsonl");
    let o = rlp(&[
        "generate",
        "--model",
        dir.join("nowhere").to_str().unwrap(),
        "--prompt",
        "x",
    ]);
    assert_clean_failure(&o, "config.json");
    let ck = dir.join("ck");
    std::fs::create_dir_all(&ck).unwrap();
    std::fs::write(ck.join("config.json"), "{\"vocab_size\": 10}").unwrap();
    let o = rlp(&["generate", "--model", ck.to_str().unwrap(), "--prompt", "x"]);
    assert_clean_failure(&o, "config.json");
}

#[test]
fn reward_label_train_eval() {
    let dir = tmp("reward");
    let policy = tiny_sft(dir.path());
    let (train, test) = (dir.join("train.jsonl"), dir.join("test.jsonl"));
    write_pairs(&train, 48, 0);
    write_pairs(&test, 12, 1);
    let rm = dir.join("rm");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        &s(&train),
        "--eval",
        &s(&test),
        "--init",
        &s(&policy),
        "--out",
        &s(&rm),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--lr",
        "3e-3",
        "--trainable",
        "top:1",
        "--max-len",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("reward train: 48 pairs, 12 steps") && out.contains("held-out: accuracy"),
        "{out}"
    );
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "reward_config.json",
    ] {
        assert!(rm.join(f).exists(), "{f}");
    }
    assert_eq!(
        std::fs::read_to_string(rm.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        12
    );
    let o = rlp(&["reward", "eval", "--model", &s(&rm), "--data", &s(&test)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("on 12 pairs"));

    // top:0 = a linear probe on the frozen backbone (features extracted once).
    let probe = dir.join("probe");
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        &s(&train),
        "--eval",
        &s(&test),
        "--init",
        &s(&policy),
        "--out",
        &s(&probe),
        "--trainable",
        "top:0",
        "--max-len",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("reward train: 48 pairs") && out.contains("held-out: accuracy"),
        "{out}"
    );
    let o = rlp(&["reward", "eval", "--model", &s(&probe), "--data", &s(&test)]);
    assert!(o.status.success(), "{}", stderr(&o));

    let labelled = dir.join("labelled.jsonl");
    let o = rlp(&[
        "reward",
        "label",
        "--policy",
        &s(&policy),
        "--task",
        "synthetic",
        "--out",
        &s(&labelled),
        "--prompts",
        "8",
        "--max-new-tokens",
        "6",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("labelled"));
    assert!(labelled.exists());

    // Bad input: a policy checkpoint is not a reward model; unknown task; bad flag values;
    // a data file whose pairs are all unusable.
    let o = rlp(&[
        "reward",
        "eval",
        "--model",
        &s(&policy),
        "--data",
        &s(&test),
    ]);
    assert_clean_failure(&o, "score.weight");
    let o = rlp(&[
        "reward",
        "label",
        "--policy",
        &s(&policy),
        "--task",
        "imdb",
        "--out",
        &s(&labelled),
    ]);
    // The existing output is refused before anything else is checked, and left as it was.
    assert_clean_failure(&o, "already exists; pass --overwrite");
    let o = rlp(&[
        "reward",
        "label",
        "--policy",
        &s(&policy),
        "--task",
        "imdb",
        "--out",
        &s(&dir.join("imdb.jsonl")),
    ]);
    assert_clean_failure(&o, "unknown task `imdb`");
    let unwritten = dir.join("unwritten.jsonl");
    let o = rlp(&[
        "reward",
        "label",
        "--policy",
        &s(&policy),
        "--task",
        "synthetic",
        "--out",
        &s(&unwritten),
        "--prompts",
        "8",
        "--temperature=-1",
    ]);
    assert_clean_failure(&o, "temperature");
    assert!(!unwritten.exists(), "a failed labelling wrote its output");
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        &s(&train),
        "--init",
        &s(&policy),
        "--out",
        &s(&rm),
        "--trainable",
        "some",
    ]);
    assert_clean_failure(&o, "expected all or top:N");
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"prompt\":\"p\",\"chosen\":\" a\",\"rejected\":\" a\"}\n",
    )
    .unwrap();
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        &s(&bad),
        "--init",
        &s(&policy),
        "--out",
        &s(&rm),
    ]);
    // The trained reward model is not overwritten by a second run (bad data or not).
    assert_clean_failure(&o, "already holds a run or a model");
    let rm = dir.join("rm-bad");
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        &s(&bad),
        "--init",
        &s(&policy),
        "--out",
        &s(&rm),
    ]);
    assert_clean_failure(&o, "no usable pairs");
    assert!(!rm.exists(), "a failed training left {}", rm.display());
    std::fs::write(&bad, "{\"prompt\":\"p\",\"chosen\":1}\n").unwrap();
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        &s(&bad),
        "--init",
        &s(&policy),
        "--out",
        &s(&rm),
    ]);
    assert_clean_failure(&o, "bad.jsonl:1");
}

#[test]
fn classifier_train_eval() {
    let dir = tmp("classifier");
    let policy = tiny_sft(dir.path());
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (train, test) = (dir.join("train.jsonl"), dir.join("test.jsonl"));
    common::write_labelled(&train, 40, 0);
    common::write_labelled(&test, 10, 3);
    let out = dir.join("clf");
    let o = rlp(&[
        "classifier",
        "train",
        "--data",
        &s(&train),
        "--eval",
        &s(&test),
        "--init",
        &s(&policy),
        "--out",
        &s(&out),
        "--grow-layers",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--save-dtype",
        "f16",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("classifier train: 40 texts") && text.contains("5 steps"),
        "{text}"
    );
    assert!(text.contains("held-out: accuracy"), "{text}");
    for f in [
        "labels.json",
        "eval.json",
        "metrics.jsonl",
        "tokenizer.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(config.contains("\"num_hidden_layers\": 2"), "{config}");
    let o = rlp(&[
        "classifier",
        "eval",
        "--model",
        &s(&out),
        "--data",
        &s(&test),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("on 10 texts"));

    // Bad input: a label the model does not know; a policy that is not a classifier.
    std::fs::write(&test, "{\"text\":\"1 2\",\"label\":\"prime\"}\n").unwrap();
    let o = rlp(&[
        "classifier",
        "eval",
        "--model",
        &s(&out),
        "--data",
        &s(&test),
    ]);
    assert_clean_failure(&o, "`prime` is not one of the model's classes");
    let o = rlp(&[
        "classifier",
        "eval",
        "--model",
        &s(&policy),
        "--data",
        &s(&test),
    ]);
    assert_clean_failure(&o, "labels.json");
}

/// `rlp data tweet-detox` writes exactly the shipped `datasets/tweet-detox` (R1 is fetched into
/// the cache by the project's script when missing); a source without the tweets is an error
/// naming the file.
#[test]
fn data_tweet_detox_reproduces_the_shipped_files() {
    let dir = tmp("detox");
    let out = dir.path().join("tweet-detox");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = root.join("datasets/tweet-sentiment");
    let o = rlp(&[
        "data",
        "tweet-detox",
        "--source",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in ["prompts_train.jsonl", "prompts_eval.jsonl"] {
        let made = std::fs::read(out.join(file)).unwrap();
        let shipped = std::fs::read(root.join("datasets/tweet-detox").join(file)).unwrap();
        assert!(made == shipped, "{file} differs from the shipped one");
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = rlp(&[
        "data",
        "tweet-detox",
        "--source",
        empty.to_str().unwrap(),
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "pretrain.txt");
}

/// `rlp ppo` end to end on the synthetic task against its gold scorer (two iterations): the
/// run directory holds the resolved config, per-iteration metrics, evaluations, the plots, the
/// report and the final policy. A config with an unknown key and a missing reward model are
/// errors naming the file or the directory.
#[test]
fn ppo_run_directory_and_bad_configs() {
    let dir = tmp("ppo");
    let out = dir.path().join("run");
    let config = dir.path().join("ppo.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nreward = \"gold\"\niterations = 2\neval_every = 1\n\
         eval_prompts = 8\ndrift_texts = 8\n[ppo]\nrollout_batch_size = 8\n\
         mini_batch_size = 4\nppo_epochs = 1\nmax_new_tokens = 6\nvalue_init = \"policy\"\n\
         [eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    let o = rlp(&[
        "ppo",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "config.toml",
        "metrics.jsonl",
        "eval.jsonl",
        "report.md",
        "gold_proxy_vs_kl.svg",
        "gold_proxy_vs_kl.png",
        "policy/model.safetensors",
        "policy/tokenizer.json",
        "win_rates.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    let evals = std::fs::read_to_string(out.join("eval.jsonl")).unwrap();
    assert_eq!(evals.lines().count(), 3, "before, after 1, after 2");

    // Resumption: a second run checkpointed at iteration 2 of 3, treated as killed after the
    // checkpoint (its records of iteration 3 are there too) and resumed, ends exactly where
    // an uninterrupted run ends.
    let with_ckpt = dir.path().join("ckpt.toml");
    std::fs::write(
        &with_ckpt,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("iterations = 2", "iterations = 3\ncheckpoint_every = 2"),
    )
    .unwrap();
    let (full, killed) = (dir.path().join("full"), dir.path().join("killed"));
    for run in [&full, &killed] {
        let o = rlp(&[
            "ppo",
            "--config",
            with_ckpt.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(killed.join("checkpoint-2/trainer/state.json").is_file());
    let o = rlp(&[
        "ppo",
        "--config",
        with_ckpt.to_str().unwrap(),
        "--out",
        killed.to_str().unwrap(),
        "--resume",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let untimed = |run: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                for k in ["time_generate", "time_score", "time_update", "wall_time"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            })
            .collect()
    };
    assert_eq!(untimed(&full).len(), 3);
    // The weights must match bit for bit. The logged statistics are compared to within a
    // relative 1e-6 (and 1e-9 absolute): on some CPUs without AVX-512 two identical runs were
    // seen to differ in the last bits of one evaluation summary with identical weights, and a
    // resume bug (a wrong RNG stream or data position) moves these numbers far more than that.
    assert!(
        std::fs::read(full.join("policy/model.safetensors")).unwrap()
            == std::fs::read(killed.join("policy/model.safetensors")).unwrap(),
        "policy weights differ after resuming"
    );
    assert_json_close(&untimed(&killed), &untimed(&full), "metrics.jsonl");
    let evals = |run: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(run.join("eval.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_json_close(&evals(&killed), &evals(&full), "eval.jsonl");
    let o = rlp(&[
        "ppo",
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.path().join("fresh").to_str().unwrap(),
        "--resume",
    ]);
    assert_clean_failure(&o, "no complete checkpoint");

    // The other anchors: an EMA of the policy, and SALSA's soup of two checkpoints (which is
    // also the starting policy, so `policy` must stay unset).
    let ema = dir.path().join("ema.toml");
    let soup = dir.path().join("soup.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&ema, format!("{base}[anchor]\nkind = \"ema\"\neta = 0.9\n")).unwrap();
    std::fs::write(
        &soup,
        format!(
            "{base}[anchor]\nkind = \"soup\"\nmodels = [{:?}, {:?}]\nweights = [0.5, 0.5]\n",
            full.join("policy").to_str().unwrap(),
            dir.path().join("run/policy").to_str().unwrap()
        ),
    )
    .unwrap();
    for (cfg, name) in [(&ema, "ema"), (&soup, "soup")] {
        let run = dir.path().join(name);
        let o = rlp(&[
            "ppo",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert!(run.join("policy/model.safetensors").is_file());
    }
    let o = rlp(&[
        "ppo",
        "--config",
        soup.to_str().unwrap(),
        "--policy",
        full.join("policy").to_str().unwrap(),
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "soup");

    // A reward-model ensemble (Coste et al.): two linear probes on the first run's policy, by
    // seed, combined by WCO; the value model starts from the first member.
    let pairs = dir.path().join("pairs.jsonl");
    synthetic_pairs(&pairs, 16);
    let members: Vec<PathBuf> = (0..2)
        .map(|seed| {
            let rm = dir.path().join(format!("rm{seed}"));
            let o = rlp(&[
                "reward",
                "train",
                "--data",
                pairs.to_str().unwrap(),
                "--init",
                out.join("policy").to_str().unwrap(),
                "--out",
                rm.to_str().unwrap(),
                "--trainable",
                "top:0",
                "--max-len",
                "32",
                "--seed",
                &seed.to_string(),
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            rm
        })
        .collect();
    let ensemble_table = format!(
        "[ensemble]\nmembers = [{:?}, {:?}]\n[ensemble.aggregation]\nrule = \"wco\"\n",
        members[0].to_str().unwrap(),
        members[1].to_str().unwrap()
    );
    // Each run gets a directory of its own (a finished run is never overwritten).
    let runs = std::cell::Cell::new(0);
    let with_ensemble = |reward: &str, table: &str| {
        runs.set(runs.get() + 1);
        let path = dir.path().join("ensemble.toml");
        std::fs::write(
            &path,
            base.replace("reward = \"gold\"", &format!("reward = \"{reward}\""))
                .replace("value_init = \"policy\"", "value_init = \"reward-model\"")
                + table,
        )
        .unwrap();
        let run = dir.path().join(format!("ens-{reward}-{}", runs.get()));
        let o = rlp(&[
            "ppo",
            "--config",
            path.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ]);
        (o, run)
    };
    let (o, run) = with_ensemble("ensemble", &ensemble_table);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("2-member ensemble (WCO)"), "{report}");
    let evals = std::fs::read_to_string(run.join("eval.jsonl")).unwrap();
    assert!(
        evals.contains("\"proxy\":{"),
        "the ensemble is the evaluated proxy: {evals}"
    );
    let (o, _) = with_ensemble("ensemble", "");
    assert_clean_failure(&o, "[ensemble]");
    let (o, _) = with_ensemble("gold", &ensemble_table);
    assert_clean_failure(&o, "reward = \"ensemble\"");
    let (o, _) = with_ensemble(
        "ensemble",
        &ensemble_table.replace("rule = \"wco\"", "rule = \"uwo\"\nlambda = -1.0\nddof = 0"),
    );
    assert_clean_failure(&o, "lambda");

    // Elastic Reset (EMA anchor, reset every 2 of 3 iterations) resumes exactly too: the EMA
    // travels in the checkpoint. Setting the anchor in both places is an error.
    let elastic = dir.path().join("elastic.toml");
    std::fs::write(
        &elastic,
        format!(
            "{}[elastic_reset]\nreset_every = 2\nanchor = \"ema\"\neta = 0.5\n",
            std::fs::read_to_string(&with_ckpt).unwrap()
        ),
    )
    .unwrap();
    let (er_full, er_killed) = (dir.path().join("er-full"), dir.path().join("er-killed"));
    for (run, resume) in [(&er_full, false), (&er_killed, false), (&er_killed, true)] {
        let mut args = vec![
            "ppo",
            "--config",
            elastic.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ];
        if resume {
            args.push("--resume");
        }
        let o = rlp(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        // The reset at iteration 2 happens before the checkpoint a resumed run starts from.
        assert_eq!(
            stderr(&o).contains("elastic reset 1"),
            !resume,
            "{}",
            stderr(&o)
        );
    }
    assert!(
        er_killed
            .join("checkpoint-2/trainer/elastic_reset/ema.bpk")
            .is_file()
    );
    assert_json_close(
        &untimed(&er_killed),
        &untimed(&er_full),
        "Elastic Reset metrics.jsonl",
    );
    assert!(
        std::fs::read(er_full.join("policy/model.safetensors")).unwrap()
            == std::fs::read(er_killed.join("policy/model.safetensors")).unwrap(),
        "Elastic Reset: the policy differs after resuming"
    );
    let both = dir.path().join("both.toml");
    std::fs::write(
        &both,
        format!("{base}[anchor]\nkind = \"ema\"\neta = 0.9\n[elastic_reset]\nreset_every = 2\n"),
    )
    .unwrap();
    let o = rlp(&[
        "ppo",
        "--config",
        both.to_str().unwrap(),
        "--out",
        dir.path().join("y").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "elastic_reset.anchor");

    // `rlp compare` plots runs together; a label per run, or none.
    let cmp = dir.path().join("cmp/both");
    let o = rlp(&[
        "compare",
        full.to_str().unwrap(),
        killed.to_str().unwrap(),
        "--out",
        cmp.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["both.svg", "both.png", "both-drift.svg", "both-drift.png"] {
        assert!(dir.path().join("cmp").join(f).is_file(), "{f} missing");
    }
    let o = rlp(&[
        "compare",
        full.to_str().unwrap(),
        "--label",
        "a",
        "--label",
        "b",
        "--out",
        cmp.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "--label");

    assert_unknown_key(
        "ppo",
        dir.path(),
        "task = \"synthetic\"\n[ppo]\nlearning_rate = 1.0\n",
        "learning_rate",
    );
    // Nested tables reject unknown keys too.
    assert_unknown_key(
        "ppo",
        dir.path(),
        "task = \"synthetic\"\n[eval]\nsamples = 3\n",
        "samples",
    );
    assert_missing_dir("ppo", "--reward", dir.path());
}

/// Hand-made preference pairs on synthetic-task prompts (the synthetic base policy is random,
/// so its own samples all tie under the gold): `n` copies of positive ≻ negative words.
/// `a` and `b` have the same structure and strings, and numbers equal to within
/// `1e-9 + 1e-6·max(|x|, |y|)`; a failure names the path of the first difference.
fn assert_json_close(a: &[serde_json::Value], b: &[serde_json::Value], what: &str) {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Result<(), String> {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                if (x - y).abs() <= 1e-9 + 1e-6 * x.abs().max(y.abs()) {
                    Ok(())
                } else {
                    Err(format!("{path}: {x} vs {y}"))
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (x, y))| walk(x, y, &format!("{path}[{i}]"))),
            (Value::Object(x), Value::Object(y))
                if x.keys().collect::<Vec<_>>() == y.keys().collect::<Vec<_>>() =>
            {
                x.iter()
                    .try_for_each(|(k, v)| walk(v, &y[k], &format!("{path}.{k}")))
            }
            _ if a == b => Ok(()),
            _ => Err(format!("{path}: {a} vs {b}")),
        }
    }
    assert_eq!(a.len(), b.len(), "{what}: {} vs {} lines", a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if let Err(e) = walk(x, y, "") {
            panic!("{what} line {} differs after resuming: {e}", i + 1);
        }
    }
}

fn synthetic_pairs(path: &Path, n: usize) {
    let line = "{\"prompt\": \"review: so city\", \"chosen\": \" good great good\", \
                \"rejected\": \" bad worst bad\"}\n";
    std::fs::write(path, line.repeat(n)).unwrap();
}

/// `rlp dpo` from the synthetic task's base policy on `pairs` (2 epochs, one step each): the
/// run directory `out`, with the final checkpoint in `out/policy`.
fn synthetic_dpo(pairs: &Path, held_out: Option<&Path>, out: &Path) -> Output {
    let mut args = vec![
        "dpo",
        "--task",
        "synthetic",
        "--data",
        pairs.to_str().unwrap(),
        "--lr",
        "1e-3",
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(p) = held_out {
        args.extend(["--eval", p.to_str().unwrap()]);
    }
    rlp(&args)
}

/// `rlp dpo` end to end on hand-made synthetic pairs: the resolved config, a metrics line per
/// step, the final policy, the held-out margin and accuracy; a missing data file, no data at
/// all, an unknown config key and an invalid β are clean errors naming the file or field.
#[test]
fn dpo_run_directory_and_bad_configs() {
    let dir = tmp("dpo");
    let (pairs, held, out) = (
        dir.path().join("pairs.jsonl"),
        dir.path().join("held.jsonl"),
        dir.path().join("run"),
    );
    synthetic_pairs(&pairs, 24);
    synthetic_pairs(&held, 8);
    let o = synthetic_dpo(&pairs, Some(&held), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2 steps on 24 pairs") && stdout.contains("held-out margin"),
        "{stdout}"
    );
    for f in [
        "config.toml",
        "metrics.jsonl",
        "dpo.json",
        "policy/model.safetensors",
        "policy/tokenizer.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dpo.json")).unwrap()).unwrap();
    assert!(report["eval"]["stats"]["margin"].as_f64().unwrap() > 0.0);
    assert_eq!(report["eval"]["stats"]["accuracy"].as_f64().unwrap(), 1.0);
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("epochs = 2") && config.contains("[dpo]"),
        "{config}"
    );

    // A second run into the finished run's directory is refused, the run left as it was.
    let before = std::fs::read(out.join("dpo.json")).unwrap();
    let o = synthetic_dpo(&pairs, None, &out);
    assert_clean_failure(&o, "already holds a run");
    assert!(stderr(&o).contains("--overwrite"), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("dpo.json")).unwrap(), before);
    // Bad runs into a fresh directory fail cleanly and leave nothing behind.
    let out = dir.path().join("bad");
    let missing = dir.path().join("nowhere.jsonl");
    let o = synthetic_dpo(&missing, None, &out);
    assert_clean_failure(&o, "nowhere.jsonl");
    let o = rlp(&["dpo", "--task", "synthetic", "--out", out.to_str().unwrap()]);
    assert_clean_failure(&o, "--data");
    assert_unknown_key(
        "dpo",
        dir.path(),
        "task = \"synthetic\"\nlearning_rate = 1.0\n",
        "learning_rate",
    );
    let o = rlp(&[
        "dpo",
        "--task",
        "synthetic",
        "--data",
        pairs.to_str().unwrap(),
        "--beta=-1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "beta");
    assert!(!out.exists(), "a failed run left {}", out.display());
}

/// `rlp eval` end to end on the synthetic task: the base policy against itself (KL 0, no
/// gold winner) and a DPO checkpoint (KL > 0) write the summary, win-rates, samples and
/// report; an unknown config key, a missing policy and a missing proxy are clean errors.
#[test]
fn eval_run_directory_and_bad_configs() {
    let dir = tmp("eval");
    let (pairs, trained) = (dir.path().join("pairs.jsonl"), dir.path().join("dpo"));
    synthetic_pairs(&pairs, 16);
    assert!(synthetic_dpo(&pairs, None, &trained).status.success());
    let config = dir.path().join("eval.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\neval_prompts = 16\ndrift_texts = 8\n[eval]\nmax_new_tokens = 6\n\
         [annotators]\nseed = 3\n",
    )
    .unwrap();
    let kl_of = |policy: Option<&Path>, out: &Path| -> serde_json::Value {
        let mut args = vec![
            "eval",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(p) = policy {
            args.extend(["--policy", p.to_str().unwrap()]);
        }
        let o = rlp(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("win-rate"));
        for f in ["config.toml", "eval.json", "samples.jsonl", "report.md"] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let samples = std::fs::read_to_string(out.join("samples.jsonl")).unwrap();
        assert_eq!(samples.lines().count(), 16);
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap()
    };
    let base = kl_of(None, &dir.path().join("base"));
    assert_eq!(base["summary"]["kl_k1"]["mean"].as_f64().unwrap(), 0.0);
    assert_eq!(base["win_rate_gold"]["n"].as_u64().unwrap(), 16);
    assert!(base["win_rate_annotators"]["se"].as_f64().unwrap() >= 0.0);
    let tuned = kl_of(Some(&trained.join("policy")), &dir.path().join("tuned"));
    assert!(tuned["summary"]["kl_k1"]["mean"].as_f64().unwrap() > 0.0);

    assert_unknown_key(
        "eval",
        dir.path(),
        "task = \"synthetic\"\nprompts = 4\n",
        "prompts",
    );
    for flag in ["--policy", "--reward"] {
        assert_missing_dir("eval", flag, dir.path());
    }
}

/// `rlp bon` end to end on the synthetic task, against the gold and against a reward model
/// trained on hand-made pairs: one `bon.jsonl` line per n in 1, 2, 4, 8 with best-of-n's
/// analytic KL, the plot and the report; bad n, an unknown key and a missing reward model are
/// clean errors.
#[test]
fn bon_run_directory_and_bad_configs() {
    let dir = tmp("bon");
    let (pairs, trained, rm) = (
        dir.path().join("pairs.jsonl"),
        dir.path().join("dpo"),
        dir.path().join("rm"),
    );
    synthetic_pairs(&pairs, 16);
    assert!(synthetic_dpo(&pairs, None, &trained).status.success());
    let o = rlp(&[
        "reward",
        "train",
        "--data",
        pairs.to_str().unwrap(),
        "--init",
        trained.join("policy").to_str().unwrap(),
        "--out",
        rm.to_str().unwrap(),
        "--trainable",
        "top:0",
        "--max-len",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (reward, out) in [("gold", "gold"), (rm.to_str().unwrap(), "proxy")] {
        let out = dir.path().join(out);
        let o = rlp(&[
            "bon",
            "--task",
            "synthetic",
            "--reward",
            reward,
            "--n",
            "8",
            "--prompts",
            "3",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("n = 1 → 8"));
        for f in [
            "config.toml",
            "bon.jsonl",
            "bon.svg",
            "bon.png",
            "report.md",
        ] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("bon.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ns: Vec<u64> = lines.iter().map(|v| v["n"].as_u64().unwrap()).collect();
        assert_eq!(ns, [1, 2, 4, 8]);
        let kl8 = lines[3]["kl"].as_f64().unwrap();
        assert!((kl8 - (8f64.ln() - 7.0 / 8.0)).abs() < 1e-12);
        // The proxy of the proxy-best never falls as n grows.
        let proxy: Vec<f64> = lines.iter().map(|v| v["proxy"].as_f64().unwrap()).collect();
        assert!(proxy.windows(2).all(|w| w[1] >= w[0] - 1e-9), "{proxy:?}");
    }

    let o = rlp(&["bon", "--task", "synthetic", "--n", "0"]);
    assert_clean_failure(&o, "n and prompts");
    assert_unknown_key(
        "bon",
        dir.path(),
        "task = \"synthetic\"\nsamples = 4\n",
        "samples",
    );
    assert_missing_dir("bon", "--reward", dir.path());
}

/// `rlp pipeline` refuses a config with an unknown key (top level and inside a nested reward
/// training table) or a repeated seed, naming what is wrong, before any work starts.
#[test]
fn pipeline_config_errors_name_the_field() {
    let dir = tmp("pipeline-bad");
    assert_unknown_key("pipeline", dir.path(), "sedds = [1]\n", "sedds");
    assert_unknown_key(
        "pipeline",
        dir.path(),
        "[uml.rm]\nlearning_rate = 1\n",
        "learning_rate",
    );
    let o = rlp(&[
        "pipeline",
        "--seeds",
        "1,1",
        "--out",
        dir.join("run").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "seeds");
}

/// `rlp verdict A B` reads two pipeline runs of the same seeds (here written by hand: flex sees
/// RLP-SPG beat PPO, ndarray sees nothing) and calls the comparison inconclusive; a directory
/// that is not a run is a clear error.
#[test]
fn verdict_across_backends() {
    let dir = tmp("verdict");
    let run = |name: &str, backend: &str, spg: [f64; 3]| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.toml"), format!("backend = \"{backend}\"\n")).unwrap();
        let mut lines = String::new();
        for (seed, x) in spg.iter().enumerate() {
            for (method, win) in [("PPO", 0.5), ("RLP-SPG", 0.5 + x)] {
                lines += &serde_json::json!({
                    "method": method, "seed": seed, "win_gold": win, "win_gold_se": 0.01,
                    "win_annotators": win, "win_annotators_se": 0.01,
                    "gold": {"mean": 0.2, "se": 0.01, "n": 256}, "kl": 1.0, "drift_ppl": 10.0
                })
                .to_string();
                lines.push('\n');
            }
        }
        std::fs::write(d.join("results.jsonl"), lines).unwrap();
        d.to_str().unwrap().to_string()
    };
    let a = run("a", "flex", [0.04, 0.05, 0.06]);
    let b = run("b", "ndarray", [0.04, -0.04, 0.0]);
    let o = rlp(&["verdict", &a, &b]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("flex +5.0 ± 0.6 (3 seeds); ndarray +0.0 ± 2.3 (3 seeds)"),
        "{out}"
    );
    assert!(
        out.contains("inconclusive") && out.contains("about 11 seeds"),
        "{out}"
    );
    let o = rlp(&["verdict", &a, &a]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("RLP-SPG beats PPO on every run: the verdict stands"),
        "{out}"
    );
    let o = rlp(&["verdict", &a, dir.join("nowhere").to_str().unwrap()]);
    assert_clean_failure(&o, "nowhere");
    // The dev split exists only where a task has one.
    let o = rlp(&[
        "pipeline",
        "--config",
        "configs/pipeline-tweet-sentiment.toml",
        "--eval-split",
        "dev",
        "--out",
        dir.join("dev-run").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "has no dev split");
}

/// A model directory is never replaced unasked: a second `rlp sft --out` into it is refused
/// and leaves every byte as it was; `--overwrite` replaces it; `--init X --out X` stays an
/// error even with `--overwrite` (it would delete the checkpoint it starts from).
#[test]
fn outputs_are_never_overwritten_unasked() {
    let dir = tmp("overwrite");
    let model = tiny_sft(dir.path());
    let weights = || std::fs::read(model.join("model.safetensors")).unwrap();
    let before = weights();
    let m = model.to_str().unwrap();
    let o = tiny_sft_into(&model, &["--init", m, "--overwrite"]);
    assert_clean_failure(&o, "both name");
    assert_eq!(weights(), before);
    let o = tiny_sft_into(&model, &["--seed", "7"]);
    assert_clean_failure(&o, "already holds a run or a model");
    assert_eq!(weights(), before);
    let o = tiny_sft_into(&model, &["--seed", "7", "--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(weights(), before, "--overwrite trained a new model");
}

/// Renamed config fields: the old name (`[ppo] gamma`, GAE's discount, once also RLP-SPG's
/// threshold) is still read, with a warning naming the new one; a wrong type is an error naming
/// the key.
#[test]
fn renamed_config_keys_are_read_with_a_warning() {
    let dir = tmp("renamed");
    let old = dir.path().join("old.toml");
    std::fs::write(
        &old,
        "task = \"synthetic\"\nreward = \"no-such-rm\"\n[ppo]\ngamma = 0.99\nlambda = 0.9\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let o = rlp(&[
        "ppo",
        "--config",
        old.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // Parsed (the run fails later, on the missing reward model), with one warning per key.
    assert_clean_failure(&o, "no-such-rm");
    let e = stderr(&o);
    assert!(
        e.contains("`ppo.gamma` is deprecated; call it `ppo.gae_gamma`"),
        "{e}"
    );
    assert!(
        e.contains("`ppo.lambda` is deprecated; call it `ppo.gae_lambda`"),
        "{e}"
    );
    std::fs::write(&old, "[ppo]\ngae_gamma = \"high\"\n").unwrap();
    let o = rlp(&[
        "ppo",
        "--config",
        old.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "gae_gamma");
}

/// `--set KEY=VALUE` reaches any config field (the resolved config.toml shows it, and the run
/// obeys it); an unknown key, a wrong type and a missing `=` are errors naming the `--set`.
#[test]
fn set_overrides_any_field_and_names_bad_ones() {
    let dir = tmp("set");
    let config = dir.path().join("ppo.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nreward = \"gold\"\niterations = 3\neval_every = 1\n\
         eval_prompts = 8\ndrift_texts = 8\nfinal_win_rates = false\n[ppo]\n\
         rollout_batch_size = 8\nmini_batch_size = 4\nppo_epochs = 1\nmax_new_tokens = 6\n\
         value_init = \"policy\"\n[eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    let run = |out: &str, sets: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec!["ppo", "--config", config.to_str().unwrap()];
        for s in sets {
            args.extend(["--set", s]);
        }
        let out_s = out.to_str().unwrap().to_string();
        args.extend(["--out", &out_s]);
        (rlp(&args), out)
    };
    let (o, out) = run("ok", &["iterations=1", "ppo.gae_lambda=0.9"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(resolved.contains("iterations = 1") && resolved.contains("gae_lambda = 0.9"));
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 1);
    let (o, out) = run("unknown", &["ppo.lrr=1e-4"]);
    assert_clean_failure(&o, "--set ppo.lrr=1e-4");
    assert!(stderr(&o).contains("lrr") && !out.exists());
    let (o, _) = run("type", &["iterations=many"]);
    assert_clean_failure(&o, "--set iterations=many");
    let (o, _) = run("syntax", &["iterations"]);
    assert_clean_failure(&o, "KEY=VALUE");
}

/// `rlp --help` lists every training verb, the methods added with the driver included, and
/// each shipped arith config parses as its verb's config.
#[test]
fn help_lists_the_verbs_and_shipped_configs_parse() {
    let o = rlp(&["--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for verb in [
        "sft",
        "ppo",
        "dpo",
        "fdpg",
        "quark",
        "grpo",
        "rloo",
        "online-dpo",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(verb)),
            "{verb} missing from:\n{help}"
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (file, table) in [
        ("grpo-arith.toml", "grpo"),
        ("dr-grpo-arith.toml", "grpo"),
        ("rloo-arith.toml", "rloo"),
        ("online-dpo-arith.toml", "online_dpo"),
    ] {
        let c = rlp::runs::online::OnlineRunConfig::load(&root.join(file)).unwrap();
        let set = [
            ("grpo", c.grpo.is_some()),
            ("rloo", c.rloo.is_some()),
            ("online_dpo", c.online_dpo.is_some()),
        ];
        assert!(set.contains(&(table, true)), "{file}");
    }
    rlp::runs::ppo::PpoRunConfig::load(&root.join("ppo-arith.toml")).unwrap();
}

/// Every file under `root`, as paths relative to it, sorted.
fn files_under(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), root, out);
            } else {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The same `rlp ppo` command twice, with the same seed, writes the same bytes: weights, the
/// checkpoint's loadable model, eval.jsonl, the report, the plots and win-rates, and the same
/// metrics apart from their timings. Two exceptions, both inside `checkpoint-N/trainer/`:
/// burn gives every parameter a random id in each process and writes the optimizer's state in
/// the order of a randomly seeded hash map, so its `.bpk` files hold the same numbers in other
/// bytes (the resume tests check those numbers through the weights of a resumed run).
#[test]
fn the_same_command_twice_writes_the_same_bytes() {
    let dir = tmp("determinism");
    let config = dir.path().join("ppo.toml");
    std::fs::write(
        &config,
        "task = \"synthetic\"\nreward = \"gold\"\niterations = 3\neval_every = 1\n\
         eval_prompts = 8\ndrift_texts = 8\ncheckpoint_every = 2\n[ppo]\n\
         rollout_batch_size = 8\nmini_batch_size = 4\nppo_epochs = 1\nmax_new_tokens = 6\n\
         value_init = \"policy\"\n[eval]\nmax_new_tokens = 6\n",
    )
    .unwrap();
    let runs = [dir.path().join("a"), dir.path().join("b")];
    for run in &runs {
        let o = rlp(&[
            "ppo",
            "--config",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let files = files_under(&runs[0]);
    assert_eq!(
        files,
        files_under(&runs[1]),
        "the two runs wrote different files"
    );
    for f in [
        "eval.jsonl",
        "policy/model.safetensors",
        "checkpoint-2/model.safetensors",
    ] {
        assert!(files.contains(&PathBuf::from(f)), "{f} missing");
    }
    for f in &files {
        let in_trainer_state = f.components().any(|c| c.as_os_str() == "trainer")
            && f.extension().is_some_and(|e| e == "bpk");
        if in_trainer_state {
            continue;
        }
        if f == Path::new("metrics.jsonl") {
            assert_eq!(
                common::metrics(&runs[0]),
                common::metrics(&runs[1]),
                "metrics.jsonl differs apart from timings"
            );
            continue;
        }
        let (a, b) = (
            std::fs::read(runs[0].join(f)).unwrap(),
            std::fs::read(runs[1].join(f)).unwrap(),
        );
        if a != b {
            let (ta, tb) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let line = ta.lines().zip(tb.lines()).position(|(x, y)| x != y);
            panic!(
                "{} differs between two identical runs (first differing line: {line:?})",
                f.display()
            );
        }
    }
}
