//! Trains the classic MNIST classifier on the bundled digits and saves it.

use nn::prelude::*;

network! {
    /// The classic MNIST classifier.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

fn main() -> nn::Result<()> {
    let mut data = nn::data::Mnist::bundled()?; // 10k train + the official 10k test digits, embedded
    data.normalize(nn::data::Mnist::MEAN, nn::data::Mnist::STD)?;
    let mut net = MnistMlp::init(42);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(10)
        .batch_size(64)
        .seed(42) // the order of the samples; with init(42), the run below
        .fit(&mut net, &mut opt, &data.train, Some(&data.test))?;
    let percent = 100.0 * nn::evaluate(&net, &CrossEntropy, &data.test)?.accuracy;
    let epochs = report.epochs.len();
    println!("test accuracy after {epochs} epochs: {percent:.2}%");
    net.save("mnist.safetensors")?; // keys 1.weight, 1.bias, 3.weight, ... as PyTorch's Sequential
    Ok(())
}
