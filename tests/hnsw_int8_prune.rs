//! `Hnsw::prune_candidates` on a quantized index never drops a row of the exact
//! top k: every row is ranked by code distance (an exact scan of the codes), the
//! ranking is pruned, and the exact k nearest (brute force over the f32 vectors)
//! must all survive, for every metric. It must also drop most of a long tail.

use veclite::distance::Metric;
use veclite::hnsw::{Hnsw, Params, Quantize, Scratch};

struct Rng(u64);
impl Rng {
    fn f(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn exact(m: Metric, q: &[f32], v: &[f32]) -> f64 {
    let dot: f64 = q.iter().zip(v).map(|(a, b)| (a * b) as f64).sum();
    match m {
        Metric::L2 => q.iter().zip(v).map(|(a, b)| ((a - b) as f64).powi(2)).sum(),
        Metric::Dot => -dot,
        Metric::Cosine => {
            let n = |x: &[f32]| x.iter().map(|a| (a * a) as f64).sum::<f64>().sqrt();
            1.0 - dot / (n(q) * n(v))
        }
    }
}

#[test]
fn pruning_keeps_the_exact_top_k() {
    const N: usize = 3000;
    const D: usize = 48;
    const K: usize = 10;
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut h = Hnsw::new(Params {
            dims: D,
            metric,
            m: 8,
            ef_construction: 32,
            seed: 3,
            quantize: Quantize::Int8,
        });
        // clustered rows, so near neighbours are close and the tail is long
        let centres: Vec<Vec<f32>> = (0..20).map(|_| (0..D).map(|_| rng.f()).collect()).collect();
        let rows: Vec<Vec<f32>> = (0..N)
            .map(|i| centres[i % 20].iter().map(|c| c + 0.15 * rng.f()).collect())
            .collect();
        let mut sc = Scratch::default();
        for (i, v) in rows.iter().enumerate() {
            h.insert(i as i64, v, &mut sc);
        }
        let (mut kept, mut total) = (0usize, 0usize);
        for qi in 0..40 {
            let q: Vec<f32> = centres[qi % 20]
                .iter()
                .map(|c| c + 0.15 * rng.f())
                .collect();
            let mut cands = h.exact_search(&q, N, None);
            total += cands.len();
            h.prune_candidates(&q, &mut cands, K);
            kept += cands.len();
            let mut want: Vec<(f64, i64)> = rows
                .iter()
                .enumerate()
                .map(|(i, v)| (exact(metric, &q, v), i as i64))
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (_, r) in &want[..K] {
                assert!(
                    cands.iter().any(|c| c.1 == *r),
                    "{metric:?}: row {r} of the exact top {K} pruned"
                );
            }
        }
        eprintln!("{metric:?}: kept {kept} of {total} candidates");
        assert!(kept * 4 < total, "{metric:?}: kept {kept} of {total}");
    }
}
