//! HNSW under random insert/delete sequences: integrity after every purge, deleted rows
//! never returned, freed slots reused, and the journal restores the index exactly.

use veclite::distance::Metric;
use veclite::hnsw::{Hnsw, Params, Scratch};

struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn new(dims: usize) -> Hnsw {
    Hnsw::new(Params {
        dims,
        metric: Metric::L2,
        m: 6,
        ef_construction: 40,
        seed: 1,
        quantize: Default::default(),
    })
}

/// Everything observable: rows, slots, links, entry.
fn snapshot(h: &Hnsw) -> Vec<String> {
    let mut v: Vec<String> = (0..h.n_slots() as u32)
        .map(|s| {
            if !h.is_live(s) {
                return format!("{s}: free");
            }
            let lv = h.level_of_slot(s) as usize;
            let links: Vec<Vec<u32>> = (0..=lv).map(|l| h.links(s, l).to_vec()).collect();
            format!(
                "{s}: rowid {} level {lv} {:?} {:?}",
                h.rowid_of_slot(s),
                links,
                h.vector(s)
            )
        })
        .collect();
    v.push(format!(
        "entry {:?} top {} len {}",
        h.entry(),
        h.max_level(),
        h.len()
    ));
    v
}

#[test]
fn random_inserts_and_deletes_keep_integrity() {
    let mut rng = Rng(99);
    let mut h = new(8);
    let mut sc = Scratch::default();
    let mut live: Vec<i64> = Vec::new();
    for round in 0..30 {
        for _ in 0..(rng.next_u64() % 60) {
            let id = (rng.next_u64() % 400) as i64;
            let v: Vec<f32> = (0..8).map(|_| rng.f()).collect();
            h.insert(id, &v, &mut sc);
            if !live.contains(&id) {
                live.push(id);
            }
        }
        for _ in 0..(rng.next_u64() % 40) {
            if live.is_empty() {
                break;
            }
            let i = (rng.next_u64() as usize) % live.len();
            let id = live.swap_remove(i);
            assert!(h.delete(id));
            // a deleted row is never returned, even before purge
            let q: Vec<f32> = (0..8).map(|_| rng.f()).collect();
            assert!(h
                .search(&q, 50, 100, &mut sc, None)
                .iter()
                .all(|(_, r)| *r != id));
        }
        h.purge(&mut sc);
        h.commit();
        let problems = h.check();
        assert!(problems.is_empty(), "round {round}: {problems:?}");
        assert_eq!(h.len(), live.len());
        let q: Vec<f32> = (0..8).map(|_| rng.f()).collect();
        let got = h.search(&q, live.len().max(1), 400, &mut sc, None);
        // with ef >= n every live row is reachable
        let mut ids: Vec<i64> = got.iter().map(|x| x.1).collect();
        ids.sort();
        let mut want = live.clone();
        want.sort();
        assert_eq!(ids, want, "round {round}");
    }
    // freed slots are reused: the slot count stays near the peak live count
    assert!(h.n_slots() <= 400, "{} slots", h.n_slots());
}

#[test]
fn rollback_and_rollback_to_restore_exactly() {
    let mut rng = Rng(5);
    let mut h = new(4);
    let mut sc = Scratch::default();
    for id in 0..200 {
        let v: Vec<f32> = (0..4).map(|_| rng.f()).collect();
        h.insert(id, &v, &mut sc);
    }
    h.commit();
    let before = snapshot(&h);
    // a transaction with savepoints
    for id in 200..260 {
        let v: Vec<f32> = (0..4).map(|_| rng.f()).collect();
        h.insert(id, &v, &mut sc);
    }
    h.savepoint(0);
    let at_sp0 = snapshot(&h);
    for id in 0..50 {
        h.delete(id);
    }
    h.savepoint(1);
    for id in 1000..1100 {
        let v: Vec<f32> = (0..4).map(|_| rng.f()).collect();
        h.insert(id, &v, &mut sc);
    }
    h.rollback_to(1);
    h.release(1);
    h.rollback_to(0);
    assert_eq!(snapshot(&h), at_sp0);
    h.purge(&mut sc);
    h.rollback();
    assert_eq!(snapshot(&h), before);
    assert!(h.check().is_empty());
    // and the index still works after it
    let v: Vec<f32> = (0..4).map(|_| rng.f()).collect();
    h.insert(5000, &v, &mut sc);
    assert_eq!(h.search(&v, 1, 10, &mut sc, None)[0].1, 5000);
}

