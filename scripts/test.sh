#!/usr/bin/env bash
# Runs every test: the Python suite (pytest) on the instruction-set build this CPU selects and
# again on each other build it can run (avx2, baseline), the type check (mypy --strict) and lint
# (ruff), then the C++ suite (ctest), the C++ suite again under ASan + UBSan, and a one-minute
# fuzzing run of the Python API (FASTLAYERS_FUZZ_SECONDS to change it). Run scripts/setup.sh once
# before; rerun it after changing C++ code.
# Under CI (CI set) it also runs scripts/check_wheel.sh: the sdist and the manylinux wheel built,
# installed without a compiler and tested; FASTLAYERS_CHECK_WHEEL=1/0 forces it on/off.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/setup.sh first" >&2; exit 2; }

printf '\n== Python tests (pytest)\n'
.venv/bin/python -m pytest "$@"

# The same suite on every other build this CPU can run: the AVX2 one, which CPUs without AVX-512
# get, and the baseline (SSE2) one, which CPUs without AVX2 get.
others=$(.venv/bin/python -c 'from fastlayers import _config; print(*_config.config()["isas_available"][1:])')
for isa in $others; do
  printf '\n== Python tests on the %s build (FASTLAYERS_ISA=%s)\n' "$isa" "$isa"
  FASTLAYERS_ISA=$isa .venv/bin/python -m pytest -q "$@"
done

printf '\n== Type check (mypy --strict) and lint (ruff check)\n'
.venv/bin/python -m mypy
.venv/bin/python -m ruff check python examples scripts

printf '\n== C++ tests (ctest)\n'
.venv/bin/cmake --build build/cpp -j 2 >/dev/null
.venv/bin/ctest --test-dir build/cpp --output-on-failure

printf '\n== C++ tests with AddressSanitizer + UndefinedBehaviorSanitizer (ctest, build/asan)\n'
.venv/bin/cmake --build build/asan -j 2 >/dev/null
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  .venv/bin/ctest --test-dir build/asan --output-on-failure

# A bounded fuzzing run of the Python API (README, Reliability, for a longer one).
secs=${FASTLAYERS_FUZZ_SECONDS:-60}
printf '\n== Fuzzing the Python API (atheris, %s s)\n' "$secs"
mkdir -p build/fuzz
if .venv/bin/python tests/fuzz/fuzz_api.py -max_total_time="$secs" -rss_limit_mb=4096 \
  -artifact_prefix=build/fuzz/ >build/fuzz/fuzz.log 2>&1; then
  grep -m1 -E '^Done [0-9]+ runs' build/fuzz/fuzz.log | sed 's/^/fuzz: /'
else
  tail -n 60 build/fuzz/fuzz.log
  echo "fuzz: FAILED (input saved in build/fuzz/; log build/fuzz/fuzz.log)" >&2
  exit 1
fi

if [ "${FASTLAYERS_CHECK_WHEEL:-${CI:+1}}" = 1 ]; then
  printf '\n== Packaging (scripts/check_wheel.sh)\n'
  bash scripts/check_wheel.sh
fi
