//! Special functions the standard library lacks: the normal distribution's CDF, through `erfc`,
//! accurate to f32 precision everywhere (what `GELU` needs), computed in f64.

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
pub(crate) fn erfc(z: f64) -> f64 {
    if z.abs() < SERIES_BELOW {
        1.0 - erf_series(z)
    } else if z > 0.0 {
        erfc_large(z)
    } else {
        2.0 - erfc_large(-z)
    }
}

/// The standard normal CDF `Phi(x) = erfc(-x / sqrt(2)) / 2`.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal density `phi(x) = e^(-x^2/2) / sqrt(2 pi)`.
pub(crate) fn normal_pdf(x: f64) -> f64 {
    /// `1 / sqrt(2 pi)`.
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}
