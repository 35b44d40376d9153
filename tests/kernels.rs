//! The Linear kernels against a plain f64 reference, at sizes that exercise every block edge:
//! as dispatched, and each implementation on its own (the AVX2 micro-kernels where the CPU has
//! them, `dense.rs`), whose results must also not depend on the number of threads.

use nn::prelude::*;
use nn::Mode;
use nn::Rng;
use nn_runtime::kernel::variants;
use nn_runtime::kernel::{
    linear_backward_input, linear_backward_input_relu, linear_backward_weight, linear_forward, linear_forward_relu,
};

/// Which implementation a check runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernels {
    Dispatched,
    Avx2,
    /// The AVX2 forward by broadcast against the transposed weight, whatever the shape (the
    /// gradients as `Avx2`).
    Avx2Transposed,
    Dense,
}

impl Kernels {
    /// The forward; with `relu`, with the ReLU epilogue.
    fn forward<const IN: usize, const OUT: usize>(
        self,
        x: &[[f32; IN]],
        w: &[[f32; IN]; OUT],
        bias: &[f32; OUT],
        y: &mut [[f32; OUT]],
        relu: bool,
    ) {
        match self {
            Kernels::Dispatched if relu => linear_forward_relu(x, w, bias, y),
            Kernels::Dispatched => linear_forward(x, w, bias, y),
            Kernels::Avx2 => variants::linear_forward_avx2(x, w, bias, y, relu),
            Kernels::Avx2Transposed => variants::linear_forward_avx2_transposed(x, w, bias, y, relu),
            Kernels::Dense => variants::linear_forward_dense(x, w, bias, y, relu),
        }
    }

    /// The input gradient; with `relu_outputs`, with the ReLU-mask epilogue.
    fn backward_input<const IN: usize, const OUT: usize>(
        self,
        g: &[[f32; OUT]],
        w: &[[f32; IN]; OUT],
        dx: &mut [[f32; IN]],
        relu_outputs: Option<&[[f32; IN]]>,
    ) {
        match (self, relu_outputs) {
            (Kernels::Dispatched, Some(y)) => linear_backward_input_relu(g, w, y, dx),
            (Kernels::Dispatched, None) => linear_backward_input(g, w, dx),
            (Kernels::Avx2 | Kernels::Avx2Transposed, _) => {
                variants::linear_backward_input_avx2(g, w, dx, relu_outputs)
            }
            (Kernels::Dense, _) => variants::linear_backward_input_dense(g, w, dx, relu_outputs),
        }
    }

    fn backward_weight<const IN: usize, const OUT: usize>(
        self,
        g: &[[f32; OUT]],
        x: &[[f32; IN]],
        dw: &mut [[f32; IN]; OUT],
        db: &mut [f32; OUT],
    ) {
        match self {
            Kernels::Dispatched => linear_backward_weight(g, x, dw, db),
            Kernels::Avx2 | Kernels::Avx2Transposed => variants::linear_backward_weight_avx2(g, x, dw, db),
            Kernels::Dense => variants::linear_backward_weight_dense(g, x, dw, db),
        }
    }
}

/// The implementations this CPU runs.
fn all_kernels() -> Vec<Kernels> {
    let mut all = vec![Kernels::Dispatched, Kernels::Dense];
    if variants::has_avx2() {
        all.extend([Kernels::Avx2, Kernels::Avx2Transposed]);
    }
    all
}

fn fill<const N: usize>(rng: &mut Rng, rows: usize) -> Vec<[f32; N]> {
    (0..rows)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect()
}

fn close(a: f32, b: f64, scale: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-5 * scale.max(1.0)
}

fn check<const IN: usize, const OUT: usize>(batch: usize) {
    for kernels in all_kernels() {
        check_with::<IN, OUT>(kernels, batch);
    }
}

