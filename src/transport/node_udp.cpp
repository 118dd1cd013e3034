// SPDX-License-Identifier: Apache-2.0
// A Node's UDP path: DELTAS frames sent as datagrams to every peer, and
// received datagrams checked (header, length, tag, replay counter) and
// applied. Every rejected datagram is counted and logged. Network thread
// only.
#include <algorithm>
#include <asio.hpp>
#include <mutex>
#include <string>

#include "transport/node_impl.hpp"
#include "transport/packet.hpp"

namespace atomik {

void Node::Impl::send_udp(const std::vector<std::byte>& frame) {
  if (!udp_sock) return;
  // Datagrams carry at most ~60 KB: split bigger frames.
  auto parsed =
      parse_frame(frame, FrameLimits{.max_frame_bytes = opt.max_packet_bytes});
  if (!parsed.ok()) return;
  constexpr std::size_t kPerDatagram = 4096;
  const FrameView& v = *parsed;
  for (std::size_t i = 0; i < v.count(); i += kPerDatagram) {
    const std::size_t cnt = std::min<std::size_t>(kPerDatagram, v.count() - i);
    std::vector<FrameRecord> recs(cnt);
    for (std::size_t j = 0; j < cnt; ++j) recs[j] = v.record(i + j);
    FrameHeader h = v.header();
    h.base_seq += i;
    auto f = encode_frame(h, recs);
    if (!f.ok()) continue;
    const auto pkt =
        tp::seal_packet(tp::PacketType::kDeltas, ++udp_counter, *f,
                        keyed ? &key : nullptr, tp::Direction::kDatagram);
    for (const auto& p : peers) {
      // Only to peers whose TCP handshake passed (right key, same table
      // group and width): a node of another group must never fold our
      // deltas. Anything not sent here arrives by the next TCP sync.
      const auto c = p->conn.lock();
      if (!c || c->state != NodeConnection::State::kOpen) continue;
      std::error_code ec;
      udp_sock->send_to(asio::buffer(pkt), p->udp_endpoint, 0, ec);
      std::lock_guard<std::mutex> lk(mu);
      ++st.packets_out;
    }
  }
}

void Node::Impl::start_udp_read() {
  udp_buf.resize(65536);
  udp_sock->async_receive_from(
      asio::buffer(udp_buf), udp_from,
      [this](std::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !udp_sock) return;
        if (!ec) handle_datagram(n);
        start_udp_read();
      });
}

void Node::Impl::handle_datagram(std::size_t n) {
  auto count = [&](std::uint64_t NodeStats::*f, const std::string& why) {
    {
      std::lock_guard<std::mutex> lk(mu);
      ++(st.*f);
    }
    log("datagram from " + udp_from.address().to_string() +
        " rejected: " + why);
  };
  if (n < tp::kPacketHeaderSize) {
    count(&NodeStats::rejected_truncated, "shorter than a packet header");
    return;
  }
  tp::PacketHeader h;
  std::string why;
  const std::span<const std::byte, tp::kPacketHeaderSize> head(
      udp_buf.data(), tp::kPacketHeaderSize);
  const auto e =
      tp::parse_header(head,
                       static_cast<std::uint32_t>(std::min<std::size_t>(
                           opt.max_packet_bytes, UINT32_MAX)),
                       &h, &why);
  if (e != tp::HeaderError::kNone) {
    count(e == tp::HeaderError::kOversized ? &NodeStats::rejected_oversized
                                           : &NodeStats::rejected_bad_header,
          why);
    return;
  }
  if (n != tp::kPacketHeaderSize + h.body_len + h.tag_len) {
    count(&NodeStats::rejected_truncated, "length does not match the header");
    return;
  }
  const std::span<const std::byte> b(udp_buf.data() + tp::kPacketHeaderSize,
                                     h.body_len);
  if (keyed != (h.tag_len != 0)) {
    count(&NodeStats::rejected_bad_mac, "tag presence does not match the key");
    return;
  }
  if (keyed) {
    const tp::Tag want =
        tp::compute_tag(key, tp::Direction::kDatagram, head, b);
    if (!tp::tag_equal(want,
                       {udp_buf.data() + tp::kPacketHeaderSize + h.body_len,
                        tp::kTagSize})) {
      count(&NodeStats::rejected_bad_mac, "tag mismatch");
      return;
    }
  }
  if (h.type != tp::PacketType::kDeltas) {
    count(&NodeStats::rejected_malformed, "only DELTAS go over UDP");
    return;
  }
  auto f = parse_frame(b, FrameLimits{.max_frame_bytes = opt.max_packet_bytes});
  if (!f.ok() || f->size() != b.size()) {
    count(&NodeStats::rejected_malformed,
          f.ok() ? "bytes after the frame" : f.status().to_string());
    return;
  }
  // Replay protection per sender origin: counters only go up. (Applying is
  // exactly-once anyway; this also drops stale datagrams early.)
  std::uint64_t& last = udp_last_counter[f->header().origin];
  if (h.counter <= last) {
    count(&NodeStats::rejected_replay, "counter not above the last one");
    return;
  }
  last = h.counter;
  {
    std::lock_guard<std::mutex> lk(mu);
    ++st.udp_datagrams_in;
    ++st.packets_in;
  }
  (void)apply_frame(*f);  // a gap is repaired by the next TCP sync
}

}  // namespace atomik
