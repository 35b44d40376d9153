///
/// # Layers
///
/// ```text
///          input                           [HEIGHT, 8]
/// 0        Flatten                         [HEIGHT * 8]   0
/// fc1      Linear<{ HEIGHT * 8 }, HIDDEN>  [HIDDEN]       ?
/// 2        Tanh                            [HIDDEN]       0
/// encoder  my::Encoder                     ?              ?
/// head     Linear<16, 2>                   [2]           34
/// ```
///
/// The parameter count is `Self::NUM_PARAMS` (some sizes are not literals).
struct Mixed {
    /// `Flatten`, saved under the key prefix `0.`
    pub layer_0: ::my_nn::__private::Flatten<{ 1 * { HEIGHT } * 8 }>,
    /// `Linear<{ HEIGHT * 8 }, HIDDEN>`, saved under the key prefix `fc1.`
    pub fc1: ::my_nn::__private::Linear<{ HEIGHT * 8 }, { HIDDEN }>,
    /// `Tanh`, saved under the key prefix `2.`
    pub layer_2: ::my_nn::__private::Tanh,
    /// `my::Encoder`, saved under the key prefix `encoder.`
    pub encoder: my::Encoder,
    /// `Linear<16, 2>`, saved under the key prefix `head.`
    pub head: ::my_nn::__private::Linear<16, 2>,
}
const _: () = {
    use ::my_nn::__private as __nn;
    const _: () = {
        fn __takes<__L: __nn::Follows<__P, __I>, __P, __I>() {}
        fn __meets<__A: __nn::Meets<__B>, __B>() {}
        let _ = __takes::<
            ::my_nn::__private::Flatten<{ 1 * { HEIGHT } * 8 }>,
            __nn::NetworkInput,
            [[f32; 8]; { HEIGHT }],
        >;
        let _ = __takes::<
            ::my_nn::__private::Linear<{ HEIGHT * 8 }, { HIDDEN }>,
            ::my_nn::__private::Flatten<{ 1 * { HEIGHT } * 8 }>,
            [f32; { 1 * { HEIGHT } * 8 }],
        >;
        let _ = __takes::<
            ::my_nn::__private::Tanh,
            ::my_nn::__private::Linear<{ HEIGHT * 8 }, { HIDDEN }>,
            [f32; { HIDDEN }],
        >;
        let _ = __takes::<
            ::my_nn::__private::Linear<16, 2>,
            my::Encoder,
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
        >;
    };
    impl Mixed
    where
        for<'__nn> my::Encoder: __nn::Module,
    {
        /// Number of trainable parameters.
        pub const NUM_PARAMS: usize = <Self as __nn::Module>::NUM_PARAMS;
        /// A network initialised as PyTorch initialises each layer by default, from `seed`;
        /// the same seed gives bit-identical weights on every machine.
        pub fn init(seed: u64) -> Self {
            <Self as __nn::Module>::init_with(&mut __nn::Rng::seed(seed))
        }
        /// The network applied to one sample, without heap allocation.
        pub fn forward(&self, input: &[[f32; 8]; { HEIGHT }]) -> [f32; 2] {
            #[allow(unused_imports)]
            use __nn::{ForwardDoesNotFit as _, ForwardFits as _};
            (&&__nn::ForwardDispatch::<
                Self,
                [[f32; 8]; { HEIGHT }],
                [f32; 2],
            >::new(self))
                .run(input)
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
    impl Mixed
    where
        for<'__nn> ::my_nn::__private::Flatten<
            { 1 * { HEIGHT } * 8 },
        >: __nn::Layer<[[f32; 8]; { HEIGHT }], Output = [f32; { 1 * { HEIGHT } * 8 }]>,
        for<'__nn> ::my_nn::__private::Linear<
            { HEIGHT * 8 },
            { HIDDEN },
        >: __nn::Layer<[f32; { 1 * { HEIGHT } * 8 }], Output = [f32; { HIDDEN }]>,
        for<'__nn> ::my_nn::__private::Tanh: __nn::Layer<
            [f32; { HIDDEN }],
            Output = [f32; { HIDDEN }],
        >,
        for<'__nn> my::Encoder: __nn::Layer<[f32; { HIDDEN }]>,
        for<'__nn> ::my_nn::__private::Linear<
            16,
            2,
        >: __nn::Layer<
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
            Output = [f32; 2],
        >,
    {
        /// A table of the layers: key, type, output shape and parameters.
        pub fn summary(&self) -> __nn::String {
            const ROWS: &[__nn::SummaryRow] = &[
                __nn::SummaryRow {
                    key: "0",
                    layer: "Flatten",
                    output_shape: &[{ 1 * { HEIGHT } * 8 }],
                    params: <::my_nn::__private::Flatten<
                        { 1 * { HEIGHT } * 8 },
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "fc1",
                    layer: "Linear<{ HEIGHT * 8 }, HIDDEN>",
                    output_shape: &[{ HIDDEN }],
                    params: <::my_nn::__private::Linear<
                        { HEIGHT * 8 },
                        { HIDDEN },
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "2",
                    layer: "Tanh",
                    output_shape: &[{ HIDDEN }],
                    params: <::my_nn::__private::Tanh as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "encoder",
                    layer: "my::Encoder",
                    output_shape: <<my::Encoder as ::my_nn::__private::Layer<
                        [f32; { HIDDEN }],
                    >>::Output as __nn::Tensor>::SHAPE,
                    params: <my::Encoder as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "head",
                    layer: "Linear<16, 2>",
                    output_shape: &[2],
                    params: <::my_nn::__private::Linear<
                        16,
                        2,
                    > as __nn::Module>::NUM_PARAMS,
                },
            ];
            __nn::format_summary(
                "Mixed",
                <[[f32; 8]; { HEIGHT }] as __nn::Input>::DIMS,
                ROWS,
            )
        }
    }
    impl ::core::clone::Clone for Mixed
    where
        for<'__nn> ::my_nn::__private::Flatten<
            { 1 * { HEIGHT } * 8 },
        >: ::core::clone::Clone,
        for<'__nn> ::my_nn::__private::Linear<
            { HEIGHT * 8 },
            { HIDDEN },
        >: ::core::clone::Clone,
        for<'__nn> ::my_nn::__private::Tanh: ::core::clone::Clone,
        for<'__nn> my::Encoder: ::core::clone::Clone,
    {
        fn clone(&self) -> Self {
            Self {
                layer_0: ::core::clone::Clone::clone(&self.layer_0),
                fc1: ::core::clone::Clone::clone(&self.fc1),
                layer_2: ::core::clone::Clone::clone(&self.layer_2),
                encoder: ::core::clone::Clone::clone(&self.encoder),
                head: ::core::clone::Clone::clone(&self.head),
            }
        }
    }
    /// Names each layer and its type, not the values of its weights.
    impl ::core::fmt::Debug for Mixed {
        fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            __f.debug_struct("Mixed")
                .field(
                    ::core::stringify!(layer_0),
                    &::core::format_args!("{}", "Flatten"),
                )
                .field(
                    ::core::stringify!(fc1),
                    &::core::format_args!("{}", "Linear<{ HEIGHT * 8 }, HIDDEN>"),
                )
                .field(::core::stringify!(layer_2), &::core::format_args!("{}", "Tanh"))
                .field(
                    ::core::stringify!(encoder),
                    &::core::format_args!("{}", "my::Encoder"),
                )
                .field(
                    ::core::stringify!(head),
                    &::core::format_args!("{}", "Linear<16, 2>"),
                )
                .finish()
        }
    }
    impl __nn::Module for Mixed
    where
        for<'__nn> ::my_nn::__private::Flatten<{ 1 * { HEIGHT } * 8 }>: __nn::Module,
        for<'__nn> ::my_nn::__private::Linear<{ HEIGHT * 8 }, { HIDDEN }>: __nn::Module,
        for<'__nn> ::my_nn::__private::Tanh: __nn::Module,
        for<'__nn> my::Encoder: __nn::Module,
    {
        const NUM_PARAMS: usize = 0
            + <::my_nn::__private::Flatten<
                { 1 * { HEIGHT } * 8 },
            > as __nn::Module>::NUM_PARAMS
            + <::my_nn::__private::Linear<
                { HEIGHT * 8 },
                { HIDDEN },
            > as __nn::Module>::NUM_PARAMS
            + <::my_nn::__private::Tanh as __nn::Module>::NUM_PARAMS
            + <my::Encoder as __nn::Module>::NUM_PARAMS
            + <::my_nn::__private::Linear<16, 2> as __nn::Module>::NUM_PARAMS;
        fn init_with(__rng: &mut __nn::Rng) -> Self {
            Self {
                layer_0: __nn::Module::init_with(__rng),
                fc1: __nn::Module::init_with(__rng),
                layer_2: __nn::Module::init_with(__rng),
                encoder: __nn::Module::init_with(__rng),
                head: __nn::Module::init_with(__rng),
            }
        }
        fn zeros() -> Self {
            Self {
                layer_0: __nn::Module::zeros(),
                fc1: __nn::Module::zeros(),
                layer_2: __nn::Module::zeros(),
                encoder: __nn::Module::zeros(),
                head: __nn::Module::zeros(),
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
                &self.fc1,
                &__nn::String::from_iter([__prefix, "fc1."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.encoder,
                &__nn::String::from_iter([__prefix, "encoder."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.head,
                &__nn::String::from_iter([__prefix, "head."]),
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
                &mut self.fc1,
                &__nn::String::from_iter([__prefix, "fc1."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.encoder,
                &__nn::String::from_iter([__prefix, "encoder."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.head,
                &__nn::String::from_iter([__prefix, "head."]),
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
                &self.fc1,
                &__nn::String::from_iter([__prefix, "fc1."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.encoder,
                &__nn::String::from_iter([__prefix, "encoder."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.head,
                &__nn::String::from_iter([__prefix, "head."]),
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
                &mut self.fc1,
                &__nn::String::from_iter([__prefix, "fc1."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_2,
                &__nn::String::from_iter([__prefix, "2."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.encoder,
                &__nn::String::from_iter([__prefix, "encoder."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.head,
                &__nn::String::from_iter([__prefix, "head."]),
                __visit,
            );
        }
        fn zip_params(
            &mut self,
            __grads: &Self,
            __update: &mut dyn FnMut(&mut [f32], &[f32]),
        ) {
            __nn::Module::zip_params(&mut self.layer_0, &__grads.layer_0, __update);
            __nn::Module::zip_params(&mut self.fc1, &__grads.fc1, __update);
            __nn::Module::zip_params(&mut self.layer_2, &__grads.layer_2, __update);
            __nn::Module::zip_params(&mut self.encoder, &__grads.encoder, __update);
            __nn::Module::zip_params(&mut self.head, &__grads.head, __update);
        }
        fn set_frozen(&mut self, __frozen: bool) {
            __nn::Module::set_frozen(&mut self.layer_0, __frozen);
            __nn::Module::set_frozen(&mut self.fc1, __frozen);
            __nn::Module::set_frozen(&mut self.layer_2, __frozen);
            __nn::Module::set_frozen(&mut self.encoder, __frozen);
            __nn::Module::set_frozen(&mut self.head, __frozen);
        }
    }
    /// Activations and gradients between layers, kept from the forward to the backward pass.
    #[derive(Default)]
    pub struct __MixedCache
    where
        for<'__nn> ::my_nn::__private::Flatten<
            { 1 * { HEIGHT } * 8 },
        >: __nn::Layer<[[f32; 8]; { HEIGHT }], Output = [f32; { 1 * { HEIGHT } * 8 }]>,
        for<'__nn> ::my_nn::__private::Linear<
            { HEIGHT * 8 },
            { HIDDEN },
        >: __nn::Layer<[f32; { 1 * { HEIGHT } * 8 }], Output = [f32; { HIDDEN }]>,
        for<'__nn> ::my_nn::__private::Tanh: __nn::Layer<
            [f32; { HIDDEN }],
            Output = [f32; { HIDDEN }],
        >,
        for<'__nn> my::Encoder: __nn::Layer<[f32; { HIDDEN }]>,
        for<'__nn> ::my_nn::__private::Linear<
            16,
            2,
        >: __nn::Layer<
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
            Output = [f32; 2],
        >,
    {
        __grad_1: __nn::Buffer<[f32; { 1 * { HEIGHT } * 8 }]>,
        __act_2: __nn::Buffer<[f32; { HIDDEN }]>,
        __grad_2: __nn::Buffer<[f32; { HIDDEN }]>,
        __act_3: __nn::Buffer<[f32; { HIDDEN }]>,
        __grad_3: __nn::Buffer<[f32; { HIDDEN }]>,
        __act_4: __nn::Buffer<
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
        >,
        __grad_4: __nn::Buffer<
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
        >,
        __cache_0: <::my_nn::__private::Flatten<
            { 1 * { HEIGHT } * 8 },
        > as __nn::Layer<[[f32; 8]; { HEIGHT }]>>::Cache,
        __cache_1: <::my_nn::__private::Linear<
            { HEIGHT * 8 },
            { HIDDEN },
        > as __nn::Layer<[f32; { 1 * { HEIGHT } * 8 }]>>::Cache,
        __cache_2: <::my_nn::__private::Tanh as __nn::Layer<[f32; { HIDDEN }]>>::Cache,
        __cache_3: <my::Encoder as __nn::Layer<[f32; { HIDDEN }]>>::Cache,
        __cache_4: <::my_nn::__private::Linear<
            16,
            2,
        > as __nn::Layer<
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
        >>::Cache,
    }
    impl __nn::Layer<[[f32; 8]; { HEIGHT }]> for Mixed
    where
        for<'__nn> ::my_nn::__private::Flatten<
            { 1 * { HEIGHT } * 8 },
        >: __nn::Layer<[[f32; 8]; { HEIGHT }], Output = [f32; { 1 * { HEIGHT } * 8 }]>,
        for<'__nn> ::my_nn::__private::Linear<
            { HEIGHT * 8 },
            { HIDDEN },
        >: __nn::Layer<[f32; { 1 * { HEIGHT } * 8 }], Output = [f32; { HIDDEN }]>,
        for<'__nn> ::my_nn::__private::Tanh: __nn::Layer<
            [f32; { HIDDEN }],
            Output = [f32; { HIDDEN }],
        >,
        for<'__nn> my::Encoder: __nn::Layer<[f32; { HIDDEN }]>,
        for<'__nn> ::my_nn::__private::Linear<
            16,
            2,
        >: __nn::Layer<
            <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
            Output = [f32; 2],
        >,
    {
        type Output = [f32; 2];
        type Cache = __MixedCache;
        fn forward(&self, __input: &[[f32; 8]; { HEIGHT }]) -> [f32; 2] {
            let __x1 = __nn::Layer::<
                [[f32; 8]; { HEIGHT }],
            >::forward(&self.layer_0, __input);
            let __x2 = __nn::Layer::<
                [f32; { 1 * { HEIGHT } * 8 }],
            >::forward(&self.fc1, &__x1);
            let __x3 = __nn::Layer::<[f32; { HIDDEN }]>::forward(&self.layer_2, &__x2);
            let __x4 = __nn::Layer::<[f32; { HIDDEN }]>::forward(&self.encoder, &__x3);
            let __x5 = __nn::Layer::<
                <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
            >::forward(&self.head, &__x4);
            __x5
        }
        fn forward_batch(
            &self,
            __input: &[[[f32; 8]; { HEIGHT }]],
            __output: &mut [[f32; 2]],
            __cache: &mut Self::Cache,
            __mode: __nn::Mode,
        ) {
            let __batch = __input.len();
            let __act_1: &[[f32; { 1 * { HEIGHT } * 8 }]] = __nn::flatten_batch(__input);
            let __act_2 = __nn::prefix_mut(&mut __cache.__act_2, __batch);
            __nn::Layer::<
                [f32; { 1 * { HEIGHT } * 8 }],
            >::forward_batch(
                &self.fc1,
                __act_1,
                &mut *__act_2,
                &mut __cache.__cache_1,
                __mode,
            );
            let __act_3 = __nn::prefix_mut(&mut __cache.__act_3, __batch);
            __nn::Layer::<
                [f32; { HIDDEN }],
            >::forward_batch(
                &self.layer_2,
                &*__act_2,
                &mut *__act_3,
                &mut __cache.__cache_2,
                __mode,
            );
            let __act_4 = __nn::prefix_mut(&mut __cache.__act_4, __batch);
            __nn::Layer::<
                [f32; { HIDDEN }],
            >::forward_batch(
                &self.encoder,
                &*__act_3,
                &mut *__act_4,
                &mut __cache.__cache_3,
                __mode,
            );
            __nn::Layer::<
                <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
            >::forward_batch(
                &self.head,
                &*__act_4,
                __output,
                &mut __cache.__cache_4,
                __mode,
            );
        }
        fn backward_batch(
            &self,
            __input: &[[[f32; 8]; { HEIGHT }]],
            __output: &[[f32; 2]],
            __grad_output: &[[f32; 2]],
            __grad_input: __nn::Option<&mut [[[f32; 8]; { HEIGHT }]]>,
            __cache: &mut Self::Cache,
            __grads: &mut Self,
        ) {
            let __batch = __input.len();
            let __wants_input_grad = __grad_input.is_some();
            let __needs_input_grad = __wants_input_grad
                || <::my_nn::__private::Flatten<
                    { 1 * { HEIGHT } * 8 },
                > as __nn::Module>::NUM_PARAMS > 0
                || <::my_nn::__private::Linear<
                    { HEIGHT * 8 },
                    { HIDDEN },
                > as __nn::Module>::NUM_PARAMS > 0
                || <::my_nn::__private::Tanh as __nn::Module>::NUM_PARAMS > 0
                || <my::Encoder as __nn::Module>::NUM_PARAMS > 0;
            if <::my_nn::__private::Linear<16, 2> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_4, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
                >::backward_batch(
                    &self.head,
                    &__cache.__act_4[..__batch],
                    __output,
                    __grad_output,
                    __grad_in,
                    &mut __cache.__cache_4,
                    &mut __grads.head,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::my_nn::__private::Flatten<
                    { 1 * { HEIGHT } * 8 },
                > as __nn::Module>::NUM_PARAMS > 0
                || <::my_nn::__private::Linear<
                    { HEIGHT * 8 },
                    { HIDDEN },
                > as __nn::Module>::NUM_PARAMS > 0
                || <::my_nn::__private::Tanh as __nn::Module>::NUM_PARAMS > 0;
            if <my::Encoder as __nn::Module>::NUM_PARAMS > 0 || __needs_input_grad {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_3, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [f32; { HIDDEN }],
                >::backward_batch(
                    &self.encoder,
                    &__cache.__act_3[..__batch],
                    &__cache.__act_4[..__batch],
                    &__cache.__grad_4[..__batch],
                    __grad_in,
                    &mut __cache.__cache_3,
                    &mut __grads.encoder,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::my_nn::__private::Flatten<
                    { 1 * { HEIGHT } * 8 },
                > as __nn::Module>::NUM_PARAMS > 0
                || <::my_nn::__private::Linear<
                    { HEIGHT * 8 },
                    { HIDDEN },
                > as __nn::Module>::NUM_PARAMS > 0;
            if <::my_nn::__private::Tanh as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_2, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [f32; { HIDDEN }],
                >::backward_batch(
                    &self.layer_2,
                    &__cache.__act_2[..__batch],
                    &__cache.__act_3[..__batch],
                    &__cache.__grad_3[..__batch],
                    __grad_in,
                    &mut __cache.__cache_2,
                    &mut __grads.layer_2,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::my_nn::__private::Flatten<
                    { 1 * { HEIGHT } * 8 },
                > as __nn::Module>::NUM_PARAMS > 0;
            if <::my_nn::__private::Linear<
                { HEIGHT * 8 },
                { HIDDEN },
            > as __nn::Module>::NUM_PARAMS > 0 || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_1, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [f32; { 1 * { HEIGHT } * 8 }],
                >::backward_batch(
                    &self.fc1,
                    __nn::flatten_batch(__input),
                    &__cache.__act_2[..__batch],
                    &__cache.__grad_2[..__batch],
                    __grad_in,
                    &mut __cache.__cache_1,
                    &mut __grads.fc1,
                );
            }
            if <::my_nn::__private::Flatten<
                { 1 * { HEIGHT } * 8 },
            > as __nn::Module>::NUM_PARAMS > 0 || __wants_input_grad
            {
                __nn::Layer::<
                    [[f32; 8]; { HEIGHT }],
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
                [[f32; 8]; { HEIGHT }],
            >::update_statistics(&mut self.layer_0, &__cache.__cache_0);
            __nn::Layer::<
                [f32; { 1 * { HEIGHT } * 8 }],
            >::update_statistics(&mut self.fc1, &__cache.__cache_1);
            __nn::Layer::<
                [f32; { HIDDEN }],
            >::update_statistics(&mut self.layer_2, &__cache.__cache_2);
            __nn::Layer::<
                [f32; { HIDDEN }],
            >::update_statistics(&mut self.encoder, &__cache.__cache_3);
            __nn::Layer::<
                <my::Encoder as ::my_nn::__private::Layer<[f32; { HIDDEN }]>>::Output,
            >::update_statistics(&mut self.head, &__cache.__cache_4);
        }
        fn check_input(
            &self,
            __input: &[[f32; 8]; { HEIGHT }],
            __sample: usize,
        ) -> __nn::Result<()> {
            __nn::Layer::<
                [[f32; 8]; { HEIGHT }],
            >::check_input(&self.layer_0, __input, __sample)
        }
    }
};
