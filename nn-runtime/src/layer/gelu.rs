//! `GELU`: `x * Phi(x)`, exact or in its tanh approximation, as `torch.nn.GELU(approximate=..)`.

use super::Elementwise;
use crate::special::{normal_cdf, normal_pdf, Block, Values, BLOCK};
use crate::widest::widest_vectors;

/// The Gaussian error linear unit, PyTorch's `nn.GELU()`: `x * Phi(x)` with `Phi` the standard
/// normal CDF, computed in f32 through a Chebyshev approximation of `erfc` (accurate relative to
/// small outputs too), as PyTorch evaluates `erf` in f32. [`GELU::tanh`] is `nn.GELU(approximate='tanh')`,
/// `x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`, computed in f32 as PyTorch does.
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
            tanh_form_derivative(x)
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

widest_vectors!(fn apply_wide(tanh: bool, input: &[f32], output: &mut [f32]) => apply_loop);
widest_vectors!(
    fn derivative_wide(tanh: bool, input: &[f32], output: &[f32], grad_output: &[f32], grad_input: &mut [f32]) => derivative_loop
);

/// `output = GELU(input)`, one loop per form, each without a branch or a call (but `tanh`), so
/// that it is vectorised. Index loops, not iterator adapters: an adapter's `fold` is a function
/// of its own that would not be compiled for the wider vectors of [`apply_wide`].
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn apply_loop(tanh: bool, input: &[f32], output: &mut [f32]) {
    let n = input.len().min(output.len());
    let (input, output) = (&input[..n], &mut output[..n]);
    if tanh {
        for i in 0..n {
            output[i] = tanh_form(input[i]);
        }
    } else {
        let (input_blocks, input_rest) = input.as_chunks::<BLOCK>();
        let (output_blocks, output_rest) = output.as_chunks_mut::<BLOCK>();
        for (x, y) in input_blocks.iter().zip(output_blocks) {
            *y = exact(Block(*x)).0;
        }
        for i in 0..input_rest.len() {
            output_rest[i] = exact(input_rest[i]);
        }
    }
}

/// `grad_input = grad_output * GELU'(input)`, given `output = GELU(input)`.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn derivative_loop(tanh: bool, input: &[f32], output: &[f32], grad_output: &[f32], grad_input: &mut [f32]) {
    let n = input
        .len()
        .min(output.len())
        .min(grad_output.len())
        .min(grad_input.len());
    let (input, output) = (&input[..n], &output[..n]);
    let (grad_output, grad_input) = (&grad_output[..n], &mut grad_input[..n]);
    if tanh {
        for i in 0..n {
            grad_input[i] = grad_output[i] * tanh_form_derivative(input[i]);
        }
    } else {
        let whole = n - n % BLOCK;
        let blocks = input[..whole]
            .as_chunks::<BLOCK>()
            .0
            .iter()
            .zip(output[..whole].as_chunks::<BLOCK>().0)
            .zip(grad_output[..whole].as_chunks::<BLOCK>().0)
            .zip(grad_input[..whole].as_chunks_mut::<BLOCK>().0);
        for (((x, y), g), dx) in blocks {
            *dx = Block(*g).zip(exact_derivative(Block(*x), Block(*y)), |g, d| g * d).0;
        }
        for i in whole..n {
            grad_input[i] = grad_output[i] * exact_derivative(input[i], output[i]);
        }
    }
}

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

#[inline(always)]
fn tanh_form(x: f32) -> f32 {
    let inner = SQRT_2_OVER_PI * (x + KAPPA * x * x * x);
    0.5 * x * (1.0 + inner.tanh())
}

#[inline(always)]
fn tanh_form_derivative(x: f32) -> f32 {
    let inner = SQRT_2_OVER_PI * (x + KAPPA * x * x * x);
    let tanh = inner.tanh();
    let left = 0.5 * (1.0 + tanh);
    let right = 0.5 * x * (1.0 - tanh * tanh) * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x);
    left + right
}

crate::elementwise_layer!(GELU);
