//! Training resumes after a crash, bit-identical (issue 16, "Also build": resume).
//!
//! In-process: a run stopped after k epochs (or in the middle of an epoch, by a panic) and
//! resumed from its training checkpoint ends with the weights, optimizer state and history of
//! an uninterrupted run. Across processes (Unix): a child process training with a checkpoint is
//! killed with SIGKILL at several points, resumed in a new child, and ends with the weights of
//! an uninterrupted child, bit for bit.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use nn::data::{Dataset, InMemory};
use nn::optim::{OneCycleLr, Optimizer, OptimizerState, StepLr};
use nn::prelude::*;

network! {
    struct Bn: [8] => Linear<8, 8> -> BatchNorm1d<8> -> ReLU -> Linear<8, 3>
}

network! {
    struct Mlp: [8] => Linear<8, 16> -> ReLU -> Linear<16, 3>
}

/// 70 samples (batches of 8: 9 steps an epoch, the last of 6), 3 classes.
fn data(count: usize, seed: u64) -> InMemory<[f32; 8], usize> {
    let mut rng = nn::Rng::seed(seed);
    let inputs: Vec<[f32; 8]> = (0..count)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let targets = inputs
        .iter()
        .map(|x| usize::from(x[0] + x[1] > 0.0) + usize::from(x[2] > 0.5))
        .collect();
    InMemory::new(inputs, targets).unwrap()
}

/// Every parameter, buffer and counter, as bits.
fn bits(module: &impl Module) -> Vec<(String, Vec<u32>)> {
    let mut all = Vec::new();
    module.visit_params("", &mut |key, _, values| {
        all.push((key.to_string(), values.iter().map(|v| v.to_bits()).collect()))
    });
    module.visit_counters("", &mut |key, value| all.push((key.to_string(), vec![value as u32])));
    all
}

/// An optimizer state, its buffers as bits.
fn state_bits(state: &OptimizerState) -> String {
    let buffers: Vec<(&String, Vec<u32>)> = state
        .buffers
        .iter()
        .map(|(k, v)| (k, v.iter().map(|x| x.to_bits()).collect()))
        .collect();
    format!("{} {:?} {buffers:?}", state.kind, state.scalars)
}

/// The history without the wall-clock seconds, as bits.
fn history(report: &nn::TrainReport) -> Vec<(usize, u32, Option<u32>, Option<u32>)> {
    report
        .epochs
        .iter()
        .map(|e| {
            (
                e.epoch,
                e.train_loss.to_bits(),
                e.valid_loss.map(f32::to_bits),
                e.valid_accuracy.map(f32::to_bits),
            )
        })
        .collect()
}

/// A dataset that panics (a crash, in-process) at its `get` number `crash_at`.
struct Crashing<'a> {
    data: &'a InMemory<[f32; 8], usize>,
    calls: AtomicUsize,
    crash_at: usize,
}

impl Dataset for Crashing<'_> {
    type Input = [f32; 8];
    type Target = usize;
    fn len(&self) -> usize {
        self.data.len()
    }
    fn get(&self, index: usize) -> ([f32; 8], usize) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(call != self.crash_at, "simulated crash");
        self.data.get(index)
    }
}

