#!/usr/bin/env python3
"""Connection-pool benchmark: do the connections of one process share one index?

    /usr/bin/python3 benches/pool.py [--lib target/release/libveclite.so] [--n N]
        [--conns 8] [--db PATH] [--rounds 9] [--nq 1000] [--json]

Standard library only (Debian's /usr/bin/python3 has a sqlite3 module that can load
extensions). Data: $VECLITE_DATA, else ../shared/data/wordnet-minilm, else the
in-repo 10k slice; --n defaults to all of its rows.

The WAL database (table `docs(embedding float[384], pos integer, distance =
cosine)`, N rows inserted in one transaction) is built once in a child process, in
a temporary directory or at --db (reused when it already holds N rows). The
measuring process then loads only the queries, so its RSS is the connections':

  a. RSS (VmRSS) before any connection, after connection 1's first query, and after
     each of connections 2..C's first query: growth after 1 and after C, and their
     ratio (target <= 1.3x: the other connections share connection 1's index).
  b. The first query of connection 1 (it loads the index) against that of
     connection 2, opened while connection 1 holds the index (target <= 0.1x).
  c. Queries per second of one connection running the queries, and of two
     connections running half of them each from two threads (sqlite3 releases the
     GIL in sqlite3_step; the process CPU time
     over the wall time of the two-thread runs shows whether they ran in
     parallel), measured paired: each round runs both, in alternating order, over
     the same queries; the figure is the median of the per-round ratios (target
     >= 1.7x on 2 cores). The load average is printed at the start and the end,
     and how many cores everything else on the machine kept busy meanwhile
     (/proc/stat less this process: builds in other containers count).
"""

import argparse
import array
import json
import os
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIMS = 384
SQL = "SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 10"


def data_dir():
    for d in (os.environ.get("VECLITE_DATA"),
              os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"),
              os.path.join(ROOT, "data", "wordnet-minilm-10k")):
        if d and os.path.exists(os.path.join(d, "base.f16")):
            return os.path.normpath(d)
    sys.exit("pool.py: no data set found")


