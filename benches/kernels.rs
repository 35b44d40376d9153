//! Criterion benches of the three Linear products at the seed network's sizes, on one thread.
//!
//! ```sh
//! cargo bench --bench kernels
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::kernel::{linear_backward_input, linear_backward_weight, linear_forward};
use nn::Rng;

fn rows<const N: usize>(rng: &mut Rng, count: usize) -> Vec<[f32; N]> {
    (0..count)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect()
}

fn layer<const IN: usize, const OUT: usize>(c: &mut Criterion, batch: usize) {
    let mut rng = Rng::seed(0);
    let x = rows::<IN>(&mut rng, batch);
    let g = rows::<OUT>(&mut rng, batch);
    let w: Box<[[f32; IN]; OUT]> = rows::<IN>(&mut rng, OUT).into_boxed_slice().try_into().unwrap();
    let bias = [0.1f32; OUT];
    let mut y = vec![[0.0f32; OUT]; batch];
    let mut dx = vec![[0.0f32; IN]; batch];
    let mut dw: Box<[[f32; IN]; OUT]> = vec![[0.0f32; IN]; OUT].into_boxed_slice().try_into().unwrap();
    let mut db = [0.0f32; OUT];

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

fn kernels(c: &mut Criterion) {
    nn::set_num_threads(1);
    eprintln!("instruction set: {}", nn::kernel::instruction_set());
    for batch in [1, 64, 256, 1024] {
        layer::<784, 128>(c, batch);
    }
    layer::<128, 64>(c, 64);
    layer::<64, 10>(c, 64);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1)).sample_size(20);
    targets = kernels
}
criterion_main!(benches);