#[test]
fn same_rows_same_graph() {
    let mut rng = Rng(3);
    let data: Vec<Vec<f32>> = (0..300)
        .map(|_| (0..6).map(|_| rng.f()).collect())
        .collect();
    let build = |extra: bool| {
        let mut h = new(6);
        let mut sc = Scratch::default();
        for (i, v) in data.iter().enumerate() {
            h.insert(i as i64, v, &mut sc);
            if extra && i == 150 {
                // a rolled-back insert leaves no trace
                h.savepoint(0);
                h.insert(99_999, &[9.0; 6], &mut sc);
                h.rollback_to(0);
                h.release(0);
            }
        }
        h.commit();
        snapshot(&h)
    };
    assert_eq!(build(false), build(true));
}

/// Random savepoint / release / rollback-to / purge sequences: after every
/// rollback the index is exactly what it was when the savepoint was opened.
#[test]
fn random_journal_sequences_restore_exactly() {
    for seed in 1..40u64 {
        let mut rng = Rng(seed * 7919);
        let mut h = new(3);
        let mut sc = Scratch::default();
        for id in 0..30 {
            let v: Vec<f32> = (0..3).map(|_| rng.f()).collect();
            h.insert(id, &v, &mut sc);
        }
        h.purge(&mut sc);
        h.commit();
        // (level, snapshot at open)
        let mut open: Vec<(i32, Vec<String>)> = Vec::new();
        let mut trace: Vec<String> = Vec::new();
        for _ in 0..200 {
            match rng.next_u64() % 10 {
                0..=2 => {
                    let id = (rng.next_u64() % 40) as i64;
                    let v: Vec<f32> = (0..3).map(|_| rng.f()).collect();
                    h.insert(id, &v, &mut sc);
                    trace.push(format!("insert {id}"));
                }
                3 | 4 => {
                    let id = (rng.next_u64() % 40) as i64;
                    h.delete(id);
                    trace.push(format!("delete {id}"));
                }
                5 => {
                    h.purge(&mut sc);
                    trace.push("purge".into());
                    assert!(h.inlinks_consistent(), "seed {seed}: {trace:?}");
                }
                6 => {
                    let level = open.len() as i32;
                    h.savepoint(level);
                    open.push((level, snapshot(&h)));
                    trace.push(format!("savepoint {level}"));
                }
                7 => {
                    if !open.is_empty() {
                        let i = (rng.next_u64() as usize) % open.len();
                        let level = open[i].0;
                        h.release(level);
                        open.truncate(i);
                        trace.push(format!("release {level}"));
                    }
                }
                _ => {
                    if !open.is_empty() {
                        let i = (rng.next_u64() as usize) % open.len();
                        let level = open[i].0;
                        assert!(h.inlinks_consistent(), "seed {seed}: {trace:?}");
                        h.rollback_to(level);
                        open.truncate(i + 1);
                        trace.push(format!("rollback_to {level}"));
                        assert_eq!(snapshot(&h), open[i].1, "seed {seed}: {trace:?}");
                    }
                }
            }
        }
        h.purge(&mut sc);
        assert!(h.inlinks_consistent(), "seed {seed}: {trace:?}");
        h.commit();
        assert!(h.check().is_empty(), "seed {seed}");
    }
}

/// Reliability issue, item 7: a purge examines the nodes that link to the deleted
/// ones (through the kept in-links), not the whole graph, so a one-row DELETE commit
/// costs the same at any size. The first purge builds the in-links; later ones use
/// and maintain them.
#[test]
fn purge_work_does_not_grow_with_the_graph() {
    let mut rng = Rng(11);
    let mut examined = Vec::new();
    for n in [2_000usize, 20_000] {
        let mut h = new(8);
        let mut sc = Scratch::default();
        for id in 0..n as i64 {
            let v: Vec<f32> = (0..8).map(|_| rng.f()).collect();
            h.insert(id, &v, &mut sc);
        }
        h.commit();
        h.delete(0);
        h.purge(&mut sc);
        h.commit();
        let mut most = 0;
        for id in 1..40i64 {
            h.delete(id * 37);
            h.purge(&mut sc);
            h.commit();
            most = most.max(h.purge_examined());
            assert!(h.inlinks_consistent());
        }
        assert!(h.check().is_empty());
        examined.push(most);
    }
    // A node has at most a few dozen in-links (2m on level 0 plus hubs), whatever N.
    assert!(examined[1] < 200, "examined {examined:?}");
    assert!(
        examined[1] <= 3 * examined[0].max(20),
        "examined {examined:?}"
    );
}
