/// The classic MNIST classifier.
///
/// # Layers
///
/// ```text
///    input             [28, 28]
/// 0  Flatten           [784]           0
/// 1  Linear<784, 128>  [128]     100,480
/// 2  ReLU              [128]           0
/// 3  Linear<128, 64>   [64]        8,256
/// 4  ReLU              [64]            0
/// 5  Linear<64, 10>    [10]          650
/// ```
///
/// 109,386 parameters.
pub struct MnistMlp {
    /// `Flatten`, saved under the key prefix `0.`
    pub layer_0: ::nn::__private::Flatten<784>,
    /// `Linear<784, 128>`, saved under the key prefix `1.`
    pub layer_1: ::nn::__private::Linear<784, 128>,
    /// `ReLU`, saved under the key prefix `2.`
    pub layer_2: ::nn::__private::ReLU,
    /// `Linear<128, 64>`, saved under the key prefix `3.`
    pub layer_3: ::nn::__private::Linear<128, 64>,
    /// `ReLU`, saved under the key prefix `4.`
    pub layer_4: ::nn::__private::ReLU,
    /// `Linear<64, 10>`, saved under the key prefix `5.`
    pub layer_5: ::nn::__private::Linear<64, 10>,
}
const _: () = {
    use ::nn::__private as __nn;
    const _: () = {
        fn __takes<__L: __nn::Follows<__P, __I>, __P, __I>() {}
        fn __meets<__A: __nn::Meets<__B>, __B>() {}
        let _ = __takes::<
            ::nn::__private::Flatten<784>,
            __nn::NetworkInput,
            [[f32; 28]; 28],
        >;
        let _ = __takes::<
            ::nn::__private::Linear<784, 128>,
            ::nn::__private::Flatten<784>,
            [f32; 784],
        >;
        let _ = __takes::<
            ::nn::__private::ReLU,
            ::nn::__private::Linear<784, 128>,
            [f32; 128],
        >;
        let _ = __takes::<
            ::nn::__private::Linear<128, 64>,
            ::nn::__private::ReLU,
            [f32; 128],
        >;
        let _ = __takes::<
            ::nn::__private::ReLU,
            ::nn::__private::Linear<128, 64>,
            [f32; 64],
        >;
        let _ = __takes::<
            ::nn::__private::Linear<64, 10>,
            ::nn::__private::ReLU,
            [f32; 64],
        >;
    };
    const _: () = ::core::assert!(
        MnistMlp::NUM_PARAMS == < MnistMlp as __nn::Module > ::NUM_PARAMS
    );
    impl MnistMlp {
        /// Number of trainable parameters.
        pub const NUM_PARAMS: usize = 109386;
        /// A network initialised as PyTorch initialises each layer by default, from `seed`;
        /// the same seed gives bit-identical weights on every machine.
        pub fn init(seed: u64) -> Self {
            <Self as __nn::Module>::init_with(&mut __nn::Rng::seed(seed))
        }
        /// The network applied to one sample, without heap allocation.
        pub fn forward(&self, input: &[[f32; 28]; 28]) -> [f32; 10] {
            #[allow(unused_imports)]
            use __nn::{ForwardDoesNotFit as _, ForwardFits as _};
            (&&__nn::ForwardDispatch::<Self, [[f32; 28]; 28], [f32; 10]>::new(self))
                .run(input)
        }
        /// A table of the layers: key, type, output shape and parameters.
        pub fn summary(&self) -> __nn::String {
            const ROWS: &[__nn::SummaryRow] = &[
                __nn::SummaryRow {
                    key: "0",
                    layer: "Flatten",
                    output_shape: &[784],
                    params: <::nn::__private::Flatten<784> as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "1",
                    layer: "Linear<784, 128>",
                    output_shape: &[128],
                    params: <::nn::__private::Linear<
                        784,
                        128,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "2",
                    layer: "ReLU",
                    output_shape: &[128],
                    params: <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "3",
                    layer: "Linear<128, 64>",
                    output_shape: &[64],
                    params: <::nn::__private::Linear<
                        128,
                        64,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "4",
                    layer: "ReLU",
                    output_shape: &[64],
                    params: <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "5",
                    layer: "Linear<64, 10>",
                    output_shape: &[10],
                    params: <::nn::__private::Linear<64, 10> as __nn::Module>::NUM_PARAMS,
                },
            ];
            __nn::format_summary(
                "MnistMlp",
                <[[f32; 28]; 28] as __nn::Input>::DIMS,
                ROWS,
            )
        }
        /// Saves the weights to a safetensors file with PyTorch's `state_dict` keys.
        pub fn save(&self, path: impl AsRef<__nn::Path>) -> __nn::Result<()> {
            __nn::io::save(self, path.as_ref())
        }
        /// Loads weights saved by [`Self::save`] or by PyTorch for the same network,
        /// strictly: every key and every shape must match.
        pub fn load(path: impl AsRef<__nn::Path>) -> __nn::Result<Self> {
            __nn::io::load(path.as_ref())
        }
        /// Loads weights into this network as `options` say: strictly, or partially with a
        /// report of what did not fit, optionally renaming the file's keys (fine-tuning).
        pub fn load_from(
            &mut self,
            path: impl AsRef<__nn::Path>,
            options: &__nn::io::LoadOptions,
        ) -> __nn::Result<__nn::io::LoadReport> {
            __nn::io::load_with(self, path.as_ref(), options)
        }
    }
    impl ::core::clone::Clone for MnistMlp {
        fn clone(&self) -> Self {
            Self {
                layer_0: ::core::clone::Clone::clone(&self.layer_0),
                layer_1: ::core::clone::Clone::clone(&self.layer_1),
                layer_2: ::core::clone::Clone::clone(&self.layer_2),
                layer_3: ::core::clone::Clone::clone(&self.layer_3),
                layer_4: ::core::clone::Clone::clone(&self.layer_4),
                layer_5: ::core::clone::Clone::clone(&self.layer_5),
            }
        }
    }
    /// Names each layer and its type, not the values of its weights.
    impl ::core::fmt::Debug for MnistMlp {
        fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            __f.debug_struct("MnistMlp")
                .field(
                    ::core::stringify!(layer_0),
                    &::core::format_args!("{}", "Flatten"),
                )
                .field(
                    ::core::stringify!(layer_1),
                    &::core::format_args!("{}", "Linear<784, 128>"),
                )
                .field(::core::stringify!(layer_2), &::core::format_args!("{}", "ReLU"))
                .field(
                    ::core::stringify!(layer_3),
                    &::core::format_args!("{}", "Linear<128, 64>"),
                )
                .field(::core::stringify!(layer_4), &::core::format_args!("{}", "ReLU"))
                .field(
                    ::core::stringify!(layer_5),
                    &::core::format_args!("{}", "Linear<64, 10>"),
                )
                .finish()
        }
    }
    impl __nn::Module for MnistMlp {
        const NUM_PARAMS: usize = 0
            + <::nn::__private::Flatten<784> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Linear<784, 128> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Linear<128, 64> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Linear<64, 10> as __nn::Module>::NUM_PARAMS;
        fn init_with(__rng: &mut __nn::Rng) -> Self {
            Self {
                layer_0: __nn::Module::init_with(__rng),
                layer_1: __nn::Module::init_with(__rng),
                layer_2: __nn::Module::init_with(__rng),
                layer_3: __nn::Module::init_with(__rng),
                layer_4: __nn::Module::init_with(__rng),
                layer_5: __nn::Module::init_with(__rng),
            }
        }
        fn zeros() -> Self {
            Self {
                layer_0: __nn::Module::zeros(),
                layer_1: __nn::Module::zeros(),
                layer_2: __nn::Module::zeros(),
                layer_3: __nn::Module::zeros(),
                layer_4: __nn::Module::zeros(),
                layer_5: __nn::Module::zeros(),
            }
        }
        fn visit_params(
            &self,
            __prefix: &str,
            __visit: &mut dyn FnMut(&str, &[usize], &[f32]),
        ) {
            __nn::Module::visit_params(
                &self.layer_0,
                &__nn::String::from_iter([__prefix, "0."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_1,
                &__nn::String::from_iter([__prefix, "1."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_3,
                &__nn::String::from_iter([__prefix, "3."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_4,
                &__nn::String::from_iter([__prefix, "4."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_5,
                &__nn::String::from_iter([__prefix, "5."]),
                __visit,
            );
        }
        fn visit_params_mut(
            &mut self,
            __prefix: &str,
            __visit: &mut dyn FnMut(&str, &[usize], &mut [f32]),
        ) {
            __nn::Module::visit_params_mut(
                &mut self.layer_0,
                &__nn::String::from_iter([__prefix, "0."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_1,
                &__nn::String::from_iter([__prefix, "1."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_3,
                &__nn::String::from_iter([__prefix, "3."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_4,
                &__nn::String::from_iter([__prefix, "4."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_5,
                &__nn::String::from_iter([__prefix, "5."]),
                __visit,
            );
        }
        fn visit_counters(&self, __prefix: &str, __visit: &mut dyn FnMut(&str, i64)) {
            __nn::Module::visit_counters(
                &self.layer_0,
                &__nn::String::from_iter([__prefix, "0."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_1,
                &__nn::String::from_iter([__prefix, "1."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_3,
                &__nn::String::from_iter([__prefix, "3."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_4,
                &__nn::String::from_iter([__prefix, "4."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_5,
                &__nn::String::from_iter([__prefix, "5."]),
                __visit,
            );
        }
        fn visit_counters_mut(
            &mut self,
            __prefix: &str,
            __visit: &mut dyn FnMut(&str, &mut i64),
        ) {
            __nn::Module::visit_counters_mut(
                &mut self.layer_0,
                &__nn::String::from_iter([__prefix, "0."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_1,
                &__nn::String::from_iter([__prefix, "1."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_3,
                &__nn::String::from_iter([__prefix, "3."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_4,
                &__nn::String::from_iter([__prefix, "4."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_5,
                &__nn::String::from_iter([__prefix, "5."]),
                __visit,
            );
        }
        fn zip_params(
            &mut self,
            __grads: &Self,
            __update: &mut dyn FnMut(&mut [f32], &[f32]),
        ) {
            __nn::Module::zip_params(&mut self.layer_0, &__grads.layer_0, __update);
            __nn::Module::zip_params(&mut self.layer_1, &__grads.layer_1, __update);
            __nn::Module::zip_params(&mut self.layer_2, &__grads.layer_2, __update);
            __nn::Module::zip_params(&mut self.layer_3, &__grads.layer_3, __update);
            __nn::Module::zip_params(&mut self.layer_4, &__grads.layer_4, __update);
            __nn::Module::zip_params(&mut self.layer_5, &__grads.layer_5, __update);
        }
        fn set_frozen(&mut self, __frozen: bool) {
            __nn::Module::set_frozen(&mut self.layer_0, __frozen);
            __nn::Module::set_frozen(&mut self.layer_1, __frozen);
            __nn::Module::set_frozen(&mut self.layer_2, __frozen);
            __nn::Module::set_frozen(&mut self.layer_3, __frozen);
            __nn::Module::set_frozen(&mut self.layer_4, __frozen);
            __nn::Module::set_frozen(&mut self.layer_5, __frozen);
        }
    }
    /// Activations and gradients between layers, kept from the forward to the backward pass.
    #[derive(Default)]
    pub struct __MnistMlpCache {
        __grad_1: __nn::Buffer<[f32; 784]>,
        __grad_2: __nn::Buffer<[f32; 128]>,
        __act_3: __nn::Buffer<[f32; 128]>,
        __grad_4: __nn::Buffer<[f32; 64]>,
        __act_5: __nn::Buffer<[f32; 64]>,
        __cache_0: <::nn::__private::Flatten<
            784,
        > as __nn::Layer<[[f32; 28]; 28]>>::Cache,
        __cache_1: <::nn::__private::Linear<784, 128> as __nn::Layer<[f32; 784]>>::Cache,
        __cache_2: <::nn::__private::ReLU as __nn::Layer<[f32; 128]>>::Cache,
        __cache_3: <::nn::__private::Linear<128, 64> as __nn::Layer<[f32; 128]>>::Cache,
        __cache_4: <::nn::__private::ReLU as __nn::Layer<[f32; 64]>>::Cache,
        __cache_5: <::nn::__private::Linear<64, 10> as __nn::Layer<[f32; 64]>>::Cache,
    }
    impl __nn::Layer<[[f32; 28]; 28]> for MnistMlp {
        type Output = [f32; 10];
        type Cache = __MnistMlpCache;
        fn forward(&self, __input: &[[f32; 28]; 28]) -> [f32; 10] {
            let __x1 = __nn::Layer::<[[f32; 28]; 28]>::forward(&self.layer_0, __input);
            let __x2 = __nn::Layer::<[f32; 784]>::forward(&self.layer_1, &__x1);
            let __x3 = __nn::Layer::<[f32; 128]>::forward(&self.layer_2, &__x2);
            let __x4 = __nn::Layer::<[f32; 128]>::forward(&self.layer_3, &__x3);
            let __x5 = __nn::Layer::<[f32; 64]>::forward(&self.layer_4, &__x4);
            let __x6 = __nn::Layer::<[f32; 64]>::forward(&self.layer_5, &__x5);
            __x6
        }
        fn forward_batch(
            &self,
            __input: &[[[f32; 28]; 28]],
            __output: &mut [[f32; 10]],
            __cache: &mut Self::Cache,
            __mode: __nn::Mode,
        ) {
            let __batch = __input.len();
            let __act_1: &[[f32; 784]] = __nn::flatten_batch(__input);
            let __act_3 = __nn::prefix_mut(&mut __cache.__act_3, __batch);
            __nn::FusedRelu::<
                [f32; 784],
            >::forward_batch_relu(&self.layer_1, __act_1, &mut *__act_3);
            let __act_5 = __nn::prefix_mut(&mut __cache.__act_5, __batch);
            __nn::FusedRelu::<
                [f32; 128],
            >::forward_batch_relu(&self.layer_3, &*__act_3, &mut *__act_5);
            __nn::Layer::<
                [f32; 64],
            >::forward_batch(
                &self.layer_5,
                &*__act_5,
                __output,
                &mut __cache.__cache_5,
                __mode,
            );
        }
        fn backward_batch(
            &self,
            __input: &[[[f32; 28]; 28]],
            __output: &[[f32; 10]],
            __grad_output: &[[f32; 10]],
            __grad_input: __nn::Option<&mut [[[f32; 28]; 28]]>,
            __cache: &mut Self::Cache,
            __grads: &mut Self,
        ) {
            let __batch = __input.len();
            let __wants_input_grad = __grad_input.is_some();
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Flatten<784> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::Linear<784, 128> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::Linear<128, 64> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::Linear<64, 10> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_4, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::FusedRelu::<
                    [f32; 64],
                >::backward_batch_fused(
                    &self.layer_5,
                    &__cache.__act_5[..__batch],
                    __grad_output,
                    __grad_in,
                    true,
                    &mut __grads.layer_5,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Flatten<784> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::Linear<784, 128> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::Linear<128, 64> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_2, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::FusedRelu::<
                    [f32; 128],
                >::backward_batch_fused(
                    &self.layer_3,
                    &__cache.__act_3[..__batch],
                    &__cache.__grad_4[..__batch],
                    __grad_in,
                    true,
                    &mut __grads.layer_3,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Flatten<784> as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::Linear<784, 128> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_1, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::FusedRelu::<
                    [f32; 784],
                >::backward_batch_fused(
                    &self.layer_1,
                    __nn::flatten_batch(__input),
                    &__cache.__grad_2[..__batch],
                    __grad_in,
                    false,
                    &mut __grads.layer_1,
                );
            }
            if <::nn::__private::Flatten<784> as __nn::Module>::NUM_PARAMS > 0
                || __wants_input_grad
            {
                __nn::Layer::<
                    [[f32; 28]; 28],
                >::backward_batch(
                    &self.layer_0,
                    __input,
                    __nn::flatten_batch(__input),
                    &__cache.__grad_1[..__batch],
                    __grad_input,
                    &mut __cache.__cache_0,
                    &mut __grads.layer_0,
                );
            }
        }
        fn update_statistics(&mut self, __cache: &Self::Cache) {
            __nn::Layer::<
                [[f32; 28]; 28],
            >::update_statistics(&mut self.layer_0, &__cache.__cache_0);
            __nn::Layer::<
                [f32; 784],
            >::update_statistics(&mut self.layer_1, &__cache.__cache_1);
            __nn::Layer::<
                [f32; 128],
            >::update_statistics(&mut self.layer_2, &__cache.__cache_2);
            __nn::Layer::<
                [f32; 128],
            >::update_statistics(&mut self.layer_3, &__cache.__cache_3);
            __nn::Layer::<
                [f32; 64],
            >::update_statistics(&mut self.layer_4, &__cache.__cache_4);
            __nn::Layer::<
                [f32; 64],
            >::update_statistics(&mut self.layer_5, &__cache.__cache_5);
        }
        fn check_input(
            &self,
            __input: &[[f32; 28]; 28],
            __sample: usize,
        ) -> __nn::Result<()> {
            __nn::Layer::<[[f32; 28]; 28]>::check_input(&self.layer_0, __input, __sample)
        }
    }
};
