//! Criterion benches of the three Linear products at the seed network's sizes, on one thread,
//! and of the three products of LeNet-5's two convolutions at batch 64, on one and two
//! threads. The throughput is in floating-point operations (two per multiply-add).
//!
//! On a CPU with AVX2+FMA, the `*_avx2_vs_dense` groups run each Linear product by the AVX2
//! micro-kernels and by the portable `dense.rs` kernels in the same run, at the seed sizes and
//! batches 1, 64, 256 and 1024: their ratio decides which one `nn_runtime::kernel` dispatches to (the
//! machine is shared, so compare ratios, not times across runs).
//!
//! ```sh
//! cargo bench -p nn-bench --bench kernels
//! cargo bench -p nn-bench --bench kernels -- lenet           # the convolutions only
//! cargo bench -p nn-bench --bench kernels -- avx2_vs_dense   # the Linear implementations side by side
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::Rng;
use nn_runtime::kernel::variants::{
    has_avx2, linear_backward_input_avx2, linear_backward_input_dense, linear_backward_weight_avx2,
    linear_backward_weight_dense, linear_forward_avx2, linear_forward_dense,
};
use nn_runtime::kernel::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, linear_backward_input, linear_backward_weight,
    linear_forward, ConvShape,
};

fn rows<const N: usize>(rng: &mut Rng, count: usize) -> Vec<[f32; N]> {
    (0..count)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect()
}

/// A weight matrix of `OUT` rows of `IN` values, held as a `Linear` holds it.
type Weight<const IN: usize, const OUT: usize> = nn::AlignedBox<[[f32; IN]; OUT]>;

/// A batch of rows of `N` values.
type Rows<const N: usize> = Vec<[f32; N]>;

/// Random inputs of the three products of a `Linear<IN, OUT>` on `batch` rows: `x`, the output
/// gradient, the weight and the bias.
fn inputs<const IN: usize, const OUT: usize>(batch: usize) -> (Rows<IN>, Rows<OUT>, Weight<IN, OUT>, [f32; OUT]) {
    let mut rng = Rng::seed(0);
    let x = rows::<IN>(&mut rng, batch);
    let g = rows::<OUT>(&mut rng, batch);
    let mut w = Weight::<IN, OUT>::zeros();
    w.copy_from_slice(&rows::<IN>(&mut rng, OUT));
    (x, g, w, [0.1; OUT])
}

/// Buffers for their results: `y`, the input gradient, the weight and bias gradients.
fn outputs<const IN: usize, const OUT: usize>(batch: usize) -> (Rows<OUT>, Rows<IN>, Weight<IN, OUT>, [f32; OUT]) {
    let dw = Weight::<IN, OUT>::zeros();
    (vec![[0.0; OUT]; batch], vec![[0.0; IN]; batch], dw, [0.0; OUT])
}

fn layer<const IN: usize, const OUT: usize>(c: &mut Criterion, batch: usize) {
    let (x, g, w, bias) = inputs::<IN, OUT>(batch);
    let (mut y, mut dx, mut dw, mut db) = outputs::<IN, OUT>(batch);

    let mut group = c.benchmark_group(format!("linear_{IN}x{OUT}_batch_{batch}"));
    group.throughput(Throughput::Elements((2 * IN * OUT * batch) as u64));
    group.bench_function("forward", |b| {
        b.iter(|| linear_forward(black_box(&x), black_box(&w), black_box(&bias), black_box(&mut y)))
    });
    group.bench_function("input_gradient", |b| {
        b.iter(|| linear_backward_input(black_box(&g), black_box(&w), black_box(&mut dx)))
    });
    group.bench_function("weight_gradient", |b| {
        b.iter(|| linear_backward_weight(black_box(&g), black_box(&x), black_box(&mut dw), black_box(&mut db)))
    });
    group.finish();
}

