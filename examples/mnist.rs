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

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use lexopt::prelude::*;
use nn::data::Mnist;
use nn::optim::{Adam, AdamW, Optimizer};
use nn::prelude::*;

network! {
    /// The classic MNIST classifier.
    pub struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

/// `--help`: every flag has the seed recipe's value as its default.
const HELP: &str = "\
Trains the seed MNIST network and reports test accuracy

Usage: mnist [OPTIONS]

Options:
      --epochs <epochs>          Passes over the training set [default: 10]
      --batch-size <batch-size>  Samples per step [default: 64]
      --lr <lr>                  Learning rate [default: 0.01]
      --optimizer <optimizer>    sgd (momentum 0.9), adam or adamw [default: sgd] [possible values: sgd, adam, adamw]
      --data <data>              A directory with the MNIST IDX files (default: the bundled 10k/10k digits)
      --threads <threads>        Threads for the kernels, at most the cores (default: NN_NUM_THREADS,
                                 RAYON_NUM_THREADS or all cores)
      --save <save>              Save the trained weights (safetensors) here
      --plot <plot>              Plot the loss and accuracy curves here (.png or .svg)
      --seed <seed>              Seed of the initial weights and of the shuffling [default: 42]
  -h, --help                     Print help
";

/// The command line, with the seed recipe's values where a flag is not given.
struct Args {
    epochs: usize,
    batch_size: usize,
    lr: f32,
    optimizer: String,
    data: Option<PathBuf>,
    threads: Option<usize>,
    save: Option<PathBuf>,
    plot: Option<PathBuf>,
    seed: u64,
}

/// The flags of the command line, or `None` for `--help`.
fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    let mut args = Args {
        epochs: 10,
        batch_size: 64,
        lr: 0.01,
        optimizer: "sgd".to_owned(),
        data: None,
        threads: None,
        save: None,
        plot: None,
        seed: 42,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("epochs") => args.epochs = cli::count(&mut parser, "epochs")?,
            Long("batch-size") => args.batch_size = cli::count(&mut parser, "batch-size")?,
            Long("lr") => args.lr = cli::learning_rate(&mut parser)?,
            Long("optimizer") => {
                args.optimizer = cli::value(&mut parser, "optimizer")?;
                if !["sgd", "adam", "adamw"].contains(&args.optimizer.as_str()) {
                    let found = &args.optimizer;
                    return Err(
                        format!("invalid value '{found}' for '--optimizer': expected sgd, adam or adamw").into(),
                    );
                }
            }
            Long("data") => args.data = Some(parser.value()?.into()),
            Long("threads") => args.threads = Some(cli::count(&mut parser, "threads")?),
            Long("save") => args.save = Some(cli::output_path(&mut parser, "save", &[])?),
            Long("plot") => args.plot = Some(cli::output_path(&mut parser, "plot", &["png", "svg"])?),
            Long("seed") => args.seed = cli::value(&mut parser, "seed")?,
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match cli::arguments("mnist", HELP, parse_args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    cli::report(match args.optimizer.as_str() {
        "adam" => train(&args, Adam::new(args.lr)),
        "adamw" => train(&args, AdamW::new(args.lr)),
        _ => train(&args, Sgd::new(args.lr).momentum(0.9)),
    })
}

fn train(args: &Args, mut optimizer: impl Optimizer) -> nn::Result<()> {
    if let Some(threads) = args.threads {
        nn::set_num_threads(threads);
    }
    let mut data = match &args.data {
        Some(dir) => Mnist::from_dir(dir)?,
        None => Mnist::bundled()?,
    };
    data.normalize(Mnist::MEAN, Mnist::STD)?;
    let seed = args.seed;

    let mut net = MnistMlp::init(seed);
    println!("{}", net.summary());
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
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

    if let Some(path) = &args.save {
        net.save(path)?;
        println!("saved the weights to {}", path.display());
    }
    if let Some(path) = &args.plot {
        report.plot(path)?;
        println!("plotted the curves to {}", path.display());
    }
    let test = nn::evaluate(&net, &CrossEntropy, &data.test)?;
    println!("test accuracy: {:.2}%", test.accuracy * 100.0);
    Ok(())
}
