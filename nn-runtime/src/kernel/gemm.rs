//! Row-major matrix products through `matrixmultiply`'s SGEMM.

/// Whether an operand is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the matrix as stored.
    No,
    /// Use its transpose.
    Yes,
}

/// `c = a' * b' + beta * c` for row-major matrices, where `a'` is `a` or its transpose
/// (`m x k` after transposition), `b'` is `b` or its transpose (`k x n`), and `c` is `m x n`.
///
/// ```
/// use nn::kernel::{matmul, Transpose};
/// // [1 2] * [3]   = [11]
/// //         [4]
/// let mut c = [0.0];
/// matmul(1, 2, 1, &[1.0, 2.0], Transpose::No, &[3.0, 4.0], Transpose::No, 0.0, &mut c);
/// assert_eq!(c, [11.0]);
/// ```
///
/// # Panics
///
/// If a slice is shorter than its dimensions require (a bug in the caller, never user input:
/// every caller derives the dimensions from the same const generics as the slices).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_transpose: Transpose,
    b: &[f32],
    b_transpose: Transpose,
    beta: f32,
    c: &mut [f32],
) {
    assert!(a.len() >= m * k, "matmul: a holds {} values, needs {}", a.len(), m * k);
    assert!(b.len() >= k * n, "matmul: b holds {} values, needs {}", b.len(), k * n);
    assert!(c.len() >= m * n, "matmul: c holds {} values, needs {}", c.len(), m * n);
    if m == 0 || n == 0 {
        return;
    }
    // Row-major strides of the operand as used: stored `m x k` has (k, 1); its transpose
    // (stored `k x m`) read as `m x k` has (1, m).
    let (rsa, csa) = match a_transpose {
        Transpose::No => (k as isize, 1),
        Transpose::Yes => (1, m as isize),
    };
    let (rsb, csb) = match b_transpose {
        Transpose::No => (n as isize, 1),
        Transpose::Yes => (1, k as isize),
    };
    #[allow(unsafe_code)]
    // SAFETY: the asserts above guarantee that every element addressed by the strides, the
    // largest being (m-1)*rs + (k-1)*cs < m*k for `a` and likewise for `b` and `c`, lies
    // inside its slice; `c` is borrowed mutably, so it cannot alias `a` or `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}