/// Each Linear product by the AVX2 micro-kernels and by `dense.rs`, one after the other.
fn avx2_vs_dense<const IN: usize, const OUT: usize>(c: &mut Criterion, batch: usize) {
    let (x, g, w, bias) = inputs::<IN, OUT>(batch);
    let (mut y, mut dx, mut dw, mut db) = outputs::<IN, OUT>(batch);

    let mut group = c.benchmark_group(format!("linear_{IN}x{OUT}_batch_{batch}_avx2_vs_dense"));
    group.throughput(Throughput::Elements((2 * IN * OUT * batch) as u64));
    group.bench_function("forward_avx2", |b| {
        b.iter(|| linear_forward_avx2(black_box(&x), black_box(&w), black_box(&bias), black_box(&mut y), false))
    });
    group.bench_function("forward_dense", |b| {
        b.iter(|| linear_forward_dense(black_box(&x), black_box(&w), black_box(&bias), black_box(&mut y), false))
    });
    group.bench_function("input_gradient_avx2", |b| {
        b.iter(|| linear_backward_input_avx2(black_box(&g), black_box(&w), black_box(&mut dx), None))
    });
    group.bench_function("input_gradient_dense", |b| {
        b.iter(|| linear_backward_input_dense(black_box(&g), black_box(&w), black_box(&mut dx), None))
    });
    group.bench_function("weight_gradient_avx2", |b| {
        b.iter(|| linear_backward_weight_avx2(black_box(&g), black_box(&x), black_box(&mut dw), black_box(&mut db)))
    });
    group.bench_function("weight_gradient_dense", |b| {
        b.iter(|| linear_backward_weight_dense(black_box(&g), black_box(&x), black_box(&mut dw), black_box(&mut db)))
    });
    group.finish();
}

fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn convolution(c: &mut Criterion, name: &str, shape: ConvShape, batch: usize, threads: usize) {
    nn::set_num_threads(threads);
    let mut rng = Rng::seed(0);
    let input = values(&mut rng, batch * shape.input_len());
    let g = values(&mut rng, batch * shape.output_len());
    let w = values(&mut rng, shape.weight_len());
    let bias = values(&mut rng, shape.out_channels);
    let mut y = vec![0.0f32; batch * shape.output_len()];
    let mut dx = vec![0.0f32; batch * shape.input_len()];
    let mut dw = vec![0.0f32; shape.weight_len()];
    let mut db = vec![0.0f32; shape.out_channels];

    let mut group = c.benchmark_group(format!("lenet_{name}_batch_{batch}_threads_{threads}"));
    group.throughput(Throughput::Elements((2 * shape.macs_per_sample() * batch) as u64));
    group.bench_function("forward", |b| {
        b.iter(|| {
            conv2d_forward(
                &shape,
                black_box(&input),
                black_box(&w),
                black_box(&bias),
                black_box(&mut y),
            )
        })
    });
    group.bench_function("weight_gradient", |b| {
        b.iter(|| {
            conv2d_backward_weight(
                &shape,
                black_box(&g),
                black_box(&input),
                black_box(&mut dw),
                black_box(&mut db),
            )
        })
    });
    group.bench_function("input_gradient", |b| {
        b.iter(|| conv2d_backward_input(&shape, black_box(&g), black_box(&w), black_box(&mut dx)))
    });
    group.finish();
}

fn kernels(c: &mut Criterion) {
    nn::set_num_threads(1);
    eprintln!("instruction set: {}", nn_runtime::kernel::instruction_set());
    for batch in [1, 64, 256, 1024] {
        layer::<784, 128>(c, batch);
    }
    layer::<128, 64>(c, 64);
    layer::<64, 10>(c, 64);
    if has_avx2() {
        for batch in [1, 64, 256, 1024] {
            avx2_vs_dense::<784, 128>(c, batch);
            avx2_vs_dense::<128, 64>(c, batch);
            avx2_vs_dense::<64, 10>(c, batch);
        }
    }
    for threads in [1, 2] {
        // nn.Conv2d(1, 6, 5, padding=2) on 28x28, nn.Conv2d(6, 16, 5) on 14x14.
        convolution(c, "conv1", ConvShape::new(1, 6, 5, 1, 2, 28, 28), 64, threads);
        convolution(c, "conv2", ConvShape::new(6, 16, 5, 1, 0, 14, 14), 64, threads);
    }
    nn::set_num_threads(1);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1)).sample_size(20);
    targets = kernels
}
criterion_main!(benches);
