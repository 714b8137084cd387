"""Smoke test of an installed sqlite-veclite wheel (run by scripts/package_check.sh).

    python smoke_test.py stdlib    # the stdlib sqlite3 module (needs extension loading)
    python smoke_test.py apsw      # apsw (its own, newer SQLite)
    python smoke_test.py both      # both in one process: two SQLite libraries load veclite.so

Prints one "ok: ..." line per check and exits non-zero on the first failure.
"""

import array
import math
import os
import random
import sys

import sqlite_veclite
from sqlite_veclite import load, loadable_path, serialize_float32

MODE = sys.argv[1] if len(sys.argv) > 1 else "stdlib"
HOST = MODE


def ok(what):
    print(f"ok: {HOST}: {what}", flush=True)


def connect():
    if HOST == "stdlib":
        import sqlite3

        return sqlite3.connect(":memory:"), sqlite3.sqlite_version
    if HOST == "apsw":
        import apsw

        return apsw.Connection(":memory:"), apsw.sqlite_lib_version()
    raise SystemExit(f"unknown host {HOST!r}: stdlib, apsw or both")


def rows(conn, sql, params=()):
    return [tuple(r) for r in conn.execute(sql, params)]


def check_helpers():
    path = loadable_path()
    assert os.path.isfile(path) and os.path.basename(path) == "veclite.so", path
    assert os.path.dirname(path) == os.path.dirname(os.path.abspath(sqlite_veclite.__file__)), path
    ok(f"loadable_path() = {path}")

    want = bytes.fromhex("0000803f000000c00000403f")  # 1.0, -2.0, 0.75 little-endian float32
    assert serialize_float32([1, -2, 0.75]) == want
    assert serialize_float32((1.0, -2.0, 0.75)) == want
    assert serialize_float32(array.array("f", [1, -2, 0.75])) == want
    assert serialize_float32(array.array("d", [1, -2, 0.75])) == want
    assert serialize_float32(x for x in [1, -2, 0.75]) == want
    assert serialize_float32([]) == b""
    for bad in (b"\x00\x00\x80\x3f", "[1, 2]"):
        try:
            serialize_float32(bad)
        except TypeError:
            pass
        else:
            raise AssertionError(f"serialize_float32({bad!r}) did not raise TypeError")
    try:
        serialize_float32([1e39])
    except OverflowError:
        pass
    else:
        raise AssertionError("serialize_float32([1e39]) did not raise OverflowError")
    ok("serialize_float32: list, tuple, array('f'), array('d'), generator, errors")
    try:
        import numpy as np
    except ImportError:
        raise SystemExit("FAILED: numpy is not installed (the check installs it to test that path)")
    assert serialize_float32(np.array([1, -2, 0.75], dtype=np.float64)) == want
    assert serialize_float32(np.array([1, -2, 0.75], dtype=">f4")) == want
    assert serialize_float32(np.array([1, -2, 0.75, 9], dtype="<f4")[:3]) == want
    try:
        serialize_float32(np.zeros((2, 3)))
    except ValueError:
        pass
    else:
        raise AssertionError("a 2-D numpy array did not raise ValueError")
    ok("serialize_float32: numpy float64, big-endian float32, a slice, 2-D rejected")

    class NoExtensions:  # like sqlite3.Connection of a Python built without extension loading
        def execute(self, *a):
            pass

    try:
        load(NoExtensions())
    except RuntimeError as e:
        assert "apsw" in str(e) and "enable_load_extension" in str(e), e
    else:
        raise AssertionError("load() of a connection without enable_load_extension did not raise")
    ok("load() of a connection that cannot load extensions says why and names apsw")


