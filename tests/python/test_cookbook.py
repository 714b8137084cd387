#!/usr/bin/env python3
"""docs/cookbook.md, executed: every ```sql block runs, in order, as a session of the
sqlite3 shell on one database (cookbook.db) with veclite loaded, and must print the
```text block that follows it (no text block: nothing). Then the hybrid-search figures
the page quotes are measured again on the 10k WordNet slice (apsw), with the page's
own query, and must agree with the page.

  .venv/bin/python tests/python/test_cookbook.py            # what scripts/test.sh runs
  .venv/bin/python tests/python/test_cookbook.py --print    # also print each block's output
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import apsw

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "target", "release", "libveclite")
DOC = os.path.join(ROOT, "docs", "cookbook.md")
DATA = os.path.join(ROOT, "data", "wordnet-minilm-10k")
SQLITE3 = os.environ.get("SQLITE3", "sqlite3")
D = 384
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def blocks(doc):
    """(sql, expected output or '') for every ```sql block, in order."""
    out = []
    for m in re.finditer(r"```sql\n(.*?)```\n(\s*```text\n(.*?)```\n)?", doc, re.S):
        out.append((m.group(1), m.group(3) or ""))
    return out


def run_shell_blocks(work, doc, show):
    for i, (sql, expected) in enumerate(blocks(doc)):
        # unbuffered, stderr into stdout: errors print where they happen, as in sql/run.sh
        p = subprocess.run(
            ["stdbuf", "-o0", "-e0", SQLITE3, "-batch", "-cmd", ".load ./target/release/libveclite", "cookbook.db"],
            input=sql, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        got = p.stdout
        first = sql.strip().splitlines()[0]
        if show:
            print("--- block %d (%s)\n%s" % (i, first, got), end="")
        if got != expected:
            fail("block %d (%s): exit %d, printed:\n%s--- expected:\n%s" % (i, first, p.returncode, got, expected))
    return len(blocks(doc))


def recipe(doc, name):
    """The SQL statement of the block marked `-- recipe: NAME` (from its WITH on)."""
    for sql, _ in blocks(doc):
        lines = sql.splitlines()
        if "-- recipe: " + name in lines:
            return "\n".join(lines[lines.index("-- recipe: " + name) + 1:])
    raise SystemExit("test_cookbook: no block marked '-- recipe: %s' in %s" % (name, DOC))


STOP = set("the and for with that from this which are was were has have its into any one two not but than "
           "other such used".split())


def fts_text(text):
    """The user's words as an FTS5 query: distinct words of 3+ letters, OR'ed."""
    words = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if len(w) >= 3 and w not in STOP and w not in words:
            words.append(w)
    return " OR ".join(words)


def rrf(*lists):
    score = {}
    for ranked in lists:
        for r, i in enumerate(ranked, 1):
            score[i] = score.get(i, 0.0) + 1.0 / (60 + r)
    return [i for i, _ in sorted(score.items(), key=lambda x: (-x[1], x[0]))]


def measure_hybrid(db, doc):
    c = apsw.Connection(db)
    c.enable_load_extension(True)
    c.load_extension(LIB)
    hybrid_sql = recipe(doc, "hybrid")
    filtered_sql = recipe(doc, "hybrid, filtered")
    qtexts = open(os.path.join(DATA, "queries.txt"), encoding="utf-8").read().split("\n")
    qraw = open(os.path.join(DATA, "queries.f32"), "rb").read()
    gt = open(os.path.join(DATA, "gt10k.i32"), "rb").read()
    nq = len(qraw) // (D * 4)
    n = 50

    def keyword(text, k, pos=None):
        if pos is None:
            return [r[0] for r in c.execute(
                "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? ORDER BY bm25(docs_fts) LIMIT ?", (text, k))]
        return [r[0] for r in c.execute(
            "SELECT docs_fts.rowid FROM docs_fts JOIN docs ON docs.id = docs_fts.rowid"
            " WHERE docs_fts MATCH ? AND docs.pos = ? ORDER BY bm25(docs_fts) LIMIT ?", (text, pos, k))]

    def vector(v, k, pos=None):
        if pos is None:
            return [r[0] for r in c.execute(
                "SELECT rowid FROM docs_vec WHERE knn_match(embedding, ?) AND k = ?", (v, k))]
        return [r[0] for r in c.execute(
            "SELECT rowid FROM docs_vec WHERE knn_match(embedding, ?) AND k = ? AND pos = ?", (v, k, pos))]

    names = ("vector only", "keyword only (BM25)", "hybrid (RRF)")
    sem = dict.fromkeys(names, 0.0)
    hit = dict.fromkeys(names, 0)
    trec = dict.fromkeys(names, 0.0)
    with_terms = lifted = kept = 0
    lifted_ranks = []
    examples_up, examples_down = [], []
    for q in range(nq):
        text = qtexts[q]
        v = qraw[q * D * 4:(q + 1) * D * 4]
        # exact-term rows: those containing one of the query's own lemmas (the names
        # before the colon) as a phrase
        lemmas = [x.strip().replace('"', "") for x in text.split(":")[0].split(",")]
        terms = set(r[0] for r in c.execute(
            "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?", (" OR ".join('"%s"' % x for x in lemmas),)))
        near = set(struct.unpack_from("<10i", gt, q * 400))
        kw, ve = keyword(fts_text(text), n), vector(v, n)
        hy = [r[0] for r in c.execute(hybrid_sql, {"text": fts_text(text), "vec": v, "n": n})]
        if hy != rrf(kw, ve)[:10]:
            fail("query %d: the recipe's SQL gives %s, RRF of its two legs %s" % (q, hy, rrf(kw, ve)[:10]))
        for name, ranked in zip(names, (ve, kw, hy)):
            top = set(ranked[:10])
            sem[name] += len(near & top) / 10
            if terms:
                hit[name] += bool(terms & top)
                trec[name] += len(terms & top) / min(10, len(terms))
        with_terms += bool(terms)
        up = [i for i in hy if i in terms and i not in ve[:10]]
        if up:
            lifted += 1
            deep = vector(v, 1000)
            ranks = [deep.index(i) + 1 if i in deep else 1001 for i in up]
            lifted_ranks.extend(ranks)
            if len(examples_up) < 3:
                examples_up.append("query %d (%s): rows %s, vector ranks %s, hybrid ranks %s" % (
                    q, text[:40], up, ranks, [hy.index(i) + 1 for i in up]))
        down = [i for i in hy if i in near and i not in kw[:10]]
        if down:
            kept += 1
            if len(examples_down) < 3:
                deep = keyword(fts_text(text), 10000)
                examples_down.append("query %d (%s): rows %s, keyword ranks %s, hybrid ranks %s" % (
                    q, text[:40], down, [deep.index(i) + 1 if i in deep else "no match" for i in down],
                    [hy.index(i) + 1 for i in down]))
    # the filtered recipe: every row matches, and it is the RRF of the filtered legs
    for q in range(0, nq, 10):
        pos = ("noun", "verb", "adjective", "adverb")[q // 10 % 4]
        text, v = fts_text(qtexts[q]), qraw[q * D * 4:(q + 1) * D * 4]
        got = list(c.execute(filtered_sql, {"text": text, "vec": v, "n": n, "pos": pos}))
        want = rrf(keyword(text, n, pos), vector(v, n, pos))[:5]
        if [r[0] for r in got] != want or any(r[4] != pos for r in got):
            fail("query %d, pos = %s: filtered recipe gives %s, RRF of the filtered legs %s" % (q, pos, got, want))
    rows = ["| ranking (top 10) | recall@10 of the 10 nearest rows by embedding | queries with an exact-term row in the top 10 | exact-term recall@10 |",
            "| --- | --- | --- | --- |"]
    for name in names:
        rows.append("| %s | %.3f | %.3f | %.3f |" % (name, sem[name] / nq, hit[name] / with_terms, trec[name] / with_terms))
    lifted_ranks.sort()
    summary = {
        "queries": nq, "with_terms": with_terms, "lifted": lifted, "kept": kept,
        "median_lifted_rank": lifted_ranks[len(lifted_ranks) // 2] if lifted_ranks else 0,
    }
    return rows, summary, examples_up, examples_down, sem, hit, trec


def main():
    show = "--print" in sys.argv
    doc = open(DOC, encoding="utf-8").read()
    work = tempfile.mkdtemp(prefix="veclite-cookbook-")
    try:
        os.makedirs(os.path.join(work, "target"))
        os.symlink(os.path.join(ROOT, "target", "release"), os.path.join(work, "target", "release"))
        import sqlite_vec  # the sqlite-vec recipe loads PyPI's vec0 as ./vec0
        os.symlink(sqlite_vec.loadable_path() + ".so", os.path.join(work, "vec0.so"))
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "prepare_demo.py"), "10000",
                        os.path.join(work, "target", "demo")], check=True, stdout=subprocess.DEVNULL)
        n = run_shell_blocks(work, doc, show)
        print("cookbook: %d SQL blocks run in the sqlite3 shell" % n)
        rows, s, up, down, sem, hit, trec = measure_hybrid(os.path.join(work, "cookbook.db"), doc)
        print("\n".join(rows))
        print("%(queries)d queries, %(with_terms)d with exact-term rows; in %(lifted)d of them hybrid puts into its "
              "top 10 an exact-term row that vector search alone ranks below 10 (median vector rank of those rows: "
              "%(median_lifted_rank)d); in %(kept)d queries hybrid keeps in its top 10 a true nearest row that "
              "keyword search alone ranks below 10 or does not match" % s)
        for e in up + down:
            print("  " + e)
        # the page quotes the table: its figures must be what was measured (+-0.02:
        # another SIMD kernel may order a near-tie differently)
        quoted = re.findall(r"^\| (.+?) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$", doc, re.M)
        measured = {r.split(" | ")[0][2:]: [float(x) for x in r.strip("| ").split(" | ")[1:]] for r in rows[2:]}
        if len([q for q in quoted if q[0] in measured]) != 3:
            fail("docs/cookbook.md does not quote the three rows of the hybrid table")
        for name, *vals in quoted:
            if name in measured and any(abs(float(a) - b) > 0.02 for a, b in zip(vals, measured[name])):
                fail("docs/cookbook.md quotes %s for '%s', measured %s" % (vals, name, measured[name]))
        v, k, h = "vector only", "keyword only (BM25)", "hybrid (RRF)"
        if not (trec[h] > trec[v] and hit[h] > hit[v]):
            fail("hybrid does not find more exact-term rows than vector search alone")
        if not sem[h] > sem[k] + 0.1:
            fail("hybrid does not keep more nearest rows than keyword search alone")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("cookbook: %d failures" % len(failures))
        sys.exit(1)
    print("cookbook: ok")


if __name__ == "__main__":
    main()
