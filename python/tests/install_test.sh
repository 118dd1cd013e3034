#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The installed package, as a user gets it: a fresh venv (with Debian's
# site packages, for pytest and numpy), `pip install --no-build-isolation .`
# from the source tree, then the Python tests and `python -m atomik_core
# --help` against the installed copy (no PYTHONPATH: imports come from the
# venv's site-packages; the test asserts that).
#   install_test.sh SOURCE_DIR WORK_DIR [PYTHON]
# WORK_DIR keeps the CMake build directory between runs (ATOMIK_CMAKE_BUILD_DIR),
# as a user re-installing would; the venv is recreated every time.
set -euo pipefail
src=$1 work=$2 py=${3:-/usr/bin/python3}
venv=$work/venv
rm -rf "$venv"
mkdir -p "$work"
"$py" -m venv --system-site-packages "$venv"
echo "== pip install --no-build-isolation $src"
ATOMIK_CMAKE_BUILD_DIR=$work/cmake-build \
  "$venv/bin/python" -m pip install --no-build-isolation --no-deps --no-cache-dir -q "$src"
cd "$work"
unset PYTHONPATH
"$venv/bin/python" - <<'PY'
import importlib.metadata as md, os, sys
import atomik_core
import atomik_core._core, atomik_core._net
site = os.path.join(sys.prefix, "lib")
# Both compiled modules and the stubs were installed, not only the package.
for m in (atomik_core, atomik_core._core, atomik_core._net):
    assert m.__file__.startswith(site), "not the installed copy: " + m.__file__
pkg = os.path.dirname(atomik_core.__file__)
for stub in ("__init__.pyi", "_net.pyi", "py.typed"):
    assert os.path.exists(os.path.join(pkg, stub)), "not installed: " + stub
dist = md.distribution("atomik-core")
assert dist.version == atomik_core.__version__, (dist.version, atomik_core.__version__)
print("installed atomik-core", dist.version, "at", os.path.dirname(atomik_core.__file__))
PY
echo "== python -m atomik_core --help"
help=$("$venv/bin/python" -m atomik_core --help)
grep -q "benchmark" <<<"$help" || { echo "unexpected --help output: $help"; exit 1; }
echo "== pytest against the installed package"
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  --basetemp="$work/pytest-tmp" "$src/python/tests"
