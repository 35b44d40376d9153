//! Numeric kernels, kept apart from the layers that call them.
//!
//! The three products of a fully connected layer, each chosen at run time: AVX-512 micro-kernels
//! when the CPU has AVX-512F (`avx512.rs`), AVX2+FMA micro-kernels when it has those
//! (`avx2.rs`, for the shapes where they measured faster), else register-blocked portable code
//! compiled for AVX2+FMA or the baseline target (`dense.rs`). Above a work threshold the batch
//! rows (forward, input gradient) or the output rows (weight gradient; the AVX-512 forward of a
//! batch under 256 rows, so that each thread reads only its own rows of the weight) are split
//! across threads ([`crate::set_num_threads`]); every value is computed by the same operations
//! whatever the split, so results are bit-identical for any thread count.

mod array;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod conv;
mod dense;
mod epilogue;
mod shape;

pub use conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvShape};

use crate::threads::{split_range, split_rows, split_rows_with};
#[cfg(target_arch = "x86_64")]
use crate::threads::{split_rows_on, Pool};
use crate::widest::widest_vectors;
use epilogue::Activation;

/// Multiply-adds below which a product runs on the calling thread only: waking a second
/// thread costs about a microsecond, as much as 100k multiply-adds.
const PARALLEL_MIN_MACS: usize = 150_000;

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Which instruction set the Linear kernels use on this CPU: `"avx512"`, `"avx2+fma"` or
/// `"portable"`.
///
/// ```
/// assert!(["avx512", "avx2+fma", "portable"].contains(&nn_runtime::kernel::instruction_set()));
/// ```
pub fn instruction_set() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            return "avx512";
        }
        if has_avx2_fma() {
            return "avx2+fma";
        }
    }
    "portable"
}

/// The implementation a Linear product runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The fastest for this CPU and shape.
    Auto,
    /// The AVX2+FMA micro-kernels of `avx2.rs` (the caller checked the CPU).
    Avx2,
    /// The register-blocked code of `dense.rs`.
    Dense,
}

#[cfg(target_arch = "x86_64")]
impl Path {
    /// Whether this call runs the AVX2 micro-kernels: forced, or chosen by `auto` when the CPU
    /// has AVX2+FMA (and not AVX-512, whose kernels come first).
    fn avx2(self, auto: bool) -> bool {
        match self {
            Path::Avx2 => true,
            Path::Dense => false,
            Path::Auto => auto && !has_avx512() && has_avx2_fma(),
        }
    }

    fn avx512(self) -> bool {
        self == Path::Auto && has_avx512()
    }
}

/// Each Linear product through one named implementation, for the benches that compare them.
/// Not a public API: it may change in any release.
#[doc(hidden)]
pub mod variants {
    use super::{Activation, Path};

    /// Whether the CPU runs the `*_avx2` functions (they panic otherwise).
    pub fn has_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            super::has_avx2_fma()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    fn avx2() -> Path {
        assert!(has_avx2(), "the CPU has no AVX2+FMA");
        Path::Avx2
    }

    fn activation(relu: bool) -> Activation {
        if relu {
            Activation::Relu
        } else {
            Activation::Identity
        }
    }

    /// [`super::linear_forward`] (with `relu`, [`super::linear_forward_relu`]) by the portable
    /// kernels of `dense.rs`.
    pub fn linear_forward_dense<const IN: usize, const OUT: usize>(
        x: &[[f32; IN]],
        w: &[[f32; IN]; OUT],
        bias: &[f32; OUT],
        y: &mut [[f32; OUT]],
        relu: bool,
    ) {
        super::forward(Path::Dense, x, w, bias, y, activation(relu))
    }

    /// [`super::linear_forward`] (with `relu`, [`super::linear_forward_relu`]) by the AVX2
    /// micro-kernels.
    pub fn linear_forward_avx2<const IN: usize, const OUT: usize>(
        x: &[[f32; IN]],
        w: &[[f32; IN]; OUT],
        bias: &[f32; OUT],
        y: &mut [[f32; OUT]],
        relu: bool,
    ) {
        super::forward(avx2(), x, w, bias, y, activation(relu))
    }

