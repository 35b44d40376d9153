//! The command line of the image examples (`lenet`, `resnet`): the same flags, each with the
//! seed recipe's value as its default.

use std::path::PathBuf;

use lexopt::prelude::*;
use nn::data::Mnist;
use nn::prelude::*;

use crate::cli;

/// One MNIST digit with its channel: what a convolution takes, `[channels, height, width]`.
pub type Image = [[[f32; 28]; 28]; 1];

/// What to train and how; the recipe's values where a flag is not given.
pub struct ImageRecipe {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f32,
    pub data: Option<PathBuf>,
    pub threads: Option<usize>,
    pub init: Option<PathBuf>,
    pub save: Option<PathBuf>,
    pub seed: u64,
}

impl ImageRecipe {
    /// The flags of the command line (every value checked before training starts), or `None`
    /// for `--help`.
    pub fn parse(default_seed: u64) -> Result<Option<ImageRecipe>, lexopt::Error> {
        let mut args = ImageRecipe {
            epochs: 10,
            batch_size: 64,
            lr: 0.01,
            data: None,
            threads: None,
            init: None,
            save: None,
            seed: default_seed,
        };
        let mut parser = lexopt::Parser::from_env();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("epochs") => args.epochs = cli::count(&mut parser, "epochs")?,
                Long("batch-size") => args.batch_size = cli::count(&mut parser, "batch-size")?,
                Long("lr") => args.lr = cli::learning_rate(&mut parser)?,
                Long("data") => args.data = Some(parser.value()?.into()),
                Long("threads") => args.threads = Some(cli::count(&mut parser, "threads")?),
                Long("init") => args.init = Some(parser.value()?.into()),
                Long("save") => args.save = Some(cli::output_path(&mut parser, "save", &[])?),
                Long("seed") => args.seed = cli::value(&mut parser, "seed")?,
                Short('h') | Long("help") => return Ok(None),
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(Some(args))
    }
}

impl ImageRecipe {
    /// Trains `net` with the recipe (SGD momentum 0.9 and cross-entropy on standardised digits),
    /// printing one line per epoch and the test accuracy; saves it if asked.
    pub fn train<N: Layer<Image, Output = [f32; 10]>>(&self, mut net: N) -> nn::Result<()> {
        if let Some(threads) = self.threads {
            nn::set_num_threads(threads);
        }
        let mut data = match &self.data {
            Some(dir) => Mnist::from_dir(dir)?,
            None => Mnist::bundled()?,
        };
        data.normalize(Mnist::MEAN, Mnist::STD)?;
        let train_images = data.train.map_inputs(|digit| [digit]);
        let test_images = data.test.map_inputs(|digit| [digit]);
        let mut optimizer = Sgd::new(self.lr).momentum(0.9);
        nn::Trainer::new(CrossEntropy)
            .epochs(self.epochs)
            .batch_size(self.batch_size)
            .seed(self.seed)
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
            .fit(&mut net, &mut optimizer, &train_images, Some(&test_images))?;
        if let Some(path) = &self.save {
            nn::io::save(&net, path)?;
            println!("saved the weights to {}", path.display());
        }
        // Evaluation mode: dropout passes values through, batch norms use running statistics.
        let test = nn::evaluate(&net, &CrossEntropy, &test_images)?;
        println!("test accuracy: {:.2}%", test.accuracy * 100.0);
        Ok(())
    }
}
