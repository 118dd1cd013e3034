# SPDX-License-Identifier: Apache-2.0
"""Builds the atomik_core package with the project's CMake (docs/python.md).

`pip install --no-build-isolation .` and `python3 -m build --no-isolation
--wheel` both come here through setuptools (pyproject.toml). setuptools
handles metadata, the pure-Python modules and the wheel; the compiled
modules come from CMake, configured for the interpreter running this file
(-DATOMIK_PYTHON=sys.executable) with everything but the Python package
switched off, so the C++ build is the project's own, flags and all.

Environment:
  ATOMIK_CMAKE_ARGS   extra arguments for the CMake configure step
  ATOMIK_BUILD_JOBS   parallel build jobs (default: CPU count)
  ATOMIK_CMAKE_BUILD_DIR  reuse this CMake build directory (default: one
                      per interpreter under setuptools' build_temp, kept
                      between runs so a second install rebuilds only what
                      changed)

Requires cmake, a C++20 compiler, cython3 and the interpreter's headers
(Debian: make deps); a missing tool is reported by CMake's configure step.
"""

import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version():
    """The version in CMakeLists.txt's project(atomik VERSION x.y.z): the
    single source of the version."""
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*atomik\s+VERSION\s+(\d+\.\d+\.\d+)", f.read())
    if not m:
        raise RuntimeError("CMakeLists.txt: no `project(atomik VERSION x.y.z)` line")
    return m.group(1)


class CMakeBuild(build_ext):
    """Builds the CMake target atomik_python_package once, then copies every
    compiled module (and the stubs) of build/<...>/python/atomik_core into
    the package being built."""

    def build_extensions(self):
        build_dir = os.environ.get("ATOMIK_CMAKE_BUILD_DIR") or os.path.join(
            os.path.abspath(self.build_temp),
            "cmake-" + hashlib.sha1(sys.executable.encode()).hexdigest()[:8])
        os.makedirs(build_dir, exist_ok=True)
        configure = ["cmake", "-S", ROOT, "-B", build_dir,
                     "-DCMAKE_BUILD_TYPE=Release",
                     "-DATOMIK_PYTHON=" + sys.executable,
                     "-DATOMIK_BUILD_PYTHON=ON", "-DATOMIK_BUILD_TESTS=OFF",
                     "-DATOMIK_BUILD_BENCHMARKS=OFF", "-DATOMIK_BUILD_TOOLS=OFF",
                     "-DATOMIK_BUILD_EXAMPLES=OFF", "-DATOMIK_INSTALL=OFF"]
        if shutil.which("ninja") and not os.path.exists(
                os.path.join(build_dir, "Makefile")):
            configure += ["-G", "Ninja"]
        configure += shlex.split(os.environ.get("ATOMIK_CMAKE_ARGS", ""))
        jobs = os.environ.get("ATOMIK_BUILD_JOBS") or str(os.cpu_count() or 1)
        for cmd in (configure, ["cmake", "--build", build_dir, "--target",
                                "atomik_python_package", "-j", jobs]):
            print(" ".join(shlex.quote(c) for c in cmd), flush=True)
            subprocess.run(cmd, check=True)
        built = os.path.join(build_dir, "python", "atomik_core")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        modules = sorted(glob.glob(os.path.join(built, "*" + suffix)))
        for ext in self.extensions:
            want = os.path.join(built, ext.name.split(".")[-1] + suffix)
            if want not in modules:
                raise RuntimeError("CMake did not build %s" % want)
        dest = os.path.dirname(self.get_ext_fullpath(self.extensions[0].name))
        os.makedirs(dest, exist_ok=True)
        # Every compiled module of the package, declared or not, and the
        # type stubs, so a module added to the CMake target ships too.
        for path in modules + glob.glob(os.path.join(built, "*.pyi")):
            shutil.copy2(path, dest)
            print("copied %s -> %s" % (path, dest), flush=True)


setup(
    version=project_version(),
    package_dir={"": "python"},
    packages=find_packages("python", include=["atomik_core", "atomik_core.*"]),
    package_data={"atomik_core": ["py.typed"]},
    # Both compiled modules are required (the package imports both): a
    # build that lacks one stops with "CMake did not build ...".
    ext_modules=[Extension("atomik_core._core", sources=[]),
                 Extension("atomik_core._net", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