fn check_with<const IN: usize, const OUT: usize>(kernels: Kernels, batch: usize) {
    let mut rng = Rng::seed((IN * 1000 + OUT * 10 + batch) as u64);
    let x = fill::<IN>(&mut rng, batch);
    let g = fill::<OUT>(&mut rng, batch);
    let w: Box<[[f32; IN]; OUT]> = fill::<IN>(&mut rng, OUT).into_boxed_slice().try_into().unwrap();
    let bias: [f32; OUT] = std::array::from_fn(|_| rng.uniform(-1.0, 1.0));

    let mut y = vec![[f32::NAN; OUT]; batch];
    kernels.forward(&x, &w, &bias, &mut y, false);
    for b in 0..batch {
        for o in 0..OUT {
            let want = f64::from(bias[o]) + (0..IN).map(|i| f64::from(x[b][i]) * f64::from(w[o][i])).sum::<f64>();
            assert!(
                close(y[b][o], want, IN as f64),
                "{kernels:?} forward {IN}x{OUT} batch {batch} [{b}][{o}]: {} vs {want}",
                y[b][o]
            );
        }
        // One sample alone gives the same values (the same bits for batches the same kernel takes).
        let mut alone = [[0.0; OUT]];
        kernels.forward(&x[b..b + 1], &w, &bias, &mut alone, false);
        for o in 0..OUT {
            assert!(
                (alone[0][o] - y[b][o]).abs() <= 1e-5 * (IN as f32),
                "{kernels:?} forward of row {b} alone"
            );
        }
    }

    let mut dx = vec![[f32::NAN; IN]; batch];
    kernels.backward_input(&g, &w, &mut dx, None);
    for b in 0..batch {
        for i in 0..IN {
            let want = (0..OUT).map(|o| f64::from(g[b][o]) * f64::from(w[o][i])).sum::<f64>();
            assert!(
                close(dx[b][i], want, OUT as f64),
                "{kernels:?} input gradient {IN}x{OUT} batch {batch} [{b}][{i}]"
            );
        }
    }

    let mut dw: Box<[[f32; IN]; OUT]> = vec![[f32::NAN; IN]; OUT].into_boxed_slice().try_into().unwrap();
    let mut db = [f32::NAN; OUT];
    kernels.backward_weight(&g, &x, &mut dw, &mut db);
    for o in 0..OUT {
        let want = (0..batch).map(|b| f64::from(g[b][o])).sum::<f64>();
        assert!(close(db[o], want, batch as f64), "{kernels:?} bias gradient [{o}]");
        for i in 0..IN {
            let want = (0..batch).map(|b| f64::from(g[b][o]) * f64::from(x[b][i])).sum::<f64>();
            assert!(
                close(dw[o][i], want, batch as f64),
                "{kernels:?} weight gradient {IN}x{OUT} batch {batch} [{o}][{i}]"
            );
        }
    }
}

#[test]
fn every_block_edge_matches_the_reference() {
    for batch in [1, 2, 3, 4, 5, 7, 8, 9, 17, 48, 53] {
        check::<1, 1>(batch);
        check::<3, 5>(batch);
        check::<16, 16>(batch);
        check::<37, 10>(batch);
        check::<64, 10>(batch);
        check::<80, 19>(batch);
        check::<130, 33>(batch);
        // Three panels of outputs on AVX-512 (64, 64 and 32 wide, the last padded).
        check::<37, 150>(batch);
    }
}

#[test]
fn seed_layer_sizes_match_the_reference() {
    // 130 rows: past the batch from which the 784-input AVX2 forward turns to the broadcast
    // form; 300: past the batch from which the AVX-512 forward splits by rows, not panels.
    for batch in [1, 6, 64, 67, 130, 300] {
        check::<784, 128>(batch);
        check::<128, 64>(batch);
        check::<64, 10>(batch);
        // Inputs enough for the AVX-512 dot-product form at every batch (not a multiple of 16),
        // outputs split in parts of 4 with one left over.
        check::<390, 33>(batch);
    }
}

/// The bits of all three products of every implementation, with `threads` threads.
fn bits<const IN: usize, const OUT: usize>(threads: usize, batch: usize) -> Vec<Vec<u32>> {
    nn::set_num_threads(threads);
    let mut rng = Rng::seed(batch as u64);
    let x = fill::<IN>(&mut rng, batch);
    let g = fill::<OUT>(&mut rng, batch);
    let w: Box<[[f32; IN]; OUT]> = fill::<IN>(&mut rng, OUT).into_boxed_slice().try_into().unwrap();
    let bias: [f32; OUT] = std::array::from_fn(|_| rng.uniform(-1.0, 1.0));
    let mut all = Vec::new();
    for kernels in all_kernels() {
        let mut y = vec![[0.0; OUT]; batch];
        kernels.forward(&x, &w, &bias, &mut y, false);
        let mut dx = vec![[0.0; IN]; batch];
        kernels.backward_input(&g, &w, &mut dx, None);
        let mut dw: Box<[[f32; IN]; OUT]> = vec![[0.0; IN]; OUT].into_boxed_slice().try_into().unwrap();
        let mut db = [0.0; OUT];
        kernels.backward_weight(&g, &x, &mut dw, &mut db);
        let values = y
            .iter()
            .flatten()
            .chain(dx.iter().flatten())
            .chain(dw.iter().flatten())
            .chain(&db);
        all.push(values.map(|v| v.to_bits()).collect());
    }
    all
}

