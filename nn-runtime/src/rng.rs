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

    /// A float drawn from the normal distribution of mean `mean` and standard deviation `std`
    /// (PyTorch's `torch.nn.init.normal_`, the initialisation of an `nn.Embedding`).
    ///
    /// Marsaglia's polar method: a point uniform in the unit disc (rejection sampling on
    /// `[-1, 1)^2`, 53-bit coordinates from two draws of [`Rng::next_u64`]) gives
    /// `x * sqrt(-2 ln s / s)` with `s = x^2 + y^2`. Its second normal value is dropped, so that
    /// a clone of the generator is its whole state. Everything is computed in f64 with
    /// `+ - * /` and `sqrt`, which IEEE 754 rounds exactly, and a logarithm written here from
    /// those operations (not the platform's `ln`, whose last bit differs between C libraries),
    /// then rounded to f32 once: the same seed gives the same values on every machine.
    ///
    /// ```
    /// let mut rng = nn::Rng::seed(0);
    /// let draws: Vec<f32> = (0..10_000).map(|_| rng.normal(2.0, 0.5)).collect();
    /// let mean = draws.iter().sum::<f32>() / draws.len() as f32;
    /// // The standard error of the mean is 0.5 / sqrt(10_000) = 0.005; allow 5 of them.
    /// assert!((mean - 2.0).abs() < 0.025);
    /// ```
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let standard = loop {
            let x = 2.0 * self.unit_f64() - 1.0;
            let y = 2.0 * self.unit_f64() - 1.0;
            let s = x * x + y * y;
            if s > 0.0 && s < 1.0 {
                break x * (-2.0 * ln_f64(s) / s).sqrt();
            }
        };
        (f64::from(mean) + f64::from(std) * standard) as f32
    }

    /// A float uniform in `[0, 1)` with 53 random bits (every step of an f64 mantissa).
    pub(crate) fn unit_f64(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// The natural logarithm of a positive, finite, normal `x`, from `+ - * /` only, so that its
/// bits are the same on every IEEE 754 machine (see [`Rng::normal`]).
///
/// `x = m 2^e` with `m` in `[sqrt(1/2), sqrt(2))` (exact, from the bits), then
/// `ln m = 2 atanh(r) = 2 (r + r^3/3 + r^5/5 + ...)` with `r = (m - 1) / (m + 1)`, `|r| < 0.172`:
/// the terms up to `r^29` leave a truncation error below `0.172^31 / 31 < 1e-24`, far under
/// f64's rounding, so the result is within a few f64 ulps of the true logarithm.
fn ln_f64(x: f64) -> f64 {
    const MANTISSA_BITS: u32 = 52;
    const EXPONENT_BIAS: i64 = 1023;
    let bits = x.to_bits();
    let mut exponent = ((bits >> MANTISSA_BITS) & 0x7ff) as i64 - EXPONENT_BIAS;
    // The mantissa with the exponent of 1.0: a value in [1, 2).
    let mut m = f64::from_bits((bits & ((1u64 << MANTISSA_BITS) - 1)) | ((EXPONENT_BIAS as u64) << MANTISSA_BITS));
    if m >= std::f64::consts::SQRT_2 {
        m /= 2.0;
        exponent += 1;
    }
    let r = (m - 1.0) / (m + 1.0);
    let r2 = r * r;
    // Horner's rule from the smallest term: 1 + r^2/3 + r^4/5 + ... + r^28/29.
    let mut series = 0.0;
    for k in (0..15).rev() {
        series = series * r2 + 1.0 / (2 * k + 1) as f64;
    }
    exponent as f64 * std::f64::consts::LN_2 + 2.0 * r * series
}

#[cfg(test)]
mod tests {
    use super::{ln_f64, Rng};

    #[test]
    fn logarithm_matches_the_standard_library() {
        let mut rng = Rng::seed(1);
        for _ in 0..10_000 {
            // Down to 2^-60, beyond the smallest `s` the polar method meets in practice.
            let x = rng.unit_f64() * f64::from(2.0f32).powi(-(rng.below(60) as i32)) + f64::MIN_POSITIVE;
            let (ours, std) = (ln_f64(x), x.ln());
            // A few f64 ulps of the result (or of ln 2 * exponent, near x = 1 where ln x -> 0).
            assert!(
                (ours - std).abs() <= 4.0 * f64::EPSILON * std.abs().max(1.0),
                "ln({x}): {ours} vs {std}"
            );
        }
        assert_eq!(ln_f64(1.0), 0.0);
        assert!((ln_f64(0.5) + std::f64::consts::LN_2).abs() < 1e-16);
    }

    /// Sample moments of 200,000 standard normal draws against N(0, 1)'s mean 0, variance 1,
    /// third moment 0 and fourth moment 3. Their standard errors are `sqrt(Var / n)` with the
    /// variances of `x`, `x^2`, `x^3` and `x^4` under N(0, 1): 1, 2, 15 and 96, i.e. 0.0022,
    /// 0.0032, 0.0087 and 0.022; each bound is 5 standard errors, which a correct sampler
    /// exceeds with probability below 1e-6, while a wrong scale (say `sqrt(-ln s / s)`, variance
    /// 1/2) or shape is off by far more.
    #[test]
    fn normal_draws_have_the_moments_of_the_normal_distribution() {
        let n = 200_000;
        let mut rng = Rng::seed(42);
        let mut moments = [0.0f64; 4];
        for _ in 0..n {
            let x = f64::from(rng.normal(0.0, 1.0));
            moments[0] += x;
            moments[1] += x * x;
            moments[2] += x * x * x;
            moments[3] += x * x * x * x;
        }
        let [mean, second, third, fourth] = moments.map(|m| m / n as f64);
        let bound = |variance: f64| 5.0 * (variance / n as f64).sqrt();
        assert!(mean.abs() < bound(1.0), "mean {mean}");
        assert!((second - 1.0).abs() < bound(2.0), "second moment {second}");
        assert!(third.abs() < bound(15.0), "third moment {third}");
        assert!((fourth - 3.0).abs() < bound(96.0), "fourth moment {fourth}");
    }

    #[test]
    fn normal_is_shifted_and_scaled_and_reproducible() {
        let (mut a, mut b) = (Rng::seed(3), Rng::seed(3));
        for _ in 0..100 {
            let standard = a.normal(0.0, 1.0);
            let scaled = b.normal(1.5, 2.0);
            assert!((scaled - (1.5 + 2.0 * standard)).abs() < 1e-5);
        }
    }
}
