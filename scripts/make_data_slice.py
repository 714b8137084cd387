#!/usr/bin/env python3
"""Regenerates data/wordnet-minilm-10k (the in-repo test data) from the full
wordnet-minilm set: the first N base rows (vectors, metadata, passages), all queries
and gt10k.i32, the ground truth over exactly those rows. Standard library only.

Usage: python3 scripts/make_data_slice.py [FULL_DIR [OUT_DIR]]
  FULL_DIR default: $VECLITE_DATA, else ../shared/data/wordnet-minilm beside the checkout
  OUT_DIR  default: data/wordnet-minilm-10k
The slice's README.md is kept as it is (it is written by hand)."""
import json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 10_000
D = 384
NQ = 1000
GT_WIDTH = 100

full = sys.argv[1] if len(sys.argv) > 1 else (
    os.environ.get("VECLITE_DATA") or os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm"))
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "data", "wordnet-minilm-10k")
full = os.path.normpath(full)
if os.path.abspath(full) == os.path.abspath(out):
    sys.exit("make_data_slice: the full set and the output are the same directory")
if os.path.getsize(os.path.join(full, "base.f16")) < N * D * 2:
    sys.exit("make_data_slice: %s has fewer than %d rows" % (full, N))
os.makedirs(out, exist_ok=True)


def prefix(name, nbytes=None):
    with open(os.path.join(full, name), "rb") as f:
        data = f.read() if nbytes is None else f.read(nbytes)
    if nbytes is not None and len(data) != nbytes:
        sys.exit("make_data_slice: %s is shorter than %d bytes" % (name, nbytes))
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    return data


prefix("base.f16", N * D * 2)
prefix("pos.u8", N)
prefix("lexname.u8", N)
prefix("queries.f32", NQ * D * 4)
prefix("queries.txt")
gt = prefix("gt10k.i32", NQ * GT_WIDTH * 4)
if max(int.from_bytes(gt[i:i + 4], "little", signed=True) for i in range(0, len(gt), 4)) >= N:
    sys.exit("make_data_slice: gt10k.i32 names a row beyond the first %d" % N)

with open(os.path.join(full, "base.txt"), "rb") as f:
    lines = [f.readline() for _ in range(N)]
if not lines[-1].endswith(b"\n"):
    sys.exit("make_data_slice: base.txt has fewer than %d lines" % N)
with open(os.path.join(out, "base.txt"), "wb") as f:
    f.writelines(lines)

meta_path = os.path.join(full, "meta.json")
if os.path.exists(meta_path):
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    n_full = meta.get("n_base")
    meta["n_base"] = N
    meta["gt"] = {"10k": "gt10k.i32"}
    meta["slice"] = "the first %d base rows of the %s-row wordnet-minilm set, all its queries" % (N, n_full)
    with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

total = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
print("wrote %s: %d base rows, %d queries, %.2f MB" % (out, N, NQ, total / 1e6))
