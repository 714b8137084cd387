//! x86_64 SIMD kernels: AVX2+FMA (8 lanes) and AVX-512F (16 lanes).
//!
//! Both levels share one kernel body (the `simd_kernels!` macro), written against
//! a handful of per-level helpers (`zero`, `load`, `load_tail`, `add`, `sub`,
//! `fmadd`, `hsum`). Each kernel
//!
//! * walks the vectors in blocks of several registers with one independent
//!   accumulator per register (8 for `dot`, `l2_squared`, `norm_squared`; 4 x 3
//!   for the one-pass cosine), so consecutive FMAs never wait on each other's
//!   4-cycle latency and the loop runs at the load (or FMA-port) limit;
//! * handles the remaining whole registers by rotating through the accumulators
//!   (constant indices only, so the accumulators stay in registers);
//! * loads the final `< LANES` elements with a masked load (masked-off lanes read
//!   as 0 and are never accessed), so there is no scalar tail loop.
//!
//! # Safety model
//!
//! The kernels are `#[target_feature]` functions: calling one on a CPU without
//! the feature is undefined behaviour. They are private to this module; the only
//! way to reach them from outside is through the [`Kernels`] tables `AVX2` and
//! `AVX512`, whose entries are safe wrappers. Those tables are private too and
//! are handed out only by [`avx2_kernels`] / [`avx512_kernels`], after
//! `is_x86_feature_detected!` has confirmed the features at run time. Hence every
//! call through a wrapper runs on a CPU that has the features.
//!
//! Memory safety does not depend on the caller either: every full-width load
//! reads from a `&[f32; LANES]` obtained with `as_chunks`, and the tail is read
//! with a mask that enables only in-bounds lanes. Mismatched lengths (a caller
//! bug, caught by `debug_assert!`) only shorten the computation to the common
//! prefix.

use std::arch::x86_64::*;

use super::{cosine_from_parts, Kernels};

/// The kernel body shared by both levels. Expects in scope: the vector type `V`,
/// `LANES`, and the helpers listed in the module docs, all callable under
/// `$feat`.
macro_rules! simd_kernels {
    ($feat:literal) => {
        /// Accumulators per quantity for `dot`, `l2_squared`, `norm_squared`.
        const UNROLL: usize = 8;
        /// Accumulators per quantity for the one-pass cosine (3 quantities).
        const UNROLL_COS: usize = 4;

        /// Sum of 8 registers as a balanced tree.
        #[inline]
        #[target_feature(enable = $feat)]
        fn tree8(s: [V; 8]) -> V {
            add(
                add(add(s[0], s[1]), add(s[2], s[3])),
                add(add(s[4], s[5]), add(s[6], s[7])),
            )
        }

        /// Sum of 4 registers as a balanced tree.
        #[inline]
        #[target_feature(enable = $feat)]
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
        #[target_feature(enable = $feat)]
        pub(super) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
            debug_assert_eq!(a.len(), b.len());
            let n = a.len().min(b.len());
            let (a1, at) = a[..n].as_chunks::<LANES>();
            let (b1, bt) = b[..n].as_chunks::<LANES>();
            let (ab, ar) = a1.as_chunks::<UNROLL>();
            let (bb, br) = b1.as_chunks::<UNROLL>();
            #[inline]
            #[target_feature(enable = $feat)]
            fn step(acc: V, x: V, y: V) -> V {
                let d = sub(x, y);
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
            if !at.is_empty() {
                s[0] = step(s[0], load_tail(at), load_tail(bt));
            }
            hsum(tree8(s))
        }

        /// `sum a_i * b_i`.
        #[target_feature(enable = $feat)]
        pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
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
            if !at.is_empty() {
                s[0] = fmadd(load_tail(at), load_tail(bt), s[0]);
            }
            hsum(tree8(s))
        }

        /// `sum a_i^2`.
        #[target_feature(enable = $feat)]
        pub(super) fn norm_squared(a: &[f32]) -> f32 {
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
            if !at.is_empty() {
                let v = load_tail(at);
                s[0] = fmadd(v, v, s[0]);
            }
            hsum(tree8(s))
        }

        /// One pass accumulating `a.b`, `|a|^2`, `|b|^2` (4 accumulators each),
        /// then [`cosine_from_parts`].
        #[target_feature(enable = $feat)]
        pub(super) fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
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
            #[target_feature(enable = $feat)]
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
            if !at.is_empty() {
                s[0] = step(s[0], load_tail(at), load_tail(bt));
            }
            let ab = hsum(tree4([s[0].0, s[1].0, s[2].0, s[3].0]));
            let aa = hsum(tree4([s[0].1, s[1].1, s[2].1, s[3].1]));
            let bb = hsum(tree4([s[0].2, s[1].2, s[2].2, s[3].2]));
            cosine_from_parts(ab, aa, bb)
        }
    };
}

