#!/usr/bin/env bash
# The whole check: lint, types, tests. The README's second command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
mypy
bash scripts/browser.sh  # Debian's Chromium for the browser tests
python -m pytest "$@"
