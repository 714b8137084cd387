#!/usr/bin/env python3
"""veclite at 1M vectors against hnswlib, paired (issue 13, "Scale").

Command (from the repository root, after `cargo build --release`; `.venv` with
`pip install apsw numpy hnswlib`; ~35 min for int8 alone on the shared 2-core machine,
~1 h with f32 too; ~10 GB in --workdir):

    .venv/bin/python benches/scale_1m.py --lib /tmp/b1m/libveclite.so --quantize int8 none
    .venv/bin/python benches/scale_1m.py --n 100000 --quantize int8      # quick (~5 min)

Steps (`--steps`, default all, in this order; each but `sweep` and `report` in its own
child process, so its peak RSS is its own; `uptime`'s load is recorded before each):

  data     the base set and its exact ground truth, cached in --workdir (reruns skip it)
  build    per --quantize: CREATE VIRTUAL TABLE vl USING veclite(embedding float[384],
           distance = cosine, m = 16, ef_construction = 200, quantize = Q), then every row
           inserted in ONE transaction (BEGIN; executemany in rowid order, 100k rows per
           call; COMMIT), timed including COMMIT. Peak RSS = VmHWM (reset through
           /proc/self/clear_refs once the vectors are in numpy) minus VmRSS at that point.
  rebuild  per --quantize: a copy of that database, opened in a fresh process:
           `SELECT veclite_rebuild('vl')` (parallel build from the stored rows, all cores
           = 2 here), timed; peak RSS the same way.
  hnswlib  hnswlib.Index(space='cosine', dim=384), M = 16, ef_construction = 200,
           random_seed = 100, add_items with --hnsw-threads (default 2, to fit the time;
           queries always run on one thread), saved to --workdir.
  cold     per --quantize, alternating, --cold times each: a new Python process opens
           the file (apsw + load_extension) and runs the first KNN query (queries[0],
           k = 10): open ms, first-answer ms, veclite_info's last_load_ms, VmRSS/VmHWM.
           Variant "info first": veclite_info before the query (does it load the index?).
           Variant "scan": a fresh process reads every vector BLOB of vl_rows and every
           node BLOB of vl_graph through SQL (what a load cannot do faster than).
           Caches are not dropped (shared machine), but this VM reclaims idle page cache
           (DAMON, kdamond): the first open of a file left idle for minutes reads it
           from disk; the later repetitions find it cached.
  sweep    one process, one query at a time: veclite per --quantize (the inserted graph,
           and the rebuilt one), veclite int8 through a second connection with
           PRAGMA mmap_size (--mmap; same shared index, its re-ranking reads go through
           mmap), and hnswlib (load_index, set_num_threads(1), knn_query num_threads=1).
           recall@10 per ef over --nq queries (the first pass also warms every system), then
           --rounds rounds; each round runs all --nq queries on every (system, ef), the
           systems in an order rotated between rounds (the pairing of benches/int8.py, whose
           Veclite / Hnsw / recall / connect helpers are imported). A ratio is the median
           over rounds of the per-round QPS ratio. "At recall >= 0.95": each system's
           smallest ef whose recall@10 reaches 0.95 against hnswlib's smallest such ef.
           RSS (VmRSS) before and after each system's first query (its load).
  report   benches/results/scale-N.md and scale-N.json (from the step files in --workdir).

Data: wordnet-minilm (100k real all-MiniLM-L6-v2 embeddings, 384-d, unit norm) from
$VECLITE_DATA or ../shared/data/wordnet-minilm. N rows = the first N/10 real vectors
(decoded from f16, normalised) plus 9 perturbed copies of each: copy j of real row i
(rowid j*N/10 + i, j = 1..9; the real rows keep rowids 0..N/10-1) is
normalise(x_i + e), e ~ N(0, --sigma^2 I) (default sigma 0.025 per dimension),
numpy default_rng(--seed = 13), drawn copy by copy. The data step reports the mean
cosine distance copy -> source and copy <-> copy against the real data's mean 1st and
10th nearest-neighbour distances, and how the top 10 of the queries mix real rows,
copies and source families. Queries: the data set's 1000 held-out queries (--nq).
Ground truth: brute force, float32 blocked matmul for the top 100 candidates, re-scored
in float64 (ties by id), top 100 kept; checked against gt100k.i32 / gt10k.i32 on the real
rows alone. Cached as --workdir/gt-N-S.i32 beside base-N-S.f32.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (proc_status, rss_reset, rss_peak, sha256, file_size)
import int8 as int8b  # noqa: E402  (connect, Veclite, Hnsw, recall, info: the pairing helpers)

ROOT = os.path.dirname(HERE)
D, K, M, EFC = 384, 10, 16, 200
COPIES = 10
DATA = next((os.path.normpath(d) for d in (os.environ.get("VECLITE_DATA"),
                                           os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"),
                                           "/work/shared/data/wordnet-minilm")
             if d and os.path.exists(os.path.join(d, "base.f16"))), None)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return " ".join(loadavg())


# ---------------------------------------------------------------- paths
class P:
    def __init__(self, a):
        self.a = a
        w, n = a.workdir, a.n
        tag = "%d-s%g-seed%d" % (n, a.sigma, a.seed)
        self.base = os.path.join(w, "base-%s.f32" % tag)
        self.gt = os.path.join(w, "gt-%s.i32" % tag)
        self.stats = os.path.join(w, "data-%s.json" % tag)
        self.hnsw = os.path.join(w, "hnswlib-%s.bin" % tag)
        self.tag = tag

    def db(self, qz, rebuilt=False):
        return os.path.join(self.a.workdir, "vl-%s-%s%s.db" % (qz, self.tag, "-rebuilt" if rebuilt else ""))

    def step(self, name):
        return os.path.join(self.a.workdir, "step-%s-%s.json" % (self.tag, name))


def save(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def load(path):
    with open(path) as f:
        return json.load(f)


def base_mm(p, n):
    return np.memmap(p.base, dtype="<f4", mode="r", shape=(n, D))


def load_base(p, n):
    return np.fromfile(p.base, dtype="<f4").reshape(n, D)


def load_queries(nq):
    return np.fromfile(os.path.join(DATA, "queries.f32"), dtype="<f4", count=nq * D).reshape(-1, D)


def load_gt(p, nq):
    return np.fromfile(p.gt, dtype="<i4").reshape(-1, 100)[:nq]


# ---------------------------------------------------------------- data
def topk_blocked(base, queries, k=100, block=50_000):
    """Exact cosine top k of every query over base (rows unit norm): float32 blocked
    matmul keeps the best 2k candidates, re-scored in float64, ties by id."""
    q32 = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    kk = 2 * k
    cand_s = np.full((len(q32), 0), -np.inf, dtype=np.float32)
    cand_i = np.zeros((len(q32), 0), dtype=np.int64)
    for s in range(0, len(base), block):
        b = np.asarray(base[s:s + block], dtype=np.float32)
        sim = q32 @ b.T
        take = min(kk, sim.shape[1])
        part = np.argpartition(-sim, take - 1, axis=1)[:, :take]
        cand_s = np.concatenate([cand_s, np.take_along_axis(sim, part, 1)], axis=1)
        cand_i = np.concatenate([cand_i, part + s], axis=1)
        if cand_s.shape[1] > kk:
            keep = np.argpartition(-cand_s, kk - 1, axis=1)[:, :kk]
            cand_s = np.take_along_axis(cand_s, keep, 1)
            cand_i = np.take_along_axis(cand_i, keep, 1)
    q64 = queries.astype(np.float64)
    q64 /= np.linalg.norm(q64, axis=1, keepdims=True)
    out = np.zeros((len(q64), k), dtype=np.int32)
    for r in range(len(q64)):
        ids = cand_i[r]
        v = np.asarray(base[np.sort(ids)], dtype=np.float64)
        ids = np.sort(ids)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        s64 = v @ q64[r]
        order = np.lexsort((ids, -s64))[:k]
        out[r] = ids[order]
    return out


def step_data(a, p):
    if os.path.exists(p.base) and os.path.exists(p.gt) and os.path.exists(p.stats):
        print("data: cached %s" % p.base, flush=True)
        return load(p.stats)
    n, nr = a.n, a.n // COPIES
    assert n % COPIES == 0
    t0 = time.perf_counter()
    real = np.fromfile(os.path.join(DATA, "base.f16"), dtype="<f2", count=nr * D).astype("<f4").reshape(nr, D)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    rng = np.random.default_rng(a.seed)
    mm = np.memmap(p.base + ".tmp", dtype="<f4", mode="w+", shape=(n, D))
    mm[:nr] = real
    cs = []                                    # copy -> source cosine distance
    for j in range(1, COPIES):
        x = real + rng.standard_normal((nr, D), dtype=np.float32) * np.float32(a.sigma)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        mm[j * nr:(j + 1) * nr] = x
        cs.append(1.0 - (x.astype(np.float64) * real).sum(1))
    mm.flush()
    del mm
    os.replace(p.base + ".tmp", p.base)
    cs = np.concatenate(cs)
    gen_s = time.perf_counter() - t0
    base = load_base(p, n)
    queries = load_queries(1000)
    t = time.perf_counter()
    gt = topk_blocked(base, queries)
    gt_s = time.perf_counter() - t
    gt.astype("<i4").tofile(p.gt)
    # check the brute force against the data set's own ground truth on the real rows
    check = None
    ref = {10_000: "gt10k.i32", 100_000: "gt100k.i32"}.get(nr)
    if ref:
        g_real = topk_blocked(real, queries, k=10)
        gref = np.fromfile(os.path.join(DATA, ref), dtype="<i4").reshape(-1, 100)[:, :10]
        check = {"file": ref, "top10_sets_equal": int(sum(set(x) == set(y) for x, y in zip(g_real, gref))),
                 "of": len(gref)}
    # neighbourhood structure
    rs = np.random.default_rng(1)
    smp = rs.choice(nr, min(1000, nr), replace=False)
    sim = real[smp] @ real.T
    sim[np.arange(len(smp)), smp] = -9
    real_nn = 1 - (-np.sort(-sim, axis=1)[:, :10])
    fam = (smp[:200, None] + nr * np.arange(COPIES)[None, :])     # 200 families: copy <-> copy
    cc = []
    for f in fam:
        v = base[f].astype(np.float64)
        s = v @ v.T
        cc.append(1 - s[1:, 1:][np.triu_indices(COPIES - 1, 1)])
    cc = np.concatenate(cc)
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    top10 = gt[:, :10]
    d_full = np.array([1 - base[r] @ qn[i] for i, r in enumerate(top10)])
    d_real = 1 - (-np.sort(-(qn @ real.T), axis=1)[:, :10])
    fams = top10 % nr
    src_in = np.array([len(set(f)) for f in fams])
    stats = {
        "n": n, "real_rows": nr, "copies_per_row": COPIES - 1, "sigma": a.sigma, "seed": a.seed,
        "gen_s": gen_s, "gt_s": gt_s, "gt_check": check,
        "copy_to_source_cos_dist": {"mean": float(cs.mean()), "p10": float(np.percentile(cs, 10)),
                                    "p90": float(np.percentile(cs, 90)), "min": float(cs.min())},
        "copy_to_copy_cos_dist_mean": float(cc.mean()),
        "real_nn_cos_dist": {"1st": float(real_nn[:, 0].mean()), "10th": float(real_nn[:, 9].mean())},
        "queries_real_only": {"1st": float(d_real[:, 0].mean()), "10th": float(d_real[:, 9].mean())},
        "queries_full": {"1st": float(d_full[:, 0].mean()), "10th": float(d_full[:, 9].mean())},
        "gt_top10_copies_fraction": float((top10 >= nr).mean()),
        "gt_top10_distinct_sources_mean": float(src_in.mean()),
        "gt_top10_distinct_sources_min_max": [int(src_in.min()), int(src_in.max())],
        "gt_top1_is_real_fraction": float((top10[:, 0] < nr).mean()),
    }
    save(p.stats, stats)
    print(json.dumps(stats, indent=1), flush=True)
    return stats


# ---------------------------------------------------------------- build / rebuild (children)
def veclite_info(c):
    return int8b.info(c)


def step_build(a, p, qz):
    n = a.n
    db = p.db(qz)
    harness.rm(db)
    base = load_base(p, n)
    c = int8b.connect(db)
    c.execute("CREATE VIRTUAL TABLE vl USING veclite(embedding float[%d], distance = cosine, "
              "m = %d, ef_construction = %d, quantize = %s)" % (D, M, EFC, qz))
    r0 = harness.rss_reset()
    chunks = []
    t = time.perf_counter()
    c0 = time.process_time()
    c.execute("BEGIN")
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        c.executemany("INSERT INTO vl(rowid, embedding) VALUES (?, ?)",
                      ((i, base[i].tobytes()) for i in range(s, e)))
        chunks.append(time.perf_counter() - t)
        print("  build %s: %d rows, %.0f s, load %s" % (qz, e, chunks[-1], loadavg()[0]), flush=True)
    c.execute("COMMIT")
    build_s = time.perf_counter() - t
    cpu_s = time.process_time() - c0
    rss = harness.rss_peak(r0)
    inf = veclite_info(c)
    c.close()
    return {"build_s": build_s, "build_cpu_s": cpu_s, "chunks_s": chunks, "rss": rss, "info": inf,
            "file_bytes": harness.file_size(db)}


def step_rebuild(a, p, qz):
    src, dst = p.db(qz), p.db(qz, rebuilt=True)
    harness.rm(dst)
    t = time.perf_counter()
    shutil.copyfile(src, dst)
    copy_s = time.perf_counter() - t
    r0 = harness.rss_reset()
    c = int8b.connect(dst)
    t = time.perf_counter()
    c0 = time.process_time()
    rows = c.execute("SELECT veclite_rebuild('vl')").fetchone()[0]
    dt = time.perf_counter() - t
    cpu = time.process_time() - c0
    rss = harness.rss_peak(r0)
    inf = veclite_info(c)
    c.close()
    return {"rebuild_s": dt, "rebuild_cpu_s": cpu, "rows": rows, "copy_s": copy_s, "rss": rss, "info": inf,
            "file_bytes_before": harness.file_size(src), "file_bytes": harness.file_size(dst)}


def step_hnswlib(a, p):
    import hnswlib
    n = a.n
    base = load_base(p, n)
    r0 = harness.rss_reset()
    idx = hnswlib.Index(space="cosine", dim=D)
    idx.init_index(max_elements=n, ef_construction=EFC, M=M, random_seed=100)
    idx.set_num_threads(a.hnsw_threads)
    t = time.perf_counter()
    c0 = time.process_time()
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        idx.add_items(base[s:e], np.arange(s, e), num_threads=a.hnsw_threads)
        print("  hnswlib: %d rows, %.0f s, load %s" % (e, time.perf_counter() - t, loadavg()[0]), flush=True)
    dt = time.perf_counter() - t
    cpu = time.process_time() - c0
    rss = harness.rss_peak(r0)
    idx.save_index(p.hnsw)
    return {"build_s": dt, "build_cpu_s": cpu, "threads": a.hnsw_threads, "rss": rss,
            "file_bytes": harness.file_size(p.hnsw)}


# ---------------------------------------------------------------- cold open
COLD = r"""
import sys, time, json, re
def st(k):
    with open('/proc/self/status') as f:
        return int(re.search(r'^%s:\s+(\d+) kB' % k, f.read(), re.M).group(1)) * 1024
