//! Replays the cargo-fuzz corpora and any inputs the fuzzers found (fuzz/corpus/,
//! fuzz/regressions/) through the same entry points, so CI keeps every one of them
//! fixed without installing cargo-fuzz.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let mut n = 0;
    for dir in ["fuzz/corpus", "fuzz/regressions"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                let data = std::fs::read(&p).unwrap();
                f(&data);
                n += 1;
            }
        }
    }
    n
}

#[test]
fn vector_parser_corpus() {
    assert!(replay("vector_parser", veclite::fuzzing::vector_parser) > 0);
}

#[test]
fn create_args_corpus() {
    assert!(replay("create_args", veclite::fuzzing::create_args) > 0);
}

#[test]
fn node_decoder_corpus() {
    assert!(replay("node_decoder", veclite::fuzzing::node_decoder) > 0);
}

#[test]
fn plan_decoder_corpus() {
    assert!(replay("plan_decoder", veclite::fuzzing::plan_decoder) > 0);
}
