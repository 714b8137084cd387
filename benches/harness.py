#!/usr/bin/env python3
"""Side-by-side ANN benchmark: veclite vs raw hnswlib, vectorlite and sqlite-vec.

Data: wordnet-minilm (real all-MiniLM-L6-v2 embeddings, 384-d, cosine, with real
metadata pos.u8 / lexname.u8) from $VECLITE_DATA, else ../shared/data/wordnet-minilm
beside the checkout (the full 100k set), else the in-repo 10k slice
data/wordnet-minilm-10k (sections with N above its rows are skipped, with a message).
Ground truth: gt10k.i32 / gt100k.i32 (brute force computed here for any other N).

Commands (from the repository root, after `cargo build --release`;
`pip install apsw sqlite-vec vectorlite-py hnswlib numpy matplotlib`):

    python3 benches/harness.py                 # what issues 4 and 5 ask: ANN at 10k and
                                               # 100k, then filtered at 10k and 100k, all
                                               # from one veclite build (~14 min)
    python3 benches/harness.py --n 10000       # ANN section at 10k     (~1 min)
    python3 benches/harness.py --n 100000      # ANN section at 100k    (~9 min)
    python3 benches/harness.py --filtered      # filtered section at 100k (~4 min when it
                                               # reuses the DBs an ANN run left in --workdir:
                                               # same N and the same veclite .so sha256;
                                               # else it builds them first)
    python3 benches/harness.py --quick         # smoke run: N=5000, few queries, both
                                               # sections, outputs under --workdir only
    options: --engines veclite hnswlib ..., --ef 16 64, --nq 100, --all (both sections
    at each --n), --workdir DIR (default /tmp/veclite-bench), --out DIR
(times measured on the shared 2-core dev machine)

Outputs (benches/results/): ann-N.md (markdown table), ann-N.json (raw: every latency,
environment), recall-qps-N.png (recall@10 vs QPS, log scale), filtered-N.md/.json.

ANN section, per engine, each in its own subprocess (so peak RSS is per engine):
M=16, ef_construction=200, one thread. Build = every row inserted in ONE transaction
through SQL (hnswlib: add_items with num_threads=1), timed including COMMIT. Then
for ef in 10,16,32,64,128,256: recall@10 vs the ground truth, p50/p99 latency per query
(one query at a time, timed around the whole SQL call including fetching the rows),
QPS = 1 / mean latency. sqlite-vec is exact: one row. "veclite rebuild" is a second
veclite line: a copy of the veclite DB file opened in a fresh process, then
`SELECT veclite_rebuild('vl')` (parallel graph build from the stored rows, both cores)
is timed, and the sweep repeated on the rebuilt graph. RSS = peak RSS of the child
after the data is loaded (VmHWM reset through /proc/self/clear_refs) minus its RSS at
that point: what the engine adds for build + queries. File = the on-disk DB after
closing (vectorlite: DB + its index_file_path file, since its index lives outside the
DB; hnswlib: save_index). A further subprocess per engine reopens the saved file and
times open -> first answer, then re-runs 100 queries at ef=64 and counts result lists
that differ from the ones the building process returned (a persistence check).

Filtered section (issue 5 item 4), at N (default 100k), same query subset for all:
filters chosen from the data by selectivity ~50% (a `lex < T` range), ~10%, ~1%,
~0.1% (single lexname categories, the sizes closest on a log scale) and one row
(`rowid = X`, X drawn per query), plus the unfiltered query as reference. veclite:
k = 10, default ef (ef_search = 64); sqlite-vec: vec0 metadata columns (its KNN with
`rowid = X` returns no row, so `rowid IN (X, X)` is run too); vectorlite: only rowid
filters, run as `rowid IN (<literal list of matching rowids>)` and as
`rowid IN (SELECT rowid FROM meta WHERE ...)` over a side table, ef = 64 (sqlite-vec
runs the first 100 queries only at 100k: ~50-100 ms each); oracle: numpy
brute force over the matching rows (float64 for the ground truth; its float32 p50 is
reported as the "exact scan of just the matching rows" reference). Reported: recall@10
(/ min(10, matching)), p50/p99, queries that returned fewer than min(10, matching)
rows, and veclite's path choices (veclite_info searches graph/exact deltas).

The veclite library is copied into --workdir at start (as lib-<sha>/libveclite.so), so a
rebuild of target/ during the run cannot mix versions; its sha256 and version go into
every output. A lock file keeps two runs from sharing one --workdir (the second waits). Load average is
recorded around each child: timings on a shared 2-core machine are noisy.
"""
import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")      # numpy's exact-scan reference runs on one thread too
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_data():
    """$VECLITE_DATA, else ../shared/data/wordnet-minilm beside the checkout, else the
    in-repo 10k slice."""
    if os.environ.get("VECLITE_DATA"):
        return os.path.normpath(os.environ["VECLITE_DATA"])
    shared = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"))
    if os.path.exists(os.path.join(shared, "base.f16")):
        return shared
    return os.path.join(ROOT, "data", "wordnet-minilm-10k")


DATA = find_data()
LIB_SRC = os.path.join(ROOT, "target", "release", "libveclite.so")
RESULTS = os.path.join(ROOT, "benches", "results")
D = 384
K = 10
M = 16
EF_CONSTRUCTION = 200
EFS = [10, 16, 32, 64, 128, 256]
EF_DEFAULT = 64
# VECLITE_BENCH_QUANTIZE=int8 builds the veclite tables with quantize = int8 (their
# files get a -int8 suffix in --workdir). The ratios this harness prints come from
# engines timed one after the other; benches/int8.py measures them paired.
QUANTIZE = os.environ.get("VECLITE_BENCH_QUANTIZE", "none")
ANN_ENGINES = ["veclite", "veclite-rebuild", "hnswlib", "vectorlite", "sqlite-vec"]
FILTER_ENGINES = ["veclite", "sqlite-vec", "vectorlite"]
LABEL = {
    "veclite": "veclite (inserts, 1 txn)",
    "veclite-rebuild": "veclite (veclite_rebuild, 2 cores)",
    "hnswlib": "hnswlib (1 thread)",
    "vectorlite": "vectorlite",
    "sqlite-vec": "sqlite-vec (exact)",
}


# ---------------------------------------------------------------- data
def data_rows():
    return os.path.getsize(os.path.join(DATA, "base.f16")) // (D * 2)


def load_base(n):
    if n > data_rows():
        raise SystemExit("wordnet-minilm: %d rows asked, %s has %d" % (n, DATA, data_rows()))
    return np.fromfile(os.path.join(DATA, "base.f16"), dtype="<f2", count=n * D).astype("<f4").reshape(-1, D)


