//! Results do not depend on the load of the machine: training with 1 thread, with 2 threads,
//! and with 2 threads while another thread keeps a core busy gives the same weights, bit for
//! bit (issue 19). Under load the pool's workers are preempted in the middle of their parts and
//! the pool switches between running with its workers and without them; neither may change a
//! value. One test function, so no other test of this binary shares the pool.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nn::prelude::*;
use nn::train::Workspace;

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

type Image = [[f32; 28]; 28];

fn bits(net: &MnistMlp) -> Vec<u32> {
    let mut all = Vec::new();
    net.visit_params("", &mut |_, _, values| all.extend(values.iter().map(|v| v.to_bits())));
    all
}

/// The weights' bits after `steps` steps with `threads` threads, on batches of several sizes
/// (multiples of the kernels' blocks and not, small enough to run on one thread and large
/// enough to be split).
fn train(threads: usize, steps: usize, images: &[Image], labels: &[usize]) -> Vec<u32> {
    nn::set_num_threads(threads);
    let mut net = MnistMlp::init(3);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let mut workspace = Workspace::<MnistMlp, Image, usize>::new();
    let mut start = 0;
    for batch in [64, 67, 256, 5, 64, 130].into_iter().cycle().take(steps) {
        if start + batch > images.len() {
            start = 0;
        }
        let end = start + batch;
        workspace.train_step(
            &mut net,
            &CrossEntropy,
            &mut opt,
            &images[start..end],
            &labels[start..end],
        );
        start = end;
    }
    bits(&net)
}

/// A thread that spins until dropped, taking a core from the pool's threads.
struct BusyCore {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl BusyCore {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut spins = 0u64;
            while !flag.load(Ordering::Relaxed) {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
            spins
        });
        BusyCore {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let spins = thread.join().expect("the busy thread does not panic");
            assert!(spins > 0, "the busy thread ran");
        }
    }
}

#[test]
fn weights_are_the_same_with_one_thread_two_threads_and_a_busy_core() {
    let (images, labels) = common::random_images(600, 11, 10);
    // Enough steps for the pool to measure a few blocks of launches and probe the other way.
    let steps = 300;
    let one = train(1, steps, &images, &labels);
    let two = train(2, steps, &images, &labels);
    let busy = {
        let _busy = BusyCore::start();
        train(2, steps, &images, &labels)
    };
    assert_eq!(one.len(), MnistMlp::NUM_PARAMS);
    let differ = |other: &[u32]| one.iter().zip(other).filter(|(a, b)| a != b).count();
    assert_eq!(differ(&two), 0, "weights differ between 1 and 2 threads");
    assert_eq!(
        differ(&busy),
        0,
        "weights differ between 1 thread and 2 with a busy core"
    );
    // Training moved the weights (the comparison would pass trivially otherwise).
    let untrained = bits(&MnistMlp::init(3));
    assert!(differ(&untrained) > one.len() / 2, "training changed few weights");
}
