//! LoRA on the causal LM: an adapter with `B = 0` is the base model, merging is exact up to
//! rounding, only the adapters train, PEFT-format adapters round-trip, and malformed adapters
//! are refused by tensor name.

use rlp_core::With;
use std::path::Path;

use burn::module::Module;
use rlp_core::SeededRng;
use rlp_core::device::test_backend;
use rlp_core::scratch::ScratchDir;
use rlp_core::tensor_io::{ints, max_abs_diff, to_f32};
use rlp_models::checkpoint::write_safetensors;
use rlp_models::lora::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, LoraConfig, LoraTarget, adapters, apply_lora,
    is_adapted, load_adapter, merge, save_adapter,
};
use rlp_models::{CausalLm, LlamaConfig};
use rlp_train::{NllTrainer, OptimConfig, collate_sft};

fn config() -> LlamaConfig {
    let mut c = LlamaConfig::tiny(40);
    c.tie_word_embeddings = false;
    c
}

fn base(device: &burn::tensor::Device) -> CausalLm {
    CausalLm::init(&config(), &mut SeededRng::new(7), device).unwrap()
}

fn lora(rank: usize) -> LoraConfig {
    LoraConfig::default().with(|c| {
        c.rank = rank;
        c.alpha = 2.0 * rank as f64;
        c.targets = vec![LoraTarget::Q, LoraTarget::V, LoraTarget::Down];
        c.rslora = false;
        c.quantize = None;
        c.dropout = 0.0;
    })
}

/// Two prompt/response examples, collated.
fn batch(d: &burn::tensor::Device) -> rlp_train::SftBatch {
    let examples = vec![
        (vec![1u32, 5, 9], vec![3u32, 30, 2]),
        (vec![7u32, 11], vec![4u32, 2]),
    ];
    collate_sft(&examples, 0, 16, d).unwrap()
}

fn logits(m: &CausalLm) -> Vec<f32> {
    let d = m.device();
    to_f32(
        m.forward(ints(vec![1, 5, 9, 3, 30, 2, 7, 11], [2, 4], &d), None)
            .logits,
    )
}

/// Writes a PEFT adapter directory with random (non-zero) factors for `model`'s shape, through
/// the same names Python `peft` writes.
fn random_peft_dir(dir: &Path, model: &CausalLm, config: &LoraConfig, seed: u64) {
    let fresh = apply_lora(model.clone(), config, &mut SeededRng::new(seed)).unwrap();
    save_adapter(&fresh, config, Some("tiny"), dir).unwrap();
    let mut tensors = rlp_models::checkpoint::read_safetensors(&dir.join(ADAPTER_WEIGHTS_FILE))
        .unwrap()
        .into_iter()
        .collect::<Vec<_>>();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rng = SeededRng::new(seed + 1);
    for (name, (_, vals)) in &mut tensors {
        if name.contains("lora_B") {
            *vals = rng.normal_vec(vals.len(), 0.05);
        }
    }
    write_safetensors(&tensors, &dir.join(ADAPTER_WEIGHTS_FILE)).unwrap();
}

#[test]
fn an_adapter_with_zero_b_is_the_base_model() {
    let d = test_backend().device().unwrap();
    let m = base(&d);
    let adapted = apply_lora(m.clone(), &lora(4), &mut SeededRng::new(1)).unwrap();
    assert_eq!(adapters(&adapted).len(), 3 * m.layers.len());
    // x·W + s·(x·A)·0 adds exact zeros: bit-identical logits.
    assert_eq!(logits(&adapted), logits(&m));
    // A is PEFT's kaiming-uniform draw: inside ±1/√d_in, not all zero.
    let (_, a) = &adapters(&adapted)[0];
    let a = to_f32(a.a.val());
    let bound = 1.0 / (config().hidden_size as f32).sqrt();
    assert!(a.iter().all(|x| x.abs() <= bound) && a.iter().any(|x| *x != 0.0));
    // Adapting twice is refused.
    let err = apply_lora(adapted, &lora(4), &mut SeededRng::new(1)).unwrap_err();
    assert!(err.to_string().contains("already carries LoRA"), "{err}");
}

