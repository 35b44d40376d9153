//! Trains the seed network on MNIST and reports test accuracy.
//!
//! The default recipe is PyTorch's `Sequential(Flatten(), Linear(784, 128), ReLU(),
//! Linear(128, 64), ReLU(), Linear(64, 10))` with `CrossEntropyLoss` and
//! `SGD(lr=0.01, momentum=0.9)`, batch 64, 10 epochs, pixels standardised with mean 0.1307 and
//! std 0.3081, on the digits bundled with the crate.
//!
//! ```text
//! cargo run --release --example mnist
//! cargo run --release --example mnist -- --epochs 20 --optimizer adam --lr 0.001 \
//!     --data ~/mnist --threads 2 --save mnist.safetensors --plot curves.png
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{value_parser, Arg, ArgAction, Command};
use nn::data::Mnist;
use nn::optim::{Adam, AdamW, Optimizer};
use nn::prelude::*;

network! {
    /// The classic MNIST classifier.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

/// The command line; every flag has the seed recipe's value as its default.
fn command() -> Command {
    let option = |name: &'static str, help: &'static str| Arg::new(name).long(name).help(help).action(ArgAction::Set);
    Command::new("mnist")
        .about("Trains the seed MNIST network and reports test accuracy")
        .arg(
            option("epochs", "Passes over the training set")
                .default_value("10")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            option("batch-size", "Samples per step")
                .default_value("64")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            option("lr", "Learning rate")
                .default_value("0.01")
                .value_parser(value_parser!(f32)),
        )
        .arg(
            option("optimizer", "sgd (momentum 0.9), adam or adamw")
                .default_value("sgd")
                .value_parser(["sgd", "adam", "adamw"]),
        )
        .arg(
            option(
                "data",
                "A directory with the MNIST IDX files (default: the bundled 10k/10k digits)",
            )
            .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            option(
                "threads",
                "Threads for the kernels (default: RAYON_NUM_THREADS or all cores)",
            )
            .value_parser(value_parser!(usize)),
        )
        .arg(option("save", "Save the trained weights (safetensors) here").value_parser(value_parser!(PathBuf)))
        .arg(
            option("plot", "Plot the loss and accuracy curves here (.png or .svg)")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            option("seed", "Seed of the initial weights and of the shuffling")
                .default_value("42")
                .value_parser(value_parser!(u64)),
        )
}

fn main() -> ExitCode {
    let args = command().get_matches();
    let optimizer = args.get_one::<String>("optimizer").map(String::as_str).unwrap_or("sgd");
    let lr = *args.get_one::<f32>("lr").unwrap_or(&0.01);
    let result = match optimizer {
        "adam" => train(&args, Adam::new(lr)),
        "adamw" => train(&args, AdamW::new(lr)),
        _ => train(&args, Sgd::new(lr).momentum(0.9)),
    };
    // Print errors as sentences (`Display`), not as `Debug` structures.
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn train(args: &clap::ArgMatches, mut optimizer: impl Optimizer) -> nn::Result<()> {
    if let Some(&threads) = args.get_one::<usize>("threads") {
        nn::set_num_threads(threads);
    }
    let mut data = match args.get_one::<PathBuf>("data") {
        Some(dir) => Mnist::from_dir(dir)?,
        None => Mnist::bundled()?,
    };
    data.normalize(Mnist::MEAN, Mnist::STD);
    let seed = *args.get_one::<u64>("seed").unwrap_or(&42);

    let mut net = MnistMlp::init(seed);
    println!("{}", net.summary());
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(*args.get_one::<usize>("epochs").unwrap_or(&10))
        .batch_size(*args.get_one::<usize>("batch-size").unwrap_or(&64))
        .seed(seed)
        .quiet()
        .on_epoch(|epoch| {
            println!(
                "epoch {:>2}  train loss {:.4}  test accuracy {:.2}%  {:.2} s",
                epoch.epoch,
                epoch.train_loss,
                epoch.valid_accuracy.unwrap_or(0.0) * 100.0,
                epoch.seconds
            )
        })
        .fit(&mut net, &mut optimizer, &data.train, Some(&data.test))?;

    if let Some(path) = args.get_one::<PathBuf>("save") {
        net.save(path)?;
        println!("saved the weights to {}", path.display());
    }
    if let Some(path) = args.get_one::<PathBuf>("plot") {
        report.plot(path)?;
        println!("plotted the curves to {}", path.display());
    }
    let test = nn::evaluate(&net, &CrossEntropy, &data.test, 1000);
    println!("test accuracy: {:.2}%", test.accuracy.unwrap_or(0.0) * 100.0);
    Ok(())
}
