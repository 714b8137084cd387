"""Tests of sqlite_veclite.bulk_insert on an installed wheel (run by
scripts/package_check.sh): one transaction, executemany batches, and its progress
report with tqdm importable (a stand-in module, and the real tqdm when installed)
and without it (the import blocked), for either host.

    python bulk_test.py stdlib    # the stdlib sqlite3 module (needs extension loading)
    python bulk_test.py apsw

Prints one "ok: ..." line per check and exits non-zero on the first failure.
"""

import contextlib
import io
import random
import sys
import types

import sqlite_veclite

HOST = sys.argv[1] if len(sys.argv) > 1 else "stdlib"
N, DIMS, BATCH = 2500, 8, 1000


def ok(what):
    print(f"ok: {HOST}: bulk_insert: {what}", flush=True)


def connect():
    if HOST == "stdlib":
        import sqlite3

        conn = sqlite3.connect(":memory:")
    elif HOST == "apsw":
        import apsw

        conn = apsw.Connection(":memory:")
    else:
        raise SystemExit(f"unknown host {HOST!r}: stdlib or apsw")
    sqlite_veclite.load(conn)
    conn.execute("CREATE VIRTUAL TABLE t USING veclite(v float[8], tag text)")
    return conn


def count(conn):
    return list(conn.execute("SELECT count(*) FROM t"))[0][0]


def data(n=N):
    rnd = random.Random(7)
    return [(i + 1, [rnd.random() for _ in range(DIMS)], f"tag{i % 3}") for i in range(n)]


@contextlib.contextmanager
def tqdm_module(module):
    """sys.modules['tqdm'] as given (None: `import tqdm` raises ImportError)."""
    saved = sys.modules.get("tqdm", "absent")
    sys.modules["tqdm"] = module
    try:
        yield
    finally:
        if saved == "absent":
            sys.modules.pop("tqdm", None)
        else:
            sys.modules["tqdm"] = saved


def run(rows, **kw):
    conn = connect()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        n = sqlite_veclite.bulk_insert(conn, "t", rows, ["rowid", "v", "tag"], **kw)
    return conn, n, err.getvalue()


# Without tqdm: a plain line now and then (every batch here), a last one with the time.
with tqdm_module(None):
    saved = sqlite_veclite._PLAIN_EVERY_S
    sqlite_veclite._PLAIN_EVERY_S = 0
    try:
        conn, n, err = run(data(), batch=BATCH, progress=True)
    finally:
        sqlite_veclite._PLAIN_EVERY_S = saved
assert n == N and count(conn) == N, (n, count(conn))
lines = err.splitlines()
assert len(lines) == 4, lines  # three batches, then the total
assert lines[0] == f"veclite bulk_insert t: 1000/{N} (40%) rows, " + lines[0].split(", ")[1], lines
assert lines[0].endswith(" rows/s"), lines
assert lines[-1].startswith(f"veclite bulk_insert t: {N} rows in ") and lines[-1].endswith(" rows/s)"), lines
knn = [r[0] for r in conn.execute("SELECT rowid FROM t WHERE knn_match(v, ?) AND k = 3",
                                  (sqlite_veclite.serialize_float32(data()[41][1]),))]
assert knn[0] == 42, knn
ok(f"no tqdm: {N} rows, stderr lines {lines[0]!r} ... {lines[-1]!r}")

# With tqdm (a stand-in recording what bulk_insert asks of it).
bars = []


class FakeTqdm:
    def __init__(self, total=None, desc=None, unit=None, **kw):
        self.total, self.desc, self.unit, self.updates, self.closed = total, desc, unit, [], False
        bars.append(self)

    def update(self, n):
        self.updates.append(n)

    def close(self):
        self.closed = True


fake = types.ModuleType("tqdm")
fake.tqdm = FakeTqdm
with tqdm_module(fake):
    conn, n, err = run(data(), batch=BATCH, progress=True)
assert n == N and count(conn) == N
assert len(bars) == 1, bars
b = bars[0]
assert (b.total, b.desc, b.unit, b.updates, b.closed) == (N, "veclite bulk_insert t", "rows", [1000, 1000, 500], True), vars(b)
assert err == "", err
ok("tqdm importable: one bar, total, updates per batch, closed")

# A generator has no length: total= gives it, else the bar has none.
bars.clear()
with tqdm_module(fake):
    conn, n, _ = run((r for r in data()), batch=BATCH, progress=True)
    assert bars[-1].total is None and n == N
    conn, n, _ = run((r for r in data()), batch=BATCH, progress=True, total=N)
    assert bars[-1].total == N and n == N
ok("rows from a generator, with and without total=")

# The real tqdm, where it is installed.
try:
    import tqdm as real_tqdm  # noqa: F401
except ImportError:
    print(f"ok: {HOST}: bulk_insert: (the real tqdm is not installed here: skipped)")
else:
    conn, n, err = run(data(), batch=BATCH, progress=True)
    assert n == N and count(conn) == N
    assert "veclite bulk_insert t" in err and f"{N}/{N}" in err.replace("2.50k", "2500"), err
    ok(f"the real tqdm {real_tqdm.__version__}: {err.strip().splitlines()[-1].strip()!r}")

# progress=False, and None with stderr not a terminal: silent; a function: called per batch.
with tqdm_module(None):
    for p in (False, None):
        conn, n, err = run(data(), batch=BATCH, progress=p)
        assert n == N and err == "", (p, err)
    calls = []
    conn, n, err = run(data(), batch=BATCH, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1000, N), (2000, N), (2500, N)] and err == "", calls
ok("progress=False / None (stderr not a terminal) print nothing; progress=f calls f(done, total)")

# One transaction: a bad row in the third batch leaves the table as it was.
rows = data()
rows[2100] = (2101, [1.0] * (DIMS + 1), "bad")
conn = connect()
try:
    sqlite_veclite.bulk_insert(conn, "t", rows, ["rowid", "v", "tag"], batch=BATCH, progress=False)
except Exception as e:  # sqlite3.Error or apsw.Error
    msg = str(e)
else:
    raise AssertionError("a vector of the wrong length was accepted")
assert count(conn) == 0 and not sqlite_veclite._in_transaction(conn), count(conn)
ok(f"a bad row in the third batch: nothing inserted ({msg})")

# Inside the caller's transaction: the rows join it, nothing is committed.
conn = connect()
conn.execute("BEGIN")
sqlite_veclite.bulk_insert(conn, "t", data(10), ["rowid", "v", "tag"], progress=False)
assert sqlite_veclite._in_transaction(conn) and count(conn) == 10
conn.execute("ROLLBACK")
assert count(conn) == 0
ok("inside the caller's BEGIN: joined, not committed")

# Without columns: each row is (rowid, vector, metadata...) in declared order.
conn = connect()
n = sqlite_veclite.bulk_insert(conn, "t", data(10), progress=False)
assert n == 10 and list(conn.execute("SELECT rowid, tag FROM t WHERE rowid = 5")) == [(5, "tag1")]
ok("without columns=: (rowid, vector, metadata...)")
