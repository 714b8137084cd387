#!/usr/bin/env bash
# Runs every test: build, .so linkage check, lints, the SQL suite in the sqlite3 shell,
# the apsw (SQLite 3.5x) suite, the Go tests, and the Rust unit/property/integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# apsw goes into a venv of the repository's own, .venv/ (a system python such as
# Debian's refuses pip installs). Running `python3 -m venv` again over a venv whose
# pip is missing (a first try without ensurepip) completes it.
py=.venv/bin/python
if ! "$py" -m pip --version >/dev/null 2>&1; then
  python3 -m venv .venv || { echo "test.sh: python3 -m venv .venv failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
fi
"$py" -c 'import apsw' 2>/dev/null || "$py" -m pip install --quiet apsw
# sqlite-vec (PyPI) for the migration check and the cookbook's sqlite-vec recipe
"$py" -c 'import sqlite_vec' 2>/dev/null || "$py" -m pip install --quiet sqlite-vec

echo "== build"
cargo build --release
echo "== the .so links no SQLite of its own"
so=target/release/libveclite.so
if readelf -d "$so" | grep -q 'NEEDED.*sqlite'; then echo "libveclite.so depends on a libsqlite3" >&2; exit 1; fi
if nm -D --undefined-only "$so" | grep -q ' sqlite3_'; then echo "libveclite.so has undefined sqlite3_* symbols" >&2; exit 1; fi
nm -D --defined-only "$so" | grep -q ' sqlite3_veclite_init$' || { echo "entry point missing" >&2; exit 1; }
nm -D --defined-only "$so" | grep -q ' sqlite3_veclite_auto_init$' || { echo "auto-extension entry point missing" >&2; exit 1; }
echo ok
echo "== make install / uninstall in a temporary prefix (.load veclite, Python load_extension)"
scripts/install_check.sh

echo "== lints"
cargo fmt --check
cargo clippy --release --all-targets --features fuzzing -- -D warnings

echo "== SQL suite (sqlite3 $(sqlite3 --version | cut -d' ' -f1))"
sql/run.sh
echo "== apsw"
"$py" tests/python/test_apsw.py
echo "== docs/cookbook.md: its SQL in the sqlite3 shell, the hybrid-search figures (apsw)"
"$py" tests/python/test_cookbook.py
echo "== migration from sqlite-vec: a vec0 table copied into veclite by INSERT ... SELECT, KNN compared"
"$py" tests/python/test_sqlite_vec_migration.py
echo "== veclite_rebuild stops within 100 ms of sqlite3_interrupt (apsw; Debian's python3: SQLite 3.40, no sqlite3_is_interrupted)"
"$py" tests/python/test_rebuild_interrupt.py apsw
if /usr/bin/python3 -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>/dev/null; then
  /usr/bin/python3 tests/python/test_rebuild_interrupt.py stdlib
else
  echo "skipped the 3.40 run: /usr/bin/python3 has no sqlite3 with extension loading (Debian's has)"
fi
echo "== Go (database/sql through mattn/go-sqlite3)"
# the fresh build, not a copy `make install` may have put on the loader's path
(cd go && go vet ./... && test -z "$(gofmt -l .)" && VECLITE_EXTENSION="$PWD/../target/release/libveclite.so" go test -count=1 ./...)
echo "== Rust tests"
# (the tests link SQLite through rusqlite's bundled build, a dev-dependency; the
# library itself links none)
cargo test --release --features fuzzing --lib --tests
echo "== the model fuzzer in a debug build (the transaction-state assertions are on)"
VECLITE_FUZZ_OPS=3000 VECLITE_FUZZ_SEEDS=3 cargo test --test model_fuzz
echo "== Rust: a program on the newest rusqlite (bundled SQLite) using veclite"
cargo run --release --quiet --manifest-path examples/rust-rusqlite/Cargo.toml
# --- packages: appended block (scripts/package.sh, scripts/package_check.sh) ---
echo "== packages (wheel, npm tarball, Datasette, docs snippets)"
scripts/package.sh
scripts/package_check.sh
# --- end packages ---
