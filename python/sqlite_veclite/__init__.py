"""veclite for Python: vector tables with KNN search in SQLite.

    import sqlite3, sqlite_veclite
    conn = sqlite3.connect("docs.db")
    sqlite_veclite.load(conn)        # stdlib sqlite3.Connection or apsw.Connection

The wheel carries the compiled extension (veclite.so) beside this file.
"""

import array
import os
import struct
import sys
import time

__version__ = "0.1.0"

__all__ = ["bulk_insert", "load", "loadable_path", "serialize_float32", "__version__"]

# SQLite derives the entry point from the file name: veclite.so -> sqlite3_veclite_init.
_LIBRARY = "veclite.so"


def loadable_path():
    """Full path of the veclite extension bundled with this package (…/veclite.so).

    Pass it to anything that loads SQLite extensions: ``conn.load_extension(path)``,
    ``datasette --load-extension PATH``, ``sqlite-utils --load-extension PATH``, or
    ``.load PATH`` in the sqlite3 shell. (SQLite also accepts it without the ``.so``.)
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBRARY)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"sqlite_veclite: the bundled extension {path} is missing: this copy of the "
            "package was not installed from a built wheel (build one with scripts/package.sh)"
        )
    return path


def load(conn):
    """Load veclite into a connection: a stdlib ``sqlite3.Connection`` or an ``apsw.Connection``.

    Extension loading is switched on for the call and off again afterwards (the
    ``load_extension()`` SQL function stays disabled). Load it into every connection
    that uses veclite tables or functions.
    """
    enable = getattr(conn, "enable_load_extension", None)
    if enable is None:
        raise RuntimeError(
            "sqlite_veclite.load: this connection cannot load extensions: "
            f"{type(conn).__module__}.{type(conn).__qualname__} has no enable_load_extension(). "
            "Python's sqlite3 module is often built without extension loading (pyenv, "
            "python.org installers, some distributions); use a Python whose sqlite3 has it "
            "(e.g. Debian's /usr/bin/python3) or apsw instead: pip install apsw, then "
            "sqlite_veclite.load(apsw.Connection(path))"
        )
    path = loadable_path()
    enable(True)
    try:
        conn.load_extension(path)
    finally:
        enable(False)


def serialize_float32(vector):
    """Return a vector as the little-endian float32 BLOB veclite stores.

    Accepts a list or tuple of numbers, an ``array.array``, any other iterable of
    numbers, or a one-dimensional numpy array (numpy is not required). Values that do
    not fit a float32 raise OverflowError (numpy converts them to infinity, which
    veclite rejects on insert).
    """
    if hasattr(vector, "dtype") and hasattr(vector, "astype") and hasattr(vector, "ndim"):
        if vector.ndim != 1:
            raise ValueError(
                f"serialize_float32: expected a one-dimensional array, got shape {vector.shape}"
            )
        return vector.astype("<f4", copy=False).tobytes()
    if isinstance(vector, array.array):
        values = vector if vector.typecode == "f" else array.array("f", vector)
        if sys.byteorder != "little":
            values = array.array("f", values)
            values.byteswap()
        return values.tobytes()
    if isinstance(vector, (bytes, bytearray, memoryview, str)):
        raise TypeError(
            "serialize_float32: expected a sequence of numbers, got "
            f"{type(vector).__name__} (a vector that is already a BLOB or JSON text "
            "can be passed to SQL as it is)"
        )
    values = vector if isinstance(vector, (list, tuple)) else list(vector)
    return struct.pack(f"<{len(values)}f", *values)


# Seconds between two lines of the plain progress report (no tqdm).
_PLAIN_EVERY_S = 2.0


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def _sql_value(v):
    # Vectors as a list, tuple, array.array or numpy array become float32 BLOBs;
    # everything else (numbers, text, BLOBs, JSON text, None) goes as it is.
    if isinstance(v, (list, tuple, array.array)) or (
        hasattr(v, "dtype") and hasattr(v, "ndim") and getattr(v, "ndim", 0) == 1
    ):
        return serialize_float32(v)
    return v


class _Plain:
    """The progress report without tqdm: a line on stderr every few seconds, and a
    last line with the total time."""

    def __init__(self, desc, total, stream):
        self.desc, self.total, self.stream = desc, total, stream
        self.done = 0
        self.start = self.last = time.monotonic()

    def update(self, n):
        self.done += n
        now = time.monotonic()
        if now - self.last >= _PLAIN_EVERY_S:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            of = f"/{self.total} ({100 * self.done / self.total:.0f}%)" if self.total else ""
            print(f"{self.desc}: {self.done}{of} rows, {rate:.0f} rows/s", file=self.stream, flush=True)

    def close(self):
        took = time.monotonic() - self.start
        rate = self.done / max(took, 1e-9)
        print(f"{self.desc}: {self.done} rows in {took:.1f} s ({rate:.0f} rows/s)", file=self.stream, flush=True)


class _Callback:
    def __init__(self, fn, total):
        self.fn, self.total, self.done = fn, total, 0

    def update(self, n):
        self.done += n
        self.fn(self.done, self.total)

    def close(self):
        pass


def _reporter(progress, desc, total):
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        progress = bool(isatty and isatty())
    if progress is False:
        return None
    if callable(progress) and progress is not True:
        return _Callback(progress, total)
    try:
        from tqdm import tqdm
    except ImportError:
        return _Plain(desc, total, sys.stderr)
    return tqdm(total=total, desc=desc, unit="rows", unit_scale=True)


def _in_transaction(conn):
    t = getattr(conn, "in_transaction", None)
    if t is not None and not callable(t):
        return bool(t)
    getautocommit = getattr(conn, "getautocommit", None)  # older apsw
    if getautocommit is not None:
        return not getautocommit()
    raise TypeError(f"bulk_insert: cannot tell whether {type(conn).__name__} is in a transaction")


def bulk_insert(conn, table, rows, columns=None, *, batch=1000, progress=None, total=None):
    """Insert many rows into ``table`` in one transaction, showing progress.

    ``conn`` is a stdlib ``sqlite3.Connection`` or an ``apsw.Connection`` with veclite
    loaded. ``rows`` is any iterable of sequences, one value per name in ``columns``
    (for example ``["rowid", "embedding", "category"]``); without ``columns``, each
    row is ``(rowid, vector, metadata...)`` in the table's declared order. A vector
    given as a list, tuple, ``array.array`` or 1-D numpy array is sent as a float32
    BLOB (:func:`serialize_float32`); BLOBs and JSON text go as they are.

    Rows are sent ``batch`` at a time with ``executemany``. When no transaction is
    open, one is begun and committed at the end (rolled back if anything fails, an
    interrupt included: the table is then as it was); inside the caller's
    transaction the rows join it and nothing is committed (so with Python 3.12's
    ``autocommit=False``, which always has one open, call ``conn.commit()`` after).

    ``progress``: None (the default) shows progress when stderr is a terminal;
    True always, False never; or a function ``f(rows_done, rows_total)`` called
    after each batch. It is a tqdm bar when tqdm is installed, otherwise a line on
    stderr every two seconds and one with the total time at the end.
    ``rows_total`` is ``len(rows)`` when rows has a length, else ``total`` (may be None).

    Returns the number of rows inserted.
    """
    if batch < 1:
        raise ValueError("bulk_insert: batch must be at least 1")
    if total is None and hasattr(rows, "__len__"):
        total = len(rows)
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return 0
    if columns is None:
        import json

        info = json.loads(list(conn.execute("SELECT veclite_info(?)", (table,)))[0][0])
        columns = ["rowid", info["vector_column"]] + [c["name"] for c in info.get("columns", [])]
    cols = ", ".join(_quote(c) for c in columns)
    sql = f"INSERT INTO {_quote(table)}({cols}) VALUES ({', '.join('?' * len(columns))})"
    report = _reporter(progress, f"veclite bulk_insert {table}", total)
    own = not _in_transaction(conn)
    if own:
        conn.execute("BEGIN")
    done = 0
    try:
        chunk = [tuple(_sql_value(v) for v in first)]
        for row in it:
            chunk.append(tuple(_sql_value(v) for v in row))
            if len(chunk) >= batch:
                conn.executemany(sql, chunk)
                done += len(chunk)
                if report is not None:
                    report.update(len(chunk))
                chunk = []
        if chunk:
            conn.executemany(sql, chunk)
            done += len(chunk)
            if report is not None:
                report.update(len(chunk))
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own and _in_transaction(conn):
            conn.execute("ROLLBACK")
        raise
    finally:
        if report is not None:
            report.close()
    return done
