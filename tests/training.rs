//! The training loop: it learns MNIST, is reproducible, and stops with clear errors.

use nn::data::{Dataset, InMemory, Mnist, MnistImage};
use nn::prelude::*;

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

fn first(data: &InMemory<MnistImage>, count: usize) -> InMemory<MnistImage> {
    InMemory::new(data.inputs()[..count].to_vec(), data.targets()[..count].to_vec()).unwrap()
}

#[test]
fn mnist_smoke_accuracy_rises_far_above_chance() {
    let mut mnist = Mnist::bundled().unwrap();
    mnist.normalize(Mnist::MEAN, Mnist::STD).unwrap();
    let (train, test) = (first(&mnist.train, 3000), first(&mnist.test, 2000));
    let mut net = MnistMlp::init(1);
    let before = nn::evaluate(&net, &CrossEntropy, &test).unwrap().accuracy;
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .quiet()
        .fit(&mut net, &mut opt, &train, Some(&test))
        .unwrap();
    let after = report.last().unwrap().valid_accuracy.unwrap();
    // Chance is 10%; two epochs on 3000 digits reach well over 80% (PyTorch: about 88%).
    assert!(before < 0.3, "an untrained network guesses: {before}");
    assert!(after > 0.8, "accuracy after training: {after}");
    assert!(report.epochs[1].train_loss < report.epochs[0].train_loss);
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let mnist = Mnist::bundled().unwrap();
    let train = first(&mnist.train, 500);
    let run = |seed| {
        let mut net = MnistMlp::init(0);
        let mut opt = Sgd::new(0.01).momentum(0.9);
        nn::Trainer::new(CrossEntropy)
            .epochs(1)
            .seed(seed)
            .quiet()
            .fit(&mut net, &mut opt, &train, None)
            .unwrap();
        net.forward(&mnist.test.get(0).0).map(f32::to_bits)
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6), "a different shuffle gives different weights");
}

#[test]
fn a_nan_loss_stops_training_naming_epoch_and_step() {
    let mut inputs = vec![[[0.5f32; 28]; 28]; 10];
    inputs[7][3][3] = f32::NAN;
    let data = InMemory::new(inputs, vec![1; 10]).unwrap();
    let mut net = MnistMlp::init(0);
    let mut opt = Sgd::new(0.01);
    let error = nn::Trainer::new(CrossEntropy)
        .batch_size(4)
        .quiet()
        .fit(&mut net, &mut opt, &data, None)
        .unwrap_err();
    // Sample 7 is in the batch of some step of epoch 1: training must stop there.
    let message = error.to_string();
    assert!(
        message.starts_with("the training loss became NaN at epoch 1, step "),
        "{message}"
    );
}

#[test]
fn labels_beyond_the_outputs_are_rejected_before_training() {
    let data = InMemory::new(vec![[[0.0f32; 28]; 28]; 3], vec![1, 12, 3]).unwrap();
    let mut net = MnistMlp::init(0);
    let error = nn::Trainer::new(CrossEntropy)
        .quiet()
        .fit(&mut net, &mut Sgd::new(0.1), &data, None)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "sample 1 has label 12, but the network has only 10 outputs (classes 0..10)"
    );
}

#[test]
fn batch_size_zero_and_empty_data_are_errors() {
    let data = InMemory::new(vec![[[0.0f32; 28]; 28]; 3], vec![1, 2, 3]).unwrap();
    let empty = InMemory::new(Vec::<MnistImage>::new(), Vec::new()).unwrap();
    let mut net = MnistMlp::init(0);
    let zero = nn::Trainer::new(CrossEntropy)
        .batch_size(0)
        .quiet()
        .fit(&mut net, &mut Sgd::new(0.1), &data, None);
    assert!(zero.unwrap_err().to_string().contains("batch size must be at least 1"));
    let none = nn::Trainer::new(CrossEntropy)
        .quiet()
        .fit(&mut net, &mut Sgd::new(0.1), &empty, None);
    assert!(none.unwrap_err().to_string().contains("the training set is empty"));
}

network! {
    struct Line: [1] => Linear<1, 1>
}

#[test]
fn linear_regression_recovers_y_equals_2x() {
    // The recipe of examples/linear_regression.rs; the exact answer is w = 2, b = 0.
    let xs = [1.0, 2.0, 3.0, 4.0];
    let data = InMemory::new(xs.map(|x| [x]).to_vec(), xs.map(|x| [2.0 * x]).to_vec()).unwrap();
    let mut net = Line::init(0);
    let mut opt = Sgd::new(0.05).momentum(0.9);
    nn::Trainer::new(Mse)
        .epochs(500)
        .batch_size(4)
        .quiet()
        .fit(&mut net, &mut opt, &data, None)
        .unwrap();
    let (weight, bias) = (net.layer_0.weight[0][0], net.layer_0.bias[0]);
    assert!(
        (weight - 2.0).abs() < 0.01 && bias.abs() < 0.01,
        "w = {weight}, b = {bias}"
    );
}

/// A dataset where every label is the same, so the loss keeps falling until the network is sure.
fn constant_labels(count: usize) -> InMemory<MnistImage> {
    let mnist = Mnist::bundled().unwrap();
    InMemory::new(mnist.train.inputs()[..count].to_vec(), vec![3; count]).unwrap()
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    let mnist = Mnist::bundled().unwrap();
    let (train, valid) = (first(&mnist.train, 200), first(&mnist.test, 200));
    let mut net = MnistMlp::init(0);
    // A learning rate this large makes the validation loss stop improving quickly.
    let mut opt = Sgd::new(0.5);
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(50)
        .early_stopping(2)
        .quiet()
        .fit(&mut net, &mut opt, &train, Some(&valid))
        .unwrap();
    let best = report.best_epoch.unwrap();
    assert!(report.stopped_early, "{report:?}");
    // Stopped exactly `patience` epochs after the best one.
    assert_eq!(report.epochs.len(), best + 2);
    let best_loss = report.epochs[best - 1].valid_loss.unwrap();
    assert!(report.epochs[best..].iter().all(|e| e.valid_loss.unwrap() >= best_loss));
}

