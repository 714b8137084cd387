#!/usr/bin/env bash
# Builds the packages into dist/:
#   dist/sqlite_veclite-VERSION-py3-none-<platform>.whl   Python (import sqlite_veclite)
#   dist/sqlite-veclite-VERSION.tgz                        npm (require('sqlite-veclite'))
# Each carries a stripped copy of target/release/libveclite.so named veclite.so (the name
# from which SQLite derives the entry point sqlite3_veclite_init). Nothing is published:
# install them with `pip install dist/sqlite_veclite-*.whl` and
# `npm install ./dist/sqlite-veclite-*.tgz`. scripts/package_check.sh tests them.
# The wheel is built in a venv of its own (target/package-venv, python3 on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "package.sh: $*" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
py_version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' python/sqlite_veclite/__init__.py)
npm_version=$(sed -n 's/^  "version": "\(.*\)",/\1/p' npm/package.json)
[ "$py_version" = "$version" ] || die "python/sqlite_veclite/__init__.py has __version__ $py_version, Cargo.toml $version"
[ "$npm_version" = "$version" ] || die "npm/package.json has version $npm_version, Cargo.toml $version"

echo "== cargo build --release"
cargo build --release
built=target/release/libveclite.so
stripped=target/package/veclite.so
mkdir -p target/package dist npm/lib
# dist/ holds build output only: keep it out of git without touching the top .gitignore
[ -f dist/.gitignore ] || printf '# build output of scripts/package.sh\n*\n' >dist/.gitignore
strip --strip-unneeded -o "$stripped.tmp" "$built"
mv -f "$stripped.tmp" "$stripped"
nm -D --defined-only "$stripped" | grep -q ' sqlite3_veclite_init$' || die "$stripped does not export sqlite3_veclite_init"
! readelf -S "$stripped" | grep -q '\.debug_' || die "$stripped still has debug sections"
echo "stripped: $stripped, $(stat -c %s "$stripped") bytes (the build: $(stat -c %s "$built"))"
install -m 0755 "$stripped" python/sqlite_veclite/veclite.so
install -m 0755 "$stripped" npm/lib/veclite.so

echo "== Python wheel"
venv=target/package-venv
py=$venv/bin/python
if ! "$py" -m pip --version >/dev/null 2>&1; then
  python3 -m venv "$venv" || die "python3 -m venv $venv failed (Debian/Ubuntu: apt-get install python3-venv)"
fi
# setuptools 77+: SPDX license strings; it has bdist_wheel built in
"$py" -c 'import sys, setuptools; sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' 2>/dev/null \
  || "$py" -m pip install --quiet --disable-pip-version-check 'setuptools>=77'
rm -rf python/build python/*.egg-info dist/sqlite_veclite-*.whl
"$py" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist ./python
rm -rf python/build python/*.egg-info
wheels=(dist/sqlite_veclite-"$version"-py3-none-*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || die "expected one wheel dist/sqlite_veclite-$version-py3-none-*.whl, found: $(ls dist)"
wheel=${wheels[0]}
"$py" - "$wheel" <<'PY' || die "$wheel does not hold what it should"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["sqlite_veclite/__init__.py", "sqlite_veclite/veclite.so", "sqlite_veclite/py.typed"]
missing = [n for n in need if n not in names]
wheel_meta = [n for n in names if n.endswith(".dist-info/WHEEL")]
meta = zipfile.ZipFile(sys.argv[1]).read(wheel_meta[0]).decode() if wheel_meta else ""
if missing or "Root-Is-Purelib: false" not in meta:
    print("missing:", missing, "\n", meta, file=sys.stderr)
    sys.exit(1)
PY
echo "wheel: $wheel, $(stat -c %s "$wheel") bytes"

echo "== npm tarball"
rm -f dist/sqlite-veclite-*.tgz
tgz_name=$(cd npm && npm pack --silent --pack-destination ../dist | tail -n 1)
tgz=dist/$tgz_name
[ -f "$tgz" ] && [ "$tgz_name" = "sqlite-veclite-$version.tgz" ] || die "npm pack gave '$tgz_name', expected sqlite-veclite-$version.tgz"
listing=$(tar -tzf "$tgz")
for f in package/package.json package/index.js package/index.d.ts package/lib/veclite.so; do
  grep -qx "$f" <<<"$listing" || die "$tgz lacks $f"
done
echo "npm: $tgz, $(stat -c %s "$tgz") bytes"