def load_queries(nq):
    return np.fromfile(os.path.join(DATA, "queries.f32"), dtype="<f4", count=nq * D).reshape(-1, D)


def load_meta(n):
    pos = np.fromfile(os.path.join(DATA, "pos.u8"), dtype="u1", count=n)
    lex = np.fromfile(os.path.join(DATA, "lexname.u8"), dtype="u1", count=n)
    return pos, lex


def ground_truth(n, queries, base=None):
    """Top-K ids per query over the first n base rows (cosine)."""
    files = {10_000: "gt10k.i32", 100_000: "gt100k.i32"}
    if n in files:
        gt = np.fromfile(os.path.join(DATA, files[n]), dtype="<i4").reshape(-1, 100)
        return gt[: len(queries), :K]
    if base is None:
        base = load_base(n)
    return exact_topk(base, np.arange(n), queries)


def exact_topk(vecs, ids, queries, k=K):
    """Cosine top-k among vecs (rows = ids), float64, ties by id."""
    b = vecs.astype(np.float64)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    q = queries.astype(np.float64)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    out = []
    for i in range(0, len(q), 64):
        s = q[i:i + 64] @ b.T                       # similarity, higher is nearer
        for row in s:
            kk = min(k, len(ids))
            part = np.argpartition(-row, kk - 1)[:kk] if kk < len(ids) else np.arange(len(ids))
            order = sorted(part.tolist(), key=lambda j: (-row[j], ids[j]))
            out.append([int(ids[j]) for j in order])
    return out


# ---------------------------------------------------------------- process helpers
def proc_status(key):
    with open("/proc/self/status") as f:
        m = re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M)
    return int(m.group(1)) * 1024 if m else None


def rss_reset():
    """Reset the peak-RSS watermark; returns current RSS (bytes)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    return {"rss0": proc_status("VmRSS"), "hwm_reset": reset}


def rss_peak(r0):
    hwm = proc_status("VmHWM")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = hwm if hwm is not None else maxrss
    return {"rss0": r0["rss0"], "peak": peak, "ru_maxrss": maxrss, "delta": peak - r0["rss0"],
            "hwm_reset": r0["hwm_reset"]}


def file_size(*paths):
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def rm(*paths):
    for p in paths:
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.remove(p + suffix)
            except FileNotFoundError:
                pass


# ---------------------------------------------------------------- engines (child side)
def sqlite_conn(path, engine, lib):
    import apsw
    c = apsw.Connection(path)
    c.enable_load_extension(True)
    if engine.startswith("veclite"):
        c.load_extension(lib)
    elif engine == "sqlite-vec":
        import sqlite_vec
        c.load_extension(sqlite_vec.loadable_path())
    elif engine == "vectorlite":
        import vectorlite_py
        c.load_extension(vectorlite_py.vectorlite_path())
    return c


def paths_for(task, engine=None):
    engine = engine or task["engine"]
    base = os.path.join(task["workdir"], "%s-%d" % (engine, task["n"]))
    if engine.startswith("veclite") and QUANTIZE != "none":
        base += "-" + QUANTIZE
    if engine == "hnswlib":
        return {"db": base + ".hnsw", "files": [base + ".hnsw"], "meta": base + ".meta.json"}
    if engine == "vectorlite":
        return {"db": base + ".db", "idx": base + ".vlidx", "files": [base + ".db", base + ".vlidx"],
                "meta": base + ".meta.json"}
    return {"db": base + ".db", "files": [base + ".db"], "meta": base + ".meta.json"}


def vectorlite_ddl(n, idx):
    return ("CREATE VIRTUAL TABLE IF NOT EXISTS x USING vectorlite(embedding float32[%d] cosine, "
            "hnsw(max_elements=%d, ef_construction=%d, M=%d), '%s')" % (D, n, EF_CONSTRUCTION, M, idx))


def build(task, base, pos, lex, r0_cb=None):
    """Build the engine's index from the first n rows. Returns (handle, stats)."""
    eng, n = task["engine"], task["n"]
    p = paths_for(task)
    st = {}
    if eng == "hnswlib":
        import hnswlib
        rm(p["db"])
        idx = hnswlib.Index(space="cosine", dim=D)
        idx.init_index(max_elements=n, ef_construction=EF_CONSTRUCTION, M=M, random_seed=100)
        idx.set_num_threads(1)
        r0 = r0_cb() if r0_cb else None
        t, c0 = time.perf_counter(), time.process_time()
        idx.add_items(base, np.arange(n), num_threads=1)
        st["build_s"] = time.perf_counter() - t
        st["build_cpu_s"] = time.process_time() - c0
        return idx, st, r0
    rm(p["db"])
    if eng == "vectorlite":
        rm(p["idx"])
    c = sqlite_conn(p["db"], eng, task["lib"])
    if eng == "veclite":
        c.execute("CREATE VIRTUAL TABLE vl USING veclite(embedding float[%d], pos integer, lex integer, "
                  "distance = cosine, m = %d, ef_construction = %d, ef_search = %d, quantize = %s)"
                  % (D, M, EF_CONSTRUCTION, EF_DEFAULT, QUANTIZE))
        sql = "INSERT INTO vl(rowid, embedding, pos, lex) VALUES (?, ?, ?, ?)"
        rows = ((i, base[i].tobytes(), int(pos[i]), int(lex[i])) for i in range(n))
    elif eng == "sqlite-vec":
        c.execute("CREATE VIRTUAL TABLE vv USING vec0(embedding float[%d] distance_metric=cosine, "
                  "pos integer, lex integer)" % D)
        sql = "INSERT INTO vv(rowid, embedding, pos, lex) VALUES (?, ?, ?, ?)"
        rows = ((i, base[i].tobytes(), int(pos[i]), int(lex[i])) for i in range(n))
    elif eng == "vectorlite":
        c.execute(vectorlite_ddl(n, p["idx"]))
        sql = "INSERT INTO x(rowid, embedding) VALUES (?, ?)"
        rows = ((i, base[i].tobytes()) for i in range(n))
    else:
        raise ValueError(eng)
    r0 = r0_cb() if r0_cb else None
    t, c0 = time.perf_counter(), time.process_time()
    c.execute("BEGIN")
    c.executemany(sql, rows)
    c.execute("COMMIT")
    st["build_s"] = time.perf_counter() - t
    st["build_cpu_s"] = time.process_time() - c0
    if eng == "vectorlite":
        # vectorlite keeps only vectors: its filters are rowid lists; a side table holds
        # the metadata for the `rowid IN (SELECT ...)` spelling (built untimed).
        c.execute("CREATE TABLE meta(rowid INTEGER PRIMARY KEY, pos INTEGER, lex INTEGER)")
        c.execute("BEGIN")
        c.executemany("INSERT INTO meta VALUES (?, ?, ?)", ((i, int(pos[i]), int(lex[i])) for i in range(n)))
        c.execute("CREATE INDEX meta_pos ON meta(pos)")
        c.execute("CREATE INDEX meta_lex ON meta(lex)")
        c.execute("COMMIT")
    return c, st, r0


