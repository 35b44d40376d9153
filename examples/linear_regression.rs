//! Fits `y = 2x` on four points with one `Linear<1, 1>` and mean squared error.
//!
//! The seed this comes from applies a sigmoid to the output; a sigmoid stays in (0, 1), so it
//! could never reach the targets 2..8. It is left out here.
//!
//! Run with `cargo run --release --example linear_regression`.

use nn::data::InMemory;
use nn::prelude::*;

network! {
    /// `y = w * x + b`.
    struct Line: [1] => Linear<1, 1>
}

fn main() -> nn::Result<()> {
    let xs = [1.0, 2.0, 3.0, 4.0];
    let data = InMemory::new(xs.map(|x| [x]).to_vec(), xs.map(|x| [2.0 * x]).to_vec())?;

    let mut net = Line::init(0);
    let mut opt = Sgd::new(0.05).momentum(0.9);
    let report = nn::Trainer::new(Mse)
        .epochs(500)
        .batch_size(4)
        .quiet()
        .fit(&mut net, &mut opt, &data, None)?;

    let (weight, bias) = (net.layer_0.weight[0][0], net.layer_0.bias[0]);
    println!(
        "final loss: {:.2e}",
        report.last().map_or(f32::NAN, |epoch| epoch.train_loss)
    );
    println!("learned weight: {weight:.4} (target 2)");
    println!("learned bias:   {bias:.4} (target 0)");
    println!("prediction for x = 5: {:.4}", net.forward(&[5.0])[0]);
    Ok(())
}
