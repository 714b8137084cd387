//! Property tests for the distance kernels: every SIMD implementation available on
//! this CPU agrees with the scalar reference, and the metrics have the algebraic
//! properties the index relies on.

use proptest::prelude::*;
use veclite::distance::{
    self, avx2_kernels, avx512_kernels, neon_kernels, scalar_kernels, Kernels, Metric,
};

/// Relative tolerance against the sum of absolute terms (different summation
/// orders of n f32 terms differ by about sqrt(n) * 2^-24 of that sum).
const REL: f64 = 1e-5;

/// Every SIMD table this CPU supports.
fn simd_tables() -> Vec<&'static Kernels> {
    [avx2_kernels(), avx512_kernels(), neon_kernels()]
        .into_iter()
        .flatten()
        .collect()
}

/// Every table, scalar first.
fn all_tables() -> Vec<&'static Kernels> {
    let mut v = vec![scalar_kernels()];
    v.extend(simd_tables());
    v
}

/// Small deterministic generator (xorshift64*), values uniform in [-100, 100).
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40; // 24 bits
        (bits as f32 / (1u32 << 24) as f32) * 200.0 - 100.0
    }

    fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next_f32()).collect()
    }
}

/// Sums in f64 of |a_i b_i|, a_i^2, b_i^2, (a_i - b_i)^2 (the last with the
/// difference rounded to f32, as every kernel computes it), and the exact dot.
struct Terms {
    abs_ab: f64,
    aa: f64,
    bb: f64,
    dd: f64,
    ab: f64,
}

fn terms(a: &[f32], b: &[f32]) -> Terms {
    let mut t = Terms {
        abs_ab: 0.0,
        aa: 0.0,
        bb: 0.0,
        dd: 0.0,
        ab: 0.0,
    };
    for (&x, &y) in a.iter().zip(b) {
        let (xf, yf) = (f64::from(x), f64::from(y));
        let d = f64::from(x - y);
        t.abs_ab += (xf * yf).abs();
        t.ab += xf * yf;
        t.aa += xf * xf;
        t.bb += yf * yf;
        t.dd += d * d;
    }
    t
}

fn within(got: f32, want: f32, tol: f64) -> bool {
    (f64::from(got) - f64::from(want)).abs() <= tol
}

/// Asserts that table `k` agrees with the scalar reference on (a, b).
fn assert_agrees(k: &Kernels, a: &[f32], b: &[f32]) {
    let s = scalar_kernels();
    let t = terms(a, b);
    let n = a.len();

    let (got, want) = ((k.dot)(a, b), (s.dot)(a, b));
    assert!(
        within(got, want, REL * t.abs_ab),
        "{} dot, len {n}: {got} vs scalar {want} (sum|ab| = {})",
        k.name,
        t.abs_ab
    );

    let (got, want) = ((k.l2_squared)(a, b), (s.l2_squared)(a, b));
    assert!(
        within(got, want, REL * t.dd),
        "{} l2_squared, len {n}: {got} vs scalar {want}",
        k.name
    );

    let (got, want) = ((k.norm_squared)(a), (s.norm_squared)(a));
    assert!(
        within(got, want, REL * t.aa),
        "{} norm_squared, len {n}: {got} vs scalar {want}",
        k.name
    );

    // Cosine: each implementation computes (dot, |a|^2, |b|^2) with errors of at
    // most REL * (sum|ab|, |a|^2, |b|^2). Propagated through
    // sim = dot / sqrt(|a|^2 |b|^2), that moves sim by at most
    // REL * (sum|ab| / (|a||b|) + |sim|) for each of the two implementations
    // (first order), plus the final f32 rounding.
    let (got, want) = ((k.cosine_distance)(a, b), (s.cosine_distance)(a, b));
    if t.aa == 0.0 || t.bb == 0.0 {
        assert_eq!(got, 1.0);
        assert_eq!(want, 1.0);
    } else {
        let nn = (t.aa * t.bb).sqrt();
        let tol = 2.0 * REL * (t.abs_ab / nn + (t.ab / nn).abs()) + 1e-6;
        assert!(
            within(got, want, tol),
            "{} cosine_distance, len {n}: {got} vs scalar {want} (tol {tol})",
            k.name
        );
        // And the scalar reference itself is close to the f64 truth.
        let truth = (1.0 - (t.ab / nn).clamp(-1.0, 1.0)) as f32;
        assert!(
            within(want, truth, tol),
            "scalar cosine_distance, len {n}: {want} vs f64 {truth}"
        );
    }
}

