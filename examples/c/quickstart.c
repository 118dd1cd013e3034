/* SPDX-License-Identifier: Apache-2.0 */
/* examples/c/quickstart.c: the C API (atomik/atomik.h) from C11: a context
 * (load, accum, read, swap), a table whose out-of-range address is an error
 * code with a message, and a 16-byte wire message. Checks what it prints. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "atomik/atomik.h"

/* Prints the last error and returns 1 when status is not OK. */
static int failed(atomik_status status) {
  if (status == ATOMIK_OK) return 0;
  fprintf(stderr, "error: %s\n", atomik_last_error());
  return 1;
}

int main(void) {
  atomik_context* ctx = NULL;
  if (failed(atomik_context_new(64, ATOMIK_GROUP_XOR, &ctx))) return 1;
  uint64_t state = 0;
  uint64_t epoch = 0;
  if (failed(atomik_context_load(ctx, 0xCAFE)) ||
      failed(atomik_context_accum(ctx, 0x00FF)) ||
      failed(atomik_context_read(ctx, &state))) {
    atomik_context_free(ctx);
    return 1;
  }
  printf("state 0x%" PRIx64 "\n", state); /* 0xca01 */
  /* XOR is self-inverse: the same delta again undoes it. */
  if (failed(atomik_context_accum(ctx, 0x00FF)) ||
      failed(atomik_context_swap(ctx, &epoch))) {
    atomik_context_free(ctx);
    return 1;
  }
  atomik_context_free(ctx);
  printf("epoch 0x%" PRIx64 "\n", epoch); /* 0xcafe */

  /* Errors are codes plus a message, never a crash or a silent clamp. */
  atomik_table* table = NULL;
  if (failed(atomik_table_new_dense(256, &table))) return 1;
  const atomik_status s = atomik_table_accum(table, 300, 1);
  printf("accum at 300: %s (%s)\n", atomik_status_name(s), atomik_last_error());
  atomik_table_free(table);

  /* The reference's 16-byte wire message, big-endian. */
  const atomik_delta_message m = {7, 0xFF, 1};
  uint8_t wire[ATOMIK_DELTA_MESSAGE_SIZE];
  atomik_delta_message back = {0, 0, 0};
  if (failed(atomik_delta_message_encode(&m, wire)) ||
      failed(atomik_delta_message_decode(wire, sizeof wire, &back))) {
    return 1;
  }
  printf("message addr %" PRIu32 " delta 0x%" PRIx64 " seq %" PRIu32 "\n",
         back.addr, back.delta, back.seq);

  const int ok = state == 0xCA01 && epoch == 0xCAFE &&
                 s == ATOMIK_OUT_OF_RANGE &&
                 strstr(atomik_last_error(), "address 300") != NULL &&
                 back.addr == 7 && back.delta == 0xFF && back.seq == 1;
  printf("%s\n", ok ? "ok" : "MISMATCH");
  return ok ? 0 : 1;
}
