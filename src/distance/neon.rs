//! aarch64 SIMD kernels: NEON (Advanced SIMD), 4 lanes of `f32` per `float32x4_t`.
//!
//! The kernels follow the x86 ones (`x86.rs`): each walks the vectors in blocks
//! of several registers with one independent accumulator per register (8 for
//! `dot`, `l2_squared`, `norm_squared`; 4 x 3 for the one-pass cosine), so
//! consecutive `FMLA`s never wait on each other's latency; the remaining whole
//! registers rotate through the accumulators; the accumulators are summed as a
//! balanced tree and reduced with `FADDP`/`vaddvq_f32`. NEON has no masked load,
//! so the final `< 4` elements are a scalar tail (fused multiply-adds, like the
//! vector body), added after the horizontal sum.
//!
//! # Safety model
//!
//! The same as for the x86 kernels. The kernels are `#[target_feature(enable =
//! "neon")]` functions (Rust requires the attribute for the intrinsics to be safe
//! to call, even where NEON is in the target's baseline, as on every aarch64
//! Linux or macOS target): calling one without NEON is undefined behaviour. They
//! are private to this module; the only way to reach them from outside is the
//! [`Kernels`] table `NEON`, whose entries are safe wrappers. The table is private
//! too and handed out only by [`neon_kernels`], after
//! `is_aarch64_feature_detected!("neon")` confirmed the feature at run time (on
//! aarch64 Linux and macOS that is always true). Hence every call through a
//! wrapper runs on a CPU with NEON.
//!
//! Memory safety does not depend on the caller either: every vector load reads
//! from a `&[f32; 4]` obtained with `as_chunks`, so it is in bounds, and the tail
//! is read with ordinary slice iteration. Mismatched lengths (a caller bug,
//! caught by `debug_assert!`) only shorten the computation to the common prefix.

use std::arch::aarch64::*;

use super::{cosine_from_parts, Kernels};

type V = float32x4_t;
/// `f32` lanes per register.
const LANES: usize = 4;
/// Accumulators per quantity for `dot`, `l2_squared`, `norm_squared`.
const UNROLL: usize = 8;
/// Accumulators per quantity for the one-pass cosine (3 quantities).
const UNROLL_COS: usize = 4;

#[inline]
#[target_feature(enable = "neon")]
fn zero() -> V {
    vdupq_n_f32(0.0)
}

#[inline]
#[target_feature(enable = "neon")]
fn add(x: V, y: V) -> V {
    vaddq_f32(x, y)
}

/// `acc + x * y` with a single rounding (`FMLA`).
#[inline]
#[target_feature(enable = "neon")]
fn fmadd(x: V, y: V, acc: V) -> V {
    vfmaq_f32(acc, x, y)
}

/// Unaligned load of exactly one register's worth of elements.
#[inline]
#[target_feature(enable = "neon")]
fn load(p: &[f32; LANES]) -> V {
    // SAFETY: `p` refers to exactly 4 initialised, contiguous f32 (16 bytes), so
    // the load stays in bounds; `vld1q_f32` (LD1) needs only the alignment of
    // `f32`, which a `&[f32; 4]` has.
    unsafe { vld1q_f32(p.as_ptr()) }
}

/// Horizontal sum of the 4 lanes.
#[inline]
#[target_feature(enable = "neon")]
fn hsum(v: V) -> f32 {
    vaddvq_f32(v)
}

/// Sum of 8 registers as a balanced tree.
#[inline]
#[target_feature(enable = "neon")]
fn tree8(s: [V; 8]) -> V {
    add(
        add(add(s[0], s[1]), add(s[2], s[3])),
        add(add(s[4], s[5]), add(s[6], s[7])),
    )
}

/// Sum of 4 registers as a balanced tree.
#[inline]
#[target_feature(enable = "neon")]
fn tree4(s: [V; 4]) -> V {
    add(add(s[0], s[1]), add(s[2], s[3]))
}

