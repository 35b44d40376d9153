///
/// # Layers
///
/// ```text
///     input                         [1, 28, 28]
/// 0   Conv2d<1, 6, 5>(padding = 2)  [6, 28, 28]      156
/// 1   ReLU                          [6, 28, 28]        0
/// 2   MaxPool2d<2>                  [6, 14, 14]        0
/// 3   Conv2d<6, 16, 5>              [16, 10, 10]   2,416
/// 4   ReLU                          [16, 10, 10]       0
/// 5   MaxPool2d<2>                  [16, 5, 5]         0
/// 6   Flatten                       [400]              0
/// 7   Linear<400, 120>              [120]         48,120
/// 8   ReLU                          [120]              0
/// 9   Linear<120, 84>               [84]          10,164
/// 10  ReLU                          [84]               0
/// 11  Linear<84, 10>                [10]             850
/// ```
///
/// 61,706 parameters.
pub struct LeNet {
    /// `Conv2d<1, 6, 5>(padding = 2)`, saved under the key prefix `0.`
    pub layer_0: ::nn::__private::Conv2d<1, 6, 5, 1, 2, 28, 28>,
    /// `ReLU`, saved under the key prefix `1.`
    pub layer_1: ::nn::__private::ReLU,
    /// `MaxPool2d<2>`, saved under the key prefix `2.`
    pub layer_2: ::nn::__private::MaxPool2d<2, 2, 14, 14>,
    /// `Conv2d<6, 16, 5>`, saved under the key prefix `3.`
    pub layer_3: ::nn::__private::Conv2d<6, 16, 5, 1, 0, 10, 10>,
    /// `ReLU`, saved under the key prefix `4.`
    pub layer_4: ::nn::__private::ReLU,
    /// `MaxPool2d<2>`, saved under the key prefix `5.`
    pub layer_5: ::nn::__private::MaxPool2d<2, 2, 5, 5>,
    /// `Flatten`, saved under the key prefix `6.`
    pub layer_6: ::nn::__private::Flatten<400>,
    /// `Linear<400, 120>`, saved under the key prefix `7.`
    pub layer_7: ::nn::__private::Linear<400, 120>,
    /// `ReLU`, saved under the key prefix `8.`
    pub layer_8: ::nn::__private::ReLU,
    /// `Linear<120, 84>`, saved under the key prefix `9.`
    pub layer_9: ::nn::__private::Linear<120, 84>,
    /// `ReLU`, saved under the key prefix `10.`
    pub layer_10: ::nn::__private::ReLU,
    /// `Linear<84, 10>`, saved under the key prefix `11.`
    pub layer_11: ::nn::__private::Linear<84, 10>,
}
const _: () = {
    use ::nn::__private as __nn;
    const _: () = {
        fn __takes<__L: __nn::Follows<__P, __I>, __P, __I>() {}
        fn __meets<__A: __nn::Meets<__B>, __B>() {}
        let _ = __takes::<
            ::nn::__private::Conv2d<1, 6, 5, 1, 2, 28, 28>,
            __nn::NetworkInput,
            [[[f32; 28]; 28]; 1],
        >;
        let _ = __takes::<
            ::nn::__private::ReLU,
            ::nn::__private::Conv2d<1, 6, 5, 1, 2, 28, 28>,
            [[[f32; 28]; 28]; 6],
        >;
        let _ = __takes::<
            ::nn::__private::MaxPool2d<2, 2, 14, 14>,
            ::nn::__private::ReLU,
            [[[f32; 28]; 28]; 6],
        >;
        let _ = __takes::<
            ::nn::__private::Conv2d<6, 16, 5, 1, 0, 10, 10>,
            ::nn::__private::MaxPool2d<2, 2, 14, 14>,
            [[[f32; 14]; 14]; 6],
        >;
        let _ = __takes::<
            ::nn::__private::ReLU,
            ::nn::__private::Conv2d<6, 16, 5, 1, 0, 10, 10>,
            [[[f32; 10]; 10]; 16],
        >;
        let _ = __takes::<
            ::nn::__private::MaxPool2d<2, 2, 5, 5>,
            ::nn::__private::ReLU,
            [[[f32; 10]; 10]; 16],
        >;
        let _ = __takes::<
            ::nn::__private::Flatten<400>,
            ::nn::__private::MaxPool2d<2, 2, 5, 5>,
            [[[f32; 5]; 5]; 16],
        >;
        let _ = __takes::<
            ::nn::__private::Linear<400, 120>,
            ::nn::__private::Flatten<400>,
            [f32; 400],
        >;
        let _ = __takes::<
            ::nn::__private::ReLU,
            ::nn::__private::Linear<400, 120>,
            [f32; 120],
        >;
        let _ = __takes::<
            ::nn::__private::Linear<120, 84>,
            ::nn::__private::ReLU,
            [f32; 120],
        >;
        let _ = __takes::<
            ::nn::__private::ReLU,
            ::nn::__private::Linear<120, 84>,
            [f32; 84],
        >;
        let _ = __takes::<
            ::nn::__private::Linear<84, 10>,
            ::nn::__private::ReLU,
            [f32; 84],
        >;
    };
    const _: () = ::core::assert!(
        LeNet::NUM_PARAMS == < LeNet as __nn::Module > ::NUM_PARAMS
    );
    impl LeNet {
        /// Number of trainable parameters.
        pub const NUM_PARAMS: usize = 61706;
        /// A network initialised as PyTorch initialises each layer by default, from `seed`;
        /// the same seed gives bit-identical weights on every machine.
        pub fn init(seed: u64) -> Self {
            <Self as __nn::Module>::init_with(&mut __nn::Rng::seed(seed))
        }
        /// The network applied to one sample, without heap allocation.
        pub fn forward(&self, input: &[[[f32; 28]; 28]; 1]) -> [f32; 10] {
            #[allow(unused_imports)]
            use __nn::{ForwardDoesNotFit as _, ForwardFits as _};
            (&&__nn::ForwardDispatch::<Self, [[[f32; 28]; 28]; 1], [f32; 10]>::new(self))
                .run(input)
        }
        /// A table of the layers: key, type, output shape and parameters.
        pub fn summary(&self) -> __nn::String {
            const ROWS: &[__nn::SummaryRow] = &[
                __nn::SummaryRow {
                    key: "0",
                    layer: "Conv2d<1, 6, 5>(padding = 2)",
                    output_shape: &[6, 28, 28],
                    params: <::nn::__private::Conv2d<
                        1,
                        6,
                        5,
                        1,
                        2,
                        28,
                        28,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "1",
                    layer: "ReLU",
                    output_shape: &[6, 28, 28],
                    params: <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "2",
                    layer: "MaxPool2d<2>",
                    output_shape: &[6, 14, 14],
                    params: <::nn::__private::MaxPool2d<
                        2,
                        2,
                        14,
                        14,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "3",
                    layer: "Conv2d<6, 16, 5>",
                    output_shape: &[16, 10, 10],
                    params: <::nn::__private::Conv2d<
                        6,
                        16,
                        5,
                        1,
                        0,
                        10,
                        10,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "4",
                    layer: "ReLU",
                    output_shape: &[16, 10, 10],
                    params: <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "5",
                    layer: "MaxPool2d<2>",
                    output_shape: &[16, 5, 5],
                    params: <::nn::__private::MaxPool2d<
                        2,
                        2,
                        5,
                        5,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "6",
                    layer: "Flatten",
                    output_shape: &[400],
                    params: <::nn::__private::Flatten<400> as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "7",
                    layer: "Linear<400, 120>",
                    output_shape: &[120],
                    params: <::nn::__private::Linear<
                        400,
                        120,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "8",
                    layer: "ReLU",
                    output_shape: &[120],
                    params: <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "9",
                    layer: "Linear<120, 84>",
                    output_shape: &[84],
                    params: <::nn::__private::Linear<
                        120,
                        84,
                    > as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "10",
                    layer: "ReLU",
                    output_shape: &[84],
                    params: <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS,
                },
                __nn::SummaryRow {
                    key: "11",
                    layer: "Linear<84, 10>",
                    output_shape: &[10],
                    params: <::nn::__private::Linear<84, 10> as __nn::Module>::NUM_PARAMS,
                },
            ];
            __nn::format_summary(
                "LeNet",
                <[[[f32; 28]; 28]; 1] as __nn::Input>::DIMS,
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
    impl ::core::clone::Clone for LeNet {
        fn clone(&self) -> Self {
            Self {
                layer_0: ::core::clone::Clone::clone(&self.layer_0),
                layer_1: ::core::clone::Clone::clone(&self.layer_1),
                layer_2: ::core::clone::Clone::clone(&self.layer_2),
                layer_3: ::core::clone::Clone::clone(&self.layer_3),
                layer_4: ::core::clone::Clone::clone(&self.layer_4),
                layer_5: ::core::clone::Clone::clone(&self.layer_5),
                layer_6: ::core::clone::Clone::clone(&self.layer_6),
                layer_7: ::core::clone::Clone::clone(&self.layer_7),
                layer_8: ::core::clone::Clone::clone(&self.layer_8),
                layer_9: ::core::clone::Clone::clone(&self.layer_9),
                layer_10: ::core::clone::Clone::clone(&self.layer_10),
                layer_11: ::core::clone::Clone::clone(&self.layer_11),
            }
        }
    }
    /// Names each layer and its type, not the values of its weights.
    impl ::core::fmt::Debug for LeNet {
        fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            __f.debug_struct("LeNet")
                .field(
                    ::core::stringify!(layer_0),
                    &::core::format_args!("{}", "Conv2d<1, 6, 5>(padding = 2)"),
                )
                .field(::core::stringify!(layer_1), &::core::format_args!("{}", "ReLU"))
                .field(
                    ::core::stringify!(layer_2),
                    &::core::format_args!("{}", "MaxPool2d<2>"),
                )
                .field(
                    ::core::stringify!(layer_3),
                    &::core::format_args!("{}", "Conv2d<6, 16, 5>"),
                )
                .field(::core::stringify!(layer_4), &::core::format_args!("{}", "ReLU"))
                .field(
                    ::core::stringify!(layer_5),
                    &::core::format_args!("{}", "MaxPool2d<2>"),
                )
                .field(
                    ::core::stringify!(layer_6),
                    &::core::format_args!("{}", "Flatten"),
                )
                .field(
                    ::core::stringify!(layer_7),
                    &::core::format_args!("{}", "Linear<400, 120>"),
                )
                .field(::core::stringify!(layer_8), &::core::format_args!("{}", "ReLU"))
                .field(
                    ::core::stringify!(layer_9),
                    &::core::format_args!("{}", "Linear<120, 84>"),
                )
                .field(::core::stringify!(layer_10), &::core::format_args!("{}", "ReLU"))
                .field(
                    ::core::stringify!(layer_11),
                    &::core::format_args!("{}", "Linear<84, 10>"),
                )
                .finish()
        }
    }
    impl __nn::Module for LeNet {
        const NUM_PARAMS: usize = 0
            + <::nn::__private::Conv2d<
                1,
                6,
                5,
                1,
                2,
                28,
                28,
            > as __nn::Module>::NUM_PARAMS
            + <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS
            + <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Conv2d<
                6,
                16,
                5,
                1,
                0,
                10,
                10,
            > as __nn::Module>::NUM_PARAMS
            + <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS
            + <::nn::__private::MaxPool2d<2, 2, 5, 5> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Flatten<400> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Linear<400, 120> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Linear<120, 84> as __nn::Module>::NUM_PARAMS
            + <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS
            + <::nn::__private::Linear<84, 10> as __nn::Module>::NUM_PARAMS;
        fn init_with(__rng: &mut __nn::Rng) -> Self {
            Self {
                layer_0: __nn::Module::init_with(__rng),
                layer_1: __nn::Module::init_with(__rng),
                layer_2: __nn::Module::init_with(__rng),
                layer_3: __nn::Module::init_with(__rng),
                layer_4: __nn::Module::init_with(__rng),
                layer_5: __nn::Module::init_with(__rng),
                layer_6: __nn::Module::init_with(__rng),
                layer_7: __nn::Module::init_with(__rng),
                layer_8: __nn::Module::init_with(__rng),
                layer_9: __nn::Module::init_with(__rng),
                layer_10: __nn::Module::init_with(__rng),
                layer_11: __nn::Module::init_with(__rng),
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
                layer_6: __nn::Module::zeros(),
                layer_7: __nn::Module::zeros(),
                layer_8: __nn::Module::zeros(),
                layer_9: __nn::Module::zeros(),
                layer_10: __nn::Module::zeros(),
                layer_11: __nn::Module::zeros(),
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
            __nn::Module::visit_params(
                &self.layer_6,
                &__nn::String::from_iter([__prefix, "6."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_7,
                &__nn::String::from_iter([__prefix, "7."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_8,
                &__nn::String::from_iter([__prefix, "8."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_9,
                &__nn::String::from_iter([__prefix, "9."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_10,
                &__nn::String::from_iter([__prefix, "10."]),
                __visit,
            );
            __nn::Module::visit_params(
                &self.layer_11,
                &__nn::String::from_iter([__prefix, "11."]),
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
            __nn::Module::visit_params_mut(
                &mut self.layer_6,
                &__nn::String::from_iter([__prefix, "6."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_7,
                &__nn::String::from_iter([__prefix, "7."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_8,
                &__nn::String::from_iter([__prefix, "8."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_9,
                &__nn::String::from_iter([__prefix, "9."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_10,
                &__nn::String::from_iter([__prefix, "10."]),
                __visit,
            );
            __nn::Module::visit_params_mut(
                &mut self.layer_11,
                &__nn::String::from_iter([__prefix, "11."]),
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
            __nn::Module::visit_counters(
                &self.layer_6,
                &__nn::String::from_iter([__prefix, "6."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_7,
                &__nn::String::from_iter([__prefix, "7."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_8,
                &__nn::String::from_iter([__prefix, "8."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_9,
                &__nn::String::from_iter([__prefix, "9."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_10,
                &__nn::String::from_iter([__prefix, "10."]),
                __visit,
            );
            __nn::Module::visit_counters(
                &self.layer_11,
                &__nn::String::from_iter([__prefix, "11."]),
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
            __nn::Module::visit_counters_mut(
                &mut self.layer_6,
                &__nn::String::from_iter([__prefix, "6."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_7,
                &__nn::String::from_iter([__prefix, "7."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_8,
                &__nn::String::from_iter([__prefix, "8."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_9,
                &__nn::String::from_iter([__prefix, "9."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_10,
                &__nn::String::from_iter([__prefix, "10."]),
                __visit,
            );
            __nn::Module::visit_counters_mut(
                &mut self.layer_11,
                &__nn::String::from_iter([__prefix, "11."]),
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
            __nn::Module::zip_params(&mut self.layer_6, &__grads.layer_6, __update);
            __nn::Module::zip_params(&mut self.layer_7, &__grads.layer_7, __update);
            __nn::Module::zip_params(&mut self.layer_8, &__grads.layer_8, __update);
            __nn::Module::zip_params(&mut self.layer_9, &__grads.layer_9, __update);
            __nn::Module::zip_params(&mut self.layer_10, &__grads.layer_10, __update);
            __nn::Module::zip_params(&mut self.layer_11, &__grads.layer_11, __update);
        }
        fn set_frozen(&mut self, __frozen: bool) {
            __nn::Module::set_frozen(&mut self.layer_0, __frozen);
            __nn::Module::set_frozen(&mut self.layer_1, __frozen);
            __nn::Module::set_frozen(&mut self.layer_2, __frozen);
            __nn::Module::set_frozen(&mut self.layer_3, __frozen);
            __nn::Module::set_frozen(&mut self.layer_4, __frozen);
            __nn::Module::set_frozen(&mut self.layer_5, __frozen);
            __nn::Module::set_frozen(&mut self.layer_6, __frozen);
            __nn::Module::set_frozen(&mut self.layer_7, __frozen);
            __nn::Module::set_frozen(&mut self.layer_8, __frozen);
            __nn::Module::set_frozen(&mut self.layer_9, __frozen);
            __nn::Module::set_frozen(&mut self.layer_10, __frozen);
            __nn::Module::set_frozen(&mut self.layer_11, __frozen);
        }
    }
    /// Activations and gradients between layers, kept from the forward to the backward pass.
    #[derive(Default)]
    pub struct __LeNetCache {
        __act_1: __nn::Buffer<[[[f32; 28]; 28]; 6]>,
        __grad_1: __nn::Buffer<[[[f32; 28]; 28]; 6]>,
        __act_2: __nn::Buffer<[[[f32; 28]; 28]; 6]>,
        __grad_2: __nn::Buffer<[[[f32; 28]; 28]; 6]>,
        __act_3: __nn::Buffer<[[[f32; 14]; 14]; 6]>,
        __grad_3: __nn::Buffer<[[[f32; 14]; 14]; 6]>,
        __act_4: __nn::Buffer<[[[f32; 10]; 10]; 16]>,
        __grad_4: __nn::Buffer<[[[f32; 10]; 10]; 16]>,
        __act_5: __nn::Buffer<[[[f32; 10]; 10]; 16]>,
        __grad_5: __nn::Buffer<[[[f32; 10]; 10]; 16]>,
        __act_6: __nn::Buffer<[[[f32; 5]; 5]; 16]>,
        __grad_6: __nn::Buffer<[[[f32; 5]; 5]; 16]>,
        __grad_7: __nn::Buffer<[f32; 400]>,
        __grad_8: __nn::Buffer<[f32; 120]>,
        __act_9: __nn::Buffer<[f32; 120]>,
        __grad_10: __nn::Buffer<[f32; 84]>,
        __act_11: __nn::Buffer<[f32; 84]>,
        __cache_0: <::nn::__private::Conv2d<
            1,
            6,
            5,
            1,
            2,
            28,
            28,
        > as __nn::Layer<[[[f32; 28]; 28]; 1]>>::Cache,
        __cache_1: <::nn::__private::ReLU as __nn::Layer<[[[f32; 28]; 28]; 6]>>::Cache,
        __cache_2: <::nn::__private::MaxPool2d<
            2,
            2,
            14,
            14,
        > as __nn::Layer<[[[f32; 28]; 28]; 6]>>::Cache,
        __cache_3: <::nn::__private::Conv2d<
            6,
            16,
            5,
            1,
            0,
            10,
            10,
        > as __nn::Layer<[[[f32; 14]; 14]; 6]>>::Cache,
        __cache_4: <::nn::__private::ReLU as __nn::Layer<[[[f32; 10]; 10]; 16]>>::Cache,
        __cache_5: <::nn::__private::MaxPool2d<
            2,
            2,
            5,
            5,
        > as __nn::Layer<[[[f32; 10]; 10]; 16]>>::Cache,
        __cache_6: <::nn::__private::Flatten<
            400,
        > as __nn::Layer<[[[f32; 5]; 5]; 16]>>::Cache,
        __cache_7: <::nn::__private::Linear<400, 120> as __nn::Layer<[f32; 400]>>::Cache,
        __cache_8: <::nn::__private::ReLU as __nn::Layer<[f32; 120]>>::Cache,
        __cache_9: <::nn::__private::Linear<120, 84> as __nn::Layer<[f32; 120]>>::Cache,
        __cache_10: <::nn::__private::ReLU as __nn::Layer<[f32; 84]>>::Cache,
        __cache_11: <::nn::__private::Linear<84, 10> as __nn::Layer<[f32; 84]>>::Cache,
    }
    impl __nn::Layer<[[[f32; 28]; 28]; 1]> for LeNet {
        type Output = [f32; 10];
        type Cache = __LeNetCache;
        fn forward(&self, __input: &[[[f32; 28]; 28]; 1]) -> [f32; 10] {
            let __x1 = __nn::Layer::<
                [[[f32; 28]; 28]; 1],
            >::forward(&self.layer_0, __input);
            let __x2 = __nn::Layer::<
                [[[f32; 28]; 28]; 6],
            >::forward(&self.layer_1, &__x1);
            let __x3 = __nn::Layer::<
                [[[f32; 28]; 28]; 6],
            >::forward(&self.layer_2, &__x2);
            let __x4 = __nn::Layer::<
                [[[f32; 14]; 14]; 6],
            >::forward(&self.layer_3, &__x3);
            let __x5 = __nn::Layer::<
                [[[f32; 10]; 10]; 16],
            >::forward(&self.layer_4, &__x4);
            let __x6 = __nn::Layer::<
                [[[f32; 10]; 10]; 16],
            >::forward(&self.layer_5, &__x5);
            let __x7 = __nn::Layer::<[[[f32; 5]; 5]; 16]>::forward(&self.layer_6, &__x6);
            let __x8 = __nn::Layer::<[f32; 400]>::forward(&self.layer_7, &__x7);
            let __x9 = __nn::Layer::<[f32; 120]>::forward(&self.layer_8, &__x8);
            let __x10 = __nn::Layer::<[f32; 120]>::forward(&self.layer_9, &__x9);
            let __x11 = __nn::Layer::<[f32; 84]>::forward(&self.layer_10, &__x10);
            let __x12 = __nn::Layer::<[f32; 84]>::forward(&self.layer_11, &__x11);
            __x12
        }
        fn forward_batch(
            &self,
            __input: &[[[[f32; 28]; 28]; 1]],
            __output: &mut [[f32; 10]],
            __cache: &mut Self::Cache,
            __mode: __nn::Mode,
        ) {
            let __batch = __input.len();
            let __act_1 = __nn::prefix_mut(&mut __cache.__act_1, __batch);
            __nn::Layer::<
                [[[f32; 28]; 28]; 1],
            >::forward_batch(
                &self.layer_0,
                __input,
                &mut *__act_1,
                &mut __cache.__cache_0,
                __mode,
            );
            let __act_2 = __nn::prefix_mut(&mut __cache.__act_2, __batch);
            __nn::Layer::<
                [[[f32; 28]; 28]; 6],
            >::forward_batch(
                &self.layer_1,
                &*__act_1,
                &mut *__act_2,
                &mut __cache.__cache_1,
                __mode,
            );
            let __act_3 = __nn::prefix_mut(&mut __cache.__act_3, __batch);
            __nn::Layer::<
                [[[f32; 28]; 28]; 6],
            >::forward_batch(
                &self.layer_2,
                &*__act_2,
                &mut *__act_3,
                &mut __cache.__cache_2,
                __mode,
            );
            let __act_4 = __nn::prefix_mut(&mut __cache.__act_4, __batch);
            __nn::Layer::<
                [[[f32; 14]; 14]; 6],
            >::forward_batch(
                &self.layer_3,
                &*__act_3,
                &mut *__act_4,
                &mut __cache.__cache_3,
                __mode,
            );
            let __act_5 = __nn::prefix_mut(&mut __cache.__act_5, __batch);
            __nn::Layer::<
                [[[f32; 10]; 10]; 16],
            >::forward_batch(
                &self.layer_4,
                &*__act_4,
                &mut *__act_5,
                &mut __cache.__cache_4,
                __mode,
            );
            let __act_6 = __nn::prefix_mut(&mut __cache.__act_6, __batch);
            __nn::Layer::<
                [[[f32; 10]; 10]; 16],
            >::forward_batch(
                &self.layer_5,
                &*__act_5,
                &mut *__act_6,
                &mut __cache.__cache_5,
                __mode,
            );
            let __act_7: &[[f32; 400]] = __nn::flatten_batch(&*__act_6);
            let __act_9 = __nn::prefix_mut(&mut __cache.__act_9, __batch);
            __nn::FusedRelu::<
                [f32; 400],
            >::forward_batch_relu(&self.layer_7, __act_7, &mut *__act_9);
            let __act_11 = __nn::prefix_mut(&mut __cache.__act_11, __batch);
            __nn::FusedRelu::<
                [f32; 120],
            >::forward_batch_relu(&self.layer_9, &*__act_9, &mut *__act_11);
            __nn::Layer::<
                [f32; 84],
            >::forward_batch(
                &self.layer_11,
                &*__act_11,
                __output,
                &mut __cache.__cache_11,
                __mode,
            );
        }
        fn backward_batch(
            &self,
            __input: &[[[[f32; 28]; 28]; 1]],
            __output: &[[f32; 10]],
            __grad_output: &[[f32; 10]],
            __grad_input: __nn::Option<&mut [[[[f32; 28]; 28]; 1]]>,
            __cache: &mut Self::Cache,
            __grads: &mut Self,
        ) {
            let __batch = __input.len();
            let __wants_input_grad = __grad_input.is_some();
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Conv2d<
                    6,
                    16,
                    5,
                    1,
                    0,
                    10,
                    10,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 5, 5> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Flatten<400> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::Linear<400, 120> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::Linear<120, 84> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::Linear<84, 10> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_10, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::FusedRelu::<
                    [f32; 84],
                >::backward_batch_fused(
                    &self.layer_11,
                    &__cache.__act_11[..__batch],
                    __grad_output,
                    __grad_in,
                    true,
                    &mut __grads.layer_11,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Conv2d<
                    6,
                    16,
                    5,
                    1,
                    0,
                    10,
                    10,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 5, 5> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Flatten<400> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::Linear<400, 120> as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::Linear<120, 84> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_8, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::FusedRelu::<
                    [f32; 120],
                >::backward_batch_fused(
                    &self.layer_9,
                    &__cache.__act_9[..__batch],
                    &__cache.__grad_10[..__batch],
                    __grad_in,
                    true,
                    &mut __grads.layer_9,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Conv2d<
                    6,
                    16,
                    5,
                    1,
                    0,
                    10,
                    10,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 5, 5> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Flatten<400> as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::Linear<400, 120> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_7, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::FusedRelu::<
                    [f32; 400],
                >::backward_batch_fused(
                    &self.layer_7,
                    __nn::flatten_batch(&__cache.__act_6[..__batch]),
                    &__cache.__grad_8[..__batch],
                    __grad_in,
                    false,
                    &mut __grads.layer_7,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Conv2d<
                    6,
                    16,
                    5,
                    1,
                    0,
                    10,
                    10,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 5, 5> as __nn::Module>::NUM_PARAMS
                    > 0;
            if <::nn::__private::Flatten<400> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_6, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [[[f32; 5]; 5]; 16],
                >::backward_batch(
                    &self.layer_6,
                    &__cache.__act_6[..__batch],
                    __nn::flatten_batch(&__cache.__act_6[..__batch]),
                    &__cache.__grad_7[..__batch],
                    __grad_in,
                    &mut __cache.__cache_6,
                    &mut __grads.layer_6,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Conv2d<
                    6,
                    16,
                    5,
                    1,
                    0,
                    10,
                    10,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::MaxPool2d<2, 2, 5, 5> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_5, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [[[f32; 10]; 10]; 16],
                >::backward_batch(
                    &self.layer_5,
                    &__cache.__act_5[..__batch],
                    &__cache.__act_6[..__batch],
                    &__cache.__grad_6[..__batch],
                    __grad_in,
                    &mut __cache.__cache_5,
                    &mut __grads.layer_5,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0
                || <::nn::__private::Conv2d<
                    6,
                    16,
                    5,
                    1,
                    0,
                    10,
                    10,
                > as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_4, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [[[f32; 10]; 10]; 16],
                >::backward_batch(
                    &self.layer_4,
                    &__cache.__act_4[..__batch],
                    &__cache.__act_5[..__batch],
                    &__cache.__grad_5[..__batch],
                    __grad_in,
                    &mut __cache.__cache_4,
                    &mut __grads.layer_4,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS
                    > 0;
            if <::nn::__private::Conv2d<
                6,
                16,
                5,
                1,
                0,
                10,
                10,
            > as __nn::Module>::NUM_PARAMS > 0 || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_3, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [[[f32; 14]; 14]; 6],
                >::backward_batch(
                    &self.layer_3,
                    &__cache.__act_3[..__batch],
                    &__cache.__act_4[..__batch],
                    &__cache.__grad_4[..__batch],
                    __grad_in,
                    &mut __cache.__cache_3,
                    &mut __grads.layer_3,
                );
            }
            let __needs_input_grad = __wants_input_grad
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0
                || <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::MaxPool2d<2, 2, 14, 14> as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_2, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [[[f32; 28]; 28]; 6],
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
                || <::nn::__private::Conv2d<
                    1,
                    6,
                    5,
                    1,
                    2,
                    28,
                    28,
                > as __nn::Module>::NUM_PARAMS > 0;
            if <::nn::__private::ReLU as __nn::Module>::NUM_PARAMS > 0
                || __needs_input_grad
            {
                let __grad_in = if __needs_input_grad {
                    __nn::Option::Some(__nn::prefix_mut(&mut __cache.__grad_1, __batch))
                } else {
                    __nn::Option::None
                };
                __nn::Layer::<
                    [[[f32; 28]; 28]; 6],
                >::backward_batch(
                    &self.layer_1,
                    &__cache.__act_1[..__batch],
                    &__cache.__act_2[..__batch],
                    &__cache.__grad_2[..__batch],
                    __grad_in,
                    &mut __cache.__cache_1,
                    &mut __grads.layer_1,
                );
            }
            if <::nn::__private::Conv2d<
                1,
                6,
                5,
                1,
                2,
                28,
                28,
            > as __nn::Module>::NUM_PARAMS > 0 || __wants_input_grad
            {
                __nn::Layer::<
                    [[[f32; 28]; 28]; 1],
                >::backward_batch(
                    &self.layer_0,
                    __input,
                    &__cache.__act_1[..__batch],
                    &__cache.__grad_1[..__batch],
                    __grad_input,
                    &mut __cache.__cache_0,
                    &mut __grads.layer_0,
                );
            }
        }
        fn update_statistics(&mut self, __cache: &Self::Cache) {
            __nn::Layer::<
                [[[f32; 28]; 28]; 1],
            >::update_statistics(&mut self.layer_0, &__cache.__cache_0);
            __nn::Layer::<
                [[[f32; 28]; 28]; 6],
            >::update_statistics(&mut self.layer_1, &__cache.__cache_1);
            __nn::Layer::<
                [[[f32; 28]; 28]; 6],
            >::update_statistics(&mut self.layer_2, &__cache.__cache_2);
            __nn::Layer::<
                [[[f32; 14]; 14]; 6],
            >::update_statistics(&mut self.layer_3, &__cache.__cache_3);
            __nn::Layer::<
                [[[f32; 10]; 10]; 16],
            >::update_statistics(&mut self.layer_4, &__cache.__cache_4);
            __nn::Layer::<
                [[[f32; 10]; 10]; 16],
            >::update_statistics(&mut self.layer_5, &__cache.__cache_5);
            __nn::Layer::<
                [[[f32; 5]; 5]; 16],
            >::update_statistics(&mut self.layer_6, &__cache.__cache_6);
            __nn::Layer::<
                [f32; 400],
            >::update_statistics(&mut self.layer_7, &__cache.__cache_7);
            __nn::Layer::<
                [f32; 120],
            >::update_statistics(&mut self.layer_8, &__cache.__cache_8);
            __nn::Layer::<
                [f32; 120],
            >::update_statistics(&mut self.layer_9, &__cache.__cache_9);
            __nn::Layer::<
                [f32; 84],
            >::update_statistics(&mut self.layer_10, &__cache.__cache_10);
            __nn::Layer::<
                [f32; 84],
            >::update_statistics(&mut self.layer_11, &__cache.__cache_11);
        }
        fn check_input(
            &self,
            __input: &[[[f32; 28]; 28]; 1],
            __sample: usize,
        ) -> __nn::Result<()> {
            __nn::Layer::<
                [[[f32; 28]; 28]; 1],
            >::check_input(&self.layer_0, __input, __sample)
        }
    }
};