    /// [`super::linear_forward`] (with `relu`, [`super::linear_forward_relu`]) by the AVX2
    /// broadcast micro-kernels against a transposed weight, whatever the shape.
    pub fn linear_forward_avx2_transposed<const IN: usize, const OUT: usize>(
        x: &[[f32; IN]],
        w: &[[f32; IN]; OUT],
        bias: &[f32; OUT],
        y: &mut [[f32; OUT]],
        relu: bool,
    ) {
        assert!(has_avx2(), "the CPU has no AVX2+FMA");
        #[cfg(target_arch = "x86_64")]
        super::forward_avx2_with_transposed(x, w, bias, y, activation(relu))
    }

    /// [`super::linear_backward_input`] (with `relu_outputs`,
    /// [`super::linear_backward_input_relu`]) by the portable kernels of `dense.rs`.
    pub fn linear_backward_input_dense<const IN: usize, const OUT: usize>(
        g: &[[f32; OUT]],
        w: &[[f32; IN]; OUT],
        dx: &mut [[f32; IN]],
        relu_outputs: Option<&[[f32; IN]]>,
    ) {
        super::backward_input(Path::Dense, g, w, dx, relu_outputs)
    }

    /// [`super::linear_backward_input`] (with `relu_outputs`,
    /// [`super::linear_backward_input_relu`]) by the AVX2 micro-kernels.
    pub fn linear_backward_input_avx2<const IN: usize, const OUT: usize>(
        g: &[[f32; OUT]],
        w: &[[f32; IN]; OUT],
        dx: &mut [[f32; IN]],
        relu_outputs: Option<&[[f32; IN]]>,
    ) {
        super::backward_input(avx2(), g, w, dx, relu_outputs)
    }

    /// [`super::linear_backward_weight`] by the portable kernels of `dense.rs`.
    pub fn linear_backward_weight_dense<const IN: usize, const OUT: usize>(
        g: &[[f32; OUT]],
        x: &[[f32; IN]],
        dw: &mut [[f32; IN]; OUT],
        db: &mut [f32; OUT],
    ) {
        super::backward_weight(Path::Dense, g, x, dw, db)
    }

    /// [`super::linear_backward_weight`] by the AVX2 micro-kernels.
    pub fn linear_backward_weight_avx2<const IN: usize, const OUT: usize>(
        g: &[[f32; OUT]],
        x: &[[f32; IN]],
        dw: &mut [[f32; IN]; OUT],
        db: &mut [f32; OUT],
    ) {
        super::backward_weight(avx2(), g, x, dw, db)
    }
}

/// `y[b][o] = bias[o] + dot(x[b], w[o])`: the forward pass.
///
/// ```
/// // x = [1 2], w = [[3 4], [5 6]], bias = [10 20]
/// let mut y = [[0.0; 2]];
/// nn_runtime::kernel::linear_forward(&[[1.0, 2.0]], &[[3.0, 4.0], [5.0, 6.0]], &[10.0, 20.0], &mut y);
/// assert_eq!(y, [[21.0, 37.0]]);
/// ```
pub fn linear_forward<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    forward(Path::Auto, x, w, bias, y, Activation::Identity)
}

/// `y[b][o] = max(0, bias[o] + dot(x[b], w[o]))`: a Linear layer's forward followed by
/// PyTorch's ReLU, applied by the kernel as it stores each value (the same bits as
/// [`linear_forward`] then the `ReLU` layer; NaN stays NaN). Networks use it for every
/// `Linear -> ReLU -> Linear`.
///
/// ```
/// // x = [1 2], w = [[3 4], [-5 -6]], bias = [10 -20]: [21, -37] before the ReLU
/// let mut y = [[0.0; 2]];
/// nn_runtime::kernel::linear_forward_relu(&[[1.0, 2.0]], &[[3.0, 4.0], [-5.0, -6.0]], &[10.0, -20.0], &mut y);
/// assert_eq!(y, [[21.0, 0.0]]);
/// ```
pub fn linear_forward_relu<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
) {
    forward(Path::Auto, x, w, bias, y, Activation::Relu)
}

