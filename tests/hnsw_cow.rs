//! Copy-on-write clones of the HNSW index: a `clone()` or `fork()` shares the
//! original's node chunks and row-map shards, and writes to the copy leave the
//! original exactly as it was (rows, links, vectors, search results), while the
//! copy behaves exactly like an independent index given the same operations. A
//! fork of a large index that takes one insert still shares most of its bytes.

use std::sync::Arc;

use veclite::distance::Metric;
use veclite::hnsw::{builder, Hnsw, Params, Scratch};

struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    fn vec(&mut self, dims: usize) -> Vec<f32> {
        (0..dims)
            .map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
            .collect()
    }
}

const DIMS: usize = 16;
const N: i64 = 3000;

fn params() -> Params {
    Params {
        dims: DIMS,
        metric: Metric::L2,
        m: 8,
        ef_construction: 40,
        seed: 7,
        quantize: Default::default(),
    }
}

/// `N` rows inserted one by one and committed (the same graph every time).
fn build() -> Hnsw {
    let mut h = Hnsw::new(params());
    let mut rng = Rng(0x5EED);
    let mut sc = Scratch::default();
    for r in 0..N {
        h.insert(r, &rng.vec(DIMS), &mut sc);
    }
    h.commit();
    h
}

/// Everything observable of the graph: rows, levels, links, vectors, entry, counts.
fn snapshot(h: &Hnsw) -> Vec<String> {
    let mut v: Vec<String> = (0..h.n_slots() as u32)
        .map(|s| {
            if !h.is_live(s) {
                return format!("{s}: free");
            }
            let lv = h.level_of_slot(s) as usize;
            let links: Vec<Vec<u32>> = (0..=lv).map(|l| h.links(s, l).to_vec()).collect();
            let bits: Vec<u32> = h.vector(s).iter().map(|x| x.to_bits()).collect();
            format!(
                "{s}: rowid {} level {lv} {:?} {:?}",
                h.rowid_of_slot(s),
                links,
                bits
            )
        })
        .collect();
    v.push(format!(
        "entry {:?} top {} len {} slots {} tombstones {} dirty {:?} changes {}",
        h.entry(),
        h.max_level(),
        h.len(),
        h.n_slots(),
        h.tombstones(),
        h.dirty_slots(),
        h.has_changes()
    ));
    let mut rows: Vec<(u32, i64)> = h.live().collect();
    rows.sort_unstable();
    v.push(format!("live {rows:?}"));
    v
}

/// Answers to a fixed set of queries: plain, filtered, two-hop and exact, as bits.
fn answers(h: &Hnsw) -> Vec<Vec<(u32, i64)>> {
    let mut rng = Rng(0xA5A5);
    let mut sc = Scratch::default();
    let bits = |r: Vec<(f32, i64)>| r.into_iter().map(|(d, id)| (d.to_bits(), id)).collect();
    let odd = |s: u32| !s.is_multiple_of(3);
    let mut odd_set = vec![0u64; h.n_slots().div_ceil(64)];
    for s in (0..h.n_slots() as u32).filter(|&s| odd(s)) {
        odd_set[s as usize / 64] |= 1 << (s % 64);
    }
    let mut out = Vec::new();
    for _ in 0..40 {
        let q = rng.vec(DIMS);
        out.push(bits(h.search(&q, 10, 32, &mut sc, None)));
        out.push(bits(h.search(&q, 10, 32, &mut sc, Some(&odd))));
        out.push(bits(h.search_in_set(&q, 10, 32, &mut sc, &odd_set)));
        out.push(bits(h.exact_search(&q, 10, None)));
    }
    out
}

/// A transaction's worth of work with savepoints, replacing inserts, deletes,
/// purges and a partial rollback; the same `seed` gives the same operations.
fn ops(h: &mut Hnsw, seed: u64, next_rowid: &mut i64) {
    let mut rng = Rng(seed);
    let mut sc = Scratch::default();
    let some_row = |h: &Hnsw, rng: &mut Rng, below: i64| loop {
        let r = rng.below(below as u64) as i64;
        if h.contains(r) {
            return r;
        }
    };
    h.savepoint(0);
    for _ in 0..150 {
        h.insert(*next_rowid, &rng.vec(DIMS), &mut sc);
        *next_rowid += 1;
    }
    for _ in 0..20 {
        let r = some_row(h, &mut rng, *next_rowid);
        h.insert(r, &rng.vec(DIMS), &mut sc);
    }
    for _ in 0..100 {
        let r = some_row(h, &mut rng, *next_rowid);
        assert!(h.delete(r));
    }
    h.purge(&mut sc);
    h.savepoint(1);
    for i in 0..50 {
        h.insert(*next_rowid + i, &rng.vec(DIMS), &mut sc);
    }
    for _ in 0..30 {
        let r = some_row(h, &mut rng, *next_rowid);
        assert!(h.delete(r));
    }
    h.purge(&mut sc);
    h.rollback_to(1);
    for _ in 0..40 {
        h.insert(*next_rowid, &rng.vec(DIMS), &mut sc);
        *next_rowid += 1;
    }
    for _ in 0..10 {
        let r = some_row(h, &mut rng, *next_rowid);
        assert!(h.delete(r));
    }
    h.release(1);
    h.purge(&mut sc);
}

