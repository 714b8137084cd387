//! Distance metrics over `f32` vectors, with run-time SIMD dispatch.
//!
//! Four implementations of the same four kernels exist:
//!
//! * [`scalar`]: plain loops. They are the reference (the test oracle) and the
//!   portable fallback used on every architecture other than x86_64 and aarch64.
//! * AVX2+FMA and AVX-512F (x86_64 only, in `x86.rs`); the int8 dot of the
//!   quantized index with AVX2 (`vpmaddubsw`) or, where the CPU has it, AVX-512
//!   VNNI (`vpdpbusd`; the table is then named `avx512f+vnni`), and the int8
//!   quantizer with AVX2 in every x86 table.
//! * NEON (aarch64 only, in `neon.rs`; NEON is part of every aarch64 CPU, so
//!   this is what Apple silicon and Graviton run).
//!
//! The best implementation the CPU supports is chosen once, at first use, and kept
//! in a [`OnceLock`]; see [`kernels`]. The environment variable `VECLITE_SIMD`
//! (`scalar`, `neon`, `avx2` or `avx512`) caps the choice, e.g. for benchmarking
//! or to rule out a SIMD bug; when the CPU lacks the requested level the best
//! available lower one is used. The levels are ordered by register width,
//! `scalar < neon (128 bits) < avx2 (256) < avx512 (512)`, across architectures:
//! on aarch64 `avx2` or `avx512` leave NEON on, on x86_64 `neon` means scalar.
//!
//! All kernels accumulate in `f32`. Every function requires `a.len() == b.len()`
//! (checked with `debug_assert!`; callers validate dimensions). In release builds a
//! length mismatch is never undefined behaviour: the kernels then only look at the
//! common prefix `..min(a.len(), b.len())`.

use std::sync::OnceLock;

#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)] // the SIMD kernels (see the safety model in neon.rs)
mod neon;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // the SIMD kernels (see the safety model in x86.rs)
mod x86;

mod metric;
pub use metric::Metric;

/// A table of kernel function pointers for one instruction-set level.
///
/// Tables for SIMD levels are only handed out (by [`kernels`], [`avx2_kernels`],
/// [`avx512_kernels`], [`neon_kernels`]) after run-time detection confirmed that the CPU supports
/// them, so calling through any table obtained from this module is always safe.
#[derive(Debug)]
pub struct Kernels {
    /// `"avx512f"`, `"avx2+fma"`, `"neon"` or `"scalar"`.
    pub name: &'static str,
    /// `sum (a_i - b_i)^2`.
    pub l2_squared: fn(&[f32], &[f32]) -> f32,
    /// `sum a_i * b_i`.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// `1 - dot / (|a| |b|)`, computed in one pass over both vectors; `1.0` if either
    /// vector has norm 0. The similarity is clamped to `[-1, 1]`, so the result is
    /// always in `[0, 2]` (or NaN for NaN input).
    pub cosine_distance: fn(&[f32], &[f32]) -> f32,
    /// `sum a_i^2`.
    pub norm_squared: fn(&[f32]) -> f32,
    /// `sum a_i * b_i` of int8 codes (the quantized index), exact in `i32`. The
    /// codes must lie in `-127..=127` (what the quantizer produces; the AVX2 and
    /// AVX-512 kernels rely on it: a `-128` gives a wrong sum, never undefined
    /// behaviour).
    pub dot_i8: fn(&[i8], &[i8]) -> i32,
    /// The int8 codes of `v` at scale `1 / inv` into `out` (same length): `c_i =
    /// trunc(y + copysign(0.5, y))` for `y = v_i * inv` (rounded half away from 0,
    /// both steps in f32), clamped to `-127..=127`; returns `sum c_i^2`. Exact, so
    /// every table gives the scalar reference's codes for finite input (a NaN
    /// gives some code in range).
    pub quantize_i8: fn(&[f32], f32, &mut [i8]) -> i64,
}

/// Finishes a one-pass cosine distance from `dot = a.b`, `na = |a|^2`, `nb = |b|^2`.
///
/// Shared by every implementation so they all agree on the edge cases:
/// * either squared norm is `0` -> `1.0` (the vectors are "unrelated");
/// * the similarity is clamped to `[-1, 1]`, so rounding cannot push the distance
///   below `0` or above `2` (`cosine_distance(a, a)` is exactly `0` for finite
///   nonzero `a`, because `dot` and `na` are then computed identically);
/// * NaN inputs propagate as NaN.
///
/// The division is done in `f64`: `na * nb` is exact there (two 24-bit mantissas)
/// and cannot overflow, and the result is symmetric in `a` and `b`.
#[inline]
pub(crate) fn cosine_from_parts(dot: f32, na: f32, nb: f32) -> f32 {
    if na == 0.0 || nb == 0.0 {
        return 1.0;
    }
    let sim = f64::from(dot) / (f64::from(na) * f64::from(nb)).sqrt();
    // `clamp` keeps NaN as NaN.
    (1.0 - sim.clamp(-1.0, 1.0)) as f32
}