fn forward<const IN: usize, const OUT: usize>(
    path: Path,
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    assert_eq!(x.len(), y.len(), "linear_forward: as many outputs as inputs");
    #[cfg(target_arch = "x86_64")]
    {
        let rows = x.len();
        let dots =
            IN >= AVX512_DOTS_MIN_INPUTS || (IN >= AVX512_DOTS_MIN_INPUTS_SPLIT && rows < AVX512_ROW_SPLIT_MIN_ROWS);
        if path.avx512() && dots {
            if (2..AVX512_ROW_SPLIT_MIN_ROWS).contains(&rows) {
                return forward_avx512_columns(x, w, bias, y, activation);
            }
        } else if path.avx512() && x.len() >= TRANSPOSE_MIN_ROWS {
            return forward_avx512_transposed(x, w, bias, y, activation);
        }
        if let (true, [x], [y]) = (path.avx512(), x, &mut *y) {
            // As on AVX2: a single-sample forward splits its outputs across running workers.
            return split_rows_on(Pool::Running, y, 16, IN, ONE_ROW_PARALLEL_MIN_MACS, |first, y| {
                #[allow(unsafe_code)]
                // SAFETY: the CPU supports AVX-512F (checked by `Path`).
                unsafe {
                    avx512::forward_outputs(x, w, bias, first, y, activation)
                }
            });
        }
        if path.avx2(true) {
            return forward_avx2(x, w, bias, y, activation);
        }
    }
    split_rows(y, 4, IN * OUT, PARALLEL_MIN_MACS, |first, y| {
        forward_serial(path, &x[first..first + y.len()], w, bias, y, activation)
    });
}

/// Weight values from which the copy of a transposed weight is split across threads.
#[cfg(target_arch = "x86_64")]
const PARALLEL_MIN_TRANSPOSE: usize = 32_768;

/// Multiply-adds from which the forward of a single row splits its outputs across threads. A
/// split costs the round trip to the worker and the outputs it wrote, which the next layer
/// reads from the other core's cache; below this the weight (1 MB) fits in one core's L2 and
/// one core reads it about as fast as two (784x128 takes a few microseconds either way, and
/// the sample took longer split), above it each core keeps its half in its own cache
/// (1024x512: 9 us split against 20-58 us on one core).
#[cfg(target_arch = "x86_64")]
const ONE_ROW_PARALLEL_MIN_MACS: usize = 262_144;

/// Batch rows from which the AVX-512 forward splits its products by rows rather than by panels
/// of outputs.
#[cfg(target_arch = "x86_64")]
const AVX512_ROW_SPLIT_MIN_ROWS: usize = 256;

/// Inputs from which the AVX-512 forward keeps the dot-product form at every batch size: a
/// reduction this long repays the horizontal sums, and the form needs no transposed weight (a
/// copy of the weight on every call). Single-threaded on 64 rows, 784 inputs: 113 against 128 us
/// with the copy; 256 inputs: 19.5 against 21 us, but 339 against 307 us on 1024 rows.
#[cfg(target_arch = "x86_64")]
const AVX512_DOTS_MIN_INPUTS: usize = 384;

/// Inputs from which the AVX-512 forward of fewer than [`AVX512_ROW_SPLIT_MIN_ROWS`] rows uses
/// the dot products too, split by outputs. For a weight under 32k values the copy would be made
/// by the launching thread alone while the others wait, and the products of a split by rows read
/// the whole weight, half of it from the cache of the core that updated it; split by outputs,
/// each thread reads only its own rows. (`Linear<128, 64>` at batch 64 in the seed MLP's step:
/// 9.2 -> 8.6 us with the cores near, 21 -> 16 us when they pass data slowly.)
#[cfg(target_arch = "x86_64")]
const AVX512_DOTS_MIN_INPUTS_SPLIT: usize = 128;

