//! Bounded top-k selection by (distance, rowid): the k smallest, ties broken by the
//! smaller rowid. Pure Rust, used by the exact KNN path.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub dist: f32,
    pub rowid: i64,
}

impl Eq for Hit {}

impl Ord for Hit {
    fn cmp(&self, o: &Self) -> Ordering {
        self.dist
            .total_cmp(&o.dist)
            .then_with(|| self.rowid.cmp(&o.rowid))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Keeps the k best hits seen so far (a max-heap of the current k).
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Hit>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(10_000) + 1),
        }
    }

    /// The distance a new hit must beat to enter (infinity until k hits are held).
    pub fn bound(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map(|h| h.dist).unwrap_or(f32::INFINITY)
        }
    }

    pub fn push(&mut self, hit: Hit) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(hit);
        } else if let Some(top) = self.heap.peek() {
            if hit < *top {
                self.heap.pop();
                self.heap.push(hit);
            }
        }
    }

    /// The hits, nearest first (ties by rowid).
    pub fn into_sorted(self) -> Vec<Hit> {
        self.heap.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_k_smallest_with_rowid_ties() {
        let mut t = TopK::new(3);
        for (d, r) in [(0.5, 1), (0.1, 9), (0.5, 0), (0.9, 2), (0.1, 3), (0.3, 4)] {
            t.push(Hit { dist: d, rowid: r });
        }
        let v: Vec<(f32, i64)> = t.into_sorted().iter().map(|h| (h.dist, h.rowid)).collect();
        assert_eq!(v, vec![(0.1, 3), (0.1, 9), (0.3, 4)]);
    }
}
