//! A metric and everything that depends on it, in one place: its name in SQL, the
//! kernel the index computes, the internal *score* it ranks by (smaller is nearer),
//! and the `distance` a user sees.
//!
//! | metric | stored vectors | kernel | score | user `distance` |
//! | --- | --- | --- | --- | --- |
//! | `l2` | as given | squared L2 | squared L2 | `sqrt(score)` |
//! | `cosine` | normalised | dot | `1 - dot` | `max(score, 0)` |
//! | `dot` | as given | dot | `-dot` | `score` (the negative inner product) |

use super::Kernels;

/// The distance a vector table ranks its nearest neighbours by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Euclidean distance.
    L2,
    /// `1 - cos(a, b)`, in `[0, 2]`.
    Cosine,
    /// Negative inner product (smaller is closer).
    Dot,
}

impl Metric {
    /// The name used in `distance = ...` and in the stored config.
    pub fn name(self) -> &'static str {
        match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
        }
    }

    /// The metric named `s` (case-insensitive).
    pub fn parse(s: &str) -> Option<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "l2" => Some(Metric::L2),
            "cosine" => Some(Metric::Cosine),
            "dot" => Some(Metric::Dot),
            _ => None,
        }
    }

    /// True when the index keeps unit vectors (and normalises queries).
    pub fn normalizes(self) -> bool {
        self == Metric::Cosine
    }

    /// The kernel whose result [`score_of`](Self::score_of) turns into a score.
    #[inline]
    pub fn kernel(self, k: &Kernels) -> fn(&[f32], &[f32]) -> f32 {
        match self {
            Metric::L2 => k.l2_squared,
            Metric::Cosine | Metric::Dot => k.dot,
        }
    }

    /// The internal score (smaller is nearer) from the kernel's result.
    #[inline(always)]
    pub fn score_of(self, kernel_result: f32) -> f32 {
        match self {
            Metric::L2 => kernel_result,
            Metric::Cosine => 1.0 - kernel_result,
            Metric::Dot => -kernel_result,
        }
    }

    /// The `distance` a user sees for an internal score.
    #[inline]
    pub fn user_distance(self, score: f32) -> f32 {
        match self {
            Metric::L2 => score.max(0.0).sqrt(),
            // 1 - dot of unit vectors can round a hair below 0 for identical vectors.
            Metric::Cosine => score.max(0.0),
            Metric::Dot => score,
        }
    }
}
