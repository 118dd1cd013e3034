#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lists every tracked source file whose first lines lack an
# "SPDX-License-Identifier:" line and exits 1 if there is any (0 if none), so
# CI can run it as is. Source files: C/C++, CMake, shell, Python, Cython and
# the pkg-config/CMake templates. A "#!" line may come first, so the first
# three lines are searched. Run from anywhere inside the repository.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
missing=0
while IFS= read -r -d '' f; do
  if ! head -n 3 -- "$f" | grep -q 'SPDX-License-Identifier:'; then
    printf '%s\n' "$f"
    missing=$((missing + 1))
  fi
done < <(git ls-files -z -- '*.c' '*.h' '*.cpp' '*.hpp' '*.inc' '*.cmake' \
           '*.cmake.in' '*.pc.in' '*.hpp.in' 'CMakeLists.txt' '*/CMakeLists.txt' \
           '*.sh' '*.py' '*.pyx' '*.pxd' '*.pyi' 'Makefile' '.ci/run')
if [ "$missing" -gt 0 ]; then
  printf 'check-spdx: %d tracked source file(s) lack an SPDX-License-Identifier line\n' \
    "$missing" >&2
  exit 1
fi
echo "check-spdx: every tracked source file has an SPDX-License-Identifier line"
