//! `GELU`: `x * Phi(x)`, exact or in its tanh approximation, as `torch.nn.GELU(approximate=..)`.

use super::Elementwise;
use crate::special::{exp, normal_cdf, normal_pdf, Block, Values, BLOCK};
use crate::widest::widest_vectors;

/// The Gaussian error linear unit, PyTorch's `nn.GELU()`: `x * Phi(x)` with `Phi` the standard
/// normal CDF, computed in f32 through a Chebyshev approximation of `erfc` (accurate relative to
/// small outputs too), as PyTorch evaluates `erf` in f32. [`GELU::tanh`] is
/// `nn.GELU(approximate='tanh')`, `x/2 * (1 + tanh(u))` with `u = sqrt(2/pi) * (x + 0.044715 x^3)`,
/// computed in f32 as `x / (1 + e^(-2u))`: the same value, without the cancellation of
/// `1 + tanh(u)` below zero.
///
/// ```
/// use nn::prelude::*;
/// let y = GELU::exact().forward(&[0.0, 1.0]);
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 0.841_344_7).abs() < 1e-7); // Phi(1) = 0.8413447...
/// assert!((GELU::tanh().forward(&[1.0])[0] - 0.841_192).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GELU {
    tanh: bool,
}

/// `sqrt(2 / pi)`, PyTorch's `kBeta` (`M_SQRT2 * M_2_SQRTPI * 0.5`).
const SQRT_2_OVER_PI: f32 = std::f32::consts::SQRT_2 * std::f32::consts::FRAC_2_SQRT_PI * 0.5;
/// The cubic coefficient of the tanh approximation, PyTorch's `kKappa`.
const KAPPA: f32 = 0.044715;

impl GELU {
    /// `x * Phi(x)`, PyTorch's `nn.GELU()` (also [`GELU::default`]).
    ///
    /// ```
    /// assert_eq!(nn::GELU::exact(), nn::GELU::default());
    /// ```
    pub fn exact() -> Self {
        GELU { tanh: false }
    }

    /// The tanh approximation, PyTorch's `nn.GELU(approximate='tanh')`.
    ///
    /// ```
    /// assert!(nn::GELU::tanh().is_tanh());
    /// ```
    pub fn tanh() -> Self {
        GELU { tanh: true }
    }

    /// Whether this is the tanh approximation.
    ///
    /// ```
    /// assert!(!nn::GELU::exact().is_tanh());
    /// ```
    pub fn is_tanh(&self) -> bool {
        self.tanh
    }
}

impl Elementwise for GELU {
    fn apply(&self, x: f32) -> f32 {
        if self.tanh {
            tanh_form(x)
        } else {
            exact(x)
        }
    }

    fn derivative(&self, x: f32, y: f32) -> f32 {
        if self.tanh {
            tanh_form_derivative(x, y)
        } else {
            exact_derivative(x, y)
        }
    }

    fn apply_all(&self, input: &[f32], output: &mut [f32]) {
        apply_wide(self.tanh, input, output)
    }

    fn derivative_all(&self, input: &[f32], output: &[f32], grad_output: &[f32], grad_input: &mut [f32]) {
        derivative_wide(self.tanh, input, output, grad_output, grad_input)
    }
}

widest_vectors! {
    /// `output = GELU(input)` in the chosen form.
    fn apply_wide(tanh: bool, input: &[f32], output: &mut [f32]) {
        if tanh {
            map_blocks!(input, output, tanh_form);
        } else {
            map_blocks!(input, output, exact);
        }
    }
}

widest_vectors! {
    /// `grad_input = grad_output * GELU'(input)`, given `output = GELU(input)`.
    fn derivative_wide(
        tanh: bool,
        input: &[f32],
        output: &[f32],
        grad_output: &[f32],
        grad_input: &mut [f32],
    ) {
        if tanh {
            derivative_blocks!(input, output, grad_output, grad_input, tanh_form_derivative);
        } else {
            derivative_blocks!(input, output, grad_output, grad_input, exact_derivative);
        }
    }
}

/// `output[i] = $f(input[i])`: whole [`Block`]s, then one value at a time (the same function,
/// so the same bits). A macro, not a function taking `$f`: a function passed as a value is
/// compiled on its own, without the wide vectors of the loop that calls it.
macro_rules! map_blocks {
    ($input:expr, $output:expr, $f:ident) => {{
        let (input, output) = ($input, $output);
        let n = input.len().min(output.len());
        let (input_blocks, input_rest) = input[..n].as_chunks::<BLOCK>();
        let (output_blocks, output_rest) = output[..n].as_chunks_mut::<BLOCK>();
        for (x, y) in input_blocks.iter().zip(output_blocks) {
            *y = $f(Block(*x)).0;
        }
        for (x, y) in input_rest.iter().zip(output_rest) {
            *y = $f(*x);
        }
    }};
}
use map_blocks;

