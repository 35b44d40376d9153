//! `Linear<IN, OUT>`: `y = x W^T + b`, as `torch.nn.Linear(IN, OUT)`.

use super::{Layer, Mode, Module};
use crate::kernel::{
    linear_backward_input, linear_backward_input_relu, linear_backward_weight, linear_forward, linear_forward_relu,
};
use crate::AlignedBox;
use crate::Rng;
use crate::Tensor;

/// A fully connected layer from `IN` to `OUT` features, PyTorch's `nn.Linear(IN, OUT)`.
///
/// The weight is stored `[OUT][IN]`, row-major, exactly as PyTorch stores it, on the heap.
///
/// ```
/// use nn::prelude::*;
/// let mut layer = Linear::<2, 1>::zeros();
/// layer.weight[0] = [2.0, 3.0];
/// layer.bias[0] = 1.0;
/// assert_eq!(layer.forward(&[1.0, 1.0]), [6.0]);
/// ```
#[derive(Clone, PartialEq)]
pub struct Linear<const IN: usize, const OUT: usize> {
    /// `weight[o][i]` multiplies input `i` into output `o`.
    pub weight: AlignedBox<[[f32; IN]; OUT]>,
    /// Added to each output.
    pub bias: AlignedBox<[f32; OUT]>,
    /// Whether training leaves the weights alone ([`Module::set_frozen`]).
    frozen: bool,
}

/// Shows the shapes, not the 100,000 numbers a weight matrix may hold.
impl<const IN: usize, const OUT: usize> std::fmt::Debug for Linear<IN, OUT> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Linear<{IN}, {OUT}> {{ weight: [{OUT}, {IN}], bias: [{OUT}] }}")
    }
}

impl<const IN: usize, const OUT: usize> Module for Linear<IN, OUT> {
    const NUM_PARAMS: usize = IN * OUT + OUT;

    /// PyTorch's default: weight and bias uniform in `[-1/sqrt(IN), 1/sqrt(IN))`
    /// (`kaiming_uniform_(a=sqrt(5))` reduces to this bound), weight first, row by row.
    fn init_with(rng: &mut Rng) -> Self {
        let bound = 1.0 / (IN as f32).sqrt();
        let mut layer = Self::zeros();
        layer
            .weight
            .as_flattened_mut()
            .iter_mut()
            .for_each(|w| *w = rng.uniform(-bound, bound));
        layer.bias.iter_mut().for_each(|b| *b = rng.uniform(-bound, bound));
        layer
    }

    fn zeros() -> Self {
        Linear {
            weight: AlignedBox::zeros(),
            bias: AlignedBox::new([0.0; OUT]),
            frozen: false,
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        visit(&format!("{prefix}weight"), &[OUT, IN], self.weight.as_flattened());
        visit(&format!("{prefix}bias"), &[OUT], &self.bias[..]);
    }

    fn visit_params_mut(&mut self, prefix: &str, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        visit(&format!("{prefix}weight"), &[OUT, IN], self.weight.as_flattened_mut());
        visit(&format!("{prefix}bias"), &[OUT], &mut self.bias[..]);
    }

    fn zip_params(&mut self, grads: &Self, update: &mut dyn FnMut(&mut [f32], &[f32])) {
        if self.frozen {
            return;
        }
        update(self.weight.as_flattened_mut(), grads.weight.as_flattened());
        update(&mut self.bias[..], &grads.bias[..]);
    }

    fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
    }
}

impl<const IN: usize, const OUT: usize> Layer<[f32; IN]> for Linear<IN, OUT> {
    type Output = [f32; OUT];
    type Cache = ();

    /// The batched kernel on a batch of one: the same bits as the sample would get in a batch.
    fn forward(&self, input: &[f32; IN]) -> [f32; OUT] {
        let mut output = [[0.0; OUT]];
        linear_forward(std::slice::from_ref(input), &self.weight, &self.bias, &mut output);
        output[0]
    }

    fn forward_batch(&self, input: &[[f32; IN]], output: &mut [[f32; OUT]], _cache: &mut (), _mode: Mode) {
        linear_forward(input, &self.weight, &self.bias, output);
    }

    fn backward_batch(
        &self,
        input: &[[f32; IN]],
        _output: &[[f32; OUT]],
        grad_output: &[[f32; OUT]],
        grad_input: Option<&mut [[f32; IN]]>,
        _cache: &mut (),
        grads: &mut Self,
    ) {
        self.backward_batch_fused(input, grad_output, grad_input, false, grads);
    }
}