/// Trains straight for `epochs`, then again with a crash after `crash_after_epochs` epochs (or,
/// with `crash_in_step`, at that sample read of the next epoch) and a resume from the
/// checkpoint; asserts the two end alike, bit for bit.
fn straight_vs_resumed<N, O>(
    make_net: impl Fn() -> N,
    make_opt: impl Fn() -> O,
    trainer: impl Fn() -> nn::Trainer<'static, CrossEntropy>,
    epochs: usize,
    crash_after_epochs: usize,
    crash_in_step: Option<usize>,
) where
    N: Layer<[f32; 8], Output = [f32; 3]>,
    O: Optimizer,
{
    let (train, valid) = (data(70, 1), data(30, 2));
    let (mut straight, mut straight_opt) = (make_net(), make_opt());
    let straight_report = trainer()
        .epochs(epochs)
        .fit(&mut straight, &mut straight_opt, &train, Some(&valid))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    {
        let (mut net, mut opt) = (make_net(), make_opt());
        match crash_in_step {
            None => {
                trainer()
                    .epochs(crash_after_epochs)
                    .resume_checkpoint(&path)
                    .fit(&mut net, &mut opt, &train, Some(&valid))
                    .unwrap();
            }
            Some(read) => {
                // `fit` reads every sample once to check the targets, then a batch at a time.
                let crashing = Crashing {
                    data: &train,
                    calls: AtomicUsize::new(0),
                    crash_at: train.len() * (1 + crash_after_epochs) + read,
                };
                let crashing_valid = Crashing {
                    data: &valid,
                    calls: AtomicUsize::new(0),
                    crash_at: usize::MAX,
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    trainer().epochs(epochs).resume_checkpoint(&path).fit(
                        &mut net,
                        &mut opt,
                        &crashing,
                        Some(&crashing_valid),
                    )
                }));
                assert!(result.is_err(), "the run was to crash");
            }
        }
        // Everything of the first run is dropped here: only the file remains.
    }
    let (mut net, mut opt) = (make_net(), make_opt());
    let report = trainer()
        .epochs(epochs)
        .resume_checkpoint(&path)
        .fit(&mut net, &mut opt, &train, Some(&valid))
        .unwrap();
    assert_eq!(bits(&net), bits(&straight), "weights");
    assert_eq!(
        state_bits(&opt.state().unwrap()),
        state_bits(&straight_opt.state().unwrap()),
        "optimizer state"
    );
    assert_eq!(history(&report), history(&straight_report), "history");
    assert_eq!(report.best_epoch, straight_report.best_epoch);
    assert_eq!(report.stopped_early, straight_report.stopped_early);
    assert_eq!(report.epochs.len(), epochs);
}

fn quiet() -> nn::Trainer<'static, CrossEntropy> {
    nn::Trainer::new(CrossEntropy).batch_size(8).seed(3).quiet()
}

#[test]
fn sgd_momentum_resumed_after_epochs_is_bit_identical() {
    let opt = || Sgd::new(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4);
    for k in [1, 3] {
        straight_vs_resumed(|| Mlp::init(0), opt, quiet, 5, k, None);
    }
}

#[test]
fn adam_with_a_per_step_schedule_resumed_after_epochs_and_mid_epoch_is_bit_identical() {
    // One-cycle moves the learning rate and beta1 at every step.
    let trainer = || quiet().schedule_per_step(OneCycleLr::new(0.01, 5 * 9));
    let opt = || Adam::new(0.01).amsgrad(true);
    straight_vs_resumed(|| Mlp::init(0), opt, trainer, 5, 2, None);
    // A crash in epoch 3, at its 5th batch, after a checkpoint at step 2 * 9 + 4 = 22.
    let trainer = || trainer().resume_every_steps(2);
    straight_vs_resumed(|| Mlp::init(0), opt, trainer, 5, 2, Some(4 * 8 + 3));
}

#[test]
fn batch_norm_network_with_adamw_and_a_schedule_resumes_bit_identical() {
    let trainer = || quiet().schedule(StepLr::new(0.01, 2).gamma(0.5)).early_stopping(10);
    let opt = || AdamW::new(0.01);
    straight_vs_resumed(|| Bn::init(0), opt, trainer, 5, 2, None);
    let trainer = || trainer().resume_every_steps(4);
    straight_vs_resumed(|| Bn::init(0), opt, trainer, 5, 1, Some(7 * 8 + 1));
    // SGD with momentum through BatchNorm's running statistics and counter too.
    let opt = || Sgd::new(0.05).momentum(0.9);
    straight_vs_resumed(|| Bn::init(0), opt, trainer, 4, 3, Some(2));
}