#[test]
fn merging_gives_the_adapted_models_logits() {
    let d = test_backend().device().unwrap();
    let dir = ScratchDir::new("lora").unwrap();
    random_peft_dir(dir.path(), &base(&d), &lora(4), 3);
    let (adapted, cfg) = load_adapter(base(&d), dir.path()).unwrap();
    assert_eq!(cfg, lora(4));
    let with_adapter = logits(&adapted);
    assert!(
        max_abs_diff(&with_adapter, &logits(&base(&d))) > 1e-3,
        "the adapter changes nothing"
    );
    let merged = merge(adapted);
    assert!(!is_adapted(&merged));
    let diff = max_abs_diff(&logits(&merged), &with_adapter);
    assert!(diff < 1e-4, "merged vs adapted: {diff}");
    // A merged model is a plain checkpoint: saved and loaded, the same logits.
    let out = ScratchDir::new("lora").unwrap();
    rlp_models::checkpoint::save(&merged, out.path()).unwrap();
    let back = rlp_models::checkpoint::load(out.path(), &d).unwrap();
    assert_eq!(logits(&back), logits(&merged));
}

#[test]
fn peft_directories_round_trip() {
    let d = test_backend().device().unwrap();
    let src = ScratchDir::new("lora").unwrap();
    random_peft_dir(src.path(), &base(&d), &lora(2), 9);
    let (adapted, cfg) = load_adapter(base(&d), src.path()).unwrap();
    let out = ScratchDir::new("lora").unwrap();
    save_adapter(&adapted, &cfg, Some("tiny"), out.path()).unwrap();
    let (again, cfg2) = load_adapter(base(&d), out.path()).unwrap();
    assert_eq!(cfg, cfg2);
    assert_eq!(logits(&again), logits(&adapted));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join(ADAPTER_CONFIG_FILE)).unwrap(),
    )
    .unwrap();
    assert_eq!(json["peft_type"], "LORA");
    assert_eq!(json["r"], 2);
    assert_eq!(
        json["target_modules"],
        serde_json::json!(["q_proj", "v_proj", "down_proj"])
    );
    let names =
        rlp_models::checkpoint::read_safetensors(&out.path().join(ADAPTER_WEIGHTS_FILE)).unwrap();
    let (shape, _) = &names["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"];
    assert_eq!(shape, &vec![2, config().hidden_size]);
    let (shape, _) = &names["base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"];
    assert_eq!(shape, &vec![config().hidden_size, 2]);
}

#[test]
fn only_the_adapters_train() {
    let d = test_backend().autodiff_device().unwrap();
    let m = base(&d);
    let adapted = apply_lora(m.clone(), &lora(4), &mut SeededRng::new(1)).unwrap();
    let batch = batch(&d);
    let mut trainer = NllTrainer::new(adapted, OptimConfig::default()).unwrap();
    // Gradients exist for the adapters' factors alone: 2 per adapted weight.
    let loss = rlp_train::response_nll(&trainer.model, &batch);
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &trainer.model);
    assert_eq!(grads.len(), 2 * 3 * m.layers.len());
    for _ in 0..3 {
        trainer.step(&batch, 1e-2).unwrap();
    }
    let trained = trainer.model;
    // Every base tensor is unchanged bit for bit ...
    let bases = |m: &CausalLm| -> Vec<Vec<f32>> {
        let mut out = vec![
            to_f32(m.embed_tokens.weight.base()),
            to_f32(m.norm.gamma.base()),
        ];
        for l in &m.layers {
            for w in [
                &l.self_attn.q_proj.weight,
                &l.self_attn.k_proj.weight,
                &l.self_attn.v_proj.weight,
                &l.self_attn.o_proj.weight,
                &l.mlp.gate_proj.weight,
                &l.mlp.up_proj.weight,
                &l.mlp.down_proj.weight,
            ] {
                out.push(to_f32(w.base()));
            }
            out.push(to_f32(l.input_layernorm.gamma.base()));
        }
        out.push(to_f32(m.lm_head.as_ref().unwrap().weight.base()));
        out
    };
    assert_eq!(bases(&trained), bases(&m));
    // ... while every B has left zero, and the model's output moved.
    for (module, adapter) in adapters(&trained) {
        assert!(
            to_f32(adapter.b.val()).iter().any(|x| *x != 0.0),
            "{module}: B still 0"
        );
    }
    assert!(max_abs_diff(&logits(&trained), &logits(&m)) > 1e-4);
}

