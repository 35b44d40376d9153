//! Trains the seed network on the bundled digits (2 epochs, the recipe `tools/interop.py` uses in
//! PyTorch) and saves it as safetensors, for PyTorch to load with
//! `model.load_state_dict(load_file(path), strict=True)`.
//!
//! `tools/interop.py` runs it and checks the file in PyTorch:
//!
//! ```text
//! cargo run --release --example save_seed_network -- /tmp/seed.safetensors
//! ```
//!
//! The last line printed is `test correct: <n>/<total>`: how many of the official test digits
//! the saved network classifies correctly, which the script compares with PyTorch's count.

use nn::data::Mnist;
use nn::prelude::*;

network! {
    /// PyTorch's `nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
    /// nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))`.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

fn main() -> nn::Result<()> {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: save_seed_network <path.safetensors>");
        std::process::exit(2);
    };

    let mut data = Mnist::bundled()?;
    data.normalize(Mnist::MEAN, Mnist::STD)?;
    let mut net = MnistMlp::init(42);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .batch_size(64)
        .seed(42)
        .quiet()
        .fit(&mut net, &mut opt, &data.train, None)?;
    net.save(&path)?;

    let correct = (0..data.test.len())
        .filter(|&i| {
            let (image, label) = data.test.get(i);
            argmax(&net.forward(&image)) == label
        })
        .count();
    println!("saved {}", std::path::Path::new(&path).display());
    println!("test correct: {correct}/{}", data.test.len());
    Ok(())
}

/// Index of the largest logit (the first one on ties, as `torch.argmax`).
fn argmax(logits: &[f32; 10]) -> usize {
    (1..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best })
}
