//! The bad-input catalogue: every malformed input we know of, with the error it
//! gets. Each must fail with exactly that message, write nothing, and leave the
//! connection usable; and the README's reference section lists each one.

mod common;

const CATALOGUE: &[(&str, &str)] = &[
    // vectors
    ("INSERT INTO t(v) VALUES ('[1, 2,, 3]')", "veclite: t.v: invalid vector JSON at byte 6: expected a number but found ','"),
    ("INSERT INTO t(v) VALUES ('[1 2 3]')", "veclite: t.v: invalid vector JSON at byte 3: expected ',' or ']' but found '2'"),
    ("INSERT INTO t(v) VALUES ('1, 2, 3')", "veclite: t.v: invalid vector JSON at byte 0: expected '[' but found '1'"),
    ("INSERT INTO t(v) VALUES ('[1, 2, 3')", "veclite: t.v: invalid vector JSON at byte 8: expected ',' or ']' but the text ended"),
    ("INSERT INTO t(v) VALUES ('[1, 2, 3] x')", "veclite: t.v: invalid vector JSON at byte 10: unexpected 'x' after the closing ']'"),
    ("INSERT INTO t(v) VALUES ('[1e39, 2, 3]')", "veclite: t.v: invalid vector JSON at byte 1: number 1e39 is out of float32 range"),
    ("INSERT INTO t(v) VALUES ('[NaN, 2, 3]')", "veclite: t.v: invalid vector JSON at byte 1: expected a number but found 'N'"),
    ("INSERT INTO t(v) VALUES ('[]')", "veclite: t.v: vector is empty: a vector needs at least one element"),
    ("INSERT INTO t(v) VALUES ('[1, 2]')", "veclite: t.v: vector has 2 dimensions, expected 3"),
    ("INSERT INTO t(v) VALUES (X'0000803F0000803F0000803F00')", "veclite: t.v: vector BLOB length 13 is not a multiple of 4 (float32 elements)"),
    ("INSERT INTO t(v) VALUES (X'0000C07F0000803F0000803F')", "veclite: t.v: vector element 0 is NaN: only finite numbers are allowed"),
    ("INSERT INTO t(v) VALUES (X'0000803F0000807F0000803F')", "veclite: t.v: vector element 1 is infinite: only finite numbers are allowed"),
    ("INSERT INTO t(v) VALUES (X'000000000000F03F000000000000F03F000000000000F03F')", "veclite: t.v: vector has 6 dimensions, expected 3 (a float64 array? send float32)"),
    ("INSERT INTO t(v) VALUES ('{\"0\": 1, \"1\": 2, \"2\": 3}')", "veclite: t.v: invalid vector JSON at byte 0: expected '[' but found '{' (an object: for a Float32Array use Buffer.from(arr.buffer) or Array.from(arr))"),
    ("INSERT INTO t(v) VALUES (NULL)", "veclite: t.v cannot be NULL: every row needs a vector"),
    ("INSERT INTO t(v) VALUES (7)", "veclite: t.v: expected a vector (JSON text or float32 BLOB), got an integer"),
    ("INSERT INTO t(v) VALUES (7.5)", "veclite: t.v: expected a vector (JSON text or float32 BLOB), got a real"),
    ("INSERT INTO c(v) VALUES ('[0, 0]')", "veclite: c.v: a zero vector has no direction, so it cannot be stored under distance = cosine"),
    // writes
    ("INSERT INTO t(rowid, v) VALUES (1, '[1, 2, 3]')", "UNIQUE constraint failed: t.rowid"),
    ("INSERT INTO t(rowid, v) VALUES ('one', '[1, 2, 3]')", "datatype mismatch"),
    ("INSERT INTO t(v, distance) VALUES ('[1, 2, 3]', 1)", "veclite: column distance of t is a query parameter and cannot be written"),
    ("INSERT INTO t(v, k) VALUES ('[1, 2, 3]', 1)", "veclite: column k of t is a query parameter and cannot be written"),
    ("UPDATE t SET v = '[1]' WHERE rowid = 1", "veclite: t.v: vector has 1 dimensions, expected 3"),
    ("UPDATE t SET rowid = NULL WHERE rowid = 1", "datatype mismatch"),
    ("INSERT INTO t(rowid, v, query) VALUES (7, '[1, 2, 3]', 'veclite:rebuild')", "veclite: a command INSERT into t(query) ('veclite:rebuild') takes no other values: write INSERT INTO t(query) VALUES ('veclite:rebuild')"),
    ("INSERT INTO t(rowid, v) VALUES (9, '[1, 2, 3]') ON CONFLICT DO NOTHING", "UPSERT not implemented for virtual table \"t\""),
    // queries
    ("SELECT rowid FROM t WHERE knn_match(v, '[1, 2, 3]') AND k = 0", "veclite: k must be an integer from 1 to 10000"),
    ("SELECT rowid FROM t WHERE knn_match(v, '[1, 2, 3]') AND k = 10001", "veclite: k must be an integer from 1 to 10000"),
    ("SELECT rowid FROM t WHERE knn_match(v, '[1, 2, 3]') AND k = 'ten'", "veclite: k must be an integer from 1 to 10000"),
    ("SELECT rowid FROM t WHERE knn_match(v, '[1, 2, 3]') AND k = 1 AND ef = 0", "veclite: ef must be an integer from 1 to 10000"),
    ("SELECT rowid FROM t WHERE knn_match(v, '[1, 2]') AND k = 1", "veclite: KNN query on t: vector has 2 dimensions, expected 3"),
    ("SELECT rowid FROM t WHERE knn_match(v, X'000000000000F03F000000000000F03F000000000000F03F') AND k = 1", "veclite: KNN query on t: vector has 6 dimensions, expected 3 (a float64 array? send float32)"),
    ("SELECT rowid FROM t WHERE knn_match(v, NULL) AND k = 1", "veclite: KNN query on t: the query vector is NULL"),
    ("SELECT rowid FROM t WHERE knn_match(v, 'x') AND k = 1", "veclite: KNN query on t: invalid vector JSON at byte 0: expected '[' but found 'x'"),
    ("SELECT rowid FROM c WHERE knn_match(v, '[0, 0]') AND k = 1", "veclite: KNN query on c: a zero query vector has no direction under distance = cosine"),
    ("SELECT rowid FROM t WHERE knn_match(tag, '[1, 2, 3]') AND k = 1", "knn_match() can only be used in the WHERE clause of a query on a veclite table, as knn_match(<vector column>, <query vector>) AND k = N"),
    // functions
    ("SELECT l2_distance('[1, 2]', '[1, 2, 3]')", "l2_distance: vectors have different dimensions (2 and 3)"),
    ("SELECT cosine_distance('[0, 0]', '[1, 1]')", "cosine_distance: undefined for a zero vector"),
    ("SELECT vector_dims(X'00')", "vector_dims: vector BLOB length 1 is not a multiple of 4 (float32 elements)"),
    ("SELECT veclite_info('nosuch')", "veclite_info: no such table: nosuch"),
    ("SELECT veclite_check('plain')", "veclite_check: plain is not a veclite table"),
    // CREATE arguments
    ("CREATE VIRTUAL TABLE x USING veclite()", "veclite: no vector column: declare one as name float[DIMS], e.g. embedding float[384]"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], b float[3])", "veclite: only one vector column is allowed, found 'a' and 'b'"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[0])", "veclite: column 'a': vector dimensions must be an integer from 1 to 8192, got '0'"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[8193])", "veclite: column 'a': vector dimensions must be an integer from 1 to 8192, got '8193'"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float)", "veclite: no vector column: declare one as name float[DIMS], e.g. embedding float[384] (float without [DIMS] is a real metadata column, as in vec0)"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], b text, B integer)", "veclite: duplicate column name 'B'"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], distance text)", "veclite: column name 'distance' is reserved (distance, k, ef, query, rowid, oid and _rowid_ cannot be column names)"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], b varchar)", "veclite: unknown type 'varchar' for column 'b': expected float[DIMS], text, integer, real or blob"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], b)", "veclite: column 'b' needs a type: float[DIMS], text, integer, real or blob"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], b text primary key)", "veclite: unexpected 'primary key' in the definition of column 'b' (only COLLATE name may follow the type)"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3] distance_metric=l1)", "veclite: unknown distance 'l1': expected l2, cosine or dot"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], +b text partition key)", "veclite: column 'b': a partition key must be a text, integer or real column, not an auxiliary (+) column"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], colour = red)", "veclite: unknown option 'colour': options are distance, m, ef_construction, ef_search, exact_threshold, quantize"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], quantize = int4)", "veclite: unknown quantize 'int4': expected none or int8"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], distance = manhattan)", "veclite: unknown distance 'manhattan': expected l2, cosine or dot"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], m = 1)", "veclite: option m must be an integer from 2 to 256, got '1'"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], ef_search = 0)", "veclite: option ef_search must be an integer from 1 to 10000, got '0'"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], m = 8, m = 9)", "veclite: option 'm' given twice"),
    ("CREATE VIRTUAL TABLE x USING veclite(a float[3], b text collate nosuch)", "veclite: cannot create table x: no such collation sequence: nosuch"),
];

