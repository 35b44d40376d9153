//! Trainer options: a validation set of another type than the training set, training without
//! shuffling (replayed by hand, step by step), and the configuration as one value.

use nn::data::{Dataset, InMemory};
use nn::prelude::*;
use nn::train::{TrainConfig, Workspace};

network! {
    struct Small: [4] => Linear<4, 8> -> Tanh -> Linear<8, 3>
}

/// 24 samples of 3 classes with inputs that differ from sample to sample, so the order of the
/// steps changes the weights.
fn samples() -> InMemory<[f32; 4]> {
    let mut rng = nn::Rng::seed(7);
    let inputs: Vec<[f32; 4]> = (0..24)
        .map(|_| std::array::from_fn(|_| rng.unit() * 2.0 - 1.0))
        .collect();
    let labels = (0..24).map(|i| i % 3).collect();
    InMemory::new(inputs, labels).unwrap()
}

/// A dataset of another type than `InMemory`: the samples of `data` in reverse order.
struct Reversed<'a>(&'a InMemory<[f32; 4]>);

impl Dataset for Reversed<'_> {
    type Input = [f32; 4];
    type Target = usize;
    fn len(&self) -> usize {
        self.0.len()
    }
    fn get(&self, index: usize) -> ([f32; 4], usize) {
        self.0.get(self.0.len() - 1 - index)
    }
}

fn bits(net: &Small) -> Vec<u32> {
    let mut all = Vec::new();
    net.visit_params("", &mut |_, _, values| all.extend(values.iter().map(|v| v.to_bits())));
    all
}

#[test]
fn the_validation_set_may_be_of_another_type() {
    let data = samples();
    let valid = Reversed(&data);
    let mut net = Small::init(1);
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .batch_size(8)
        .quiet()
        .fit(&mut net, &mut Sgd::new(0.1), &data, Some(&valid))
        .unwrap();
    let last = report.last().unwrap();
    let evaluation = nn::evaluate(&net, &CrossEntropy, &valid).unwrap();
    assert_eq!(last.valid_loss, Some(evaluation.loss));
    assert_eq!(last.valid_accuracy, Some(evaluation.accuracy));
    // The same samples in another order: the same loss, up to the order of the sums.
    let forward = nn::evaluate(&net, &CrossEntropy, &data).unwrap();
    assert!(
        (forward.loss - evaluation.loss).abs() <= 1e-6,
        "{forward:?} {evaluation:?}"
    );
}

#[test]
fn without_shuffling_training_is_the_steps_in_dataset_order() {
    let data = samples();
    let (epochs, batch) = (3, 5); // 24 samples: batches of 5, 5, 5, 5 and 4
    let trained = |shuffle: bool| {
        let mut net = Small::init(2);
        let mut opt = Sgd::new(0.2).momentum(0.9);
        nn::Trainer::new(CrossEntropy)
            .epochs(epochs)
            .batch_size(batch)
            .shuffle(shuffle)
            .seed(3)
            .quiet()
            .fit(&mut net, &mut opt, &data, None)
            .unwrap();
        net
    };

    // By hand: every epoch, the batches in order.
    let mut by_hand = Small::init(2);
    let mut opt = Sgd::new(0.2).momentum(0.9);
    let mut workspace = Workspace::<Small, [f32; 4], usize>::new();
    for _ in 0..epochs {
        for (inputs, labels) in data.inputs().chunks(batch).zip(data.targets().chunks(batch)) {
            workspace.train_step(&mut by_hand, &CrossEntropy, &mut opt, inputs, labels);
        }
    }

    assert_eq!(
        bits(&trained(false)),
        bits(&by_hand),
        "shuffle(false) replays the dataset's order"
    );
    // The comparison sees the order: shuffled batches end elsewhere.
    assert_ne!(bits(&trained(true)), bits(&by_hand), "the default shuffles");
}

#[test]
fn the_configuration_is_one_value() {
    let data = samples();
    let mut config = TrainConfig::default();
    config.epochs = 2;
    config.batch_size = 6;
    config.shuffle = false;
    config.seed = 9;
    let from_config = {
        let mut net = Small::init(4);
        nn::Trainer::new(CrossEntropy)
            .with_config(config.clone())
            .quiet()
            .fit(&mut net, &mut Sgd::new(0.1), &data, None)
            .unwrap();
        net
    };
    let trainer = nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .batch_size(6)
        .shuffle(false)
        .seed(9);
    assert_eq!(trainer.config(), &config);
    let mut net = Small::init(4);
    trainer.quiet().fit(&mut net, &mut Sgd::new(0.1), &data, None).unwrap();
    assert_eq!(bits(&net), bits(&from_config));
}
