//! The seeded random number generator behind initialisation and shuffling.

use chacha20::rand_core::{Rng as _, SeedableRng};
use chacha20::ChaCha8Rng;

/// A seeded generator whose stream is the same on every machine and every build.
///
/// ChaCha8's output is specified bit for bit, and the conversions below use only integer
/// arithmetic and exact float operations, so `init(seed)` gives identical weights everywhere.
///
/// ```
/// let mut a = nn::Rng::seed(7);
/// let mut b = nn::Rng::seed(7);
/// assert_eq!(a.uniform(-1.0, 1.0), b.uniform(-1.0, 1.0));
/// assert!(a.below(10) < 10);
/// ```
///
/// A clone continues the same stream from the same position:
///
/// ```
/// let mut a = nn::Rng::seed(7);
/// a.unit(); // one 32-bit word into a 64-word block
/// let mut b = a.clone();
/// let (from_a, from_b): (Vec<u64>, Vec<u64>) = (0..100).map(|_| (a.next_u64(), b.next_u64())).unzip();
/// assert_eq!(from_a, from_b);
/// ```
///
/// It implements `rand_core`'s `TryRng` with `Error = Infallible`, and so `rand_core::Rng`
/// (rand_core 0.10's name for `RngCore`): pass it where the `rand` 0.10 ecosystem takes a
/// generator. The trait's `next_u32`, `next_u64` and `fill_bytes` continue the same stream as
/// [`Rng::unit`], [`Rng::below`] and the rest.
///
/// ```
/// use rand_core::Rng as _;
/// fn sample(rng: &mut impl rand_core::Rng) -> u64 {
///     rng.next_u64()
/// }
/// let (mut a, mut b) = (nn::Rng::seed(3), nn::Rng::seed(3));
/// assert_eq!(sample(&mut a), b.next_u64());
/// let mut bytes = [0u8; 5];
/// a.fill_bytes(&mut bytes);
/// ```
#[derive(Debug)]
pub struct Rng(ChaCha8Rng);

impl rand_core::TryRng for Rng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

/// chacha20's generator is not `Clone` (so that a cipher's key stream is not duplicated by
/// accident); ours is for reproducibility, so a clone is the generator rebuilt from its state.
impl Clone for Rng {
    fn clone(&self) -> Self {
        Rng(ChaCha8Rng::deserialize_state(&self.0.serialize_state()))
    }
}

impl Rng {
    /// A generator started from `seed`.
    pub fn seed(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// 64 random bits (for seeding another generator).
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A float uniform in `[0, 1)`, with 24 random bits (every representable step of an f32 mantissa).
    pub fn unit(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// A float uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// An integer uniform in `0..n` (Lemire's multiply-shift, unbiased by rejection). `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.0.next_u64()) * u128::from(n);
            if (product as u64) >= zone {
                return (product >> 64) as usize;
            }
        }
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
