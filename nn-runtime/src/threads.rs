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
//! On a busy machine that is not enough (issue 19): a worker preempted while it holds a part
//! makes the launcher wait for the OS to run it again, a whole time slice, and a worker the OS
//! puts on the launcher's core takes the launcher's time while it spins. So a spinning thread
//! yields its core every microsecond or two (a no-op on a core of its own, the core back
//! to the launcher on a shared one), a launcher that has waited long sleeps in short naps (its
//! core goes idle, and the OS may move the late worker there), and the launcher measures
//! whether its workers help at all ([`Adapt`]): blocks of launches with them and without them
//! are timed, and the faster way is kept. Since every value is computed the same way whatever
//! the split, that choice changes only the speed.
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
    let mut crew = CREW.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    start_workers(&mut crew.workers, threads);
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

/// Calls `task(first, end)` on consecutive ranges that together cover `0..len`, in parallel
/// when the work (`len * work_per_index`) reaches `min_work`; ranges start at multiples of
/// `align`. For work whose parts are not slices of one array (columns of a matrix).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn split_range(
    len: usize,
    align: usize,
    work_per_index: usize,
    min_work: usize,
    task: impl Fn(usize, usize) + Sync,
) {
    for_each_part(Pool::Start, len, align, work_per_index, min_work, &task);
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
    split_row_groups(rows, 1, extra, extra_per_row, work_per_row, min_work, task)
}

/// [`split_rows`] in whole groups of `group` rows (the last may be shorter), each part also
/// given the values of `extra` that belong to its groups, `extra_per_group` a group (sums over
/// each group's rows, added up in group order afterwards, which makes a sum over every row
/// that does not depend on the split): `task(first_row, rows_part, extra_part)`.
pub(crate) fn split_row_groups<T: Send, E: Send>(
    rows: &mut [T],
    group: usize,
    extra: &mut [E],
    extra_per_group: usize,
    work_per_row: usize,
    min_work: usize,
    task: impl Fn(usize, &mut [T], &mut [E]) + Sync,
) {
    assert!(group > 0, "split_row_groups: empty groups");
    assert_eq!(
        extra.len(),
        rows.len().div_ceil(group) * extra_per_group,
        "split_row_groups: `extra` has the wrong length"
    );
    let rows = SendPtr(rows.as_mut_ptr(), rows.len());
    let extra = SendPtr(extra.as_mut_ptr(), extra.len());
    for_each_part(Pool::Start, rows.1, group, work_per_row, min_work, &|first, end| {
        #[allow(unsafe_code)]
        // SAFETY: as in `split_rows`; parts start at multiples of `group`, so they hold
        // disjoint groups, and their parts of `extra` are disjoint and inside `extra` too.
        let (rows, extra) = unsafe {
            (
                rows.part(first, end),
                extra.part(first / group * extra_per_group, end.div_ceil(group) * extra_per_group),
            )
        };
        task(first, rows, extra);
    });
}

