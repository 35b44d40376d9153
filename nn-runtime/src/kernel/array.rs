//! [`array_from`]: `std::array::from_fn` for the small arrays of the kernels, cheaper to compile.

/// `[f(0), f(1), .., f(N - 1)]`, as `std::array::from_fn(f)` (`N > 0`).
///
/// The kernels are generic over the layer's sizes, so each closure they pass is compiled again
/// for every layer shape of the calling crate; `std::array::from_fn` goes through the
/// fallible-array machinery (`try_from_fn`, a drop guard), several times the LLVM IR of this
/// loop, and was a fifth of the example `mnist`'s IR (`cargo llvm-lines`). After inlining both
/// give the same machine code.
#[inline(always)]
pub(crate) fn array_from<T: Copy, const N: usize>(mut f: impl FnMut(usize) -> T) -> [T; N] {
    const { assert!(N > 0) };
    let mut values = [f(0); N];
    // A `while` loop: an iterator adaptor here would be compiled again for every closure too.
    let mut i = 1;
    while i < N {
        values[i] = f(i);
        i += 1;
    }
    values
}

#[cfg(test)]
mod tests {
    #[test]
    fn array_from_calls_f_with_every_index_in_order() {
        let mut calls = Vec::new();
        let squares: [usize; 5] = super::array_from(|i| {
            calls.push(i);
            i * i
        });
        assert_eq!(squares, [0, 1, 4, 9, 16]);
        assert_eq!(calls, [0, 1, 2, 3, 4]);
    }
}
