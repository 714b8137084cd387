#!/usr/bin/env bash
# Builds the extension and runs a semantic search over WordNet glosses in the sqlite3 shell.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
python3 scripts/prepare_demo.py 10000 target/demo
rm -f target/demo/demo.db
sqlite3 target/demo/demo.db < scripts/demo.sql
