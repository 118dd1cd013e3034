// SPDX-License-Identifier: Apache-2.0
// NodeClient: a blocking client over POSIX sockets with poll() deadlines
// (asio's blocking reads cannot time out). Speaks the client side of
// docs/protocol.md: HELLO (client flag), then REQUEST / RESPONSE.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "atomik/node.hpp"
#include "codec/hex.hpp"
#include "transport/packet.hpp"
#include "transport/resolve.hpp"

namespace atomik {
namespace tp = transport;
using Clock = std::chrono::steady_clock;

namespace {

// strerror(3) is not thread-safe; the error_code message is.
std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

Status remote_status(std::uint8_t code, const std::string& msg) {
  const std::string ctx = "node";
  switch (static_cast<Code>(code)) {
    case Code::kOk:
      return Status();
    case Code::kInvalidArgument:
      return Status::invalid_argument(ctx, msg);
    case Code::kNotFound:
      return Status::not_found(ctx, msg);
    case Code::kResourceExhausted:
      return Status::resource_exhausted(ctx, msg);
    case Code::kFailedPrecondition:
      return Status::failed_precondition(ctx, msg);
    case Code::kOutOfRange:
      return Status::out_of_range(ctx, msg);
    case Code::kUnimplemented:
      return Status::unimplemented(ctx, msg);
    case Code::kUnavailable:
      return Status::unavailable(ctx, msg);
    case Code::kCorruption:
      return Status::corruption(ctx, msg);
    default:
      return Status::io_error(ctx, msg);
  }
}

}  // namespace

struct NodeClient::Impl {
  int fd = -1;
  std::string address;
  bool keyed = false;
  tp::Key key{};
  tp::Key skey{};
  tp::Nonce my_nonce{};
  std::uint64_t send_ctr = 0;
  std::uint64_t recv_ctr = 0;
  std::uint64_t next_id = 1;
  std::uint32_t timeout_ms = 5000;

  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  Status wait_fd(short events, Clock::time_point deadline) const {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - Clock::now())
                            .count();
      if (left <= 0) {
        return Status::unavailable("NodeClient",
                                   address + ": timed out after " +
                                       std::to_string(timeout_ms) + " ms");
      }
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) return Status();
      if (r < 0 && errno != EINTR) return Status::from_errno("poll", errno);
    }
  }

  Status write_all(const std::vector<std::byte>& b) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::size_t at = 0;
    while (at < b.size()) {
      const ssize_t n = ::send(fd, b.data() + at, b.size() - at, MSG_NOSIGNAL);
      if (n > 0) {
        at += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        ATOMIK_RETURN_IF_ERROR(wait_fd(POLLOUT, deadline));
        continue;
      }
      return Status::unavailable(
          "NodeClient", address + ": send failed: " + errno_text(errno));
    }
    return Status();
  }

  Status read_exact(std::byte* out, std::size_t len,
                    Clock::time_point deadline) {
    std::size_t at = 0;
    while (at < len) {
      const ssize_t n = ::recv(fd, out + at, len - at, 0);
      if (n > 0) {
        at += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) {
        return Status::unavailable("NodeClient",
                                   address + ": connection closed by the node");
      }
      if (errno == EAGAIN || errno == EINTR) {
        ATOMIK_RETURN_IF_ERROR(wait_fd(POLLIN, deadline));
        continue;
      }
      return Status::unavailable(
          "NodeClient", address + ": recv failed: " + errno_text(errno));
    }
    return Status();
  }

  // Reads one packet; verifies its tag with `k` (extra for the HELLO).
  Result<std::pair<tp::PacketHeader, std::vector<std::byte>>> read_packet(
      const tp::Key* k, std::span<const std::byte> extra) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::array<std::byte, tp::kPacketHeaderSize> hdr{};
    ATOMIK_RETURN_IF_ERROR(read_exact(hdr.data(), hdr.size(), deadline));
    tp::PacketHeader h;
    std::string why;
    if (tp::parse_header(hdr, 64u << 20, &h, &why) != tp::HeaderError::kNone) {
      return Status::corruption("NodeClient", "reply header: " + why);
    }
    std::vector<std::byte> body(std::size_t{h.body_len} + h.tag_len);
    ATOMIK_RETURN_IF_ERROR(read_exact(body.data(), body.size(), deadline));
    // An untagged RESPONSE with counter 0 in place of the HELLO: the node
    // refused the connection and says why (at its connection limit). It is
    // unauthenticated, so it only ever turns into an error.
    if (h.type == tp::PacketType::kResponse && h.counter == 0 &&
        h.tag_len == 0) {
      auto refusal = tp::decode_response(body);
      if (refusal.ok() && refusal->code != 0) {
        return remote_status(refusal->code, address +
                                                " refused the connection: " +
                                                refusal->text.substr(0, 256));
      }
    }
    if ((k != nullptr) != (h.tag_len != 0)) {
      return Status::failed_precondition("NodeClient",
                                         "the node and this client disagree "
                                         "on whether a key is used");
    }
    const std::span<const std::byte> b(body.data(), h.body_len);
    if (k != nullptr) {
      const tp::Tag want =
          tp::compute_tag(*k, tp::Direction::kFromAcceptor, hdr, b, extra);
      if (!tp::tag_equal(want, {body.data() + h.body_len, tp::kTagSize})) {
        return Status::failed_precondition("NodeClient",
                                           "reply tag mismatch (wrong key?)");
      }
    }
    body.resize(h.body_len);
    return std::make_pair(h, std::move(body));
  }

  Result<tp::Response> call(tp::RequestOp op, std::uint32_t addr,
                            std::uint64_t value) {
    if (fd < 0) return Status::failed_precondition("NodeClient", "closed");
    tp::Request r{op, addr, value, next_id++};
    const auto body = tp::encode_request(r);
    ATOMIK_RETURN_IF_ERROR(write_all(tp::seal_packet(
        tp::PacketType::kRequest, ++send_ctr, body, keyed ? &skey : nullptr,
        tp::Direction::kFromConnector)));
    auto p = read_packet(keyed ? &skey : nullptr, {});
    if (!p.ok()) return p.status();
    if (p->first.type != tp::PacketType::kResponse ||
        p->first.counter <= recv_ctr) {
      return Status::corruption("NodeClient", "unexpected reply packet");
    }
    recv_ctr = p->first.counter;
    auto resp = tp::decode_response(p->second);
    if (!resp.ok()) return resp.status();
    if (resp->id != r.id) {
      return Status::corruption("NodeClient", "reply to another request");
    }
    ATOMIK_RETURN_IF_ERROR(remote_status(resp->code, resp->text));
    return resp;
  }
};

