// SPDX-License-Identifier: Apache-2.0
// c_api_node_helper.cpp: starts an in-process atomik node on 127.0.0.1:0
// for the C NodeClient test (c_api_node_test.c), which is plain C and so
// cannot call the C++ Node API itself.
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include "atomik/node.hpp"
#include "node_test_util.hpp"

namespace {
std::unique_ptr<atomik::testing::TempDir> g_dir;
std::unique_ptr<atomik::Node> g_node;
}  // namespace

extern "C" {

// Starts the node; writes "127.0.0.1:PORT" to address. 0 on success.
int test_node_start(char* address, std::size_t cap) {
  g_dir = std::make_unique<atomik::testing::TempDir>("capi-node");
  atomik::NodeOptions o;
  o.data_dir = g_dir->sub("node");
  o.listen = "127.0.0.1:0";
  o.log = false;
  auto n = atomik::Node::start(o);
  if (!n.ok()) {
    std::fprintf(stderr, "node start: %s\n", n.status().to_string().c_str());
    return 1;
  }
  g_node = std::move(*n);
  const std::string a = "127.0.0.1:" + std::to_string(g_node->port());
  return std::snprintf(address, cap, "%s", a.c_str()) > 0 ? 0 : 1;
}

// Stops the node and removes its directory.
void test_node_stop(void) {
  if (g_node) (void)g_node->stop();
  g_node.reset();
  g_dir.reset();
}

}  // extern "C"
