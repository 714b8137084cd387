#!/usr/bin/env python3
"""The loadable library inside a current SQLite (apsw bundles 3.5x): load, tables,
the three KNN spellings (LIMIT reaches the vtab on 3.41+), filters, errors."""
import os, sys
import apsw

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "target", "release", "libveclite")
passed = failed = 0


def case(fn):
    global passed, failed
    try:
        fn()
        passed += 1
    except Exception as e:  # report and go on
        failed += 1
        print("FAIL %s: %r" % (fn.__name__, e))
    return fn


def conn():
    c = apsw.Connection(":memory:")
    c.enable_load_extension(True)
    c.load_extension(LIB)
    return c


def rows(c, sql, *a):
    return [tuple(r) for r in c.execute(sql, a)]


@case
def loads_in_current_sqlite():
    c = conn()
    assert apsw.sqlite_lib_version() >= "3.41", apsw.sqlite_lib_version()
    assert rows(c, "SELECT l2_distance('[0,0]', '[3,4]')") == [(5.0,)]


@case
def three_spellings_agree():
    c = conn()
    c.execute("CREATE VIRTUAL TABLE d USING veclite(v float[2], tag text)")
    c.execute("INSERT INTO d(rowid, v, tag) VALUES (1,'[0,0]','a'),(2,'[1,0]','b'),(3,'[0,3]','a'),(4,'[5,5]','b')")
    a = rows(c, "SELECT rowid FROM d WHERE knn_match(v, '[0.1,0]') AND k = 3")
    b = rows(c, "SELECT rowid FROM d WHERE knn_match(v, '[0.1,0]') ORDER BY distance LIMIT 3")
    t = rows(c, "SELECT rowid FROM d('[0.1,0]', 3)")
    m = rows(c, "SELECT rowid FROM d WHERE v MATCH '[0.1,0]' AND k = 3")
    assert a == b == t == m == [(1,), (2,), (3,)], (a, b, t, m)
    assert rows(c, "SELECT rowid FROM d WHERE knn_match(v, '[0.1,0]') AND k = 2 AND tag = 'b'") == [(2,), (4,)]


@case
def in_list_is_one_list():
    c = conn()
    c.execute("CREATE VIRTUAL TABLE d USING veclite(v float[1], n integer)")
    c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 100) INSERT INTO d(rowid, v, n) SELECT i, json_array(i), i % 10 FROM s")
    r = rows(c, "SELECT rowid FROM d WHERE knn_match(v, '[50]') AND k = 4 AND n IN (3, 7)")
    assert r == [(47,), (53,), (43,), (57,)], r
    plan = rows(c, "EXPLAIN QUERY PLAN SELECT rowid FROM d WHERE knn_match(v, '[50]') AND k = 4 AND n IN (3, 7)")
    assert "in(n)" in plan[0][3], plan


@case
def any_where_clause_keeps_k():
    # Without k the rows stream in distance order; SQLite applies the terms the
    # table does not take (OR, a function of a column, LIKE) and LIMIT stops it.
    c = conn()
    c.execute("CREATE VIRTUAL TABLE d USING veclite(v float[2], n integer, tag text, exact_threshold = 0)")
    c.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 3000) "
              "INSERT INTO d(rowid, v, n, tag) SELECT i, json_array(i % 60, i / 60), i % 17, 't' || (i % 5) FROM s")
    c.execute("CREATE TABLE r AS SELECT rowid AS id, v, n, tag FROM d_rows")
    for where in ["(n = 3 OR tag = 't4')", "n % 4 = 1", "tag LIKE '%2'"]:
        got = rows(c, f"SELECT rowid FROM d WHERE knn_match(v, '[20, 20]') AND {where} ORDER BY distance LIMIT 10")
        want = rows(c, f"SELECT id FROM r WHERE {where} ORDER BY l2_distance(v, vector('[20,20]')), id LIMIT 10")
        assert len(got) == 10, (where, got)
        assert got == want, (where, got, want)


@case
def errors_are_sqlite_errors():
    c = conn()
    c.execute("CREATE VIRTUAL TABLE d USING veclite(v float[2])")
    for sql, msg in [
        ("INSERT INTO d(v) VALUES ('[1,2,3]')", "expected 2"),
        ("SELECT * FROM d WHERE knn_match(v, '[1,2]') AND k = 0", "k must be"),
        ("CREATE VIRTUAL TABLE e USING veclite(v float[2], k int)", "reserved"),
    ]:
        try:
            c.execute(sql).fetchall()
        except apsw.Error as e:
            assert msg in str(e), (sql, str(e))
        else:
            raise AssertionError("no error for " + sql)


@case
def transactions_roll_back():
    c = conn()
    c.execute("CREATE VIRTUAL TABLE d USING veclite(v float[1])")
    c.execute("INSERT INTO d(rowid, v) VALUES (1, '[1]')")
    c.execute("BEGIN; INSERT INTO d(rowid, v) VALUES (2, '[2]'); SAVEPOINT a; DELETE FROM d; ROLLBACK TO a; RELEASE a;")
    c.execute("INSERT INTO d(rowid, v) VALUES (3, '[3]'); ROLLBACK;")
    assert rows(c, "SELECT rowid FROM d WHERE knn_match(v, '[0]') AND k = 5") == [(1,)]


@case
def integrity_check_covers_the_graph():
    c = conn()
    c.execute("CREATE VIRTUAL TABLE g USING veclite(v float[1], exact_threshold = 0)")
    c.execute("INSERT INTO g(rowid, v) VALUES (1, '[1]'), (2, '[2]'), (3, '[3]')")
    assert rows(c, "PRAGMA integrity_check") == [("ok",)]
    c.execute("UPDATE g_graph SET node = X'0100' WHERE rowid = 2")
    r = rows(c, "PRAGMA integrity_check")
    assert "node record ends inside level 0" in r[0][0], r
    assert rows(c, "SELECT veclite_rebuild('g')") == [(3,)]
    assert rows(c, "PRAGMA integrity_check") == [("ok",)]


print("apsw (SQLite %s): %d passed, %d failed" % (apsw.sqlite_lib_version(), passed, failed))
sys.exit(1 if failed else 0)
