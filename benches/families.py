#!/usr/bin/env python3
"""Filtered KNN with a FRESH filter value in every query: veclite vs sqlite-vec.

Real applications bring their own filter value with every request (a tenant id, a date
window, a few categories), so a per-value cache or a plan tuned for one value does not
help; this benchmark draws new values for every query.

    .venv/bin/pip install apsw numpy sqlite-vec==0.1.9
    cp target/release/libveclite.so /tmp/fam/libveclite.so
    .venv/bin/python benches/families.py --lib /tmp/fam/libveclite.so [--n 100000]
        [--nq 200] [--db-dir DIR] [--json out.json] [--seed 1]

Data: $VECLITE_DATA, else ../shared/data/wordnet-minilm beside the checkout (100k rows),
else the in-repo 10k slice data/wordnet-minilm-10k; --n defaults to every row found.
Query vectors: queries.f32, a different block of --nq vectors per family (wrapping
around when 5 x nq exceeds the 1,000 there).

Metadata, generated here from --seed (numpy default_rng), independent of the vectors:
  tenant integer  0..1999, Zipf s=1.1 (tenant r has weight 1/(r+1)^1.1): tenant 0 holds
                  ~17% of the rows, the rarest ~0.004% (a few rows at 100k)
  day    integer  0..3649 uniform (ten years)
  cat    integer  0..99, Zipf s=0.9: 3-value IN lists cover ~0.75% .. ~30%
Query families, every query with values drawn afresh (seeded):
  1 unfiltered
  2 tenant = ?                 tenant drawn from the same Zipf (popular tenants asked often)
  3 day BETWEEN ? AND ?        a window of 1%..60% of the range (width uniform), anywhere
  4 cat IN (?, ?, ?)           3 distinct categories drawn from the cat Zipf
  5 tenant = ? AND day >= ?    tenant from the Zipf, day uniform 0..3649
veclite:    CREATE VIRTUAL TABLE t USING veclite(embedding float[384], tenant integer,
            day integer, cat integer, distance = cosine)  (default m, ef_construction,
            ef_search = 64); SELECT rowid FROM t WHERE knn_match(embedding, ?) AND k = 10
            AND <filter>
sqlite-vec: CREATE VIRTUAL TABLE v USING vec0(embedding float[384] distance_metric=cosine,
            tenant integer, day integer, cat integer); SELECT rowid FROM v WHERE
            embedding MATCH ? AND k = 10 AND <filter> (the same filter text; vec0
            metadata columns take =, >=, <= (BETWEEN) and IN)

Measured per family: selectivity (min..max over the queries of the matching fraction,
from the generated metadata), recall@10 against exact cosine brute force (float64 numpy)
over the matching rows (|returned & exact| / min(10, matching); a query with no
matching row counts 1 if it returns nothing), p50/p95 latency (each query timed end to
end around execute + fetchall), p95 / unfiltered p95 (paired: every filtered veclite
query is run next to an unfiltered one, before or after it in turn, and the ratio
divides by the p95 of those unfiltered queries, so both sides saw the same moments of
a machine whose speed drifts; also given against the unfiltered family, measured
separately, and that is the only ratio with --no-pairs), sqlite-vec
p50 and recall, sqlite-vec p50 / veclite p50, veclite's path choices (veclite_info
searches deltas), and every returned row is checked against the filter.

Order: each table is built once (inserts in one transaction) into --db-dir (reused when
its file holds the same N, seed and library, or any library with --any-lib; default: a new temporary directory). Then
the script waits until the 1-minute load average is below --max-load (polls every 10 s,
at most --max-wait s, then goes on and says so), warms both engines up with queries
whose filter values are drawn from a separate stream (so nothing timed was seen
before), and runs the families one by one, veclite and sqlite-vec on the same queries
back to back (which goes first alternates per family), so a drift of the machine's
speed affects both. Load averages at start and end are printed.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
try:
    import numpy as np  # noqa: E402
except ImportError:
    sys.exit("families.py needs numpy: .venv/bin/pip install numpy")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = 384
K = 10
N_TENANTS, TENANT_S = 2000, 1.1
N_DAYS = 3650
N_CATS, CAT_S = 100, 0.9
FAMILIES = [
    ("unfiltered", ""),
    ("tenant", "tenant = ?"),
    ("day window", "day BETWEEN ? AND ?"),
    ("cat IN (3)", "cat IN (?, ?, ?)"),
    ("tenant + day", "tenant = ? AND day >= ?"),
]


# ---------------------------------------------------------------- data
def data_dir():
    for d in (os.environ.get("VECLITE_DATA"),
              os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"),
              os.path.join(ROOT, "data", "wordnet-minilm-10k")):
        if d and os.path.exists(os.path.join(d, "base.f16")):
            return os.path.normpath(d)
    sys.exit("families.py: no data set found ($VECLITE_DATA, ../shared/data/wordnet-minilm, "
             "data/wordnet-minilm-10k)")


def zipf_p(n, s):
    p = np.arange(1, n + 1, dtype=np.float64) ** -s
    return p / p.sum()


def gen_meta(n, seed):
    rng = np.random.default_rng([seed, 1])
    tenant = rng.choice(N_TENANTS, size=n, p=zipf_p(N_TENANTS, TENANT_S)).astype(np.int64)
    day = rng.integers(0, N_DAYS, size=n).astype(np.int64)
    cat = rng.choice(N_CATS, size=n, p=zipf_p(N_CATS, CAT_S)).astype(np.int64)
    return tenant, day, cat


def meta_digest(tenant, day, cat):
    h = hashlib.sha256()
    for a in (tenant, day, cat):
        h.update(a.astype("<i8").tobytes())
    return h.hexdigest()[:16]


def draw_params(family, rng, nq):
    """nq parameter tuples for a family (fresh values per query)."""
    pt, pc = zipf_p(N_TENANTS, TENANT_S), zipf_p(N_CATS, CAT_S)
    out = []
    for _ in range(nq):
        if family == "unfiltered":
            out.append(())
        elif family == "tenant":
            out.append((int(rng.choice(N_TENANTS, p=pt)),))
        elif family == "day window":
            w = max(1, int(round(rng.uniform(0.01, 0.60) * N_DAYS)))
            a = int(rng.integers(0, N_DAYS - w + 1))
            out.append((a, a + w - 1))
        elif family == "cat IN (3)":
            out.append(tuple(int(x) for x in rng.choice(N_CATS, size=3, replace=False, p=pc)))
        elif family == "tenant + day":
            out.append((int(rng.choice(N_TENANTS, p=pt)), int(rng.integers(0, N_DAYS))))
        else:
            raise ValueError(family)
    return out


def mask_for(family, params, tenant, day, cat):
    if family == "unfiltered":
        return np.ones(len(tenant), dtype=bool)
    if family == "tenant":
        return tenant == params[0]
    if family == "day window":
        return (day >= params[0]) & (day <= params[1])
    if family == "cat IN (3)":
        return np.isin(cat, params)
    if family == "tenant + day":
        return (tenant == params[0]) & (day >= params[1])
    raise ValueError(family)


def exact_topk(sims_row, mask, k=K):
    ids = np.flatnonzero(mask)
    if len(ids) == 0:
        return []
    s = sims_row[ids]
    kk = min(k, len(ids))
    part = np.argpartition(-s, kk - 1)[:kk] if kk < len(ids) else np.arange(len(ids))
    return [int(ids[j]) for j in sorted(part.tolist(), key=lambda j: (-s[j], ids[j]))]


# ---------------------------------------------------------------- SQLite
def connect(path, lib=None, vec=False):
    try:
        import apsw
        c = apsw.Connection(path)
        c.enable_load_extension(True)
        kind = "apsw %s, SQLite %s" % (apsw.apsw_version(), apsw.sqlite_lib_version())
    except ImportError:
        import sqlite3
        c = sqlite3.connect(path, isolation_level=None)
        c.enable_load_extension(True)
        kind = "sqlite3 module, SQLite %s" % sqlite3.sqlite_version
    if lib:
        c.load_extension(lib)
    if vec:
        import sqlite_vec
        c.load_extension(sqlite_vec.loadable_path())
    return c, kind


def q1(c, sql, args=()):
    for row in c.execute(sql, args):
        return row
    return None


def db_ok(c, n, stamp):
    try:
        row = q1(c, "SELECT value FROM families_info WHERE key = 'stamp'")
        # a stamp ending in " lib=*" accepts a table built by any library
        ok = row is not None and (row[0] == stamp or (stamp.endswith(" lib=*") and row[0].startswith(stamp[:-1])))
        return ok and q1(c, "SELECT count(*) FROM %s" % TABLE[c.engine])[0] == n
    except Exception:
        return False


TABLE = {"veclite": "t", "sqlite-vec": "v"}
DDL = {
    "veclite": "CREATE VIRTUAL TABLE t USING veclite(embedding float[384], tenant integer, "
               "day integer, cat integer, distance = cosine)",
    "sqlite-vec": "CREATE VIRTUAL TABLE v USING vec0(embedding float[384] distance_metric=cosine, "
                  "tenant integer, day integer, cat integer)",
}
KNN = {
    "veclite": "SELECT rowid FROM t WHERE knn_match(embedding, ?) AND k = %d" % K,
    "sqlite-vec": "SELECT rowid FROM v WHERE embedding MATCH ? AND k = %d" % K,
}


class Conn:
    """A connection plus the engine name (apsw connections take no attributes)."""

    def __init__(self, c, engine):
        self.c, self.engine = c, engine

    def execute(self, sql, args=()):
        return self.c.execute(sql, args)


def open_or_build(engine, path, n, stamp, lib, base, meta, log):
    c, kind = connect(path, lib=lib if engine == "veclite" else None, vec=engine == "sqlite-vec")
    conn = Conn(c, engine)
    if os.path.exists(path) and db_ok(conn, n, stamp):
        log("%s: reusing %s" % (engine, path))
        return conn, kind, None
    c.close()
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c, kind = connect(path, lib=lib if engine == "veclite" else None, vec=engine == "sqlite-vec")
    conn = Conn(c, engine)
    tenant, day, cat = meta
    log("%s: building %s (%d rows, one transaction) ..." % (engine, path, n))
    t0 = time.perf_counter()
    c.execute(DDL[engine])
    c.execute("BEGIN")
    sql = "INSERT INTO %s(rowid, embedding, tenant, day, cat) VALUES (?, ?, ?, ?, ?)" % TABLE[engine]
    rows = ((i, base[i].tobytes(), int(tenant[i]), int(day[i]), int(cat[i])) for i in range(n))
    if hasattr(c, "executemany"):
        c.executemany(sql, rows)
    else:
        cur = c.cursor()
        cur.executemany(sql, rows)
    c.execute("CREATE TABLE families_info(key TEXT PRIMARY KEY, value TEXT)")
    c.execute("INSERT INTO families_info VALUES ('stamp', ?)", (stamp,))
    c.execute("COMMIT")
    build_s = time.perf_counter() - t0
    log("%s: built in %.1f s" % (engine, build_s))
    return conn, kind, build_s


# what a query's latency is measured with (--clock)
CLOCK = [time.perf_counter]


def run_queries(conn, where, qvecs, params, paired=None):
    """Runs the queries; with `paired` (a list of query vectors), each filtered query
    is paired with one unfiltered query on the same connection, run right before or
    after it (alternating), and the unfiltered latencies are returned too (empty
    without): both sides of the p95 ratio then see the same moments of the machine."""
    sql = KNN[conn.engine] + (" AND " + where if where else "")
    usql = KNN[conn.engine]
    ex = conn.c.execute
    lat, ulat, ids, err = [], [], [], None
    pc = CLOCK[0]
    try:
        for j, (qb, p) in enumerate(zip(qvecs, params)):
            a = (qb,) + tuple(p)
            if paired is not None and j % 2 == 0:
                t = pc()
                ex(usql, (paired[j % len(paired)],)).fetchall()
                ulat.append(pc() - t)
            t = pc()
            got = ex(sql, a).fetchall()
            lat.append(pc() - t)
            ids.append([r[0] for r in got])
            if paired is not None and j % 2 == 1:
                t = pc()
                ex(usql, (paired[j % len(paired)],)).fetchall()
                ulat.append(pc() - t)
    except Exception as e:  # reported, not worked around
        err = "%s: %s" % (type(e).__name__, e)
    return sql, lat, ids, err, ulat


def veclite_searches(conn):
    try:
        info = json.loads(q1(conn, "SELECT veclite_info('t')")[0])
        s = info.get("searches", {})
        return {k: v for k, v in s.items() if isinstance(v, (int, float))}
    except Exception:
        return {}


def pct(lat, p):
    return float(np.percentile(np.array(lat) * 1e3, p)) if lat else None


def wait_for_load(max_load, max_wait, log):
    t0 = time.time()
    la = os.getloadavg()[0]
    while la >= max_load and time.time() - t0 < max_wait:
        log("load average %.2f >= %.2f, waiting ..." % (la, max_load))
        time.sleep(10)
        la = os.getloadavg()[0]
    waited = time.time() - t0
    ok = la < max_load
    if not ok:
        log("load average still %.2f after %.0f s: going on" % (la, waited))
    return {"waited_s": round(waited, 1), "below_threshold": ok, "loadavg": la}


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libveclite.so"),
                    help="veclite library (copied into the work dir before use)")
    ap.add_argument("--n", type=int, default=None, help="rows (default: all rows found)")
    ap.add_argument("--nq", type=int, default=200, help="queries per family")
    ap.add_argument("--warm", type=int, default=20, help="untimed warm-up queries per engine")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db-dir", default=None, help="keep/reuse the databases here")
    ap.add_argument("--json", default=None, help="write raw results here")
    ap.add_argument("--max-load", type=float, default=1.3)
    ap.add_argument("--max-wait", type=float, default=600)
    ap.add_argument("--no-sqlite-vec", action="store_true")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time queries by the wall clock (default) or by the querying thread's CPU time "
                         "(time.thread_time: on a loaded machine it leaves out waiting for a core)")
    ap.add_argument("--no-pairs", action="store_true",
                    help="do not pair every filtered veclite query with an unfiltered one (the p95 "
                         "ratio then divides by the unfiltered family's p95, measured at another time)")
    ap.add_argument("--any-lib", action="store_true",
                    help="reuse a veclite table built by another library (same storage format)")
    args = ap.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.thread_time

    def log(msg):
        print("# " + msg, file=sys.stderr, flush=True)

    load_start = os.getloadavg()
    ddir = data_dir()
    rows_found = os.path.getsize(os.path.join(ddir, "base.f16")) // (D * 2)
    n = args.n or rows_found
    if n > rows_found:
        sys.exit("families.py: %d rows asked, %s has %d" % (n, ddir, rows_found))
    work = tempfile.mkdtemp(prefix="veclite-families-")
    lib = os.path.join(work, "libveclite.so")
    shutil.copyfile(args.lib, lib)
    lib_sha = hashlib.sha256(open(lib, "rb").read()).hexdigest()
    db_dir = args.db_dir or work
    os.makedirs(db_dir, exist_ok=True)

    base = np.fromfile(os.path.join(ddir, "base.f16"), dtype="<f2", count=n * D).astype("<f4").reshape(-1, D)
    allq = np.fromfile(os.path.join(ddir, "queries.f32"), dtype="<f4").reshape(-1, D)
    tenant, day, cat = gen_meta(n, args.seed)
    digest = meta_digest(tenant, day, cat)
    engines = ["veclite"] + ([] if args.no_sqlite_vec else ["sqlite-vec"])
    conns, builds, kinds = {}, {}, {}
    for eng in engines:
        stamp = "n=%d seed=%d meta=%s" % (n, args.seed, digest) + (" lib=%s" % ("*" if args.any_lib else lib_sha[:16]) if eng == "veclite" else "")
        path = os.path.join(db_dir, "%s-%d.db" % ("veclite" if eng == "veclite" else "vec0", n))
        conns[eng], kinds[eng], builds[eng] = open_or_build(eng, path, n, stamp, lib, base,
                                                            (tenant, day, cat), log)
    versions = {"veclite": q1(conns["veclite"], "SELECT veclite_version()")[0]}
    if "sqlite-vec" in conns:
        versions["sqlite-vec"] = q1(conns["sqlite-vec"], "SELECT vec_version()")[0]

    # exact answers: float64 cosine over the decoded float32 vectors
    b64 = base.astype(np.float64)
    b64 /= np.linalg.norm(b64, axis=1, keepdims=True)
    prng = np.random.default_rng([args.seed, 2])        # timed parameters
    wrng = np.random.default_rng([args.seed, 3])        # warm-up parameters
    plan = []
    for fi, (fam, where) in enumerate(FAMILIES):
        qidx = [(fi * args.nq + j) % len(allq) for j in range(args.nq)]
        qv = allq[qidx]
        params = draw_params(fam, prng, args.nq)
        q64 = qv.astype(np.float64)
        q64 /= np.linalg.norm(q64, axis=1, keepdims=True)
        sims = q64 @ b64.T
        masks = [mask_for(fam, p, tenant, day, cat) for p in params]
        counts = [int(m.sum()) for m in masks]
        gt = [exact_topk(sims[j], masks[j]) for j in range(args.nq)]
        plan.append({"family": fam, "where": where, "qidx": qidx, "qbytes": [q.tobytes() for q in qv],
                     "params": params, "counts": counts, "gt": gt})
        del sims
    del b64

    # warm-up: load veclite's index, touch sqlite-vec's pages; values not used later
    warm_vecs = [allq[len(allq) - 1 - j].tobytes() for j in range(args.warm)]
    for eng in engines:
        for fam, where in FAMILIES:
            run_queries(conns[eng], where, warm_vecs[: max(2, args.warm // len(FAMILIES))],
                        draw_params(fam, wrng, max(2, args.warm // len(FAMILIES))))
        run_queries(conns[eng], "", warm_vecs, [()] * len(warm_vecs))

    wait = wait_for_load(args.max_load, args.max_wait, log)
    load_timed_start = os.getloadavg()
    results = []
    for fi, p in enumerate(plan):
        fam, where = p["family"], p["where"]
        order = engines if fi % 2 == 0 else engines[::-1]
        r = {"family": fam, "where": where, "nq": args.nq,
             "selectivity_min": min(p["counts"]) / n, "selectivity_max": max(p["counts"]) / n,
             "selectivity_median": float(np.median(p["counts"])) / n,
             "matching_min": min(p["counts"]), "matching_max": max(p["counts"]),
             "zero_match_queries": sum(1 for x in p["counts"] if x == 0), "engines": {}}
        for eng in order:
            before = veclite_searches(conns[eng]) if eng == "veclite" else None
            pair = eng == "veclite" and fi > 0 and not args.no_pairs
            sql, lat, ids, err, ulat = run_queries(conns[eng], where, p["qbytes"], p["params"],
                                                   paired=plan[0]["qbytes"] if pair else None)
            e = {"sql": sql, "error": err, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
                 "p99_ms": pct(lat, 99), "mean_ms": float(np.mean(lat) * 1e3) if lat else None,
                 "lat_ms": [x * 1e3 for x in lat]}
            if pair:
                e["paired_unfiltered_p50_ms"] = pct(ulat, 50)
                e["paired_unfiltered_p95_ms"] = pct(ulat, 95)
            rec, short, bad, worst = [], 0, 0, []
            for j, got in enumerate(ids):
                g, cnt = p["gt"][j], p["counts"][j]
                want = min(K, cnt)
                hit = len(set(got) & set(g))
                rec.append(hit / want if want else (1.0 if not got else 0.0))
                if len(got) < want:
                    short += 1
                m = mask_for(fam, p["params"][j], tenant, day, cat)
                bad += sum(1 for x in got if not (0 <= x < n and m[x]))
                if want and hit < want:
                    worst.append({"query": p["qidx"][j], "params": list(p["params"][j]), "matching": cnt,
                                  "recall": hit / want, "got": got, "exact": g})
            e.update({"recall": float(np.mean(rec)) if rec else None,
                      "recall_min": float(min(rec)) if rec else None,
                      "queries_below_0.9": sum(1 for x in rec if x < 0.9),
                      "short": short, "non_matching_rows": bad,
                      "misses": sorted(worst, key=lambda w: w["recall"])[:20]})
            if eng == "veclite":
                after = veclite_searches(conns[eng])
                e["paths"] = {k: after.get(k, 0) - before.get(k, 0) for k in after
                              if after.get(k, 0) != before.get(k, 0)}
            r["engines"][eng] = e
        results.append(r)
    load_end = os.getloadavg()

    base_p95 = results[0]["engines"]["veclite"]["p95_ms"]
    for r in results:
        v = r["engines"]["veclite"]
        s = r["engines"].get("sqlite-vec")
        r["p95_vs_unfiltered_family"] = v["p95_ms"] / base_p95 if v["p95_ms"] and base_p95 else None
        up = v.get("paired_unfiltered_p95_ms")
        r["p95_vs_unfiltered"] = (v["p95_ms"] / up if v["p95_ms"] and up
                                  else r["p95_vs_unfiltered_family"])
        r["sqlite_vec_over_veclite_p50"] = (s["p50_ms"] / v["p50_ms"]
                                            if s and s["p50_ms"] and v["p50_ms"] else None)
        r["targets"] = {
            "recall>=0.95": v["recall"] is not None and v["recall"] >= 0.95,
            "p95<=3x unfiltered": r["p95_vs_unfiltered"] is not None and r["p95_vs_unfiltered"] <= 3.0,
            ">=30x sqlite-vec p50": (r["sqlite_vec_over_veclite_p50"] is not None
                                     and r["sqlite_vec_over_veclite_p50"] >= 30.0),
        }

    # ---------------------------------------------------------- report
    f3 = lambda x: "-" if x is None else "%.3f" % x  # noqa: E731
    f2 = lambda x: "-" if x is None else "%.2f" % x  # noqa: E731
    yn = lambda b: "yes" if b else "**no**"  # noqa: E731
    print("N=%d (%s), %d queries per family, k=%d, seed %d; veclite %s (sha256 %s), ef_search=64 "
          "(default); sqlite-vec %s; %s; %s; %s; latency by %s" % (
              n, ddir, args.nq, K, args.seed, versions["veclite"], lib_sha[:12],
              versions.get("sqlite-vec", "-"), kinds["veclite"], platform.processor() or platform.machine(),
              time.strftime("%Y-%m-%d %H:%M:%S %z"),
              "the wall clock" if args.clock == "wall" else "the querying thread's CPU time"))
    print("load average (1/5/15 min): start %s; timed part start %s; end %s; waited %.0f s for "
          "1-min < %.2f%s" % (
              " ".join("%.2f" % x for x in load_start), " ".join("%.2f" % x for x in load_timed_start),
              " ".join("%.2f" % x for x in load_end), wait["waited_s"], args.max_load,
              "" if wait["below_threshold"] else " (NOT reached: went on)"))
    for eng in engines:
        print("%s DB: %s" % (eng, "built in %.1f s" % builds[eng] if builds[eng] else "reused"))
    print()
    print("| family | filter | selectivity min..max (median) | veclite recall@10 (min) | veclite p50 ms "
          "| veclite p95 ms | p95 / unfiltered p95, paired (unfiltered p95 ms; / the unfiltered family's) | sqlite-vec p50 ms | sqlite-vec recall@10 "
          "| sqlite-vec / veclite p50 | veclite paths | recall / p95 / 30x |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        v = r["engines"]["veclite"]
        s = r["engines"].get("sqlite-vec", {})
        sel = "%.4f%%..%.2f%% (%.2f%%)" % (100 * r["selectivity_min"], 100 * r["selectivity_max"],
                                            100 * r["selectivity_median"])
        paths = ", ".join("%s %d" % kv for kv in sorted(v.get("paths", {}).items())) or "-"
        t = r["targets"]
        ratio = "%sx (%s; %sx)" % (f2(r["p95_vs_unfiltered"]), f3(v.get("paired_unfiltered_p95_ms")),
                                  f2(r["p95_vs_unfiltered_family"]))
        print("| %s | `%s` | %s | %s (%s) | %s | %s | %s | %s | %s | %sx | %s | %s / %s / %s |" % (
            r["family"], r["where"] or "-", sel, f3(v["recall"]), f2(v["recall_min"]), f3(v["p50_ms"]),
            f3(v["p95_ms"]), ratio, f2(s.get("p50_ms")), f3(s.get("recall")),
            "%.1f" % r["sqlite_vec_over_veclite_p50"] if r["sqlite_vec_over_veclite_p50"] else "-",
            paths, yn(t["recall>=0.95"]), yn(t["p95<=3x unfiltered"]), yn(t[">=30x sqlite-vec p50"])))
    print()
    for r in results:
        for eng, e in r["engines"].items():
            notes = []
            if e["error"]:
                notes.append("ERROR: " + e["error"])
            if e["short"]:
                notes.append("%d queries returned fewer than min(10, matching) rows" % e["short"])
            if e["non_matching_rows"]:
                notes.append("%d returned rows fail the filter" % e["non_matching_rows"])
            if e["queries_below_0.9"]:
                notes.append("%d queries with recall < 0.9" % e["queries_below_0.9"])
            if notes:
                print("- %s / %s: %s" % (r["family"], eng, "; ".join(notes)))
        if r["zero_match_queries"]:
            print("- %s: %d queries match no row" % (r["family"], r["zero_match_queries"]))

    if args.json:
        out = {"n": n, "nq": args.nq, "k": K, "seed": args.seed, "data": ddir, "lib_sha256": lib_sha,
               "versions": versions, "host": kinds, "load_start": load_start,
               "load_timed_start": load_timed_start, "load_end": load_end, "wait": wait,
               "builds_s": builds, "families": results,
               "params": {p["family"]: [list(x) for x in p["params"]] for p in plan}}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    for c in conns.values():
        c.c.close()
    if not args.db_dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
