//! The threads the kernels use: how many, and a small pool that runs the parts of a product.
//!
//! The count comes from `nn::set_num_threads(n)`, else from the `NN_NUM_THREADS` or
//! `RAYON_NUM_THREADS` environment variable, else from the number of cores. Whatever its
//! source, it is clamped to `1..=max_threads()`, the cores this process may use
//! (`std::thread::available_parallelism`, which counts CPU quotas and affinity): the workers
//! spin while they wait, so a thread without a core of its own only takes time from the others
//! (with 1000 threads on 2 cores a training step took 0.5 s instead of 0.4 ms). Results do not
//! depend on the count, so clamping it changes nothing but the speed.
//!
//! The pool is ours rather than rayon's because a training step must not allocate: rayon's
//! global injector queue allocates a block every few dozen jobs, and its sleeping workers take
//! tens of microseconds to wake, as long as a whole product at batch 64. Here the workers are
//! spawned once, spin for a short while after each job (a step launches about ten products in
//! a row) and then park; launching a job stores a few words and touches no allocator.
//!
//! A product is cut into a few parts per thread, and the launching thread and the workers
//! claim parts from a shared counter: a worker that the OS has not scheduled yet (a busy
//! machine) delays nothing, the launcher takes its parts.
//!
//! Starting the workers allocates, so it is done by `set_num_threads` or by the first batched
//! product that needs them; a single-sample forward, which never allocates, uses only workers
//! already running ([`Pool::Running`]).
//!
//! Only one product runs on the pool at a time. A product launched while the pool is busy
//! (another thread training, or a product inside a product) runs on its caller's thread alone;
//! since every value is computed the same way whatever the split, the result is the same.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// The chosen thread count; 0 until it is first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Worker threads started so far (they are never stopped).
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Sets the number of threads the kernels use, overriding the environment, and starts the
/// worker threads now. The count is clamped to `1..=`[`max_threads`]: 0 means 1, and more
/// threads than cores would only slow training down.
///
/// Batched passes start the workers themselves when they first need them, but a single-sample
/// `forward` never allocates, so it splits its work only across workers already running:
/// call this before serving single samples to have them use more than one thread.
///
/// ```
/// nn::set_num_threads(1);
/// assert_eq!(nn::num_threads(), 1);
/// nn::set_num_threads(10_000);
/// assert_eq!(nn::num_threads(), nn::max_threads());
/// ```
pub fn set_num_threads(threads: usize) {
    let threads = clamp(threads);
    THREADS.store(threads, Ordering::SeqCst);
    let mut workers = WORKERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    start_workers(&mut workers, threads);
}

/// The number of threads the kernels use (from 1 to [`max_threads`]).
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let threads = clamp(from_env().unwrap_or_else(max_threads));
            THREADS.store(threads, Ordering::SeqCst);
            threads
        }
        threads => threads,
    }
}

/// The most threads the kernels use: the cores this process may run on
/// (`std::thread::available_parallelism`, 1 if it is unknown). Read once.
///
/// ```
/// assert!(nn::max_threads() >= 1);
/// ```
pub fn max_threads() -> usize {
    static MAX: AtomicUsize = AtomicUsize::new(0);
    match MAX.load(Ordering::Relaxed) {
        0 => {
            let max = std::thread::available_parallelism().map_or(1, |n| n.get());
            MAX.store(max, Ordering::Relaxed);
            max
        }
        max => max,
    }
}

/// `threads` within `1..=max_threads()`.
fn clamp(threads: usize) -> usize {
    threads.clamp(1, max_threads())
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

/// Parts per thread a product is cut into, so that a late thread's share is taken by the others.
const PARTS_PER_THREAD: usize = 3;

/// The most parts of one launch: [`Shared::claim`] counts the parts taken from each end in 16
/// bits. With at most [`max_threads`] threads a launch has far fewer; the bound holds whatever
/// the machine.
const MAX_PARTS: usize = 0xFFFF;

/// Which threads a product may use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    /// [`num_threads`], starting the workers if they are not running yet (which allocates).
    Start,
    /// Only workers already running, so that the product never allocates.
    Running,
}

/// Calls `task(first, rows)` on consecutive parts of `rows` that together cover it, in parallel
/// when the work (`rows.len() * work_per_row`) reaches `min_work`; parts start at multiples of
/// `align` rows.
pub(crate) fn split_rows<T: Send>(
    rows: &mut [T],
    align: usize,
    work_per_row: usize,
    min_work: usize,
    task: impl Fn(usize, &mut [T]) + Sync,
) {
    split_rows_on(Pool::Start, rows, align, work_per_row, min_work, task)
}

/// [`split_rows`] on the threads `pool` allows.
pub(crate) fn split_rows_on<T: Send>(
    pool: Pool,
    rows: &mut [T],
    align: usize,
    work_per_row: usize,
    min_work: usize,
    task: impl Fn(usize, &mut [T]) + Sync,
) {
    let rows = SendPtr(rows.as_mut_ptr(), rows.len());
    for_each_part(pool, rows.1, align, work_per_row, min_work, &|first, end| {
        #[allow(unsafe_code)]
        // SAFETY: `for_each_part` hands out disjoint ranges inside `0..len`, and `rows` is
        // borrowed mutably until it returns, after every part has finished.
        task(first, unsafe { rows.part(first, end) });
    });
}