def check_host():
    conn, sqlite_version = connect()
    load(conn)
    (version,) = rows(conn, "SELECT veclite_version()")[0]
    assert version == sqlite_veclite.__version__, (version, sqlite_veclite.__version__)
    ok(f"load(conn) on SQLite {sqlite_version}: veclite_version() = {version} = __version__")
    try:
        rows(conn, "SELECT load_extension('/nonexistent/x')")
    except Exception as e:
        assert "not authorized" in str(e), e
    else:
        raise AssertionError("load_extension() SQL function still enabled after load()")
    ok("extension loading is off again after load()")

    rng = random.Random(14)
    dims, n = 16, 400
    vectors = {i: [rng.uniform(-1, 1) for _ in range(dims)] for i in range(1, n + 1)}
    tags = {i: ("even" if i % 2 == 0 else "odd") for i in vectors}
    conn.execute(
        f"CREATE VIRTUAL TABLE docs USING veclite(embedding float[{dims}], tag text, "
        "distance = l2, exact_threshold = 0)"
    )
    conn.execute("BEGIN")
    for i, v in vectors.items():
        # alternate the accepted spellings: BLOB from the helper, JSON text
        value = serialize_float32(v) if i % 3 else "[" + ", ".join(repr(x) for x in v) + "]"
        conn.execute("INSERT INTO docs(rowid, embedding, tag) VALUES (?, ?, ?)", (i, value, tags[i]))
    conn.execute("COMMIT")
    assert rows(conn, "SELECT count(*) FROM docs") == [(n,)]
    blob = rows(conn, "SELECT embedding FROM docs WHERE rowid = 7")[0][0]
    assert bytes(blob) == serialize_float32(vectors[7])
    ok(f"{n} rows inserted (BLOB and JSON), vector reads back as the float32 BLOB")

    def exact(q, k, keep=lambda i: True):
        q32 = array.array("f", q)
        d = []
        for i, v in vectors.items():
            if keep(i):
                v32 = array.array("f", v)
                d.append((math.sqrt(sum((a - b) ** 2 for a, b in zip(q32, v32))), i))
        return [i for _, i in sorted(d)[:k]]

    total_hits = 0
    for qi in (3, 150, 399):
        q = vectors[qi]
        got = rows(
            conn,
            "SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?) AND k = 10",
            (serialize_float32(q),),
        )
        assert got[0][0] == qi and abs(got[0][1]) < 1e-6, got[0]
        assert [d for _, d in got] == sorted(d for _, d in got)
        total_hits += len(set(r for r, _ in got) & set(exact(q, 10)))
    assert total_hits >= 27, f"graph search recall {total_hits}/30"
    ok(f"KNN through the HNSW graph: nearest is the query's own row, recall {total_hits}/30")

    q = vectors[10]
    got = [r for (r,) in rows(
        conn,
        "SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 5 AND tag = 'odd' AND rowid < 100",
        (serialize_float32(q),),
    )]
    want_rows = exact(q, 5, lambda i: tags[i] == "odd" and i < 100)
    assert got == want_rows, (got, want_rows)
    ok(f"filtered KNN (tag = 'odd' AND rowid < 100) equals brute force: {got}")

    try:
        rows(conn, "SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 1", (serialize_float32([1, 2]),))
    except Exception as e:
        assert "vector has 2 dimensions, expected 16" in str(e), e
    else:
        raise AssertionError("a 2-d query on a 16-d table did not fail")
    ok("a wrong-sized query vector gives veclite's error")

    def knn_again():
        got = [r for (r,) in rows(
            conn,
            "SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 3",
            (serialize_float32(vectors[200]),),
        )]
        assert got[0] == 200 and len(got) == 3, got
        conn.execute("INSERT INTO docs(rowid, embedding, tag) VALUES (NULL, ?, 'new')", (serialize_float32(vectors[1]),))

    return conn, knn_again


if MODE in ("stdlib", "apsw"):
    if MODE == "stdlib":
        check_helpers()
    check_host()
elif MODE == "both":
    # stdlib sqlite3 and apsw are two SQLite libraries in one process, each handing
    # veclite.so its own API table: connections of both stay open and are used in turn
    HOST = "stdlib"
    first, first_knn = check_host()
    HOST = "apsw"
    second, second_knn = check_host()
    HOST = "both"
    for _ in range(3):
        first_knn()
        second_knn()
    first.close()
    second_knn()
    second.close()
    ok("stdlib sqlite3 and apsw connections in one process, used in turn, closed")
else:
    raise SystemExit(f"unknown mode {MODE!r}: stdlib, apsw or both")