#[test]
fn a_finished_run_resumed_returns_its_history_and_leaves_the_weights() {
    let train = data(70, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let (mut net, mut opt) = (Mlp::init(0), Sgd::new(0.05));
    let first = quiet()
        .epochs(3)
        .resume_checkpoint(&path)
        .fit(&mut net, &mut opt, &train, None)
        .unwrap();
    let (mut again, mut opt) = (Mlp::init(5), Sgd::new(0.05));
    let report = quiet()
        .epochs(3)
        .resume_checkpoint(&path)
        .fit(&mut again, &mut opt, &train, None)
        .unwrap();
    assert_eq!(history(&report), history(&first));
    assert_eq!(bits(&again), bits(&net));
}

fn error_of<N: Layer<[f32; 8], Output = [f32; 3]>, O: Optimizer>(
    mut trainer: nn::Trainer<'static, CrossEntropy>,
    net: &mut N,
    opt: &mut O,
) -> String {
    let before = bits(net);
    let error = trainer.fit(net, opt, &data(70, 1), None).unwrap_err().to_string();
    assert_eq!(bits(net), before, "a refused resume changes no weight: {error}");
    error
}

#[test]
fn a_checkpoint_that_does_not_fit_the_run_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let shown = path.display().to_string();
    let train = data(70, 1);
    quiet()
        .epochs(1)
        .resume_checkpoint(&path)
        .fit(&mut Mlp::init(0), &mut Sgd::new(0.05).momentum(0.9), &train, None)
        .unwrap();

    // Another network: keys and shapes.
    let error = error_of(
        quiet().resume_checkpoint(&path),
        &mut Bn::init(0),
        &mut Sgd::new(0.05).momentum(0.9),
    );
    assert!(error.starts_with(&shown) && error.contains("do not fit"), "{error}");
    // Another optimizer, or the same with other settings.
    let error = error_of(
        quiet().resume_checkpoint(&path),
        &mut Mlp::init(0),
        &mut Adam::new(0.01),
    );
    assert!(error.starts_with(&shown) && error.contains("\"Sgd\""), "{error}");
    let error = error_of(
        quiet().resume_checkpoint(&path),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05).momentum(0.9).weight_decay(0.1),
    );
    assert!(error.starts_with(&shown) && error.contains("weight_decay"), "{error}");
    // Another batch size or seed.
    let error = error_of(
        quiet().batch_size(4).resume_checkpoint(&path),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05).momentum(0.9),
    );
    assert!(error.starts_with(&shown) && error.contains("batch size 8"), "{error}");
    // A file of weights only.
    let weights = dir.path().join("weights.safetensors");
    Mlp::init(0).save(&weights).unwrap();
    let error = error_of(
        quiet().resume_checkpoint(&weights),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05),
    );
    assert!(error.contains("not a training checkpoint"), "{error}");
    // Not safetensors at all.
    std::fs::write(&weights, b"garbage").unwrap();
    let error = error_of(
        quiet().resume_checkpoint(&weights),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05),
    );
    assert!(error.starts_with(&weights.display().to_string()), "{error}");
}

#[test]
fn the_checkpoint_path_and_step_count_are_checked_before_the_first_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/run.safetensors");
    let error = error_of(
        quiet().resume_checkpoint(&missing),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05),
    );
    assert!(error.contains("does not exist"), "{error}");
    let error = error_of(
        quiet().resume_checkpoint(dir.path()),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05),
    );
    assert!(error.contains("is a directory"), "{error}");
    let path = dir.path().join("run.safetensors");
    let error = error_of(
        quiet().resume_checkpoint(&path).resume_every_steps(0),
        &mut Mlp::init(0),
        &mut Sgd::new(0.05),
    );
    assert!(error.contains("at least 1"), "{error}");
    assert!(!path.exists());
}

/// An optimizer of the user's own, without `state`: resuming with it is an error at the start.
struct Plain(Sgd);

