//! The speed issue's workload for `nn`: the seed MLP (784-128-64-10, ReLU, f32), `CrossEntropy`,
//! `Sgd` lr 0.01 momentum 0.9, on 60,000 synthetic samples (pixels uniform in [0, 1), labels
//! uniform in 0..10, fixed seed). Prints one JSON line per figure.
//!
//! `lenet_train_b64` trains LeNet-5 (as `examples/lenet.rs`) the same way, at batch 64, on
//! 10,000 such samples given a channel, `[1, 28, 28]` (`--lenet-samples`); `resnet_train_b64`
//! trains the residual CNN of `examples/resnet.rs` on 3,000 (`--resnet-samples`);
//! `words_train_b64` trains the transformer of `examples/words.rs` with its recipe (AdamW, the
//! ignore-index loss) on the first 10,000 training words of `data/words/words.txt`
//! (`--words-samples`), in words/s.
//!
//! ```sh
//! cargo bench -p nn-bench --bench speed -- --threads 2            # every figure
//! cargo bench -p nn-bench --bench speed -- --threads 1 --figures train_b64,latency_us
//! ```
//!
//! `tools/bench_speed.sh` runs this and PyTorch alternately and prints the table;
//! `tools/bench_speed.sh --busy-core` also runs both with the last core kept busy by a shell
//! loop it starts and stops itself, and prints both loads side by side (issue 19).

use std::hint::black_box;
use std::time::Instant;

use nn::prelude::*;
use nn::{Mode, Rng};

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

network! {
    struct LeNet: [1, 28, 28] =>
        Conv2d<1, 6, 5>(padding = 2) -> ReLU -> MaxPool2d<2> ->
        Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> ->
        Flatten -> Linear<400, 120> -> ReLU -> Linear<120, 84> -> ReLU -> Linear<84, 10>
}

network! {
    struct ResNet: [1, 28, 28] =>
        Conv2d<1, 16, 3>(padding = 1) -> BatchNorm2d<16> -> ReLU ->
        Residual { Conv2d<16, 16, 3>(padding = 1) -> BatchNorm2d<16> -> ReLU -> Conv2d<16, 16, 3>(padding = 1) -> BatchNorm2d<16> } ->
        ReLU -> MaxPool2d<2> ->
        Conv2d<16, 32, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU ->
        Residual { Conv2d<32, 32, 3>(padding = 1) -> BatchNorm2d<32> -> ReLU -> Conv2d<32, 32, 3>(padding = 1) -> BatchNorm2d<32> } ->
        ReLU -> MaxPool2d<2> ->
        Flatten -> Linear<1568, 10>
}

network! {
    struct WordsGpt: [usize; 16] =>
        tok: Embedding<27, 64> -> pos: PositionEmbedding<16, 64> ->
        Residual { ln1: LayerNorm<64> -> attn: CausalSelfAttention<64, 4> } ->
        Residual { ln2: LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        Residual { ln1: LayerNorm<64> -> attn: CausalSelfAttention<64, 4> } ->
        Residual { ln2: LayerNorm<64> -> Linear<64, 256> -> GELU -> Linear<256, 64> } ->
        ln: LayerNorm<64> -> head: Linear<64, 27>
}

type Image = [[f32; 28]; 28];
type Tokens = [usize; 16];

const FIGURES: [&str; 7] = [
    "train_b64",
    "train_b256",
    "latency_us",
    "infer_b1024",
    "lenet_train_b64",
    "resnet_train_b64",
    "words_train_b64",
];

struct Args {
    threads: Option<usize>,
    figures: Vec<String>,
    samples: usize,
    lenet_samples: usize,
    resnet_samples: usize,
    words_samples: usize,
    latency_calls: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        threads: None,
        figures: FIGURES.iter().map(|f| f.to_string()).collect(),
        samples: 60_000,
        lenet_samples: 10_000,
        resnet_samples: 3_000,
        words_samples: 10_000,
        latency_calls: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--threads" => args.threads = Some(value().parse().expect("--threads N")),
            "--figures" => args.figures = value().split(',').map(str::to_string).collect(),
            "--samples" => args.samples = value().parse().expect("--samples N"),
            "--lenet-samples" => args.lenet_samples = value().parse().expect("--lenet-samples N"),
            "--resnet-samples" => args.resnet_samples = value().parse().expect("--resnet-samples N"),
            "--words-samples" => args.words_samples = value().parse().expect("--words-samples N"),
            "--latency-calls" => args.latency_calls = value().parse().expect("--latency-calls N"),
            // `cargo bench` passes `--bench`; ignore it and anything else it adds.
            _ => {}
        }
    }
    args
}

/// The synthetic data set: the same for every run.
fn synthetic(samples: usize) -> nn::data::InMemory<Image> {
    let mut rng = Rng::seed(20_261_123);
    let mut images = vec![[[0.0f32; 28]; 28]; samples];
    images
        .iter_mut()
        .flat_map(|image| image.iter_mut().flatten())
        .for_each(|p| *p = rng.unit());
    let labels = (0..samples).map(|_| rng.below(10)).collect();
    nn::data::InMemory::new(images, labels).expect("as many labels as images")
}

