//! Classifies the fruit in `data/fruit/fruit.csv` (a small synthetic table: four measurements,
//! three kinds of fruit) with a small network: read the CSV by column names, hold out every
//! fourth row for testing, standardise with figures from the training rows only, train, and
//! report test accuracy and per-class F1 by class name.
//!
//! ```text
//! cargo run --release --example csv_classifier
//! cargo run --release --example csv_classifier -- path/to/other.csv   # same columns
//! ```

mod cli;

use std::path::Path;
use std::process::ExitCode;

use nn::data::{Csv, Dataset, InMemory, Standardize};
use nn::prelude::*;

network! {
    /// Four measurements in, three classes out.
    struct FruitNet: [4] => Linear<4, 16> -> ReLU -> Linear<16, 3>
}

/// Rows `i` with `keep(i)`, as a new dataset.
fn rows(data: &InMemory<[f32; 4]>, keep: impl Fn(usize) -> bool) -> nn::Result<InMemory<[f32; 4]>> {
    let (inputs, targets) = (0..data.len()).filter(|&i| keep(i)).map(|i| data.get(i)).unzip();
    InMemory::new(inputs, targets)
}

const HELP: &str = "\
Trains a small classifier on a CSV table of fruit measurements and reports test accuracy

Usage: csv_classifier [PATH]

Arguments:
  [PATH]  A CSV file with the columns length_mm, width_mm, mass_g, sugar_percent and fruit
          (default: the bundled data/fruit/fruit.csv)

Options:
  -h, --help  Print help
";

fn main() -> ExitCode {
    match cli::path_argument("csv_classifier", HELP, std::env::args_os().skip(1)) {
        Ok(path) => {
            cli::report(run(&path.unwrap_or_else(|| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../data/fruit/fruit.csv").into()
            })))
        }
        Err(code) => code,
    }
}

fn run(path: &Path) -> nn::Result<()> {
    let table = Csv::read(path)?;
    let features = ["length_mm", "width_mm", "mass_g", "sugar_percent"];
    let (data, classes) = table.classification(features, "fruit")?;
    println!(
        "{}: {} rows, classes {}",
        path.display(),
        table.len(),
        classes.join(", ")
    );

    // The rows are shuffled already; every fourth one is the test set.
    let (mut train, mut test) = (rows(&data, |i| i % 4 != 3)?, rows(&data, |i| i % 4 == 3)?);
    let scaler = Standardize::fit(&train)?;
    println!("training means {:?}\ntraining stds  {:?}", scaler.mean(), scaler.std());
    scaler.apply(&mut train);
    scaler.apply(&mut test);

    let (net, report) = train_and_test(&train, &test)?;
    let last = report.last().expect("100 epochs ran");
    println!(
        "after {} epochs: train loss {:.3}, test loss {:.3}, test accuracy {:.1}% ({} test rows)",
        report.epochs.len(),
        last.train_loss,
        last.valid_loss.unwrap_or(f32::NAN),
        100.0 * last.valid_accuracy.unwrap_or(f32::NAN),
        test.len()
    );
    let matrix = nn::metrics::confusion_matrix(&net, &test, 64);
    for (class, name) in classes.iter().enumerate() {
        println!(
            "  {name:>6}: F1 {:.2} ({} test rows)",
            matrix.f1(class),
            matrix.support(class)
        );
    }
    Ok(())
}

/// Trains a fresh network (seed 0, Adam 0.01, batch 8, 100 epochs) on `train`, evaluating on `test`.
fn train_and_test(train: &InMemory<[f32; 4]>, test: &InMemory<[f32; 4]>) -> nn::Result<(FruitNet, nn::TrainReport)> {
    let mut net = FruitNet::init(0);
    let mut opt = Adam::new(0.01);
    let report =
        nn::Trainer::new(CrossEntropy)
            .epochs(100)
            .batch_size(8)
            .quiet()
            .fit(&mut net, &mut opt, train, Some(test))?;
    Ok((net, report))
}