/// Batch rows from which the forward transposes the weight first (a copy of the weight costs
/// about as much as 4 rows of products) and uses broadcast micro-kernels.
#[cfg(target_arch = "x86_64")]
const TRANSPOSE_MIN_ROWS: usize = 8;

/// Inputs from which the AVX2 forward keeps the dot-product form up to [`AVX2_DOTS_MAX_ROWS`]
/// rows: its reduction is long enough to repay the horizontal sums and it needs no transposed
/// weight (a copy of the weight on every call, which a small batch does not repay).
#[cfg(target_arch = "x86_64")]
const AVX2_DOTS_MIN_INPUTS: usize = 384;

/// Batch rows from which the broadcast form wins even for long inputs: the dot-product form
/// streams both operands from L2 with little reuse, while the broadcast form keeps a block of
/// rows in L1 against the transposed weight in L2 (docs/decisions.md, "AVX2 Linear kernels").
#[cfg(target_arch = "x86_64")]
const AVX2_DOTS_MAX_ROWS: usize = 128;

/// Batch rows from which the AVX2 weight gradient replaces `dense.rs`: with fewer, a product
/// is mostly stores and set-up, which `dense.rs` does with less overhead (batch 1: 0.5x,
/// batch 16: 0.8x, batch 32: 0.9-1.2x, batch 64: 1.0-1.1x, batch 256: 1.1-1.7x).
#[cfg(target_arch = "x86_64")]
const AVX2_WEIGHT_MIN_ROWS: usize = 48;

/// Whether the AVX2 input gradient replaces `dense.rs`: for one or two rows (its wider blocks
/// keep 8 independent sums where `dense.rs` has 2: 1.4-2.6x), and for weights of 64k values or
/// more from 16 rows (a 16-column panel of the weight stays in L1 while `dense.rs` streams the
/// whole weight from L2 for every 4 rows: 1.05-1.2x). Elsewhere `dense.rs`, whose blocks have
/// compile-time strides and less set-up, is 5-10% faster.
#[cfg(target_arch = "x86_64")]
const fn avx2_input_gradient_wins(inputs: usize, outputs: usize, rows: usize) -> bool {
    rows <= 2 || (inputs * outputs >= 1 << 16 && rows >= 16)
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// The transposed weight of the last batched forward on this thread; grows to the largest
    /// layer once, then is reused (no allocation per step).
    static TRANSPOSED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The transposed output gradient of the last AVX2 weight gradient on this thread; grows
    /// to the largest layer and batch once, then is reused.
    static GRADIENT_TRANSPOSED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on `buffer` grown to at least `len` values (it never shrinks).
fn with_buffer(
    buffer: &'static std::thread::LocalKey<std::cell::RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]),
) {
    buffer.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        f(&mut buffer[..len]);
    });
}

/// The AVX-512 forward against the weight transposed panel by panel ([`avx512::PANEL`]
/// outputs each). Below [`AVX512_ROW_SPLIT_MIN_ROWS`] rows the threads split the panels: each
/// transposes its panels and computes them for every row, so a transposed panel is never read by
/// a core other than the one that wrote it: reading what another core just wrote is slow enough
/// to undo the split (docs/decisions.md, "AVX-512 on two cores"). From that many rows, and for a
/// layer of one panel (which a split by panels would leave to one thread), the copy is split by
/// panels and the products by rows, which balances better and repays the shared copy.
#[cfg(target_arch = "x86_64")]
fn forward_avx512_transposed<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    let panel_len = IN * avx512::PANEL;
    with_buffer(&TRANSPOSED, avx512::transposed_len(IN, OUT), |wt| {
        if x.len() < AVX512_ROW_SPLIT_MIN_ROWS && OUT > avx512::PANEL {
            let outputs = avx512::Outputs::new(y);
            return split_rows(wt, panel_len, x.len(), PARALLEL_MIN_MACS, |first, panels| {
                #[allow(unsafe_code)]
                // SAFETY: the caller checked that the CPU supports AVX-512F; the parts hold
                // disjoint panels, so they write disjoint columns of `y`.
                unsafe {
                    avx512::transpose_panels(w, first / panel_len, panels);
                    avx512::forward_transposed(x, first / panel_len, panels, bias, &outputs, activation)
                }
            });
        }
        split_rows(wt, panel_len, 1, PARALLEL_MIN_TRANSPOSE, |first, panels| {
            #[allow(unsafe_code)]
            // SAFETY: the caller checked that the CPU supports AVX-512F.
            unsafe {
                avx512::transpose_panels(w, first / panel_len, panels)
            }
        });
        let wt = &*wt;
        split_rows(y, 6, IN * OUT, PARALLEL_MIN_MACS, |first, y| {
            #[allow(unsafe_code)]
            // SAFETY: as above; each part writes only its own rows.
            unsafe {
                avx512::forward_transposed(
                    &x[first..first + y.len()],
                    0,
                    wt,
                    bias,
                    &avx512::Outputs::new(y),
                    activation,
                )
            }
        });
    });
}

