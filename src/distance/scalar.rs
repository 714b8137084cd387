//! Portable reference kernels: plain sequential loops accumulating in `f32`.
//!
//! These are the oracle the SIMD kernels are tested against and the fallback on
//! CPUs (and architectures) without a SIMD implementation. They are deliberately
//! straightforward; the compiler may or may not vectorise them (it cannot reorder
//! an `f32` sum on its own).

use super::{cosine_from_parts, Kernels};

/// The scalar kernel table.
pub(super) static KERNELS: Kernels = Kernels {
    name: "scalar",
    l2_squared,
    dot,
    cosine_distance,
    norm_squared,
    dot_i8,
    quantize_i8,
};

/// `sum (a_i - b_i)^2`.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0.0f32;
    for (&x, &y) in a.iter().zip(b) {
        let d = x - y;
        sum += d * d;
    }
    sum
}

/// `sum a_i * b_i`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0.0f32;
    for (&x, &y) in a.iter().zip(b) {
        sum += x * y;
    }
    sum
}

/// `1 - dot / (|a| |b|)` from one pass accumulating `a.b`, `|a|^2`, `|b|^2`.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (&x, &y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    cosine_from_parts(ab, aa, bb)
}

/// `sum a_i * b_i` of int8 codes, exactly (in `i32`: no overflow for
/// `len <= 8192` codes in `-127..=127`, or any len up to 2^17 at full range).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// The int8 codes of `v` at scale `1 / inv` (see `Kernels::quantize_i8`).
pub fn quantize_i8(v: &[f32], inv: f32, out: &mut [i8]) -> i64 {
    debug_assert_eq!(v.len(), out.len());
    let mut n2: i64 = 0;
    for (o, &x) in out.iter_mut().zip(v) {
        let c = quantize_one(x, inv);
        n2 += i64::from(c * c);
        *o = c as i8;
    }
    n2
}

/// One code of [`quantize_i8`] (the SIMD kernels' tails use it too).
#[inline]
pub(crate) fn quantize_one(x: f32, inv: f32) -> i32 {
    let y = x * inv;
    ((y + 0.5f32.copysign(y)) as i32).clamp(-127, 127)
}

/// `sum a_i^2`.
pub fn norm_squared(a: &[f32]) -> f32 {
    let mut sum = 0.0f32;
    for &x in a {
        sum += x * x;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_exact_values() {
        let a = [1.0f32, -2.0, 3.0, 0.5];
        let b = [0.0f32, 2.0, 1.0, -0.5];
        assert_eq!(l2_squared(&a, &b), 1.0 + 16.0 + 4.0 + 1.0);
        assert_eq!(dot(&a, &b), -4.0 + 3.0 - 0.25);
        assert_eq!(norm_squared(&a), 1.0 + 4.0 + 9.0 + 0.25);
        assert_eq!(cosine_distance(&a, &a), 0.0);
        let neg: Vec<f32> = a.iter().map(|x| -x).collect();
        assert_eq!(cosine_distance(&a, &neg), 2.0);
        assert_eq!(cosine_distance(&a, &[0.0; 4]), 1.0);
        assert_eq!(cosine_distance(&[1.0, 0.0], &[0.0, 1.0]), 1.0);
    }

    #[test]
    fn empty_vectors() {
        assert_eq!(l2_squared(&[], &[]), 0.0);
        assert_eq!(dot(&[], &[]), 0.0);
        assert_eq!(norm_squared(&[]), 0.0);
        assert_eq!(cosine_distance(&[], &[]), 1.0);
    }
}
