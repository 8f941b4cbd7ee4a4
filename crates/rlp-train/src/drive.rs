//! [`drive`]: runs a [`Trainer`] to its last step in a [`RunDir`] — resuming from the newest
//! complete checkpoint when asked, one `metrics.jsonl` line per step, an atomic `checkpoint-N`
//! every so many steps — with [`Callback`]s at the seams.

use std::path::Path;
use std::time::Instant;

use crate::error::TrainError;
use crate::run_dir::{METRICS_FILE, RunDir, TRAINER_DIR};
use crate::trainer::{Callback, Trainer};

/// How [`drive`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveOptions {
    /// Write `checkpoint-N` every this many steps, the last step included (0: never).
    pub checkpoint_every: usize,
    /// Continue from the newest complete checkpoint in the run directory (an error when there
    /// is none); otherwise start at step 0 with a fresh `metrics.jsonl`.
    pub resume: bool,
}

/// Where a driven run started and ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriveOutcome {
    /// The checkpoint step it resumed from (`None`: it started fresh).
    pub resumed_from: Option<usize>,
    /// Steps done at the end.
    pub steps: usize,
}

/// Runs `trainer` in `run` as `options` say. Each step's statistics become one line of
/// `metrics.jsonl` (with the seconds since this call began as `wall_time`, the only field that
/// differs between identical runs). On resume, the trainer and callbacks are restored from
/// the newest `checkpoint-N` and the metrics lines after step N (a killed run's) are dropped,
/// so the finished run's files and weights are the uninterrupted run's.
///
/// Under data parallelism (`rlp_core::parallel`) every rank drives its own copy of the trainer
/// in step; rank 0 alone writes `metrics.jsonl` and the checkpoints (the [`RunDir`] writes do
/// nothing elsewhere), every rank resumes from them, and all ranks meet at the end.
pub fn drive<T: Trainer>(
    trainer: &mut T,
    run: &RunDir,
    options: DriveOptions,
    callbacks: &mut [&mut dyn Callback<T>],
) -> Result<DriveOutcome, T::Error> {
    run.create()?;
    let resumed_from = if options.resume {
        let Some((step, dir)) = run.latest_checkpoint() else {
            return Err(TrainError::run_dir(
                run.path(),
                "--resume: no complete checkpoint-N (with trainer/state.json) to resume from; \
                 run without --resume, or with --overwrite to start over",
            )
            .into());
        };
        run.remove_partials()?;
        trainer.load_state(&dir.join(TRAINER_DIR))?;
        if trainer.steps_done() != step {
            return Err(TrainError::state(
                &dir.join(TRAINER_DIR),
                format!(
                    "restores step {} but sits in checkpoint-{step}",
                    trainer.steps_done()
                ),
            )
            .into());
        }
        run.truncate_jsonl(METRICS_FILE, "step", step)?;
        for c in callbacks.iter_mut() {
            c.on_resume(trainer, step, &dir)?;
        }
        Some(step)
    } else {
        let path = run.join(METRICS_FILE);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| TrainError::io(&path, e))?;
        }
        None
    };
    let start = Instant::now();
    while trainer.steps_done() < trainer.total_steps() {
        // LoRA's dropout masks follow from the step, so a resumed run draws the same ones.
        let scope = rlp_models::lora::dropout_step(trainer.steps_done() as u64);
        let stats = trainer.step()?;
        drop(scope);
        let step = trainer.steps_done();
        run.append_jsonl(METRICS_FILE, &metrics_line(step, &stats, start)?)?;
        for c in callbacks.iter_mut() {
            c.on_step(trainer, step, &stats)?;
        }
        if options.checkpoint_every > 0 && step.is_multiple_of(options.checkpoint_every) {
            checkpoint(trainer, run, step, callbacks)?;
        }
    }
    // Under data parallelism rank 0 alone writes; the others wait here until it has, so that
    // what every rank reads next (metrics, the last checkpoint) is complete.
    rlp_core::parallel::world().barrier();
    Ok(DriveOutcome {
        resumed_from,
        steps: trainer.steps_done(),
    })
}