/// Every length 1..=2048 (covers every block/tail split of 4-, 8- and 16-lane
/// kernels many times over), one random pair per length.
#[test]
fn simd_matches_scalar_every_length() {
    let tables = simd_tables();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for len in 1..=2048 {
        let a = rng.vec(len);
        let b = rng.vec(len);
        for k in &tables {
            assert_agrees(k, &a, &b);
        }
    }
}

/// Near-identical vectors: l2 between close points (large cancellation in a - b)
/// and cosine near 0, every length around the block boundaries.
#[test]
fn simd_matches_scalar_near_duplicates() {
    let tables = simd_tables();
    let mut rng = Rng(42);
    for len in 1..=300 {
        let a = rng.vec(len);
        let b: Vec<f32> = a.iter().map(|&x| x + rng.next_f32() * 1e-4).collect();
        for k in &tables {
            assert_agrees(k, &a, &b);
        }
    }
}

#[test]
fn small_integers_are_exact_everywhere() {
    // Sums of small integers are exact in any order, so all tables must be equal.
    let a: Vec<f32> = (0..1000).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..1000).map(|i| (i % 11) as f32 - 5.0).collect();
    let s = scalar_kernels();
    for k in simd_tables() {
        for len in [
            1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000,
        ] {
            let (a, b) = (&a[..len], &b[..len]);
            assert_eq!((k.dot)(a, b), (s.dot)(a, b), "{} dot {len}", k.name);
            assert_eq!(
                (k.l2_squared)(a, b),
                (s.l2_squared)(a, b),
                "{} l2 {len}",
                k.name
            );
            assert_eq!(
                (k.norm_squared)(a),
                (s.norm_squared)(a),
                "{} norm {len}",
                k.name
            );
            assert_eq!(
                (k.cosine_distance)(a, b),
                (s.cosine_distance)(a, b),
                "{} cos {len}",
                k.name
            );
        }
    }
}

#[test]
fn empty_and_zero_vectors() {
    for k in all_tables() {
        assert_eq!((k.dot)(&[], &[]), 0.0);
        assert_eq!((k.l2_squared)(&[], &[]), 0.0);
        assert_eq!((k.norm_squared)(&[]), 0.0);
        assert_eq!((k.cosine_distance)(&[], &[]), 1.0);
        for len in [1, 5, 8, 16, 33, 100] {
            let z = vec![0.0f32; len];
            let a: Vec<f32> = (0..len).map(|i| i as f32 + 1.0).collect();
            assert_eq!((k.cosine_distance)(&z, &a), 1.0, "{}", k.name);
            assert_eq!((k.cosine_distance)(&a, &z), 1.0, "{}", k.name);
            assert_eq!((k.cosine_distance)(&z, &z), 1.0, "{}", k.name);
            assert_eq!((k.dot)(&z, &a), 0.0);
            assert_eq!((k.l2_squared)(&z, &z), 0.0);
        }
    }
}