#[test]
fn the_checkpoint_holds_the_best_epoch_and_survives_a_nan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let data = constant_labels(64);
    let mut net = MnistMlp::init(0);
    let mut opt = Sgd::new(0.01);
    let mut epochs_seen = Vec::new();
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(3)
        .batch_size(32)
        .checkpoint(&path)
        .on_epoch(|epoch| epochs_seen.push(epoch.epoch))
        .quiet()
        .fit(&mut net, &mut opt, &data, None)
        .unwrap();
    assert_eq!(epochs_seen, [1, 2, 3]);
    // The training loss falls every epoch on constant labels, so the last epoch is the best.
    assert_eq!(report.best_epoch, Some(3));
    let saved = MnistMlp::load(&path).unwrap();
    let probe = data.get(0).0;
    assert_eq!(
        saved.forward(&probe).map(f32::to_bits),
        net.forward(&probe).map(f32::to_bits)
    );

    // Training again on data with a NaN fails, and leaves the checkpoint file as it was.
    let before = std::fs::read(&path).unwrap();
    let mut poisoned = data.inputs().to_vec();
    poisoned[5][0][0] = f32::NAN;
    let poisoned = InMemory::new(poisoned, vec![3; 64]).unwrap();
    let error = nn::Trainer::new(CrossEntropy)
        .checkpoint(&path)
        .quiet()
        .fit(&mut net, &mut opt, &poisoned, None)
        .unwrap_err();
    assert!(error.to_string().contains("at epoch 1"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn gradient_clipping_scales_to_the_max_norm() {
    let data = constant_labels(32);
    let mut net = MnistMlp::init(0);
    let mut workspace = nn::train::Workspace::<MnistMlp, MnistImage, usize>::new();
    let inputs: Vec<MnistImage> = data.inputs().to_vec();
    workspace.compute_grads(&mut net, &CrossEntropy, &inputs, data.targets());
    let norm_of = |grads: &MnistMlp| {
        let mut sum = 0.0f64;
        grads.visit_params("", &mut |_, _, values| {
            sum += values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
        });
        sum.sqrt()
    };
    let before = norm_of(workspace.grads());
    let reported = workspace.clip_grad_norm(&net, 0.1);
    assert!(
        (f64::from(reported) - before).abs() < 1e-4 * before,
        "{reported} vs {before}"
    );
    assert!(before > 0.1, "the test needs a norm above the limit: {before}");
    // torch: scale = max_norm / (norm + 1e-6), so the new norm is just under max_norm.
    let after = norm_of(workspace.grads());
    assert!((after - 0.1 * before / (before + 1e-6)).abs() < 1e-6, "{after}");
    // Under the limit nothing changes.
    assert_eq!(workspace.clip_grad_norm(&net, 1e6), after as f32);
}

#[test]
fn history_saves_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = constant_labels(64);
    let mut net = MnistMlp::init(0);
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .quiet()
        .fit(&mut net, &mut Sgd::new(0.01), &data, Some(&data))
        .unwrap();
    report.save_csv(dir.path().join("history.csv")).unwrap();
    report.save_json(dir.path().join("history.json")).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("history.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "epoch,train_loss,valid_loss,valid_accuracy,seconds");
    assert_eq!(rows.len(), 3);
    assert!(
        rows[2].starts_with(&format!("2,{},", report.epochs[1].train_loss)),
        "{csv}"
    );
    let json = std::fs::read_to_string(dir.path().join("history.json")).unwrap();
    assert!(
        json.starts_with(r#"{"best_epoch":2,"stopped_early":false,"epochs":[{"epoch":1,"#),
        "{json}"
    );
    assert!(
        json.contains(&format!(
            r#""valid_accuracy":{}"#,
            report.epochs[1].valid_accuracy.unwrap()
        )),
        "{json}"
    );
}

#[test]
fn schedules_set_the_learning_rate_per_epoch_or_per_step() {
    use nn::optim::{OneCycleLr, Optimizer, Schedule, StepLr};
    let data = constant_labels(64);
    let mut net = MnistMlp::init(0);
    // Per epoch: epoch e (from 0) trains with StepLR(0.1, step 2, gamma 0.1)'s rate for e.
    let schedule = StepLr::new(0.1, 2).gamma(0.1);
    let mut opt = Sgd::new(1.0);
    nn::Trainer::new(CrossEntropy)
        .epochs(5)
        .quiet()
        .schedule(StepLr::new(0.1, 2).gamma(0.1))
        .fit(&mut net, &mut opt, &data, None)
        .unwrap();
    // The last epoch (index 4) ran at 0.1 * 0.1^2.
    assert_eq!(opt.learning_rate(), schedule.learning_rate(4));
    assert!((schedule.learning_rate(4) - 0.001).abs() < 1e-9);
    // Per step: 3 epochs of 2 batches = 6 steps, the last at index 5.
    let one_cycle = OneCycleLr::new(0.1, 6);
    let mut opt = Sgd::new(1.0).momentum(0.9);
    nn::Trainer::new(CrossEntropy)
        .epochs(3)
        .batch_size(32)
        .quiet()
        .schedule_per_step(OneCycleLr::new(0.1, 6))
        .fit(&mut net, &mut opt, &data, None)
        .unwrap();
    assert_eq!(opt.learning_rate(), one_cycle.learning_rate(5));
}