t0 = time.perf_counter()
import apsw
path, lib, qfile, variant = sys.argv[1:5]
c = apsw.Connection(path); c.enable_load_extension(True); c.load_extension(lib)
if variant == 'mmap':
    c.execute('PRAGMA mmap_size = 4000000000')
t_open = time.perf_counter()
q = open(qfile, 'rb').read()[:4 * 384]
r = {'variant': variant, 'import_open_ms': (t_open - t0) * 1e3, 'rss_open': st('VmRSS')}
def info():
    return json.loads(c.execute("SELECT veclite_info('vl')").fetchone()[0])
if variant == 'scan':
    t = time.perf_counter()
    r['rows_blob_bytes'] = c.execute('SELECT sum(length(embedding)) FROM vl_rows').fetchone()[0]
    r['scan_rows_ms'] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    r['graph_blob_bytes'] = c.execute('SELECT sum(length(node)) FROM vl_graph').fetchone()[0]
    r['scan_graph_ms'] = (time.perf_counter() - t) * 1e3
else:
    if variant == 'info-first':
        t = time.perf_counter(); i0 = info()
        r['info_ms'] = (time.perf_counter() - t) * 1e3
        r['info_index_loaded'] = i0.get('index_loaded')
    t = time.perf_counter()
    ids = [x[0] for x in c.execute('SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = 10', (q,))]
    r['first_query_ms'] = (time.perf_counter() - t) * 1e3
    r['open_to_answer_ms'] = (time.perf_counter() - t_open) * 1e3
    r['start_to_answer_ms'] = (time.perf_counter() - t0) * 1e3
    r['ids'] = ids
    i = info()
    r['last_load_ms'] = i.get('last_load_ms'); r['memory_bytes'] = i.get('memory_bytes')
    t = time.perf_counter()
    c.execute('SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = 10', (q,)).fetchall()
    r['second_query_ms'] = (time.perf_counter() - t) * 1e3