fn same(a: &Hnsw, b: &Hnsw, what: &str) {
    let (sa, sb) = (snapshot(a), snapshot(b));
    for (x, y) in sa.iter().zip(&sb) {
        assert_eq!(x, y, "{what}: the copy and the independent index differ");
    }
    assert_eq!(sa.len(), sb.len(), "{what}");
    assert_eq!(answers(a), answers(b), "{what}: different search results");
    assert_eq!(a.tag(), b.tag(), "{what}");
    assert!(a.check().is_empty(), "{what}: {:?}", a.check());
    assert!(a.inlinks_consistent(), "{what}");
}

#[test]
fn writes_to_a_clone_or_fork_leave_the_original_alone() {
    let mut h = build();
    h.set_tag(veclite::hnsw::Tag {
        generation: 41,
        token: 7,
    });
    let before = snapshot(&h);
    let results = answers(&h);
    let mut twin = build();
    twin.set_tag(veclite::hnsw::Tag {
        generation: 41,
        token: 7,
    });
    for fork in [false, true] {
        let mut c = if fork { h.fork() } else { h.clone() };
        let mut t = if fork { twin.fork() } else { twin.clone() };
        let (mut next_c, mut next_t) = (N, N);
        ops(&mut c, 1, &mut next_c);
        ops(&mut t, 1, &mut next_t);
        same(&c, &t, "after the first transaction");
        c.commit();
        t.commit();
        // a second transaction reuses the slots the first one freed
        ops(&mut c, 2, &mut next_c);
        ops(&mut t, 2, &mut next_t);
        same(&c, &t, "after the second transaction");
        let mid = snapshot(&c);
        c.rollback();
        t.rollback();
        same(&c, &t, "after a rollback");
        assert_ne!(snapshot(&c), mid);
        assert_eq!(snapshot(&h), before, "the original changed (fork {fork})");
        assert_eq!(answers(&h), results, "the original answers differently");
    }
    // the original, never cloned, takes the same operations as its copies did
    let mut next = N;
    ops(&mut h, 1, &mut next);
    h.commit();
    let mut next_twin = N;
    ops(&mut twin, 1, &mut next_twin);
    twin.commit();
    same(&h, &twin, "the original after writes of its own");
}

#[test]
fn a_fork_starts_a_new_transaction_and_a_clone_keeps_the_open_one() {
    // an open transaction that inserted, deleted and purged (its freed slots are
    // pending until commit)
    let mut h = build();
    let mut next = N;
    ops(&mut h, 3, &mut next);
    assert!(h.has_changes());
    let open = snapshot(&h);
    let committed = snapshot(&build());

    // a fork: what the transaction would be after a commit
    let mut f = h.fork();
    let mut t = build();
    let mut next_t = N;
    ops(&mut t, 3, &mut next_t);
    t.commit();
    same(&f, &t, "a fork of an open transaction");
    assert!(f.dirty_slots().is_empty() && !f.has_changes());
    let (mut nf, mut nt) = (next, next_t);
    ops(&mut f, 4, &mut nf);
    ops(&mut t, 4, &mut nt);
    same(&f, &t, "a fork's own transaction (reusing the freed slots)");
    f.rollback();
    t.rollback();
    same(&f, &t, "a fork's rollback");

    // a clone keeps the journal: its rollback undoes the original's transaction
    let mut c = h.clone();
    assert_eq!(snapshot(&c), open);
    c.rollback();
    assert_eq!(snapshot(&c), committed);
    assert_eq!(snapshot(&h), open, "the original changed");

    // and the original can still roll back its own transaction
    h.rollback();
    assert_eq!(snapshot(&h), committed);
}

#[test]
fn a_fork_of_a_large_index_shares_most_of_its_bytes() {
    let mut rng = Rng(0xB16);
    let rows: Vec<(i64, Vec<f32>)> = (0..50_000).map(|r| (r, rng.vec(DIMS))).collect();
    let h = Arc::new(builder::build_parallel(params(), &rows));
    let total = h.memory_bytes();
    assert_eq!(h.memory_split(), (0, total), "nothing is shared yet");

    let mut f = h.fork();
    let (shared, private) = f.memory_split();
    assert_eq!(shared + private, f.memory_bytes());
    assert!(
        private * 100 < total,
        "a fresh fork holds {private} private bytes of {total}"
    );

    let before = answers(&h);
    let mut sc = Scratch::default();
    f.insert(1 << 40, &rng.vec(DIMS), &mut sc);
    let (shared, private) = f.memory_split();
    eprintln!("after one insert into a fork: {shared} bytes shared, {private} private");
    assert_eq!(shared + private, f.memory_bytes());
    assert!(
        private * 10 < shared + private,
        "after one insert a fork holds {private} private bytes of {}",
        shared + private
    );
    // the chunks the fork copied are the original's alone now; its size is the same
    let (hs, hp) = h.memory_split();
    assert_eq!(hs + hp, total);
    assert_eq!(hs, shared, "both hold the same shared chunks");
    assert_eq!(h.len(), 50_000);
    assert_eq!(f.len(), 50_001);

    // the shared version answers from other threads while the fork changes
    std::thread::scope(|s| {
        let reader = s.spawn(|| answers(&h));
        for r in 0..200 {
            f.insert((1 << 40) + 1 + r, &rng.vec(DIMS), &mut sc);
        }
        assert_eq!(reader.join().unwrap(), before);
    });

    // Arc::make_mut on a shared version copies it the same cheap way
    let mut shared_h = Arc::clone(&h);
    Arc::make_mut(&mut shared_h).insert(1 << 41, &rng.vec(DIMS), &mut sc);
    assert!(shared_h.contains(1 << 41) && !h.contains(1 << 41));
    assert!(shared_h.memory_split().1 * 10 < shared_h.memory_bytes());
    assert_eq!(answers(&h), before);
}
