#!/usr/bin/env bash
# SQL test suite: runs every sql/NNN-topic.sql through the real sqlite3 shell and
# compares stdout+stderr with sql/NNN-topic.expected.
#   sql/run.sh                 run all (uses target/release/libveclite.so)
#   sql/run.sh 010             run files whose name starts with 010
#   UPDATE_EXPECTED=1 sql/run.sh 010   rewrite the .expected files (review the diff!)
#   SQLITE3=/path/to/sqlite3 sql/run.sh   use another shell
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
SQLITE3=${SQLITE3:-sqlite3}
lib="$root/target/release/libveclite.so"
[ -f "$lib" ] || { echo "missing $lib: run 'cargo build --release' first" >&2; exit 2; }
pass=0; fail=0; failed=()
for f in "$root"/sql/${1:-[0-9]}*.sql; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .sql)
  exp="$root/sql/$name.expected"
  # Each file runs in a fresh directory (for .open file.db) with ./target pointing at
  # the build, so the files say `.load ./target/release/libveclite` as a user would.
  work=$(mktemp -d)
  ln -s "$root/target" "$work/target"
  ln -s "$root/sql" "$work/sql"
  out=$(cd "$work" && VECLITE_TESTING=1 stdbuf -o0 -e0 "$SQLITE3" -batch < "$f" 2>&1; echo "exit: $?")
  rm -rf "$work"
  if [ "${UPDATE_EXPECTED:-}" = 1 ]; then
    printf '%s\n' "$out" > "$exp"
  fi
  if [ -f "$exp" ] && [ "$out" = "$(cat "$exp")" ]; then
    pass=$((pass+1))
  else
    fail=$((fail+1)); failed+=("$name")
    echo "--- FAIL $name"
    diff <(printf '%s\n' "$out") "$exp" | head -40
  fi
done
echo "sql: $pass passed, $fail failed"
[ "$fail" = 0 ]
