//! Differential test of the pushed-down terms evaluated on the index's metadata
//! cells: random tables with every column type and collation, random typed values
//! (numeric-looking text, NULLs, blobs, large integers and reals, long values that
//! the index keeps as a prefix), random conjunctions of terms with bound values of
//! every type, compared with SQLite itself running the same WHERE on the rows
//! table. Between rounds the rows change (UPDATE of metadata, DELETE, a rolled
//! back savepoint), so the cells must follow every write.
//!
//! Each case checks a KNN query with k at least the row count (all matching rows)
//! and a streamed KNN query without k; `veclite_info` must show every filter was
//! evaluated in the index (none fell back to SQL).

mod common;

use rusqlite::types::Value;
use rusqlite::Connection;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const COLS: &[&str] = &["rowid", "i", "r", "t", "tn", "tr", "b"];

fn pool() -> Vec<Value> {
    let long = "a".repeat(40);
    let mut v = vec![
        Value::Null,
        Value::Integer(0),
        Value::Integer(1),
        Value::Integer(-1),
        Value::Integer(5),
        Value::Integer(42),
        Value::Integer(i64::MAX),
        Value::Integer(i64::MIN),
        Value::Integer(9_007_199_254_740_993),
        Value::Real(0.0),
        Value::Real(1.0),
        Value::Real(1.5),
        Value::Real(-2.5),
        Value::Real(5.0),
        Value::Real(42.0),
        Value::Real(1e20),
        Value::Real(9.223_372_036_854_776e18),
        Value::Real(9_007_199_254_740_992.0),
        Value::Blob(vec![]),
        Value::Blob(vec![0]),
        Value::Blob(vec![1, 2]),
        Value::Blob(b"abc".to_vec()),
        Value::Blob(vec![7; 40]),
        Value::Blob([vec![7; 39], vec![8]].concat()),
    ];
    for t in [
        "",
        "1",
        "5",
        " 5 ",
        "5.0",
        "1e2",
        "+42",
        "-1.",
        ".5",
        "1e",
        "abc",
        "ABC",
        "abc  ",
        "abd",
        "x",
        "0x10",
        "12abc",
        "9223372036854775807",
        "9223372036854775808",
        "é",
        "É",
    ] {
        v.push(Value::Text(t.into()));
    }
    v.push(Value::Text(long.clone()));
    v.push(Value::Text(format!("{}b", &long[..39])));
    v.push(Value::Text(format!("{long}  ")));
    v.push(Value::Text(format!("{long}b")));
    v.push(Value::Text(long.to_ascii_uppercase()));
    v.push(Value::Text(format!("{}c", "A".repeat(35))));
    v
}

/// A random conjunction of 1-3 terms and its bound values.
fn predicate(rng: &mut Rng, values: &[Value]) -> (String, Vec<Value>) {
    let mut terms = Vec::new();
    let mut binds = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let col = *rng.pick(COLS);
        let lhs = match rng.below(8) {
            0 => format!("{col} COLLATE NOCASE"),
            1 => format!("{col} COLLATE RTRIM"),
            2 => format!("{col} COLLATE BINARY"),
            _ => col.to_string(),
        };
        let ints: Vec<&Value> = values
            .iter()
            .filter(|v| matches!(v, Value::Integer(_)))
            .collect();
        let mut bind_from = |rng: &mut Rng, only_ints: bool| {
            binds.push(if only_ints {
                (*rng.pick(&ints)).clone()
            } else {
                rng.pick(values).clone()
            });
            "?".to_string()
        };
        let mut bind = |rng: &mut Rng| bind_from(rng, false);
        let t = match rng.below(12) {
            0 => format!("{lhs} = {}", bind(rng)),
            1 => format!("{lhs} != {}", bind(rng)),
            2 => format!("{lhs} < {}", bind(rng)),
            3 => format!("{lhs} <= {}", bind(rng)),
            4 => format!("{lhs} > {}", bind(rng)),
            5 => format!("{lhs} >= {}", bind(rng)),
            6 => format!("{lhs} IS {}", bind(rng)),
            7 => format!("{lhs} IS NOT {}", bind(rng)),
            8 => format!("{col} IS NULL"),
            9 => format!("{col} IS NOT NULL"),
            10 => {
                let (a, b) = (bind(rng), bind(rng));
                format!("{lhs} BETWEEN {a} AND {b}")
            }
            _ => {
                // (half of the lists all INTEGERs, up to 18 long: the cell pass
                // compares those with 4, 8 or 16 values at once, or one by one)
                let only_ints = rng.below(2) == 0;
                let n = 1 + rng.below(if only_ints { 18 } else { 4 });
                let ps: Vec<String> = (0..n).map(|_| bind_from(rng, only_ints)).collect();
                format!("{lhs} IN ({})", ps.join(", "))
            }
        };
        terms.push(t);
    }
    (terms.join(" AND "), binds)
}