def veclite_info(c, table="vl"):
    return json.loads(c.execute("SELECT veclite_info(?)", (table,)).fetchone()[0])


class Searcher:
    """One query at a time; returns list of ids. Timed by the caller."""

    def __init__(self, eng, handle):
        self.eng, self.h = eng, handle

    def sql(self, ef, where=""):
        if self.eng.startswith("veclite"):
            return ("SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = %d" % K
                    + (" AND ef = %d" % ef if ef is not None else "") + where)
        if self.eng == "sqlite-vec":
            return "SELECT rowid FROM vv WHERE embedding MATCH ? AND k = %d" % K + where
        if self.eng == "vectorlite":
            return "SELECT rowid FROM x WHERE knn_search(embedding, knn_param(?, %d, %d))" % (K, ef) + where

    def run(self, qvecs, ef, where="", params=None, warm=0):
        """Returns (latencies s, ids lists, error, thread CPU s per query)."""
        lat, ids, cpu = [], [], []
        tt = time.thread_time
        try:
            if self.eng == "hnswlib":
                self.h.set_ef(ef)
                qs = [q.reshape(1, -1) for q in qvecs]
                for q in qs[:warm]:
                    self.h.knn_query(q, k=K, num_threads=1)
                for q in qs:
                    c0 = tt()
                    t = time.perf_counter()
                    labels, _ = self.h.knn_query(q, k=K, num_threads=1)
                    lat.append(time.perf_counter() - t)
                    cpu.append(tt() - c0)
                    ids.append(labels[0].tolist())
                return lat, ids, None, cpu
            sql = self.sql(ef, where)
            qb = [q.tobytes() for q in qvecs]
            args = [(b,) + tuple(params[i] if params else ()) for i, b in enumerate(qb)]
            for a in args[:warm]:
                self.h.execute(sql, a).fetchall()
            ex = self.h.execute
            for a in args:
                c0 = tt()
                t = time.perf_counter()
                got = ex(sql, a).fetchall()
                lat.append(time.perf_counter() - t)
                cpu.append(tt() - c0)
                ids.append([r[0] for r in got])
            return lat, ids, None, cpu
        except Exception as e:  # report, never work around
            return lat, ids, "%s: %s" % (type(e).__name__, e), cpu


def summarize(lat, cpu=None):
    if not lat:
        return {}
    a = np.array(lat) * 1e3
    r = {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
         "mean_ms": float(a.mean()), "qps": float(1e3 / a.mean())}
    if cpu:
        c = np.array(cpu) * 1e3
        r.update({"cpu_p50_ms": float(np.percentile(c, 50)), "cpu_mean_ms": float(c.mean()),
                  "qps_cpu": float(1e3 / c.mean()) if c.mean() > 0 else None})
    return r


def recall(ids, gt):
    hits = [len(set(a) & set(b[:K])) / K for a, b in zip(ids, gt)]
    return float(np.mean(hits)) if hits else None


def sweep(eng, handle, queries, gt, efs):
    s = Searcher(eng, handle)
    out = []
    for ef in ([None] if eng == "sqlite-vec" else efs):
        lat, ids, err, cpu = s.run(queries, ef, warm=min(20, len(queries)))
        r = {"ef": ef, "recall": recall(ids, gt) if not err else None, "error": err, "lat_s": lat, "cpu_s": cpu}
        r.update(summarize(lat, cpu))
        r["ids_ef"] = ids if ef in (EF_DEFAULT, None) else None
        out.append(r)
    return out


def child_ann(task):
    """Build, sweep, record; runs in its own process."""
    eng, n = task["engine"], task["n"]
    base = load_base(n)
    pos, lex = load_meta(n)
    queries = load_queries(task["nq"])
    gt = task["gt"]
    res = {"engine": eng, "n": n, "nq": len(queries), "loadavg_start": os.getloadavg()}
    p = paths_for(task)
    if eng == "veclite-rebuild":
        src = paths_for(task, "veclite")["db"]
        dst = os.path.join(task["workdir"], "veclite-rebuild-%d.db" % n)
        rm(dst)
        shutil.copyfile(src, dst)
        c = sqlite_conn(dst, eng, task["lib"])
        c.execute("SELECT count(*) FROM vl_rows").fetchall()
        r0 = rss_reset()
        t, c0 = time.perf_counter(), time.process_time()
        try:
            res["rebuild_rows"] = c.execute("SELECT veclite_rebuild('vl')").fetchone()[0]
        except Exception as e:
            res["error"] = "veclite_rebuild: %s: %s" % (type(e).__name__, e)
            return res
        res["build_s"] = time.perf_counter() - t
        res["build_cpu_s"] = time.process_time() - c0
        res["info_after_build"] = veclite_info(c)
        res["sweep"] = sweep(eng, c, queries, gt, task["efs"])
        res["info_after_sweep"] = veclite_info(c)
        res["rss"] = rss_peak(r0)
        c.close()
        res["file_bytes"] = file_size(dst)
        res["files"] = [dst]
        rm(dst)
    else:
        handle, st, r0 = build(task, base, pos, lex, r0_cb=rss_reset)
        res.update(st)
        if eng == "veclite":
            res["info_after_build"] = veclite_info(handle)
        res["sweep"] = sweep(eng, handle, queries, gt, task["efs"])
        if eng == "veclite":
            res["info_after_sweep"] = veclite_info(handle)
        res["rss"] = rss_peak(r0)
        t = time.perf_counter()
        if eng == "hnswlib":
            handle.save_index(p["db"])
        else:
            handle.close()
        res["close_or_save_s"] = time.perf_counter() - t
        res["file_bytes"] = file_size(*p["files"])
        res["files"] = {f: file_size(f) for f in p["files"]}
        write_meta(task, eng)
    res["build_rate"] = n / res["build_s"]
    res["loadavg_end"] = os.getloadavg()
    return res


def write_meta(task, eng):
    p = paths_for(task, eng)
    with open(p["meta"], "w") as f:
        json.dump({"engine": eng, "n": task["n"], "lib_sha": task["lib_sha"], "m": M,
                   "ef_construction": EF_CONSTRUCTION, "complete": True}, f)


