/* SPDX-License-Identifier: Apache-2.0 */
/* c_api_test_util.h: a plain C test runner for the C API tests (compiled as
 * C11, no C++ framework): CHECK records a failure with file and line and
 * carries on; RUN_TEST runs one test function; FINISH prints
 * "N passed, N failed" and returns the exit code (non-zero on failure).
 * Seeded randomness as tests/test_seed.hpp: ATOMIK_TEST_SEED replays. */
#ifndef ATOMIK_TESTS_C_API_TEST_UTIL_H_
#define ATOMIK_TESTS_C_API_TEST_UTIL_H_

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomik/atomik.h"

static int g_checks_failed_in_test = 0;
static int g_tests_passed = 0;
static int g_tests_failed = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_checks_failed_in_test;                                               \
    }                                                                          \
  } while (0)

/* Checks that `call` returns `code`; on a mismatch prints the last error. */
#define CHECK_STATUS(call, code)                                               \
  do {                                                                         \
    atomik_status check_status_got_ = (call);                                  \
    if (check_status_got_ != (code)) {                                         \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n", \
              __FILE__, __LINE__, #call,                                       \
              atomik_status_name(check_status_got_), atomik_status_name(code), \
              atomik_last_error());                                            \
      ++g_checks_failed_in_test;                                               \
    }                                                                          \
  } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, ATOMIK_OK)

/* Checks that the last error contains `needle`. */
#define CHECK_ERROR_HAS(needle)                                            \
  do {                                                                     \
    if (strstr(atomik_last_error(), (needle)) == NULL) {                   \
      fprintf(stderr, "%s:%d: last error \"%s\" lacks \"%s\"\n", __FILE__, \
              __LINE__, atomik_last_error(), (needle));                    \
      ++g_checks_failed_in_test;                                           \
    }                                                                      \
  } while (0)

#define RUN_TEST(fn)                    \
  do {                                  \
    g_checks_failed_in_test = 0;        \
    fn();                               \
    if (g_checks_failed_in_test == 0) { \
      ++g_tests_passed;                 \
      printf("[ OK ] %s\n", #fn);       \
    } else {                            \
      ++g_tests_failed;                 \
      printf("[FAIL] %s\n", #fn);       \
    }                                   \
  } while (0)

static inline int test_finish(void) {
  printf("%d passed, %d failed\n", g_tests_passed, g_tests_failed);
  return g_tests_failed == 0 ? 0 : 1;
}

/* The test seed: ATOMIK_TEST_SEED if set, else the clock; printed. */
static inline uint64_t test_seed(void) {
  const char* env = getenv("ATOMIK_TEST_SEED");
  uint64_t s;
  if (env != NULL && *env != '\0') {
    s = (uint64_t)strtoull(env, NULL, 0);
  } else {
    s = (uint64_t)time(NULL) ^ (uint64_t)clock();
  }
  printf("ATOMIK_TEST_SEED=%" PRIu64 "\n", s);
  return s;
}

/* splitmix64: a small seeded generator. */
static inline uint64_t next_random(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

#endif /* ATOMIK_TESTS_C_API_TEST_UTIL_H_ */
