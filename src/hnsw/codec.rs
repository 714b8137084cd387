//! The node record of `<t>_graph` (format version 1, little-endian):
//!
//! ```text
//! u8  version (= 1)
//! u8  level L (0..=15)
//! L+1 times, for level 0 first:  u16 count, then count x u32 neighbour slot
//! ```
//! Nothing may follow. Decoding checks every length and bound, so a damaged record
//! is an error, never a panic or an endless loop.

pub const NODE_VERSION: u8 = 1;

pub fn encode(levels: &[&[u32]]) -> Vec<u8> {
    let n: usize = levels.iter().map(|l| 2 + 4 * l.len()).sum();
    let mut out = Vec::with_capacity(2 + n);
    out.push(NODE_VERSION);
    out.push((levels.len() - 1) as u8);
    for l in levels {
        out.extend_from_slice(&(l.len() as u16).to_le_bytes());
        for x in *l {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// Decodes a node record into its per-level link lists. `max_links(level)` bounds
/// each list.
pub fn decode(b: &[u8], max_links: impl Fn(usize) -> usize) -> Result<Vec<Vec<u32>>, String> {
    let mut out = Vec::new();
    decode_with(b, max_links, |_, ids| out.push(ids.collect()))?;
    Ok(out)
}

/// The level of a node record (header checks only).
pub fn level_of(b: &[u8]) -> Result<usize, String> {
    if b.len() < 2 {
        return Err(format!("node record of {} bytes is too short", b.len()));
    }
    if b[0] != NODE_VERSION {
        return Err(format!(
            "node record version {} is not {NODE_VERSION}",
            b[0]
        ));
    }
    let level = b[1] as usize;
    if level > super::MAX_LEVEL as usize {
        return Err(format!("node level {level} is above {}", super::MAX_LEVEL));
    }
    Ok(level)
}

/// Decodes without allocating: `each(level, ids)` is called per level, after that
/// level's bounds are checked.
pub fn decode_with(
    b: &[u8],
    max_links: impl Fn(usize) -> usize,
    mut each: impl FnMut(usize, &mut dyn ExactSizeIterator<Item = u32>),
) -> Result<(), String> {
    let level = level_of(b)?;
    let mut pos = 2;
    for lc in 0..=level {
        let Some(c) = b.get(pos..pos + 2) else {
            return Err(format!("node record ends inside level {lc}"));
        };
        let count = u16::from_le_bytes([c[0], c[1]]) as usize;
        pos += 2;
        if count > max_links(lc) {
            return Err(format!(
                "{count} links at level {lc}, at most {}",
                max_links(lc)
            ));
        }
        let Some(body) = b.get(pos..pos + 4 * count) else {
            return Err(format!("node record ends inside the links of level {lc}"));
        };
        let mut it = body
            .chunks_exact(4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
        each(lc, &mut it);
        pos += 4 * count;
    }
    if pos != b.len() {
        return Err(format!(
            "{} extra bytes after the node record",
            b.len() - pos
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_damage() {
        let l0 = [1u32, 2, 3];
        let l1 = [7u32];
        let b = encode(&[&l0, &l1]);
        assert_eq!(decode(&b, |_| 32).unwrap(), vec![vec![1, 2, 3], vec![7]]);
        for cut in 0..b.len() {
            assert!(decode(&b[..cut], |_| 32).is_err());
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(decode(&extra, |_| 32).is_err());
        assert!(decode(&b, |_| 2).is_err());
        let mut v = b.clone();
        v[0] = 9;
        assert!(decode(&v, |_| 32).is_err());
    }
}
