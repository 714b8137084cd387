#!/usr/bin/env python3
"""Cost of one small write transaction as the table grows: a one-row DELETE, an
INSERT OR REPLACE of an existing rowid and a plain INSERT, each in its own
transaction (autocommit), at N = 10k and 100k rows (more with --n).

    /usr/bin/python3 benches/write_cost.py [BUILD.so ...] [--n 10000 100000] [--dims 64]

Standard library only (Debian's /usr/bin/python3 can load extensions). Random
Gaussian vectors (the write path does not depend on the data); tables are built
with one INSERT ... SELECT per N and then veclite_rebuild. Reports the median
milliseconds per transaction over --ops transactions, per build and N, so a
build's scaling (100k / 10k) can be read off; run builds in one invocation to
compare them under the same load.
"""

import argparse
import array
import os
import random
import sqlite3
import statistics
import tempfile
import time

SYNC_OFF = True


def make_db(so, path, n, dims, seed=1):
    c = sqlite3.connect(path, isolation_level=None)
    c.enable_load_extension(True)
    c.load_extension(so)
    if SYNC_OFF:
        c.execute("PRAGMA synchronous = OFF")
    c.execute(f"CREATE VIRTUAL TABLE t USING veclite(v float[{dims}], tag integer, exact_threshold = 0)")
    rnd = random.Random(seed)
    c.execute("BEGIN")
    c.executemany("INSERT INTO t(rowid, v, tag) VALUES (?, ?, ?)",
                  ((i, array.array("f", [rnd.gauss(0, 1) for _ in range(dims)]).tobytes(), i % 7)
                   for i in range(1, n + 1)))
    c.execute("COMMIT")
    return c


def measure(c, n, dims, ops, seed=2):
    rnd = random.Random(seed)
    vec = lambda: array.array("f", [rnd.gauss(0, 1) for _ in range(dims)]).tobytes()
    out = {}
    t = []
    for i in range(ops):
        r = rnd.randrange(1, n + 1)
        t0 = time.perf_counter()
        c.execute("DELETE FROM t WHERE rowid = ?", (r,))
        t.append(time.perf_counter() - t0)
        c.execute("INSERT OR REPLACE INTO t(rowid, v, tag) VALUES (?, ?, 0)", (r, vec()))
    out["delete"] = statistics.median(t) * 1e3
    t = []
    for i in range(ops):
        r = rnd.randrange(1, n + 1)
        v = vec()
        t0 = time.perf_counter()
        c.execute("INSERT OR REPLACE INTO t(rowid, v, tag) VALUES (?, ?, 1)", (r, v))
        t.append(time.perf_counter() - t0)
    out["replace"] = statistics.median(t) * 1e3
    t = []
    for i in range(ops):
        v = vec()
        t0 = time.perf_counter()
        c.execute("INSERT INTO t(rowid, v, tag) VALUES (?, ?, 2)", (n + 1 + i, v))
        t.append(time.perf_counter() - t0)
    out["insert"] = statistics.median(t) * 1e3
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builds", nargs="*", default=["target/release/libveclite"])
    ap.add_argument("--n", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--sync", action="store_true",
                    help="keep synchronous=FULL (default OFF: measure the CPU cost, not the disk's fsync)")
    a = ap.parse_args()
    global SYNC_OFF
    SYNC_OFF = not a.sync
    tmp = tempfile.mkdtemp(prefix="veclite-writes-")
    print(f"load average {os.getloadavg()[0]:.2f}; dims {a.dims}; synchronous {'OFF' if SYNC_OFF else 'FULL'}; "
          f"median ms per transaction over {a.ops}")
    print("| build | N | DELETE 1 row | INSERT OR REPLACE existing | INSERT new |")
    print("| --- | --- | --- | --- | --- |")
    for n in a.n:
        for b, so in enumerate(a.builds):
            c = make_db(so, os.path.join(tmp, f"{b}-{n}.db"), n, a.dims)
            r = measure(c, n, a.dims, a.ops)
            c.close()
            print(f"| {so} | {n} | {r['delete']:.3f} | {r['replace']:.3f} | {r['insert']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