#[test]
fn malformed_adapters_are_refused_by_name() {
    let d = test_backend().device().unwrap();
    let dir = ScratchDir::new("lora").unwrap();
    random_peft_dir(dir.path(), &base(&d), &lora(4), 3);
    let weights = dir.path().join(ADAPTER_WEIGHTS_FILE);
    let original = std::fs::read(&weights).unwrap();
    let mut tensors: Vec<_> = rlp_models::checkpoint::read_safetensors(&weights)
        .unwrap()
        .into_iter()
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));

    // A missing tensor.
    let without: Vec<_> = tensors
        .iter()
        .filter(|(n, _)| n != "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")
        .cloned()
        .collect();
    write_safetensors(&without, &weights).unwrap();
    let err = load_adapter(base(&d), dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("layers.1.self_attn.v_proj.lora_B.weight") && err.contains("missing"),
        "{err}"
    );

    // Another rank: the config says 4, a tensor has rank 3.
    let mut other_rank = tensors.clone();
    let (_, (shape, vals)) = other_rank
        .iter_mut()
        .find(|(n, _)| n.ends_with("layers.0.mlp.down_proj.lora_A.weight"))
        .unwrap();
    *shape = vec![3, shape[1]];
    vals.truncate(3 * shape[1]);
    write_safetensors(&other_rank, &weights).unwrap();
    let err = load_adapter(base(&d), dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("layers.0.mlp.down_proj.lora_A.weight") && err.contains("[3,"),
        "{err}"
    );

    // Another architecture: a model with one layer more has tensors this one lacks, and a
    // one-layer model is offered tensors it does not have.
    std::fs::write(&weights, &original).unwrap();
    let mut deeper = config();
    deeper.num_hidden_layers += 1;
    let deeper = CausalLm::init(&deeper, &mut SeededRng::new(1), &d).unwrap();
    let err = load_adapter(deeper, dir.path()).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
    let mut shallow = config();
    shallow.num_hidden_layers = 1;
    let shallow = CausalLm::init(&shallow, &mut SeededRng::new(1), &d).unwrap();
    let err = load_adapter(shallow, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("layers.1.") && err.contains("not a LoRA factor"),
        "{err}"
    );
    let mut wider = config();
    wider.intermediate_size *= 2;
    let wider = CausalLm::init(&wider, &mut SeededRng::new(1), &d).unwrap();
    let err = load_adapter(wider, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("down_proj.lora_A.weight") && err.contains("another model"),
        "{err}"
    );

    // Unsupported PEFT settings, by field.
    let cfg_path = dir.path().join(ADAPTER_CONFIG_FILE);
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        cfg.replace("\"use_dora\": false", "\"use_dora\": true"),
    )
    .unwrap();
    let err = load_adapter(base(&d), dir.path()).unwrap_err().to_string();
    assert!(err.contains("use_dora"), "{err}");
    std::fs::write(&cfg_path, cfg.replace("\"LORA\"", "\"IA3\"")).unwrap();
    let err = load_adapter(base(&d), dir.path()).unwrap_err().to_string();
    assert!(err.contains("peft_type"), "{err}");
}

#[test]
fn a_loaded_adapter_keeps_its_factors_on_the_device() {
    // The factors are trainable parameters of their own (not folded into the base) after a
    // device move, as a trainer's fork does.
    let d = test_backend().device().unwrap();
    let adapted = apply_lora(base(&d), &lora(2), &mut SeededRng::new(4)).unwrap();
    let ad = test_backend().autodiff_device().unwrap();
    let moved = adapted.clone().fork(&ad);
    assert_eq!(adapters(&moved).len(), adapters(&adapted).len());
    assert_eq!(logits(&moved), logits(&adapted));
}

