//! Special functions the standard library lacks, in `f32` and written so that the compiler
//! vectorises loops over them (no calls, no branches, no `mul_add`, which would be a slow
//! library call on CPUs without FMA and would change results between machines): `exp`, `erfc`
//! and the normal distribution's CDF and density, which `GELU` evaluates for every value.

use std::f32::consts::{FRAC_1_SQRT_2, LOG2_E};

/// One `f32` or a block of them, on which the functions below run one element-wise step at a
/// time. On a block, each step is a few vector instructions side by side: the steps of one
/// value form a long chain (a division, two polynomials), and a CPU overlaps independent chains
/// only when their instructions are close together, so a block of several vectors runs at the
/// CPU's throughput where a loop over single vectors waits on each chain. A block and an `f32`
/// go through the same operations in the same order, so they give the same bits.
pub(crate) trait Values: Copy {
    /// `f` applied to each value.
    fn map(self, f: impl Fn(f32) -> f32) -> Self;
    /// `f` applied to each pair of values.
    fn zip(self, other: Self, f: impl Fn(f32, f32) -> f32) -> Self;
}

impl Values for f32 {
    #[inline(always)]
    fn map(self, f: impl Fn(f32) -> f32) -> f32 {
        f(self)
    }
    #[inline(always)]
    fn zip(self, other: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
        f(self, other)
    }
}

/// Values a [`Block`] holds: four AVX-512 vectors.
pub(crate) const BLOCK: usize = 64;

/// [`BLOCK`] values side by side.
#[derive(Clone, Copy)]
pub(crate) struct Block(pub(crate) [f32; BLOCK]);

impl Values for Block {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // index loops, so that they are compiled wide
    fn map(self, f: impl Fn(f32) -> f32) -> Block {
        let mut out = [0.0; BLOCK];
        for i in 0..BLOCK {
            out[i] = f(self.0[i]);
        }
        Block(out)
    }
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn zip(self, other: Block, f: impl Fn(f32, f32) -> f32) -> Block {
        let mut out = [0.0; BLOCK];
        for i in 0..BLOCK {
            out[i] = f(self.0[i], other.0[i]);
        }
        Block(out)
    }
}

/// `c[0] + t (c[1] + t (c[2] + ...))`, by Horner's rule from the last coefficient.
#[inline(always)]
fn polynomial<V: Values, const N: usize>(t: V, coefficients: [f32; N]) -> V {
    let (&last, rest) = coefficients.split_last().expect("a polynomial has a coefficient");
    let mut p = t.map(|_| last);
    for &c in rest.iter().rev() {
        p = t.zip(p, |t, p| c + t * p);
    }
    p
}

/// `e^x`, within 3 ulps for `x` in `[-87, 88]` (clamped there: below, the result is under
/// 2^-125, and `GELU` needs no more). `x = n ln 2 + r` with `|r| <= ln 2 / 2`; `e^r` by its
/// Taylor series to degree 6 (remainder below 1.3e-7 relative); `2^n` built in the exponent bits.
#[inline(always)]
pub(crate) fn exp<V: Values>(x: V) -> V {
    /// 1.5 * 2^23: adding it rounds to an integer, left in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    /// `ln 2` in two parts (Cephes): the first has 9 bits, so `n * LN2_HIGH` is exact.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = x.map(|x| x.clamp(-87.0, 88.0));
    let shifted = x.map(|x| x * LOG2_E + ROUND);
    let n = shifted.map(|shifted| shifted - ROUND);
    let r = x.zip(n, |x, n| (x - n * LN2_HIGH) - n * LN2_LOW);
    let poly = polynomial(r, [1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0]);
    let scale =
        shifted.map(|shifted| f32::from_bits(shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23));
    poly.zip(scale, |poly, scale| poly * scale)
}

/// `erfc(z)` for `z >= 0` within 2e-5 relative (1e-6 for `z < 2`): the Chebyshev fit `erfcc` of Numerical
/// Recipes in C (2nd ed., section 6.2): one formula for every `z`, with no `1 - erf(z)` to cancel.
#[inline(always)]
fn erfc_tail<V: Values>(z: V) -> V {
    let t = z.map(|z| 1.0 / (1.0 + 0.5 * z));
    let poly = polynomial(
        t,
        [
            -1.265_512_2,
            1.000_023_7,
            0.374_091_96,
            0.096_784_18,
            -0.186_288_06,
            0.278_868_07,
            -1.135_204,
            1.488_515_9,
            -0.822_152_2,
            0.170_872_77,
        ],
    );
    let exponent = z.zip(poly, |z, poly| -z * z + poly);
    t.zip(exp(exponent), |t, e| t * e)
}

