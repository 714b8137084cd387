#!/usr/bin/env bash
# Checks `make install` and `make uninstall` in a temporary prefix: the installed
# veclite.so is stripped and exports sqlite3_veclite_init, `.load veclite` works in the
# sqlite3 shell and load_extension('veclite') in Python's sqlite3 (when /usr/bin/python3
# can load extensions) with LD_LIBRARY_PATH=$PREFIX/lib, and uninstall removes it.
set -uo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d "${TMPDIR:-/tmp}/veclite-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
lib=$prefix/lib/veclite.so
passed=0 failed=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAILED: $1" >&2; failed=$((failed + 1)); }

if make --no-print-directory install PREFIX="$prefix" >"$prefix/make.log" 2>&1; then
  pass "make install PREFIX=$prefix"
else
  cat "$prefix/make.log" >&2
  fail "make install PREFIX=$prefix"
fi

if [ -f "$lib" ] && [ "$(stat -c %a "$lib")" = 755 ]; then pass "$lib, mode 0755"; else fail "$lib missing or not mode 0755"; fi
if [ -f "$lib" ] && ! readelf -S "$lib" | grep -q '\.debug_'; then
  pass "stripped ($(stat -c %s "$lib") bytes; the build is $(stat -c %s target/release/libveclite.so))"
else
  fail "$lib has debug sections"
fi
if [ -f "$lib" ] && nm -D --defined-only "$lib" | grep -q ' sqlite3_veclite_init$'; then
  pass "exports sqlite3_veclite_init"
else
  fail "$lib does not export sqlite3_veclite_init"
fi

want=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
got=$(LD_LIBRARY_PATH="$prefix/lib" sqlite3 :memory: '.load veclite' 'select veclite_version()' 2>&1)
if [ "$got" = "$want" ]; then pass "sqlite3 shell: .load veclite; veclite_version() = $got"; else fail "sqlite3 shell: .load veclite gave '$got', want '$want'"; fi

# Debian's python3 is built with extension loading; pyenv's and others may not be.
py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>/dev/null; then
  got=$(LD_LIBRARY_PATH="$prefix/lib" "$py" -c '
import sqlite3
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension("veclite")
print(conn.execute("select veclite_version()").fetchone()[0])' 2>&1)
  if [ "$got" = "$want" ]; then pass "$py: load_extension('veclite'); veclite_version() = $got"; else fail "$py: load_extension('veclite') gave '$got', want '$want'"; fi
else
  echo "skipped: $py cannot load extensions"
fi

if make --no-print-directory uninstall PREFIX="$prefix" >"$prefix/make.log" 2>&1 && [ ! -e "$lib" ] && [ ! -L "$prefix/lib/libveclite.so" ]; then
  pass "make uninstall removed veclite.so and its libveclite.so link"
else
  cat "$prefix/make.log" >&2
  ls -l "$prefix/lib" >&2
  fail "make uninstall left files behind"
fi

echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
