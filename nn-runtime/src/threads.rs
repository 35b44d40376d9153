//! How many threads the kernels use.
//!
//! The count comes from `nn::set_num_threads(n)`, else from the `NN_NUM_THREADS` or
//! `RAYON_NUM_THREADS` environment variable, else from the number of cores.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The chosen thread count; 0 until it is first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the number of threads the kernels use (at least 1), overriding the environment.
///
/// ```
/// nn::set_num_threads(1);
/// assert_eq!(nn::num_threads(), 1);
/// ```
pub fn set_num_threads(threads: usize) {
    THREADS.store(threads.max(1), Ordering::SeqCst);
}

/// The number of threads the kernels use.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let threads = from_env().unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            THREADS.store(threads, Ordering::SeqCst);
            threads
        }
        threads => threads,
    }
}

fn from_env() -> Option<usize> {
    ["NN_NUM_THREADS", "RAYON_NUM_THREADS"].iter().find_map(|name| {
        std::env::var(name)
            .ok()?
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
    })
}