/// Requested instruction-set cap (from `VECLITE_SIMD`), ordered low to high by
/// register width (so one order serves both architectures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Scalar,
    Neon,
    Avx2,
    Avx512,
}

/// Parses a `VECLITE_SIMD` value. Unknown values (and `auto`) mean "no cap".
fn parse_level(s: &str) -> Option<Level> {
    match s.trim().to_ascii_lowercase().as_str() {
        "scalar" | "none" | "off" | "portable" => Some(Level::Scalar),
        "neon" | "asimd" => Some(Level::Neon),
        "avx2" | "avx2+fma" | "avx2,fma" | "fma" => Some(Level::Avx2),
        "avx512" | "avx512f" | "avx-512" => Some(Level::Avx512),
        _ => None,
    }
}

/// The best available table at or below `cap` (`None` = no cap).
fn select(cap: Option<Level>) -> &'static Kernels {
    let cap = cap.unwrap_or(Level::Avx512);
    if cap == Level::Avx512 {
        if let Some(k) = avx512_kernels() {
            return k;
        }
    }
    if cap >= Level::Avx2 {
        if let Some(k) = avx2_kernels() {
            return k;
        }
    }
    if cap >= Level::Neon {
        if let Some(k) = neon_kernels() {
            return k;
        }
    }
    scalar_kernels()
}

/// Hints the CPU to start loading the first two cache lines of `v` (the next vector
/// a search will score). No effect off x86_64.
#[inline(always)]
pub fn prefetch<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    x86::prefetch(v);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// The kernels used by everything else: the best the CPU supports (AVX-512F, then
/// AVX2+FMA on x86_64; NEON on aarch64; else scalar), capped by `VECLITE_SIMD` if set. Chosen once per process.
#[inline]
pub fn kernels() -> &'static Kernels {
    static CHOSEN: OnceLock<&'static Kernels> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        let cap = std::env::var("VECLITE_SIMD")
            .ok()
            .and_then(|v| parse_level(&v));
        select(cap)
    })
}

/// The portable reference kernels (always available).
pub fn scalar_kernels() -> &'static Kernels {
    &scalar::KERNELS
}

/// The AVX2+FMA kernels, or `None` if the CPU lacks AVX2 or FMA (or is not x86_64).
pub fn avx2_kernels() -> Option<&'static Kernels> {
    #[cfg(target_arch = "x86_64")]
    {
        x86::avx2_kernels()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The AVX-512F kernels, or `None` if the CPU lacks AVX-512F (or is not x86_64).
pub fn avx512_kernels() -> Option<&'static Kernels> {
    #[cfg(target_arch = "x86_64")]
    {
        x86::avx512_kernels()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The NEON kernels, or `None` if the CPU lacks NEON (every aarch64 CPU has it)
/// or is not aarch64.
pub fn neon_kernels() -> Option<&'static Kernels> {
    #[cfg(target_arch = "aarch64")]
    {
        neon::neon_kernels()
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        None
    }
}

/// Squared Euclidean distance `sum (a_i - b_i)^2`.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    (kernels().l2_squared)(a, b)
}

/// Euclidean distance.
#[inline]
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    l2_squared(a, b).sqrt()
}

/// Inner product `sum a_i * b_i`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (kernels().dot)(a, b)
}

/// `1 - cos(a, b)` in `[0, 2]`; `1.0` if either vector is zero.
#[inline]
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    (kernels().cosine_distance)(a, b)
}

/// Euclidean norm `|a|`.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    (kernels().norm_squared)(a).sqrt()
}

/// `|a|` computed in `f64`: exact enough for any finite `f32` vector, with no
/// overflow for huge components (`[2e19, 0]`, whose squared norm exceeds `f32`)
/// and no underflow for tiny ones (`[1e-40, 0]` is not a zero vector).
pub fn norm_f64(a: &[f32]) -> f64 {
    // eight running sums (they vectorise; one sum would be a chain of dependent adds)
    let mut acc = [0f64; 8];
    let chunks = a.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (s, &x) in acc.iter_mut().zip(c) {
            let x = f64::from(x);
            *s += x * x;
        }
    }
    for (s, &x) in acc.iter_mut().zip(tail) {
        let x = f64::from(x);
        *s += x * x;
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    (((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))).sqrt()
}

