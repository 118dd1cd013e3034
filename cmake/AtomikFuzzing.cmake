# SPDX-License-Identifier: Apache-2.0
# ATOMIK_BUILD_FUZZERS=ON (the `fuzz` preset): libFuzzer targets in fuzz/,
# see docs/fuzzing.md. Clang only: libFuzzer ships with clang (Debian
# libclang-rt-14-dev), GCC has no -fsanitize=fuzzer. Every target, the
# library included, is compiled with coverage instrumentation
# (fuzzer-no-link) and ASan + UBSan, with assertions and ATOMIK_DCHECK kept
# on in optimised builds (-UNDEBUG); the fuzz executables add the libFuzzer
# driver (-fsanitize=fuzzer).
option(ATOMIK_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (clang only)"
       OFF)
if(ATOMIK_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR
      "ATOMIK_BUILD_FUZZERS=ON needs clang (libFuzzer); the C++ compiler is "
      "${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}). Use "
      "`cmake --preset fuzz` or -DCMAKE_CXX_COMPILER=clang++ in a fresh "
      "build directory.")
  endif()
  if(ATOMIK_SANITIZE)
    message(FATAL_ERROR "ATOMIK_BUILD_FUZZERS sets its own sanitizers "
                        "(address,undefined); leave ATOMIK_SANITIZE empty")
  endif()
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
  check_cxx_source_compiles(
    "#include <cstdint>
     #include <cstddef>
     extern \"C\" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t)
     { return 0; }"
    ATOMIK_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT ATOMIK_HAVE_LIBFUZZER)
    message(FATAL_ERROR "clang cannot link -fsanitize=fuzzer,address,undefined:"
                        " apt-get install libclang-rt-14-dev (`make deps`)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer
                      -UNDEBUG)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(ATOMIK_FUZZING=1)
endif()