/// [`split_rows`] over `rows` and `extra`, which holds `extra_per_row` values for each row (a
/// layer's outputs and what it records about them): `task(first, rows_part, extra_part)`.
pub(crate) fn split_rows_with<T: Send, E: Send>(
    rows: &mut [T],
    extra: &mut [E],
    extra_per_row: usize,
    work_per_row: usize,
    min_work: usize,
    task: impl Fn(usize, &mut [T], &mut [E]) + Sync,
) {
    assert_eq!(
        extra.len(),
        rows.len() * extra_per_row,
        "split_rows_with: `extra` has the wrong length"
    );
    let rows = SendPtr(rows.as_mut_ptr(), rows.len());
    let extra = SendPtr(extra.as_mut_ptr(), extra.len());
    for_each_part(Pool::Start, rows.1, 1, work_per_row, min_work, &|first, end| {
        #[allow(unsafe_code)]
        // SAFETY: as in `split_rows`; the parts of `extra` are those of `rows` scaled by
        // `extra_per_row`, so they are disjoint and inside `extra` too.
        let (rows, extra) = unsafe {
            (
                rows.part(first, end),
                extra.part(first * extra_per_row, end * extra_per_row),
            )
        };
        task(first, rows, extra);
    });
}

/// Calls `task(first, end)` for consecutive disjoint ranges covering `0..len`, on the pool when
/// `len * work_per_row` reaches `min_work`; ranges start at multiples of `align`.
fn for_each_part(
    pool: Pool,
    len: usize,
    align: usize,
    work_per_row: usize,
    min_work: usize,
    task: &(dyn Fn(usize, usize) + Sync),
) {
    // The work test comes first: small products never read the thread count (whose first
    // reading allocates).
    if len.saturating_mul(work_per_row) < min_work {
        return task(0, len);
    }
    let threads = match pool {
        Pool::Start => num_threads(),
        Pool::Running => THREADS.load(Ordering::Relaxed).min(STARTED.load(Ordering::Relaxed) + 1),
    };
    if threads <= 1 {
        return task(0, len);
    }
    let parts = (threads * PARTS_PER_THREAD).min(len.div_ceil(align)).min(MAX_PARTS);
    if parts <= 1 {
        return task(0, len);
    }
    let chunk = len.div_ceil(parts).div_ceil(align) * align;
    let parts = len.div_ceil(chunk);
    run(threads, parts, &|part| {
        let first = part * chunk;
        task(first, (first + chunk).min(len));
    });
}

/// A slice (start and length) that may cross threads: the parts it gives out are disjoint.
struct SendPtr<T>(*mut T, usize);
#[allow(unsafe_code)]
// SAFETY: used only by the `split_rows` functions, which hand each thread a disjoint part.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// Values `first..end` of the slice.
    ///
    /// # Safety
    /// `first <= end <= len`, the slice is still mutably borrowed, and no other live part
    /// overlaps this one.
    #[allow(unsafe_code)]
    unsafe fn part<'a>(&self, first: usize, end: usize) -> &'a mut [T] {
        debug_assert!(first <= end && end <= self.1);
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(first), end - first) }
    }
}

/// What the launching thread and the workers share. One job at a time (the `WORKERS` lock).
struct Shared {
    /// `launch << 32 | front << 16 | back`: parts taken from the front and from the back of
    /// the current launch; a thread claims one by incrementing its count, only while the launch
    /// is the one it saw and `front + back < parts`.
    claim: AtomicU64,
    /// Parts of the current launch.
    parts: AtomicUsize,
    /// The current task (on the launcher's stack); read only after a successful claim.
    task: AtomicPtr<&'static (dyn Fn(usize) + Sync)>,
    /// Workers between their first claim attempt of a launch and their last.
    running: AtomicUsize,
    /// Set when a part panicked on a worker.
    panicked: AtomicBool,
}

static SHARED: Shared = Shared {
    claim: AtomicU64::new(0),
    parts: AtomicUsize::new(0),
    task: AtomicPtr::new(std::ptr::null_mut()),
    running: AtomicUsize::new(0),
    panicked: AtomicBool::new(false),
};

struct Worker {
    thread: Thread,
    sleeping: Arc<AtomicBool>,
}

/// How long a thread spins waiting (for the next job, or for the last part) before it parks or
/// yields.
const SPIN: Duration = Duration::from_micros(200);

