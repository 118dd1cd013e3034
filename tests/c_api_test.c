/* SPDX-License-Identifier: Apache-2.0 */
/* c_api_test.c: the C API (atomik/atomik.h) driven from C11: known answers,
 * a seeded model test of every Context width and group, and the error
 * paths (bad width, NULL handles, out-of-range address and value, closed
 * table, unreachable node on a closed loopback port). */
#define _XOPEN_SOURCE 700

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atomik/atomik.h"
#include "c_api_test_util.h"

static uint64_t g_seed = 0;

static void context_quickstart_known_answer(void) {
  atomik_context* ctx = NULL;
  CHECK_OK(atomik_context_new(64, ATOMIK_GROUP_XOR, &ctx));
  CHECK(ctx != NULL);
  CHECK_OK(atomik_context_load(ctx, 0xCAFE));
  CHECK_OK(atomik_context_accum(ctx, 0x00FF));
  uint64_t state = 0;
  CHECK_OK(atomik_context_read(ctx, &state));
  CHECK(state == 0xCA01);
  uint64_t count = 0;
  CHECK_OK(atomik_context_delta_count(ctx, &count));
  CHECK(count == 1);
  CHECK_OK(atomik_context_accum(ctx, 0x00FF)); /* self-inverse */
  int clean = 0;
  CHECK_OK(atomik_context_is_clean(ctx, &clean));
  CHECK(clean == 1);
  uint64_t epoch = 0;
  CHECK_OK(atomik_context_swap(ctx, &epoch));
  CHECK(epoch == 0xCAFE);
  uint64_t reference = 0;
  CHECK_OK(atomik_context_reference(ctx, &reference));
  CHECK(reference == 0xCAFE);
  CHECK_OK(atomik_context_swap_to(ctx, 7, &epoch));
  CHECK_OK(atomik_context_read(ctx, &state));
  CHECK(state == 7);
  unsigned width = 0;
  CHECK_OK(atomik_context_width(ctx, &width));
  CHECK(width == 64);
  atomik_context_free(ctx);
  atomik_context_free(NULL); /* no-op */
}

/* Every width and group against a plain C model, seeded. */
static void context_matches_model_for_every_width_and_group(void) {
  static const unsigned kWidths[] = {8, 16, 32, 64};
  uint64_t rng = g_seed;
  for (int g = 0; g < 2; ++g) {
    for (size_t w = 0; w < 4; ++w) {
      const unsigned width = kWidths[w];
      const uint64_t mask = width == 64 ? ~0ULL : ((1ULL << width) - 1);
      atomik_context* ctx = NULL;
      CHECK_OK(atomik_context_new(width, (atomik_group)g, &ctx));
      if (ctx == NULL) continue;
      uint64_t ref = next_random(&rng) & mask;
      uint64_t acc = 0;
      CHECK_OK(atomik_context_load(ctx, ref));
      uint64_t batch[16];
      for (int i = 0; i < 200; ++i) {
        const uint64_t d = next_random(&rng) & mask;
        switch (next_random(&rng) % 4) {
          case 0:
            CHECK_OK(atomik_context_accum(ctx, d));
            acc = g ? ((acc + d) & mask) : (acc ^ d);
            break;
          case 1:
            CHECK_OK(atomik_context_rollback(ctx, d));
            acc = g ? ((acc - d) & mask) : (acc ^ d);
            break;
          case 2:
            for (size_t k = 0; k < 16; ++k) {
              batch[k] = next_random(&rng) & mask;
              acc = g ? ((acc + batch[k]) & mask) : (acc ^ batch[k]);
            }
            CHECK_OK(atomik_context_accum_batch(ctx, batch, 16));
            break;
          default: {
            uint64_t got = 0;
            CHECK_OK(atomik_context_swap(ctx, &got));
            ref = g ? ((ref + acc) & mask) : (ref ^ acc);
            acc = 0;
            CHECK(got == ref);
          }
        }
        uint64_t state = 0;
        uint64_t accumulator = 0;
        CHECK_OK(atomik_context_read(ctx, &state));
        CHECK_OK(atomik_context_accumulator(ctx, &accumulator));
        CHECK(state == (g ? ((ref + acc) & mask) : (ref ^ acc)));
        CHECK(accumulator == acc);
      }
      atomik_context_free(ctx);
    }
  }
}