impl Optimizer for Plain {
    fn step<M: Module>(&mut self, params: &mut M, grads: &M) {
        self.0.step(params, grads)
    }
    fn learning_rate(&self) -> f32 {
        self.0.learning_rate()
    }
    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.0.set_learning_rate(learning_rate)
    }
}

#[test]
fn an_optimizer_without_state_cannot_resume_and_says_so_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let error = error_of(
        quiet().resume_checkpoint(&path),
        &mut Mlp::init(0),
        &mut Plain(Sgd::new(0.05)),
    );
    assert!(error.contains("cannot save its state"), "{error}");
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// A real crash: child processes killed with SIGKILL.

/// The child's run: a BatchNorm network, Adam with a per-step one-cycle schedule, a training
/// checkpoint every 3 steps and at every epoch's end; writes the final weights and the history.
fn child_run(dir: &Path, resumable: bool) {
    nn::set_num_threads(1);
    let (train, valid) = (data(64, 1), data(30, 2));
    let (mut net, mut opt) = (Bn::init(0), Adam::new(0.01));
    let mut trainer = quiet().epochs(6).schedule_per_step(OneCycleLr::new(0.01, 6 * 8));
    if resumable {
        trainer = trainer
            .resume_checkpoint(dir.join("run.safetensors"))
            .resume_every_steps(3);
    }
    let report = trainer.fit(&mut net, &mut opt, &train, Some(&valid)).unwrap();
    std::env::remove_var("NN_TEST_WRITE_PAUSE_MS");
    let lines: Vec<String> = history(&report).iter().map(|line| format!("{line:?}")).collect();
    std::fs::write(dir.join("history.txt"), lines.join("\n")).unwrap();
    net.save(dir.join("final.safetensors")).unwrap();
}

/// Not a test of its own: the body of the child processes below, which run this test binary
/// with `NN_RESUME_CHILD_DIR` set. Without it, it does nothing.
#[test]
fn resume_child_process() {
    if let Some(dir) = std::env::var_os("NN_RESUME_CHILD_DIR") {
        child_run(Path::new(&dir), std::env::var_os("NN_RESUME_CHILD_PLAIN").is_none());
    }
}

