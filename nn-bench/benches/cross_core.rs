//! How fast two threads pass data to each other on this machine, next to one thread alone:
//! the round trip of one cache line, and a 1 MB buffer read and rewritten by each thread in turn.
//! On a VM whose vCPUs the host sometimes places far apart, these figures (and with them every
//! multi-threaded training step) change from run to run; the speed benchmark's tables are read
//! against them (docs/decisions.md, "Sums over a batch by fixed groups of rows").
//!
//! `cargo bench -p nn-bench --bench cross_core` prints one JSON line.

use std::cell::UnsafeCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Floats in the buffer the threads pass (1 MB).
const VALUES: usize = 256 * 1024;

/// A buffer that the two threads use in turn, never at once (the turn counter orders them).
struct Shared(UnsafeCell<Vec<f32>>);
// SAFETY: the threads touch the buffer only on their own turns, handed over with Release/Acquire.
#[allow(unsafe_code)]
unsafe impl Sync for Shared {}

/// Reads and rewrites every value of the buffer; returns their sum (so the reads stay).
fn pass(buffer: &Shared) -> f32 {
    #[allow(unsafe_code)]
    // SAFETY: called only by the thread whose turn it is.
    let values = unsafe { &mut *buffer.0.get() };
    let mut lanes = [0.0f32; 16];
    for chunk in values.chunks_exact_mut(16) {
        for (lane, value) in lanes.iter_mut().zip(chunk) {
            *lane += *value;
            *value += 1.0;
        }
    }
    lanes.iter().sum()
}

/// Runs `rounds` turns on each of two threads; `work` runs on every turn. Returns the seconds.
fn alternate(rounds: usize, work: &(dyn Fn() + Sync)) -> f64 {
    let turn = AtomicUsize::new(0);
    let take_turns = |parity: usize| {
        for round in 0..rounds {
            while turn.load(Ordering::Acquire) != 2 * round + parity {
                std::hint::spin_loop();
            }
            work();
            turn.store(2 * round + parity + 1, Ordering::Release);
        }
    };
    let start = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| take_turns(1));
        take_turns(0);
    });
    start.elapsed().as_secs_f64()
}

fn main() {
    let rounds = 200_000;
    let round_trip_ns = alternate(rounds, &|| {}) / rounds as f64 * 1e9;
    let buffer = Shared(UnsafeCell::new(vec![0.0; VALUES]));
    let passes = 2_000;
    let bytes = (2 * passes * VALUES * 4) as f64;
    let alternating = bytes
        / alternate(passes, &|| {
            black_box(pass(&buffer));
        })
        / 1e9;
    let start = Instant::now();
    for _ in 0..2 * passes {
        black_box(pass(&buffer));
    }
    let one_core = bytes / start.elapsed().as_secs_f64() / 1e9;
    println!(
        "{{\"round_trip_ns\": {round_trip_ns:.0}, \"alternating_gb_s\": {alternating:.1}, \"one_core_gb_s\": {one_core:.1}}}"
    );
}
