#!/usr/bin/env python3
"""Migration from sqlite-vec (PyPI's sqlite-vec, loaded into apsw beside veclite): a
vec0 table with a partition key, metadata and an auxiliary column, holding the 10k
WordNet glosses, is copied into a veclite table declared with the same definition
(only the module renamed) by INSERT ... SELECT, and the KNN answers of both are
compared (rowids and distances), unfiltered and filtered.

  .venv/bin/python tests/python/test_sqlite_vec_migration.py
"""
import os
import struct
import sys

import apsw
import sqlite_vec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "target", "release", "libveclite")
DATA = os.path.join(ROOT, "data", "wordnet-minilm-10k")
D = 384
POS = ["noun", "verb", "adjective", "adverb"]
DEFINITION = """(
  user_id integer partition key,
  embedding float[384] distance_metric=cosine,
  pos text,
  lex integer,
  weight float,
  +gloss text
)"""


def main():
    c = apsw.Connection(":memory:")
    c.enable_load_extension(True)
    c.load_extension(sqlite_vec.loadable_path())
    c.load_extension(LIB)
    (vec_version,) = c.execute("SELECT vec_version()").fetchone()
    texts = open(os.path.join(DATA, "base.txt"), encoding="utf-8").read().split("\n")
    pos = open(os.path.join(DATA, "pos.u8"), "rb").read()
    lex = open(os.path.join(DATA, "lexname.u8"), "rb").read()
    raw = open(os.path.join(DATA, "base.f16"), "rb").read()
    n = len(raw) // (2 * D)
    c.execute("CREATE VIRTUAL TABLE old USING vec0" + DEFINITION)
    with c:
        c.executemany(
            "INSERT INTO old(rowid, user_id, embedding, pos, lex, weight, gloss) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((i + 1, i % 7, struct.pack("<%df" % D, *struct.unpack_from("<%de" % D, raw, i * 2 * D)),
              POS[pos[i]], lex[i], (i % 100) / 10, texts[i]) for i in range(n)))
    # the recipe: the same definition under veclite, then one INSERT ... SELECT
    c.execute("CREATE VIRTUAL TABLE new USING veclite" + DEFINITION)
    with c:
        c.execute("INSERT INTO new(rowid, user_id, embedding, pos, lex, weight, gloss)"
                  " SELECT rowid, user_id, embedding, pos, lex, weight, gloss FROM old")
    failures = []
    same_rows = c.execute(
        "SELECT count(*) FROM old JOIN new ON new.rowid = old.rowid WHERE old.embedding = new.embedding"
        " AND old.user_id = new.user_id AND old.pos = new.pos AND old.lex = new.lex"
        " AND old.weight = new.weight AND old.gloss = new.gloss").fetchone()[0]
    if same_rows != n:
        failures.append("%d of %d rows copied unchanged" % (same_rows, n))
    if c.execute("SELECT veclite_check('new')").fetchone()[0] != "ok":
        failures.append("veclite_check('new') is not ok")
    qraw = open(os.path.join(DATA, "queries.f32"), "rb").read()
    queries = [qraw[q * D * 4:(q + 1) * D * 4] for q in range(0, 1000, 5)]  # 200 queries
    filters = [
        ("", ()),
        ("(veclite: AND ef = 500)", ()),
        ("AND user_id = ?", (3,)),
        ("AND pos = ?", ("verb",)),
        ("AND user_id = ? AND lex = ?", (2, 29)),
        ("AND weight >= ?", (5.0,)),
    ]
    report = []
    for where, args in filters:
        found = same = total = 0
        worst = 0.0
        for q in queries:
            sql = "SELECT rowid, distance FROM %s WHERE embedding MATCH ? AND k = 10 " + where
            if where.startswith("(veclite"):  # a wider search of the graph than the default ef = 64
                want = list(c.execute(sql.replace(where, "") % "old", (q,)))
                got = list(c.execute(sql.replace(where, "AND ef = 500") % "new", (q,)))
            else:
                want = list(c.execute(sql % "old", (q,) + args))
                got = list(c.execute(sql % "new", (q,) + args))
            want_d = dict(want)
            total += len(want)
            found += sum(1 for r, _ in got if r in want_d)
            same += [r for r, _ in got] == [r for r, _ in want]
            for r, d in got:
                if r in want_d:
                    worst = max(worst, abs(d - want_d[r]))
        recall = found / total
        report.append("  %-28s recall@10 vs vec0 %.4f, identical top-10 lists %d/%d, max |distance difference| %.1e"
                      % (where or "(no filter)", recall, same, len(queries), worst))
        if recall < 0.98 or worst > 1e-5:
            failures.append("filter %r: recall %.4f, distance difference %.1e" % (where, recall, worst))
    print("sqlite-vec %s -> veclite: %d rows migrated by INSERT ... SELECT, KNN of %d queries (k = 10):"
          % (vec_version, n, len(queries)))
    print("\n".join(report))
    # the auxiliary column comes back, and a WHERE on it is applied by SQLite
    (gloss,) = c.execute("SELECT gloss FROM new WHERE embedding MATCH ? AND k = 1", (queries[0],)).fetchone()
    (want_gloss,) = c.execute("SELECT gloss FROM old WHERE embedding MATCH ? AND k = 1", (queries[0],)).fetchone()
    if gloss != want_gloss:
        failures.append("aux column: %r vs %r" % (gloss, want_gloss))
    for f in failures:
        print("FAIL " + f)
    if failures:
        sys.exit(1)
    print("sqlite-vec migration: ok")


if __name__ == "__main__":
    main()