#[test]
fn an_adapted_model_resumes_from_its_trainer_state_exactly() {
    // A trainer state holds the frozen base and the factors (burnpack, with parameter ids) and
    // AdamW's moments of the factors alone. Restored into a model rebuilt as a resumed run
    // rebuilds it (the merged checkpoint, adapted afresh), training goes on bit for bit.
    let d = test_backend().autodiff_device().unwrap();
    let batch = batch(&d);
    let adapted = apply_lora(base(&d), &lora(4), &mut SeededRng::new(1)).unwrap();
    let mut whole = NllTrainer::new(adapted.clone(), OptimConfig::default()).unwrap();
    let mut first = NllTrainer::new(adapted, OptimConfig::default()).unwrap();
    for _ in 0..2 {
        whole.step(&batch, 1e-2).unwrap();
        first.step(&batch, 1e-2).unwrap();
    }
    whole.step(&batch, 1e-2).unwrap();

    let state = ScratchDir::new("lora-resume").unwrap();
    rlp_train::optim::save_module(&first.model, &state.join("model.bpk")).unwrap();
    first.optim.save_state(&state.join("optim.bpk")).unwrap();
    let merged_dir = ScratchDir::new("lora-resume-merged").unwrap();
    rlp_models::checkpoint::save(&first.model, merged_dir.path()).unwrap();
    let rebuilt = rlp_models::checkpoint::load(merged_dir.path(), &d).unwrap();
    let rebuilt = apply_lora(rebuilt, &lora(4), &mut SeededRng::new(99)).unwrap();
    let restored = rlp_train::optim::load_module(rebuilt, &state.join("model.bpk")).unwrap();
    let optim = rlp_train::AdamW::new(OptimConfig::default())
        .load_state(&state.join("optim.bpk"), 2)
        .unwrap();
    let mut resumed = NllTrainer {
        model: restored,
        optim,
    };
    resumed.step(&batch, 1e-2).unwrap();
    assert_eq!(logits(&resumed.model), logits(&whole.model));
    for ((_, a), (_, b)) in adapters(&resumed.model)
        .iter()
        .zip(adapters(&whole.model).iter())
    {
        assert_eq!(to_f32(a.a.val()), to_f32(b.a.val()));
        assert_eq!(to_f32(a.b.val()), to_f32(b.b.val()));
    }
}

#[test]
fn lora_sft_lowers_the_loss() {
    // Learning, not only moving: 30 steps on one batch take the response NLL well below where
    // it started (3.62 → 2.57 on flex), with the base frozen.
    let d = test_backend().autodiff_device().unwrap();
    let batch = batch(&d);
    let adapted = apply_lora(base(&d), &lora(4), &mut SeededRng::new(1)).unwrap();
    let mut trainer = NllTrainer::new(adapted, OptimConfig::default()).unwrap();
    let first = trainer.step(&batch, 1e-2).unwrap().loss;
    let mut last = first;
    for _ in 0..30 {
        last = trainer.step(&batch, 1e-2).unwrap().loss;
    }
    assert!(last < 0.8 * first, "loss {first} → {last}");
}

#[test]
fn factor_gradients_match_finite_differences() {
    // ∂L/∂B from autodiff through the factored path x·W + s·(x·A)·B, against central
    // differences (L(B + εe) − L(B − εe)) / 2ε of the same loss, entry by entry.
    let d = test_backend().autodiff_device().unwrap();
    let dir = ScratchDir::new("lora-fd").unwrap();
    let cfg = lora(2);
    random_peft_dir(dir.path(), &base(&d), &cfg, 5);
    let batch = batch(&d);
    let loss_of = |dir: &Path| -> (f64, CausalLm) {
        let (m, _) = load_adapter(base(&d), dir).unwrap();
        let l = rlp_train::response_nll(&m, &batch);
        (rlp_core::tensor_io::scalar(l.clone().detach()) as f64, m)
    };
    let (_, m) = loss_of(dir.path());
    let loss = rlp_train::response_nll(&m, &batch);
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &m);
    let weights = dir.join(ADAPTER_WEIGHTS_FILE);
    let tensors = rlp_models::checkpoint::read_safetensors(&weights).unwrap();
    for (module, which, peft_name) in [
        (
            "layers.0.self_attn.q_proj",
            "b",
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
        ),
        (
            "layers.1.mlp.down_proj",
            "a",
            "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
        ),
    ] {
        let adapter = adapters(&m)
            .into_iter()
            .find(|(n, _)| n == module)
            .unwrap()
            .1;
        let param = if which == "a" { &adapter.a } else { &adapter.b };
        let g: Vec<f32> = to_f32(grads.get::<2>(param.id).expect("a gradient"));
        // burn's factor is the transpose of PEFT's tensor: entry (i, j) of burn's is (j, i) of
        // PEFT's.
        let [rows, cols] = param.val().dims();
        for (i, j) in [(0, 0), (rows - 1, cols - 1), (rows / 2, cols / 2)] {
            let eps = 1e-2f32;
            let at = |delta: f32| {
                let mut t: Vec<_> = tensors.clone().into_iter().collect();
                let (_, (shape, vals)) = t.iter_mut().find(|(n, _)| n == peft_name).unwrap();
                vals[j * shape[1] + i] += delta;
                let probe = ScratchDir::new("lora-fd-probe").unwrap();
                std::fs::copy(
                    dir.join(ADAPTER_CONFIG_FILE),
                    probe.join(ADAPTER_CONFIG_FILE),
                )
                .unwrap();
                write_safetensors(&t, &probe.join(ADAPTER_WEIGHTS_FILE)).unwrap();
                loss_of(probe.path()).0
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps as f64);
            let ad = g[i * cols + j] as f64;
            assert!(
                (fd - ad).abs() < 2e-3 + 0.05 * ad.abs(),
                "{module}.{which}[{i},{j}]: autodiff {ad} vs differences {fd}"
            );
        }
    }
}

