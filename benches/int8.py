#!/usr/bin/env python3
"""quantize = int8 vs none vs hnswlib, measured *paired* (issue 13).

    cargo build --release
    .venv/bin/python benches/int8.py --n 10000      # ~1 min (pip install apsw numpy hnswlib)
    .venv/bin/python benches/int8.py --n 100000     # ~6 min (builds three indexes)

Data: wordnet-minilm (cosine, 384-d) from $VECLITE_DATA, ../shared/data/wordnet-minilm,
or the in-repo 10k slice; ground truth gt10k/gt100k.

Three systems in one process: veclite `quantize = none`, veclite `quantize = int8`
(each in its own database, every row inserted in one transaction, with a `lex`
metadata column; kept in --workdir and reused unless --rebuild), and hnswlib (M=16, efC=200, one
thread; saved in --workdir). All use M=16, ef_construction=200, k=10, one query at a
time (veclite through SQL via apsw: `knn_match(...) AND k = 10 AND ef = E`).

Paired: every round runs the same --nq queries on every (system, ef), in an order
rotated between rounds; a ratio is the median over rounds of the per-round ratio of
queries per second, so the machine's speed drifting within a minute affects both
sides alike. "QPS at recall >= 0.95" takes, per system, the smallest ef of the sweep
whose recall@10 reaches 0.95 and compares it with hnswlib's smallest such ef, round
by round.

Also: filtered KNN on lexnames of ~10% and ~1% of the rows (on whichever path the
planner takes), f32 vs int8 paired; index bytes (veclite_info memory_bytes);
cold load time (a fresh process's first query; veclite_info last_load_ms),
alternating the two tables. --pragma applies a PRAGMA to every veclite connection
(e.g. mmap_size, which makes the re-ranking's row reads cheaper).
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "target", "release", "libveclite.so")
D, K, M, EFC = 384, 10, 16, 200


def data_dir():
    for d in (os.environ.get("VECLITE_DATA"),
              os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"),
              os.path.join(ROOT, "data", "wordnet-minilm-10k")):
        if d and os.path.exists(os.path.join(d, "base.f16")):
            return os.path.normpath(d)
    sys.exit("int8.py: no data set found")


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:12]


PRAGMAS = []


def connect(path):
    import apsw
    c = apsw.Connection(path)
    c.enable_load_extension(True)
    c.load_extension(LIB)
    for p in PRAGMAS:
        c.execute("PRAGMA " + p)
    return c


def info(c):
    return json.loads(c.execute("SELECT veclite_info('vl')").fetchone()[0])


def build_veclite(path, quantize, base, lex):
    if os.path.exists(path):
        os.remove(path)
    c = connect(path)
    c.execute("CREATE VIRTUAL TABLE vl USING veclite(embedding float[%d], lex integer, distance = cosine, "
              "m = %d, ef_construction = %d, quantize = %s)" % (D, M, EFC, quantize))
    t = time.perf_counter()
    c.execute("BEGIN")
    c.executemany("INSERT INTO vl(rowid, embedding, lex) VALUES (?, ?, ?)",
                  ((i, base[i].tobytes(), int(lex[i])) for i in range(len(base))))
    c.execute("COMMIT")
    dt = time.perf_counter() - t
    c.close()
    return dt


class Veclite:
    def __init__(self, path):
        self.c = connect(path)
        self.sql = "SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = %d AND ef = ?" % K

    def run(self, qb, ef):
        ex = self.c.execute
        return [[r[0] for r in ex(self.sql, (b, ef))] for b in qb]

    def run_filtered(self, qb, lex):
        sql = "SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = %d AND lex = ?" % K
        ex = self.c.execute
        return [[r[0] for r in ex(sql, (b, lex))] for b in qb]


class Hnsw:
    def __init__(self, idx):
        self.idx = idx

    def run(self, qs, ef):
        self.idx.set_ef(ef)
        return [self.idx.knn_query(q, k=K, num_threads=1)[0][0].tolist() for q in qs]


def recall(ids, gt):
    return sum(len(set(a) & set(g)) for a, g in zip(ids, gt)) / (len(gt) * K)


def cold_load(path, reps):
    """A fresh process opens the table and answers one query: ms to the answer and
    the index load time veclite_info reports."""
    code = ("import sys, time, json, apsw\n"
            "t = time.perf_counter()\n"
            "c = apsw.Connection(sys.argv[1]); c.enable_load_extension(True); c.load_extension(sys.argv[2])\n"
            "q = bytes(4 * %d)\n"
            "q = (b'\\x00\\x00\\x80\\x3f') + q[4:]\n"
            "c.execute('SELECT rowid FROM vl WHERE knn_match(embedding, ?) AND k = 10', (q,)).fetchall()\n"
            "dt = (time.perf_counter() - t) * 1000\n"
            "i = json.loads(c.execute(\"SELECT veclite_info('vl')\").fetchone()[0])\n"
            "print(json.dumps({'first_answer_ms': dt, 'load_ms': i['last_load_ms']}))\n" % D)
    out = subprocess.run([sys.executable, "-c", code, path, LIB], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--nq", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--efs", type=int, nargs="+", default=[10, 16, 24, 32, 48, 64, 128])
    ap.add_argument("--workdir", default="/tmp/veclite-int8")
    ap.add_argument("--rebuild", action="store_true", help="build the databases even if --workdir has them")
    ap.add_argument("--out", default=os.path.join(ROOT, "benches", "results"))
    ap.add_argument("--cold", type=int, default=3, help="cold-load repetitions per table")
    ap.add_argument("--pragma", action="append", default=[],
                    help="a PRAGMA for every veclite connection, e.g. --pragma 'mmap_size = 1000000000'")
    a = ap.parse_args()
    PRAGMAS.extend(a.pragma)
    os.makedirs(a.workdir, exist_ok=True)
    dd = data_dir()
    n, nq = a.n, a.nq
    base = np.fromfile(os.path.join(dd, "base.f16"), dtype="<f2", count=n * D).astype("<f4").reshape(-1, D)
    queries = np.fromfile(os.path.join(dd, "queries.f32"), dtype="<f4", count=nq * D).reshape(-1, D)
    gt = np.fromfile(os.path.join(dd, {10000: "gt10k.i32", 100000: "gt100k.i32"}[n]),
                     dtype="<i4").reshape(-1, 100)[:nq, :K].tolist()
    lex = np.fromfile(os.path.join(dd, "lexname.u8"), dtype="u1", count=n)
    lib_sha = sha(LIB)
    env = {"pragmas": a.pragma, "n": n, "nq": nq, "rounds": a.rounds, "lib_sha256": lib_sha, "data": dd,
           "load_start": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    builds = {}
    paths = {}
    for qz in ("none", "int8"):
        p = os.path.join(a.workdir, "vl-%s-%d.db" % (qz, n))
        if a.rebuild or not os.path.exists(p):
            print("building veclite quantize=%s (%d rows)..." % (qz, n), file=sys.stderr)
            builds[qz] = build_veclite(p, qz, base, lex)
        paths[qz] = p
    import hnswlib
    hp = os.path.join(a.workdir, "hnswlib-%d.bin" % n)
    idx = hnswlib.Index(space="cosine", dim=D)
    if os.path.exists(hp):
        idx.load_index(hp, max_elements=n)
    else:
        print("building hnswlib (%d rows)..." % n, file=sys.stderr)
        idx.init_index(max_elements=n, ef_construction=EFC, M=M, random_seed=100)
        idx.set_num_threads(1)
        t = time.perf_counter()
        idx.add_items(base, np.arange(n), num_threads=1)
        builds["hnswlib"] = time.perf_counter() - t
        idx.save_index(hp)
    idx.set_num_threads(1)

    systems = {"veclite f32": Veclite(paths["none"]), "veclite int8": Veclite(paths["int8"]),
               "hnswlib": Hnsw(idx)}
    qb = [q.tobytes() for q in queries]
    qs = [q.reshape(1, -1) for q in queries]
    inputs = {"veclite f32": qb, "veclite int8": qb, "hnswlib": qs}
    # warm-up (loads the indexes) and recall
    rec = {}
    for s, sysobj in systems.items():
        for ef in a.efs:
            rec[(s, ef)] = recall(sysobj.run(inputs[s], ef), gt)
    mem = {s: info(systems[s].c)["memory_bytes"] for s in ("veclite f32", "veclite int8")}
    names = list(systems)
    qps = {(s, ef): [] for s in names for ef in a.efs}
    for r in range(a.rounds):
        order = names[r % 3:] + names[:r % 3]
        for ef in a.efs:
            for s in order:
                t = time.perf_counter()
                systems[s].run(inputs[s], ef)
                qps[(s, ef)].append(nq / (time.perf_counter() - t))
    # filtered KNN (the planner chooses the exact pass over the matching rows or a
    # filtered walk): two lexnames, ~10% and ~1% of the rows, f32 vs int8 paired
    counts = np.bincount(lex, minlength=256)
    filt = {}
    for target in (0.10, 0.01):
        cat = int(np.argmin(np.abs(counts / n - target)))
        frac = counts[cat] / n
        key = "lex = %d (%.1f%%)" % (cat, 100 * frac)
        ids = np.nonzero(lex == cat)[0]
        sub = base[ids] / np.linalg.norm(base[ids], axis=1, keepdims=True)
        qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        fgt = [ids[np.argsort(-(qn[i] @ sub.T), kind="stable")[:K]].tolist() for i in range(nq)]
        got = {s: systems[s].run_filtered(qb, cat) for s in ("veclite f32", "veclite int8")}
        f = {"recall": {s: recall(got[s], fgt) for s in got}, "qps": {s: [] for s in got}}
        for r in range(a.rounds):
            order = ["veclite f32", "veclite int8"][::(1 if r % 2 == 0 else -1)]
            for s in order:
                t = time.perf_counter()
                systems[s].run_filtered(qb, cat)
                f["qps"][s].append(nq / (time.perf_counter() - t))
        filt[key] = f
    env["load_end"] = os.getloadavg()[0]

    cold = {"none": [], "int8": []}
    for _ in range(a.cold):
        for qz in ("none", "int8"):
            cold[qz].append(cold_load(paths[qz], 1))

    def ratio(s, ef_s, ef_h):
        return [x / y for x, y in zip(qps[(s, ef_s)], qps[("hnswlib", ef_h)])]

    def best(s):
        ok = [ef for ef in a.efs if rec[(s, ef)] >= 0.95]
        return min(ok) if ok else None

    lines = []
    lines.append("N = %d, %d queries x %d rounds, k = 10; veclite %s; load average %.2f -> %.2f; %s; "
                 "re-rank factor %s; pragmas: %s"
                 % (n, nq, a.rounds, lib_sha, env["load_start"], env["load_end"], env["date"],
                    os.environ.get("VECLITE_RERANK_FACTOR", "default"), ", ".join(a.pragma) or "none"))
    lines.append("")
    lines.append("| system | ef | recall@10 | QPS (median of rounds) | / hnswlib same ef (median, min-max) |")
    lines.append("| --- | --- | --- | --- | --- |")
    for s in names:
        for ef in a.efs:
            rr = ratio(s, ef, ef)
            lines.append("| %s | %d | %.4f | %.0f | %.3f (%.2f-%.2f) |" % (
                s, ef, rec[(s, ef)], statistics.median(qps[(s, ef)]), statistics.median(rr), min(rr), max(rr)))
    lines.append("")
    hb = best("hnswlib")
    summary = {}
    for s in names:
        b = best(s)
        if b is None or hb is None:
            continue
        rr = ratio(s, b, hb)
        summary[s] = {"ef": b, "recall": rec[(s, b)], "qps": statistics.median(qps[(s, b)]),
                      "ratio": statistics.median(rr), "ratio_min": min(rr), "ratio_max": max(rr)}
        lines.append("- %s: QPS at recall@10 >= 0.95: %.0f (ef=%d, recall %.4f) = **%.3fx** hnswlib's (ef=%d, "
                     "recall %.4f), paired median (%.2f-%.2f)" % (
                         s, summary[s]["qps"], b, rec[(s, b)], summary[s]["ratio"], hb, rec[("hnswlib", hb)],
                         min(rr), max(rr)))
    if 64 in a.efs:
        lines.append("- recall@10 at ef=64: f32 %.4f, int8 %.4f (difference %.4f)" % (
            rec[("veclite f32", 64)], rec[("veclite int8", 64)],
            rec[("veclite f32", 64)] - rec[("veclite int8", 64)]))
        rr = [x / y for x, y in zip(qps[("veclite int8", 64)], qps[("veclite f32", 64)])]
        lines.append("- int8 / f32 QPS at ef=64: %.3f (paired median, %.2f-%.2f)" % (
            statistics.median(rr), min(rr), max(rr)))
    lines.append("- index bytes (veclite_info memory_bytes): f32 %.1f MB, int8 %.1f MB = %.3fx" % (
        mem["veclite f32"] / 1e6, mem["veclite int8"] / 1e6, mem["veclite int8"] / mem["veclite f32"]))
    for key, f in filt.items():
        rr = [x / y for x, y in zip(f["qps"]["veclite int8"], f["qps"]["veclite f32"])]
        lines.append("- filtered KNN, %s (the planner's path): f32 %.0f QPS (recall %.4f), "
                     "int8 %.0f QPS (recall %.4f): int8/f32 %.3f (paired median, %.2f-%.2f)" % (
                         key, statistics.median(f["qps"]["veclite f32"]), f["recall"]["veclite f32"],
                         statistics.median(f["qps"]["veclite int8"]), f["recall"]["veclite int8"],
                         statistics.median(rr), min(rr), max(rr)))
    for qz in ("none", "int8"):
        lines.append("- cold open -> first answer, quantize=%s: %s ms (index load %s ms)" % (
            qz, ", ".join("%.0f" % c["first_answer_ms"] for c in cold[qz]),
            ", ".join("%.0f" % c["load_ms"] for c in cold[qz])))
    if builds:
        lines.append("- build (inserts in one transaction / hnswlib add_items, one thread): " + ", ".join(
            "%s %.1f s" % (k, v) for k, v in builds.items()))
    text = "\n".join(lines)
    print(text)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "int8-%d.md" % n), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.out, "int8-%d.json" % n), "w") as f:
        json.dump({"env": env, "recall": {"%s@%d" % k: v for k, v in rec.items()},
                   "qps": {"%s@%d" % k: v for k, v in qps.items()}, "memory_bytes": mem,
                   "cold": cold, "builds": builds, "summary": summary, "filtered": filt}, f, indent=1)


if __name__ == "__main__":
    main()
