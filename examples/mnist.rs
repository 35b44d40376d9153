//! Trains the seed network on the bundled MNIST digits and reports test accuracy.
//!
//! The recipe is PyTorch's `Sequential(Flatten(), Linear(784, 128), ReLU(), Linear(128, 64),
//! ReLU(), Linear(64, 10))` with `CrossEntropyLoss` and `SGD(lr=0.01, momentum=0.9)`, batch 64,
//! 10 epochs, pixels standardised with mean 0.1307 and std 0.3081.
//!
//! Run with `cargo run --release --example mnist`.

use nn::prelude::*;

network! {
    /// The classic MNIST classifier.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

fn main() -> nn::Result<()> {
    let mut data = nn::data::Mnist::bundled()?;
    data.normalize(nn::data::Mnist::MEAN, nn::data::Mnist::STD);

    let mut net = MnistMlp::init(42);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    println!("{}", net.summary());

    let report = nn::Trainer::new(CrossEntropy)
        .epochs(10)
        .batch_size(64)
        .seed(42)
        .quiet()
        .fit(&mut net, &mut opt, &data.train, Some(&data.test))?;
    for epoch in &report.epochs {
        println!(
            "epoch {:>2}  train loss {:.4}  test accuracy {:.2}%  {:.2} s",
            epoch.epoch,
            epoch.train_loss,
            epoch.valid_accuracy.unwrap_or(0.0) * 100.0,
            epoch.seconds
        );
    }

    let test = nn::evaluate(&net, &CrossEntropy, &data.test, 1000);
    println!("test accuracy: {:.2}%", test.accuracy.unwrap_or(0.0) * 100.0);
    Ok(())
}
