"""Datasette with veclite (run by scripts/package_check.sh).

    python datasette_check.py build DB          # a veclite table of 300 rows, with the wheel
    python datasette_check.py query URL DBNAME  # KNN through Datasette's JSON API, checked

The vectors come from a seeded generator, so `query` knows the exact answers without
opening the database itself. The table has exact_threshold = 0: queries without
filters walk the HNSW graph, which Datasette's (immutable, read-only) connection must
load from the file without writing.
"""

import json
import math
import random
import sqlite3
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request

DIMS, ROWS = 8, 300
CATEGORIES = ("a", "b", "c")


def dataset():
    rng = random.Random(2024)
    vecs = {}
    for i in range(1, ROWS + 1):
        # round through float32, as stored
        v = [rng.uniform(-1, 1) for _ in range(DIMS)]
        vecs[i] = list(struct.unpack(f"<{DIMS}f", struct.pack(f"<{DIMS}f", *v)))
    return vecs


def category(i):
    return CATEGORIES[i % 3]


def build(path):
    import sqlite_veclite

    conn = sqlite3.connect(path)
    sqlite_veclite.load(conn)
    conn.execute(
        f"CREATE VIRTUAL TABLE docs USING veclite(embedding float[{DIMS}], category text, "
        "n integer, exact_threshold = 0)"
    )
    with conn:
        conn.executemany(
            "INSERT INTO docs(rowid, embedding, category, n) VALUES (?, ?, ?, ?)",
            [(i, sqlite_veclite.serialize_float32(v), category(i), i) for i, v in dataset().items()],
        )
    (check,) = conn.execute("SELECT veclite_check('docs')").fetchone()
    assert check == "ok", check
    conn.close()
    print(f"ok: built {path}: {ROWS} rows of {DIMS} dimensions, veclite_check ok")


def get(base, sql):
    url = base + "?" + urllib.parse.urlencode({"sql": sql, "_shape": "array"})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def query(server, dbname):
    base = f"{server}/{dbname}.json"
    vecs = dataset()

    def exact(q, k, keep=lambda i: True):
        d = sorted((math.dist(q, v), i) for i, v in vecs.items() if keep(i))
        return d[:k]

    status, body = get(base, "SELECT veclite_version() AS v, sqlite_version() AS s")
    assert status == 200, (status, body)
    print(f"ok: datasette: veclite {body[0]['v']} on SQLite {body[0]['s']}")

    hits = 0
    for qi in (1, 42, 299):
        q = json.dumps(vecs[qi])
        status, body = get(
            base, f"SELECT rowid, distance FROM docs WHERE knn_match(embedding, '{q}') AND k = 10"
        )
        assert status == 200, (status, body)
        assert len(body) == 10, body
        assert body[0]["rowid"] == qi and abs(body[0]["distance"]) < 1e-6, body[0]
        want = exact(vecs[qi], 10)
        hits += len({r["rowid"] for r in body} & {i for _, i in want})
        for r in body:
            assert abs(r["distance"] - math.dist(vecs[qi], vecs[r["rowid"]])) < 1e-4, r
    assert hits >= 27, f"recall {hits}/30"
    print(f"ok: datasette: KNN over the HNSW graph (k = 10, 3 queries), recall {hits}/30, distances match")

    status, body = get(
        base,
        "SELECT rowid, category, distance FROM docs WHERE knn_match(embedding, "
        "(SELECT embedding FROM docs WHERE rowid = 7)) AND k = 5 AND category = 'b' AND n <= 100",
    )
    assert status == 200, (status, body)
    want = [i for _, i in exact(vecs[7], 5, lambda i: category(i) == "b" and i <= 100)]
    assert [r["rowid"] for r in body] == want, (body, want)
    assert all(r["category"] == "b" for r in body)
    print(f"ok: datasette: filtered KNN (category = 'b' AND n <= 100) equals brute force: {want}")

    status, body = get(base, "SELECT rowid FROM docs WHERE knn_match(embedding, '[1, 2]') AND k = 1")
    assert status == 400 and "vector has 2 dimensions, expected 8" in json.dumps(body), (status, body)
    print("ok: datasette: a bad query vector gives HTTP 400 with veclite's error")


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"] and len(sys.argv) == 3:
        build(sys.argv[2])
    elif sys.argv[1:2] == ["query"] and len(sys.argv) == 4:
        query(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