/// AVX2 + FMA: 8 lanes of `f32` per `__m256`.
mod avx2 {
    use super::*;

    type V = __m256;
    const LANES: usize = 8;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn zero() -> V {
        _mm256_setzero_ps()
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn add(x: V, y: V) -> V {
        _mm256_add_ps(x, y)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sub(x: V, y: V) -> V {
        _mm256_sub_ps(x, y)
    }

    /// `x * y + acc` with a single rounding.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn fmadd(x: V, y: V, acc: V) -> V {
        _mm256_fmadd_ps(x, y, acc)
    }

    /// Unaligned load of exactly one register's worth of elements.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn load(p: &[f32; LANES]) -> V {
        // SAFETY: `p` refers to exactly 8 initialised, contiguous f32 (32 bytes), so
        // the load stays in bounds; `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_ps(p.as_ptr()) }
    }

    /// Loads `t` (fewer than 8 elements) into the low lanes; the other lanes are 0.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn load_tail(t: &[f32]) -> V {
        debug_assert!(t.len() < LANES);
        let n = t.len().min(LANES) as i32;
        // Lane i is enabled (all ones) iff i < n.
        let mask = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        // SAFETY: only lanes i < t.len() are enabled, and those addresses lie inside
        // `t`. VMASKMOVPS does not access (and cannot fault on) disabled lanes, and
        // it has no alignment requirement; disabled lanes read as 0.
        unsafe { _mm256_maskload_ps(t.as_ptr(), mask) }
    }

    /// Horizontal sum of the 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: V) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    simd_kernels!("avx2,fma");
}

/// AVX-512F: 16 lanes of `f32` per `__m512`.
mod avx512 {
    use super::*;

    type V = __m512;
    const LANES: usize = 16;

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn zero() -> V {
        _mm512_setzero_ps()
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn add(x: V, y: V) -> V {
        _mm512_add_ps(x, y)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sub(x: V, y: V) -> V {
        _mm512_sub_ps(x, y)
    }

    /// `x * y + acc` with a single rounding.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn fmadd(x: V, y: V, acc: V) -> V {
        _mm512_fmadd_ps(x, y, acc)
    }

    /// Unaligned load of exactly one register's worth of elements.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(p: &[f32; LANES]) -> V {
        // SAFETY: `p` refers to exactly 16 initialised, contiguous f32 (64 bytes), so
        // the load stays in bounds; `loadu` has no alignment requirement.
        unsafe { _mm512_loadu_ps(p.as_ptr()) }
    }

    /// Loads `t` (fewer than 16 elements) into the low lanes; the other lanes are 0.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load_tail(t: &[f32]) -> V {
        debug_assert!(t.len() < LANES);
        let n = t.len().min(LANES);
        // Bits 0..n set: lane i is enabled iff i < n.
        let mask = ((1u32 << n) - 1) as __mmask16;
        // SAFETY: only lanes i < t.len() are enabled, and those addresses lie inside
        // `t`. AVX-512 masked loads suppress faults on (and do not access) disabled
        // lanes and have no alignment requirement; disabled lanes are zeroed.
        unsafe { _mm512_maskz_loadu_ps(mask, t.as_ptr()) }
    }

    /// Horizontal sum of the 16 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn hsum(v: V) -> f32 {
        _mm512_reduce_add_ps(v)
    }

    simd_kernels!("avx512f");
}

// ---------------------------------------------------------------------------
// Safe wrappers and the tables that are their only way out of this module.
// ---------------------------------------------------------------------------

static AVX2: Kernels = Kernels {
    name: "avx2+fma",
    l2_squared: avx2_l2_squared,
    dot: avx2_dot,
    cosine_distance: avx2_cosine_distance,
    norm_squared: avx2_norm_squared,
    dot_i8: avx2_dot_i8,
    quantize_i8: avx2_quantize_i8,
};

/// AVX-512F for f32; the int8 dot from AVX2 (every AVX-512 CPU has AVX2, and
/// `avx512_kernels` checks it).
static AVX512: Kernels = Kernels {
    name: "avx512f",
    l2_squared: avx512_l2_squared,
    dot: avx512_dot,
    cosine_distance: avx512_cosine_distance,
    norm_squared: avx512_norm_squared,
    dot_i8: avx2_dot_i8,
    quantize_i8: avx2_quantize_i8,
};

