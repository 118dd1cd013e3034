// SPDX-License-Identifier: Apache-2.0
// Incarnations: after a restart on an existing table a Node holds local
// writes until every peer has reported its mark for the node's own origin
// (and returned the own deltas it holds above ours), or starts a new origin
// incarnation when that does not happen in time, so that no (origin, seq)
// is ever used for two contents. docs/design.md "Incarnations".
// Network thread, except where noted in node_impl.hpp.
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "transport/node_impl.hpp"

namespace atomik {

void Node::Impl::check_gate() {
  if (!gate_closed()) return;
  const OriginId self = self_origin;
  const Seq own = replica->mark(self);
  for (const auto& p : peers) {
    auto c = p->conn.lock();
    if (!c || c->state != NodeConnection::State::kOpen || !c->have_vv) return;
  }
  std::size_t answered = 0;
  for (const auto& c : conns) {
    if (c->state != NodeConnection::State::kOpen || c->is_client ||
        !c->have_vv) {
      continue;
    }
    // A peer holds own deltas we lost: wait for catch-up to return them.
    if (c->their_vv.get(self) > own) return;
    ++answered;
  }
  if (answered == 0) return;
  open_gate("local writes allowed: " + std::to_string(answered) +
            " peers reported marks for own origin " + codec::hex64(self) +
            " at most " + std::to_string(own));
}

void Node::Impl::on_gate_timeout() {
  if (!gate_closed()) return;
  start_incarnation("no answer from every peer within " +
                    std::to_string(opt.incarnation_timeout_ms) +
                    " ms after the restart (or a peer holds own deltas that "
                    "did not come back)");
}

void Node::Impl::start_incarnation(const std::string& why) {
  const OriginId old = self_origin;
  {
    std::lock_guard<std::mutex> lk(mu);
    auto next = replica->reincarnate();
    if (!next.ok()) {
      // The table failed: writes fail with its error anyway.
      log("cannot start a new incarnation: " + next.status().to_string());
    } else {
      log("own origin " + codec::hex64(self_origin) + " -> " +
          codec::hex64(*next) + ": " + why);
      self_origin = *next;
      durable_seq = 0;
      unsent_base = 1;
      unsent.clear();
      ++st.incarnations;
    }
  }
  if (opt.hooks.on_incarnation && self_origin != old) {
    opt.hooks.on_incarnation(old, self_origin);
  }
  open_gate("local writes allowed under origin " + codec::hex64(self_origin));
}

void Node::Impl::open_gate(const std::string& why) {
  {
    std::lock_guard<std::mutex> lk(mu);
    if (!writes_held) return;
    writes_held = false;
  }
  gate_cv.notify_all();
  gate_timer.cancel();
  log(why);
  std::vector<std::function<void()>> run;
  run.swap(held_requests);
  for (auto& f : run) f();
}

}  // namespace atomik
