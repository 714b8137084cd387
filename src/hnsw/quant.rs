//! int8 quantization of the index's vectors (`quantize = int8`).
//!
//! Each vector (the normalised copy under cosine) is stored as `dims` signed
//! bytes with its own scale, symmetric: `scale = max |x_i| / 127`, `c_i =
//! round(x_i / scale)` in `-127..=127`, followed by an 8-byte trailer: the scale
//! and the squared norm of the decoded vector `scale^2 * sum c_i^2` (both f32
//! little-endian). Per-vector scaling needs no state shared between rows (no
//! per-dimension ranges that would drift with inserts and would have to be kept
//! in step across transactions and shared versions); BENCHMARKS.md compares it
//! with per-dimension scaling.
//!
//! A query is quantized the same way, so every distance the walk computes is one
//! integer dot product (`Kernels::dot_i8`) and a few multiplies: the distance
//! between the two *decoded* vectors (for l2 `|a|^2 + |b|^2 - 2 a.b` from the
//! stored norms). The SQLite layer re-ranks the best candidates with exact f32
//! distances.

use crate::distance::{Kernels, Metric};

/// How the index keeps its vectors in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quantize {
    /// f32, as given (normalised under cosine).
    #[default]
    None,
    /// int8 codes with a per-vector scale.
    Int8,
}

impl Quantize {
    /// The name used in `quantize = ...` and in the stored config.
    pub fn name(self) -> &'static str {
        match self {
            Quantize::None => "none",
            Quantize::Int8 => "int8",
        }
    }

    /// The setting named `s` (case-insensitive).
    pub fn parse(s: &str) -> Option<Quantize> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Quantize::None),
            "int8" => Some(Quantize::Int8),
            _ => None,
        }
    }
}

/// Bytes after the codes of a stored int8 row: scale, squared norm (f32 LE each).
pub const TRAILER: usize = 8;

/// The largest |x| of `v` (0 for an empty one; NaN is not expected). Eight lanes,
/// which vectorise: the maximum does not depend on the order it is taken in.
fn max_abs(v: &[f32]) -> f32 {
    let mut m = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            let a = x.abs();
            *m = if a > *m { a } else { *m };
        }
    }
    for (m, &x) in m.iter_mut().zip(tail) {
        *m = m.max(x.abs());
    }
    m.into_iter().fold(0.0f32, f32::max)
}

/// Encodes `v` into `out` (`v.len() + TRAILER` bytes): codes, scale, norm.
pub(super) fn encode(v: &[f32], out: &mut [i8]) {
    let d = v.len();
    debug_assert_eq!(out.len(), d + TRAILER);
    let max = max_abs(v);
    let (codes, trailer) = out.split_at_mut(d);
    let (scale, n2) = if max >= 1e-30 {
        // f32 throughout (the SIMD quantizer): |x * inv| <= 127, rounded half away from 0
        let inv = 127.0 / max;
        let n2 = (crate::distance::kernels().quantize_i8)(v, inv, codes);
        (f64::from(max) / 127.0, n2)
    } else if max > 0.0 {
        // tiny values: f64, so a subnormal maximum still scales to 127
        let inv = 127.0 / f64::from(max);
        let mut n2: i64 = 0;
        for (o, &x) in codes.iter_mut().zip(v) {
            let c = (f64::from(x) * inv).round().clamp(-127.0, 127.0) as i8;
            n2 += i64::from(c) * i64::from(c);
            *o = c;
        }
        (f64::from(max) / 127.0, n2)
    } else {
        codes.fill(0);
        (0.0, 0)
    };
    put_f32(&mut trailer[..4], scale as f32);
    put_f32(&mut trailer[4..8], (scale * scale * n2 as f64) as f32);
}

/// Whether `row` (codes then trailer, as persisted in `T_codes`) is well formed:
/// every code in `-127..=127`, a finite scale >= 0 and a trailer norm equal to
/// `scale^2 * sum c_i^2` up to f32 rounding. `dot` is an int8 dot-product kernel.
/// (Whether the codes encode the row's vector is [`encodes`]'s question.)
pub fn well_formed(row: &[i8], dot: fn(&[i8], &[i8]) -> i32) -> bool {
    let Some(d) = row.len().checked_sub(TRAILER) else {
        return false;
    };
    let (codes, t) = row.split_at(d);
    let (s, n) = (get_f32(&t[..4]), get_f32(&t[4..8]));
    if !(s.is_finite() && s >= 0.0) || n.is_nan() || n < 0.0 {
        return false;
    }
    if codes.iter().fold(false, |acc, &c| acc | (c == i8::MIN)) {
        return false;
    }
    let want = f64::from(s) * f64::from(s) * f64::from(dot(codes, codes));
    if n.is_infinite() {
        // (components of about 1e19 and more: the squared norm is past f32's range)
        return want > f64::from(f32::MAX) * (1.0 - 1e-5);
    }
    (f64::from(n) - want).abs() <= 1e-5 * want + 1e-37
}