/// Samples per second of the second of two training epochs of `net` (the first warms up).
fn train<I: nn::Tensor, N>(mut net: N, data: &nn::data::InMemory<I>, batch_size: usize) -> f64
where
    N: Layer<I>,
    CrossEntropy: Loss<N::Output, Target = usize>,
{
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let report = nn::Trainer::new(CrossEntropy)
        .epochs(2)
        .batch_size(batch_size)
        .seed(1)
        .quiet()
        .fit(&mut net, &mut opt, data, None)
        .expect("training runs");
    data.len() as f64 / report.epochs[1].seconds
}

/// The first `samples` training words of `data/words/words.txt` (every 10th word is
/// validation), encoded as `examples/words.rs` and the reference do: input `.` + word, target
/// word + `.`, the positions after it ignored.
fn words(samples: usize) -> nn::data::InMemory<Tokens, Tokens> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/words/words.txt");
    let text = std::fs::read_to_string(path).expect("data/words/words.txt");
    let (inputs, targets) = text
        .lines()
        .enumerate()
        .filter(|(index, _)| index % 10 != 9)
        .take(samples)
        .map(|(_, word)| {
            let (mut input, mut target) = ([0; 16], [usize::MAX; 16]);
            for (position, letter) in word.bytes().enumerate() {
                input[position + 1] = usize::from(letter - b'a' + 1);
                target[position] = input[position + 1];
            }
            target[word.len()] = 0;
            (input, target)
        })
        .unzip();
    nn::data::InMemory::new(inputs, targets).expect("as many targets as inputs")
}

/// Words per second of the second of two epochs of the words recipe (the first warms up).
fn train_words(data: &nn::data::InMemory<Tokens, Tokens>) -> f64 {
    let mut net = WordsGpt::init(0);
    let mut opt = AdamW::new(1e-3).weight_decay(0.01);
    let report = nn::Trainer::new(CrossEntropy.ignore_index(usize::MAX))
        .epochs(2)
        .batch_size(64)
        .seed(1)
        .quiet()
        .fit(&mut net, &mut opt, data, None)
        .expect("training runs");
    data.len() as f64 / report.epochs[1].seconds
}

/// Median, in microseconds, of `calls` timed single-sample `forward` calls.
fn latency(data: &nn::data::InMemory<Image>, calls: usize) -> f64 {
    let net = MnistMlp::init(0);
    let inputs = data.inputs();
    for input in inputs.iter().take(1000) {
        black_box(net.forward(black_box(input)));
    }
    let mut times: Vec<f64> = (0..calls)
        .map(|i| {
            let input = &inputs[i % inputs.len()];
            let start = Instant::now();
            black_box(net.forward(black_box(input)));
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Samples per second of batched inference over the data set in batches of `batch_size`
/// (the second of two passes).
fn infer(data: &nn::data::InMemory<Image>, batch_size: usize) -> f64 {
    let net = MnistMlp::init(0);
    let mut cache = Default::default();
    let mut outputs = vec![[0.0f32; 10]; batch_size];
    let mut seconds = 0.0;
    for _pass in 0..2 {
        let start = Instant::now();
        for batch in data.inputs().chunks(batch_size) {
            let outputs = &mut outputs[..batch.len()];
            net.forward_batch(batch, outputs, &mut cache, Mode::Eval);
            black_box(outputs);
        }
        seconds = start.elapsed().as_secs_f64();
    }
    data.len() as f64 / seconds
}

fn main() {
    let args = parse_args();
    if let Some(threads) = args.threads {
        nn::set_num_threads(threads);
    }
    let threads = nn::num_threads();
    let data = synthetic(args.samples);
    for figure in &args.figures {
        let (value, unit) = match figure.as_str() {
            "train_b64" => (train(MnistMlp::init(0), &data, 64), "samples/s"),
            "train_b256" => (train(MnistMlp::init(0), &data, 256), "samples/s"),
            "latency_us" => (latency(&data, args.latency_calls), "us"),
            "infer_b1024" => (infer(&data, 1024), "samples/s"),
            "lenet_train_b64" => {
                let images = synthetic(args.lenet_samples).map_inputs(|image| [image]);
                (train(LeNet::init(0), &images, 64), "samples/s")
            }
            "resnet_train_b64" => {
                let images = synthetic(args.resnet_samples).map_inputs(|image| [image]);
                (train(ResNet::init(0), &images, 64), "samples/s")
            }
            "words_train_b64" => (train_words(&words(args.words_samples)), "words/s"),
            other => panic!("unknown figure {other:?}; known: {FIGURES:?}"),
        };
        println!(
            r#"{{"tool": "nn", "figure": "{figure}", "threads": {threads}, "value": {value:.3}, "unit": "{unit}"}}"#
        );
    }
}
