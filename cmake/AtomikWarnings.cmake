# SPDX-License-Identifier: Apache-2.0
# atomik_warnings: warning flags for atomik's own targets only.
add_library(atomik_warnings INTERFACE)
target_compile_options(atomik_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast>
  $<$<BOOL:${ATOMIK_WERROR}>:-Werror>)