static void context_merge_and_reset(void) {
  atomik_context* a = NULL;
  atomik_context* b = NULL;
  atomik_context* c = NULL;
  CHECK_OK(atomik_context_new(32, ATOMIK_GROUP_ADD, &a));
  CHECK_OK(atomik_context_new(32, ATOMIK_GROUP_ADD, &b));
  CHECK_OK(atomik_context_new(32, ATOMIK_GROUP_XOR, &c));
  CHECK_OK(atomik_context_accum(a, 5));
  CHECK_OK(atomik_context_accum(b, 0xFFFFFFFF)); /* -1 mod 2^32 */
  CHECK_OK(atomik_context_merge(a, b));
  uint64_t v = 99;
  CHECK_OK(atomik_context_read(a, &v));
  CHECK(v == 4);
  uint64_t count = 0;
  CHECK_OK(atomik_context_delta_count(a, &count));
  CHECK(count == 2);
  /* Different groups: refused, a unchanged. */
  CHECK_STATUS(atomik_context_merge(a, c), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("32-bit add");
  CHECK_OK(atomik_context_read(a, &v));
  CHECK(v == 4);
  CHECK_OK(atomik_context_reset(a));
  CHECK_OK(atomik_context_read(a, &v));
  CHECK(v == 0);
  atomik_context_free(a);
  atomik_context_free(b);
  atomik_context_free(c);
}

static void context_bad_width_and_group_are_invalid(void) {
  atomik_context* ctx = NULL;
  CHECK_STATUS(atomik_context_new(12, ATOMIK_GROUP_XOR, &ctx),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("width 12 is not one of 8, 16, 32, 64");
  CHECK_ERROR_HAS("atomik_context_new");
  CHECK(ctx == NULL);
  CHECK_STATUS(atomik_context_new(128, ATOMIK_GROUP_XOR, &ctx),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_STATUS(atomik_context_new(64, (atomik_group)7, &ctx),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("group 7");
  CHECK_STATUS(atomik_context_new(64, ATOMIK_GROUP_XOR, NULL),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("out is NULL");
}

static void context_value_wider_than_width_is_out_of_range(void) {
  atomik_context* ctx = NULL;
  CHECK_OK(atomik_context_new(8, ATOMIK_GROUP_XOR, &ctx));
  CHECK_OK(atomik_context_accum(ctx, 0xFF));
  CHECK_STATUS(atomik_context_accum(ctx, 0x100), ATOMIK_OUT_OF_RANGE);
  CHECK_ERROR_HAS(
      "OutOfRange: atomik_context_accum: delta 256 does not fit in 8 bits");
  CHECK_STATUS(atomik_context_load(ctx, 0x1FF), ATOMIK_OUT_OF_RANGE);
  const uint64_t batch[3] = {1, 2, 0x300};
  CHECK_STATUS(atomik_context_accum_batch(ctx, batch, 3), ATOMIK_OUT_OF_RANGE);
  CHECK_ERROR_HAS("deltas[2] 768");
  /* Nothing of the failed calls was applied. */
  uint64_t v = 0;
  uint64_t count = 0;
  CHECK_OK(atomik_context_read(ctx, &v));
  CHECK_OK(atomik_context_delta_count(ctx, &count));
  CHECK(v == 0xFF);
  CHECK(count == 1);
  atomik_context_free(ctx);
}

static void null_handles_are_invalid_argument(void) {
  uint64_t v = 0;
  CHECK_STATUS(atomik_context_accum(NULL, 1), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("InvalidArgument: atomik_context_accum: ctx is NULL");
  CHECK_STATUS(atomik_context_read(NULL, &v), ATOMIK_INVALID_ARGUMENT);
  CHECK_STATUS(atomik_table_accum(NULL, 0, 1), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("table is NULL");
  CHECK_STATUS(atomik_stream_digest(NULL, NULL), ATOMIK_INVALID_ARGUMENT);
  CHECK_STATUS(atomik_fingerprint_update(NULL, "x", 1, NULL),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_STATUS(atomik_ptable_accum(NULL, 0, 1), ATOMIK_INVALID_ARGUMENT);
  CHECK_STATUS(atomik_node_client_read(NULL, 0, &v), ATOMIK_INVALID_ARGUMENT);
  CHECK_STATUS(atomik_delta_message_decode(NULL, 16, NULL),
               ATOMIK_INVALID_ARGUMENT);
  atomik_context* ctx = NULL;
  CHECK_OK(atomik_context_new(64, ATOMIK_GROUP_XOR, &ctx));
  CHECK_STATUS(atomik_context_read(ctx, NULL), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("out is NULL");
  CHECK_STATUS(atomik_context_accum_batch(ctx, NULL, 3),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_OK(atomik_context_accum_batch(ctx, NULL, 0));
  atomik_context_free(ctx);
}

static void last_error_survives_success_and_names_codes(void) {
  CHECK_STATUS(atomik_context_new(3, ATOMIK_GROUP_XOR, NULL),
               ATOMIK_INVALID_ARGUMENT);
  atomik_context* ctx = NULL;
  CHECK_OK(atomik_context_new(16, ATOMIK_GROUP_XOR, &ctx));
  CHECK_ERROR_HAS("atomik_context_new"); /* success does not clear it */
  atomik_context_free(ctx);
  CHECK(strcmp(atomik_status_name(ATOMIK_OK), "OK") == 0);
  CHECK(strcmp(atomik_status_name(ATOMIK_CORRUPTION), "Corruption") == 0);
  CHECK(strcmp(atomik_status_name((atomik_status)99), "Unknown") == 0);
  CHECK(strlen(atomik_version()) > 0);
}

static void table_dense_and_sparse(void) {
  atomik_table* t = NULL;
  CHECK_OK(atomik_table_new_dense(256, &t));
  CHECK_OK(atomik_table_load(t, 0, 0xCAFEBABE));
  CHECK_OK(atomik_table_accum(t, 0, 1));
  uint64_t v = 0;
  CHECK_OK(atomik_table_read(t, 0, &v));
  CHECK(v == 0xCAFEBABF);
  CHECK_OK(atomik_table_rollback(t, 0, 1));
  CHECK_OK(atomik_table_swap(t, 0, &v));
  CHECK(v == 0xCAFEBABE);
  uint64_t n = 0;
  CHECK_OK(atomik_table_num_contexts(t, &n));
  CHECK(n == 256);
  CHECK_STATUS(atomik_table_accum(t, 300, 1), ATOMIK_OUT_OF_RANGE);
  CHECK_ERROR_HAS(
      "OutOfRange: atomik_table_accum: DeltaTable::accum: address 300 >= "
      "num_contexts 256");
  CHECK_STATUS(atomik_table_read(t, 256, &v), ATOMIK_OUT_OF_RANGE);
  atomik_table_free(t);

  CHECK_STATUS(atomik_table_new_dense((1ULL << 32) + 1, &t),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_OK(atomik_table_new_sparse(&t));
  CHECK_OK(atomik_table_accum(t, 4000000000u, 0x55));
  CHECK_OK(atomik_table_read(t, 4000000000u, &v));
  CHECK(v == 0x55);
  CHECK_OK(atomik_table_read(t, 17, &v));
  CHECK(v == 0);
  atomik_table_free(t);
}

static void fingerprint_known_answer_and_gate(void) {
  /* tests/vectors/fingerprint_abc.txt: "abc" under the default options. */
  static const uint8_t kAbc[20] = {0x01, 0x01, 0x0d, 0x00, 0xc5, 0x70, 0x35,
                                   0x8e, 0xb5, 0xa6, 0x26, 0xaa, 0x3c, 0x7b,
                                   0x72, 0xbd, 0x86, 0xa4, 0x59, 0x16};
  atomik_fingerprint* fp = NULL;
  CHECK_OK(atomik_fingerprint_new(NULL, &fp));
  atomik_fingerprint_value v1;
  CHECK_OK(atomik_fingerprint_load(fp, "abc", 3, &v1));
  uint8_t canon[ATOMIK_CANONICAL_FINGERPRINT_SIZE];
  CHECK_OK(atomik_fingerprint_canonical(fp, canon));
  CHECK(memcmp(canon, kAbc, sizeof kAbc) == 0);
  atomik_fingerprint_value once;
  CHECK_OK(atomik_fingerprint_compute("abc", 3, NULL, &once));
  CHECK(once.high == v1.high && once.low == v1.low);
  int changed = -1;
  CHECK_OK(atomik_fingerprint_changed(fp, &changed));
  CHECK(changed == 0);
  CHECK_OK(atomik_fingerprint_update(fp, "abd", 3, NULL));
  CHECK_OK(atomik_fingerprint_changed(fp, &changed));
  CHECK(changed == 1);
  atomik_fingerprint_value delta;
  CHECK_OK(atomik_fingerprint_delta(fp, &delta));
  CHECK((delta.high | delta.low) != 0);
  CHECK_OK(atomik_fingerprint_reset(fp));
  CHECK_OK(atomik_fingerprint_changed(fp, &changed));
  CHECK(changed == 0);
  atomik_fingerprint_free(fp);

  atomik_fingerprint_options o;
  atomik_fingerprint_options_init(&o);
  o.chunk_size = 100; /* not a power of two */
  CHECK_STATUS(atomik_fingerprint_new(&o, &fp), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("100");
  o.chunk_size = 8192;
  o.mode = (atomik_fingerprint_mode)9;
  CHECK_STATUS(atomik_fingerprint_new(&o, &fp), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("mode 9");

  atomik_fingerprint_gate* gate = NULL;
  CHECK_OK(atomik_fingerprint_gate_new(NULL, &gate));
  CHECK_OK(atomik_fingerprint_gate_check(gate, "a", 1, &changed));
  CHECK(changed == 1);
  CHECK_OK(atomik_fingerprint_gate_check(gate, "a", 1, &changed));
  CHECK(changed == 0);
  CHECK_OK(atomik_fingerprint_gate_check(gate, "b", 1, &changed));
  CHECK(changed == 1);
  uint64_t checks = 0;
  uint64_t changes = 0;
  uint64_t skips = 0;
  CHECK_OK(atomik_fingerprint_gate_counts(gate, &checks, &changes, &skips));
  CHECK(checks == 3 && changes == 2 && skips == 1);
  atomik_fingerprint_gate_free(gate);
}

static void delta_message_round_trip_is_big_endian(void) {
  const atomik_delta_message m = {0x01020304u, 0x1122334455667788ULL,
                                  0xAABBCCDDu};
  static const uint8_t kWire[16] = {0x01, 0x02, 0x03, 0x04, 0x11, 0x22,
                                    0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                    0xAA, 0xBB, 0xCC, 0xDD};
  uint8_t wire[ATOMIK_DELTA_MESSAGE_SIZE];
  CHECK_OK(atomik_delta_message_encode(&m, wire));
  CHECK(memcmp(wire, kWire, 16) == 0);
  atomik_delta_message back = {0, 0, 0};
  CHECK_OK(atomik_delta_message_decode(wire, 16, &back));
  CHECK(back.addr == m.addr && back.delta == m.delta && back.seq == m.seq);
  CHECK_STATUS(atomik_delta_message_decode(wire, 15, &back),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("expected 16 bytes, got 15");
}

static void stream_apply_missing_digest(void) {
  atomik_stream_options o;
  atomik_stream_options_init(&o);
  o.origin = 1;
  atomik_stream* a = NULL;
  atomik_stream* b = NULL;
  CHECK_OK(atomik_stream_new(&o, &a));
  o.origin = 2;
  CHECK_OK(atomik_stream_new(&o, &b));
  atomik_stamped_delta d;
  CHECK_OK(atomik_stream_accum(a, 7, 0xFF, &d));
  CHECK(d.origin == 1 && d.seq == 1 && d.addr == 7 && d.delta == 0xFF);
  CHECK_OK(atomik_stream_accum(a, 9, 0x1234, NULL));

  /* b lacks both: missing() against b's version vector lists them. */
  atomik_version_entry vv[4];
  size_t n = 0;
  CHECK_OK(atomik_stream_version_vector(b, vv, 4, &n));
  CHECK(n == 0);
  atomik_catchup* c = NULL;
  CHECK_OK(atomik_stream_missing(a, vv, n, &c));
  int needs = 1;
  CHECK_OK(atomik_catchup_needs_state_transfer(c, &needs));
  CHECK(needs == 0);
  const atomik_stamped_delta* ds = NULL;
  size_t count = 0;
  CHECK_OK(atomik_catchup_deltas(c, &ds, &count));
  CHECK(count == 2);
  atomik_apply_outcome out = ATOMIK_BEYOND_WINDOW;
  for (size_t i = 0; i < count; ++i) {
    CHECK_OK(atomik_stream_apply(b, ds[i].origin, ds[i].seq, ds[i].addr,
                                 ds[i].delta, &out));
    CHECK(out == ATOMIK_APPLIED);
  }
  /* Applying again is a counted duplicate, not a second XOR. */
  CHECK_OK(atomik_stream_apply(b, ds[0].origin, ds[0].seq, ds[0].addr,
                               ds[0].delta, &out));
  CHECK(out == ATOMIK_DUPLICATE);
  atomik_catchup_free(c);

  uint64_t v = 0;
  CHECK_OK(atomik_stream_read(b, 9, &v));
  CHECK(v == 0x1234);
  atomik_digest da;
  atomik_digest db;
  CHECK_OK(atomik_stream_digest(a, &da));
  CHECK_OK(atomik_stream_digest(b, &db));
  CHECK(da.lo == db.lo && da.hi == db.hi);
  CHECK_OK(atomik_stream_version_vector(b, vv, 4, &n));
  CHECK(n == 1 && vv[0].origin == 1 && vv[0].mark == 2);
  CHECK_STATUS(atomik_stream_version_vector(b, vv, 0, &n), ATOMIK_OUT_OF_RANGE);
  CHECK(n == 1);

  /* Reference messages from origin 5: two, then a bad length. */
  const atomik_delta_message m1 = {3, 0x10, 1};
  const atomik_delta_message m2 = {3, 0x01, 2};
  uint8_t buf[33];
  CHECK_OK(atomik_delta_message_encode(&m1, buf));
  CHECK_OK(atomik_delta_message_encode(&m2, buf + 16));
  atomik_batch_outcome bo = {0, 0, 0};
  CHECK_OK(atomik_stream_apply_messages(b, 5, buf, 32, &bo));
  CHECK(bo.applied == 2 && bo.duplicates == 0);
  CHECK_OK(atomik_stream_read(b, 3, &v));
  CHECK(v == 0x11);
  CHECK_STATUS(atomik_stream_apply_messages(b, 5, buf, 33, &bo),
               ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("33 bytes is not a whole number of 16-byte messages");
  CHECK_OK(atomik_stream_read(b, 3, &v));
  CHECK(v == 0x11);

  o.window = 100; /* not a power of two */
  atomik_stream* bad = NULL;
  CHECK_STATUS(atomik_stream_new(&o, &bad), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("window");
  atomik_stream_free(a);
  atomik_stream_free(b);
}

static int remove_entry(const char* path, const struct stat* sb, int flag,
                        struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void ptable_survives_reopen_and_refuses_after_close(void) {
  char dir[] = "/tmp/atomik-capi-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  atomik_ptable_options o;
  atomik_ptable_options_init(&o);
  o.num_contexts = 16;
  atomik_ptable* t = NULL;
  CHECK_OK(atomik_ptable_open(dir, &o, &t));
  if (t == NULL) return;
  atomik_ptable* second = NULL; /* one open table per directory */
  CHECK_STATUS(atomik_ptable_open(dir, &o, &second),
               ATOMIK_FAILED_PRECONDITION);
  CHECK_ERROR_HAS("held by another open");
  CHECK(second == NULL);
  CHECK_OK(atomik_ptable_load(t, 1, 0xCAFE));
  CHECK_OK(atomik_ptable_accum(t, 1, 0x00FF));
  uint64_t epoch = 0;
  CHECK_OK(atomik_ptable_swap(t, &epoch));
  CHECK(epoch == 1);
  CHECK_OK(atomik_ptable_accum(t, 2, 5));
  CHECK_STATUS(atomik_ptable_accum(t, 16, 1), ATOMIK_OUT_OF_RANGE);
  CHECK_OK(atomik_ptable_sync(t));
  CHECK_OK(atomik_ptable_close(t));
  CHECK_STATUS(atomik_ptable_accum(t, 1, 1), ATOMIK_FAILED_PRECONDITION);
  CHECK_ERROR_HAS("closed");
  atomik_ptable_free(t);

  t = NULL;
  CHECK_OK(atomik_ptable_open(dir, &o, &t));
  uint64_t v = 0;
  CHECK_OK(atomik_ptable_read(t, 1, &v));
  CHECK(v == 0xCA01);
  CHECK_OK(atomik_ptable_read(t, 2, &v));
  CHECK(v == 5);
  atomik_ptable_free(t); /* closes */
  o.sync = (atomik_sync_policy)5;
  CHECK_STATUS(atomik_ptable_open(dir, &o, &t), ATOMIK_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("sync 5");
  CHECK(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

/* A loopback port nobody listens on: bound, then closed. */
static unsigned closed_loopback_port(void) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  socklen_t len = sizeof sa;
  unsigned port = 0;
  if (fd >= 0 && bind(fd, (struct sockaddr*)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr*)&sa, &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

static void node_client_unreachable_is_unavailable(void) {
  const unsigned port = closed_loopback_port();
  CHECK(port != 0);
  char address[32];
  snprintf(address, sizeof address, "127.0.0.1:%u", port);
  atomik_node_client* c = NULL;
  CHECK_STATUS(atomik_node_client_connect(address, NULL, 0, 2000, &c),
               ATOMIK_UNAVAILABLE);
  CHECK_ERROR_HAS("atomik_node_client_connect");
  CHECK(c == NULL);
  CHECK_STATUS(atomik_node_client_connect("no-port", NULL, 0, 2000, &c),
               ATOMIK_INVALID_ARGUMENT);
  const uint8_t short_key[3] = {1, 2, 3};
  CHECK_STATUS(atomik_node_client_connect(address, short_key, 3, 2000, &c),
               ATOMIK_INVALID_ARGUMENT);
}

int main(void) {
  g_seed = test_seed();
  RUN_TEST(context_quickstart_known_answer);
  RUN_TEST(context_matches_model_for_every_width_and_group);
  RUN_TEST(context_merge_and_reset);
  RUN_TEST(context_bad_width_and_group_are_invalid);
  RUN_TEST(context_value_wider_than_width_is_out_of_range);
  RUN_TEST(null_handles_are_invalid_argument);
  RUN_TEST(last_error_survives_success_and_names_codes);
  RUN_TEST(table_dense_and_sparse);
  RUN_TEST(fingerprint_known_answer_and_gate);
  RUN_TEST(delta_message_round_trip_is_big_endian);
  RUN_TEST(stream_apply_missing_digest);
  RUN_TEST(ptable_survives_reopen_and_refuses_after_close);
  RUN_TEST(node_client_unreachable_is_unavailable);
  return test_finish();
}