NodeClient::NodeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeClient::~NodeClient() = default;

Result<std::unique_ptr<NodeClient>> NodeClient::connect(
    const std::string& address, std::span<const std::byte> key,
    std::uint32_t timeout_ms) {
  auto hp = parse_host_port(address);
  if (!hp.ok()) return hp.status();
  auto impl = std::make_unique<Impl>();
  impl->address = address;
  impl->timeout_ms = timeout_ms;
  if (!key.empty()) {
    if (key.size() != kNodeKeySize) {
      return Status::invalid_argument("NodeClient", "key must be 32 bytes");
    }
    impl->keyed = true;
    std::memcpy(impl->key.data(), key.data(), kNodeKeySize);
  }
  auto ip = transport::resolve_host(hp->first);
  if (!ip.ok()) return ip.status().with_context("NodeClient");
  sockaddr_storage ss{};
  socklen_t ss_len = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
      ::inet_pton(AF_INET, ip->c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp->second);
    ss_len = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET6, ip->c_str(), &v6->sin6_addr) != 1) {
      return Status::invalid_argument("NodeClient",
                                      "'" + *ip + "' is not an IP address");
    }
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp->second);
    ss_len = sizeof(sockaddr_in6);
  }
  impl->fd =
      ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (impl->fd < 0) return Status::from_errno("socket", errno);
  int one = 1;
  (void)::setsockopt(impl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (::connect(impl->fd, reinterpret_cast<const sockaddr*>(&ss), ss_len) !=
      0) {
    if (errno != EINPROGRESS) {
      return Status::unavailable("NodeClient", "cannot connect to " + address +
                                                   ": " + errno_text(errno));
    }
    ATOMIK_RETURN_IF_ERROR(impl->wait_fd(POLLOUT, deadline));
    int err = 0;
    socklen_t len = sizeof err;
    (void)::getsockopt(impl->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return Status::unavailable("NodeClient", "cannot connect to " + address +
                                                   ": " + errno_text(err));
    }
  }
  impl->my_nonce = tp::random_nonce();
  tp::Hello h{
      .flags = tp::kHelloFlagClient, .origin = 0, .nonce = impl->my_nonce};
  ATOMIK_RETURN_IF_ERROR(impl->write_all(tp::seal_packet(
      tp::PacketType::kHello, 0, tp::encode_hello(h),
      impl->keyed ? &impl->key : nullptr, tp::Direction::kFromConnector)));
  auto p =
      impl->read_packet(impl->keyed ? &impl->key : nullptr, impl->my_nonce);
  if (!p.ok()) {
    if (p.status().code() == Code::kUnavailable && impl->keyed) {
      return Status::failed_precondition(
          "NodeClient", address +
                            " closed the handshake (wrong key, or the node "
                            "has none?): " +
                            std::string(p.status().message()));
    }
    return p.status();
  }
  if (p->first.type != tp::PacketType::kHello || p->first.counter != 0) {
    return Status::corruption("NodeClient", "expected a HELLO reply");
  }
  auto hello = tp::decode_hello(p->second);
  if (!hello.ok()) return hello.status();
  if (impl->keyed) {
    impl->skey = tp::session_key(impl->key, impl->my_nonce, hello->nonce);
  }
  return std::unique_ptr<NodeClient>(new NodeClient(std::move(impl)));
}