#[test]
fn every_bad_input_gets_its_error_and_writes_nothing() {
    let c = common::conn();
    c.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[3], tag text);
         CREATE VIRTUAL TABLE c USING veclite(v float[2], distance = cosine);
         CREATE TABLE plain(x);
         INSERT INTO t(rowid, v, tag) VALUES (1, '[1, 2, 3]', 'a');",
    )
    .unwrap();
    let snapshot = |c: &rusqlite::Connection| -> (i64, i64, String) {
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        let m: i64 = c
            .query_row("SELECT count(*) FROM c", [], |r| r.get(0))
            .unwrap();
        let s: String = c
            .query_row(
                "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema ORDER BY name)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (n, m, s)
    };
    let before = snapshot(&c);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (sql, want) in CATALOGUE {
        let err = match c
            .prepare(sql)
            .and_then(|mut s| s.query([]).and_then(|mut r| r.next().map(|_| ())))
        {
            Ok(()) => panic!("no error for {sql}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{sql}\n  got:  {err}\n  want: {want}");
        assert_eq!(snapshot(&c), before, "{sql} wrote something");
        assert!(readme.contains(want), "README's catalogue lacks: {want}");
    }
    // still usable
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM t WHERE knn_match(v, '[1, 2, 3]') AND k = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}
