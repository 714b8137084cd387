#!/usr/bin/env python3
"""Where the planner's constants come from: the three filtered paths forced in turn
at several selectivities of `day BETWEEN ? AND ?` (fresh windows per query), on the
veclite database that benches/families.py builds (100k wordnet-minilm rows).

  exact    VECLITE_EXACT_FACTOR=1e12   exact distances over the matching rows
  two-hop  VECLITE_EXACT_FACTOR=0 VECLITE_TWO_HOP_BELOW=1   bitset + two-hop walk
  one-hop  VECLITE_EXACT_FACTOR=0 VECLITE_TWO_HOP_BELOW=0   walk testing each node

Each path runs in its own process (the constants are read once per process); the
three alternate round by round and the table gives the median over rounds of each
round's median latency (ms, execute + fetchall, k=10; --clock cpu: the querying
thread's CPU time, which leaves out waiting for a core on a loaded machine) and the
mean recall@10 against exact cosine distances over the matching stored rows.

  .venv/bin/python benches/planner_paths.py --lib target/release/libveclite.so \\
      --db /tmp/fam/db/veclite-100000.db --queries ../shared/data/wordnet-minilm/queries.f32
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r'''
import apsw, sys, time, json
import numpy as np
lib, db, qpath, widths, n = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
clock = time.thread_time if sys.argv[6] == "cpu" else time.perf_counter
c = apsw.Connection(db); c.enable_load_extension(True); c.load_extension(lib)
q = np.fromfile(qpath, dtype=np.float32).reshape(-1, 384)
sql = "SELECT rowid FROM t WHERE knn_match(embedding, ?) AND k = 10 AND day BETWEEN ? AND ?"
# the exact answers, from the stored rows (cosine)
rows = c.execute("SELECT rowid, day, embedding FROM t_rows").fetchall()
ids = np.array([r[0] for r in rows]); days = np.array([r[1] for r in rows])
base = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
base = base / np.linalg.norm(base, axis=1, keepdims=True)
c.execute(sql, (q[0].tobytes(), 0, 3000)).fetchall()
out = {}
for w in widths:
    ts, rec = [], []
    for r in range(n):
        lo = (r * 97) % (3650 - w)
        t = clock()
        got = c.execute(sql, (q[r].tobytes(), lo, lo + w)).fetchall()
        ts.append((clock() - t) * 1e3)
        m = np.nonzero((days >= lo) & (days <= lo + w))[0]
        top = m[np.argsort(-(base[m] @ q[r]))[:10]]
        rec.append(len(set(ids[top].tolist()) & {g[0] for g in got}) / max(1, min(10, len(m))))
    out[str(w)] = (float(np.median(ts)), float(np.mean(rec)))
print(json.dumps(out))
'''

MODES = [
    ("exact", {"VECLITE_EXACT_FACTOR": "1e12"}),
    ("two-hop", {"VECLITE_EXACT_FACTOR": "0", "VECLITE_TWO_HOP_BELOW": "1"}),
    ("one-hop", {"VECLITE_EXACT_FACTOR": "0", "VECLITE_TWO_HOP_BELOW": "0"}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=40, help="queries per width per round")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time by the wall clock or by the querying thread's CPU time")
    a = ap.parse_args()
    widths = [36, 60, 91, 131, 182, 365, 547, 730, 912, 1095]
    res = {m: [] for m, _ in MODES}
    print("load average at start: %s; latency by %s" % (" ".join("%.2f" % x for x in os.getloadavg()),
          "the wall clock" if a.clock == "wall" else "the querying thread's CPU time"))
    for _ in range(a.rounds):
        for mode, env in MODES:
            e = dict(os.environ, OPENBLAS_NUM_THREADS="1", **env)
            o = subprocess.run([sys.executable, "-c", CHILD, a.lib, a.db, a.queries, json.dumps(widths), str(a.n), a.clock],
                               env=e, capture_output=True, text=True, check=True)
            res[mode].append(json.loads(o.stdout))
    print("load average at end: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    print("| day window | selectivity | exact ms | two-hop ms | one-hop ms | recall@10 exact / two-hop / one-hop |")
    print("| --- | --- | --- | --- | --- | --- |")
    for w in widths:
        med = [statistics.median(r[str(w)][0] for r in res[m]) for m, _ in MODES]
        rec = [statistics.mean(r[str(w)][1] for r in res[m]) for m, _ in MODES]
        best = min(med)
        cells = [("**%.3f**" if x == best else "%.3f") % x for x in med]
        print("| %d days | %.1f%% | %s | %s |" % (w, 100.0 * (w + 1) / 3650, " | ".join(cells),
                                                " / ".join("%.3f" % x for x in rec)))


if __name__ == "__main__":
    main()
