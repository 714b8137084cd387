//! Building a fresh index from many rows on all cores.
//!
//! Rows are inserted in batches: the neighbour search for every row of a batch runs
//! in parallel (rayon) against the graph as it stood before the batch, then the
//! batch's links are applied in order on one thread. Batches grow with the graph
//! (at most an eighth of it, so a new node rarely misses a neighbour from its own
//! batch); the first rows go in one by one.

use rayon::prelude::*;

use super::{Hnsw, Params, Scratch};

const SEQUENTIAL_START: usize = 1024;
const MAX_BATCH: usize = 4096;

pub fn build_parallel(p: Params, rows: &[(i64, Vec<f32>)]) -> Hnsw {
    let mut h = Hnsw::new(p);
    h.set_journaling(false);
    h.reserve(rows.len());
    let mut sc = Scratch::default();
    let first = rows.len().min(SEQUENTIAL_START);
    for (r, v) in &rows[..first] {
        h.insert(*r, v, &mut sc);
    }
    let mut i = first;
    while i < rows.len() {
        let b = (h.len() / 8).clamp(64, MAX_BATCH).min(rows.len() - i);
        let batch = &rows[i..i + b];
        let plans: Vec<_> = {
            let hr = &h;
            batch
                .par_iter()
                .map_init(Scratch::default, |sc, (r, v)| hr.plan_insert(*r, v, sc))
                .collect()
        };
        for plan in plans {
            h.apply_insert(plan);
        }
        i += b;
    }
    h.set_journaling(true);
    h.commit();
    h
}
