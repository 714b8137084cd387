//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay
//! test (`tests/fuzz_corpus.rs`). Each takes arbitrary bytes, must never panic on
//! bad input, and asserts the invariants a correct parser keeps (round trips).

use crate::hnsw::{codec, Hnsw, Params};
use crate::sqlite::{config, plan::Plan};
use crate::vector;

/// JSON text and float32 BLOB vectors: a parsed vector is finite and survives a
/// round trip through its canonical forms.
pub fn vector_parser(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = vector::parse_json(text) {
            assert!(!v.is_empty() && v.iter().all(|x| x.is_finite()));
            assert_eq!(vector::parse_json(&vector::to_json(&v)).unwrap(), v);
        }
    }
    if let Ok(v) = vector::from_blob(data) {
        assert!(v.iter().all(|x| x.is_finite()));
        assert_eq!(vector::to_blob(&v), data);
    }
}

/// CREATE VIRTUAL TABLE arguments (one per line): a configuration that parses is
/// within bounds and has no reserved or duplicate names.
pub fn create_args(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<&str> = text.split('\n').collect();
    if let Ok(c) = config::parse(&args) {
        assert!((1..=config::MAX_DIMS).contains(&c.dims));
        assert!(!c.vector_name.is_empty());
        let mut names: Vec<String> = std::iter::once(c.vector_name.to_ascii_lowercase())
            .chain(c.meta.iter().map(|m| m.name.to_ascii_lowercase()))
            .collect();
        for n in &names {
            assert!(!config::RESERVED.contains(&n.as_str()));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 1 + c.meta.len());
    }
}

/// Graph node records: a record that decodes re-encodes to the same bytes, and
/// loading it into an index never panics.
pub fn node_decoder(data: &[u8]) {
    let max = |l: usize| if l == 0 { 8 } else { 4 };
    if let Ok(levels) = codec::decode(data, max) {
        let refs: Vec<&[u32]> = levels.iter().map(|l| l.as_slice()).collect();
        assert_eq!(codec::encode(&refs), data);
    }
    let mut h = Hnsw::new(Params {
        dims: 2,
        metric: crate::distance::Metric::L2,
        m: 4,
        ef_construction: 8,
        seed: 1,
        quantize: Default::default(),
    });
    if h.load_node(0, 1, data).is_ok() {
        h.load_vector(1, &[0, 0, 128, 63, 0, 0, 0, 64]);
        let _ = h.finish_load(Some(0));
        let _ = h.check();
    }
}

/// Plan strings (idxStr): a plan that decodes encodes back to an equivalent plan.
pub fn plan_decoder(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cfg = config::parse(&["v float[2]", "\"a b(c)\" text", "n integer COLLATE nocase"])
        .expect("fixed config");
    if let Ok(p) = Plan::decode(text, &cfg) {
        let again = Plan::decode(&p.encode(&cfg), &cfg).expect("encoded plans decode");
        assert_eq!(again, p);
    }
}