/// The AVX-512 dot-product forward of a batch split by outputs: each thread reads only its own
/// rows of the weight (the rows it updated in the last optimizer step, as the launcher takes
/// the first parts and a worker the last), not the whole weight from the other core's cache.
/// From [`AVX512_ROW_SPLIT_MIN_ROWS`] rows the batch is split by rows instead (`forward`).
#[cfg(target_arch = "x86_64")]
fn forward_avx512_columns<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    let outputs = avx512::Outputs::new(y);
    split_range(OUT, 4, x.len() * IN, PARALLEL_MIN_MACS, |first, end| {
        #[allow(unsafe_code)]
        // SAFETY: the caller checked that the CPU supports AVX-512F; the parts hold disjoint
        // outputs, so they write disjoint columns of `y`.
        unsafe {
            avx512::forward_columns(x, w, bias, first..end, &outputs, activation)
        }
    });
}

/// The AVX2 forward: one row's outputs split across running workers; dot products against the
/// weight as it is for fewer than [`TRANSPOSE_MIN_ROWS`] rows, or long inputs and fewer than
/// [`AVX2_DOTS_MAX_ROWS`] rows; else broadcast micro-kernels against a transposed weight. The
/// caller checked the CPU.
#[cfg(target_arch = "x86_64")]
fn forward_avx2<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    if let ([x], [y]) = (x, &mut *y) {
        // A single-sample forward never allocates: only workers already running join in.
        return split_rows_on(Pool::Running, y, 8, IN, ONE_ROW_PARALLEL_MIN_MACS, |first, y| {
            #[allow(unsafe_code)]
            // SAFETY: the caller checked that the CPU supports AVX2 and FMA.
            unsafe {
                avx2::forward_dots_outputs(x, w, bias, first, y, activation)
            }
        });
    }
    if x.len() < TRANSPOSE_MIN_ROWS || (IN >= AVX2_DOTS_MIN_INPUTS && x.len() < AVX2_DOTS_MAX_ROWS) {
        return split_rows(y, 4, IN * OUT, PARALLEL_MIN_MACS, |first, y| {
            #[allow(unsafe_code)]
            // SAFETY: the caller checked that the CPU supports AVX2 and FMA.
            unsafe {
                avx2::forward_dots(&x[first..first + y.len()], w, bias, y, activation)
            }
        });
    }
    forward_avx2_with_transposed(x, w, bias, y, activation)
}

/// The AVX2 forward by broadcast micro-kernels against the weight transposed. The caller
/// checked the CPU.
#[cfg(target_arch = "x86_64")]
fn forward_avx2_with_transposed<const IN: usize, const OUT: usize>(
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    with_buffer(&TRANSPOSED, avx2::transposed_len(IN, OUT), |wt| {
        // The copy is split by panels of 8 outputs: with 784x128 it is 2-4% of a batch-1024
        // forward, which the second thread would otherwise wait through.
        let (panels, bias_row) = wt.split_at_mut(IN * avx2::padded(OUT));
        split_rows(panels, IN * 8, 1, PARALLEL_MIN_TRANSPOSE, |first, panels| {
            #[allow(unsafe_code)]
            // SAFETY: the caller checked that the CPU supports AVX2 and FMA.
            unsafe {
                avx2::transpose_panels(w, first / IN, panels)
            }
        });
        avx2::transpose_bias(bias, bias_row);
        let wt = &*wt;
        split_rows(y, avx2::ROWS, IN * OUT, PARALLEL_MIN_MACS, |first, y| {
            #[allow(unsafe_code)]
            // SAFETY: as above.
            unsafe {
                avx2::forward_transposed(&x[first..first + y.len()], wt, y, activation)
            }
        });
    });
}

