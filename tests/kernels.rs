//! The Linear kernels against a plain f64 reference, at sizes that exercise every block edge.

use nn::kernel::{linear_backward_input, linear_backward_weight, linear_forward};
use nn::Rng;

fn fill<const N: usize>(rng: &mut Rng, rows: usize) -> Vec<[f32; N]> {
    (0..rows)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect()
}

fn close(a: f32, b: f64, scale: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-5 * scale.max(1.0)
}

fn check<const IN: usize, const OUT: usize>(batch: usize) {
    let mut rng = Rng::seed((IN * 1000 + OUT * 10 + batch) as u64);
    let x = fill::<IN>(&mut rng, batch);
    let g = fill::<OUT>(&mut rng, batch);
    let w: Box<[[f32; IN]; OUT]> = fill::<IN>(&mut rng, OUT).into_boxed_slice().try_into().unwrap();
    let bias: [f32; OUT] = std::array::from_fn(|_| rng.uniform(-1.0, 1.0));

    let mut y = vec![[f32::NAN; OUT]; batch];
    linear_forward(&x, &w, &bias, &mut y);
    for b in 0..batch {
        for o in 0..OUT {
            let want = f64::from(bias[o]) + (0..IN).map(|i| f64::from(x[b][i]) * f64::from(w[o][i])).sum::<f64>();
            assert!(
                close(y[b][o], want, IN as f64),
                "forward {IN}x{OUT} batch {batch} [{b}][{o}]: {} vs {want}",
                y[b][o]
            );
        }
        // One sample alone gives the same values (the same bits for batches the same kernel takes).
        let mut alone = [[0.0; OUT]];
        linear_forward(&x[b..b + 1], &w, &bias, &mut alone);
        for o in 0..OUT {
            assert!(
                (alone[0][o] - y[b][o]).abs() <= 1e-5 * (IN as f32),
                "forward of row {b} alone"
            );
        }
    }

    let mut dx = vec![[f32::NAN; IN]; batch];
    linear_backward_input(&g, &w, &mut dx);
    for b in 0..batch {
        for i in 0..IN {
            let want = (0..OUT).map(|o| f64::from(g[b][o]) * f64::from(w[o][i])).sum::<f64>();
            assert!(
                close(dx[b][i], want, OUT as f64),
                "input gradient {IN}x{OUT} batch {batch} [{b}][{i}]"
            );
        }
    }

    let mut dw: Box<[[f32; IN]; OUT]> = vec![[f32::NAN; IN]; OUT].into_boxed_slice().try_into().unwrap();
    let mut db = [f32::NAN; OUT];
    linear_backward_weight(&g, &x, &mut dw, &mut db);
    for o in 0..OUT {
        let want = (0..batch).map(|b| f64::from(g[b][o])).sum::<f64>();
        assert!(close(db[o], want, batch as f64), "bias gradient [{o}]");
        for i in 0..IN {
            let want = (0..batch).map(|b| f64::from(g[b][o]) * f64::from(x[b][i])).sum::<f64>();
            assert!(
                close(dw[o][i], want, batch as f64),
                "weight gradient {IN}x{OUT} batch {batch} [{o}][{i}]"
            );
        }
    }
}

#[test]
fn every_block_edge_matches_the_reference() {
    for batch in [1, 2, 3, 4, 5, 7, 8, 9, 17] {
        check::<1, 1>(batch);
        check::<3, 5>(batch);
        check::<16, 16>(batch);
        check::<37, 10>(batch);
        check::<64, 10>(batch);
        check::<80, 19>(batch);
        check::<130, 33>(batch);
    }
}

#[test]
fn seed_layer_sizes_match_the_reference() {
    for batch in [1, 6, 64, 67] {
        check::<784, 128>(batch);
        check::<128, 64>(batch);
        check::<64, 10>(batch);
    }
}