def reusable(task, eng):
    p = paths_for(task, eng)
    try:
        with open(p["meta"]) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    ok = (m.get("complete") and m.get("n") == task["n"] and m.get("m") == M
          and m.get("ef_construction") == EF_CONSTRUCTION and all(os.path.exists(x) for x in p["files"]))
    if eng == "veclite":
        ok = ok and m.get("lib_sha") == task["lib_sha"]
    return bool(ok)


def open_engine(task, eng):
    p = paths_for(task, eng)
    if eng == "hnswlib":
        import hnswlib
        idx = hnswlib.Index(space="cosine", dim=D)
        idx.load_index(p["db"], max_elements=task["n"])
        idx.set_num_threads(1)
        return idx
    c = sqlite_conn(p["db"], eng, task["lib"])
    if eng == "vectorlite":
        c.execute(vectorlite_ddl(task["n"], p["idx"]))   # connects, loads the index file
    return c


def child_open(task):
    """Reopen the saved file in a fresh process: time to first answer, persistence check."""
    eng = task["engine"]
    queries = load_queries(task["nq"])
    res = {"engine": eng}
    s = None
    t = time.perf_counter()
    try:
        h = open_engine(task, eng)
        s = Searcher(eng, h)
        lat, ids, err, _ = s.run(queries[:1], None if eng == "sqlite-vec" else EF_DEFAULT)
        res["open_first_ms"] = (time.perf_counter() - t) * 1e3
        if err:
            res["error"] = err
            return res
        if eng == "veclite":
            info = veclite_info(h)
            res["last_load_ms"] = info.get("last_load_ms")
        before = task["ids_ef"]
        lat, ids, err, _ = s.run(queries, None if eng == "sqlite-vec" else EF_DEFAULT)
        if err:
            res["error"] = err
        res["compared"] = len(ids)
        res["mismatches"] = sum(1 for a, b in zip(ids, before) if a != b)
        res["mismatch_examples"] = [{"query": i, "before": b, "after": a}
                                    for i, (a, b) in enumerate(zip(ids, before)) if a != b][:3]
    except Exception as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    return res


# ---------------------------------------------------------------- filtered section
def filter_specs(n, nq):
    """Deterministic filters from the data. Each: name, target, mask, per-engine SQL."""
    pos, lex = load_meta(n)
    counts = np.bincount(lex, minlength=45)
    specs = [{"name": "none (unfiltered)", "target": 1.0, "mask": np.ones(n, bool),
              "veclite": [("", None)], "sqlite-vec": [("", None)],
              "vectorlite": [("", None)]}]
    # ~50%: a range on lex, the threshold whose share is closest to 50%
    cum = np.cumsum(counts) / n
    t = int(np.argmin(np.abs(cum - 0.5))) + 1       # lex < t
    mask = lex < t
    specs.append({"name": "lex < %d" % t, "target": 0.5, "mask": mask,
                  "veclite": [(" AND lex < %d" % t, None)],
                  "sqlite-vec": [(" AND lex < %d" % t, None)],
                  "vectorlite": [("LIST", None), (" AND rowid IN (SELECT rowid FROM meta WHERE lex < %d)" % t, None)]})
    used = set()
    for target in (0.1, 0.01, 0.001):
        score = [abs(np.log(c / n / target)) if c > 0 and i not in used else np.inf for i, c in enumerate(counts)]
        cat = int(np.argmin(score))
        used.add(cat)
        specs.append({"name": "lex = %d" % cat, "target": target, "mask": lex == cat,
                      "veclite": [(" AND lex = %d" % cat, None)],
                      "sqlite-vec": [(" AND lex = %d" % cat, None)],
                      "vectorlite": [("LIST", None), (" AND rowid IN (SELECT rowid FROM meta WHERE lex = %d)" % cat, None)]})
    rng = np.random.default_rng(7)
    xs = rng.integers(0, n, nq).tolist()
    specs.append({"name": "rowid = X (one row)", "target": 1.0 / n, "mask": None, "xs": xs,
                  "veclite": [(" AND rowid = ?", "x")],
                  "sqlite-vec": [(" AND rowid = ?", "x"), (" AND rowid IN (?, ?)", "xx")],
                  "vectorlite": [(" AND rowid = ?", "x")]})
    for s in specs:
        s["matching"] = 1 if s["mask"] is None else int(s["mask"].sum())
    return specs


def spelling_label(where, eng):
    if where == "LIST":
        return "rowid IN (<list>)"
    if where == "":
        return "-"
    w = where.replace(" AND ", "", 1)
    return w


def child_filtered(task):
    eng, n = task["engine"], task["n"]
    queries = load_queries(task["nq"])
    res = {"engine": eng, "n": n, "loadavg_start": os.getloadavg()}
    if reusable(task, eng):
        res["db"] = "reused"
        h = open_engine(task, eng)
    else:
        base = load_base(n)
        pos, lex = load_meta(n)
        h, st, _ = build(task, base, pos, lex)
        h.close()
        write_meta(task, eng)
        del base
        res["db"] = "built (%.1f s)" % st["build_s"]
        h = open_engine(task, eng)
    s = Searcher(eng, h)
    nqe = task["nq_engine"]
    out = []
    for spec in filter_specs(n, task["nq"]):
        for where, param in spec[eng]:
            qv = queries[:nqe]
            if where == "LIST":
                ids = np.nonzero(spec["mask"])[0]
                w = " AND rowid IN (%s)" % ",".join(map(str, ids.tolist()))
            else:
                w = where
            params = None
            if param == "x":
                params = [(x,) for x in spec["xs"][:nqe]]
            elif param == "xx":
                params = [(x, x) for x in spec["xs"][:nqe]]
            info0 = veclite_info(h) if eng == "veclite" else None
            lat, got, err, cpu = s.run(qv, EF_DEFAULT if eng == "vectorlite" else None, w, params,
                                       warm=min(10, len(qv)))
            r = {"filter": spec["name"], "spelling": spelling_label(where, eng), "error": err,
                 "ids": got, "lat_s": lat, "cpu_s": cpu}
            r.update(summarize(lat, cpu))
            if eng == "veclite":
                info1 = veclite_info(h)
                r["searches_delta"] = {k: info1["searches"].get(k, 0) - info0["searches"].get(k, 0)
                                       for k in info1.get("searches", {})}
                r["timed_plus_warm_queries"] = len(qv) + min(10, len(qv))
            out.append(r)
    res["results"] = out
    res["loadavg_end"] = os.getloadavg()
    h.close()
    return res


