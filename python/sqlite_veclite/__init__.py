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

__version__ = "0.1.0"

__all__ = ["load", "loadable_path", "serialize_float32", "__version__"]

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
