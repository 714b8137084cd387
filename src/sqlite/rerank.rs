//! Exact re-ranking for a quantized index (`quantize = int8`): the index ranks by
//! the distances of its int8 codes; the best candidates of a walk or scan (an
//! oversampled pool, [`pool`]) get their exact f32 distance here, from the
//! vector stored in the rows table (read by rowid with one prepared statement,
//! `Sql::RowVector`), so the `distance` column is exact and results are ordered by
//! it. No f32 copy is kept in memory: that is the memory saving, paid for with one
//! B-tree lookup per candidate (BENCHMARKS.md).
//!
//! The exact distance is computed with the same kernels as the f32 index (under
//! cosine the row's norm is divided out instead of normalising a copy, so the
//! last bit may differ from a `quantize = none` table's).

use super::store::Sql;
use super::vtab::VecTable;
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::topk::Hit;

/// The `k` nearest of a quantized index's candidate pool, by exact distance.
pub fn rerank_hits(t: &mut VecTable, q: &[f32], hits: Vec<Hit>, k: usize) -> Result<Vec<Hit>> {
    let mut c: Vec<(f32, i64)> = hits.into_iter().map(|h| (h.dist, h.rowid)).collect();
    // the pool less the candidates whose code distance rules them out
    t.loaded_index()?.hnsw.prune_candidates(q, &mut c, k);
    Exact::new(t.cfg.metric, q).rescore(t, &mut c)?;
    c.truncate(k);
    Ok(c.into_iter()
        .map(|(dist, rowid)| Hit { dist, rowid })
        .collect())
}

/// Candidates re-ranked per result wanted (the pool is `FACTOR * k`, at most the
/// walk's breadth). Measured on wordnet-minilm (BENCHMARKS.md).
const FACTOR: usize = 2;

/// The oversampling factor; `VECLITE_RERANK_FACTOR` overrides it (calibration).
pub fn factor() -> usize {
    static F: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *F.get_or_init(|| {
        super::config::tuning("VECLITE_RERANK_FACTOR", FACTOR, |f| (1..=1000).contains(f))
    })
}

/// How many of a walk's results (breadth `ef >= k`) to re-rank for `k` results.
pub fn pool(k: usize, ef: usize) -> usize {
    factor().saturating_mul(k).min(ef.max(k))
}

/// How many of an exact scan's (code-distance) results to re-rank for `k`.
pub fn pool_exact(k: usize) -> usize {
    factor().saturating_mul(k)
}

/// A query, prepared for exact distances to stored rows.
pub struct Exact {
    metric: Metric,
    /// Normalised under cosine.
    q: Vec<f32>,
    buf: Vec<f32>,
}

impl Exact {
    pub fn new(metric: Metric, q: &[f32]) -> Self {
        let mut q = q.to_vec();
        if metric.normalizes() {
            crate::vector::normalize(&mut q);
        }
        Exact {
            metric,
            buf: Vec::with_capacity(q.len()),
            q,
        }
    }

    /// The internal score to a stored vector: what the f32 index computes (under
    /// cosine 1 - the dot of the normalised query with the row over the row's
    /// norm, both from the SIMD kernels while the squared norm is safely inside
    /// the f32 range, else the row normalised in f64 as the index would).
    fn score(&mut self, bytes: &[u8]) -> f32 {
        self.buf.clear();
        self.buf.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        let k = distance::kernels();
        let m = self.metric;
        if m.normalizes() {
            let n2 = (k.norm_squared)(&self.buf);
            if n2.is_finite() && n2 > 1e-30 && n2 < 1e30 {
                return m.score_of((k.dot)(&self.q, &self.buf) / n2.sqrt());
            }
            crate::vector::normalize(&mut self.buf);
        }
        m.score_of((m.kernel(k))(&self.q, &self.buf))
    }

    /// Replaces each candidate's distance by its exact one, read from the rows
    /// table, drops rows that no longer exist (a stream's pinned version may hold
    /// rows this connection deleted since), and sorts nearest first, ties by rowid.
    pub fn rescore(&mut self, t: &mut VecTable, cands: &mut Vec<(f32, i64)>) -> Result<()> {
        let mut st = t.take(Sql::RowVector)?;
        let dims = t.cfg.dims;
        let r = (|| -> Result<()> {
            let mut keep = 0;
            for i in 0..cands.len() {
                let rowid = cands[i].1;
                st.reset();
                st.bind_i64(1, rowid)?;
                if !st.step()? {
                    continue;
                }
                let b = st.column_bytes(0);
                if b.len() != dims * 4 {
                    return Err(Error::corrupt(format!(
                        "veclite: table {}: row {rowid} has a vector of {} bytes, expected {}",
                        t.names.table,
                        b.len(),
                        dims * 4
                    )));
                }
                cands[keep] = (self.score(b), rowid);
                keep += 1;
            }
            cands.truncate(keep);
            Ok(())
        })();
        t.put(Sql::RowVector, st);
        r?;
        cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(())
    }
}