Status NodeClient::accum(Addr addr, std::uint64_t delta) {
  return impl_->call(tp::RequestOp::kAccum, addr, delta).status();
}

Result<std::uint64_t> NodeClient::read(Addr addr) {
  auto r = impl_->call(tp::RequestOp::kRead, addr, 0);
  if (!r.ok()) return r.status();
  return r->value;
}

Result<std::uint64_t> NodeClient::swap() {
  auto r = impl_->call(tp::RequestOp::kSwap, 0, 0);
  if (!r.ok()) return r.status();
  return r->value;
}

Result<std::string> NodeClient::status_json() {
  auto r = impl_->call(tp::RequestOp::kStatus, 0, 0);
  if (!r.ok()) return r.status();
  return r->text;
}

Result<std::string> NodeClient::status_text() {
  auto r = impl_->call(tp::RequestOp::kStatus, 0, 1);
  if (!r.ok()) return r.status();
  return r->text;
}

Result<Digest> NodeClient::digest() {
  auto r = impl_->call(tp::RequestOp::kDigest, 0, 0);
  if (!r.ok()) return r.status();
  // The peer's text is untrusted: parsed without exceptions, and quoted
  // (printable ASCII only, at most 64 characters) in the refusal.
  const std::string_view text = r->text;
  Digest d;
  if (text.size() != 32 || !codec::parse_hex64(text.substr(0, 16), &d.hi) ||
      !codec::parse_hex64(text.substr(16), &d.lo)) {
    std::string shown;
    for (char ch : text.substr(0, 64)) {
      shown += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    return Status::corruption("NodeClient::digest",
                              "reply '" + shown + "' (" +
                                  std::to_string(text.size()) +
                                  " bytes) is not 32 hex digits");
  }
  return d;
}

}  // namespace atomik
