//! [`Shape`]: a Linear layer's sizes as run-time values.

/// The sizes of one Linear layer, passed at run time.
///
/// The kernels' entry points are generic over the sizes (so that the compiler checks them), but
/// their bodies take them as values: a generic body is compiled again for every layer shape of
/// every calling crate (three shapes and three instruction sets for the seed network), a body
/// that is not is compiled once, in this crate.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    pub(super) inputs: usize,
    pub(super) outputs: usize,
}

impl Shape {
    pub(super) const fn of<const IN: usize, const OUT: usize>() -> Shape {
        Shape {
            inputs: IN,
            outputs: OUT,
        }
    }

    /// Whether a product of this shape has anything to multiply (`chunks_exact` needs sizes
    /// above zero).
    pub(super) const fn is_empty(self) -> bool {
        self.inputs == 0 || self.outputs == 0
    }
}