fn rowids(c: &Connection, sql: &str, binds: &[Value]) -> Vec<i64> {
    let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut v: Vec<i64> = st
        .query_map(rusqlite::params_from_iter(binds), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    v.sort_unstable();
    v
}

fn insert_row(c: &Connection, rng: &mut Rng, values: &[Value], id: i64) {
    let mut vals: Vec<Value> = vec![
        Value::Integer(id),
        Value::Text(format!(
            "[{}, {}]",
            rng.below(100) as f64 / 10.0,
            rng.below(100) as f64 / 10.0 + 0.1
        )),
    ];
    for _ in 0..6 {
        vals.push(rng.pick(values).clone());
    }
    c.execute(
        "INSERT INTO t(rowid, v, i, r, t, tn, tr, b) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rusqlite::params_from_iter(&vals),
    )
    .unwrap();
}

fn info_filters(c: &Connection) -> (i64, i64) {
    c.query_row(
        "SELECT json_extract(veclite_info('t'), '$.filters.in_index'), json_extract(veclite_info('t'), '$.filters.sql')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn filters_in_the_index_select_what_sqlite_selects() {
    let values = pool();
    let mut cases = 0usize;
    for seed in 1..=4u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let c = common::conn();
        c.execute_batch(
            "CREATE VIRTUAL TABLE t USING veclite(v float[2], i integer, r real, t text, \
             tn text collate nocase, tr text collate rtrim, b blob, exact_threshold = 0);",
        )
        .unwrap();
        let n_rows = 150 + rng.below(150);
        for id in 1..=n_rows as i64 {
            insert_row(&c, &mut rng, &values, id);
        }
        let mut next_id = n_rows as i64 + 1;
        for round in 0..6 {
            for _ in 0..150 {
                let (pred, binds) = predicate(&mut rng, &values);
                let want = rowids(
                    &c,
                    &format!("SELECT rowid FROM t_rows WHERE {pred}"),
                    &binds,
                );
                let mut knn_binds = vec![Value::Text("[1, 1]".into())];
                knn_binds.extend(binds.iter().cloned());
                let got = rowids(
                    &c,
                    &format!("SELECT rowid FROM t WHERE knn_match(v, ?) AND k = 5000 AND {pred}"),
                    &knn_binds,
                );
                assert_eq!(
                    got, want,
                    "seed {seed} round {round}, k: WHERE {pred} with {binds:?}"
                );
                let got = rowids(
                    &c,
                    &format!(
                        "SELECT rowid FROM t WHERE knn_match(v, ?) AND {pred} ORDER BY distance"
                    ),
                    &knn_binds,
                );
                assert_eq!(
                    got, want,
                    "seed {seed} round {round}, stream: WHERE {pred} with {binds:?}"
                );
                cases += 1;
            }
            // Change the rows: the cells must follow.
            for _ in 0..20 {
                let id = 1 + rng.below(next_id as usize - 1) as i64;
                let col = *rng.pick(&COLS[1..]);
                c.execute(
                    &format!("UPDATE t SET {col} = ? WHERE rowid = ?"),
                    rusqlite::params![rng.pick(&values).clone(), id],
                )
                .unwrap();
            }
            for _ in 0..5 {
                let id = 1 + rng.below(next_id as usize - 1) as i64;
                c.execute("DELETE FROM t WHERE rowid = ?", [id]).unwrap();
            }
            for _ in 0..10 {
                insert_row(&c, &mut rng, &values, next_id);
                next_id += 1;
            }
            // Writes undone by ROLLBACK TO leave the cells as the rows are.
            c.execute_batch("BEGIN; SAVEPOINT s;").unwrap();
            c.execute(
                "UPDATE t SET i = 12345, t = 'rolled back' WHERE rowid % 3 = 0",
                [],
            )
            .unwrap();
            let _ = rowids(
                &c,
                "SELECT rowid FROM t WHERE knn_match(v, '[1, 1]') AND k = 5000 AND i = 12345",
                &[],
            );
            c.execute_batch("ROLLBACK TO s; RELEASE s; COMMIT;")
                .unwrap();
        }
        let (in_index, sql) = info_filters(&c);
        assert!(
            in_index >= 1500,
            "seed {seed}: only {in_index} filters evaluated in the index"
        );
        assert_eq!(sql, 0, "seed {seed}: {sql} filters went through SQL");
    }
    eprintln!("filter_differential: {cases} cases (each as KNN with k and as a stream)");
    assert!(cases >= 3000);
}