/// The standard normal CDF `Phi(x) = erfc(-x / sqrt(2)) / 2`, accurate relative to its value
/// in the lower half (which `GELU` multiplies by `x`), and to 1e-7 absolute in the upper half:
/// one [`erfc_tail`] of `|x| / sqrt(2)`, reflected for `x > 0` (`erfc(-z) = 2 - erfc(z)`), so
/// every value costs one `exp` and no branch.
#[inline(always)]
pub(crate) fn normal_cdf<V: Values>(x: V) -> V {
    let tail = erfc_tail(x.map(|x| x.abs() * FRAC_1_SQRT_2));
    x.zip(tail, |x, tail| {
        let half_tail = 0.5 * tail;
        if x > 0.0 {
            1.0 - half_tail
        } else {
            half_tail
        }
    })
}

/// The standard normal density `phi(x) = e^(-x^2/2) / sqrt(2 pi)`.
#[inline(always)]
pub(crate) fn normal_pdf<V: Values>(x: V) -> V {
    /// `1 / sqrt(2 pi)`.
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    exp(x.map(|x| -0.5 * x * x)).map(|e| FRAC_1_SQRT_2PI * e)
}

#[cfg(test)]
mod tests {
    //! Reference values in f64: the series of Abramowitz and Stegun 7.1.6 (exact to a few f64
    //! ulps) and Numerical Recipes' `erfcc` (1.2e-7 relative) in the tail.

    /// Below this `|z|` the series of [`erf_series`] is used, above it [`erfc_large`]: there
    /// `erfc(|z|) < 0.0047`, so its relative error of 1.2e-7 changes `1 - erfc` by under 6e-10, and
    /// `erfc` itself (the tail GELU multiplies by `x`) keeps that relative accuracy.
    const SERIES_BELOW: f64 = 2.0;

    /// `2 / sqrt(pi)`.
    const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

    /// `erf(z)` for `|z| < 2` by the series of Abramowitz and Stegun 7.1.6,
    /// `erf(z) = 2/sqrt(pi) e^(-z^2) sum_n 2^n z^(2n+1) / (1 * 3 * ... * (2n+1))`, whose terms are
    /// all of one sign (no cancellation): exact to a few f64 ulps, at most 45 terms.
    fn erf_series(z: f64) -> f64 {
        let z2 = z * z;
        let (mut term, mut sum) = (z, z);
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= 2.0 * z2 / (2.0 * n + 1.0);
            sum += term;
        }
        TWO_OVER_SQRT_PI * (-z2).exp() * sum
    }

    /// `erfc(z)` for `z >= 0` with a relative error below 1.2e-7 everywhere: the Chebyshev fit
    /// `erfcc` of Numerical Recipes in C (2nd ed., section 6.2).
    fn erfc_large(z: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.5 * z);
        let poly = -1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        t * (-z * z + poly).exp()
    }

    /// The complementary error function `erfc(z) = 1 - erf(z)`, accurate relative to its value (so
    /// also in the tail where `erf` rounds to 1).
    fn erfc(z: f64) -> f64 {
        if z.abs() < SERIES_BELOW {
            1.0 - erf_series(z)
        } else if z > 0.0 {
            erfc_large(z)
        } else {
            2.0 - erfc_large(-z)
        }
    }

    fn reference_cdf(x: f64) -> f64 {
        0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
    }

    /// Every 1/1000 from -12 to 12.
    fn grid() -> impl Iterator<Item = f32> {
        (-12_000..=12_000).map(|i| i as f32 / 1000.0)
    }

    #[test]
    fn exp_is_within_three_ulps() {
        for x in grid().chain((-87..=87).map(|i| i as f32 + 0.37)) {
            let expected = f64::from(x).exp();
            let relative = (f64::from(super::exp(x)) - expected).abs() / expected;
            assert!(
                relative < 3.0 * f64::from(f32::EPSILON),
                "exp({x}): relative error {relative:e}"
            );
        }
    }

    #[test]
    fn normal_cdf_is_accurate_relative_to_its_value() {
        // Down to x = -12, where Phi is 2e-33: GELU's x Phi(x) stays accurate in its tail (the
        // f32 rounding of z^2 in `erfc_tail` is what limits it there).
        for x in grid() {
            let expected = reference_cdf(f64::from(x));
            let relative = (f64::from(super::normal_cdf(x)) - expected).abs() / expected;
            assert!(relative < 2e-5, "Phi({x}): relative error {relative:e}");
        }
    }

    #[test]
    fn normal_pdf_is_accurate() {
        for x in grid() {
            let x64 = f64::from(x);
            let expected = (-0.5 * x64 * x64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let relative = (f64::from(super::normal_pdf(x)) - expected).abs() / expected;
            assert!(relative < 1e-5, "phi({x}): relative error {relative:e}");
        }
    }
}
