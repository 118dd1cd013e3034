# SPDX-License-Identifier: Apache-2.0
# Runs a command and checks its exit code (and optionally its output):
#   cmake -DEXPECT=<code> [-DREGEX=<regex>] [-DSTDIN=<file>] -P expect_exit.cmake <cmd> [args...]
# REGEX is matched against stdout+stderr. Used by atomik_cli_test().
set(cmd)
set(take OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 0 ${last})
  if(take)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} MATCHES "expect_exit\\.cmake$")
    set(take ON)
  endif()
endforeach()
if(DEFINED STDIN)
  execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  INPUT_FILE "${STDIN}" TIMEOUT 120)
else()
  execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 120)
endif()
message("${out}${err}")
if(NOT "${rc}" STREQUAL "${EXPECT}")
  message(FATAL_ERROR "expected exit ${EXPECT}, got ${rc}: ${cmd}")
endif()
if(DEFINED REGEX AND NOT "${out}${err}" MATCHES "${REGEX}")
  message(FATAL_ERROR "output does not match '${REGEX}'")
endif()