r['rss'] = st('VmRSS'); r['hwm'] = st('VmHWM'); r['rss_anon'] = st('RssAnon'); r['rss_file'] = st('RssFile')
print(json.dumps(r))
"""


def step_cold(a, p):
    qfile = os.path.join(DATA, "queries.f32")
    out = {}
    qzs = [q for q in a.quantize if os.path.exists(p.db(q))]
    for rep in range(a.cold):
        for variant in ("query-first", "info-first", "mmap", "scan"):
            if variant in ("scan", "mmap") and rep > 0:
                continue
            for qz in qzs:
                la = loadavg()[0]
                r = subprocess.run([sys.executable, "-c", COLD, p.db(qz), a.lib, qfile, variant],
                                   capture_output=True, text=True)
                if r.returncode:
                    raise SystemExit(r.stderr)
                x = json.loads(r.stdout)
                x["load1"] = la
                out.setdefault(qz, []).append(x)
                print("  cold %s %s: %s" % (qz, variant, {k: (round(v, 1) if isinstance(v, float) else v)
                                                         for k, v in x.items() if k != "ids"}), flush=True)
    if a.perf:
        # where the cold open's time goes: perf record of one query-first child per table
        for qz in qzs:
            pd = os.path.join(a.workdir, "perf-%s-%s.data" % (p.tag, qz))
            r = subprocess.run(["perf", "record", "-F", "999", "-g", "-o", pd, sys.executable, "-c", COLD,
                                p.db(qz), a.lib, qfile, "query-first"], capture_output=True, text=True)
            if r.returncode:
                out.setdefault("perf", {})[qz] = {"error": r.stderr[-500:]}
                continue
            x = json.loads(r.stdout)
            x.pop("ids", None)
            rep = subprocess.run(["perf", "report", "-i", pd, "--stdio", "--no-children", "-g", "none",
                                  "--sort", "dso,symbol", "--percent-limit", "0.7"],
                                 capture_output=True, text=True).stdout
            lines = [ln.rstrip() for ln in rep.splitlines() if "%" in ln and not ln.startswith("#")]
            out.setdefault("perf", {})[qz] = {"run": x, "top": lines[:30]}
            print("  perf %s:\n    %s" % (qz, "\n    ".join(lines[:30])), flush=True)
    return out


# ---------------------------------------------------------------- sweep
def step_sweep(a, p):
    import hnswlib
    n, nq = a.n, a.nq
    queries = load_queries(nq)
    gt = load_gt(p, nq)[:, :K].tolist()
    qb = [q.tobytes() for q in queries]
    qs = [q.reshape(1, -1) for q in queries]
    systems, inputs, loadinfo = {}, {}, {}

    def rss():
        return harness.proc_status("VmRSS")

    def anon():
        return harness.proc_status("RssAnon")

    def add(name, obj, inp, conn=None):
        r0, a0 = rss(), anon()
        t = time.perf_counter()
        obj.run(inp[:1], 64)
        loadinfo[name] = {"first_query_ms": (time.perf_counter() - t) * 1e3, "rss_before": r0, "rss_after": rss(),
                          "anon_before": a0, "anon_after": anon()}
        if conn is not None:
            i = veclite_info(conn)
            loadinfo[name].update({k: i.get(k) for k in ("memory_bytes", "last_load_ms", "index_shared_uses",
                                                         "shared_bytes")})
        systems[name], inputs[name] = obj, inp

    for qz in a.quantize:
        label = {"int8": "int8", "none": "f32"}[qz]
        if os.path.exists(p.db(qz)):
            v = int8b.Veclite(p.db(qz))
            add("veclite %s" % label, v, qb, v.c)
            if qz == "int8" and a.mmap:
                int8b.PRAGMAS[:] = ["mmap_size = %d" % a.mmap]
                v2 = int8b.Veclite(p.db(qz))
                int8b.PRAGMAS[:] = []
                add("veclite %s mmap" % label, v2, qb, v2.c)
        if os.path.exists(p.db(qz, rebuilt=True)) and not a.no_rebuilt:
            v = int8b.Veclite(p.db(qz, rebuilt=True))
            add("veclite %s (rebuilt)" % label, v, qb, v.c)
    r0, a0 = rss(), anon()
    t = time.perf_counter()
    idx = hnswlib.Index(space="cosine", dim=D)
    idx.load_index(p.hnsw, max_elements=n)
    idx.set_num_threads(1)
    hload = (time.perf_counter() - t) * 1e3
    add("hnswlib", int8b.Hnsw(idx), qs)
    loadinfo["hnswlib"].update({"load_index_ms": hload, "rss_before": r0, "anon_before": a0})

    names = list(systems)
    rec = {}
    t = time.perf_counter()
    for s in names:
        for ef in a.efs:
            rec[(s, ef)] = int8b.recall(systems[s].run(inputs[s], ef), gt)
        print("  recall %s: %s" % (s, " ".join("%d:%.4f" % (ef, rec[(s, ef)]) for ef in a.efs)), flush=True)
    print("  recall pass %.0f s" % (time.perf_counter() - t), flush=True)
    la = [loadavg()[0]]
    qps = {(s, ef): [] for s in names for ef in a.efs}
    for r in range(a.rounds):
        t = time.perf_counter()
        order = names[r % len(names):] + names[:r % len(names)]
        for ef in a.efs:
            for s in order:
                t1 = time.perf_counter()
                systems[s].run(inputs[s], ef)
                qps[(s, ef)].append(nq / (time.perf_counter() - t1))
        la.append(loadavg()[0])
        print("  round %d: %.0f s, load %s" % (r, time.perf_counter() - t, la[-1]), flush=True)
    infos = {s: veclite_info(systems[s].c) for s in names if s.startswith("veclite")}
    return {"names": names, "efs": a.efs, "nq": nq, "rounds": a.rounds, "mmap": a.mmap,
            "recall": {"%s@%d" % k: v for k, v in rec.items()},
            "qps": {"%s@%d" % k: v for k, v in qps.items()}, "load": loadinfo, "load1_rounds": la,
            "rss_end": rss(), "anon_end": anon(), "hwm_end": harness.proc_status("VmHWM"), "info_end": infos}


# ---------------------------------------------------------------- report
def mb(x):
    return "%.0f MB" % (x / 1e6) if x is not None else "-"


def step_report(a, p):
    R = {}
    for name in ("data", "hnswlib", "cold", "sweep") + tuple("build-" + q for q in ("int8", "none")) + \
            tuple("rebuild-" + q for q in ("int8", "none")):
        f = p.step(name)
        if os.path.exists(f):
            R[name] = load(f)
    env = {"n": a.n, "lib": a.lib, "lib_sha256": harness.sha256(a.lib)[:12], "lib_commit": a.lib_commit,
           "data": DATA, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpu": cpu_name(),
           "hnswlib": hnsw_version()}
    n = a.n
    L = ["## veclite at N = %d (issue 13, Scale): wordnet-minilm real rows + perturbed copies, cosine, 384-d" % n, ""]
    L.append("veclite %s (sha256 %s), %s; hnswlib %s; %s; report %s." % (
        a.lib_commit, env["lib_sha256"], env["cpu"], env["hnswlib"], "2 cores", env["date"]))
    d = R.get("data", {}).get("result")
    if d:
        L.append("")
        L.append("Data: the first %d real vectors + %d perturbed copies each (sigma %.3g per dimension, seed %d, "
                 "re-normalised). Cosine distance copy -> its source: mean %.4f (p10 %.4f, p90 %.4f); copy <-> copy "
                 "of one source: %.4f; real data: mean 1st-NN distance %.4f, 10th-NN %.4f. Queries' mean 1st / 10th "
                 "NN distance: %.4f / %.4f over the real rows, %.4f / %.4f over all N. Of the queries' exact top 10, "
                 "%.0f%% are copies, from %.1f distinct source rows on average (min %d, max %d); the nearest is a "
                 "real row for %.0f%% of queries. Ground truth: brute force (%.0f s)%s." % (
                     d["real_rows"], d["copies_per_row"], d["sigma"], d["seed"],
                     d["copy_to_source_cos_dist"]["mean"], d["copy_to_source_cos_dist"]["p10"],
                     d["copy_to_source_cos_dist"]["p90"], d["copy_to_copy_cos_dist_mean"],
                     d["real_nn_cos_dist"]["1st"], d["real_nn_cos_dist"]["10th"],
                     d["queries_real_only"]["1st"], d["queries_real_only"]["10th"],
                     d["queries_full"]["1st"], d["queries_full"]["10th"],
                     100 * d["gt_top10_copies_fraction"], d["gt_top10_distinct_sources_mean"],
                     d["gt_top10_distinct_sources_min_max"][0], d["gt_top10_distinct_sources_min_max"][1],
                     100 * d["gt_top1_is_real_fraction"], d["gt_s"],
                     ("; on the real rows alone it matches %s for %d/%d queries" % (
                         d["gt_check"]["file"], d["gt_check"]["top10_sets_equal"], d["gt_check"]["of"]))
                     if d.get("gt_check") else ""))
    L.append("")
    L.append("### Build, memory, file")
    L.append("")
    L.append("| system | build | CPU s | peak RSS added | veclite_info memory_bytes | file | load (1 min) before |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for q in ("int8", "none"):
        lab = {"int8": "int8", "none": "f32"}[q]
        b = R.get("build-" + q)
        if b:
            r = b["result"]
            L.append("| veclite %s, inserts in one transaction | %.0f s (%.0f rows/s) | %.0f | %s | %s | %s | %s |" % (
                lab, r["build_s"], n / r["build_s"], r["build_cpu_s"], mb(r["rss"]["delta"]),
                mb(r["info"].get("memory_bytes")), mb(r["file_bytes"]), b["uptime_before"].split("load average:")[-1]))
        b = R.get("rebuild-" + q)
        if b:
            r = b["result"]
            L.append("| veclite %s, `SELECT veclite_rebuild('vl')` (2 cores), fresh process | %.0f s (%.0f rows/s) | %.0f | %s | %s | %s (before: %s) | %s |" % (
                lab, r["rebuild_s"], n / r["rebuild_s"], r["rebuild_cpu_s"], mb(r["rss"]["delta"]),
                mb(r["info"].get("memory_bytes")), mb(r["file_bytes"]), mb(r["file_bytes_before"]),
                b["uptime_before"].split("load average:")[-1]))
    b = R.get("hnswlib")
    if b:
        r = b["result"]
        L.append("| hnswlib add_items, %d thread%s | %.0f s (%.0f rows/s) | %.0f | %s | - | %s (save_index) | %s |" % (
            r["threads"], "s" if r["threads"] > 1 else "", r["build_s"], n / r["build_s"], r["build_cpu_s"],
            mb(r["rss"]["delta"]), mb(r["file_bytes"]), b["uptime_before"].split("load average:")[-1]))
    L.append("")
    L.append("Peak RSS added = VmHWM during the build minus VmRSS once the %d vectors were in numpy "
             "(%s MB of f32 held by the benchmark itself)." % (n, "%.0f" % (n * D * 4 / 1e6)))
    c = R.get("cold")
    if c:
        L.append("")
        L.append("### Cold open -> first answer (new process, files not dropped from the OS page cache, but see "
                 "the first rows: idle pages are reclaimed on this VM; target <= 2 s)")
        L.append("")
        L.append("| quantize | variant | import+open ms | veclite_info ms (index loaded?) | first query ms | open -> answer ms | last_load_ms | 2nd query ms | VmRSS after (at open) | RssAnon / RssFile after | VmHWM | load (1 min) |")
        L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for q, xs in c["result"].items():
            if q == "perf":
                continue
            for x in xs:
                if x["variant"] == "scan":
                    continue
                L.append("| %s | %s | %.0f | %s | %.0f | %.0f | %s | %.1f | %s (%s) | %s / %s | %s | %s |" % (
                    q, x["variant"] + (" (PRAGMA mmap_size = 4e9)" if x["variant"] == "mmap" else ""),
                    x["import_open_ms"],
                    ("%.0f (%s)" % (x["info_ms"], x["info_index_loaded"])) if "info_ms" in x else "-",
                    x["first_query_ms"], x["open_to_answer_ms"], x.get("last_load_ms"), x["second_query_ms"],
                    mb(x["rss"]), mb(x["rss_open"]), mb(x.get("rss_anon")), mb(x.get("rss_file")), mb(x["hwm"]),
                    x["load1"]))
        for q, pf in (c["result"].get("perf") or {}).items():
            L.append("")
            if "error" in pf:
                L.append("- perf (%s): %s" % (q, pf["error"]))
                continue
            L.append("perf record of one cold open (%s, first query %.0f ms, load %.0f ms), self time, "
                     "entries >= 0.7%%:" % (q, pf["run"]["first_query_ms"], pf["run"]["last_load_ms"]))
            L.append("")
            L.append("```")
            L.extend(" ".join(x.split()) for x in pf["top"])
            L.append("```")
        for q, xs in c["result"].items():
            if q == "perf":
                continue
            for x in xs:
                if x["variant"] == "scan":
                    L.append("")
                    L.append("- %s, a fresh process reading through SQL every vector BLOB of `vl_rows` (%s): %.0f ms; "
                             "every node BLOB of `vl_graph` (%s): %.0f ms." % (
                                 q, mb(x["rows_blob_bytes"]), x["scan_rows_ms"], mb(x["graph_blob_bytes"]),
                                 x["scan_graph_ms"]))
    s = R.get("sweep")
    if s:
        r = s["result"]
        names, efs = r["names"], r["efs"]
        rec = {tuple_key(k): v for k, v in r["recall"].items()}
        qps = {tuple_key(k): v for k, v in r["qps"].items()}
        L.append("")
        L.append("### QPS and recall@10, paired against hnswlib (%d queries x %d rounds, k = 10, one thread, "
                 "one query at a time; load (1 min) %s)" % (r["nq"], r["rounds"],
                                                             " -> ".join(str(x) for x in r["load1_rounds"][::max(1, len(r["load1_rounds"]) // 4)])))
        L.append("")
        L.append("| system | ef | recall@10 | QPS (median of rounds) | / hnswlib same ef (median, min-max) |")
        L.append("| --- | --- | --- | --- | --- |")

        def ratio(s1, e1, e2):
            return [x / y for x, y in zip(qps[(s1, e1)], qps[("hnswlib", e2)])]
        for nm in names:
            for ef in efs:
                rr = ratio(nm, ef, ef)
                L.append("| %s | %d | %.4f | %.0f | %.3f (%.2f-%.2f) |" % (
                    nm, ef, rec[(nm, ef)], statistics.median(qps[(nm, ef)]), statistics.median(rr), min(rr), max(rr)))
        L.append("")

        def best(nm):
            ok = [ef for ef in efs if rec[(nm, ef)] >= 0.95]
            return min(ok) if ok else None
        hb = best("hnswlib")
        summary = {}
        for nm in names:
            b = best(nm)
            if b is None or hb is None or nm == "hnswlib":
                continue
            rr = ratio(nm, b, hb)
            summary[nm] = {"ef": b, "recall": rec[(nm, b)], "qps": statistics.median(qps[(nm, b)]),
                           "ratio": statistics.median(rr), "min": min(rr), "max": max(rr)}
            L.append("- %s: QPS at recall@10 >= 0.95: %.0f (ef=%d, recall %.4f) = **%.3fx** hnswlib's %.0f "
                     "(ef=%d, recall %.4f), paired median (%.2f-%.2f)" % (
                         nm, summary[nm]["qps"], b, rec[(nm, b)], summary[nm]["ratio"],
                         statistics.median(qps[("hnswlib", hb)]), hb, rec[("hnswlib", hb)], min(rr), max(rr)))
        L.append("")
        L.append("Memory in the query process (VmRSS before -> after each system's first query, i.e. its load; "
                 "veclite_info memory_bytes):")
        L.append("")
        for nm in names:
            x = r["load"][nm]
            L.append("- %s: %s -> %s (+%s; RssAnon +%s); first query %.0f ms%s%s" % (
                nm, mb(x["rss_before"]), mb(x["rss_after"]), mb(x["rss_after"] - x["rss_before"]),
                mb(x["anon_after"] - x["anon_before"]),
                x["first_query_ms"],
                ("; memory_bytes %s, last_load_ms %s, index_shared_uses %s" % (
                    mb(x.get("memory_bytes")), x.get("last_load_ms"), x.get("index_shared_uses")))
                if x.get("memory_bytes") is not None else "",
                ("; load_index %.0f ms" % x["load_index_ms"]) if "load_index_ms" in x else ""))
        R["summary"] = summary
    L.append("")
    L.append("Load before each step (`uptime`):")
    L.append("")
    for k, v in R.items():
        if isinstance(v, dict) and "uptime_before" in v:
            L.append("- %s: %s (%.0f s)" % (k, v["uptime_before"], v.get("wall_s", 0)))
    text = "\n".join(L) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "scale-%d.md" % n), "w") as f:
        f.write(text)
    for q, x in (R.get("cold") or {}).get("result", {}).items():
        for y in (x if q != "perf" else []):
            y.pop("ids", None)
    with open(os.path.join(a.out, "scale-%d.json" % n), "w") as f:
        json.dump({"env": env, "steps": R}, f, indent=1)
    print("wrote %s/scale-%d.md, .json" % (a.out, n))


def tuple_key(k):
    s, ef = k.rsplit("@", 1)
    return (s, int(ef))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def hnsw_version():
    try:
        from importlib.metadata import version
        return version("hnswlib")
    except Exception:
        return "?"


# ---------------------------------------------------------------- main
STEPS = ["data", "build", "rebuild", "hnswlib", "cold", "sweep", "report"]


def run_phase(a, p, phase, qz=None):
    name = phase + ("-" + qz if qz else "")
    rec = {"uptime_before": uptime(), "start": time.strftime("%H:%M:%S")}
    print("== %s  [%s]" % (name, rec["uptime_before"]), flush=True)
    t = time.perf_counter()
    if phase in ("sweep", "report"):
        res = {"sweep": step_sweep, "report": step_report}[phase](a, p)
    else:
        argv = [sys.executable, os.path.abspath(__file__), "--phase", phase] + (["--qz", qz] if qz else []) + \
            a.passthrough
        env = dict(os.environ)
        if phase == "data":
            for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[v] = "2"
        out = p.step(name) + ".child"
        r = subprocess.run(argv + ["--child-out", out], env=env)
        if r.returncode:
            raise SystemExit("%s failed (%d)" % (name, r.returncode))
        res = load(out)
        os.remove(out)
    rec["wall_s"] = time.perf_counter() - t
    rec["uptime_after"] = uptime()
    rec["result"] = res
    if phase != "report":
        save(p.step(name), rec)
    print("== %s done in %.0f s  [%s]" % (name, rec["wall_s"], rec["uptime_after"]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quantize", nargs="+", default=["int8"], choices=["int8", "none"])
    ap.add_argument("--steps", nargs="+", default=STEPS, choices=STEPS)
    ap.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libveclite.so"))
    ap.add_argument("--lib-commit", default="?", help="the commit the library was built from (for the report)")
    ap.add_argument("--workdir", default="/tmp/b1m")
    ap.add_argument("--out", default=os.path.join(ROOT, "benches", "results"))
    ap.add_argument("--sigma", type=float, default=0.025)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--efs", type=int, nargs="+", default=[16, 24, 32, 48, 64, 96, 128, 256])
    ap.add_argument("--hnsw-threads", type=int, default=2)
    ap.add_argument("--cold", type=int, default=3, help="cold-open repetitions per table and variant")
    ap.add_argument("--perf", action="store_true", help="cold: also a perf record of one cold open per table")
    ap.add_argument("--mmap", type=int, default=4_000_000_000,
                    help="PRAGMA mmap_size of the extra 'veclite int8 mmap' connection (0: none)")
    ap.add_argument("--no-rebuilt", action="store_true", help="sweep: leave the rebuilt databases out")
    ap.add_argument("--force", action="store_true", help="redo build/rebuild/hnswlib even if their files exist")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--qz", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.lib = os.path.abspath(a.lib)
    int8b.LIB = a.lib
    os.makedirs(a.workdir, exist_ok=True)
    p = P(a)
    if a.phase:
        fn = {"data": lambda: step_data(a, p), "build": lambda: step_build(a, p, a.qz),
              "rebuild": lambda: step_rebuild(a, p, a.qz), "hnswlib": lambda: step_hnswlib(a, p),
              "cold": lambda: step_cold(a, p)}[a.phase]
        save(a.child_out, fn())
        return
    a.passthrough = ["--n", str(a.n), "--lib", a.lib, "--workdir", a.workdir, "--sigma", str(a.sigma),
                     "--seed", str(a.seed), "--hnsw-threads", str(a.hnsw_threads), "--cold", str(a.cold),
                     "--nq", str(a.nq)] + (["--perf"] if a.perf else []) + [
                     "--quantize"] + a.quantize
    print("veclite %s (%s), N = %d, workdir %s" % (a.lib, harness.sha256(a.lib)[:12], a.n, a.workdir), flush=True)
    for st in STEPS:
        if st not in a.steps:
            continue
        if st in ("build", "rebuild"):
            for qz in a.quantize:
                target = p.db(qz, rebuilt=(st == "rebuild"))
                if os.path.exists(target) and os.path.exists(p.step("%s-%s" % (st, qz))) and not a.force:
                    print("== %s-%s: kept %s" % (st, qz, target))
                    continue
                run_phase(a, p, st, qz)
        elif st == "hnswlib":
            if os.path.exists(p.hnsw) and os.path.exists(p.step("hnswlib")) and not a.force:
                print("== hnswlib: kept %s" % p.hnsw)
                continue
            run_phase(a, p, st)
        else:
            run_phase(a, p, st)


if __name__ == "__main__":
    main()
