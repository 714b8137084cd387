#!/usr/bin/env python3
"""Cold open -> first answer of one or more builds of the extension, alternating.

    .venv/bin/python benches/cold_open.py --db /tmp/b1m/vl-int8-1000000-s0.025-seed13.db \
        --lib /tmp/old/libveclite.so --lib /tmp/new/libveclite.so [--reps 6] [--table vl]

Each run is a fresh Python process: apsw.Connection, load_extension, one KNN query
(k = 10, the first vector of queries.f32, or a vector of ones without the data set),
timed from the start of the process; the libraries take turns run by run, so the
machine's drift over the minutes affects each alike. Prints each library's times,
sorted, its median, the median ratio against the first library, and whether every
library returned the same first row. A library must be named libveclite.so (SQLite
derives the entry point from the file name): put each build in its own directory.
With several --db, as many as --lib, the i-th library opens the i-th database (e.g.
one library on a format-1 and a format-2 copy of a table: give it twice). The
database is whatever benches/scale_1m.py (or any veclite table with a vector
column `embedding`) left; keep it in the OS page cache (run once before) unless the
disk is what you want to measure.
"""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r'''
import time, sys
t0 = time.perf_counter()
import apsw, struct, os
lib, db, table, dims = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
q = None
p = os.path.join(sys.argv[5], "queries.f32")
if os.path.exists(p):
    q = open(p, "rb").read(4 * dims)
if not q or len(q) != 4 * dims:
    q = struct.pack("<%df" % dims, *([1.0] * dims))
c = apsw.Connection(db)
c.enable_load_extension(True)
c.load_extension(lib)
r = c.execute("SELECT rowid FROM %s WHERE knn_match(embedding, ?) AND k = 10" % table, (q,)).fetchall()
print("%.4f %s" % (time.perf_counter() - t0, r[0][0] if r else None))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--lib", action="append", required=True)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--table", default="vl")
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--data", default=os.environ.get(
        "VECLITE_DATA", os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm")))
    args = ap.parse_args()
    if len(args.db) == 1:
        cases = [(lib, args.db[0]) for lib in args.lib]
    elif len(args.db) == len(args.lib):
        cases = list(zip(args.lib, args.db))
    else:
        sys.exit("cold_open.py: give one --db, or one per --lib")
    times = {c: [] for c in cases}
    first = {c: set() for c in cases}
    print("load average at start: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    for _ in range(args.reps):
        for case in cases:
            lib, db = case
            out = subprocess.run([sys.executable, "-c", CHILD, lib, db, args.table,
                                  str(args.dims), args.data],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit("%s failed: %s" % (lib, out.stderr.strip()[-500:]))
            t, row = out.stdout.split()
            times[case].append(float(t))
            first[case].add(row)
    print("load average at end: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    base = statistics.median(times[cases[0]])
    for case in cases:
        m = statistics.median(times[case])
        label = case[0] if len(args.db) == 1 else "%s on %s" % case
        print("%s: %s s; median %.3f s (%.2fx the first)" % (
            label, ", ".join("%.3f" % x for x in sorted(times[case])), m, m / base))
    rows = set().union(*first.values())
    print("first row: %s" % ("the same for all" if len(rows) == 1 else "DIFFERS: %s" % first))


if __name__ == "__main__":
    main()