/// Whether `row` encodes `v` (already normalised under cosine) as any build's
/// [`encode`] may have: the scale `max |v_i| / 127` (to 1e-5) and every code
/// within half a step (and a little) of `v_i / scale`. For veclite_check, which
/// compares `T_codes` with `T_rows`.
pub fn encodes(row: &[i8], v: &[f32]) -> bool {
    let d = v.len();
    if row.len() != d + TRAILER {
        return false;
    }
    let s = f64::from(get_f32(&row[d..d + 4]));
    let max = f64::from(max_abs(v));
    if max == 0.0 {
        return s == 0.0 && row[..d].iter().all(|&c| c == 0);
    }
    let want = max / 127.0;
    if s.is_nan() || s <= 0.0 || (s - want).abs() > 1e-5 * want + 1e-44 {
        return false;
    }
    // a scale that is itself subnormal in f32 is coarse: allow a whole step then
    let slack = if s < 1e-36 { 1.0 } else { 0.5 + 1e-3 };
    row[..d]
        .iter()
        .zip(v)
        .all(|(&c, &x)| (f64::from(c) - f64::from(x) / s).abs() <= slack)
}

/// The decoded vector of a stored row (codes + trailer).
pub fn decode(row: &[i8]) -> Vec<f32> {
    let d = row.len() - TRAILER;
    let s = get_f32(&row[d..d + 4]);
    row[..d].iter().map(|&c| f32::from(c) * s).collect()
}

#[inline]
fn put_f32(dst: &mut [i8], x: f32) {
    for (d, b) in dst.iter_mut().zip(x.to_le_bytes()) {
        *d = b as i8;
    }
}

#[inline(always)]
fn get_f32(t: &[i8]) -> f32 {
    f32::from_le_bytes([t[0] as u8, t[1] as u8, t[2] as u8, t[3] as u8])
}

/// A bound on how far the code distance between an encoded query `q` and row
/// `row` may be from the exact distance of the vectors they encode, up to an
/// offset common to every row of one query (under l2 the query's own norm
/// error): `z` standard deviations of the rounding noise (each code is off by at
/// most half its scale, uniformly: variance `scale^2 / 12` per component), plus,
/// under l2, the mean of the row's norm error (`dims * scale^2 / 12`).
pub(super) fn error_bound(q: &[i8], row: &[i8], metric: Metric, z: f32) -> f32 {
    let d = q.len() - TRAILER;
    let (sq, nq) = (get_f32(&q[d..d + 4]), get_f32(&q[d + 4..d + 8]));
    let (sx, nx) = (get_f32(&row[d..d + 4]), get_f32(&row[d + 4..d + 8]));
    // the dot product's noise: q's rounding against x, x's against q
    let dot = ((sq * sq * nx + sx * sx * nq) / 12.0).sqrt();
    match metric {
        Metric::L2 => {
            // |x|^2 - 2 q.x: the row's norm noise and twice the dot's
            let norm = 2.0 * sx * nx.sqrt() / 12f32.sqrt();
            z * (norm + 2.0 * dot) + d as f32 * sx * sx / 12.0
        }
        Metric::Cosine | Metric::Dot => z * dot,
    }
}

/// A prepared int8 query: the distance from it to stored rows.
#[derive(Clone, Copy)]
pub(super) struct Scorer<'a> {
    codes: &'a [i8],
    scale: f32,
    norm: f32,
    metric: Metric,
    dot: fn(&[i8], &[i8]) -> i32,
}

impl<'a> Scorer<'a> {
    /// `q` is an encoded row (a query or a stored vector).
    #[inline]
    pub(super) fn new(q: &'a [i8], metric: Metric, k: &Kernels) -> Self {
        let d = q.len() - TRAILER;
        Scorer {
            codes: &q[..d],
            scale: get_f32(&q[d..d + 4]),
            norm: get_f32(&q[d + 4..d + 8]),
            metric,
            dot: k.dot_i8,
        }
    }

