# SPDX-License-Identifier: Apache-2.0
# The install test (ctest -L install; docs/install.md). Run with cmake -P:
#   -DKIND=static|shared   which kind of library install is tested
#   -DBUILD_DIR=<dir>      an atomik build of that kind to install; if
#                          -DSOURCE_DIR is given instead, a libraries-only
#                          build of that kind is configured and built there
#                          first (kept between runs, so later runs are
#                          incremental)
#   -DWORK=<dir>           scratch directory (emptied, except the build)
#   -DSRC=<dir>            tests/install
#   -DCXX=<c++ compiler> [-DCC=<c compiler>] [-DBUILD_TYPE=...] [-DWERROR=...]
#   -DPC_SOURCES=<a;b>     programs built with pkg-config flags alone: .cpp
#                          with CXX -std=c++20, .c with CC -std=c11
#   -DBENCH=ON             also run the installed `atomik bench` (quick mode)
# Steps, each named in the output; the first failure stops the test:
#   1. install to WORK/stage, then MOVE it to WORK/moved/prefix
#   2. CMake consumers (find_package) against the moved prefix: the umbrella,
#      atomik::redis, an unknown component, and a Context-only consumer of
#      atomik::core whose link line must hold no asio, libsodium or hiredis
#   3. pkg-config consumers: `pkg-config --define-prefix --cflags --libs
#      atomik` alone, and the same check on atomik-core's flags
#   4. (BENCH) the installed `atomik bench --workload "stream apply"`
cmake_minimum_required(VERSION 3.25)

function(step name)
  message(STATUS "[install.${KIND}] ${name}")
endfunction()
# run(<what> <command...>): runs a command, fails the test with its output.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}")
  endif()
  set(RUN_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

if(NOT CC)
  set(CC cc)
endif()
set(stage ${WORK}/stage)
set(prefix ${WORK}/moved/prefix)
file(REMOVE_RECURSE ${stage} ${WORK}/moved ${WORK}/consumer ${WORK}/core_only
     ${WORK}/pc)

if(SOURCE_DIR)
  step("libraries-only ${KIND} build of atomik in ${WORK}/lib-build")
  if(KIND STREQUAL "shared")
    set(shared ON)
  else()
    set(shared OFF)
  endif()
  run("configure of the ${KIND} library build"
      ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK}/lib-build -G Ninja
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
      -DBUILD_SHARED_LIBS=${shared} -DATOMIK_WERROR=${WERROR}
      -DATOMIK_BUILD_TESTS=OFF -DATOMIK_BUILD_BENCHMARKS=OFF
      -DATOMIK_BUILD_TOOLS=OFF -DATOMIK_BUILD_EXAMPLES=OFF
      -DATOMIK_BUILD_PYTHON=OFF -DATOMIK_BUILD_REDIS=ON -DATOMIK_INSTALL=ON)
  run("build of the ${KIND} libraries" ${CMAKE_COMMAND} --build ${WORK}/lib-build)
  set(BUILD_DIR ${WORK}/lib-build)
endif()

