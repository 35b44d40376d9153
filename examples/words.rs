//! Trains a small character-level transformer on English words, then writes new ones.
//!
//! The model and recipe are `shared/refs/torch_words_gpt.py`'s: 27 tokens (`.` and `a`-`z`),
//! a context of 16, token embeddings of 64 plus learned positions, two pre-LayerNorm blocks of
//! 4-head causal self-attention and a 256-wide GELU MLP, a final LayerNorm and a 27-way head
//! (104,603 parameters); AdamW (lr 1e-3, weight decay 0.01), batch 64, 10 epochs; every 10th
//! word of `data/words/words.txt` is validation. The input is `.` and the word, the target the
//! word and `.`; positions after the end are ignored by the loss. PyTorch reaches a validation
//! loss of 1.8008-1.8109 nats per character (seeds 0-2).
//!
//! The keys differ from PyTorch's only in the blocks (PyTorch groups each block's two residual
//! paths in a module): `--init` takes `safetensors.torch.save_file(model.state_dict(), path)`
//! through the renaming in [`pytorch_key`].
//!
//! ```text
//! cargo run --release --example words
//! cargo run --release --example words -- --epochs 1 --samples 5 --temperature 0.8 --top-k 10
//! ```

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;
use nn::data::InMemory;
use nn::io::LoadOptions;
use nn::optim::AdamW;
use nn::prelude::*;

/// Positions per sample: `.` and a word of at most 15 letters.
const CONTEXT: usize = 16;
/// The target of a position after the word's end: the loss skips it.
const IGNORE: usize = usize::MAX;

network! {
    /// The reference's character-level transformer: 104,603 parameters.
    pub struct WordsGpt: [usize; 16] =>
        tok: Embedding<27, 64> -> pos: PositionEmbedding<16, 64> ->
        Residual { ln1: LayerNorm<64> -> attn: CausalSelfAttention<64, 4> } ->
        Residual { ln2: LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        Residual { ln1: LayerNorm<64> -> attn: CausalSelfAttention<64, 4> } ->
        Residual { ln2: LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        ln: LayerNorm<64> -> head: Linear<64, 27>
}

/// `--help`: every flag has the recipe's value as its default.
const HELP: &str = "\
Trains a character-level transformer on English words, then samples new words

Usage: words [OPTIONS]

Options:
      --epochs <epochs>            Passes over the training words [default: 10]
      --batch-size <batch-size>    Words per step [default: 64]
      --lr <lr>                    Learning rate of AdamW (weight decay 0.01) [default: 0.001]
      --data <data>                The word list, one lowercase word a line [default: data/words/words.txt]
      --threads <threads>          Threads for the kernels, at most the cores (default: NN_NUM_THREADS,
                                   RAYON_NUM_THREADS or all cores)
      --init <init>                Start from these weights (the reference model's PyTorch state_dict in
                                   safetensors) instead of --seed's
      --save <save>                Save the trained weights (safetensors) here
      --seed <seed>                Seed of the initial weights, the shuffling and the sampling [default: 0]
      --samples <samples>          Words to sample after training [default: 20]
      --temperature <temperature>  Divides the logits before sampling [default: 1.0]
      --top-k <top-k>              Sample among the k most likely tokens only (default: all 27)
  -h, --help                       Print help
";

/// The command line, checked before the words are read.
struct Args {
    epochs: usize,
    batch_size: usize,
    lr: f32,
    data: PathBuf,
    threads: Option<usize>,
    init: Option<PathBuf>,
    save: Option<PathBuf>,
    seed: u64,
    samples: usize,
    sampler: nn::Sampler,
}

fn parse() -> Result<Option<Args>, lexopt::Error> {
    let mut args = Args {
        epochs: 10,
        batch_size: 64,
        lr: 1e-3,
        data: Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/words/words.txt"),
        threads: None,
        init: None,
        save: None,
        seed: 0,
        samples: 20,
        sampler: nn::Sampler::new(1.0, None).expect("a temperature of 1 is valid"),
    };
    let (mut temperature, mut top_k) = (1.0f32, None);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("epochs") => args.epochs = cli::count(&mut parser, "epochs")?,
            Long("batch-size") => args.batch_size = cli::count(&mut parser, "batch-size")?,
            Long("lr") => args.lr = cli::learning_rate(&mut parser)?,
            Long("data") => args.data = parser.value()?.into(),
            Long("threads") => args.threads = Some(cli::count(&mut parser, "threads")?),
            Long("init") => args.init = Some(parser.value()?.into()),
            Long("save") => args.save = Some(cli::output_path(&mut parser, "save", &[])?),
            Long("seed") => args.seed = cli::value(&mut parser, "seed")?,
            Long("samples") => args.samples = cli::value(&mut parser, "samples")?,
            Long("temperature") => temperature = cli::value(&mut parser, "temperature")?,
            Long("top-k") => top_k = Some(cli::count(&mut parser, "top-k")?),
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    args.sampler = nn::Sampler::new(temperature, top_k).map_err(|error| error.to_string())?;
    Ok(Some(args))
}

fn main() -> ExitCode {
    match cli::arguments("words", HELP, parse) {
        Ok(args) => cli::report(run(&args)),
        Err(code) => code,
    }
}

fn run(args: &Args) -> nn::Result<()> {
    if let Some(threads) = args.threads {
        nn::set_num_threads(threads);
    }
    let (train, valid) = read_words(&args.data)?;
    println!(
        "{} training words, {} validation words ({})",
        train.len(),
        valid.len(),
        args.data.display()
    );
    let mut net: WordsGpt = match &args.init {
        Some(path) => LoadOptions::strict().rename(pytorch_key).load(path)?,
        None => WordsGpt::init(args.seed),
    };
    println!("{}", net.summary());
    let loss = CrossEntropy.ignore_index(IGNORE);
    let mut optimizer = AdamW::new(args.lr).weight_decay(0.01);
    let started = std::time::Instant::now();
    nn::Trainer::new(loss)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .quiet()
        .on_epoch(|epoch| {
            println!(
                "epoch {:>2}  train loss {:.4}  validation loss {:.4}  {:.1} s",
                epoch.epoch,
                epoch.train_loss,
                epoch.valid_loss.unwrap_or(f32::NAN),
                epoch.seconds
            )
        })
        .fit(&mut net, &mut optimizer, &train, Some(&valid))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.save {
        net.save(path)?;
        println!("saved the weights to {}", path.display());
    }
    let mut rng = nn::Rng::seed(args.seed);
    let words: Vec<String> = (0..args.samples)
        .map(|_| sample_word(&net, &args.sampler, &mut rng))
        .collect();
    println!("sampled: {}", words.join(" "));
    println!(
        "trained in {seconds:.1} s ({:.0} words/s)",
        (train.len() * args.epochs) as f64 / seconds
    );
    // Evaluation mode, the mean over every predicted character of the validation words.
    let validation = nn::evaluate(&net, &loss, &valid)?;
    println!("validation loss: {:.4}", validation.loss);
    Ok(())
}

/// The training and validation words, encoded: every 10th word (index % 10 == 9) is validation,
/// as in the reference.
type Words = InMemory<[usize; CONTEXT], [usize; CONTEXT]>;

fn read_words(path: &Path) -> nn::Result<(Words, Words)> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        nn::Error::InvalidArgument(format!("cannot read the word list {}: {error}", path.display()))
    })?;
    let (mut train, mut valid) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for (index, word) in text.lines().enumerate() {
        let (input, target) = encode(word).map_err(|problem| {
            nn::Error::InvalidArgument(format!("{}, line {}: {problem}", path.display(), index + 1))
        })?;
        let split = if index % 10 == 9 { &mut valid } else { &mut train };
        split.0.push(input);
        split.1.push(target);
    }
    Ok((InMemory::new(train.0, train.1)?, InMemory::new(valid.0, valid.1)?))
}