/// `s` with its first element replaced by `t` and rotated left by one, so
/// consecutive leftover registers go to different accumulators.
#[inline]
fn rotate8<T: Copy>(s: [T; 8], t: T) -> [T; 8] {
    [s[1], s[2], s[3], s[4], s[5], s[6], s[7], t]
}

/// Like [`rotate8`], for 4 accumulators.
#[inline]
fn rotate4<T: Copy>(s: [T; 4], t: T) -> [T; 4] {
    [s[1], s[2], s[3], t]
}

/// `sum (a_i - b_i)^2`.
#[target_feature(enable = "neon")]
fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a1, at) = a[..n].as_chunks::<LANES>();
    let (b1, bt) = b[..n].as_chunks::<LANES>();
    let (ab, ar) = a1.as_chunks::<UNROLL>();
    let (bb, br) = b1.as_chunks::<UNROLL>();
    #[inline]
    #[target_feature(enable = "neon")]
    fn step(acc: V, x: V, y: V) -> V {
        let d = vsubq_f32(x, y);
        fmadd(d, d, acc)
    }
    let mut s = [zero(); UNROLL];
    for (x, y) in ab.iter().zip(bb) {
        for j in 0..UNROLL {
            s[j] = step(s[j], load(&x[j]), load(&y[j]));
        }
    }
    for (x, y) in ar.iter().zip(br) {
        s = rotate8(s, step(s[0], load(x), load(y)));
    }
    let mut t = 0.0f32;
    for (&x, &y) in at.iter().zip(bt) {
        let d = x - y;
        t = d.mul_add(d, t);
    }
    hsum(tree8(s)) + t
}

/// `sum a_i * b_i`.
#[target_feature(enable = "neon")]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a1, at) = a[..n].as_chunks::<LANES>();
    let (b1, bt) = b[..n].as_chunks::<LANES>();
    let (ab, ar) = a1.as_chunks::<UNROLL>();
    let (bb, br) = b1.as_chunks::<UNROLL>();
    let mut s = [zero(); UNROLL];
    for (x, y) in ab.iter().zip(bb) {
        for j in 0..UNROLL {
            s[j] = fmadd(load(&x[j]), load(&y[j]), s[j]);
        }
    }
    for (x, y) in ar.iter().zip(br) {
        s = rotate8(s, fmadd(load(x), load(y), s[0]));
    }
    let mut t = 0.0f32;
    for (&x, &y) in at.iter().zip(bt) {
        t = x.mul_add(y, t);
    }
    hsum(tree8(s)) + t
}

/// `sum a_i^2`.
#[target_feature(enable = "neon")]
fn norm_squared(a: &[f32]) -> f32 {
    let (a1, at) = a.as_chunks::<LANES>();
    let (ab, ar) = a1.as_chunks::<UNROLL>();
    let mut s = [zero(); UNROLL];
    for x in ab {
        for j in 0..UNROLL {
            let v = load(&x[j]);
            s[j] = fmadd(v, v, s[j]);
        }
    }
    for x in ar {
        let v = load(x);
        s = rotate8(s, fmadd(v, v, s[0]));
    }
    let mut t = 0.0f32;
    for &x in at {
        t = x.mul_add(x, t);
    }
    hsum(tree8(s)) + t
}