fn forward_serial<const IN: usize, const OUT: usize>(
    path: Path,
    x: &[[f32; IN]],
    w: &[[f32; IN]; OUT],
    bias: &[f32; OUT],
    y: &mut [[f32; OUT]],
    activation: Activation,
) {
    #[cfg(target_arch = "x86_64")]
    if path.avx512() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe {
            avx512::forward(x, w, bias, y, activation)
        };
        return;
    }
    let _ = path;
    dense::linear_forward(x, w, bias, y, activation);
}

/// `dx[b] = sum_o g[b][o] * w[o]`: the gradient with respect to the input, overwriting `dx`.
///
/// ```
/// let mut dx = [[0.0; 2]];
/// nn_runtime::kernel::linear_backward_input(&[[1.0, 10.0]], &[[3.0, 4.0], [5.0, 6.0]], &mut dx);
/// assert_eq!(dx, [[53.0, 64.0]]);
/// ```
pub fn linear_backward_input<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
) {
    backward_input(Path::Auto, g, w, dx, None)
}

/// `dx[b][i] = (sum_o g[b][o] * w[o][i]) * (relu_outputs[b][i] > 0 ? 1 : 0)`: the input
/// gradient of a Linear layer whose input a ReLU produced, followed by that ReLU's backward,
/// applied by the kernel as it stores each value (the same bits as
/// [`linear_backward_input`] then the `ReLU` layer's backward).
///
/// ```
/// // the ReLU's outputs [2, 0]: the second input's gradient is masked
/// let mut dx = [[0.0; 2]];
/// nn_runtime::kernel::linear_backward_input_relu(&[[1.0, 10.0]], &[[3.0, 4.0], [5.0, 6.0]], &[[2.0, 0.0]], &mut dx);
/// assert_eq!(dx, [[53.0, 0.0]]);
/// ```
pub fn linear_backward_input_relu<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    relu_outputs: &[[f32; IN]],
    dx: &mut [[f32; IN]],
) {
    backward_input(Path::Auto, g, w, dx, Some(relu_outputs))
}

fn backward_input<const IN: usize, const OUT: usize>(
    path: Path,
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
    relu_outputs: Option<&[[f32; IN]]>,
) {
    assert_eq!(
        g.len(),
        dx.len(),
        "linear_backward_input: as many input gradients as output gradients"
    );
    assert!(
        relu_outputs.is_none_or(|y| y.len() == dx.len()),
        "linear_backward_input_relu: as many ReLU outputs as input gradients"
    );
    // The rows of the ReLU's outputs that go with the input gradient's rows `first..`.
    let relu_rows = |first: usize, len: usize| relu_outputs.map(|y| &y[first..first + len]);
    #[cfg(target_arch = "x86_64")]
    if path.avx2(avx2_input_gradient_wins(IN, OUT, g.len())) {
        return split_rows(dx, avx2::ROWS, IN * OUT, PARALLEL_MIN_MACS, |first, dx| {
            #[allow(unsafe_code)]
            // SAFETY: the CPU supports AVX2 and FMA (checked by `Path`).
            unsafe {
                avx2::backward_input(&g[first..first + dx.len()], w, dx, relu_rows(first, dx.len()))
            }
        });
    }
    split_rows(dx, 4, IN * OUT, PARALLEL_MIN_MACS, |first, dx| {
        backward_input_serial(path, &g[first..first + dx.len()], w, dx, relu_rows(first, dx.len()))
    });
}

