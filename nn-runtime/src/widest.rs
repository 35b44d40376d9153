//! Element-wise loops compiled for the widest vectors the CPU has.
//!
//! The crate is built for the baseline x86-64 target, whose vectors hold 4 floats. A loop over
//! a tensor (an activation, an optimizer update, a normalisation's sums) runs 2-4 times as fast
//! compiled for AVX2 (8) or AVX-512 (16), chosen at run time. Only the width changes: neither
//! feature enables fused multiply-adds, so every value is rounded exactly as in the baseline
//! loop, and the results are the same bits on every machine.

/// Defines `fn $name(args)`, which runs its body compiled for AVX-512F, else AVX2, else the
/// baseline target: `fn name(args) { body }`, or `fn name(args) => body_fn` to run an existing
/// `#[inline(always)]` function of the same arguments (so that a test can call the baseline
/// loop itself). The body is compiled inside each variant; it must be written as index loops
/// (an iterator adapter's `fold` is a function of its own, compiled for the baseline). Const
/// generic parameters are passed on.
macro_rules! widest_vectors {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$(const $generic:ident: $kind:ty),* $(,)?>)? ($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$(const $generic: $kind),*>)? ($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::needless_range_loop)] // index loops, so that they are compiled wide
            fn body $(<$(const $generic: $kind),*>)? ($($arg: $ty),*) $body
            $crate::widest::widest_vectors!(@dispatch body $(<$($generic: $kind),*>)? ($($arg: $ty),*))
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$(const $generic:ident: $kind:ty),* $(,)?>)? ($($arg:ident: $ty:ty),* $(,)?) => $body:ident
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$(const $generic: $kind),*>)? ($($arg: $ty),*) {
            $crate::widest::widest_vectors!(@dispatch $body $(<$($generic: $kind),*>)? ($($arg: $ty),*))
        }
    };
    (@dispatch $body:ident $(<$($generic:ident: $kind:ty),*>)? ($($arg:ident: $ty:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512 $(<$(const $generic: $kind),*>)? ($($arg: $ty),*) {
                $body $(::<$($generic),*>)? ($($arg),*)
            }
            #[target_feature(enable = "avx2")]
            fn avx2 $(<$(const $generic: $kind),*>)? ($($arg: $ty),*) {
                $body $(::<$($generic),*>)? ($($arg),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU supports AVX-512F, checked just above.
                return unsafe { avx512 $(::<$($generic),*>)? ($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { avx2 $(::<$($generic),*>)? ($($arg),*) };
            }
        }
        $body $(::<$($generic),*>)? ($($arg),*)
    }};
}

pub(crate) use widest_vectors;

#[cfg(test)]
mod tests {
    /// `y = a * x + y`, the kind of loop the macro is for.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn axpy_loop<const NEGATE: bool>(a: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        for i in 0..n {
            let ax = a * x[i];
            y[i] += if NEGATE { -ax } else { ax };
        }
    }

    widest_vectors!(fn axpy<const NEGATE: bool>(a: f32, x: &[f32], y: &mut [f32]) => axpy_loop);

    /// The wide variant computes the same bits as the baseline loop, for lengths that leave
    /// a remainder after whole vectors.
    #[test]
    fn wide_loop_equals_baseline_loop() {
        for n in [0, 1, 7, 16, 33, 100] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37 + 0.5).sin()).collect();
            let start: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let (mut wide, mut plain) = (start.clone(), start.clone());
            axpy::<true>(1.3, &x, &mut wide);
            axpy_loop::<true>(1.3, &x, &mut plain);
            assert_eq!(wide, plain);
            assert!(n == 0 || wide != start, "the loop changed nothing");
        }
    }
}
