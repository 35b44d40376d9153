::core::compile_error! {
    "shape mismatch: `Linear<780, 10>` takes 780 inputs, but `[28, 28] => Flatten` gives 784\n= help: write `Linear<784, 10>`"
}
pub struct Broken;
const _: () = {
    #[allow(dead_code, unused_variables, clippy::all)]
    impl Broken {
        pub const NUM_PARAMS: usize = 0;
        pub fn init(seed: u64) -> Self {
            ::core::unreachable!(
                "`Broken` is a stand-in for a network! declaration with errors"
            )
        }
        pub fn forward(&self, input: &[[f32; 28]; 28]) -> [f32; 10] {
            ::core::unreachable!(
                "`Broken` is a stand-in for a network! declaration with errors"
            )
        }
        pub fn summary(&self) -> ::nn::__private::String {
            ::core::unreachable!(
                "`Broken` is a stand-in for a network! declaration with errors"
            )
        }
        pub fn save<__Path>(&self, path: __Path) -> ::nn::__private::Result<()> {
            ::core::unreachable!(
                "`Broken` is a stand-in for a network! declaration with errors"
            )
        }
        pub fn load<__Path>(path: __Path) -> ::nn::__private::Result<Self> {
            ::core::unreachable!(
                "`Broken` is a stand-in for a network! declaration with errors"
            )
        }
        pub fn load_from<__Path, __Options>(
            &mut self,
            path: __Path,
            options: __Options,
        ) -> ::nn::__private::Result<::nn::__private::io::LoadReport> {
            ::core::unreachable!(
                "`Broken` is a stand-in for a network! declaration with errors"
            )
        }
    }
};