fn backward_input_serial<const IN: usize, const OUT: usize>(
    path: Path,
    g: &[[f32; OUT]],
    w: &[[f32; IN]; OUT],
    dx: &mut [[f32; IN]],
    relu_outputs: Option<&[[f32; IN]]>,
) {
    #[cfg(target_arch = "x86_64")]
    if path.avx512() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe {
            avx512::backward_input(g, w, dx, relu_outputs)
        };
        return;
    }
    let _ = path;
    dense::linear_backward_input(g, w, dx, relu_outputs);
}

/// `dw[o] = sum_b g[b][o] * x[b]` and `db[o] = sum_b g[b][o]`: the parameter gradients,
/// overwriting `dw` and `db`.
///
/// ```
/// let (mut dw, mut db) = ([[0.0; 2]; 1], [0.0]);
/// nn_runtime::kernel::linear_backward_weight(&[[2.0], [1.0]], &[[1.0, 2.0], [3.0, 4.0]], &mut dw, &mut db);
/// assert_eq!((dw, db), ([[5.0, 8.0]], [3.0]));
/// ```
pub fn linear_backward_weight<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    dw: &mut [[f32; IN]; OUT],
    db: &mut [f32; OUT],
) {
    backward_weight(Path::Auto, g, x, dw, db)
}

fn backward_weight<const IN: usize, const OUT: usize>(
    path: Path,
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    dw: &mut [[f32; IN]; OUT],
    db: &mut [f32; OUT],
) {
    assert_eq!(
        g.len(),
        x.len(),
        "linear_backward_weight: as many output gradients as inputs"
    );
    #[cfg(target_arch = "x86_64")]
    let avx2 = path.avx2(g.len() >= AVX2_WEIGHT_MIN_ROWS);
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    if avx2 {
        #[cfg(target_arch = "x86_64")]
        backward_weight_avx2(g, x, dw);
    } else if g.len() >= 2 * WEIGHT_GROUP_ROWS {
        return backward_weight_grouped(path, g, x, dw, db);
    } else {
        split_rows(&mut dw[..], 4, IN * g.len(), PARALLEL_MIN_MACS, |first, dw| {
            backward_weight_serial(path, g, x, first, dw)
        });
    }
    bias_gradient::<OUT>(g.as_flattened(), db);
}

/// Batch rows whose terms of a weight gradient are summed together before the groups are
/// added up, in group order (a fixed number for every thread count, so the same bits).
const WEIGHT_GROUP_ROWS: usize = 256;

