#!/usr/bin/env bash
# The scale-out tests (docs/scaling-out.md), CI only: .ci/run installs what they need
# and calls this after test_aarch64.sh; scripts/test.sh does not run them.
#  1. go/cluster: a 3-node dqlite cluster in one process with veclite in every
#     connection (Debian's libdqlite-dev and golang-github-canonical-go-dqlite-dev).
#  2. go/litestream: Litestream replicating a veclite database while a writer
#     inserts, restored mid-write and at the end. The litestream binary (v0.3.14,
#     from the Go module proxy, linked to the system libsqlite3) is built once into
#     ${VECLITE_CACHE:-~/.cache/veclite}.
# Both use the checkout's target/release/libveclite.so (built here if stale).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
litestream_version=v0.3.14
gocode=/usr/share/gocode/src/github.com/canonical/go-dqlite

missing=()
[ -e /usr/include/dqlite.h ] || missing+=(libdqlite-dev)
[ -e "$gocode/go.mod" ] || missing+=(golang-github-canonical-go-dqlite-dev)
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
if ((${#missing[@]})); then
  echo "test_scaleout.sh: missing Debian packages: apt-get install ${missing[*]} (.ci/run installs them)" >&2
  exit 1
fi

echo "== build"
cargo build --release
export VECLITE_EXTENSION="$PWD/target/release/libveclite.so"

cache="${VECLITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/veclite}/litestream-$litestream_version"
if [ ! -x "$cache/litestream" ]; then
  echo "== building litestream $litestream_version into $cache"
  t=$SECONDS
  mkdir -p "$cache"
  # -tags libsqlite3: mattn/go-sqlite3 links the system SQLite instead of compiling
  # its own (a minute and a half less)
  GOBIN="$cache" go install -tags libsqlite3 "github.com/benbjohnson/litestream/cmd/litestream@$litestream_version"
  echo "built in $((SECONDS - t)) s"
fi
export VECLITE_LITESTREAM="$cache/litestream"

echo "== dqlite: 3 nodes in one process (go/cluster; dqlite $(dpkg-query -W -f='${Version}' libdqlite-dev 2>/dev/null || echo '?'), SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'))"
t=$SECONDS
# -tags libsqlite3: go-dqlite's client imports mattn/go-sqlite3; with the tag it uses
# the system libsqlite3 too, so the process has one SQLite (see go/cluster/veclite.go)
(cd go/cluster && test -z "$(gofmt -l .)" && go vet -tags libsqlite3 ./... \
  && go build -tags libsqlite3 -o /dev/null ./cmd/veclite-node \
  && go test -tags libsqlite3 -count=1 -v ./...)
echo "dqlite test: $((SECONDS - t)) s"

echo "== Litestream $litestream_version: replicate while writing, restore, compare (go/litestream)"
t=$SECONDS
(cd go/litestream && test -z "$(gofmt -l .)" && go vet ./... && go test -count=1 -v ./...)
echo "Litestream test: $((SECONDS - t)) s"
echo "test_scaleout.sh: all passed in $((SECONDS - start)) s"
