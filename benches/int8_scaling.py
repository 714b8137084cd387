#!/usr/bin/env python3
"""int8 quantization: per-vector vs per-dimension scaling, measured by brute force.

    .venv/bin/python benches/int8_scaling.py [--n 10000] [--nq 1000]

(numpy only). Data: $VECLITE_DATA, else ../shared/data/wordnet-minilm, else the
in-repo 10k slice; cosine (the vectors are unit norm), ground truth gtNk.i32.

For each scheme the base vectors are quantized to int8 and the queries too (the
symmetric form the index uses: the distance is a function of two code vectors),
every query ranks every row by the quantized distance, and recall@10 against the
exact top 10 is reported for the quantized top 10 alone and after re-ranking the
quantized top F*10 with exact f32 distances (F = 1..4), the re-ranking veclite
does. This isolates the quantization error from the graph.

Schemes:
* per-vector: scale = max|x|/127 per vector (what veclite stores);
* per-dimension: scale_d = max over the rows of |x_d| / 127, from all N rows;
* per-dimension, drifted: the ranges learned from the first N/10 rows only (a table
  that grew after its scales were fixed), codes clipped to -127..=127.
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = 384
K = 10


def data_dir():
    for d in (os.environ.get("VECLITE_DATA"),
              os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"),
              os.path.join(ROOT, "data", "wordnet-minilm-10k")):
        if d and os.path.exists(os.path.join(d, "base.f16")):
            return d
    sys.exit("no data set found")


def quant_vec(x):
    s = np.abs(x).max(axis=1, keepdims=True) / 127.0
    s[s == 0] = 1.0
    c = np.clip(np.rint(x / s), -127, 127)
    return c, s          # decoded = c * s


def quant_dim(x, scale):
    c = np.clip(np.rint(x / scale), -127, 127)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--nq", type=int, default=1000)
    a = ap.parse_args()
    dd = data_dir()
    n, nq = a.n, a.nq
    base = np.fromfile(os.path.join(dd, "base.f16"), dtype="<f2", count=n * D).astype("<f4").reshape(-1, D)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    q = np.fromfile(os.path.join(dd, "queries.f32"), dtype="<f4", count=nq * D).reshape(-1, D)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    gtf = {10000: "gt10k.i32", 100000: "gt100k.i32"}[n]
    gt = np.fromfile(os.path.join(dd, gtf), dtype="<i4").reshape(-1, 100)[:nq, :K]
    exact = q @ base.T                                   # similarity, f32

    schemes = {}
    cb, sb = quant_vec(base)
    cq, sq = quant_vec(q)
    schemes["per-vector"] = (cq @ cb.T) * (sq @ sb.T)
    sd = np.abs(base).max(axis=0) / 127.0
    sd[sd == 0] = 1.0
    schemes["per-dimension"] = (quant_dim(q, sd) * sd * sd) @ quant_dim(base, sd).T
    sd10 = np.abs(base[: n // 10]).max(axis=0) / 127.0
    sd10[sd10 == 0] = 1.0
    schemes["per-dimension, ranges of the first N/10 rows"] = (quant_dim(q, sd10) * sd10 * sd10) @ quant_dim(base, sd10).T

    print("N=%d, %d queries, %s; recall@10 vs exact (cosine)" % (n, nq, dd))
    print("| scheme | top 10 by codes | re-rank 10 | 20 | 30 | 40 | mean abs error of 1-cos |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, approx in schemes.items():
        row = []
        order = np.argsort(-approx, axis=1)[:, :4 * K]
        for f in (1, 1, 2, 3, 4):
            hits = 0
            for i in range(nq):
                cand = order[i, : f * K]
                if row == []:   # first column: no re-ranking
                    top = cand[:K]
                else:
                    top = cand[np.argsort(-exact[i, cand], kind="stable")[:K]]
                hits += len(set(top.tolist()) & set(gt[i].tolist()))
            row.append(hits / (nq * K))
        err = float(np.mean(np.abs(approx - exact)))
        print("| %s | %s | %.5f |" % (name, " | ".join("%.4f" % r for r in row), err))


if __name__ == "__main__":
    main()
