#!/usr/bin/env python3
"""Paired A/B benchmark of two builds of the extension: are they the same speed?

    cargo build --release && cp target/release/libveclite.so /tmp/new.so
    git stash / checkout the other version, build, cp ... /tmp/old.so
    /usr/bin/python3 benches/ab.py /tmp/old.so /tmp/new.so [--n 10000] [--rounds 9]

Runs with the standard library only (Debian's /usr/bin/python3 has a sqlite3 module
that can load extensions; the pyenv python cannot). Data: $VECLITE_DATA, else
../shared/data/wordnet-minilm, else the in-repo 10k slice.

Each build gets its own database (N rows inserted in one transaction, timed: the
build time), then the builds are measured *paired*: in every round each build runs
the same queries (k = 10 at ef = 32 and ef = 64, and a filtered query), in an order
that alternates between rounds; the reported ratio is the median of the per-round
ratios B/A of queries per second, so drifts of the machine's speed within a minute
affect both sides alike. Recall@10 is computed against the exact ground truth.
"""

import argparse
import array
import os
import sqlite3
import statistics
import struct
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIMS = 384


def data_dir():
    for d in (os.environ.get("VECLITE_DATA"),
              os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"),
              os.path.join(ROOT, "data", "wordnet-minilm-10k")):
        if d and os.path.exists(os.path.join(d, "base.f16")):
            return d
    sys.exit("ab.py: no data set found")


def load(n, nq):
    d = data_dir()
    raw = open(os.path.join(d, "base.f16"), "rb").read()
    if len(raw) < n * DIMS * 2:
        sys.exit(f"ab.py: {d} has fewer than {n} rows")
    base = [array.array("f", struct.unpack_from(f"<{DIMS}e", raw, i * DIMS * 2)).tobytes()
            for i in range(n)]
    qraw = open(os.path.join(d, "queries.f32"), "rb").read()
    queries = [qraw[i * DIMS * 4:(i + 1) * DIMS * 4] for i in range(nq)]
    gt = None
    if n == 10000:
        g = open(os.path.join(d, "gt10k.i32"), "rb").read()
        gt = [set(struct.unpack_from("<10i", g, i * 400)) for i in range(nq)]
    pos = open(os.path.join(d, "pos.u8"), "rb").read()[:n]
    return base, queries, gt, pos


def connect(so, path):
    c = sqlite3.connect(path, isolation_level=None)
    c.enable_load_extension(True)
    c.load_extension(so)
    return c


def build(so, path, base, pos):
    c = connect(so, path)
    c.execute("CREATE VIRTUAL TABLE t USING veclite(v float[384], pos integer, distance = cosine)")
    t0 = time.perf_counter()
    c.execute("BEGIN")
    c.executemany("INSERT INTO t(rowid, v, pos) VALUES (?, ?, ?)",
                  ((i, b, pos[i]) for i, b in enumerate(base)))
    c.execute("COMMIT")
    return c, time.perf_counter() - t0


def run(c, queries, ef, where=""):
    sql = f"SELECT rowid FROM t WHERE knn_match(v, ?) AND k = 10 AND ef = {ef} {where}"
    out = []
    t0 = time.perf_counter()
    for q in queries:
        out.append([r[0] for r in c.execute(sql, (q,))])
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--nq", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    base, queries, gt, pos = load(args.n, args.nq)
    tmp = tempfile.mkdtemp(prefix="veclite-ab-")
    conns, builds = {}, {}
    for name, so in (("A", args.a), ("B", args.b)):
        conns[name], builds[name] = build(so, os.path.join(tmp, name + ".db"), base, pos)
        run(conns[name], queries[:50], 64)  # load the index, warm up
    cases = [("ef=32", 32, ""), ("ef=64", 64, ""), ("pos = 1 (12%)", 64, "AND pos = 1")]
    print(f"load average {os.getloadavg()[0]:.2f}; N={args.n}, {args.nq} queries, "
          f"{args.rounds} paired rounds")
    print(f"build, inserts in one transaction: A {builds['A']:.2f} s, B {builds['B']:.2f} s")
    print("| query | A QPS | B QPS | B/A (median of rounds) | recall@10 A | recall@10 B |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, ef, where in cases:
        ratios, qps, recall = [], {"A": [], "B": []}, {}
        for r in range(args.rounds):
            order = ("A", "B") if r % 2 == 0 else ("B", "A")
            t = {}
            for name in order:
                t[name], res = run(conns[name], queries, ef, where)
                qps[name].append(len(queries) / t[name])
                if gt is not None and not where:
                    recall[name] = sum(len(set(x) & g) for x, g in zip(res, gt)) / (10 * len(gt))
            ratios.append(t["A"] / t["B"])
        rec = [f"{recall[x]:.4f}" if x in recall else "-" for x in ("A", "B")]
        print(f"| {label} | {statistics.median(qps['A']):.0f} | {statistics.median(qps['B']):.0f} "
              f"| {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}) "
              f"| {rec[0]} | {rec[1]} |")


if __name__ == "__main__":
    main()
