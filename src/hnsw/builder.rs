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

/// Rows per thread in one parallel step of a batch's neighbour searches; `hook` is
/// called between steps (a step is some milliseconds of work).
const STEP_PER_THREAD: usize = 32;
/// Rows between two `hook` calls where the work runs on the calling thread.
const SEQUENTIAL_CHECK: usize = 32;

pub fn build_parallel(p: Params, rows: &[(i64, Vec<f32>)]) -> Hnsw {
    build_parallel_until(p, rows, &mut |_| false).expect("never stopped")
}

/// [`build_parallel`], calling `hook(done)` every few milliseconds of work (always
/// on the calling thread, between parallel steps, so no worker runs once it said
/// yes): `done` is how many rows have found their place in the graph so far (it
/// only grows, and the last call before a completed build has all of them); the
/// build stops, returning None, when the hook returns true. The hook is both the
/// progress report and the abort check: the caller decides what either means.
pub fn build_parallel_until(
    p: Params,
    rows: &[(i64, Vec<f32>)],
    hook: &mut dyn FnMut(usize) -> bool,
) -> Option<Hnsw> {
    let mut h = Hnsw::new(p);
    h.set_journaling(false);
    h.reserve(rows.len());
    let mut sc = Scratch::default();
    let first = rows.len().min(SEQUENTIAL_START);
    for (k, (r, v)) in rows[..first].iter().enumerate() {
        if k % SEQUENTIAL_CHECK == 0 && hook(k) {
            return None;
        }
        h.insert(*r, v, &mut sc);
    }
    let step = rayon::current_num_threads().max(1) * STEP_PER_THREAD;
    let mut i = first;
    while i < rows.len() {
        let b = (h.len() / 8).clamp(64, MAX_BATCH).min(rows.len() - i);
        let batch = &rows[i..i + b];
        // Every plan of the batch is made against the graph as it stood before it,
        // in steps, so `hook` is heard within one step.
        let mut plans = Vec::with_capacity(b);
        for chunk in batch.chunks(step) {
            if hook(i + plans.len()) {
                return None;
            }
            let hr = &h;
            plans.par_extend(
                chunk
                    .par_iter()
                    .map_init(Scratch::default, |sc, (r, v)| hr.plan_insert(*r, v, sc)),
            );
        }
        for (k, plan) in plans.into_iter().enumerate() {
            if k % (8 * SEQUENTIAL_CHECK) == 0 && hook(i + b) {
                return None;
            }
            h.apply_insert(plan);
        }
        i += b;
    }
    if hook(rows.len()) {
        return None;
    }
    h.set_journaling(true);
    h.commit();
    Some(h)
}