/// [`AVX512`] with the int8 dot of AVX-512 VNNI (`vpdpbusd`, 64 codes per
/// instruction).
static AVX512_VNNI: Kernels = Kernels {
    name: "avx512f+vnni",
    l2_squared: avx512_l2_squared,
    dot: avx512_dot,
    cosine_distance: avx512_cosine_distance,
    norm_squared: avx512_norm_squared,
    dot_i8: avx512_vnni_dot_i8,
    quantize_i8: avx2_quantize_i8,
};

/// `&AVX2` if the CPU supports AVX2 and FMA. The only way to obtain `AVX2`.
pub(super) fn avx2_kernels() -> Option<&'static Kernels> {
    (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(&AVX2)
}

/// `&AVX512_VNNI` if the CPU supports AVX-512F, BW and VNNI (and AVX2), else
/// `&AVX512` if it supports AVX-512F and AVX2. The only way to obtain either.
pub(super) fn avx512_kernels() -> Option<&'static Kernels> {
    if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2")) {
        return None;
    }
    Some(if vnni_detected() {
        &AVX512_VNNI
    } else {
        &AVX512
    })
}

fn vnni_detected() -> bool {
    is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vnni")
}

/// `&AVX512` (AVX-512F with the AVX2 int8 dot) even on a CPU with VNNI, so the
/// tests check both int8 kernels.
#[cfg(test)]
fn avx512_without_vnni() -> Option<&'static Kernels> {
    avx512_kernels().map(|_| &AVX512)
}

fn avx2_dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // SAFETY: needs AVX2. Reachable only through `AVX2` (handed out after
    // detecting AVX2 and FMA) and `AVX512`/`AVX512_VNNI` (after detecting AVX2 too).
    unsafe { int8::dot_i8_avx2(a, b) }
}

fn avx2_quantize_i8(v: &[f32], inv: f32, out: &mut [i8]) -> i64 {
    // SAFETY: needs AVX2. Reachable only through `AVX2` (handed out after
    // detecting AVX2 and FMA) and `AVX512`/`AVX512_VNNI` (after detecting AVX2 too).
    unsafe { int8::quantize_avx2(v, inv, out) }
}

fn avx512_vnni_dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // SAFETY: needs AVX-512F, BW and VNNI. Reachable only through `AVX512_VNNI`,
    // which `avx512_kernels` hands out only after detecting all three.
    unsafe { int8::dot_i8_vnni(a, b) }
}

/// The int8 dot products. Both use the sign trick: `|a|` as unsigned bytes times
/// `b` with `a`'s sign, so the unsigned-by-signed multiplies (`vpmaddubsw`,
/// `vpdpbusd`) give signed products. With codes in `-127..=127` the pair sums of
/// `vpmaddubsw` stay within `2 * 127 * 127 = 32258` (no saturation).
mod int8 {
    use super::*;

