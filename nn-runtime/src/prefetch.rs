//! The next batch's samples, fetched into the caches by kernel threads that are waiting anyway.
//!
//! A training step begins by gathering its batch: samples scattered over a data set far larger
//! than the caches, read at the speed of memory (the seed MLP: 64 samples of 3 KB from 188 MB,
//! a tenth of a step), while between the step's products a worker waits for the launcher's
//! serial work and the threads that finish a product first wait for the last. The trainer
//! announces the next batch ([`announce`]); a thread that waits issues prefetches for one
//! announced sample at a time ([`fetch_one`]), workers from the back of the batch and the
//! launcher from the front, the halves they gather. Prefetching changes no value, only where
//! the next gather finds its samples.
//!
//! Everything here is atomics in statics: a waiting thread may read an address the trainer is
//! replacing, and a prefetch of a stale address is harmless (it never faults and writes
//! nothing), so there is no lock and nothing to free.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::threads::claim_from_ends;

/// Samples of a batch that can be announced; the rest of a larger batch is not prefetched.
const MAX_SAMPLES: usize = 1024;

/// Bytes per prefetch instruction: a cache line.
const LINE: usize = 64;

/// The next batch, as the trainer announced it.
static NEXT_BATCH: Announced = Announced::new();

/// Announces the samples the next batch will read: `addresses` of `bytes` each, replacing the
/// last announcement (whatever of it was not fetched is dropped). Two trainers running at once
/// replace each other's announcements, which costs only speed.
pub(crate) fn announce(addresses: impl Iterator<Item = usize>, bytes: usize) {
    NEXT_BATCH.announce(addresses, bytes);
}

/// Prefetches one announced sample not yet claimed, from the back of the list or the front;
/// whether there was one.
pub(crate) fn fetch_one(from_back: bool) -> bool {
    let Some((address, bytes)) = NEXT_BATCH.claim(from_back) else {
        return false;
    };
    for offset in (0..bytes).step_by(LINE) {
        prefetch(address.wrapping_add(offset));
    }
    true
}

/// A list of samples (address and size) that threads claim one at a time from either end.
struct Announced {
    addresses: [AtomicUsize; MAX_SAMPLES],
    /// Bytes of each sample.
    bytes: AtomicUsize,
    /// Samples in the list; 0 while it is being replaced.
    count: AtomicUsize,
    /// `front << 32 | back`: samples claimed from each end.
    claimed: AtomicU64,
}

impl Announced {
    const fn new() -> Self {
        Announced {
            addresses: [const { AtomicUsize::new(0) }; MAX_SAMPLES],
            bytes: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
            claimed: AtomicU64::new(0),
        }
    }

    fn announce(&self, addresses: impl Iterator<Item = usize>, bytes: usize) {
        self.count.store(0, Ordering::SeqCst);
        let mut count = 0;
        for (slot, address) in self.addresses.iter().zip(addresses) {
            slot.store(address, Ordering::Relaxed);
            count += 1;
        }
        self.bytes.store(bytes, Ordering::Relaxed);
        self.claimed.store(0, Ordering::SeqCst);
        self.count.store(count, Ordering::SeqCst);
    }

    /// The address and size of a sample not claimed yet, from the back or the front.
    fn claim(&self, from_back: bool) -> Option<(usize, usize)> {
        let count = self.count.load(Ordering::SeqCst);
        let index = claim_from_ends(&self.claimed, 32, from_back, |_| Some(count))?;
        // A list replaced meanwhile gives a stale or a new address: either is safe to prefetch.
        Some((
            self.addresses[index].load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        ))
    }
}

/// Asks the CPU to bring the line at `address` into its caches.
#[inline]
fn prefetch(address: usize) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: a prefetch reads nothing the program can observe, writes nothing and never
    // faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each announced sample is claimed once, the front from the front and the back from the
    /// back, and a new announcement starts over.
    #[test]
    fn every_announced_sample_is_claimed_once() {
        let list = Announced::new();
        assert_eq!(list.claim(false), None);
        for round in 0..2 {
            let addresses = (0..5).map(|i| 1000 * (round + 1) + i);
            list.announce(addresses, 200);
            let claims: Vec<_> = [true, false, true, false, true, false]
                .map(|back| list.claim(back))
                .into();
            let expected = [1004, 1000, 1003, 1001, 1002].map(|a| Some((a + 1000 * round, 200)));
            assert_eq!(claims[..5], expected);
            assert_eq!(claims[5], None);
        }
        // More samples than the list holds: the first `MAX_SAMPLES` are announced.
        list.announce(0..2 * MAX_SAMPLES, 64);
        assert_eq!(list.claim(true), Some((MAX_SAMPLES - 1, 64)));
        // `fetch_one` prefetches the lines of real memory without touching it.
        let sample = [7u8; 300];
        announce(std::iter::once(sample.as_ptr() as usize), sample.len());
        while fetch_one(false) {}
        assert_eq!(sample, [7u8; 300]);
    }
}
