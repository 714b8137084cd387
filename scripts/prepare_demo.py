#!/usr/bin/env python3
"""Writes the first N wordnet-minilm rows and some queries as TSV files with JSON
vectors, for the sqlite3-shell demo (stdlib only: struct decodes float16), and
load.sql, the demo's load in chunks with a progress line (rows, rows/s) after each
and the total time at the end."""
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
# The load: staging (rowids 1..n from .import) into the veclite table `glosses`, in
# one transaction, one INSERT ... SELECT per chunk; 'now' is read per statement.
chunk = max(1000, (n // 5) // 1000 * 1000)
with open(os.path.join(out, "load.sql"), "w", encoding="utf-8") as f:
    f.write(".mode list\n.headers off\n")
    f.write(".print '== loading %d glosses into the veclite table (a line every %d rows)'\n" % (n, chunk))
    f.write("CREATE TEMP TABLE load_start AS SELECT julianday('now') AS t;\n")
    f.write("BEGIN;\n")
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        f.write("INSERT INTO glosses(rowid, embedding, gloss, pos) SELECT id, vec, gloss, pos FROM staging"
                " WHERE rowid > %d AND rowid <= %d;\n" % (a, b))
        f.write("SELECT printf('loaded %%6d / %d rows (%%3d%%%%)  %%6.0f rows/s  %%6.1f s', %d, %d, "
                "%d / max((julianday('now') - t) * 86400.0, 0.001), (julianday('now') - t) * 86400.0) FROM load_start;\n"
                % (n, b, 100 * b // n, b))
    f.write("COMMIT;\n")
    f.write("SELECT printf('loaded %d rows in %%.1f s (%%.0f rows/s)', (julianday('now') - t) * 86400.0, "
            "%d / max((julianday('now') - t) * 86400.0, 0.001)) FROM load_start;\n" % (n, n))
    f.write("DROP TABLE load_start;\n")
print("wrote %d glosses, 5 queries and load.sql to %s" % (n, out))
