//! What `#[param(init = ..)]` of `#[derive(Module)]` accepts: a constant, [`uniform`],
//! [`uniform_fan_in`], or a closure of the generator ([`from_fn`]). Not a public API: generated code reaches
//! it through `nn::__private`, and users write the two functions' names bare in the attribute.

use crate::Rng;

/// A rule giving each value of a tensor at initialisation.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot initialise a tensor",
    label = "not a number, `uniform(low, high)`, `uniform_fan_in(fan_in)` or closure",
    note = "write `init = 1.0`, `init = uniform(-0.1, 0.1)`, `init = uniform_fan_in(IN)` or `init = |rng| rng.uniform(0.0, 1.0)`"
)]
pub trait Init {
    /// The next value, drawn from `rng` if random.
    fn value(&self, rng: &mut Rng) -> f32;
}

/// Every value the same (`init = 1.0`); an integer or an f64 constant is converted to f32.
impl Init for f32 {
    fn value(&self, _rng: &mut Rng) -> f32 {
        *self
    }
}

impl Init for f64 {
    fn value(&self, _rng: &mut Rng) -> f32 {
        *self as f32
    }
}

impl Init for i32 {
    fn value(&self, _rng: &mut Rng) -> f32 {
        *self as f32
    }
}

/// A rule written as a closure, `init = |rng| rng.uniform(0.0, 1.0).sqrt()`: see [`from_fn`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct FromFn<F>(F);

impl<F: Fn(&mut Rng) -> f32> Init for FromFn<F> {
    fn value(&self, rng: &mut Rng) -> f32 {
        (self.0)(rng)
    }
}

/// The closure of `init = |rng| ..`, which the derive wraps in this call so that the type of
/// `rng` is inferred (a bound on `Init` alone would not name it).
pub fn from_fn<F: Fn(&mut Rng) -> f32>(rule: F) -> FromFn<F> {
    FromFn(rule)
}

/// Values uniform in `[low, high)`: see [`uniform`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Uniform {
    low: f32,
    high: f32,
}

impl Init for Uniform {
    fn value(&self, rng: &mut Rng) -> f32 {
        rng.uniform(self.low, self.high)
    }
}

/// Values uniform in `[low, high)`, as `torch.nn.init.uniform_(tensor, low, high)`.
pub fn uniform(low: f32, high: f32) -> Uniform {
    Uniform { low, high }
}

/// Values uniform in `[-1/sqrt(fan_in), 1/sqrt(fan_in))`: PyTorch's default for the weight and
/// bias of `nn.Linear(fan_in, ..)` (its `kaiming_uniform_(a=sqrt(5))` reduces to this bound).
pub fn uniform_fan_in(fan_in: usize) -> Uniform {
    let bound = 1.0 / (fan_in as f32).sqrt();
    uniform(-bound, bound)
}

/// Sets `values` (a tensor's, row-major) to what `init` gives, in order.
pub fn fill(values: &mut [f32], init: impl Init, rng: &mut Rng) {
    values.iter_mut().for_each(|value| *value = init.value(rng));
}