def oracle_filtered(n, nq):
    """Ground truth and the numpy exact-scan latency over just the matching rows."""
    base = load_base(n)
    queries = load_queries(nq)
    norms = np.linalg.norm(base, axis=1).astype("<f4")
    out = {}
    for spec in filter_specs(n, nq):
        if spec["mask"] is None:
            gts = [[x] for x in spec["xs"]]
            out[spec["name"]] = {"gt": gts, "matching": 1, "lat_s": [], "cpu_s": []}
            continue
        ids = np.nonzero(spec["mask"])[0]
        gts = exact_topk(base[ids], ids, queries)
        sub = np.ascontiguousarray(base[ids] / norms[ids, None])
        kk = min(K, len(ids))
        lat, cpu = [], []
        for q in queries:
            c0 = time.thread_time()
            t = time.perf_counter()
            qn = q / np.linalg.norm(q)
            s = sub @ qn
            top = np.argpartition(-s, kk - 1)[:kk] if kk < len(ids) else np.arange(len(ids))
            top = top[np.argsort(-s[top])]
            _ = ids[top]
            lat.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c0)
        out[spec["name"]] = {"gt": gts, "matching": int(len(ids)), "lat_s": lat, "cpu_s": cpu}
    return out


# ---------------------------------------------------------------- parent side
def run_child(kind, task, timeout):
    tf = os.path.join(task["workdir"], "task-%s-%s-%d-%d.json" % (kind, task["engine"], task["n"], os.getpid()))
    of = tf.replace("task-", "out-")
    with open(tf, "w") as f:
        json.dump(task, f)
    rm(of)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, tf, of],
                       capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if p.returncode != 0 or not os.path.exists(of):
        tail = [x for x in p.stderr.strip().splitlines() if x.strip()][-1:] or [""]
        return {"engine": task["engine"], "error": "child exited %d: %s" % (p.returncode, tail[0][-400:]),
                "stderr": p.stderr[-4000:], "wall_s": wall}
    with open(of) as f:
        r = json.load(f)
    r["wall_s"] = wall
    os.remove(tf)
    os.remove(of)
    return r


def child_main(kind, tf, of):
    with open(tf) as f:
        task = json.load(f)
    fn = {"ann": child_ann, "open": child_open, "filtered": child_filtered}[kind]
    r = fn(task)
    with open(of, "w") as f:
        json.dump(r, f)


def wait_for_lib(path, settle=3.0, tries=60):
    """The library may be rebuilt under us: wait until it exists and is unchanged for a moment."""
    for _ in range(tries):
        try:
            a = os.stat(path)
            time.sleep(settle)
            b = os.stat(path)
            if (a.st_mtime, a.st_size) == (b.st_mtime, b.st_size) and a.st_size > 0:
                return
        except FileNotFoundError:
            time.sleep(settle)
    raise SystemExit("%s missing or changing; build it and retry" % path)


def lock_workdir(workdir):
    """One run per workdir: runs sharing one would overwrite each other's DBs and files."""
    import fcntl
    f = open(os.path.join(workdir, ".lock"), "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another harness run holds %s; waiting (or pass --workdir DIR)" % workdir, flush=True)
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


def private_lib_copy(workdir):
    """Copy target/release/libveclite.so to WORKDIR/lib-<sha>/libveclite.so (the file name keeps
    SQLite's default entry point; written to a temporary name, then renamed: a file some process
    has mapped is never overwritten in place, which would kill that process with SIGBUS).
    Returns (path without suffix, sha256)."""
    tmp = os.path.join(workdir, ".libveclite.%d.tmp" % os.getpid())
    shutil.copyfile(LIB_SRC, tmp)
    sha = sha256(tmp)
    d = os.path.join(workdir, "lib-%s" % sha[:16])
    os.makedirs(d, exist_ok=True)
    dst = os.path.join(d, "libveclite.so")
    if os.path.exists(dst) and sha256(dst) == sha:
        os.remove(tmp)
    else:
        os.replace(tmp, dst)
    return dst[:-3], sha                            # load_extension adds the suffix