#[cfg(unix)]
mod crash {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command};
    use std::time::{Duration, Instant};

    fn spawn(dir: &Path, plain: bool, pause_ms: Option<u64>) -> Child {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "resume_child_process", "--test-threads", "1", "--quiet"])
            .env("NN_RESUME_CHILD_DIR", dir)
            .env_remove("NN_TEST_WRITE_PAUSE_MS")
            .stdout(std::process::Stdio::null());
        if plain {
            command.env("NN_RESUME_CHILD_PLAIN", "1");
        }
        if let Some(ms) = pause_ms {
            command.env("NN_TEST_WRITE_PAUSE_MS", ms.to_string());
        }
        command.spawn().unwrap()
    }

    fn finish(mut child: Child) {
        let status = child.wait().unwrap();
        assert!(status.success(), "child failed: {status}");
    }

    /// Sends SIGKILL (what `Child::kill` sends on Unix) and reaps the child.
    fn kill(mut child: Child) {
        child.kill().unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    }

    /// The temporary files of unfinished atomic writes in `dir`.
    fn temporaries(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "tmp"))
            .collect()
    }

    fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
        let start = Instant::now();
        while !condition() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The uninterrupted run's final weights and history, computed once.
    fn reference() -> &'static (Vec<u8>, String) {
        static REFERENCE: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
        REFERENCE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            finish(spawn(dir.path(), true, None));
            // The same run without a checkpoint ends alike: checkpoints change nothing.
            let plain = tempfile::tempdir().unwrap();
            finish(spawn(plain.path(), false, None));
            let read = |dir: &Path| {
                (
                    std::fs::read(dir.join("final.safetensors")).unwrap(),
                    std::fs::read_to_string(dir.join("history.txt")).unwrap(),
                )
            };
            let (with, without) = (read(dir.path()), read(plain.path()));
            assert!(with == without, "a run with checkpoints ends as one without");
            with
        })
    }

    /// Resumes in a new child, without pauses, and compares with the uninterrupted run.
    fn resume_and_compare(dir: &Path, kill_point: &str) {
        assert!(
            !dir.join("final.safetensors").exists(),
            "{kill_point}: the child finished before the kill"
        );
        finish(spawn(dir, false, None));
        let weights = std::fs::read(dir.join("final.safetensors")).unwrap();
        let history = std::fs::read_to_string(dir.join("history.txt")).unwrap();
        assert!(
            weights == reference().0,
            "{kill_point}: final weights differ from the uninterrupted run"
        );
        assert_eq!(history, reference().1, "{kill_point}: history");
    }

    #[test]
    fn killed_during_the_first_checkpoint_write_resumes_from_scratch() {
        let dir = tempfile::tempdir().unwrap();
        let child = spawn(dir.path(), false, Some(2_000));
        wait_for("the first write", || !temporaries(dir.path()).is_empty());
        kill(child);
        assert!(!dir.path().join("run.safetensors").exists());
        resume_and_compare(dir.path(), "during the first checkpoint write");
    }

    #[test]
    fn killed_in_the_middle_of_a_later_checkpoint_write_resumes_from_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
        let child = spawn(dir.path(), false, Some(150));
        // The fourth write: steps 3, 6 (mid-epoch), 8 (epoch 1's end) are on disk.
        // Each write has a temporary name of its own: count the names, not the moments a
        // temporary file is present (two writes can follow each other between two looks).
        let mut seen = std::collections::BTreeSet::new();
        wait_for("the fourth write", || {
            let now = temporaries(dir.path());
            seen.extend(now.iter().cloned());
            seen.len() == 4 && !now.is_empty()
        });
        std::thread::sleep(Duration::from_millis(20));
        kill(child);
        let partial = temporaries(dir.path());
        assert_eq!(partial.len(), 1, "a half-written temporary file is left");
        assert!(std::fs::metadata(&partial[0]).unwrap().len() > 0);
        assert!(path.exists(), "the previous checkpoint is intact");
        resume_and_compare(dir.path(), "in the middle of the fourth checkpoint write");
    }

    #[test]
    fn killed_between_steps_after_some_checkpoints_resumes_bit_identical() {
        for delay_ms in [0, 7, 23] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("run.safetensors");
            let child = spawn(dir.path(), false, Some(10));
            wait_for("a checkpoint", || path.exists());
            std::thread::sleep(Duration::from_millis(delay_ms));
            kill(child);
            resume_and_compare(dir.path(), &format!("{delay_ms} ms after the first checkpoint"));
        }
    }

    #[test]
    fn killed_again_and_again_at_random_times_resumes_bit_identical() {
        // Each child is killed a random 0-40 ms after it starts a checkpoint write of its own
        // (which pauses 20 ms with half its bytes written): during the write or between the
        // steps after it. Waiting for a write, not for a time, makes every kill land after the
        // child has made progress and before it finishes, however fast the machine is.
        let dir = tempfile::tempdir().unwrap();
        let mut rng = nn::Rng::seed(16);
        let mut kills = 0;
        for _ in 0..12 {
            let before = temporaries(dir.path());
            let mut child = spawn(dir.path(), false, Some(20));
            let mut finished = false;
            wait_for("a checkpoint write or the end", || {
                finished = child.try_wait().unwrap().is_some();
                finished || temporaries(dir.path()).iter().any(|path| !before.contains(path))
            });
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(rng.below(40) as u64));
            if child.try_wait().unwrap().is_some() {
                break;
            }
            kill(child);
            kills += 1;
            let _ = std::fs::remove_file(dir.path().join("final.safetensors"));
        }
        assert!(kills >= 3, "only {kills} kills landed before the run finished");
        let _ = std::fs::remove_file(dir.path().join("final.safetensors"));
        resume_and_compare(dir.path(), &format!("after {kills} random kills"));
    }
}