    /// The internal score (as `Metric::score_of` would give for the decoded
    /// vectors) to the stored row `row`.
    #[inline(always)]
    pub(super) fn score(&self, row: &[i8]) -> f32 {
        let d = self.codes.len();
        let (c, t) = row.split_at(d);
        let ip = (self.dot)(self.codes, c) as f32 * (self.scale * get_f32(&t[..4]));
        match self.metric {
            Metric::L2 => self.norm + get_f32(&t[4..8]) - 2.0 * ip,
            Metric::Cosine => 1.0 - ip,
            Metric::Dot => -ip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_scores() {
        let v = [0.5f32, -1.0, 0.25, 0.0];
        let mut e = vec![0i8; 4 + TRAILER];
        encode(&v, &mut e);
        assert_eq!(&e[..4], &[64, -127, 32, 0]);
        let d = decode(&e);
        for (a, b) in d.iter().zip(v) {
            assert!((a - b).abs() <= 1.0 / 254.0 + 1e-7);
        }
        let k = crate::distance::scalar_kernels();
        let s = Scorer::new(&e, Metric::L2, k);
        assert!(s.score(&e).abs() < 1e-6);
        let dot = Scorer::new(&e, Metric::Dot, k).score(&e);
        assert!((dot + 1.3125).abs() < 0.02);
        // the zero vector and a subnormal one
        let mut z = vec![0i8; 2 + TRAILER];
        encode(&[0.0, 0.0], &mut z);
        assert_eq!(decode(&z), vec![0.0, 0.0]);
        encode(&[1e-40, -2e-40], &mut z);
        assert_eq!(z[1], -127);
        assert!((63..=64).contains(&z[0]));
    }

    #[test]
    fn well_formed_and_encodes() {
        let k = crate::distance::scalar_kernels();
        let v: Vec<f32> = (0..40)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let mut e = vec![0i8; v.len() + TRAILER];
        encode(&v, &mut e);
        assert!(well_formed(&e, k.dot_i8));
        assert!(encodes(&e, &v));
        // a code one step off, a code of -128, a changed norm, a changed scale
        let mut off = e.clone();
        off[3] = off[3].saturating_add(if off[3] > 0 { -1 } else { 1 });
        assert!(!well_formed(&off, k.dot_i8));
        assert!(!encodes(&off, &v));
        let mut min = e.clone();
        min[0] = i8::MIN;
        assert!(!well_formed(&min, k.dot_i8));
        let mut norm = e.clone();
        norm[v.len() + 7] ^= 0x10;
        assert!(!well_formed(&norm, k.dot_i8));
        let mut scale = e.clone();
        scale[v.len() + 1] ^= 0x01;
        assert!(!encodes(&scale, &v));
        // zero, subnormal, and a short row
        let mut z = vec![0i8; 2 + TRAILER];
        encode(&[0.0, 0.0], &mut z);
        assert!(well_formed(&z, k.dot_i8) && encodes(&z, &[0.0, 0.0]));
        assert!(!encodes(&z, &[0.0, 1.0]));
        encode(&[1e-40, -2e-40], &mut z);
        assert!(well_formed(&z, k.dot_i8) && encodes(&z, &[1e-40, -2e-40]));
        assert!(!well_formed(&z[..5], k.dot_i8));
        // a vector so large that its squared norm is no f32: the trailer says
        // infinity, and that is well formed; so is the scale of it
        let big = [3e19f32, -1e19, 2e18];
        let mut e = vec![0i8; 3 + TRAILER];
        encode(&big, &mut e);
        assert!(get_f32(&e[7..11]).is_infinite());
        assert!(well_formed(&e, k.dot_i8) && encodes(&e, &big));
        let mut small = e.clone();
        small[3..7].copy_from_slice(&[0, 0, 128u8 as i8, 63]); // scale 1.0: a norm of 1.3e4, not infinity
        assert!(!well_formed(&small, k.dot_i8));
    }

    #[test]
    fn names() {
        assert_eq!(Quantize::parse("INT8"), Some(Quantize::Int8));
        assert_eq!(Quantize::parse("none"), Some(Quantize::None));
        assert_eq!(Quantize::parse("f16"), None);
        assert_eq!(Quantize::Int8.name(), "int8");
    }
}
