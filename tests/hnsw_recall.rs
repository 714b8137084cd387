//! HNSW recall against brute force: wordnet-minilm (10k and 100k, recall@10 >= 0.95
//! at ef=64) and clustered random data in low dimensions.

mod common;
use common::*;
use veclite::distance::Metric;
use veclite::hnsw::{Hnsw, Params, Scratch};

fn params(dims: usize, metric: Metric) -> Params {
    Params {
        dims,
        metric,
        m: 16,
        ef_construction: 200,
        seed: 42,
        quantize: Default::default(),
    }
}

/// Recall@10 at ef=64 of an index built by sequential inserts, or (`parallel`) by
/// the batch-parallel builder that veclite_rebuild uses.
fn recall_wordnet(n: usize, nq: usize, gt_file: &str, parallel: bool) -> f64 {
    let w = wordnet(n, nq);
    let gt: Vec<Vec<i32>> = if gt_file == "gt10k.i32" {
        w.gt10k.clone()
    } else {
        let raw = std::fs::read(data_dir().join(gt_file)).unwrap();
        raw[..nq * 400]
            .chunks_exact(400)
            .map(|r| {
                r.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect()
    };
    let mut sc = Scratch::default();
    let h = if parallel {
        let rows: Vec<(i64, Vec<f32>)> = w
            .base
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64, v.clone()))
            .collect();
        veclite::hnsw::builder::build_parallel(params(DIMS, Metric::Cosine), &rows)
    } else {
        let mut h = Hnsw::new(params(DIMS, Metric::Cosine));
        for (i, v) in w.base.iter().enumerate() {
            h.insert(i as i64, v, &mut sc);
        }
        h.commit();
        h
    };
    assert!(h.check().is_empty(), "{:?}", &h.check()[..1]);
    let mut hit = 0;
    for (qi, q) in w.queries.iter().enumerate() {
        let got = h.search(q, 10, 64, &mut sc, None);
        let truth: Vec<i64> = gt[qi][..10].iter().map(|&x| x as i64).collect();
        hit += got.iter().filter(|(_, id)| truth.contains(id)).count();
    }
    hit as f64 / (10 * nq) as f64
}

#[test]
fn wordnet_10k_recall_at_ef64() {
    let r = recall_wordnet(10_000, 200, "gt10k.i32", false);
    assert!(r >= 0.95, "recall@10 {r}");
}

#[test]
fn wordnet_100k_recall_at_ef64_parallel_build() {
    if !have_rows(100_000, "wordnet_100k_recall_at_ef64_parallel_build") {
        return;
    }
    let r = recall_wordnet(100_000, 100, "gt100k.i32", true);
    assert!(r >= 0.95, "recall@10 {r}");
}

/// Deterministic pseudo-random numbers (no extra dependency).
pub struct Rng(u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

#[test]
fn clustered_low_dims_all_metrics() {
    for (dims, metric) in [
        (8, Metric::L2),
        (32, Metric::L2),
        (16, Metric::Cosine),
        (24, Metric::Dot),
    ] {
        let mut rng = Rng(7 + dims as u64);
        let centers: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..dims).map(|_| rng.f() * 10.0).collect())
            .collect();
        let data: Vec<Vec<f32>> = (0..5000)
            .map(|i| centers[i % 20].iter().map(|c| c + rng.f()).collect())
            .collect();
        let mut h = Hnsw::new(params(dims, metric));
        let mut sc = Scratch::default();
        for (i, v) in data.iter().enumerate() {
            h.insert(i as i64, v, &mut sc);
        }
        let dist = |a: &[f32], b: &[f32]| -> f32 {
            match metric {
                Metric::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
                Metric::Cosine => cosine(a, b),
                Metric::Dot => -a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
            }
        };
        let mut hit = 0;
        let nq = 100;
        for _ in 0..nq {
            let q: Vec<f32> = centers[(rng.next_u64() % 20) as usize]
                .iter()
                .map(|c| c + rng.f() * 1.5)
                .collect();
            let mut all: Vec<(f32, i64)> = data
                .iter()
                .enumerate()
                .map(|(i, v)| (dist(&q, v), i as i64))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            let kth = all[9].0;
            let got = h.search(&q, 10, 64, &mut sc, None);
            hit += got
                .iter()
                .filter(|(_, id)| dist(&q, &data[*id as usize]) <= kth + 1e-4)
                .count();
        }
        let r = hit as f64 / (10 * nq) as f64;
        // Dot is not a metric: HNSW is a heuristic there, so the bound is looser.
        let bound = if metric == Metric::Dot { 0.85 } else { 0.95 };
        assert!(r >= bound, "dims {dims} {metric:?}: recall {r}");
    }
}