#[test]
fn every_implementation_gives_the_same_bits_for_any_thread_count() {
    for batch in [5, 8, 67, 130, 300] {
        let one = bits::<784, 128>(1, batch);
        assert!(
            one == bits::<784, 128>(2, batch),
            "784x128 batch {batch}: 1 and 2 threads differ"
        );
        assert!(
            one == bits::<784, 128>(3, batch),
            "784x128 batch {batch}: 1 and 3 threads differ"
        );
        let one = bits::<130, 33>(1, batch);
        assert!(
            one == bits::<130, 33>(3, batch),
            "130x33 batch {batch}: 1 and 3 threads differ"
        );
        let one = bits::<390, 33>(1, batch);
        assert!(
            one == bits::<390, 33>(2, batch),
            "390x33 batch {batch}: 1 and 2 threads differ"
        );
        let one = bits::<37, 150>(1, batch);
        assert!(
            one == bits::<37, 150>(2, batch),
            "37x150 batch {batch}: 1 and 2 threads differ"
        );
    }
    // A single row splits its outputs across running workers when the layer is large.
    for batch in [1, 2] {
        let one = bits::<1030, 300>(1, batch);
        assert!(
            one == bits::<1030, 300>(2, batch),
            "1030x300 batch {batch}: 1 and 2 threads differ"
        );
        assert!(
            bits::<784, 128>(1, batch) == bits::<784, 128>(2, batch),
            "784x128 batch {batch}: 1 and 2 threads differ"
        );
    }
    nn::set_num_threads(1);
}

/// The ReLU epilogues give exactly what the kernel without them followed by the `ReLU` layer
/// gives: the forward's outputs (some negative, one NaN), and the input gradient masked by a
/// ReLU's outputs (positive, zero, negative zero), with 1 and 2 threads.
fn check_relu_epilogues<const IN: usize, const OUT: usize>(batch: usize) {
    let mut rng = Rng::seed((IN * 7 + OUT * 3 + batch) as u64);
    let mut x = fill::<IN>(&mut rng, batch);
    x[batch / 2][0] = f32::NAN;
    let g = fill::<OUT>(&mut rng, batch);
    let w: Box<[[f32; IN]; OUT]> = fill::<IN>(&mut rng, OUT).into_boxed_slice().try_into().unwrap();
    let bias: [f32; OUT] = std::array::from_fn(|_| rng.uniform(-1.0, 1.0));
    let mut relu_outputs = fill::<IN>(&mut rng, batch);
    for (i, value) in relu_outputs.as_flattened_mut().iter_mut().enumerate() {
        *value = match i % 4 {
            0 => 0.0,
            1 => -0.0,
            _ => value.max(0.0),
        };
    }
    let bits = |rows: &[[f32; OUT]]| rows.as_flattened().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let input_bits = |rows: &[[f32; IN]]| rows.as_flattened().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for threads in [1, 2] {
        nn::set_num_threads(threads);
        for kernels in all_kernels() {
            let mut separate = vec![[0.0; OUT]; batch];
            kernels.forward(&x, &w, &bias, &mut separate, false);
            let mut activated = vec![[0.0; OUT]; batch];
            ReLU.forward_batch(&separate, &mut activated, &mut (), Mode::Train);
            let mut fused = vec![[0.0; OUT]; batch];
            kernels.forward(&x, &w, &bias, &mut fused, true);
            assert!(
                bits(&fused) == bits(&activated),
                "{kernels:?} forward with ReLU {IN}x{OUT} batch {batch}, {threads} threads"
            );

            let mut dx = vec![[0.0; IN]; batch];
            kernels.backward_input(&g, &w, &mut dx, None);
            let mut masked = vec![[0.0; IN]; batch];
            ReLU.backward_batch(&relu_outputs, &relu_outputs, &dx, Some(&mut masked), &mut (), &mut ReLU);
            let mut fused = vec![[0.0; IN]; batch];
            kernels.backward_input(&g, &w, &mut fused, Some(&relu_outputs));
            assert!(
                input_bits(&fused) == input_bits(&masked),
                "{kernels:?} input gradient with the ReLU mask {IN}x{OUT} batch {batch}, {threads} threads"
            );
        }
    }
    nn::set_num_threads(1);
}

#[test]
fn relu_epilogues_give_the_bits_of_the_relu_layer() {
    for batch in [1, 2, 5, 8, 67, 130, 300] {
        check_relu_epilogues::<784, 128>(batch);
        check_relu_epilogues::<128, 64>(batch);
        check_relu_epilogues::<37, 150>(batch);
        check_relu_epilogues::<3, 5>(batch);
    }
}
