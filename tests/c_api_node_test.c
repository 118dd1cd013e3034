/* SPDX-License-Identifier: Apache-2.0 */
/* c_api_node_test.c: NodeClient through the C API against an in-process
 * node on 127.0.0.1 (c_api_node_helper.cpp): accum, read, swap, status,
 * digest; then the same address after the node stopped is unavailable. */
#include <stddef.h>

#include "atomik/atomik.h"
#include "c_api_test_util.h"

int test_node_start(char* address, size_t cap);
void test_node_stop(void);

static char g_address[64];

static void client_accum_read_swap_status(void) {
  atomik_node_client* c = NULL;
  CHECK_OK(atomik_node_client_connect(g_address, NULL, 0, 5000, &c));
  if (c == NULL) return;
  CHECK_OK(atomik_node_client_accum(c, 5, 0xFF));
  CHECK_OK(atomik_node_client_accum(c, 5, 0x0F));
  uint64_t v = 0;
  CHECK_OK(atomik_node_client_read(c, 5, &v));
  CHECK(v == 0xF0);
  CHECK_OK(atomik_node_client_read(c, 6, &v));
  CHECK(v == 0);
  uint64_t epoch = 0;
  CHECK_OK(atomik_node_client_swap(c, &epoch));
  CHECK(epoch == 1);
  CHECK_OK(atomik_node_client_read(c, 5, &v));
  CHECK(v == 0xF0);
  char* json = NULL;
  CHECK_OK(atomik_node_client_status(c, &json));
  CHECK(json != NULL && strstr(json, "\"origin\"") != NULL);
  atomik_string_free(json);
  atomik_digest d = {0, 0};
  CHECK_OK(atomik_node_client_digest(c, &d));
  CHECK((d.lo | d.hi) != 0);
  CHECK_STATUS(atomik_node_client_status(c, NULL), ATOMIK_INVALID_ARGUMENT);
  atomik_node_client_free(c);
}

static void client_after_node_stopped_is_unavailable(void) {
  test_node_stop();
  atomik_node_client* c = NULL;
  CHECK_STATUS(atomik_node_client_connect(g_address, NULL, 0, 2000, &c),
               ATOMIK_UNAVAILABLE);
  CHECK_ERROR_HAS(g_address);
  CHECK(c == NULL);
}

int main(void) {
  (void)test_seed();
  if (test_node_start(g_address, sizeof g_address) != 0) {
    printf("could not start a node\n0 passed, 1 failed\n");
    return 1;
  }
  RUN_TEST(client_accum_read_swap_status);
  RUN_TEST(client_after_node_stopped_is_unavailable);
  test_node_stop();
  return test_finish();
}