    /// Horizontal sum of 8 i32 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hsum_epi32(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn load32(p: &[i8; 32]) -> __m256i {
        // SAFETY: `p` refers to exactly 32 initialised bytes; `loadu` has no
        // alignment requirement.
        unsafe { _mm256_loadu_si256(p.as_ptr() as *const __m256i) }
    }

    /// 32 codes: `a . b` as 8 i32 partial sums.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn step(va: __m256i, vb: __m256i, ones: __m256i) -> __m256i {
        let ua = _mm256_sign_epi8(va, va);
        let sb = _mm256_sign_epi8(vb, va);
        _mm256_madd_epi16(_mm256_maddubs_epi16(ua, sb), ones)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
        debug_assert_eq!(a.len(), b.len());
        let n = a.len().min(b.len());
        let (ac, at) = a[..n].as_chunks::<32>();
        let (bc, bt) = b[..n].as_chunks::<32>();
        let ones = _mm256_set1_epi16(1);
        let (mut s0, mut s1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut pairs = ac.chunks_exact(2).zip(bc.chunks_exact(2));
        for (x, y) in pairs.by_ref() {
            s0 = _mm256_add_epi32(s0, step(load32(&x[0]), load32(&y[0]), ones));
            s1 = _mm256_add_epi32(s1, step(load32(&x[1]), load32(&y[1]), ones));
        }
        if ac.len() % 2 == 1 {
            let (x, y) = (&ac[ac.len() - 1], &bc[bc.len() - 1]);
            s0 = _mm256_add_epi32(s0, step(load32(x), load32(y), ones));
        }
        let tail: i32 = at
            .iter()
            .zip(bt)
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
        hsum_epi32(_mm256_add_epi32(s0, s1)) + tail
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn load8f(p: &[f32]) -> __m256 {
        let p: &[f32; 8] = p[..8].try_into().expect("8 floats");
        // SAFETY: `p` refers to exactly 8 initialised floats; `loadu` has no
        // alignment requirement.
        unsafe { _mm256_loadu_ps(p.as_ptr()) }
    }

    /// 8 codes as i32: `y = x * inv`, `trunc(y + copysign(0.5, y))` (the same two
    /// f32 roundings as the scalar reference, no FMA), clamped to `-127..=127`
    /// (the float clamp to +-128 first keeps huge values from the conversion's
    /// out-of-range result).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn quant8(x: __m256, inv: __m256) -> __m256i {
        let y = _mm256_mul_ps(x, inv);
        let half = _mm256_or_ps(_mm256_set1_ps(0.5), _mm256_and_ps(y, _mm256_set1_ps(-0.0)));
        let r = _mm256_add_ps(y, half);
        let r = _mm256_max_ps(
            _mm256_min_ps(r, _mm256_set1_ps(128.0)),
            _mm256_set1_ps(-128.0),
        );
        let c = _mm256_cvttps_epi32(r);
        _mm256_max_epi32(
            _mm256_min_epi32(c, _mm256_set1_epi32(127)),
            _mm256_set1_epi32(-127),
        )
    }

    /// The int8 codes of `v` (see `Kernels::quantize_i8`), 32 per step.
    #[target_feature(enable = "avx2")]
    pub(super) fn quantize_avx2(v: &[f32], inv: f32, out: &mut [i8]) -> i64 {
        debug_assert_eq!(v.len(), out.len());
        let n = v.len().min(out.len());
        let (vc, vt) = v[..n].as_chunks::<32>();
        let (oc, ot) = out[..n].as_chunks_mut::<32>();
        let vinv = _mm256_set1_ps(inv);
        // packs interleave the 128-bit lanes: this puts the 4-code groups back in order
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let mut acc = _mm256_setzero_si256();
        for (x, o) in vc.iter().zip(oc.iter_mut()) {
            let a = quant8(load8f(&x[0..]), vinv);
            let b = quant8(load8f(&x[8..]), vinv);
            let c = quant8(load8f(&x[16..]), vinv);
            let d = quant8(load8f(&x[24..]), vinv);
            let ab = _mm256_packs_epi32(a, b);
            let cd = _mm256_packs_epi32(c, d);
            // squares of codes in -127..=127 summed in pairs: at most 32258 per lane
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(ab, ab));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(cd, cd));
            let codes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), order);
            // SAFETY: `o` is exactly 32 bytes; `storeu` has no alignment requirement.
            unsafe { _mm256_storeu_si256(o.as_mut_ptr() as *mut __m256i, codes) }
        }
        // (each i32 lane gains at most 4 * 16129 per step: exact below 2^31 for any
        // vector shorter than 1M components)
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` is exactly 32 bytes; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) }
        let mut n2: i64 = lanes.iter().map(|&x| i64::from(x)).sum();
        for (o, &x) in ot.iter_mut().zip(vt) {
            let c = crate::distance::scalar::quantize_one(x, inv);
            n2 += i64::from(c * c);
            *o = c as i8;
        }
        n2
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn load64(p: &[i8; 64]) -> __m512i {
        // SAFETY: `p` refers to exactly 64 initialised bytes; `loadu` has no
        // alignment requirement.
        unsafe { _mm512_loadu_si512(p.as_ptr() as *const __m512i) }
    }

    /// Loads `t` (fewer than 64 bytes) into the low bytes; the others are 0.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn load_tail64(t: &[i8]) -> __m512i {
        let n = t.len().min(63);
        let mask: __mmask64 = (1u64 << n) - 1;
        // SAFETY: only bytes i < t.len() are enabled and those lie inside `t`;
        // AVX-512 masked loads do not access (nor fault on) disabled lanes, and
        // have no alignment requirement.
        unsafe { _mm512_maskz_loadu_epi8(mask, t.as_ptr()) }
    }

    /// `acc + a . b` over 64 codes as 16 i32 partial sums.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    fn step512(acc: __m512i, va: __m512i, vb: __m512i) -> __m512i {
        let ua = _mm512_abs_epi8(va);
        let sb = _mm512_mask_sub_epi8(vb, _mm512_movepi8_mask(va), _mm512_setzero_si512(), vb);
        _mm512_dpbusd_epi32(acc, ua, sb)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) fn dot_i8_vnni(a: &[i8], b: &[i8]) -> i32 {
        debug_assert_eq!(a.len(), b.len());
        let n = a.len().min(b.len());
        let (ac, at) = a[..n].as_chunks::<64>();
        let (bc, bt) = b[..n].as_chunks::<64>();
        let (mut s0, mut s1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let mut pairs = ac.chunks_exact(2).zip(bc.chunks_exact(2));
        for (x, y) in pairs.by_ref() {
            s0 = step512(s0, load64(&x[0]), load64(&y[0]));
            s1 = step512(s1, load64(&x[1]), load64(&y[1]));
        }
        if ac.len() % 2 == 1 {
            s0 = step512(s0, load64(&ac[ac.len() - 1]), load64(&bc[bc.len() - 1]));
        }
        if !at.is_empty() {
            s1 = step512(s1, load_tail64(at), load_tail64(bt));
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1))
    }
}

fn avx2_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs AVX2+FMA. This private fn is only reachable through `AVX2`,
    // which `avx2_kernels` hands out only after detecting both features.
    unsafe { avx2::l2_squared(a, b) }
}

fn avx2_dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs AVX2+FMA. This private fn is only reachable through `AVX2`,
    // which `avx2_kernels` hands out only after detecting both features.
    unsafe { avx2::dot(a, b) }
}

fn avx2_cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs AVX2+FMA. This private fn is only reachable through `AVX2`,
    // which `avx2_kernels` hands out only after detecting both features.
    unsafe { avx2::cosine_distance(a, b) }
}

fn avx2_norm_squared(a: &[f32]) -> f32 {
    // SAFETY: needs AVX2+FMA. This private fn is only reachable through `AVX2`,
    // which `avx2_kernels` hands out only after detecting both features.
    unsafe { avx2::norm_squared(a) }
}

fn avx512_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs AVX-512F. This private fn is only reachable through `AVX512`,
    // which `avx512_kernels` hands out only after detecting the feature.
    unsafe { avx512::l2_squared(a, b) }
}

fn avx512_dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs AVX-512F. This private fn is only reachable through `AVX512`,
    // which `avx512_kernels` hands out only after detecting the feature.
    unsafe { avx512::dot(a, b) }
}

fn avx512_cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: needs AVX-512F. This private fn is only reachable through `AVX512`,
    // which `avx512_kernels` hands out only after detecting the feature.
    unsafe { avx512::cosine_distance(a, b) }
}

fn avx512_norm_squared(a: &[f32]) -> f32 {
    // SAFETY: needs AVX-512F. This private fn is only reachable through `AVX512`,
    // which `avx512_kernels` hands out only after detecting the feature.
    unsafe { avx512::norm_squared(a) }
}

/// Prefetches the cache lines holding `v[0]` and the element 64 bytes after it.
#[inline(always)]
pub(crate) fn prefetch<T>(v: &[T]) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // the element 64 bytes in (the second cache line), if there is one
    let second = 64 / size_of::<T>().max(1);
    for x in [v.first(), v.get(second)].into_iter().flatten() {
        // SAFETY: _mm_prefetch (SSE, part of the x86_64 baseline) is only a hint: it
        // never faults and has no observable effect; the address is that of a live
        // element of `v`.
        unsafe { _mm_prefetch(x as *const T as *const i8, _MM_HINT_T0) }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check_matches_scalar, test_vec};
    use super::*;

    #[test]
    fn avx2_matches_scalar() {
        if let Some(k) = avx2_kernels() {
            check_matches_scalar(k);
        }
    }

    #[test]
    fn avx512_matches_scalar() {
        if let Some(k) = avx512_kernels() {
            check_matches_scalar(k);
        }
        if let Some(k) = avx512_without_vnni() {
            check_matches_scalar(k);
        }
    }

    #[test]
    fn mismatched_lengths_use_common_prefix_in_release() {
        // In debug builds the debug_assert fires instead; only check release here.
        if cfg!(debug_assertions) {
            return;
        }
        let a = test_vec(40, 1);
        for k in [avx2_kernels(), avx512_kernels()].into_iter().flatten() {
            assert_eq!((k.dot)(&a, &a[..3]), (k.dot)(&a[..3], &a[..3]));
        }
    }
}
