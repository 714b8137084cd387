#!/usr/bin/env python3
"""Side-by-side SQL-level figures, veclite vs sqlite-vec, in one process and one run
(apsw, SQLite 3.5x, both loaded into the same connection):

1. scalar distance calls per second: SELECT sum(l2_distance(v, :q)) over 100k 384-d
   BLOBs vs sqlite-vec's vec_distance_l2;
2. exact KNN (k=10) over the first 10k wordnet-minilm rows: veclite's exact path vs
   sqlite-vec's vec0, p50 latency and vectors scanned per second, unfiltered and with a
   pos = 3 (3%) filter.

Usage: python3 benches/compare_sql.py   (after cargo build --release)"""
import os, statistics, sys, time
import numpy as np
import apsw, sqlite_vec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# $VECLITE_DATA, else ../shared beside the checkout, else the in-repo 10k slice (enough here)
DATA = os.environ.get("VECLITE_DATA") or os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm")
if not os.environ.get("VECLITE_DATA") and not os.path.exists(os.path.join(DATA, "base.f16")):
    DATA = os.path.join(ROOT, "data", "wordnet-minilm-10k")
LIB = os.path.join(ROOT, "target", "release", "libveclite")
D = 384


def conn():
    c = apsw.Connection(":memory:")
    c.enable_load_extension(True)
    c.load_extension(LIB)
    c.load_extension(sqlite_vec.loadable_path())
    return c


def timed(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    c = conn()
    print("SQLite %s, sqlite-vec %s, veclite %s (%s)" % (
        apsw.sqlite_lib_version(), c.execute("select vec_version()").fetchone()[0],
        c.execute("select veclite_version()").fetchone()[0],
        "simd: " + os.environ.get("VECLITE_SIMD", "auto")))
    rng = np.random.default_rng(1)
    n = 100_000
    c.execute("CREATE TABLE t(v BLOB)")
    vecs = rng.standard_normal((n, D)).astype("<f4")
    with c:
        c.executemany("INSERT INTO t(v) VALUES (?)", ((vecs[i].tobytes(),) for i in range(n)))
    q = rng.standard_normal(D).astype("<f4").tobytes()
    fns = {
        "veclite l2_distance": "SELECT sum(l2_distance(v, ?)) FROM t",
        "sqlite-vec vec_distance_l2": "SELECT sum(vec_distance_l2(v, ?)) FROM t",
    }
    res = {}
    for name, sql in fns.items():
        c.execute(sql, (q,)).fetchall()
        res[name] = timed(lambda: c.execute(sql, (q,)).fetchall(), 7)
    a, b = res["veclite l2_distance"], res["sqlite-vec vec_distance_l2"]
    print("\n## distance function over 100k x 384-d BLOBs (median of 7)")
    print("| function | ms | calls/s |\n| --- | --- | --- |")
    for name, t in res.items():
        print("| %s | %.1f | %.2fM |" % (name, t * 1e3, n / t / 1e6))
    print("veclite / sqlite-vec speed: %.2fx" % (b / a))

    # exact KNN on real data
    nb = 10_000
    base = np.fromfile(os.path.join(DATA, "base.f16"), dtype="<f2", count=nb * D).astype("<f4").reshape(-1, D)
    pos = np.fromfile(os.path.join(DATA, "pos.u8"), dtype="u1", count=nb)
    queries = np.fromfile(os.path.join(DATA, "queries.f32"), dtype="<f4").reshape(-1, D)[:200]
    # vl: exact_threshold above N forces the exact scan of the rows table (the
    # path that competes with vec0); vg: defaults (HNSW graph, in-memory filters).
    c.execute("CREATE VIRTUAL TABLE vl USING veclite(embedding float[384], pos integer, distance = cosine, exact_threshold = 1000000000)")
    c.execute("CREATE VIRTUAL TABLE vg USING veclite(embedding float[384], pos integer, distance = cosine)")
    c.execute("CREATE VIRTUAL TABLE vv USING vec0(embedding float[384] distance_metric=cosine, pos integer)")
    with c:
        c.executemany("INSERT INTO vl(rowid, embedding, pos) VALUES (?, ?, ?)",
                      ((i, base[i].tobytes(), int(pos[i])) for i in range(nb)))
        c.executemany("INSERT INTO vv(rowid, embedding, pos) VALUES (?, ?, ?)",
                      ((i, base[i].tobytes(), int(pos[i])) for i in range(nb)))
        c.executemany("INSERT INTO vg(rowid, embedding, pos) VALUES (?, ?, ?)",
                      ((i, base[i].tobytes(), int(pos[i])) for i in range(nb)))
    cases = [
        ("veclite exact", "SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = 10", None),
        ("sqlite-vec vec0", "SELECT rowid FROM vv WHERE embedding MATCH ? AND k = 10", None),
        ("veclite exact, pos = 3", "SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = 10 AND pos = 3", 3),
        ("sqlite-vec vec0, pos = 3", "SELECT rowid FROM vv WHERE embedding MATCH ? AND k = 10 AND pos = 3", 3),
        ("veclite default (HNSW, ef=64)", "SELECT rowid FROM vg WHERE knn_match(embedding, ?) AND k = 10", None),
        ("veclite default, pos = 3 (planner)", "SELECT rowid FROM vg WHERE knn_match(embedding, ?) AND k = 10 AND pos = 3", 3),
    ]
    print("\n## KNN, k=10, wordnet-minilm first 10k rows, 200 queries (p50); 'veclite exact' forces the exact scan")
    print("| engine | p50 ms | rows scanned/s | recall vs numpy |\n| --- | --- | --- | --- |")
    p50 = {}
    for name, sql, pf in cases:
        lat, hit = [], 0
        mask = np.ones(nb, bool) if pf is None else (pos == pf)
        nscan = int(mask.sum())
        for qv in queries:
            qb = qv.tobytes()
            t = time.perf_counter()
            got = [r[0] for r in c.execute(sql, (qb,))]
            lat.append(time.perf_counter() - t)
            sims = base[mask] @ qv / (np.linalg.norm(base[mask], axis=1) * np.linalg.norm(qv))
            ids = np.nonzero(mask)[0][np.argsort(-sims, kind="stable")[:10]]
            hit += len(set(got) & set(ids.tolist()))
        m = statistics.median(lat)
        p50[name] = m
        print("| %s | %.3f | %.2fM | %.3f |" % (name, m * 1e3, nscan / m / 1e6, hit / (10 * len(queries))))
    print("veclite / vec0 speed, unfiltered: %.2fx; pos = 3: %.2fx" % (
        p50["sqlite-vec vec0"] / p50["veclite exact"], p50["sqlite-vec vec0, pos = 3"] / p50["veclite exact, pos = 3"]))


if __name__ == "__main__":
    sys.exit(main())
