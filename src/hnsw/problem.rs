//! What can be wrong with a stored or loaded graph: typed, with the messages
//! veclite_check and the damage errors show.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphProblem {
    #[error("node {0}: slot number out of range")]
    SlotOutOfRange(u32),
    #[error("node {0} appears twice")]
    DuplicateNode(u32),
    /// The node's bytes do not decode (the codec's message).
    #[error("node {slot}: {detail}")]
    BadNode { slot: u32, detail: String },
    #[error("rowid {0} has two nodes")]
    RowidTwice(i64),
    #[error("row {0}: bad vector")]
    BadVector(i64),
    #[error("no entry point but the index has rows")]
    NoEntry,
    #[error("entry point {0} is not a live node")]
    EntryNotLive(u32),
    #[error("entry point {0} is not on the top level")]
    EntryNotTop(u32),
    /// After catching up: a level above the entry point's.
    #[error("entry point is not on the top level")]
    NodeAboveEntry,
    #[error("node {slot}: level {level} too high")]
    LevelTooHigh { slot: u32, level: u8 },
    #[error("node {slot} (rowid {rowid}): link to missing node {target} at level {level}")]
    LinkToMissing {
        slot: u32,
        rowid: i64,
        target: u32,
        level: usize,
    },
    /// After catching up: a link to a free slot or one below the link's level.
    #[error("node {slot}: link to {target} at level {level}")]
    BadLink {
        slot: u32,
        target: u32,
        level: usize,
    },
    #[error("node {slot}: link to node {target} at level {level} above that node's level")]
    LinkAboveLevel {
        slot: u32,
        target: u32,
        level: usize,
    },
    #[error("node {slot}: links to itself at level {level}")]
    SelfLink { slot: u32, level: usize },
    #[error("node {slot}: duplicate link to {target} at level {level}")]
    DuplicateLink {
        slot: u32,
        target: u32,
        level: usize,
    },
    #[error("{unreached} of {live} graph nodes cannot be reached from the entry point (the graph is degenerate)")]
    Unreachable { unreached: usize, live: usize },
    /// The first of several problems.
    #[error("{first} (and {more} more)")]
    Several {
        first: Box<GraphProblem>,
        more: usize,
    },
}