/// `1 - cos(a, b)` like [`cosine_distance`], but `None` for a zero vector and
/// right for components whose squares leave the `f32` range: the SIMD kernel when
/// both squared norms are comfortably inside it, else `f64` throughout.
pub fn cosine_distance_checked(a: &[f32], b: &[f32]) -> Option<f32> {
    let k = kernels();
    let (na, nb) = ((k.norm_squared)(a), (k.norm_squared)(b));
    let safe = |n: f32| n.is_finite() && n > 1e-30 && n < 1e30;
    if safe(na) && safe(nb) {
        return Some((k.cosine_distance)(a, b));
    }
    let (na, nb) = (norm_f64(a), norm_f64(b));
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    Some((1.0 - (dot / (na * nb)).clamp(-1.0, 1.0)) as f32)
}

/// The distance KNN results are ranked by (smaller is closer):
/// `L2` -> [`l2`] (not squared), `Cosine` -> [`cosine_distance`], `Dot` -> `-dot`.
#[inline]
pub fn metric_distance(m: Metric, a: &[f32], b: &[f32]) -> f32 {
    match m {
        Metric::L2 => l2(a, b),
        Metric::Cosine => cosine_distance(a, b),
        Metric::Dot => -dot(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_levels() {
        assert_eq!(parse_level("scalar"), Some(Level::Scalar));
        assert_eq!(parse_level(" AVX2 "), Some(Level::Avx2));
        assert_eq!(parse_level("avx512"), Some(Level::Avx512));
        assert_eq!(parse_level("avx512f"), Some(Level::Avx512));
        assert_eq!(parse_level("NEON"), Some(Level::Neon));
        assert_eq!(parse_level("auto"), None);
        assert_eq!(parse_level(""), None);
    }

    #[test]
    fn selection_respects_cap_and_falls_back() {
        assert_eq!(select(Some(Level::Scalar)).name, "scalar");
        let neon = select(Some(Level::Neon)).name;
        match neon_kernels() {
            Some(k) => assert_eq!(neon, k.name),
            None => assert_eq!(neon, "scalar"),
        }
        let avx2 = select(Some(Level::Avx2)).name;
        match avx2_kernels().or_else(neon_kernels) {
            Some(k) => assert_eq!(avx2, k.name),
            None => assert_eq!(avx2, "scalar"),
        }
        let best = select(None).name;
        assert_eq!(select(Some(Level::Avx512)).name, best);
        let expected = avx512_kernels()
            .or_else(avx2_kernels)
            .or_else(neon_kernels)
            .unwrap_or_else(scalar_kernels)
            .name;
        assert_eq!(best, expected);
    }

    /// On aarch64 the NEON table is the one in use (unless `VECLITE_SIMD` caps
    /// it to scalar): this is what makes an aarch64 test run a NEON test run.
    #[test]
    #[cfg(target_arch = "aarch64")]
    fn aarch64_selects_neon() {
        assert_eq!(neon_kernels().map(|k| k.name), Some("neon"));
        let cap = std::env::var("VECLITE_SIMD")
            .ok()
            .and_then(|v| parse_level(&v));
        let want = if cap == Some(Level::Scalar) {
            "scalar"
        } else {
            "neon"
        };
        assert_eq!(kernels().name, want);
    }

    /// Deterministic values in [-1, 1).
    pub(super) fn test_vec(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Checks a SIMD table against the scalar reference (used by `x86.rs` and
    /// `neon.rs`).
    pub(super) fn check_matches_scalar(k: &Kernels) {
        // Every length around the block and tail boundaries of every level.
        for len in 0..=400 {
            let a = test_vec(len, len as u64);
            let b = test_vec(len, len as u64 + 1000);
            let close = |x: f32, y: f32| (x - y).abs() <= 1e-5 * (1.0 + y.abs());
            assert!(
                close((k.dot)(&a, &b), scalar::dot(&a, &b)),
                "{} dot {len}",
                k.name
            );
            assert!(
                close((k.l2_squared)(&a, &b), scalar::l2_squared(&a, &b)),
                "{} l2 {len}",
                k.name
            );
            assert!(
                close((k.norm_squared)(&a), scalar::norm_squared(&a)),
                "{} norm {len}",
                k.name
            );
            assert!(
                close((k.cosine_distance)(&a, &b), scalar::cosine_distance(&a, &b)),
                "{} cos {len}",
                k.name
            );
        }
        // int8 codes: exact, so equal; every length around the blocks, extreme values.
        for len in (0..=300).chain([383, 384, 385, 1024, 8192]) {
            let a: Vec<i8> = test_vec(len, len as u64 + 7)
                .iter()
                .map(|x| (x * 127.0).round() as i8)
                .collect();
            let b: Vec<i8> = test_vec(len, len as u64 + 9)
                .iter()
                .map(|x| (x * 127.0).round() as i8)
                .collect();
            assert_eq!(
                (k.dot_i8)(&a, &b),
                scalar::dot_i8(&a, &b),
                "{} i8 {len}",
                k.name
            );
            let hi = vec![127i8; len];
            let lo = vec![-127i8; len];
            assert_eq!(
                (k.dot_i8)(&hi, &lo),
                scalar::dot_i8(&hi, &lo),
                "{} i8 max {len}",
                k.name
            );
            assert_eq!(
                (k.dot_i8)(&lo, &lo),
                scalar::dot_i8(&lo, &lo),
                "{} i8 max {len}",
                k.name
            );
        }
        // int8 quantizing: exact, so equal; lengths around the blocks, values at the
        // rounding ties (k + 0.5) and beyond the clamp.
        for len in (0..=300).chain([383, 384, 385, 1024]) {
            let v = test_vec(len, len as u64 + 11);
            let ties: Vec<f32> = (0..len).map(|i| (i as f32 - 150.0) * 0.5).collect();
            for (x, inv) in [
                (&v, 127.0f32),
                (&v, 95.3),
                (&v, 1e-3),
                (&ties, 1.0),
                (&v, 1e6),
            ] {
                let (mut a, mut b) = (vec![0i8; len], vec![0i8; len]);
                let na = (k.quantize_i8)(x, inv, &mut a);
                let nb = scalar::quantize_i8(x, inv, &mut b);
                assert_eq!((a, na), (b, nb), "{} quantize {len} at {inv}", k.name);
            }
        }
        // Small integers: every order of summation is exact, so results are equal.
        let a: Vec<f32> = (0..77).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..77).map(|i| (i % 5) as f32 - 2.0).collect();
        assert_eq!((k.dot)(&a, &b), scalar::dot(&a, &b));
        assert_eq!((k.l2_squared)(&a, &b), scalar::l2_squared(&a, &b));
        assert_eq!((k.norm_squared)(&a), scalar::norm_squared(&a));
    }

    #[test]
    fn available_tables_have_expected_names() {
        assert_eq!(scalar_kernels().name, "scalar");
        if let Some(k) = avx2_kernels() {
            assert_eq!(k.name, "avx2+fma");
        }
        if let Some(k) = avx512_kernels() {
            assert!(["avx512f", "avx512f+vnni"].contains(&k.name));
        }
        if let Some(k) = neon_kernels() {
            assert_eq!(k.name, "neon");
        }
        let name = kernels().name;
        assert!(["scalar", "avx2+fma", "avx512f", "avx512f+vnni", "neon"].contains(&name));
    }

    #[test]
    fn cosine_finish_edge_cases() {
        assert_eq!(cosine_from_parts(0.0, 0.0, 4.0), 1.0);
        assert_eq!(cosine_from_parts(0.0, 4.0, 0.0), 1.0);
        assert_eq!(cosine_from_parts(4.0, 4.0, 4.0), 0.0);
        assert_eq!(cosine_from_parts(-4.0, 4.0, 4.0), 2.0);
        // Rounding that overshoots |sim| = 1 is clamped.
        assert_eq!(cosine_from_parts(4.000_001, 4.0, 4.0), 0.0);
        assert_eq!(cosine_from_parts(-4.000_001, 4.0, 4.0), 2.0);
        assert!(cosine_from_parts(f32::NAN, 1.0, 1.0).is_nan());
    }

    #[test]
    fn wrappers() {
        let a = [1.0f32, 2.0, 3.0];
        let b = [4.0f32, 6.0, 3.0];
        assert_eq!(l2_squared(&a, &b), 25.0);
        assert_eq!(l2(&a, &b), 5.0);
        assert_eq!(dot(&a, &b), 25.0);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        assert_eq!(metric_distance(Metric::L2, &a, &b), 5.0);
        assert_eq!(metric_distance(Metric::Dot, &a, &b), -25.0);
        let c = cosine_distance(&a, &b);
        let expect = 1.0 - 25.0 / (14.0f64.sqrt() * 61.0f64.sqrt());
        assert!((f64::from(c) - expect).abs() < 1e-6);
        assert_eq!(metric_distance(Metric::Cosine, &a, &b), c);
    }
}