#[test]
fn metric_distance_semantics() {
    let a = [1.0f32, 2.0];
    let b = [3.0f32, 4.0];
    assert_eq!(
        distance::metric_distance(Metric::L2, &[0.0, 0.0], &[3.0, 4.0]),
        5.0
    );
    assert_eq!(distance::metric_distance(Metric::Dot, &a, &b), -11.0);
    assert_eq!(distance::metric_distance(Metric::Cosine, &a, &a), 0.0);
    assert_eq!(
        distance::metric_distance(Metric::Cosine, &[1.0, 0.0], &[0.0, 2.0]),
        1.0
    );
    assert_eq!(
        distance::metric_distance(Metric::Cosine, &[1.0, 0.0], &[-3.0, 0.0]),
        2.0
    );
    assert_eq!(distance::l2(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
    assert_eq!(distance::l2_squared(&[0.0, 0.0], &[3.0, 4.0]), 25.0);
    assert_eq!(distance::norm(&[3.0, 4.0]), 5.0);
    assert_eq!(distance::dot(&a, &b), 11.0);

    // Smaller is closer under every metric.
    let q = [1.0f32, 1.0, 0.0];
    let near = [1.0f32, 0.9, 0.1];
    let far = [-1.0f32, 0.5, 3.0];
    for m in [Metric::L2, Metric::Cosine, Metric::Dot] {
        assert!(
            distance::metric_distance(m, &q, &near) < distance::metric_distance(m, &q, &far),
            "{m:?}"
        );
    }
    // Dot ranks a longer vector in the same direction as closer.
    assert!(
        distance::metric_distance(Metric::Dot, &q, &[2.0, 2.0, 0.0])
            < distance::metric_distance(Metric::Dot, &q, &q)
    );
}

#[test]
fn dispatch_picks_an_available_table() {
    let name = distance::kernels().name;
    let best = avx512_kernels()
        .or_else(avx2_kernels)
        .or_else(neon_kernels)
        .unwrap_or_else(scalar_kernels)
        .name;
    match std::env::var("VECLITE_SIMD").ok().as_deref() {
        None | Some("") => assert_eq!(name, best),
        Some(_) => assert!(all_tables().iter().any(|k| k.name == name)),
    }
}

/// On aarch64 the tests above really exercise NEON: the table exists and is
/// the one in use, unless `VECLITE_SIMD` asks for scalar.
#[test]
#[cfg(target_arch = "aarch64")]
fn aarch64_uses_neon() {
    assert_eq!(neon_kernels().map(|k| k.name), Some("neon"));
    assert_eq!(simd_tables().len(), 1);
    let scalar_cap = std::env::var("VECLITE_SIMD").is_ok_and(|v| {
        ["scalar", "none", "off", "portable"].contains(&v.trim().to_ascii_lowercase().as_str())
    });
    let want = if scalar_cap { "scalar" } else { "neon" };
    assert_eq!(distance::kernels().name, want);
}

/// Values in [-100, 100].
fn values() -> impl Strategy<Value = f32> + Clone {
    -100.0f32..=100.0
}

/// Values spread over many binades: m * 2^e, m in [-100, 100], e in [-20, 20].
fn wide_values() -> impl Strategy<Value = f32> + Clone {
    (-100.0f32..=100.0, -20i32..=20).prop_map(|(m, e)| m * 2f32.powi(e))
}

/// A pair of equal-length vectors, length 1..=max_len.
fn pair(
    max_len: usize,
    v: impl Strategy<Value = f32> + Clone,
) -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (1..=max_len).prop_flat_map(move |n| {
        (
            prop::collection::vec(v.clone(), n),
            prop::collection::vec(v.clone(), n),
        )
    })
}

/// A pair of equal-length int8 code vectors (-127..=127, what the quantizer
/// makes), length 0..=max_len.
fn codes(max_len: usize) -> impl Strategy<Value = (Vec<i8>, Vec<i8>)> {
    (0..=max_len).prop_flat_map(|n| {
        (
            prop::collection::vec(-127i8..=127, n),
            prop::collection::vec(-127i8..=127, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The int8 dot is exact everywhere, so every table equals the scalar one.
    #[test]
    fn prop_simd_dot_i8_matches_scalar((a, b) in codes(2048)) {
        let want = (scalar_kernels().dot_i8)(&a, &b);
        for k in simd_tables() {
            prop_assert_eq!((k.dot_i8)(&a, &b), want, "{}", k.name);
        }
    }

    #[test]
    fn prop_simd_matches_scalar((a, b) in pair(2048, values())) {
        for k in simd_tables() {
            assert_agrees(k, &a, &b);
        }
    }

    #[test]
    fn prop_simd_matches_scalar_wide_range((a, b) in pair(1024, wide_values())) {
        for k in simd_tables() {
            assert_agrees(k, &a, &b);
        }
    }

    #[test]
    fn prop_symmetry((a, b) in pair(600, values())) {
        for k in all_tables() {
            // Exact: negation and commutative products are exact, and the
            // accumulation order does not depend on which argument is which.
            prop_assert_eq!((k.dot)(&a, &b), (k.dot)(&b, &a), "{}", k.name);
            prop_assert_eq!((k.l2_squared)(&a, &b), (k.l2_squared)(&b, &a), "{}", k.name);
            prop_assert_eq!(
                (k.cosine_distance)(&a, &b),
                (k.cosine_distance)(&b, &a),
                "{}",
                k.name
            );
        }
    }

    #[test]
    fn prop_identity_and_ranges((a, b) in pair(600, values())) {
        let nonzero = a.iter().any(|&x| x != 0.0);
        for k in all_tables() {
            prop_assert_eq!((k.l2_squared)(&a, &a), 0.0, "{}", k.name);
            if nonzero {
                let c = (k.cosine_distance)(&a, &a);
                prop_assert!((0.0..=1e-5).contains(&c), "{} cos(a,a) = {}", k.name, c);
            }
            let d = (k.l2_squared)(&a, &b);
            prop_assert!(d >= 0.0, "{} l2_squared = {}", k.name, d);
            prop_assert!((k.norm_squared)(&a) >= 0.0);
            let c = (k.cosine_distance)(&a, &b);
            prop_assert!((-1e-6..=2.0 + 1e-6).contains(&c), "{} cos = {}", k.name, c);
            // Opposite vectors are at distance 2.
            if nonzero {
                let neg: Vec<f32> = a.iter().map(|x| -x).collect();
                let c = (k.cosine_distance)(&a, &neg);
                prop_assert!((2.0 - 1e-5..=2.0).contains(&c), "{} cos(a,-a) = {}", k.name, c);
            }
            // Cosine ignores scale (scaling by 2 is exact, so this is exact too).
            let b2: Vec<f32> = b.iter().map(|x| x * 2.0).collect();
            prop_assert_eq!((k.cosine_distance)(&a, &b2), (k.cosine_distance)(&a, &b));
            // Cauchy-Schwarz, with rounding slack.
            let dot = f64::from((k.dot)(&a, &b)).abs();
            let nn = (f64::from((k.norm_squared)(&a)) * f64::from((k.norm_squared)(&b))).sqrt();
            prop_assert!(dot <= nn * (1.0 + 1e-4) + 1e-3, "{}: |a.b| = {} > |a||b| = {}", k.name, dot, nn);
        }
    }

    #[test]
    fn prop_l2_triangle_inequality(
        (a, b, c) in (1..=300usize).prop_flat_map(|n| (
            prop::collection::vec(values(), n),
            prop::collection::vec(values(), n),
            prop::collection::vec(values(), n),
        ))
    ) {
        let ab = distance::l2(&a, &b);
        let bc = distance::l2(&b, &c);
        let ac = distance::l2(&a, &c);
        prop_assert!(ac <= (ab + bc) * (1.0 + 1e-5), "{} > {} + {}", ac, ab, bc);
    }

    #[test]
    fn prop_metric_distance((a, b) in pair(600, values())) {
        prop_assert_eq!(distance::metric_distance(Metric::L2, &a, &b), distance::l2(&a, &b));
        prop_assert_eq!(
            distance::metric_distance(Metric::L2, &a, &b),
            distance::l2_squared(&a, &b).sqrt()
        );
        prop_assert_eq!(
            distance::metric_distance(Metric::Cosine, &a, &b),
            distance::cosine_distance(&a, &b)
        );
        prop_assert_eq!(distance::metric_distance(Metric::Dot, &a, &b), -distance::dot(&a, &b));
        prop_assert_eq!(distance::norm(&a), (distance::kernels().norm_squared)(&a).sqrt());
        // The wrappers use the dispatched table, which agrees with scalar.
        assert_agrees(distance::kernels(), &a, &b);
        prop_assert_eq!(distance::metric_distance(Metric::L2, &a, &a), 0.0);
    }
}