#[test]
fn qlora_keeps_the_base_quantized_and_trains_the_adapters() {
    use rlp_models::lora::BaseQuant;
    let d = test_backend().autodiff_device().unwrap();
    let m = base(&d);
    let batch = batch(&d);
    for (quant, tolerance) in [(BaseQuant::Q8, 0.02), (BaseQuant::Q4, 0.3)] {
        let mut cfg = lora(4);
        cfg.quantize = Some(quant);
        let adapted = apply_lora(m.clone(), &cfg, &mut SeededRng::new(1)).unwrap();
        let q = adapted.layers[0].self_attn.q_proj.weight.clone();
        assert!(
            matches!(q.base().dtype(), burn::tensor::DType::QFloat(_)),
            "{quant:?}: the targeted base is not quantized"
        );
        // Untargeted weights stay f32.
        assert!(
            adapted.layers[0]
                .self_attn
                .k_proj
                .weight
                .base()
                .dtype()
                .is_float()
        );
        // B = 0: the model is the base model up to the quantization error.
        let diff = max_abs_diff(&logits(&adapted), &logits(&m));
        assert!(diff < tolerance, "{quant:?}: {diff}");
        let mut trainer = NllTrainer::new(adapted, OptimConfig::default()).unwrap();
        let first = trainer.step(&batch, 1e-2).unwrap().loss;
        let mut last = first;
        for _ in 0..20 {
            last = trainer.step(&batch, 1e-2).unwrap().loss;
        }
        assert!(last < 0.9 * first, "{quant:?}: loss {first} → {last}");
        // Still quantized after training, and the same integers: the base never moves.
        let before = to_f32(q.base().dequantize());
        let after_q = &trainer.model.layers[0].self_attn.q_proj.weight;
        assert!(matches!(
            after_q.base().dtype(),
            burn::tensor::DType::QFloat(_)
        ));
        assert_eq!(to_f32(after_q.base().dequantize()), before);
        // Merged, it is a plain f32 model with the adapted model's logits.
        let merged = merge(trainer.model.clone());
        assert!(
            merged.layers[0]
                .self_attn
                .q_proj
                .weight
                .val()
                .dtype()
                .is_float()
        );
        let diff = max_abs_diff(&logits(&merged), &logits(&trainer.model));
        assert!(diff < 1e-4, "{quant:?}: merged vs adapted {diff}");
    }
}

#[test]
fn dropout_acts_while_training_and_is_a_function_of_the_step() {
    let d = test_backend().autodiff_device().unwrap();
    let dir = ScratchDir::new("lora-dropout").unwrap();
    let mut cfg = lora(4);
    random_peft_dir(dir.path(), &base(&d), &cfg, 3);
    let (plain, _) = load_adapter(base(&d), dir.path()).unwrap();
    cfg.dropout = 0.5;
    let adapted = apply_lora(base(&d), &cfg, &mut SeededRng::new(1)).unwrap();
    // The same factors as `plain`, now with dropout: load the PEFT directory written with it.
    let with_dropout = ScratchDir::new("lora-dropout-2").unwrap();
    save_adapter(&plain, &cfg, None, with_dropout.path()).unwrap();
    let (dropped, read) = load_adapter(base(&d), with_dropout.path()).unwrap();
    assert_eq!(read.dropout, 0.5);
    drop(adapted);
    let step = |m: &CausalLm, s: u64| {
        let _scope = rlp_models::lora::dropout_step(s);
        logits(m)
    };
    // Training (autodiff device): the adapters' input is dropped, so the output moves; the mask
    // is a function of the step.
    let a = step(&dropped, 7);
    assert!(
        max_abs_diff(&a, &logits(&plain)) > 1e-4,
        "dropout changed nothing"
    );
    assert_eq!(step(&dropped, 7), a);
    assert!(max_abs_diff(&step(&dropped, 8), &a) > 1e-6);
    // Inference (`valid()`, no autodiff): no dropout at all.
    assert_eq!(logits(&dropped.valid()), logits(&plain.valid()));
    // Merged: no dropout left.
    assert!(merge(dropped).layers[0].self_attn.lora_dropout.is_none());
}