/// One pass accumulating `a.b`, `|a|^2`, `|b|^2` (4 accumulators each), then
/// [`cosine_from_parts`].
#[target_feature(enable = "neon")]
fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a1, at) = a[..n].as_chunks::<LANES>();
    let (b1, bt) = b[..n].as_chunks::<LANES>();
    let (ab, ar) = a1.as_chunks::<UNROLL_COS>();
    let (bb, br) = b1.as_chunks::<UNROLL_COS>();
    /// Accumulators for (a.b, |a|^2, |b|^2).
    #[derive(Clone, Copy)]
    struct Acc(V, V, V);
    #[inline]
    #[target_feature(enable = "neon")]
    fn step(s: Acc, x: V, y: V) -> Acc {
        Acc(fmadd(x, y, s.0), fmadd(x, x, s.1), fmadd(y, y, s.2))
    }
    let z = Acc(zero(), zero(), zero());
    let mut s = [z; UNROLL_COS];
    for (x, y) in ab.iter().zip(bb) {
        for j in 0..UNROLL_COS {
            s[j] = step(s[j], load(&x[j]), load(&y[j]));
        }
    }
    for (x, y) in ar.iter().zip(br) {
        s = rotate4(s, step(s[0], load(x), load(y)));
    }
    let (mut tab, mut taa, mut tbb) = (0.0f32, 0.0f32, 0.0f32);
    for (&x, &y) in at.iter().zip(bt) {
        tab = x.mul_add(y, tab);
        taa = x.mul_add(x, taa);
        tbb = y.mul_add(y, tbb);
    }
    let ab = hsum(tree4([s[0].0, s[1].0, s[2].0, s[3].0])) + tab;
    let aa = hsum(tree4([s[0].1, s[1].1, s[2].1, s[3].1])) + taa;
    let bb = hsum(tree4([s[0].2, s[1].2, s[2].2, s[3].2])) + tbb;
    cosine_from_parts(ab, aa, bb)
}

/// `sum a_i * b_i` of int8 codes, exact: 16 codes per step, widening multiplies
/// (`SMULL`/`SMULL2`, i8 x i8 -> i16, exact for any i8) accumulated pairwise into
/// i32 lanes (`SADALP`); the final `< 16` codes are a scalar tail.
#[target_feature(enable = "neon")]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let (mut s0, mut s1) = (vdupq_n_s32(0), vdupq_n_s32(0));
    for (x, y) in ac.iter().zip(bc) {
        // SAFETY: `x` and `y` refer to exactly 16 initialised bytes each; LD1 of
        // bytes has no alignment requirement.
        let (va, vb) = unsafe { (vld1q_s8(x.as_ptr()), vld1q_s8(y.as_ptr())) };
        s0 = vpadalq_s16(s0, vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
        s1 = vpadalq_s16(s1, vmull_high_s8(va, vb));
    }
    let tail: i32 = at
        .iter()
        .zip(bt)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    vaddvq_s32(vaddq_s32(s0, s1)) + tail
}

/// 4 codes as i32: `y = x * inv`, `trunc(y + copysign(0.5, y))` (the scalar
/// reference's two f32 roundings: `FMUL` then `FADD`, no fused multiply-add),
/// clamped to +-128 as floats, converted toward zero (`FCVTZS`, which like Rust's
/// `as` gives 0 for NaN: `FMIN`/`FMAX` keep the NaN) and clamped to +-127.
#[inline]
#[target_feature(enable = "neon")]
fn quant4(x: float32x4_t, inv: float32x4_t) -> int32x4_t {
    let y = vmulq_f32(x, inv);
    let sign = vandq_u32(vreinterpretq_u32_f32(y), vdupq_n_u32(0x8000_0000));
    let half = vreinterpretq_f32_u32(vorrq_u32(vdupq_n_u32(0.5f32.to_bits()), sign));
    let r = vaddq_f32(y, half);
    let r = vmaxq_f32(vminq_f32(r, vdupq_n_f32(128.0)), vdupq_n_f32(-128.0));
    let c = vcvtq_s32_f32(r);
    vmaxq_s32(vminq_s32(c, vdupq_n_s32(127)), vdupq_n_s32(-127))
}

