#!/usr/bin/env bash
# Sets fastlayers up on a fresh machine and runs the demo:
#   system packages for the C++ tests and benchmarks (GoogleTest, Google Benchmark),
#   a virtual environment .venv with fastlayers built from this checkout (pip install .),
#   PyTorch 2.13 (CPU) for the comparison tests and benchmarks, the C++ test build (also one with
#   AddressSanitizer + UndefinedBehaviorSanitizer in build/asan),
#   a short demo of the layers on the book's numbers (python -m fastlayers.demo),
#   and finally the main job: `fastlayers train`, the book's TwoLayerNet trained on the digits
#   data bundled with scikit-learn (offline), printing its accuracy.
# Environment: PYTHON (default python3), FASTLAYERS_NO_TORCH=1 to skip PyTorch,
#              FASTLAYERS_NO_TRAIN=1 to skip the training run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-python3}

step() { printf '\n== %s\n' "$*"; }

step "System packages (GoogleTest, Google Benchmark)"
missing=()
for pkg in libgtest-dev libbenchmark-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  if command -v apt-get >/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: no apt-get; install GoogleTest and Google Benchmark yourself for the C++ tests" >&2
  fi
fi
echo "ok"

step "Virtual environment .venv"
[ -x .venv/bin/python ] || "$py" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip
# The build requirements also go into .venv: the C++ test build below uses its Eigen and pybind11.
"${pip[@]}" install "scikit-build-core>=0.10" "pybind11>=2.13" "cmeel-eigen>=3.4,<3.5" ninja cmake
if [ "${FASTLAYERS_NO_TORCH:-0}" != 1 ]; then
  # 2.13.0 is the CPU build on this machine's disk; other versions download gigabytes.
  "${pip[@]}" install "torch==2.13.0" || echo "warning: PyTorch not installed; its comparisons will be skipped" >&2
fi

step "Build and install fastlayers (pip install .)"
# atheris (the fuzz extra) from its binary wheel only: its source build needs clang and libFuzzer.
"${pip[@]}" install --no-build-isolation --only-binary=atheris ".[test,examples,bench,fuzz]"

step "Build the C++ tests"
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
.venv/bin/cmake -S . -B build/cpp -G Ninja -DCMAKE_MAKE_PROGRAM="$root/.venv/bin/ninja" \
  -DCMAKE_PREFIX_PATH="$site" -DFASTLAYERS_BUILD_TESTS=ON >/dev/null
.venv/bin/cmake --build build/cpp -j 2 >/dev/null
echo "ok"

step "Build the C++ tests with AddressSanitizer + UndefinedBehaviorSanitizer (build/asan)"
.venv/bin/cmake -S . -B build/asan -G Ninja -DCMAKE_MAKE_PROGRAM="$root/.venv/bin/ninja" \
  -DCMAKE_PREFIX_PATH="$site" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTLAYERS_BUILD_TESTS=ON \
  -DFASTLAYERS_SANITIZE=ON >/dev/null
.venv/bin/cmake --build build/asan -j 2 >/dev/null
echo "ok"

step "The layers on the book's numbers: .venv/bin/python -m fastlayers.demo"
.venv/bin/python -m fastlayers.demo

if [ "${FASTLAYERS_NO_TRAIN:-0}" != 1 ]; then
  step "Train the book's TwoLayerNet: .venv/bin/fastlayers train"
  .venv/bin/fastlayers train --out runs/quickstart
fi
