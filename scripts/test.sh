#!/usr/bin/env bash
# Runs every test: the Python suite (pytest, on the instruction-set build this CPU selects) and
# the C++ suite (ctest). Run scripts/setup.sh once before; rerun it after changing C++ code.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/setup.sh first" >&2; exit 2; }

printf '\n== Python tests (pytest)\n'
.venv/bin/python -m pytest "$@"

printf '\n== C++ tests (ctest)\n'
.venv/bin/cmake --build build/cpp -j 2 >/dev/null
.venv/bin/ctest --test-dir build/cpp --output-on-failure
