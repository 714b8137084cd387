#!/usr/bin/env bash
# Checks that docs/hosts.md shows every file of docs/snippets/ verbatim, each as a whole
# fenced code block (the programs and the output they print). scripts/package_check.sh
# runs the programs and compares what they print with the .out files.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import pathlib
import re
import sys

doc = pathlib.Path("docs/hosts.md").read_text()
files = sorted(p for p in pathlib.Path("docs/snippets").iterdir() if p.is_file())
if not files:
    sys.exit("docs_check: docs/snippets/ is empty")
missing = []
for p in files:
    text = p.read_text()
    if not text.endswith("\n") or not re.search(r"(?m)^```[a-z]*\n" + re.escape(text) + r"```$", doc):
        missing.append(str(p))
for m in missing:
    print(f"docs_check: {m} is not shown verbatim as a code block in docs/hosts.md", file=sys.stderr)
if missing:
    sys.exit(1)
print(f"docs_check: all {len(files)} files of docs/snippets/ appear verbatim in docs/hosts.md")
PY