/// `grad_input[i] = grad_output[i] * $derivative(input[i], output[i])`, by whole [`Block`]s then
/// one value at a time, as [`map_blocks`].
macro_rules! derivative_blocks {
    ($input:expr, $output:expr, $grad_output:expr, $grad_input:expr, $derivative:ident) => {{
        let (input, output, grad_output, grad_input) = ($input, $output, $grad_output, $grad_input);
        let n = input
            .len()
            .min(output.len())
            .min(grad_output.len())
            .min(grad_input.len());
        let whole = n - n % BLOCK;
        let blocks = input[..whole]
            .as_chunks::<BLOCK>()
            .0
            .iter()
            .zip(output[..whole].as_chunks::<BLOCK>().0)
            .zip(grad_output[..whole].as_chunks::<BLOCK>().0)
            .zip(grad_input[..whole].as_chunks_mut::<BLOCK>().0);
        for (((x, y), g), dx) in blocks {
            *dx = Block(*g).zip($derivative(Block(*x), Block(*y)), |g, d| g * d).0;
        }
        for i in whole..n {
            grad_input[i] = grad_output[i] * $derivative(input[i], output[i]);
        }
    }};
}
use derivative_blocks;

/// `GELU(x) = x Phi(x)`, on one value or a [`Block`] of them (the same bits either way).
#[inline(always)]
fn exact<V: Values>(x: V) -> V {
    x.zip(normal_cdf(x), |x, cdf| x * cdf)
}

/// `GELU'(x) = Phi(x) + x phi(x)`, with `Phi(x)` recovered from the forward pass's output
/// `y = x Phi(x)` as `y / x` (within an ulp or two of `Phi` wherever `y` is a normal float), so the
/// backward pass evaluates one `exp` (for `phi`) instead of a second `erfc` and `exp`. Near zero,
/// where `y / x` loses precision or is `0 / 0`, `Phi(x) = 1/2 + x phi(0)` to within `x^3 / 15`.
#[inline(always)]
fn exact_derivative<V: Values>(x: V, y: V) -> V {
    /// Below this `|x|`, `y / x` is replaced by the first two terms of `Phi`'s series, whose
    /// remainder (under 2e-19) is far below an ulp of 1/2.
    const SERIES_BELOW: f32 = 1e-6;
    /// `1 / sqrt(2 pi)`: `phi(0)`.
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    let cdf = x.zip(y, |x, y| {
        if x.abs() < SERIES_BELOW {
            0.5 + x * FRAC_1_SQRT_2PI
        } else {
            y / x
        }
    });
    let x_pdf = x.zip(normal_pdf(x), |x, pdf| x * pdf);
    cdf.zip(x_pdf, |cdf, x_pdf| cdf + x_pdf)
}

/// `0.5 x (1 + tanh(u))` with `u = sqrt(2 / pi) (x + 0.044715 x^3)`, written as
/// `x / (1 + e^(-2u))` (`1 + tanh(u) = 2 / (1 + e^(-2u))`): one `exp`, no `1 + tanh` to cancel in
/// the lower tail, and vectorised where a library `tanh` is a call per value.
#[inline(always)]
fn tanh_form<V: Values>(x: V) -> V {
    x.zip(exp(x.map(|x| -2.0 * tanh_inner(x))), |x, e| x / (1.0 + e))
}

/// The derivative of [`tanh_form`]: with `s = 1 / (1 + e^(-2u))` (so `1 - s = e^(-2u) s`),
/// `s + 2 x u' s (1 - s)`.
#[inline(always)]
fn tanh_form_derivative<V: Values>(x: V, _y: V) -> V {
    let e = exp(x.map(|x| -2.0 * tanh_inner(x)));
    let s = e.map(|e| 1.0 / (1.0 + e));
    let slope = x.map(|x| 2.0 * x * (SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x)));
    let e_s = e.zip(s, |e, s| e * s);
    s.zip(slope.zip(e_s, |slope, e_s| slope * e_s), |s, t| s + s * t)
}

/// `u = sqrt(2 / pi) (x + 0.044715 x^3)`.
#[inline(always)]
fn tanh_inner(x: f32) -> f32 {
    SQRT_2_OVER_PI * (x + KAPPA * x * x * x)
}

crate::elementwise_layer!(GELU);
