//! The slots of the rows matching a set of pushed-down terms: a bitset for the
//! graph walk's admission test and the sorted list for the exact pass.

pub struct FilterSet {
    pub bits: Vec<u64>,
    pub slots: Vec<u32>,
}

impl FilterSet {
    #[inline]
    pub fn has(&self, slot: u32) -> bool {
        let i = slot as usize;
        self.bits
            .get(i / 64)
            .map(|w| w >> (i % 64) & 1 == 1)
            .unwrap_or(false)
    }
}

/// A cached filter result: the filter's key, the (data epoch, data_version) it
/// was computed at, the matching slots.
pub type CachedFilter = (Vec<u8>, (u64, i64), std::rc::Rc<FilterSet>);
