#!/usr/bin/env bash
# Runs the Python test suite against a build of the extension with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DFASTLAYERS_SANITIZE=ON), loaded through LD_PRELOAD of the ASan runtime.
# The build goes to build/asan-python (about 5 minutes on 2 cores); the package is assembled beside it
# from python/fastlayers and put first on PYTHONPATH, so the .venv install is not touched.
# Leak detection is off: CPython keeps interned objects and arenas alive until exit by design.
# Arguments go to pytest (bash scripts/asan_python.sh -k affine -x). Run scripts/setup.sh once before.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/setup.sh first" >&2; exit 2; }
out=build/asan-python
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

printf '\n== Build the extension with ASan + UBSan (%s)\n' "$out"
.venv/bin/cmake -S . -B "$out" -G Ninja -DCMAKE_MAKE_PROGRAM="$root/.venv/bin/ninja" -DCMAKE_PREFIX_PATH="$site" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTLAYERS_BUILD_PYTHON=ON -DFASTLAYERS_SANITIZE=ON \
  -DPython_EXECUTABLE="$root/.venv/bin/python" >/dev/null
.venv/bin/cmake --build "$out" -j 2 >/dev/null
pkg="$out/pkg/fastlayers"
rm -rf "$pkg" && mkdir -p "$pkg"
cp python/fastlayers/*.py python/fastlayers/*.pyi python/fastlayers/py.typed "$pkg/"
cp "$out"/_core_*.so "$out"/_cpu*.so "$pkg/"

libasan=$(${CXX:-g++} -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "libasan.so not found (looked at $libasan)" >&2; exit 2; }
# libstdc++ too: python itself does not link it, and ASan's __cxa_throw interceptor needs it loaded
# first (otherwise the first C++ exception aborts with "real___cxa_throw != 0").
libstdcxx=$(${CXX:-g++} -print-file-name=libstdc++.so.6)
printf '\n== Python tests against the ASan build (LD_PRELOAD=%s)\n' "$libasan"
# FASTLAYERS_ASAN=1 skips the tests that cap the address space (ASan reserves terabytes of it).
# allocator_may_return_null=1: an impossible allocation (the tests ask NumPy for 256 TiB to see MemoryError)
# returns NULL as with glibc, instead of ASan's allocation-size-too-big abort.
# -p no:cacheprovider: nothing written next to the sources.
LD_PRELOAD="$libasan:$libstdcxx" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  PYTHONPATH="$root/$out/pkg${PYTHONPATH:+:$PYTHONPATH}" FASTLAYERS_ASAN=1 \
  .venv/bin/python -m pytest -p no:cacheprovider "$@"
