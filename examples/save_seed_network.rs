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

mod cli;

use std::path::Path;
use std::process::ExitCode;

use nn::data::Mnist;
use nn::prelude::*;

network! {
    /// PyTorch's `nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
    /// nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))`.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

const HELP: &str = "\
Trains the seed MNIST network for two epochs and saves its weights

Usage: save_seed_network <PATH>

Arguments:
  <PATH>  Where to save the weights (safetensors); its directory must exist

Options:
  -h, --help  Print help
";

fn main() -> ExitCode {
    let path = match cli::path_argument("save_seed_network", HELP, std::env::args_os().skip(1)) {
        Ok(Some(path)) => path,
        Ok(None) => {
            eprintln!("error: the path to save to is missing\n\nUsage: save_seed_network <PATH>\n\nFor more information, try '--help'.");
            return ExitCode::from(2);
        }
        Err(code) => return code,
    };
    if let Err(problem) = cli::check_output_path(&path, &[]) {
        eprintln!("error: cannot save to {}: {problem}", path.display());
        return ExitCode::from(2);
    }
    cli::report(run(&path))
}

fn run(path: &Path) -> nn::Result<()> {
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
    net.save(path)?;

    let correct = (0..data.test.len())
        .filter(|&i| {
            let (image, label) = data.test.get(i);
            argmax(&net.forward(&image)) == label
        })
        .count();
    println!("saved {}", path.display());
    println!("test correct: {correct}/{}", data.test.len());
    Ok(())
}

/// Index of the largest logit (the first one on ties, as `torch.argmax`).
fn argmax(logits: &[f32; 10]) -> usize {
    (1..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best })
}