thread_local! {
    /// Each group's sums of the last grouped weight gradient on this thread; grows to the
    /// largest layer and batch once, then is reused.
    static WEIGHT_GROUP_SUMS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The weight and bias gradients of a large batch, in groups of [`WEIGHT_GROUP_ROWS`] rows: a
/// thread computes whole groups (or parts of one), so it reads the batch rows it wrote itself
/// in the forward and backward passes, which are split by rows too; reading rows another core
/// just wrote is slow (docs/decisions.md, "Weight gradients by groups of rows"). The groups'
/// sums are then added, split by rows of the gradient.
fn backward_weight_grouped<const IN: usize, const OUT: usize>(
    path: Path,
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    dw: &mut [[f32; IN]; OUT],
    db: &mut [f32; OUT],
) {
    let groups = g.len().div_ceil(WEIGHT_GROUP_ROWS);
    // Row `group * OUT + o` of the weight sums is row `o` of a group's sum; each of those rows
    // has its bias sum, value `group * OUT + o` of the bias sums.
    with_buffer(&WEIGHT_GROUP_SUMS, groups * OUT * (IN + 1), |sums| {
        let (weight_sums, bias_sums) = sums.split_at_mut(groups * OUT * IN);
        let (weight_rows, _) = weight_sums.as_chunks_mut::<IN>();
        split_rows_with(
            weight_rows,
            bias_sums,
            1,
            IN * WEIGHT_GROUP_ROWS,
            PARALLEL_MIN_MACS,
            |first, mut part, mut bias| {
                let mut index = first;
                while !part.is_empty() {
                    let (group, output) = (index / OUT, index % OUT);
                    let take = (OUT - output).min(part.len());
                    let (head, rest) = std::mem::take(&mut part).split_at_mut(take);
                    let (bias_head, bias_rest) = std::mem::take(&mut bias).split_at_mut(take);
                    let rows = group * WEIGHT_GROUP_ROWS..((group + 1) * WEIGHT_GROUP_ROWS).min(g.len());
                    backward_weight_serial(path, &g[rows.clone()], &x[rows.clone()], output, head);
                    bias_columns(g[rows].as_flattened(), OUT, output, bias_head);
                    index += take;
                    (part, bias) = (rest, bias_rest);
                }
            },
        );
        let (weight_sums, bias_sums) = (&*weight_sums, &*bias_sums);
        split_rows(&mut dw[..], 4, IN * groups, PARALLEL_MIN_VALUES, |first, dw| {
            add_group_sums(&weight_sums[first * IN..], OUT * IN, dw.as_flattened_mut());
        });
        add_group_sums(bias_sums, OUT, db);
    });
}

widest_vectors! {
    /// `sums[j] = sum_b g[b][first + j]` over the rows of `g` (`width` values each), in row
    /// order.
    fn bias_columns(g: &[f32], width: usize, first: usize, sums: &mut [f32]) {
        sums.fill(0.0);
        let n = sums.len();
        for row in g.chunks_exact(width) {
            let row = &row[first..first + n];
            for j in 0..n {
                sums[j] += row[j];
            }
        }
    }
}

/// Values below which the group sums of a weight gradient are added on one thread.
const PARALLEL_MIN_VALUES: usize = 32_768;

widest_vectors! {
    /// `total[i] = sums[i] + sums[stride + i] + sums[2 * stride + i] + ...`, in that order, over
    /// as many groups as `sums` holds.
    fn add_group_sums(sums: &[f32], stride: usize, total: &mut [f32]) {
        let n = total.len().min(sums.len());
        total[..n].copy_from_slice(&sums[..n]);
        for group in sums.chunks(stride).skip(1) {
            let n = n.min(group.len());
            let (total, group) = (&mut total[..n], &group[..n]);
            for i in 0..n {
                total[i] += group[i];
            }
        }
    }
}

widest_vectors! {
    /// `db = sum_b g[b]`, summed in row order.
    fn bias_gradient<const OUT: usize>(g: &[f32], db: &mut [f32; OUT]) {
        db.fill(0.0);
        for g_row in g.chunks_exact(OUT) {
            for o in 0..OUT {
                db[o] += g_row[o];
            }
        }
    }
}

/// The AVX2 weight gradient: the output gradient transposed once (so that each output row's
/// scalars are consecutive), then broadcast micro-kernels over the output rows. The caller
/// checked the CPU.
#[cfg(target_arch = "x86_64")]
fn backward_weight_avx2<const IN: usize, const OUT: usize>(
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    dw: &mut [[f32; IN]; OUT],
) {
    with_buffer(&GRADIENT_TRANSPOSED, OUT * g.len(), |gt| {
        #[allow(unsafe_code)]
        // SAFETY: the caller checked that the CPU supports AVX2 and FMA.
        unsafe {
            avx2::transpose_gradient(g, gt)
        };
        let gt = &*gt;
        split_rows(&mut dw[..], avx2::ROWS, IN * g.len(), PARALLEL_MIN_MACS, |first, dw| {
            #[allow(unsafe_code)]
            // SAFETY: as above.
            unsafe {
                avx2::backward_weight_rows::<IN, OUT>(gt, x, first, dw)
            }
        });
    });
}

fn backward_weight_serial<const IN: usize, const OUT: usize>(
    path: Path,
    g: &[[f32; OUT]],
    x: &[[f32; IN]],
    first: usize,
    dw: &mut [[f32; IN]],
) {
    #[cfg(target_arch = "x86_64")]
    if path.avx512() {
        #[allow(unsafe_code)]
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe {
            avx512::backward_weight_rows(g, x, first, dw)
        };
        return;
    }
    let _ = path;
    dense::linear_backward_weight_rows(g, x, first, dw);
}