/// The workers; holding the lock is the right to launch.
static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// Runs `task(part)` for every part in `0..parts` on the calling thread and up to
/// `threads - 1` workers; returns when all have finished (and panics if one did).
fn run(threads: usize, parts: usize, task: &(dyn Fn(usize) + Sync)) {
    let mut workers = match WORKERS.try_lock() {
        Ok(workers) => workers,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => {
            (0..parts).for_each(task);
            return;
        }
    };
    start_workers(&mut workers, threads);
    let shared = &SHARED;
    let launch = (shared.claim.load(Ordering::SeqCst) >> 32).wrapping_add(1) & 0xFFFF_FFFF;
    shared.panicked.store(false, Ordering::SeqCst);
    shared.parts.store(parts, Ordering::SeqCst);
    // The task's lifetime is erased for the workers; `Wait` below keeps it alive until no
    // worker can use it, even if a part on this thread panics.
    let task_ref: &(dyn Fn(usize) + Sync) = task;
    #[allow(unsafe_code)]
    // SAFETY: only the lifetime changes; see above.
    let task_static: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(task_ref) };
    shared.task.store(
        (&task_static as *const &'static (dyn Fn(usize) + Sync)).cast_mut(),
        Ordering::SeqCst,
    );
    shared.claim.store(launch << 32, Ordering::SeqCst);
    for worker in workers.iter().take(threads - 1) {
        if worker.sleeping.load(Ordering::SeqCst) {
            worker.thread.unpark();
        }
    }
    {
        let _wait = Wait(shared, launch);
        while let Some(part) = claim(shared, launch, false) {
            task(part);
        }
    }
    drop(workers);
    if shared.panicked.load(Ordering::SeqCst) {
        panic!("a kernel thread panicked");
    }
}

/// The next part of launch `launch`, if any is left: the launcher takes parts from the front,
/// the workers from the back. When the threads keep pace, the launcher gets the first parts of
/// every product and a worker the last ones, so the rows a thread writes in one product (a
/// weight gradient, an optimizer step) are the rows it reads in the next and stay in its own
/// cache; a late thread's parts are still taken by the others.
fn claim(shared: &Shared, launch: u64, from_back: bool) -> Option<usize> {
    let mut current = shared.claim.load(Ordering::SeqCst);
    loop {
        let (front, back) = ((current >> 16) as usize & 0xFFFF, current as usize & 0xFFFF);
        let parts = shared.parts.load(Ordering::SeqCst);
        if current >> 32 != launch || front + back >= parts {
            return None;
        }
        let (next, part) = if from_back {
            (current + 1, parts - 1 - back)
        } else {
            (current + (1 << 16), front)
        };
        match shared
            .claim
            .compare_exchange_weak(current, next, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => return Some(part),
            Err(actual) => current = actual,
        }
    }
}

/// When dropped: closes the launch (no part can be claimed any more) and waits until no
/// worker is still running one.
struct Wait(&'static Shared, u64);

impl Drop for Wait {
    fn drop(&mut self) {
        let (shared, launch) = (self.0, self.1);
        shared.claim.store(launch << 32 | 0xFFFF_FFFF, Ordering::SeqCst);
        let start = Instant::now();
        let mut spins = 0u32;
        while shared.running.load(Ordering::SeqCst) != 0 {
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || start.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Starts workers until there are `threads - 1` (fewer if the OS refuses a thread).
fn start_workers(workers: &mut Vec<Worker>, threads: usize) {
    while workers.len() + 1 < threads {
        match spawn_worker(workers.len() + 1) {
            Some(worker) => workers.push(worker),
            None => break,
        }
    }
    STARTED.store(workers.len(), Ordering::SeqCst);
}

fn spawn_worker(index: usize) -> Option<Worker> {
    let sleeping = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&sleeping);
    let seen = SHARED.claim.load(Ordering::SeqCst) >> 32;
    let handle = std::thread::Builder::new()
        .name(format!("nn-kernel-{index}"))
        .spawn(move || worker_loop(seen, &flag))
        .ok()?;
    Some(Worker {
        thread: handle.thread().clone(),
        sleeping,
    })
}

fn worker_loop(mut seen: u64, sleeping: &AtomicBool) {
    let shared = &SHARED;
    loop {
        // Wait for the next launch: spin a little, then park.
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let launch = shared.claim.load(Ordering::SeqCst) >> 32;
            if launch != seen {
                seen = launch;
                break;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || start.elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            sleeping.store(true, Ordering::SeqCst);
            if shared.claim.load(Ordering::SeqCst) >> 32 == seen {
                std::thread::park();
            }
            sleeping.store(false, Ordering::SeqCst);
        }
        shared.running.fetch_add(1, Ordering::SeqCst);
        while let Some(part) = claim(shared, seen, true) {
            #[allow(unsafe_code)]
            // SAFETY: a part was claimed, so the launch is open: its launcher is still inside
            // `run` (it waits for `running` to drop to zero) and the task is alive.
            let task = unsafe { *shared.task.load(Ordering::SeqCst) };
            if catch_unwind(AssertUnwindSafe(|| task(part))).is_err() {
                shared.panicked.store(true, Ordering::SeqCst);
            }
        }
        shared.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part runs exactly once, whichever end the threads claim it from.
    #[test]
    fn every_part_runs_once() {
        for threads in 1..=4 {
            for parts in [1, 2, 3, 7, 12] {
                let runs: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
                run(threads, parts, &|part| {
                    runs[part].fetch_add(1, Ordering::SeqCst);
                });
                let runs: Vec<usize> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
                assert_eq!(runs, vec![1; parts], "{threads} threads, {parts} parts");
            }
        }
    }
}
