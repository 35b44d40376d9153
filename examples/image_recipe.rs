//! The command line of the image examples (`lenet`, `resnet`): the same flags, each with the
//! seed recipe's value as its default.

use std::path::PathBuf;

use lexopt::prelude::*;

use crate::cli;

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