/// Input `.` + word, target word + `.`, the reference's `encode`; ids `.` = 0, `a` = 1, ...
fn encode(word: &str) -> Result<([usize; CONTEXT], [usize; CONTEXT]), String> {
    if word.is_empty() || word.len() >= CONTEXT || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(format!("`{word}` is not a word of 1 to {} letters a-z", CONTEXT - 1));
    }
    let (mut input, mut target) = ([0; CONTEXT], [IGNORE; CONTEXT]);
    for (position, letter) in word.bytes().enumerate() {
        let id = usize::from(letter - b'a' + 1);
        input[position + 1] = id;
        target[position] = id;
    }
    target[word.len()] = 0;
    Ok((input, target))
}

/// One word drawn letter by letter until the model writes `.` or the context is full.
fn sample_word(net: &WordsGpt, sampler: &nn::Sampler, rng: &mut nn::Rng) -> String {
    let mut context = [0; CONTEXT];
    let mut word = String::new();
    for position in 0..CONTEXT - 1 {
        // Causal attention: the logits at `position` see only positions up to it, so what
        // the rest of the context holds does not matter.
        let logits = net.forward(&context);
        let next = sampler.sample(&logits[position], rng);
        if next == 0 {
            break;
        }
        context[position + 1] = next;
        word.push(char::from(b'a' + (next - 1) as u8));
    }
    word
}

/// Our key for a key of the reference's `state_dict`: PyTorch's `blocks.{i}` holds both
/// residual paths of block `i`, which the declaration above numbers `2 + 2i` (attention) and
/// `3 + 2i` (MLP, whose `Sequential` indices 0 and 2 are our body's positions 1 and 3).
fn pytorch_key(key: &str) -> Option<String> {
    let Some(rest) = key.strip_prefix("blocks.") else {
        return Some(key.to_string());
    };
    let (block, rest) = rest.split_once('.')?;
    let block: usize = block.parse().ok()?;
    let (attention, mlp) = (2 + 2 * block, 3 + 2 * block);
    let ours = if let Some(rest) = rest.strip_prefix("ln1.") {
        format!("{attention}.body.ln1.{rest}")
    } else if let Some(rest) = rest.strip_prefix("attn.") {
        format!("{attention}.body.attn.{rest}")
    } else if let Some(rest) = rest.strip_prefix("ln2.") {
        format!("{mlp}.body.ln2.{rest}")
    } else if let Some(rest) = rest.strip_prefix("mlp.0.") {
        format!("{mlp}.body.1.{rest}")
    } else if let Some(rest) = rest.strip_prefix("mlp.2.") {
        format!("{mlp}.body.3.{rest}")
    } else {
        return None;
    };
    Some(ours)
}
