//! How a generated network's inherent `forward` exists even when its chain does not fit, so
//! that the one error a user sees is the one at the layer that is wrong, not another at every
//! call of `forward`. Not a public API: generated code reaches it through `nn::__private`.
//!
//! Method resolution tries `ForwardFits` first (on `&&ForwardDispatch`), which applies only when
//! the network is a `Layer` with the declared input and output; otherwise it falls back to
//! `ForwardDoesNotFit` (on `&ForwardDispatch`), which is never run: the crate does not compile.

use std::marker::PhantomData;

use super::Layer;
use crate::Input;

/// A network and the input and output its declaration states.
pub struct ForwardDispatch<'a, N, I, O> {
    network: &'a N,
    types: PhantomData<fn(&I) -> O>,
}

impl<'a, N, I, O> ForwardDispatch<'a, N, I, O> {
    /// Wraps `network` for [`ForwardFits`] or [`ForwardDoesNotFit`].
    pub fn new(network: &'a N) -> Self {
        ForwardDispatch {
            network,
            types: PhantomData,
        }
    }
}

/// The network's chain fits: its `Layer::forward`.
pub trait ForwardFits<I, O> {
    /// One sample through the network.
    fn run(&self, input: &I) -> O;
}

impl<N: Layer<I, Output = O>, I: Input, O> ForwardFits<I, O> for &ForwardDispatch<'_, N, I, O> {
    fn run(&self, input: &I) -> O {
        self.network.forward(input)
    }
}

/// The network's chain does not fit; the error at the layer already stops the build.
pub trait ForwardDoesNotFit<I, O> {
    /// Never runs.
    fn run(&self, input: &I) -> O;
}

impl<N, I, O> ForwardDoesNotFit<I, O> for ForwardDispatch<'_, N, I, O> {
    fn run(&self, _input: &I) -> O {
        unreachable!("a network whose chain does not fit does not compile")
    }
}