/// Writes checkpoint `step`: the trainer's state under `trainer/`, then what the callbacks add.
pub fn checkpoint<T: Trainer>(
    trainer: &T,
    run: &RunDir,
    step: usize,
    callbacks: &mut [&mut dyn Callback<T>],
) -> Result<(), T::Error> {
    run.write_checkpoint(step, |dir: &Path| -> Result<(), T::Error> {
        let state = dir.join(TRAINER_DIR);
        std::fs::create_dir_all(&state).map_err(|e| TrainError::io(&state, e))?;
        trainer.save_state(&state)?;
        for c in callbacks.iter_mut() {
            c.on_checkpoint(trainer, step, dir)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// `{"step": …, "wall_time": …, <stats>…}` (the stats' own `step`, if any, agrees).
fn metrics_line(
    step: usize,
    stats: &impl serde::Serialize,
    start: Instant,
) -> Result<serde_json::Value, TrainError> {
    let value = serde_json::to_value(stats)
        .map_err(|e| TrainError::invalid("stats", format!("not serialisable: {e}")))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(TrainError::invalid(
            "stats",
            "must serialise to a JSON object",
        ));
    };
    let mut line = serde_json::Map::new();
    line.insert("step".into(), step.into());
    line.insert("wall_time".into(), start.elapsed().as_secs_f64().into());
    line.extend(fields.into_iter().filter(|(k, _)| k != "step"));
    Ok(serde_json::Value::Object(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OptimConfig;
    use crate::epoch_trainer::{EpochTrainer, StepInfo};
    use crate::plan::EpochPlan;
    use burn::nn::{Initializer, Linear, LinearConfig};
    use burn::tensor::{Device, Tensor, TensorData};
    use rlp_core::device::test_backend;

    /// y = 3·x₀ − 2·x₁ + 1 on 40 fixed points.
    fn data() -> (Vec<[f32; 2]>, Vec<f32>) {
        let xs: Vec<[f32; 2]> = (0..40)
            .map(|i| [(i as f32 * 0.37).sin(), (i as f32 * 0.91).cos()])
            .collect();
        let ys = xs.iter().map(|x| 3.0 * x[0] - 2.0 * x[1] + 1.0).collect();
        (xs, ys)
    }

    fn trainer(
        device: &Device,
    ) -> EpochTrainer<
        Linear,
        impl FnMut(&Linear, &[usize]) -> Result<(Tensor<1>, f64), TrainError>,
        TrainError,
    > {
        let (xs, ys) = data();
        let d = device.clone();
        // Zeros: burn's default initialiser draws from the device's own RNG, not our seed.
        let model = LinearConfig::new(2, 1)
            .with_initializer(Initializer::Zeros)
            .init(device);
        let batch = move |m: &Linear, idx: &[usize]| {
            let x: Vec<f32> = idx.iter().flat_map(|&i| xs[i]).collect();
            let y: Vec<f32> = idx.iter().map(|&i| ys[i]).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [idx.len(), 2]), &d);
            let y = Tensor::<1>::from_data(TensorData::new(y, [idx.len()]), &d);
            let err = m.forward(x).reshape([idx.len()]) - y;
            Ok((err.clone().mul(err).mean(), 0.0))
        };
        let plan = EpochPlan::epochs(40, 8, 10, 7, "test");
        let optim = OptimConfig {
            lr: 0.3,
            weight_decay: 0.0,
            max_grad_norm: None,
        };
        EpochTrainer::new(model, plan, optim, batch).unwrap()
    }

    fn weights(m: &Linear) -> Vec<f32> {
        let mut w = m.weight.val().into_data().try_to_vec::<f32>().unwrap();
        w.extend(
            m.bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
        );
        w
    }

    /// Counts checkpoint and resume calls.
    #[derive(Default)]
    struct Seen {
        steps: usize,
        checkpoints: Vec<usize>,
        resumed: Option<usize>,
    }

    impl<T: Trainer> Callback<T> for Seen {
        fn on_step(&mut self, _: &T, _: usize, _: &T::Stats) -> Result<(), T::Error> {
            self.steps += 1;
            Ok(())
        }
        fn on_checkpoint(&mut self, _: &T, step: usize, dir: &Path) -> Result<(), T::Error> {
            std::fs::write(dir.join("extra.txt"), step.to_string()).unwrap();
            self.checkpoints.push(step);
            Ok(())
        }
        fn on_resume(&mut self, _: &T, step: usize, _: &Path) -> Result<(), T::Error> {
            self.resumed = Some(step);
            Ok(())
        }
    }

    /// The driver's contract: a run stopped after any checkpoint and resumed ends with the
    /// uninterrupted run's weights and metrics (timings aside), bit for bit; the loss falls.
    #[test]
    fn an_interrupted_run_resumes_to_the_same_bits() {
        let device = test_backend().autodiff_device().unwrap();
        let d = rlp_core::ScratchDir::new("drive-resume").unwrap();
        let whole = RunDir::new(d.join("whole"));
        let mut t = trainer(&device);
        let mut seen = Seen::default();
        let opts = DriveOptions {
            checkpoint_every: 5,
            resume: false,
        };
        drive(&mut t, &whole, opts, &mut [&mut seen]).unwrap();
        assert_eq!(t.steps_done(), 50);
        assert_eq!(
            seen.checkpoints,
            (1..=10).map(|i| 5 * i).collect::<Vec<_>>()
        );
        let text = std::fs::read_to_string(whole.checkpoint_dir(10).join("extra.txt"));
        assert_eq!(text.unwrap(), "10");
        let first = read_metrics(&whole)[0]["loss"].as_f64().unwrap();
        assert!(
            t.outcome().last_epoch_loss < first / 10.0,
            "{first} → {:?}",
            t.outcome()
        );
        let want = weights(t.model());

        // Stop after step 12 (a kill: checkpoint-10 is the newest), then resume.
        let cut = RunDir::new(d.join("cut"));
        let mut t = trainer(&device);
        cut.create().unwrap();
        for _ in 0..12 {
            let s: StepInfo = t.step().unwrap();
            cut.append_jsonl(
                METRICS_FILE,
                &serde_json::json!({"step": s.step, "loss": s.loss}),
            )
            .unwrap();
            if s.step % 5 == 0 {
                checkpoint(&t, &cut, s.step, &mut []).unwrap();
            }
        }
        let mut t = trainer(&device);
        let mut seen = Seen::default();
        let opts = DriveOptions {
            checkpoint_every: 5,
            resume: true,
        };
        let out = drive(&mut t, &cut, opts, &mut [&mut seen]).unwrap();
        assert_eq!(out.resumed_from, Some(10));
        assert_eq!((seen.resumed, seen.steps), (Some(10), 40));
        assert_eq!(weights(t.model()), want);
        let strip = |run: &RunDir| -> Vec<(u64, f64)> {
            read_metrics(run)
                .iter()
                .map(|v| (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
                .collect()
        };
        assert_eq!(strip(&cut), strip(&whole));
    }

    #[test]
    fn resume_without_a_checkpoint_or_with_another_plan_is_an_error() {
        let device = test_backend().autodiff_device().unwrap();
        let d = rlp_core::ScratchDir::new("drive-errors").unwrap();
        let run = RunDir::new(d.path());
        let mut t = trainer(&device);
        let opts = DriveOptions {
            checkpoint_every: 0,
            resume: true,
        };
        let e = drive(&mut t, &run, opts, &mut []).unwrap_err().to_string();
        assert!(e.contains("no complete checkpoint"), "{e}");
        // A checkpoint written under another plan names the mismatch.
        let mut t = trainer(&device);
        t.step().unwrap();
        checkpoint(&t, &run, 1, &mut []).unwrap();
        let state = run.checkpoint_dir(1).join("trainer/state.json");
        let text = std::fs::read_to_string(&state).unwrap();
        std::fs::write(&state, text.replace("\"seed\": 7", "\"seed\": 8")).unwrap();
        let mut t = trainer(&device);
        let e = drive(&mut t, &run, opts, &mut []).unwrap_err().to_string();
        assert!(e.contains("state.json") && e.contains("plan"), "{e}");
    }

    fn read_metrics(run: &RunDir) -> Vec<serde_json::Value> {
        std::fs::read_to_string(run.join(METRICS_FILE))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