def data_rows(d):
    return os.path.getsize(os.path.join(d, "base.f16")) // (DIMS * 2)


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def busy_seconds():
    """CPU seconds the whole machine (every process, other containers too) spent
    busy since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def connect(lib, path):
    c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    c.enable_load_extension(True)
    c.load_extension(lib)
    c.enable_load_extension(False)
    return c


def info(c):
    return json.loads(c.execute("SELECT veclite_info('docs')").fetchone()[0])


def build(lib, path, n):
    """Child process: the database with the first n rows."""
    d = data_dir()
    raw = open(os.path.join(d, "base.f16"), "rb").read()
    pos = open(os.path.join(d, "pos.u8"), "rb").read()
    c = connect(lib, path)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("CREATE VIRTUAL TABLE docs USING veclite(embedding float[384], pos integer, distance = cosine)")
    t0 = time.perf_counter()
    c.execute("BEGIN")
    c.executemany("INSERT INTO docs(rowid, embedding, pos) VALUES (?, ?, ?)",
                  ((i, array.array("f", struct.unpack_from(f"<{DIMS}e", raw, i * DIMS * 2)).tobytes(), pos[i])
                   for i in range(n)))
    c.execute("COMMIT")
    print(f"built {path}: {n} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    c.close()


def rows_in(lib, path):
    if not os.path.exists(path):
        return -1
    try:
        c = connect(lib, path)
        try:
            return c.execute("SELECT count(*) FROM docs_rows").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return -1


def run(c, queries):
    out = []
    for q in queries:
        out.append([r[0] for r in c.execute(SQL, (q,))])
    return out


def timed(conns, queries):
    """The queries, split between the connections (connection i runs every
    len(conns)-th query from the i-th), one thread per connection when several:
    (wall seconds, process CPU seconds, queries run)."""
    c0, w0 = time.process_time(), time.perf_counter()
    if len(conns) == 1:
        run(conns[0], queries)
    else:
        start = threading.Barrier(len(conns))

        def work(i):
            start.wait()
            run(conns[i], queries[i::len(conns)])
        ts = [threading.Thread(target=work, args=(i,)) for i in range(len(conns))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return time.perf_counter() - w0, time.process_time() - c0, len(queries)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libveclite.so"))
    ap.add_argument("--n", type=int, default=0, help="rows (default: all rows of the data set)")
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--db", help="database to build or reuse (default: a new temp dir)")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    d = data_dir()
    n = args.n or data_rows(d)
    if n > data_rows(d):
        sys.exit(f"pool.py: {d} has {data_rows(d)} rows, {n} asked")
    lib = os.path.abspath(args.lib)
    if args.build_only:
        build(lib, args.db, n)
        return
    db = args.db or os.path.join(tempfile.mkdtemp(prefix="veclite-pool-"), "pool.db")
    if rows_in(lib, db) != n:
        if os.path.exists(db):
            sys.exit(f"pool.py: {db} exists but does not hold {n} rows of docs; remove it or pick another --db")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--build-only", "--db", db,
                        "--n", str(n), "--lib", lib], check=True)

    qraw = open(os.path.join(d, "queries.f32"), "rb").read()
    nq = min(args.nq, len(qraw) // (DIMS * 4))
    queries = [qraw[i * DIMS * 4:(i + 1) * DIMS * 4] for i in range(nq)]
    gt = None
    gtfile = {10000: "gt10k.i32", 100000: "gt100k.i32"}.get(n)
    if gtfile and os.path.exists(os.path.join(d, gtfile)):
        g = open(os.path.join(d, gtfile), "rb").read()
        gt = [set(struct.unpack_from("<10i", g, i * 400)) for i in range(nq)]
    load0 = os.getloadavg()[0]

    # a, b: RSS and first queries.
    rss0 = rss_kb()
    conns, firsts, rss = [], [], []
    for i in range(args.conns):
        c = connect(lib, db)
        c.execute("SELECT count(*) FROM docs_config").fetchone()  # opened, schema read
        t0 = time.perf_counter()
        c.execute(SQL, (queries[0],)).fetchall()
        firsts.append(time.perf_counter() - t0)
        rss.append(rss_kb())
        conns.append(c)
    infos = [info(c) for c in conns]
    growth1 = (rss[0] - rss0) / 1024
    growthN = (rss[-1] - rss0) / 1024
    rss_ratio = growthN / growth1 if growth1 else float("nan")
    first_ratio = firsts[1] / firsts[0] if args.conns > 1 else float("nan")
    loads = sum(i["index_loads"] for i in infos)
    # An older build (a private index per connection) reports neither of these.
    shared_uses = sum(i.get("index_shared_uses", 0) for i in infos)

    # c: one connection vs two in parallel, paired rounds.
    res = run(conns[0], queries)  # warm up; recall
    recall = None
    if gt is not None:
        recall = sum(len(set(r) & g) for r, g in zip(res, gt)) / (10 * len(gt))
    one, two, ratios, cpu2 = [], [], [], []
    busy0, own0, wall0 = busy_seconds(), time.process_time(), time.perf_counter()
    pair = conns[:2] if args.conns >= 2 else [conns[0], connect(lib, db)]
    for r in range(args.rounds):
        for what in ((1, 2) if r % 2 == 0 else (2, 1)):
            wall, cpu, nqs = timed(conns[:1] if what == 1 else pair, queries)
            (one if what == 1 else two).append(nqs / wall)
            if what == 2:
                cpu2.append(cpu / wall)
        ratios.append(two[-1] / one[-1])
    load1 = os.getloadavg()[0]
    # Cores kept busy by everything else on the machine while c ran.
    others = ((busy_seconds() - busy0) - (time.process_time() - own0)) / (time.perf_counter() - wall0)

    fig = {
        "lib": lib, "db": db, "data": d, "n": n, "conns": args.conns, "queries": nq,
        "rounds": args.rounds, "load_avg_start": load0, "load_avg_end": load1,
        "other_busy_cores": others, "cpus": os.cpu_count(),
        "rss_before_mb": rss0 / 1024, "rss_growth_1_mb": growth1, "rss_growth_all_mb": growthN,
        "rss_growth_ratio": rss_ratio, "rss_after_each_mb": [(x - rss0) / 1024 for x in rss],
        "first_query_ms": [x * 1e3 for x in firsts], "first_query_ratio": first_ratio,
        "last_load_ms_conn1": infos[0]["last_load_ms"], "index_loads": loads,
        "index_shared_uses": shared_uses, "versions_alive": infos[-1].get("versions_alive", "-"),
        "memory_bytes": infos[0]["memory_bytes"],
        "qps_1": statistics.median(one), "qps_2": statistics.median(two),
        "qps_ratio_median": statistics.median(ratios), "qps_ratio_min": min(ratios),
        "qps_ratio_max": max(ratios), "cpu_per_wall_2": statistics.median(cpu2), "recall_at_10": recall,
    }
    later = ", ".join(f"{x:.1f}" for x in fig["first_query_ms"][1:])
    print(f"N={n} ({d}), {args.conns} connections, {nq} queries (k=10, ef_search default), "
          f"{args.rounds} paired rounds; load average {load0:.2f} at start, {load1:.2f} at end; "
          f"other processes kept {others:.2f} of {os.cpu_count()} cores busy during the QPS rounds")
    print(f"library {lib}")
    print("| figure | value | target |")
    print("| --- | --- | --- |")
    print(f"| RSS growth after connection 1's first query | {growth1:.1f} MB | |")
    print(f"| RSS growth after {args.conns} connections' first queries | {growthN:.1f} MB | |")
    print(f"| ratio {args.conns} / 1 | {rss_ratio:.3f}x | <= 1.3x |")
    print(f"| first query, connection 1 (loads the index; last_load_ms {infos[0]['last_load_ms']}) "
          f"| {firsts[0] * 1e3:.1f} ms | |")
    print(f"| first query, connection 2 (1 holds the index) | {firsts[1] * 1e3:.2f} ms | |")
    print(f"| ratio 2 / 1 | {first_ratio:.4f}x | <= 0.1x |")
    print(f"| first queries, connections 2..{args.conns} | {later} ms | |")
    print(f"| index_loads / index_shared_uses over the {args.conns} connections; versions_alive "
          f"| {loads} / {shared_uses}; {fig['versions_alive']} | 1 / {args.conns - 1}; 1 |")
    print(f"| QPS, 1 connection (median of rounds) | {fig['qps_1']:.0f} | |")
    print(f"| QPS, 2 connections in 2 threads, half the queries each (median of rounds) | {fig['qps_2']:.0f} | |")
    print(f"| 2 / 1 (median of per-round ratios; min, max) | {fig['qps_ratio_median']:.3f}x "
          f"({min(ratios):.3f}, {max(ratios):.3f}) | >= 1.7x |")
    print(f"| process CPU / wall, 2 threads | {fig['cpu_per_wall_2']:.2f} | (2 = both in parallel) |")
    if recall is not None:
        print(f"| recall@10 | {recall:.4f} | |")
    if args.json:
        print(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()
