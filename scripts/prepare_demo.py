#!/usr/bin/env python3
"""Writes the first N wordnet-minilm rows and some queries as TSV files with JSON
vectors, for the sqlite3-shell demo (stdlib only: struct decodes float16)."""
import json, os, struct, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
out = sys.argv[2] if len(sys.argv) > 2 else "target/demo"
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the data: $VECLITE_DATA, else ../shared beside the checkout, else the in-repo 10k slice
root = os.environ.get("VECLITE_DATA") or os.path.join(repo, "..", "shared", "data", "wordnet-minilm")
if not os.environ.get("VECLITE_DATA") and not os.path.exists(os.path.join(root, "base.f16")):
    root = os.path.join(repo, "data", "wordnet-minilm-10k")
rows = os.path.getsize(os.path.join(root, "base.f16")) // (384 * 2)
if n > rows:
    sys.exit("prepare_demo: %d rows asked, %s has %d" % (n, os.path.normpath(root), rows))
os.makedirs(out, exist_ok=True)
D = 384
POS = ["noun", "verb", "adjective", "adverb"]
with open(os.path.join(root, "base.f16"), "rb") as f:
    raw = f.read(n * D * 2)
texts = open(os.path.join(root, "base.txt"), encoding="utf-8").read().split("\n")
pos = open(os.path.join(root, "pos.u8"), "rb").read(n)

def clean(s):
    return s.replace("\t", " ").replace('"', "'")

with open(os.path.join(out, "glosses.tsv"), "w", encoding="utf-8") as f:
    for i in range(n):
        v = struct.unpack_from("<%de" % D, raw, i * D * 2)
        f.write("%d\t%s\t%s\t%s\n" % (i, clean(texts[i]), POS[pos[i]], json.dumps([round(x, 6) for x in v], separators=(",", ":"))))
qraw = open(os.path.join(root, "queries.f32"), "rb").read(5 * D * 4)
qtexts = open(os.path.join(root, "queries.txt"), encoding="utf-8").read().split("\n")
with open(os.path.join(out, "queries.tsv"), "w", encoding="utf-8") as f:
    for i in range(5):
        v = struct.unpack_from("<%df" % D, qraw, i * D * 4)
        f.write("%d\t%s\t%s\n" % (i, clean(qtexts[i]), json.dumps(list(v), separators=(",", ":"))))
print("wrote %d glosses and 5 queries to %s" % (n, out))
