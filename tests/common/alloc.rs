//! A global allocator that counts the calling thread's allocations, for the tests proving
//! that training steps after the first allocate nothing. Install it in a test binary with
//! `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread (test threads run side by side).
pub struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// const-initialised thread-local, which itself never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// How many allocations the current thread makes while running `f` (with [`CountingAllocator`]
/// installed as the global allocator).
pub fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Trains `net` on `inputs` (at least 10) with SGD and momentum and asserts that the first step
/// allocates (so the counter works) and that neither later steps nor a smaller last batch do.
pub fn assert_steps_after_the_first_do_not_allocate<N, I>(net: &mut N, inputs: &[I], labels: &[usize], name: &str)
where
    I: nn::Tensor,
    N: nn::Layer<I>,
    nn::loss::CrossEntropy: nn::loss::Loss<N::Output, Target = usize>,
{
    use nn::loss::CrossEntropy;
    let mut opt = nn::optim::Sgd::new(0.01).momentum(0.9);
    let mut workspace = nn::train::Workspace::<N, I, usize>::new();
    let first = allocations_during(|| {
        workspace.train_step(net, &CrossEntropy, &mut opt, inputs, labels);
    });
    assert!(
        first > 0,
        "{name}: the first step sizes the buffers (so the counter works)"
    );
    let later = allocations_during(|| {
        for _ in 0..3 {
            workspace.train_step(net, &CrossEntropy, &mut opt, inputs, labels);
        }
    });
    assert_eq!(later, 0, "{name}: steps after the first allocated {later} times");
    // A smaller last batch of an epoch reuses the same buffers.
    let smaller = allocations_during(|| {
        workspace.train_step(net, &CrossEntropy, &mut opt, &inputs[..10], &labels[..10]);
    });
    assert_eq!(smaller, 0, "{name}: a smaller last batch allocated {smaller} times");
}
