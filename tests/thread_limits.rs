//! More threads than cores: a thread count from `set_num_threads`, `NN_NUM_THREADS` or a
//! command line is clamped, and never makes training much slower than the core count does
//! (issue 16, defect 7). One test function for the timings, so no other test shares the pool.

mod common;

use std::time::{Duration, Instant};

use nn::prelude::*;
use nn::train::Workspace;

network! {
    struct MnistMlp: [28, 28] => Flatten -> Linear<784, 128> -> ReLU -> Linear<128, 64> -> ReLU -> Linear<64, 10>
}

type Image = [[f32; 28]; 28];

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The mean time of a training step at batch 64 with `threads` threads requested, after a
/// few steps of warm-up (the mean, not the median: oversubscribed threads cost a few steps
/// many milliseconds each, which a median hides).
fn step_time(threads: usize, images: &[Image], labels: &[usize]) -> Duration {
    nn::set_num_threads(threads);
    let mut net = MnistMlp::init(3);
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let mut workspace = Workspace::<MnistMlp, Image, usize>::new();
    let mut step = |step: usize| {
        let at = (step % 8) * 64;
        workspace.train_step(
            &mut net,
            &CrossEntropy,
            &mut opt,
            &images[at..at + 64],
            &labels[at..at + 64],
        );
    };
    (0..5).for_each(&mut step);
    let start = Instant::now();
    (0..40).for_each(&mut step);
    start.elapsed() / 40
}

#[test]
fn thread_counts_beyond_the_cores_are_clamped_and_cost_no_time() {
    let (images, labels) = common::random_images(512, 5, 10);
    let limit = nn::max_threads();
    assert_eq!(limit, cores());
    for requested in [10_000, 1000, limit + 1] {
        nn::set_num_threads(requested);
        assert_eq!(nn::num_threads(), limit, "set_num_threads({requested})");
    }
    nn::set_num_threads(0);
    assert_eq!(nn::num_threads(), 1);

    let mut timings = Vec::new();
    for threads in [2, 8, 64, 1000, 2] {
        timings.push((threads, step_time(threads, &images, &labels)));
    }
    eprintln!("mean step at batch 64 on {} cores: {timings:?}", cores());
    let two = timings[0].1.min(timings[4].1);
    for &(threads, time) in &timings[1..4] {
        assert!(
            time < two * 5 + Duration::from_millis(1),
            "{threads} threads: {time:?} per step, 2 threads: {two:?}"
        );
    }
}

/// Run by the test below in a child process whose `NN_NUM_THREADS` is 10000.
#[test]
fn child_reads_a_huge_thread_count_from_the_environment() {
    if std::env::var("NN_THREAD_LIMITS_CHILD").is_err() {
        return;
    }
    assert_eq!(std::env::var("NN_NUM_THREADS").as_deref(), Ok("10000"));
    assert_eq!(nn::num_threads(), nn::max_threads());
}

#[test]
fn a_huge_nn_num_threads_is_clamped() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_reads_a_huge_thread_count_from_the_environment",
            "--exact",
            "--nocapture",
        ])
        .env("NN_THREAD_LIMITS_CHILD", "1")
        .env("NN_NUM_THREADS", "10000")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}