def environment(lib, lib_sha):
    import apsw
    env = {"python": sys.version.split()[0], "sqlite": apsw.sqlite_lib_version(), "apsw": apsw.apsw_version(),
           "platform": platform.platform(), "cpus": os.cpu_count(), "veclite_sha256": lib_sha,
           "veclite_lib": LIB_SRC, "argv": sys.argv, "time": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    try:
        with open("/proc/cpuinfo") as f:
            env["cpu"] = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except Exception:
        pass
    for mod in ("sqlite_vec", "vectorlite_py", "hnswlib", "numpy"):
        try:
            import importlib.metadata as md
            env[mod] = md.version(mod.replace("_", "-") if mod != "vectorlite_py" else "vectorlite_py")
        except Exception:
            env[mod] = "?"
    try:
        c = apsw.Connection(":memory:")
        c.enable_load_extension(True)
        c.load_extension(lib)
        env["veclite_version"] = c.execute("SELECT veclite_version()").fetchone()[0]
        import vectorlite_py
        c.load_extension(vectorlite_py.vectorlite_path())
        env["vectorlite_info"] = c.execute("SELECT vectorlite_info()").fetchone()[0]
        import sqlite_vec
        c.load_extension(sqlite_vec.loadable_path())
        env["vec_version"] = c.execute("SELECT vec_version()").fetchone()[0]
    except Exception as e:
        env["load_error"] = str(e)
    return env


def compact(obj):
    """Latency lists rounded to 0.1 us for the raw JSON."""
    if isinstance(obj, dict):
        return {k: ([round(x, 7) for x in v] if k in ("lat_s", "cpu_s") and isinstance(v, list) else compact(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [compact(x) for x in obj]
    return obj


def fmt(x, spec="%.3f"):
    return "-" if x is None else spec % x


def raw_bytes(n):
    """Raw vectors + links: float32 vectors, 2M level-0 links, M links per upper-level node."""
    upper = n / (M - 1)                # expected upper-level memberships with mult = 1/ln(M)
    return n * D * 4 + n * 2 * M * 4 + upper * M * 4


def ann_section(args, n, lib, lib_sha, env, outdir):
    nq = args.nq or (50 if args.quick else (500 if n <= 20_000 else 300))
    queries = load_queries(nq)
    gt = [list(map(int, g)) for g in ground_truth(n, queries)]
    efs = args.ef or ([16, 64] if args.quick else EFS)
    engines = [e for e in ANN_ENGINES if e in args.engines or (e == "veclite-rebuild" and "veclite" in args.engines)]
    results = {}
    print("\n# ANN, wordnet-minilm N=%d, %d queries, k=%d, M=%d, ef_construction=%d" % (n, nq, K, M, EF_CONSTRUCTION),
          flush=True)
    for eng in engines:
        task = {"engine": eng, "n": n, "nq": nq, "gt": gt, "efs": efs, "workdir": args.workdir,
                "lib": lib, "lib_sha": lib_sha}
        if eng == "veclite-rebuild" and "error" in results.get("veclite", {"error": 1}):
            continue
        print("  %-16s building + sweeping ..." % eng, end="", flush=True)
        r = run_child("ann", task, timeout=3600)
        if "error" not in r and eng != "veclite-rebuild":
            ref = next((s for s in r["sweep"] if s["ef"] in (EF_DEFAULT, None)), None)
            ot = dict(task, nq=min(100, nq), ids_ef=(ref or {}).get("ids_ef", [])[:100])
            r["open"] = run_child("open", ot, timeout=600)
        results[eng] = r
        if "error" in r:
            print(" ERROR %s" % r["error"][:500], flush=True)
        else:
            print(" %.0f s (build %.1f s, %.0f vec/s)" % (r["wall_s"], r["build_s"], r["build_rate"]), flush=True)
        for s in r.get("sweep", []):
            if s.get("error"):
                print("    ef=%s ERROR %s" % (s["ef"], s["error"]), flush=True)
    md = ann_markdown(n, nq, results, env)
    print(md)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "ann-%d.md" % n), "w") as f:
        f.write(md)
    for r in results.values():
        for s in r.get("sweep", []):
            s.pop("ids_ef", None)
    with open(os.path.join(outdir, "ann-%d.json" % n), "w") as f:
        json.dump(compact({"env": env, "n": n, "nq": nq, "k": K, "m": M, "ef_construction": EF_CONSTRUCTION,
                           "results": results}), f, indent=1)
    plot(n, nq, results, os.path.join(outdir, "recall-qps-%d.png" % n))
    print("wrote %s/ann-%d.md, ann-%d.json, recall-qps-%d.png" % (outdir, n, n, n), flush=True)
    return results


def ann_markdown(n, nq, results, env):
    L = []
    L.append("## ANN: wordnet-minilm N=%d, %d queries, k=%d, M=%d, ef_construction=%d, one query at a time\n"
             % (n, nq, K, M, EF_CONSTRUCTION))
    L.append("%s; SQLite %s; veclite %s (sha256 %s); sqlite-vec %s; vectorlite %s; hnswlib %s; %s.\n" % (
        env.get("cpu", "?"), env.get("sqlite"), env.get("veclite_version"), env.get("veclite_sha256", "")[:12],
        env.get("vec_version"), env.get("vectorlite_py"), env.get("hnswlib"), env.get("time")))
    L.append("| engine | N | ef | recall@10 | p50 ms | p99 ms | QPS | QPS (CPU) | build vec/s | RSS MB | file MB |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for eng, r in results.items():
        if "error" in r and "sweep" not in r:
            L.append("| %s | %d | - | ERROR: %s | | | | | | | |" % (LABEL[eng], n, r["error"].replace("|", "/")[:200]))
            continue
        for i, s in enumerate(r["sweep"]):
            first = i == 0
            L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                LABEL[eng], n, "exact" if s["ef"] is None else s["ef"],
                fmt(s.get("recall")) if not s.get("error") else "ERROR: " + s["error"].replace("|", "/")[:150],
                fmt(s.get("p50_ms")), fmt(s.get("p99_ms")), fmt(s.get("qps"), "%.0f"), fmt(s.get("qps_cpu"), "%.0f"),
                fmt(r["build_rate"], "%.0f") if first else "",
                fmt(r["rss"]["delta"] / 1e6, "%.0f") if first else "",
                fmt(r["file_bytes"] / 1e6, "%.1f") if first else ""))
    L.append("\nPer engine: build time, reopen (fresh process: open + load + first answer at ef=%d) and "
             "persistence check (100 queries at ef=%d after reopen vs the building process)\n" % (EF_DEFAULT, EF_DEFAULT))
    L.append("| engine | build s (CPU s) | peak RSS MB (abs) | index memory (self-reported) | files | open -> 1st answer ms | reopen: result lists differing |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for eng, r in results.items():
        if "build_s" not in r:
            continue
        mem = "-"
        info = r.get("info_after_sweep") or {}
        if "memory_bytes" in info:
            mem = "%.1f MB (%.2fx raw vectors+links %.1f MB)" % (info["memory_bytes"] / 1e6,
                                                                  info["memory_bytes"] / raw_bytes(n), raw_bytes(n) / 1e6)
        files = r.get("files")
        files = ", ".join("%s %.1f MB" % (os.path.basename(k), v / 1e6) for k, v in files.items()) if isinstance(files, dict) else "-"
        o = r.get("open") or {}
        if o.get("error"):
            op, mm = "ERROR", o["error"][:150]
        elif o:
            op = fmt(o.get("open_first_ms"), "%.1f") + (" (graph load %s ms)" % o["last_load_ms"] if o.get("last_load_ms") is not None else "")
            mm = "%d / %d" % (o.get("mismatches", 0), o.get("compared", 0))
        else:
            op, mm = "-", "-"
        L.append("| %s | %.1f (%s) | %.0f | %s | %s | %s | %s |" % (LABEL[eng], r["build_s"], fmt(r.get("build_cpu_s"), "%.1f"),
                                                             r["rss"]["peak"] / 1e6, mem, files, op, mm))
    # targets (issue 4)
    L.append("\nTargets (issue 4), from this run:\n")

    def best(eng, thr=0.95):
        r = results.get(eng)
        if not r or "sweep" not in r:
            return None
        ok = [s for s in r["sweep"] if s.get("recall") is not None and s["recall"] >= thr and s.get("qps")]
        return max(ok, key=lambda s: s["qps"]) if ok else None

    hb = best("hnswlib")
    for eng in ("veclite", "veclite-rebuild", "vectorlite", "sqlite-vec"):
        b = best(eng)
        if b is None:
            continue
        line = "- %s: best QPS at recall@10 >= 0.95: %.0f (ef=%s, recall %.3f)" % (
            LABEL[eng], b["qps"], "exact" if b["ef"] is None else b["ef"], b["recall"])
        if hb and eng != "sqlite-vec":
            line += "; %.2fx hnswlib's %.0f (ef=%s)" % (b["qps"] / hb["qps"], hb["qps"], hb["ef"])
        sv = best("sqlite-vec")
        if sv and eng.startswith("veclite"):
            line += "; %.1fx sqlite-vec" % (b["qps"] / sv["qps"])
        L.append(line)
    if hb:
        L.append("- hnswlib: best QPS at recall@10 >= 0.95: %.0f (ef=%s, recall %.3f)" % (hb["qps"], hb["ef"], hb["recall"]))
    if "hnswlib" in results and "build_rate" in results["hnswlib"]:
        h = results["hnswlib"]["build_rate"]
        for eng in ("veclite", "veclite-rebuild", "vectorlite"):
            if "build_rate" in results.get(eng, {}):
                L.append("- build rate %s: %.0f vec/s = %.2fx hnswlib single-thread (%.0f vec/s)" % (
                    LABEL[eng], results[eng]["build_rate"], results[eng]["build_rate"] / h, h))
    v = results.get("veclite", {})
    if "memory_bytes" in v.get("info_after_sweep", {}):
        L.append("- veclite index memory (veclite_info memory_bytes) %.1f MB = %.2fx raw vectors + links (%.1f MB); "
                 "RSS delta %.1f MB = %.2fx" % (v["info_after_sweep"]["memory_bytes"] / 1e6,
                                                v["info_after_sweep"]["memory_bytes"] / raw_bytes(n), raw_bytes(n) / 1e6,
                                                v["rss"]["delta"] / 1e6, v["rss"]["delta"] / raw_bytes(n)))
    notes = []
    for eng, r in results.items():
        i0, i1 = r.get("info_after_build"), r.get("info_after_sweep")
        if i0 and i1 and "searches" in i1:
            d = {k: i1["searches"].get(k, 0) - i0["searches"].get(k, 0) for k in i1["searches"]}
            notes.append("%s searches during the sweep (veclite_info): %s" % (LABEL[eng], json.dumps(d)))
        la = (r.get("loadavg_start") or [None])[0], (r.get("loadavg_end") or [None])[0]
        if la[0] is not None:
            notes.append("%s load average (1 min) start/end: %.2f / %.2f" % (LABEL[eng], la[0], la[1]))
    if notes:
        L.append("\nNotes:\n")
        L.extend("- " + x for x in notes)
    L.append("\nRSS MB = peak RSS of the engine's own process minus its RSS once the data was loaded "
             "(build + queries). file MB: SQLite engines: DB file; vectorlite: DB + index file "
             "(its index is kept outside the DB); hnswlib: save_index. veclite_rebuild runs on a copy of the "
             "veclite DB in a fresh process: its rate excludes inserting the rows. QPS = 1 / mean latency; "
             "QPS (CPU) = 1 / mean thread CPU time of the same calls (less sensitive to other load on the machine).\n")
    return "\n".join(L) + "\n"


def plot(n, nq, results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, ax = plt.subplots(figsize=(8, 5.5))
    marks = {"veclite": "o-", "veclite-rebuild": "s--", "hnswlib": "^-", "vectorlite": "D-", "sqlite-vec": "*"}
    for eng, r in results.items():
        pts = [(s["recall"], s["qps"], s["ef"]) for s in r.get("sweep", []) if s.get("recall") is not None and s.get("qps")]
        if not pts:
            continue
        x, y, efs = zip(*pts)
        ax.plot(x, y, marks.get(eng, "o-"), label=LABEL[eng], markersize=10 if eng == "sqlite-vec" else 5)
        if eng == "veclite":
            for a, b, e in pts:
                ax.annotate("ef=%s" % e, (a, b), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (1 / mean latency, log)")
    ax.set_title("wordnet-minilm N=%d (384-d cosine), k=10, M=16, efC=200, %d queries, 1 thread" % (n, nq), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def filtered_section(args, n, lib, lib_sha, env, outdir):
    nq = args.nq or (30 if args.quick else (500 if n <= 20_000 else 300))
    nq_sv = min(nq, args.nq_sqlite_vec or (nq if n <= 20_000 else 100))
    print("\n# Filtered KNN, N=%d, %d queries (sqlite-vec %d), k=%d" % (n, nq, nq_sv, K), flush=True)
    t = time.perf_counter()
    oracle = oracle_filtered(n, nq)
    print("  oracle %.1f s" % (time.perf_counter() - t), flush=True)
    results = {}
    for eng in [e for e in FILTER_ENGINES if e in args.engines]:
        task = {"engine": eng, "n": n, "nq": nq, "nq_engine": nq_sv if eng == "sqlite-vec" else nq,
                "workdir": args.workdir, "lib": lib, "lib_sha": lib_sha}
        print("  %-12s ..." % eng, end="", flush=True)
        r = run_child("filtered", task, timeout=3600)
        print(" %.0f s (%s)" % (r["wall_s"], r.get("db", r.get("error", "")[:300])), flush=True)
        results[eng] = r
    specs = filter_specs(n, nq)
    rows = []
    for spec in specs:
        o = oracle[spec["name"]]
        m = o["matching"]
        for eng in [e for e in FILTER_ENGINES if e in results]:
            for r in results[eng].get("results", []):
                if r["filter"] != spec["name"]:
                    continue
                got = r["ids"]
                gt = o["gt"][:len(got)]
                need = min(K, m)
                rec = [len(set(a) & set(b)) / need for a, b in zip(got, gt)]
                short = sum(1 for a in got if len(a) < need)
                wrong = sum(1 for a in got for x in a if spec["mask"] is not None and not spec["mask"][x]) \
                    if spec["mask"] is not None else sum(1 for a, b in zip(got, gt) for x in a if x != b[0])
                r.update({"recall": float(np.mean(rec)) if rec else None, "short": short, "nq": len(got),
                          "nonmatching_rows": wrong})
                rows.append((spec, eng, r))
        if o["lat_s"]:
            rows.append((spec, "numpy", {"spelling": "exact over matching rows", "recall": 1.0, "short": 0,
                                         "nq": len(o["lat_s"]), **summarize(o["lat_s"], o["cpu_s"])}))
    md = filtered_markdown(n, nq, specs, rows, results, env)
    print(md)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "filtered-%d.md" % n), "w") as f:
        f.write(md)
    for r in results.values():
        for x in r.get("results", []):
            x.pop("ids", None)
    with open(os.path.join(outdir, "filtered-%d.json" % n), "w") as f:
        json.dump(compact({"env": env, "n": n, "nq": nq, "nq_sqlite_vec": nq_sv, "k": K,
                           "filters": [{"name": s["name"], "target": s["target"], "matching": s["matching"]}
                                       for s in specs],
                           "oracle": {k: {"lat_s": v["lat_s"], "cpu_s": v["cpu_s"]} for k, v in oracle.items()},
                           "results": results}), f, indent=1)
    print("wrote %s/filtered-%d.md, filtered-%d.json" % (outdir, n, n), flush=True)


def filtered_markdown(n, nq, specs, rows, results, env):
    L = ["## Filtered KNN: wordnet-minilm N=%d, k=%d, %d queries (sqlite-vec: first %d of them)\n" % (
        n, K, nq, results.get("sqlite-vec", {}).get("results", [{}])[0].get("nq", 0) if results.get("sqlite-vec", {}).get("results") else 0)]
    L.append("veclite: default ef (ef_search=64); vectorlite: ef=64; numpy: float32 scan of just the matching rows "
             "(the exact-scan reference). recall@10 is over min(10, matching rows); short = queries returning "
             "fewer than min(10, matching) rows; non-matching = returned rows that fail the filter. %s; SQLite %s; "
             "veclite %s (sha256 %s); sqlite-vec %s; vectorlite %s; %s.\n"
             % (env.get("cpu", "?"), env.get("sqlite"), env.get("veclite_version"), env.get("veclite_sha256", "")[:12],
                env.get("vec_version"), env.get("vectorlite_py"), env.get("time")))
    L.append("| filter | matching rows (selectivity) | engine | spelling | recall@10 | p50 ms | p99 ms | CPU p50 ms | short | non-matching | veclite path (graph/exact) |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for spec, eng, r in rows:
        path = ""
        if "searches_delta" in r:
            sd = r["searches_delta"]
            path = "%s/%s" % (sd.get("graph", "?"), sd.get("exact", "?"))
        err = r.get("error")
        L.append("| %s | %d (%.3f%%) | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            spec["name"], spec["matching"], 100.0 * spec["matching"] / n, eng, r.get("spelling", "").replace("|", "/"),
            ("ERROR: " + err.replace("|", "/")[:150]) if err else fmt(r.get("recall")),
            fmt(r.get("p50_ms")), fmt(r.get("p99_ms")), fmt(r.get("cpu_p50_ms")),
            "%d/%d" % (r.get("short", 0), r.get("nq", 0)), r.get("nonmatching_rows", "-") if eng != "numpy" else "-", path))
    # issue 5 targets
    L.append("\nTargets (issue 5), from this run: veclite p50 vs the faster of (numpy exact scan of the matching "
             "rows, veclite unfiltered at ef=64), and sqlite-vec p50 / veclite p50:\n")
    get = {}
    for spec, eng, r in rows:
        get.setdefault((spec["name"], eng), r)
    unf = get.get(("none (unfiltered)", "veclite"), {}).get("p50_ms")
    for spec in specs[1:]:
        v = get.get((spec["name"], "veclite"), {})
        ex = get.get((spec["name"], "numpy"), {}).get("p50_ms")
        sv = get.get((spec["name"], "sqlite-vec"), {})
        if v.get("p50_ms") is None:
            continue
        ref = min(x for x in (ex, unf) if x is not None)
        L.append("- %s (%.3f%%): veclite p50 %.3f ms = %.2fx the reference %.3f ms (target <= 1.5x), recall %s%s" % (
            spec["name"], 100.0 * spec["matching"] / n, v["p50_ms"], v["p50_ms"] / ref, ref, fmt(v.get("recall")),
            ("; sqlite-vec / veclite = %.1fx" % (sv["p50_ms"] / v["p50_ms"])) if sv.get("p50_ms") and not sv.get("error") else ""))
    notes = []
    for eng, r in results.items():
        if r.get("error"):
            notes.append("%s: %s" % (eng, r["error"][:500]))
        notes.append("%s DB: %s; load average (1 min) start/end %s / %s" % (
            eng, r.get("db"), fmt((r.get("loadavg_start") or [None])[0], "%.2f"), fmt((r.get("loadavg_end") or [None])[0], "%.2f")))
    L.append("\nNotes:\n")
    L.extend("- " + x for x in notes)
    L.append("- veclite path counts include the %d warm-up queries per filter." % 10)
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", help="base rows (10000, 100000, ...)")
    ap.add_argument("--filtered", action="store_true", help="run the filtered section only (default N 100000)")
    ap.add_argument("--all", action="store_true", help="ANN and filtered sections at each --n")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=5000, few queries, both sections")
    ap.add_argument("--nq", type=int, help="queries (default 500 at N<=20k, 300 above; quick: 50/30)")
    ap.add_argument("--nq-sqlite-vec", type=int, help="filtered: queries for sqlite-vec (default 100 at 100k)")
    ap.add_argument("--ef", type=int, nargs="+", help="ef sweep (default %s)" % EFS)
    ap.add_argument("--engines", nargs="+", default=["veclite", "hnswlib", "vectorlite", "sqlite-vec"],
                    help="subset of veclite hnswlib vectorlite sqlite-vec")
    ap.add_argument("--workdir", default="/tmp/veclite-bench", help="DB files (kept for --filtered reuse)")
    ap.add_argument("--out", help="results directory (default benches/results; quick: WORKDIR/quick-results)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_main(*args.child)

    os.makedirs(args.workdir, exist_ok=True)
    lock = lock_workdir(args.workdir)               # noqa: F841 (held until exit)
    wait_for_lib(LIB_SRC)
    lib, lib_sha = private_lib_copy(args.workdir)
    env = environment(lib, lib_sha)
    outdir = args.out or (os.path.join(args.workdir, "quick-results") if args.quick else RESULTS)
    if args.quick:
        plan = [("ann", n) for n in (args.n or [5000])] + [("filtered", n) for n in (args.n or [5000])]
    elif args.filtered and not args.all:
        plan = [("filtered", n) for n in (args.n or [100_000])]
    elif args.n:
        plan = [("ann", n) for n in args.n] + ([("filtered", n) for n in args.n] if args.all else [])
    else:
        plan = [("ann", 10_000), ("ann", 100_000), ("filtered", 10_000), ("filtered", 100_000)]
    rows = data_rows()
    for kind, n in [p for p in plan if p[1] > rows]:
        print("skipped %s N=%d: %s has %d rows (set VECLITE_DATA to the full 100k set)" % (kind, n, DATA, rows))
    plan = [p for p in plan if p[1] <= rows]
    t0 = time.perf_counter()
    for kind, n in plan:
        if kind == "ann":
            ann_section(args, n, lib, lib_sha, env, outdir)
        else:
            filtered_section(args, n, lib, lib_sha, env, outdir)
    print("\ntotal %.0f s" % (time.perf_counter() - t0))


if __name__ == "__main__":
    sys.exit(main())
