//! Fine-tuning: train a classifier on digits 0-4, save it, load its body into a network with a
//! new head for digits 5-9, freeze the body, and train only the head.
//!
//! Run with `cargo run --release --example fine_tune`.

use nn::data::{Dataset, InMemory, Mnist, MnistImage};
use nn::io::LoadOptions;
use nn::prelude::*;

network! {
    /// Digits 0-4.
    pub struct LowDigits: [28, 28] => Flatten -> fc1: Linear<784, 128> -> ReLU -> fc2: Linear<128, 64> -> ReLU -> low_head: Linear<64, 5>
}

network! {
    /// Digits 5-9, on the same body.
    pub struct HighDigits: [28, 28] => Flatten -> fc1: Linear<784, 128> -> ReLU -> fc2: Linear<128, 64> -> ReLU -> high_head: Linear<64, 5>
}

/// The samples of `data` whose digit is in `first..first + 5`, relabelled `0..5`.
fn digits_from(data: &InMemory<MnistImage>, first: usize) -> nn::Result<InMemory<MnistImage>> {
    let (inputs, labels): (Vec<MnistImage>, Vec<usize>) = (0..data.len())
        .map(|i| data.get(i))
        .filter(|&(_, label)| (first..first + 5).contains(&label))
        .map(|(input, label)| (input, label - first))
        .unzip();
    InMemory::new(inputs, labels)
}

fn main() -> nn::Result<()> {
    let mut mnist = Mnist::bundled()?;
    mnist.normalize(Mnist::MEAN, Mnist::STD)?;
    let dir = std::env::temp_dir().join("nn-fine-tune");
    std::fs::create_dir_all(&dir).map_err(|source| nn::Error::Io {
        path: dir.clone(),
        source,
    })?;
    let checkpoint = dir.join("low_digits.safetensors");

    // 1. Train on digits 0-4 and save.
    let (low_train, low_test) = (digits_from(&mnist.train, 0)?, digits_from(&mnist.test, 0)?);
    let mut low = LowDigits::init(1);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    nn::Trainer::new(CrossEntropy)
        .epochs(5)
        .quiet()
        .fit(&mut low, &mut opt, &low_train, None)?;
    let low_accuracy = nn::evaluate(&low, &CrossEntropy, &low_test)?.accuracy;
    println!(
        "digits 0-4: test accuracy {:.2}% ({} training digits)",
        low_accuracy * 100.0,
        low_train.len()
    );
    low.save(&checkpoint)?;

    // 2. Load the body into a network with a new head for digits 5-9.
    let mut high = HighDigits::init(2);
    let report = high.load_from(&checkpoint, &LoadOptions::partial())?;
    println!("{report}"); // loaded 4 of 6 parameters, then the new head's keys

    // 3. Freeze the body and train only the head.
    high.fc1.set_frozen(true);
    high.fc2.set_frozen(true);
    let (high_train, high_test) = (digits_from(&mnist.train, 5)?, digits_from(&mnist.test, 5)?);
    let before = nn::evaluate(&high, &CrossEntropy, &high_test)?.accuracy;
    let mut opt = Sgd::new(0.01).momentum(0.9);
    nn::Trainer::new(CrossEntropy)
        .epochs(10)
        .quiet()
        .fit(&mut high, &mut opt, &high_train, None)?;
    let after = nn::evaluate(&high, &CrossEntropy, &high_test)?.accuracy;
    println!(
        "digits 5-9 with the frozen 0-4 body: test accuracy {:.2}% before training the head",
        before * 100.0
    );
    println!(
        "digits 5-9 with the frozen 0-4 body: test accuracy {:.2}% after training the head",
        after * 100.0
    );
    Ok(())
}