/// What a network's generated code calls around a `ReLU` between two `Linear` layers, so that
/// the ReLU is applied in the Linear kernels instead of in passes of its own (`network!` does
/// this for every `Linear -> ReLU -> Linear`; the results are the same bits). Implemented by
/// [`Linear`] only. Not a public API: it may change in any release.
#[doc(hidden)]
pub trait FusedRelu<I: Tensor>: Layer<I> {
    /// The batched forward followed by `ReLU`, applied as the kernel stores each output
    /// ([`crate::kernel::linear_forward_relu`]).
    fn forward_batch_relu(&self, input: &[I], output: &mut [Self::Output]);

    /// The batched backward, which needs no output. With `input_from_relu` the input is the
    /// output of a `ReLU` whose backward is applied too: `grad_input` receives the gradient with
    /// respect to the ReLU's input ([`crate::kernel::linear_backward_input_relu`]).
    fn backward_batch_fused(
        &self,
        input: &[I],
        grad_output: &[Self::Output],
        grad_input: Option<&mut [I]>,
        input_from_relu: bool,
        grads: &mut Self,
    );
}

impl<const IN: usize, const OUT: usize> FusedRelu<[f32; IN]> for Linear<IN, OUT> {
    fn forward_batch_relu(&self, input: &[[f32; IN]], output: &mut [[f32; OUT]]) {
        linear_forward_relu(input, &self.weight, &self.bias, output);
    }

    fn backward_batch_fused(
        &self,
        input: &[[f32; IN]],
        grad_output: &[[f32; OUT]],
        grad_input: Option<&mut [[f32; IN]]>,
        input_from_relu: bool,
        grads: &mut Self,
    ) {
        // A frozen layer computes no parameter gradient: optimizers skip it anyway.
        if !self.frozen {
            linear_backward_weight(grad_output, input, &mut grads.weight, &mut grads.bias);
        }
        match (grad_input, input_from_relu) {
            (Some(grad_input), true) => linear_backward_input_relu(grad_output, &self.weight, input, grad_input),
            (Some(grad_input), false) => linear_backward_input(grad_output, &self.weight, grad_input),
            (None, _) => {}
        }
    }
}

/// PyTorch's `Linear` on a sequence: the same map applied to each of the `T` rows, so a batch
/// of sequences is one product over `batch * T` rows.
impl<const IN: usize, const OUT: usize, const T: usize> Layer<[[f32; IN]; T]> for Linear<IN, OUT> {
    type Output = [[f32; OUT]; T];
    type Cache = ();

    fn forward(&self, input: &[[f32; IN]; T]) -> [[f32; OUT]; T] {
        let mut output = [[0.0; OUT]; T];
        linear_forward(input, &self.weight, &self.bias, &mut output);
        output
    }

    fn forward_batch(&self, input: &[[[f32; IN]; T]], output: &mut [[[f32; OUT]; T]], _cache: &mut (), _mode: Mode) {
        linear_forward(
            input.as_flattened(),
            &self.weight,
            &self.bias,
            output.as_flattened_mut(),
        );
    }

    fn backward_batch(
        &self,
        input: &[[[f32; IN]; T]],
        _output: &[[[f32; OUT]; T]],
        grad_output: &[[[f32; OUT]; T]],
        grad_input: Option<&mut [[[f32; IN]; T]]>,
        _cache: &mut (),
        grads: &mut Self,
    ) {
        self.backward_batch_fused(input, grad_output, grad_input, false, grads);
    }
}

impl<const IN: usize, const OUT: usize, const T: usize> FusedRelu<[[f32; IN]; T]> for Linear<IN, OUT> {
    fn forward_batch_relu(&self, input: &[[[f32; IN]; T]], output: &mut [[[f32; OUT]; T]]) {
        linear_forward_relu(
            input.as_flattened(),
            &self.weight,
            &self.bias,
            output.as_flattened_mut(),
        );
    }

    fn backward_batch_fused(
        &self,
        input: &[[[f32; IN]; T]],
        grad_output: &[[[f32; OUT]; T]],
        grad_input: Option<&mut [[[f32; IN]; T]]>,
        input_from_relu: bool,
        grads: &mut Self,
    ) {
        FusedRelu::<[f32; IN]>::backward_batch_fused(
            self,
            input.as_flattened(),
            grad_output.as_flattened(),
            grad_input.map(|rows| rows.as_flattened_mut()),
            input_from_relu,
            grads,
        );
    }
}