step("install ${BUILD_DIR} to ${stage}, then move it to ${prefix}")
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${stage})
file(MAKE_DIRECTORY ${WORK}/moved)
file(RENAME ${stage} ${prefix})
file(GLOB_RECURSE libs RELATIVE ${prefix} ${prefix}/*atomik_core*)
if(KIND STREQUAL "shared" AND NOT libs MATCHES "\\.so")
  message(FATAL_ERROR "a shared install holds no libatomik_core.so: ${libs}")
endif()
if(KIND STREQUAL "static" AND NOT libs MATCHES "\\.a")
  message(FATAL_ERROR "a static install holds no libatomik_core.a: ${libs}")
endif()
# No installed text file may name the staging prefix.
file(GLOB_RECURSE texts ${prefix}/*.cmake ${prefix}/*.pc ${prefix}/*.hpp)
foreach(f IN LISTS texts)
  file(READ ${f} body)
  string(FIND "${body}" "${stage}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${f} names the install prefix ${stage}: not relocatable")
  endif()
endforeach()

step("CMake consumer: find_package(atomik) from the moved prefix")
run("configure of the consumer"
    ${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/consumer -G Ninja
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX})
run("build of the consumer" ${CMAKE_COMMAND} --build ${WORK}/consumer)
run("consumer" ${WORK}/consumer/consumer)
if(EXISTS ${WORK}/consumer/redis_consumer)
  run("redis_consumer" ${WORK}/consumer/redis_consumer)
endif()

step("Context-only consumer of atomik::core: no asio, libsodium or hiredis")
run("configure of the Context-only consumer"
    ${CMAKE_COMMAND} -S ${SRC}/core_only -B ${WORK}/core_only -G Ninja
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX})
run("build of the Context-only consumer" ${CMAKE_COMMAND} --build ${WORK}/core_only)
run("context_only" ${WORK}/core_only/context_only)
find_program(NINJA ninja REQUIRED)
run("ninja -t commands" ${NINJA} -C ${WORK}/core_only -t commands context_only)
string(REGEX MATCH "[^\n]* -o context_only [^\n]*" link_line "${RUN_OUTPUT}")
if(NOT link_line)
  message(FATAL_ERROR "no link command for context_only in:\n${RUN_OUTPUT}")
endif()
if(link_line MATCHES "sodium|hiredis|asio")
  message(FATAL_ERROR "context_only's link line names asio/libsodium/hiredis:\n${link_line}")
endif()
if(NOT link_line MATCHES "atomik_core")
  message(FATAL_ERROR "context_only's link line lacks libatomik_core:\n${link_line}")
endif()
message(STATUS "context_only link line: ${link_line}")
if(KIND STREQUAL "shared")
  run("ldd context_only" ldd ${WORK}/core_only/context_only)
  if(RUN_OUTPUT MATCHES "sodium|hiredis")
    message(FATAL_ERROR "context_only loads libsodium/hiredis:\n${RUN_OUTPUT}")
  endif()
  if(NOT RUN_OUTPUT MATCHES "libatomik_core[^\n]*${prefix}")
    message(FATAL_ERROR "context_only does not load the moved libatomik_core:\n${RUN_OUTPUT}")
  endif()
endif()

step("pkg-config consumers: pkg-config --define-prefix --cflags --libs atomik")
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
file(GLOB pcdir LIST_DIRECTORIES true ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
if(NOT EXISTS "${pcdir}/atomik.pc")
  message(FATAL_ERROR "no atomik.pc under ${prefix}: ${pcdir}")
endif()
set(ENV{PKG_CONFIG_PATH} "${pcdir}")
run("pkg-config atomik" ${PKG_CONFIG} --define-prefix --cflags --libs atomik)
string(STRIP "${RUN_OUTPUT}" pc_flags)
message(STATUS "pkg-config atomik: ${pc_flags}")
if(NOT pc_flags MATCHES "${prefix}")
  message(FATAL_ERROR "pkg-config flags do not name the moved prefix ${prefix}")
endif()
run("pkg-config --modversion atomik" ${PKG_CONFIG} --modversion atomik)
string(STRIP "${RUN_OUTPUT}" pc_version)
run("pkg-config atomik-core" ${PKG_CONFIG} --define-prefix --cflags --libs atomik-core)
if(RUN_OUTPUT MATCHES "sodium|hiredis|asio")
  message(FATAL_ERROR "atomik-core's pkg-config flags name asio/libsodium/hiredis: ${RUN_OUTPUT}")
endif()
separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
file(MAKE_DIRECTORY ${WORK}/pc)
get_filename_component(libdir ${pcdir} DIRECTORY)
set(ENV{LD_LIBRARY_PATH} "${libdir}")
foreach(src IN LISTS PC_SOURCES)
  get_filename_component(name ${src} NAME_WE)
  if(src MATCHES "\\.c$")
    set(compile ${CC} -std=c11 -Wall -Werror)
  else()
    set(compile ${CXX} -std=c++20 -Wall -Werror)
  endif()
  run("compile ${src} with pkg-config flags"
      ${compile} ${src} ${pc_args} -o ${WORK}/pc/${name})
  run("${name}" ${WORK}/pc/${name} ${pc_version})
  message(STATUS "${name}: built with pkg-config alone, ran ok")
endforeach()

if(BENCH)
  step("the installed `atomik bench` finds its benchmarks in the moved prefix")
  run("atomik bench" ${prefix}/bin/atomik bench --workload "stream apply"
      --quick)
  if(NOT RUN_OUTPUT MATCHES "figures, 0 missing")
    message(FATAL_ERROR "atomik bench output:\n${RUN_OUTPUT}")
  endif()
endif()
step("passed")