/// [`split_rows`] over `K` slices of one length, cut at the same rows (a parameter and the
/// optimizer's buffers for it): `task(first, parts)`, one value per row; parts start at
/// multiples of `align`.
pub(crate) fn split_slices<T: Send, const K: usize>(
    slices: [&mut [T]; K],
    align: usize,
    work_per_row: usize,
    min_work: usize,
    task: impl Fn(usize, [&mut [T]; K]) + Sync,
) {
    let len = slices.first().map_or(0, |slice| slice.len());
    assert!(
        slices.iter().all(|slice| slice.len() == len),
        "split_slices: the slices have different lengths"
    );
    let slices = slices.map(|slice| SendPtr(slice.as_mut_ptr(), slice.len()));
    for_each_part(Pool::Start, len, align, work_per_row, min_work, &|first, end| {
        #[allow(unsafe_code)]
        // SAFETY: as in `split_rows`, for each slice: the ranges are disjoint and inside
        // `0..len`, and every slice has that length.
        let parts = std::array::from_fn(|k| unsafe { slices[k].part(first, end) });
        task(first, parts);
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
    let launch = Launch {
        kind: (len as u64) << 32 ^ work_per_row as u64,
        work: len.saturating_mul(work_per_row) as u64,
        single_sample: pool == Pool::Running,
    };
    run(threads, parts, launch, &|first_part, end_part| {
        task(
            part_start(first_part, parts, len, align),
            part_start(end_part, parts, len, align),
        );
    });
}

/// The first row of part `part` of `parts` over `len` rows cut at multiples of `align` (`len`
/// for `part == parts`): part `p` holds blocks `p * blocks / parts..(p + 1) * blocks / parts`
/// of `align` rows, so sizes differ by one block at most, and the threads that claim them
/// finish together. (Equal parts rounded up to whole blocks leave the last one short: 128 rows
/// in blocks of 4 cut in 6 as 24, 24, 24, 24, 24, 8 give one thread 72 rows and the other 56.)
fn part_start(part: usize, parts: usize, len: usize, align: usize) -> usize {
    let blocks = len.div_ceil(align);
    (part * blocks / parts * align).min(len)
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

/// What the launching thread and the workers share. One job at a time (the `CREW` lock).
struct Shared {
    /// `launch << 32 | front << 16 | back`: parts taken from the front and from the back of
    /// the current launch; a thread claims one by incrementing its count, only while the launch
    /// is the one it saw and `front + back < parts`.
    claim: AtomicU64,
    /// Parts of the current launch.
    parts: AtomicUsize,
    /// The current task (on the launcher's stack); read only after a successful claim.
    task: AtomicPtr<&'static Task<'static>>,
    /// Workers between their first claim attempt of a launch and their last.
    running: AtomicUsize,
    /// Set when a part panicked on a worker.
    panicked: AtomicBool,
}

/// `task(first_part, end_part)` runs parts `first_part..end_part` of a launch.
type Task<'a> = dyn Fn(usize, usize) + Sync + 'a;

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
/// naps.
const SPIN: Duration = Duration::from_micros(200);

/// Spins between two `yield_now` calls of a waiting thread (a microsecond or two): a
/// waiting thread that shares its core with a thread of ours that has work gives the core back
/// at once, and one with a core of its own loses only the system call.
const SPINS_PER_YIELD: u32 = 64;

/// The nap of a launcher that waited [`SPIN`] for a late worker: its core goes idle, so the OS
/// may run the worker there.
const NAP: Duration = Duration::from_micros(50);

/// The workers and what the launcher has learnt about them; holding the lock is the right to
/// launch.
struct Crew {
    workers: Vec<Worker>,
    adapt: Adapt,
}

static CREW: Mutex<Crew> = Mutex::new(Crew {
    workers: Vec::new(),
    adapt: Adapt::new(),
});

/// Runs `task` over every part in `0..parts`, on the calling thread and up to `threads - 1`
/// workers when [`Adapt`] finds that they help, else as one call on the calling thread;
/// returns when all have finished (and panics if one did).
fn run(threads: usize, parts: usize, launch: Launch, task: &Task<'_>) {
    if launch.single_sample && BLOCK_SERIAL.load(Ordering::Relaxed) {
        match single_sample_turn() {
            Turn::Untimed => return task(0, parts),
            Turn::EndTimed => {
                task(0, parts);
                SINGLE_SAMPLE_END.set(Some(Instant::now()));
                return;
            }
            Turn::Timed => {}
        }
    }
    let mut crew = match CREW.try_lock() {
        Ok(crew) => crew,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return task(0, parts),
    };
    crew.run(threads, parts, launch, task);
}

/// Whether the block [`Adapt`] is measuring runs on the launcher alone.
static BLOCK_SERIAL: AtomicBool = AtomicBool::new(false);

/// Single-sample launches in a serial block for each one that is timed (see
/// [`single_sample_turn`]).
const UNTIMED_PER_TIMED: u32 = 16;

thread_local! {
    /// Single-sample launches this thread ran in serial blocks since its last timed one.
    static UNTIMED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// When this thread's last single-sample launch ended, if the clock was read then: the
    /// start of the gap before the next one.
    static SINGLE_SAMPLE_END: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// What a single-sample launch in a serial block does about [`Adapt`].
enum Turn {
    /// Runs directly, without the lock or the clock.
    Untimed,
    /// Runs directly and reads the clock at its end, for the gap before the next launch.
    EndTimed,
    /// Goes through [`Adapt`], timed with the gap before it.
    Timed,
}

/// A single-sample product takes a few microseconds, so taking the pool's lock and reading the
/// clock twice would make it a few percent slower than with one thread: in a serial block,
/// most run directly, one in [`UNTIMED_PER_TIMED`] is timed with the gap before it (enough to
/// fill the block and to probe the workers now and then). The gap counts: a sample's work
/// between its products (the small layers, the activations) is where a split across threads
/// shows its cost, the outputs the other core wrote.
fn single_sample_turn() -> Turn {
    UNTIMED.with(|untimed| {
        let count = untimed.get() + 1;
        untimed.set(if count >= UNTIMED_PER_TIMED { 0 } else { count });
        match UNTIMED_PER_TIMED - count.min(UNTIMED_PER_TIMED) {
            0 => Turn::Timed,
            1 => Turn::EndTimed,
            _ => Turn::Untimed,
        }
    })
}

/// What [`Adapt`] knows of a launch.
#[derive(Clone, Copy, Debug)]
struct Launch {
    /// Which product it is (rows and work per row): the same for the same layer's product in
    /// every step.
    kind: u64,
    /// Its size in the units [`Adapt`] compares (multiply-adds or values).
    work: u64,
    /// A single sample's product ([`Pool::Running`]): in a serial block most of them run
    /// untimed, so the gap before it is counted only from a launch that read the clock.
    single_sample: bool,
}

impl Crew {
    /// [`run`] with the lock held.
    fn run(&mut self, threads: usize, parts: usize, launch: Launch, task: &Task<'_>) {
        let start = Instant::now();
        // A timed single-sample launch in a serial block stands for the untimed ones around
        // it: counting it (and the gap before it) that many times fills the block in the same
        // wall time as a block with the workers, where every launch is timed; the rate is the
        // same.
        let weight = |parallel: bool| {
            if launch.single_sample && !parallel {
                UNTIMED_PER_TIMED
            } else {
                1
            }
        };
        if launch.single_sample {
            self.adapt.last_end = SINGLE_SAMPLE_END.take();
        }
        let gap_weight = weight(self.adapt.block_parallel);
        let parallel = self.adapt.begin(launch.kind, start, gap_weight);
        BLOCK_SERIAL.store(!parallel, Ordering::Relaxed);
        if parallel {
            start_workers(&mut self.workers, threads);
            run_parts(&self.workers, threads, parts, task);
        } else {
            task(0, parts);
        }
        let end = Instant::now();
        let weight = weight(parallel);
        self.adapt
            .finish((end - start) * weight, launch.work * u64::from(weight), end);
        if launch.single_sample {
            SINGLE_SAMPLE_END.set(Some(end));
        }
    }
}

/// Runs the parts on the calling thread and the first `threads - 1` of `workers`.
fn run_parts(workers: &[Worker], threads: usize, parts: usize, task: &Task<'_>) {
    let shared = &SHARED;
    let launch = (shared.claim.load(Ordering::SeqCst) >> 32).wrapping_add(1) & 0xFFFF_FFFF;
    shared.panicked.store(false, Ordering::SeqCst);
    shared.parts.store(parts, Ordering::SeqCst);
    // The task's lifetime is erased for the workers; `Wait` below keeps it alive until no
    // worker can use it, even if a part on this thread panics.
    #[allow(unsafe_code)]
    // SAFETY: only the lifetime changes; see above.
    let task_static: &'static Task<'static> = unsafe { std::mem::transmute::<&Task<'_>, &'static Task<'static>>(task) };
    shared.task.store(
        (&task_static as *const &'static Task<'static>).cast_mut(),
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
            task(part, part + 1);
        }
    }
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
    claim_from_ends(&shared.claim, 16, from_back, |current| {
        (current >> 32 == launch).then(|| shared.parts.load(Ordering::SeqCst))
    })
}

/// Claims an index of a list from its front or its back, on a counter that packs the number
/// taken from the front in the `bits` bits above the number taken from the back (any higher bits
/// are left as they are): the front takes `0, 1, ..`, the back `len - 1, len - 2, ..`, and no
/// index is taken twice. `len(counter)` gives the list's length, or `None` when the counter no
/// longer belongs to the list the caller saw.
pub(crate) fn claim_from_ends(
    counter: &AtomicU64,
    bits: u32,
    from_back: bool,
    len: impl Fn(u64) -> Option<usize>,
) -> Option<usize> {
    let mask = (1u64 << bits) - 1;
    let mut current = counter.load(Ordering::SeqCst);
    loop {
        let (front, back) = ((current >> bits & mask) as usize, (current & mask) as usize);
        let len = len(current)?;
        if front + back >= len {
            return None;
        }
        let (next, index) = if from_back {
            (current + 1, len - 1 - back)
        } else {
            (current + (1 << bits), front)
        };
        match counter.compare_exchange_weak(current, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return Some(index),
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
            if crate::prefetch::fetch_one(false) {
                continue;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(SPINS_PER_YIELD) {
                std::hint::spin_loop();
            } else if start.elapsed() < SPIN {
                std::thread::yield_now();
            } else {
                std::thread::sleep(NAP);
            }
        }
    }
}

/// Launch time over which one way of running (with the workers, or on the launcher alone) is
/// measured: long enough to span several of the OS's time slices, so that a block sees a busy
/// core's share as it is on average, short enough that a probe of the slower way costs little.
/// A block then runs on to the next launch of the kind it began with, so that it holds whole
/// training steps: products differ in time per unit of work (a weight update against a
/// product), and a block cut in the middle of a step would measure the mix, not the way.
const BLOCK: Duration = Duration::from_millis(5);

/// A block whose first kind of launch does not come back ends here anyway.
const MAX_BLOCK: Duration = Duration::from_millis(100);

/// The most of a gap between two launches that counts towards a block: gaps hold the caller's
/// own work between products (which a worker spinning on the launcher's core slows down), but
/// a long one is the caller doing something else (an evaluation, a file), the same either way.
const GAP_CAP: Duration = Duration::from_millis(1);

/// Blocks of the chosen way between two probes of the other: the fewest (after a switch) and
/// the most (after many probes that confirmed the choice; a probe then costs under 1% of the
/// time, and a change of load is noticed within a third of a second).
const MIN_INTERVAL: u32 = 2;
const MAX_INTERVAL: u32 = 64;

/// How much faster a probe must be than the chosen way to replace it, so that noise between
/// two equal ways does not flip the choice back and forth.
const MARGIN: f64 = 0.03;

/// A probe that has run [`PROBE_MIN`] and is [`PROBE_GIVE_UP`] slower than the chosen way ends
/// at the next start of a step instead of filling its block: it cannot win any more, and on a
/// free machine, where the launcher alone runs at two thirds of the workers' speed, a whole
/// block of it is time lost. It still ends on a step's start, so the rate it gives is a whole
/// step's; a probe ended by one unlucky step is tried again at the next interval.
const PROBE_MIN: Duration = Duration::from_millis(1);
/// See [`PROBE_MIN`].
const PROBE_GIVE_UP: f64 = 0.25;

/// Decides whether launches use the workers. Results are the same either way, so the choice
/// is free to follow speed alone: the launcher times blocks of launches (the time of the
/// launches and of the gaps between them, per unit of work) with the way it chose, probes the
/// other way for one block now and then, and switches when the probe was faster. The first
/// block is not counted: it holds the start (workers spawned, buffers grown, caches cold).
///
/// This is what keeps a second thread from making training slower on a busy machine: a worker
/// that shares its core with another program is preempted for whole time slices, and when
/// that happens while it holds a part, the launcher waits for it (milliseconds, a whole step
/// many times over); a worker that the OS puts on the launcher's core takes its time. Neither
/// shows in a single launch, and both show in a block's time.
#[derive(Debug)]
struct Adapt {
    /// Whether the chosen way uses the workers.
    chosen_parallel: bool,
    /// Whether the block being measured uses them (the other way while probing).
    block_parallel: bool,
    /// The kind of launch the block began with; `None` before its first launch.
    block_kind: Option<u64>,
    /// Nanoseconds and work of the block so far.
    block_nanos: u64,
    block_work: u64,
    /// Whether a block has ended yet (the first is not counted).
    warm: bool,
    /// Nanoseconds per unit of work of the chosen way, averaged over its recent blocks; 0 when
    /// not measured yet.
    chosen_rate: f64,
    /// Blocks of the chosen way left before the next probe, and the current interval.
    blocks_until_probe: u32,
    interval: u32,
    /// When the last launch ended.
    last_end: Option<Instant>,
}

impl Adapt {
    const fn new() -> Self {
        Adapt {
            chosen_parallel: true,
            block_parallel: true,
            block_kind: None,
            block_nanos: 0,
            block_work: 0,
            warm: false,
            chosen_rate: 0.0,
            blocks_until_probe: MIN_INTERVAL,
            interval: MIN_INTERVAL,
            last_end: None,
        }
    }

    /// A launch of `kind` starts at `start`: whether it uses the workers. The gap since the
    /// last launch counts `gap_weight` times.
    fn begin(&mut self, kind: u64, start: Instant, gap_weight: u32) -> bool {
        let gap = self
            .last_end
            .map_or(Duration::ZERO, |last| start.saturating_duration_since(last));
        self.begin_after(kind, gap, gap_weight)
    }

    /// [`Adapt::begin`] for a launch `gap` after the previous one ended.
    fn begin_after(&mut self, kind: u64, gap: Duration, gap_weight: u32) -> bool {
        if self.block_kind.is_some() {
            let gap = nanos(gap.min(GAP_CAP)).saturating_mul(u64::from(gap_weight));
            self.block_nanos = self.block_nanos.saturating_add(gap);
        }
        let step_start = self.block_kind == Some(kind);
        let full = self.block_nanos >= nanos(BLOCK) && step_start;
        let lost = step_start && self.probe_is_lost();
        if full || lost || self.block_nanos >= nanos(MAX_BLOCK) {
            let rate = self.block_nanos as f64 / self.block_work.max(1) as f64;
            (self.block_kind, self.block_nanos, self.block_work) = (None, 0, 0);
            if self.warm {
                self.end_block(rate);
            }
            self.warm = true;
        }
        self.block_kind.get_or_insert(kind);
        self.block_parallel
    }

    /// Whether the block is a probe that has fallen so far behind the chosen way
    /// ([`PROBE_GIVE_UP`]) that it can end early.
    fn probe_is_lost(&self) -> bool {
        let behind = self.chosen_rate * self.block_work as f64 * (1.0 + PROBE_GIVE_UP);
        self.block_parallel != self.chosen_parallel
            && self.chosen_rate > 0.0
            && self.block_nanos >= nanos(PROBE_MIN)
            && self.block_nanos as f64 > behind
    }

    /// The launch begun last took `time` for `work` and ended at `end`.
    fn finish(&mut self, time: Duration, work: u64, end: Instant) {
        self.block_nanos = self.block_nanos.saturating_add(nanos(time));
        self.block_work = self.block_work.saturating_add(work);
        self.last_end = Some(end);
    }

    /// Takes in the rate of the block just measured and chooses the way of the next.
    fn end_block(&mut self, rate: f64) {
        if self.block_parallel == self.chosen_parallel {
            self.chosen_rate = if self.chosen_rate > 0.0 {
                0.75 * self.chosen_rate + 0.25 * rate
            } else {
                rate
            };
            self.blocks_until_probe = self.blocks_until_probe.saturating_sub(1);
            if self.blocks_until_probe == 0 {
                self.block_parallel = !self.chosen_parallel;
            }
            return;
        }
        if rate < self.chosen_rate * (1.0 - MARGIN) {
            self.chosen_parallel = self.block_parallel;
            self.chosen_rate = rate;
            self.interval = MIN_INTERVAL;
        } else {
            self.interval = (self.interval * 2).min(MAX_INTERVAL);
        }
        self.blocks_until_probe = self.interval;
        self.block_parallel = self.chosen_parallel;
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
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
            if crate::prefetch::fetch_one(true) {
                continue;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(SPINS_PER_YIELD) {
                std::hint::spin_loop();
                continue;
            }
            if start.elapsed() < SPIN {
                std::thread::yield_now();
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
            if catch_unwind(AssertUnwindSafe(|| task(part, part + 1))).is_err() {
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
                let mut crew = CREW.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                start_workers(&mut crew.workers, threads);
                run_parts(&crew.workers, threads, parts, &|first, end| {
                    for run in &runs[first..end] {
                        run.fetch_add(1, Ordering::SeqCst);
                    }
                });
                let runs: Vec<usize> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
                assert_eq!(runs, vec![1; parts], "{threads} threads, {parts} parts");
            }
        }
    }

    /// Parts cover the rows in order, start at multiples of `align`, are never empty, and
    /// differ by one block of `align` rows at most.
    #[test]
    fn parts_are_whole_blocks_of_nearly_equal_size() {
        for (len, align) in [(128usize, 4usize), (64, 6), (64, 1), (100_352, 1), (7, 3), (1000, 16)] {
            for parts in 2..=len.div_ceil(align).min(12) {
                let starts: Vec<usize> = (0..=parts).map(|p| part_start(p, parts, len, align)).collect();
                assert_eq!((starts[0], starts[parts]), (0, len));
                let sizes: Vec<usize> = starts.windows(2).map(|w| w[1] - w[0]).collect();
                assert!(
                    starts[..parts].iter().all(|s| s % align == 0),
                    "{len}/{align}: {starts:?}"
                );
                // Every part but the last is whole blocks; the last may end with a partial one.
                let blocks: Vec<usize> = sizes.iter().map(|s| s.div_ceil(align)).collect();
                let (min, max) = (blocks.iter().min().unwrap(), blocks.iter().max().unwrap());
                assert!(*min >= 1 && max - min <= 1, "{len}/{align} in {parts}: {sizes:?}");
            }
        }
        // The case that motivated it: 128 rows in blocks of 4, 6 parts, 3 for each thread.
        let sizes: Vec<usize> = (0..6)
            .map(|p| part_start(p + 1, 6, 128, 4) - part_start(p, 6, 128, 4))
            .collect();
        assert_eq!(sizes, [20, 20, 24, 20, 20, 24]);
    }

    /// A launcher whose worker holds a part for longer than [`SPIN`] naps until it is done,
    /// and never returns before (the part's rows would still be written).
    #[test]
    fn a_late_worker_is_waited_for() {
        let mut crew = CREW.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        start_workers(&mut crew.workers, 2);
        for _ in 0..3 {
            let done: Vec<AtomicBool> = (0..4).map(|_| AtomicBool::new(false)).collect();
            run_parts(&crew.workers, 2, 4, &|first, end| {
                std::thread::sleep(SPIN * 3);
                for flag in &done[first..end] {
                    flag.store(true, Ordering::SeqCst);
                }
            });
            assert!(done.iter().all(|flag| flag.load(Ordering::SeqCst)));
        }
    }

    /// With the workers or without, `run` covers every part once; without them, in one call.
    #[test]
    fn run_covers_every_part_either_way() {
        for parallel in [true, false, true] {
            let calls = Mutex::new(Vec::new());
            let mut crew = CREW.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            crew.adapt.block_parallel = parallel;
            let launch = Launch {
                kind: 1,
                work: 1000,
                single_sample: false,
            };
            crew.run(2, 6, launch, &|first, end| calls.lock().unwrap().push((first, end)));
            drop(crew);
            let mut calls = calls.into_inner().unwrap();
            calls.sort_unstable();
            if parallel {
                assert_eq!(calls, (0..6).map(|p| (p, p + 1)).collect::<Vec<_>>());
            } else {
                assert_eq!(calls, [(0, 6)]);
            }
        }
    }

    /// One training step of 7 kinds of launch that differ in time per unit of work (kind `k`
    /// takes `(k + 1) * 100` us for `1000 / (k + 1)^2` units on one thread), with the workers
    /// taking `parallel` times one thread's time; returns how many launches used them.
    fn step(adapt: &mut Adapt, parallel: f64) -> usize {
        let mut used = 0;
        for kind in 0..7u64 {
            let uses = adapt.begin_after(kind, Duration::from_micros(20), 1);
            let serial = Duration::from_micros(100 * (kind + 1));
            let time = if uses { serial.mul_f64(parallel) } else { serial };
            adapt.finish(time, 1000 / (kind + 1).pow(2), Instant::now());
            used += usize::from(uses);
        }
        used
    }

    /// Share of the launches of `steps` steps that used the workers.
    fn parallel_share(adapt: &mut Adapt, steps: usize, parallel: f64) -> f64 {
        let used: usize = (0..steps).map(|_| step(adapt, parallel)).sum();
        used as f64 / (steps * 7) as f64
    }

    /// Steps until `adapt` chooses `parallel`, if it does within `limit`.
    fn steps_until(adapt: &mut Adapt, parallel: bool, factor: f64, limit: usize) -> Option<usize> {
        (0..limit).position(|_| {
            step(adapt, factor);
            adapt.chosen_parallel == parallel
        })
    }

    /// Steps in the longest interval between probes, and a margin.
    const PROBE_STEPS: usize = (MAX_INTERVAL as usize + 2) * 3;

    #[test]
    fn workers_that_help_are_kept_and_probed_rarely() {
        let mut adapt = Adapt::new();
        let share = parallel_share(&mut adapt, 2000, 0.6);
        assert!(adapt.chosen_parallel, "{adapt:?}");
        assert!(share > 0.97, "parallel in {share} of the launches");
    }

    #[test]
    fn workers_that_slow_the_launcher_down_are_left_alone() {
        let mut adapt = Adapt::new();
        // A busy core: two threads take 1.5 times one thread's time.
        let share = parallel_share(&mut adapt, 2000, 1.5);
        assert!(!adapt.chosen_parallel, "{adapt:?}");
        assert!(share < 0.03, "parallel in {share} of the launches");
    }

    #[test]
    fn a_change_of_load_is_followed_within_the_longest_interval() {
        let mut adapt = Adapt::new();
        parallel_share(&mut adapt, 1000, 0.6);
        assert!(adapt.chosen_parallel);
        // The other core becomes busy, then free again.
        let busy = steps_until(&mut adapt, false, 1.5, PROBE_STEPS);
        assert!(busy.is_some(), "{adapt:?}");
        parallel_share(&mut adapt, 1000, 1.5);
        let free = steps_until(&mut adapt, true, 0.6, PROBE_STEPS);
        assert!(free.is_some(), "{adapt:?}");
    }

    /// A small gain is kept steadily: blocks hold whole steps, so the mix of launches (whose
    /// time per unit of work differs 50-fold here) is the same in every block.
    #[test]
    fn blocks_hold_whole_steps_so_a_small_gain_is_kept() {
        let mut adapt = Adapt::new();
        parallel_share(&mut adapt, 10, 0.9);
        let mut flips = 0;
        let mut chosen = adapt.chosen_parallel;
        for _ in 0..2000 {
            step(&mut adapt, 0.9);
            flips += usize::from(adapt.chosen_parallel != chosen);
            chosen = adapt.chosen_parallel;
        }
        assert!(adapt.chosen_parallel && flips == 0, "{flips} flips: {adapt:?}");
    }

    /// Lengths in steps of the runs of steps that did not use the way chosen at their start.
    fn probe_lengths(adapt: &mut Adapt, steps: usize, parallel: f64) -> Vec<usize> {
        let mut lengths = Vec::new();
        let mut run = 0;
        for _ in 0..steps {
            let chosen = adapt.chosen_parallel;
            let used = step(adapt, parallel);
            let probe = if chosen { used == 0 } else { used == 7 };
            if probe {
                run += 1;
            } else if run > 0 {
                lengths.push(std::mem::take(&mut run));
            }
        }
        lengths
    }

    /// A step here takes about 2.9 ms on one thread, so a block of [`BLOCK`] holds 2 steps: a
    /// probe far behind (the launcher alone at 1 / 0.6 of the workers' time) ends after one,
    /// a probe close behind (1 / 0.9) fills its block.
    #[test]
    fn a_probe_far_behind_ends_after_one_step() {
        let mut adapt = Adapt::new();
        parallel_share(&mut adapt, 10, 0.6);
        let lengths = probe_lengths(&mut adapt, 1000, 0.6);
        assert!(lengths.len() > 5 && lengths.iter().all(|&n| n == 1), "{lengths:?}");
        let mut adapt = Adapt::new();
        parallel_share(&mut adapt, 10, 0.9);
        let lengths = probe_lengths(&mut adapt, 1000, 0.9);
        assert!(lengths.len() > 5 && lengths.iter().all(|&n| n == 2), "{lengths:?}");
    }

    #[test]
    fn noise_within_the_margin_does_not_flip_the_choice() {
        let mut adapt = Adapt::new();
        let mut flips = 0;
        let mut chosen = adapt.chosen_parallel;
        for i in 0..2000 {
            // Both ways equal, each step 1% faster or slower than the last.
            step(&mut adapt, if i % 2 == 0 { 0.99 } else { 1.01 });
            flips += usize::from(adapt.chosen_parallel != chosen);
            chosen = adapt.chosen_parallel;
        }
        assert_eq!(flips, 0, "{adapt:?}");
    }

    /// A slow start (workers spawned, caches cold) does not count against the workers.
    #[test]
    fn the_first_block_is_not_counted() {
        let mut adapt = Adapt::new();
        parallel_share(&mut adapt, 1, 5.0);
        let left = steps_until(&mut adapt, false, 0.6, 500);
        assert_eq!(left, None, "the workers were left after {left:?} steps: {adapt:?}");
    }

    /// A long pause between launches (the caller doing something else) counts as `GAP_CAP`.
    #[test]
    fn long_gaps_count_only_up_to_the_cap() {
        let mut adapt = Adapt::new();
        adapt.begin_after(1, Duration::from_secs(10), 1);
        adapt.finish(Duration::from_micros(10), 1, Instant::now());
        adapt.begin_after(2, Duration::from_secs(10), 1);
        assert_eq!(adapt.block_nanos, nanos(GAP_CAP + Duration::from_micros(10)));
    }

    #[test]
    fn a_weighted_gap_counts_that_many_times_after_the_cap() {
        let mut adapt = Adapt::new();
        adapt.begin_after(1, Duration::ZERO, 1);
        adapt.finish(Duration::from_micros(10), 1, Instant::now());
        adapt.begin_after(1, Duration::from_micros(3), UNTIMED_PER_TIMED);
        assert_eq!(adapt.block_nanos, nanos(Duration::from_micros(10 + 3 * 16)));
        adapt.begin_after(1, Duration::from_secs(1), 2);
        assert_eq!(adapt.block_nanos, nanos(Duration::from_micros(58) + GAP_CAP * 2));
    }

    #[test]
    fn one_single_sample_launch_in_sixteen_is_timed_after_one_that_reads_the_clock() {
        let turns: Vec<u8> = (0..48)
            .map(|_| match single_sample_turn() {
                Turn::Untimed => 0,
                Turn::EndTimed => 1,
                Turn::Timed => 2,
            })
            .collect();
        let mut expected = [0u8; 16];
        (expected[14], expected[15]) = (1, 2);
        assert_eq!(turns, expected.repeat(3));
    }
}
