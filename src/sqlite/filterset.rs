//! The slots of the rows matching a set of pushed-down terms: a bitset for the
//! graph walk's admission test and the sorted list for the exact pass.

pub struct FilterSet {
    pub bits: Vec<u64>,
    pub slots: Vec<u32>,
}

impl FilterSet {
    /// The set of `slots` (sorted, distinct) of an index of `n` slots.
    pub fn from_slots(n: usize, slots: Vec<u32>) -> FilterSet {
        let mut bits = vec![0u64; n.div_ceil(64)];
        for &s in &slots {
            bits[s as usize / 64] |= 1 << (s % 64);
        }
        FilterSet { bits, slots }
    }

    /// The set of the slots set in `bits` (bit `s % 64` of word `s / 64`).
    pub fn from_bits(bits: Vec<u64>) -> FilterSet {
        let slots = slots_of(&bits);
        FilterSet { bits, slots }
    }

    #[inline]
    pub fn has(&self, slot: u32) -> bool {
        let i = slot as usize;
        self.bits
            .get(i / 64)
            .map(|w| w >> (i % 64) & 1 == 1)
            .unwrap_or(false)
    }
}

/// The slots set in `bits`, in order.
pub fn slots_of(bits: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &word) in bits.iter().enumerate() {
        let mut b = word;
        while b != 0 {
            out.push((w * 64) as u32 + b.trailing_zeros());
            b &= b - 1;
        }
    }
    out
}

/// A cached filter result: the filter's key, the (data epoch, data_version) it
/// was computed at, the matching slots.
pub type CachedFilter = (Vec<u8>, (u64, i64), std::rc::Rc<FilterSet>);