/// The int8 codes of `v` (see `Kernels::quantize_i8`), 8 per step; the final
/// `< 8` are the scalar reference's.
#[target_feature(enable = "neon")]
fn quantize_i8(v: &[f32], inv: f32, out: &mut [i8]) -> i64 {
    debug_assert_eq!(v.len(), out.len());
    let n = v.len().min(out.len());
    let (vc, vt) = v[..n].as_chunks::<8>();
    let (oc, ot) = out[..n].as_chunks_mut::<8>();
    let vinv = vdupq_n_f32(inv);
    // (each i32 lane gains at most 2 * 16129 per step: exact below 2^31 for any
    // vector shorter than 250k components)
    let mut acc = vdupq_n_s32(0);
    for (x, o) in vc.iter().zip(oc.iter_mut()) {
        // SAFETY: `x` refers to exactly 8 initialised floats; LD1 has no alignment
        // requirement.
        let (a, b) = unsafe { (vld1q_f32(x.as_ptr()), vld1q_f32(x.as_ptr().add(4))) };
        let (c0, c1) = (quant4(a, vinv), quant4(b, vinv));
        acc = vmlaq_s32(acc, c0, c0);
        acc = vmlaq_s32(acc, c1, c1);
        // codes in -127..=127: the narrowing moves keep them as they are
        let codes = vmovn_s16(vcombine_s16(vmovn_s32(c0), vmovn_s32(c1)));
        // SAFETY: `o` is exactly 8 bytes; ST1 has no alignment requirement.
        unsafe { vst1_s8(o.as_mut_ptr(), codes) }
    }
    let mut n2 = vaddlvq_s32(acc);
    for (o, &x) in ot.iter_mut().zip(vt) {
        let c = super::scalar::quantize_one(x, inv);
        n2 += i64::from(c * c);
        *o = c as i8;
    }
    n2
}

// ---------------------------------------------------------------------------
// Safe wrappers and the table that is their only way out of this module.
// ---------------------------------------------------------------------------

static NEON: Kernels = Kernels {
    name: "neon",
    l2_squared: neon_l2_squared,
    dot: neon_dot,
    cosine_distance: neon_cosine_distance,
    norm_squared: neon_norm_squared,
    dot_i8: neon_dot_i8,
    quantize_i8: neon_quantize_i8,
};

/// `&NEON` if the CPU supports NEON (every aarch64 CPU does). The only way to
/// obtain `NEON`.
pub(super) fn neon_kernels() -> Option<&'static Kernels> {
    std::arch::is_aarch64_feature_detected!("neon").then_some(&NEON)
}

fn neon_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs NEON. This private fn is only reachable through `NEON`, which
    // `neon_kernels` hands out only after detecting the feature.
    unsafe { l2_squared(a, b) }
}

fn neon_dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs NEON. This private fn is only reachable through `NEON`, which
    // `neon_kernels` hands out only after detecting the feature.
    unsafe { dot(a, b) }
}

fn neon_cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs NEON. This private fn is only reachable through `NEON`, which
    // `neon_kernels` hands out only after detecting the feature.
    unsafe { cosine_distance(a, b) }
}

fn neon_norm_squared(a: &[f32]) -> f32 {
    // SAFETY: needs NEON. This private fn is only reachable through `NEON`, which
    // `neon_kernels` hands out only after detecting the feature.
    unsafe { norm_squared(a) }
}

fn neon_quantize_i8(v: &[f32], inv: f32, out: &mut [i8]) -> i64 {
    // SAFETY: needs NEON. This private fn is only reachable through `NEON`, which
    // `neon_kernels` hands out only after detecting the feature.
    unsafe { quantize_i8(v, inv, out) }
}

fn neon_dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // SAFETY: needs NEON. This private fn is only reachable through `NEON`, which
    // `neon_kernels` hands out only after detecting the feature.
    unsafe { dot_i8(a, b) }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check_matches_scalar, test_vec};
    use super::*;

    #[test]
    fn neon_is_detected() {
        assert_eq!(neon_kernels().map(|k| k.name), Some("neon"));
    }

    #[test]
    fn neon_matches_scalar() {
        check_matches_scalar(neon_kernels().unwrap());
    }

    #[test]
    fn mismatched_lengths_use_common_prefix_in_release() {
        // In debug builds the debug_assert fires instead; only check release here.
        if cfg!(debug_assertions) {
            return;
        }
        let a = test_vec(40, 1);
        let k = neon_kernels().unwrap();
        assert_eq!((k.dot)(&a, &a[..3]), (k.dot)(&a[..3], &a[..3]));
        assert_eq!((k.dot)(&a, &a[..37]), (k.dot)(&a[..37], &a[..37]));
    }
}
