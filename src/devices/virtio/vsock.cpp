#include "devices/virtio/vsock.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vireo::virtio {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// The longest "_<port>" suffix a guest connection adds to the path.
constexpr size_t kPortSuffixMax = 11;

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof(a.sun_path) - 1));
  return a;
}

// A non-blocking connection to the Unix socket at `path`, or -1.
int connect_unix(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return -1;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_un a = unix_address(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Result<VsockConfig> parse_vsock(const std::string& text) {
  const auto invalid = [&](std::string_view why) -> Result<VsockConfig> {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--vsock '{}' is not valid ({}): use cid=N,socket=PATH with N "
                                  "from 3 to 4294967294",
                                  text, why));
  };
  VsockConfig c;
  bool have_cid = false, have_socket = false;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item(text.data() + start, comma - start);
    start = comma + 1;
    if (item.starts_with("cid=")) {
      if (!parse_u64(item.substr(4), c.guest_cid)) return invalid("cid is not a number");
      if (c.guest_cid < 3 || c.guest_cid > 0xfffffffe) return invalid("cid out of range");
      have_cid = true;
    } else if (item.starts_with("socket=") && item.size() > 7) {
      c.socket_path = std::string(item.substr(7));
      have_socket = true;
    } else {
      return invalid(fmt::format("unknown part '{}'", item));
    }
  }
  if (!have_cid) return invalid("no cid");
  if (!have_socket) return invalid("no socket");
  return c;
}

Result<std::unique_ptr<Vsock>> Vsock::create(const VsockConfig& config) {
  const std::string& path = config.socket_path;
  if (path.size() + kPortSuffixMax >= sizeof(sockaddr_un::sun_path)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--vsock socket path '{}' is too long for a Unix socket (at most "
                                  "{} bytes): choose a shorter path",
                                  path, sizeof(sockaddr_un::sun_path) - 1 - kPortSuffixMax));
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("--vsock socket '{}': directory '{}' does not exist: create it "
                                  "or choose another path",
                                  path, dir));
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--vsock socket '{}' exists and is not a socket: remove it or "
                                    "choose another path",
                                    path));
    }
    const int probe = connect_unix(path);
    if (probe >= 0) {
      ::close(probe);
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--vsock socket '{}' is in use (something listens on it): "
                                    "stop that process or choose another path",
                                    path));
    }
    ::unlink(path.c_str());  // stale, from a VMM that did not exit cleanly
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error(ErrorCode::kIo, "vsock: socket");
  const sockaddr_un a = unix_address(path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 64) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(ErrorCode::kIo, fmt::format("--vsock socket '{}': cannot listen: {}", path,
                                                  std::strerror(e)));
  }
  const int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) {
    ::close(fd);
    ::unlink(path.c_str());
    return errno_error(ErrorCode::kIo, "vsock: timerfd_create");
  }
  return std::unique_ptr<Vsock>(new Vsock(config, fd, timer));
}

Vsock::Vsock(const VsockConfig& config, int listen_fd, int timer_fd)
    : config_(config), listen_fd_(listen_fd), timer_fd_(timer_fd), buffer_(kMaxPacketData) {}

Vsock::~Vsock() {
  reset();
  ::close(timer_fd_);
  ::close(listen_fd_);
  ::unlink(config_.socket_path.c_str());
}

void Vsock::read_config(uint32_t offset, std::span<uint8_t> out) {
  uint8_t bytes[8];
  std::memcpy(bytes, &config_.guest_cid, 8);
  if (offset >= 8) return;
  std::memcpy(out.data(), bytes + offset, std::min<size_t>(out.size(), 8 - offset));
}

Result<void> Vsock::activate(uint64_t, std::span<VirtQueue> queues, const GuestMemory& memory,
                             DeviceHost& host) {
  if (queues.size() != 3 || !queues[kRx].ready() || !queues[kTx].ready()) {
    return make_error(ErrorCode::kGuest, "DRIVER_OK without the rx and tx queues ready");
  }
  rx_ = &queues[kRx];
  tx_ = &queues[kTx];
  memory_ = &memory;
  host_ = &host;
  if (auto r = host.watch_fd(listen_fd_, EPOLLIN, [this](uint32_t) { on_listen_event(); }); !r) {
    reset();
    return r;
  }
  if (auto r = host.watch_fd(timer_fd_, EPOLLIN, [this](uint32_t) { on_timer(); }); !r) {
    reset();
    return r;
  }
  return {};
}

void Vsock::reset() {
  for (auto& [key, c] : conns_) {
    if (c.watched_events != 0 && host_ != nullptr) host_->unwatch_fd(c.fd);
    ::close(c.fd);
  }
  conns_.clear();
  for (auto& [fd, client] : clients_) {
    if (host_ != nullptr) host_->unwatch_fd(fd);
    ::close(fd);
  }
  clients_.clear();
  resets_.clear();
  if (host_ != nullptr) {
    host_->unwatch_fd(listen_fd_);
    host_->unwatch_fd(timer_fd_);
  }
  const itimerspec off{};
  ::timerfd_settime(timer_fd_, 0, &off, nullptr);
  timer_armed_ = false;
  rx_ = tx_ = nullptr;
  memory_ = nullptr;
  host_ = nullptr;
  rx_chain_held_ = false;
}

void Vsock::run(Result<void> r) {
  if (!r && host_ != nullptr) host_->fail(r.error());
}

Result<void> Vsock::queue_notify(uint16_t queue) {
  if (host_ == nullptr) return {};
  if (queue == kRx) return pump_rx();
  if (queue == kTx) return pump_tx();
  return {};  // the event queue: the device sends no events
}

// ---- Host side

uint32_t Vsock::allocate_host_port() {
  for (;;) {
    const uint32_t port = next_host_port_++;
    if (next_host_port_ == 0) next_host_port_ = 1u << 30;
    bool used = false;
    for (const auto& [key, c] : conns_) used = used || key.first == port;
    if (!used) return port;
  }
}

void Vsock::on_listen_event() {
  for (int i = 0; i < 16; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (clients_.size() >= kMaxPendingClients || conns_.size() >= kMaxConnections) {
      VIREO_LOG_RATELIMITED(log::warn, "vsock: too many connections; refusing a host client");
      ::close(fd);
      continue;
    }
    if (!host_->watch_fd(fd, EPOLLIN, [this, fd](uint32_t) { on_client_event(fd); })) {
      ::close(fd);
      continue;
    }
    clients_[fd] = {std::string(), now_ms() + config_.connect_timeout_ms};
    arm_timer();
  }
}

void Vsock::arm_timer() {
  if (timer_armed_) return;
  // A coarse tick (a quarter of the timeout) while anything waits.
  const uint64_t tick_ms = std::max<uint64_t>(config_.connect_timeout_ms / 4, 10);
  itimerspec t{};
  t.it_value.tv_sec = static_cast<time_t>(tick_ms / 1000);
  t.it_value.tv_nsec = static_cast<long>(tick_ms % 1000) * 1'000'000;
  t.it_interval = t.it_value;
  ::timerfd_settime(timer_fd_, 0, &t, nullptr);
  timer_armed_ = true;
}

void Vsock::on_timer() {
  uint64_t expirations;
  [[maybe_unused]] ssize_t n = ::read(timer_fd_, &expirations, sizeof(expirations));
  const uint64_t now = now_ms();
  bool waiting = false;
  for (auto it = clients_.begin(); it != clients_.end();) {
    const int fd = it->first;
    const bool late = it->second.deadline_ms <= now;
    ++it;
    if (late) {
      drop_client(fd);
    } else {
      waiting = true;
    }
  }
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn& c = it->second;
    const Key key = it->first;
    ++it;
    if (!c.host_initiated || c.established || c.send_rst) continue;
    if (c.deadline_ms > now) {
      waiting = true;
      continue;
    }
    // The guest never answered: give up on the client, and tell the guest
    // (if the request went out) so that a late answer finds nothing.
    if (!c.send_request && resets_.size() < kMaxQueuedResets) {
      resets_.push_back(header_for(c, kOpRst));
    }
    close_conn(key);
  }
  if (!waiting) {
    const itimerspec off{};
    ::timerfd_settime(timer_fd_, 0, &off, nullptr);
    timer_armed_ = false;
  }
  run(pump_rx());
}

void Vsock::drop_client(int fd) {
  host_->unwatch_fd(fd);
  ::close(fd);
  clients_.erase(fd);
}

// Reads "CONNECT <port>\n" a byte at a time, so that data the client sends
// right after it stays in the socket for the guest.
void Vsock::on_client_event(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  std::string& line = it->second.line;
  for (;;) {
    char ch;
    const ssize_t n = ::recv(fd, &ch, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || line.size() >= 32) {
      drop_client(fd);
      return;
    }
    if (ch != '\n') {
      line.push_back(ch);
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    uint64_t port = 0;
    if (!line.starts_with("CONNECT ") || !parse_u64(std::string_view(line).substr(8), port) ||
        port > UINT32_MAX) {
      static const char kMsg[] = "ERROR expected CONNECT <port>\n";
      [[maybe_unused]] ssize_t w = ::send(fd, kMsg, sizeof(kMsg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      drop_client(fd);
      return;
    }
    host_->unwatch_fd(fd);
    clients_.erase(fd);
    Conn c;
    c.fd = fd;
    c.local_port = allocate_host_port();
    c.peer_port = static_cast<uint32_t>(port);
    c.host_initiated = true;
    c.send_request = true;
    c.deadline_ms = now_ms() + config_.connect_timeout_ms;
    arm_timer();
    conns_.emplace(Key{c.local_port, c.peer_port}, std::move(c));
    run(pump_rx());
    return;
  }
}

void Vsock::on_conn_event(Key key, uint32_t events) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) c.host_readable = true;
  if (events & EPOLLOUT) flush_to_host(c);
  update_watch(c);
  run(pump_rx());
}

void Vsock::update_watch(Conn& c) {
  uint32_t want = 0;
  if (c.established && !c.host_readable && !c.host_eof && !c.guest_shut_recv && !c.send_rst &&
      peer_credit(c) > 0) {
    want |= EPOLLIN;
  }
  if (!c.to_host.empty() && !c.send_rst) want |= EPOLLOUT;
  if (want == c.watched_events) return;
  if (c.watched_events != 0) host_->unwatch_fd(c.fd);
  c.watched_events = 0;
  if (want == 0) return;
  const Key key{c.local_port, c.peer_port};
  if (host_->watch_fd(c.fd, want, [this, key](uint32_t ev) { on_conn_event(key, ev); })) {
    c.watched_events = want;
  } else {
    c.send_rst = true;
  }
}

void Vsock::close_conn(const Key& key) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  if (it->second.watched_events != 0) host_->unwatch_fd(it->second.fd);
  ::close(it->second.fd);
  conns_.erase(it);
}

void Vsock::flush_to_host(Conn& c) {
  size_t done = 0;
  while (done < c.to_host.size()) {
    const ssize_t n =
        ::send(c.fd, c.to_host.data() + done, c.to_host.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {  // the host side went away
      c.to_host.clear();
      c.send_rst = true;
      return;
    }
    done += static_cast<size_t>(n);
  }
  c.to_host.erase(c.to_host.begin(), c.to_host.begin() + static_cast<ptrdiff_t>(done));
  c.fwd_cnt += static_cast<uint32_t>(done);
  if (c.to_host.empty() && c.guest_shut_send) {
    ::shutdown(c.fd, SHUT_WR);
    if (c.guest_shut_recv) c.send_rst = true;  // both ways shut: the guest awaits our RST
  }
  // Tell the guest about freed space before it can run out of credit: with
  // less than a quarter of buf_alloc unannounced, a guest whose data has all
  // been forwarded still has three quarters (and every packet the device
  // sends carries fwd_cnt too).
  if (c.fwd_cnt - c.last_fwd_cnt_sent >= kBufAlloc / 4) c.send_credit_update = true;
}

// ---- Credit

uint32_t Vsock::peer_credit(const Conn& c) const {
  const uint32_t in_flight = c.tx_cnt - c.peer_fwd_cnt;
  // A peer_fwd_cnt ahead of what was sent is bogus: no credit, not a wrap.
  if (in_flight > c.peer_buf_alloc) return 0;
  return c.peer_buf_alloc - in_flight;
}

bool Vsock::wants_rx(const Conn& c) const {
  return c.send_rst || c.send_request || c.send_response || c.send_credit_update ||
         c.send_shutdown ||
         (c.established && c.host_readable && !c.host_eof && !c.guest_shut_recv &&
          peer_credit(c) > 0);
}

// ---- Guest -> host (tx queue)

Result<void> Vsock::pump_tx() {
  bool used = false;
  Result<void> result;
  for (uint32_t n = 0;; ++n) {
    if (n == kQueueSize) {
      host_->requeue(kTx);
      break;
    }
    auto popped = tx_->pop_chain(tx_chain_);
    if (!popped) {
      result = std::unexpected(popped.error());
      break;
    }
    if (!*popped) break;
    if (auto r = handle_packet(tx_chain_); !r) {
      result = r;
      break;
    }
    if (auto u = tx_->add_used(tx_chain_.head(), 0); !u) {
      result = u;
      break;
    }
    used = true;
  }
  if (used && tx_->needs_notification()) host_->notify_used(kTx);
  if (!result) return result;
  return pump_rx();  // replies and credit updates
}

void Vsock::queue_reset(const VsockHeader& from_guest) {
  if (from_guest.op == kOpRst) return;  // never answer a reset with one
  if (resets_.size() >= kMaxQueuedResets) return;
  VsockHeader h{};
  h.src_cid = kHostCid;
  h.dst_cid = config_.guest_cid;
  h.src_port = from_guest.dst_port;
  h.dst_port = from_guest.src_port;
  h.type = kTypeStream;
  h.op = kOpRst;
  resets_.push_back(h);
}

Result<void> Vsock::handle_packet(const DescriptorChain& chain) {
  ChainReader reader(*memory_, chain);
  if (reader.remaining() < sizeof(VsockHeader)) {
    ++bad_packets_;
    VIREO_LOG_RATELIMITED(log::warn, "vsock: a {}-byte packet, shorter than its header",
                          reader.remaining());
    return {};
  }
  auto read = reader.read_obj<VsockHeader>();
  if (!read) return std::unexpected(read.error());
  const VsockHeader h = *read;
  const Key key{h.dst_port, h.src_port};
  auto it = conns_.find(key);
  auto bad = [&](std::string_view why) {
    ++bad_packets_;
    VIREO_LOG_RATELIMITED(log::warn, "vsock: guest packet op {} {}:{} -> {}:{}: {}", h.op,
                          h.src_cid, h.src_port, h.dst_cid, h.dst_port, why);
    if (it != conns_.end()) {
      it->second.send_rst = true;
      it->second.to_host.clear();
    } else {
      queue_reset(h);
    }
    return Result<void>{};
  };
  if (h.src_cid != config_.guest_cid) return bad("source CID is not the guest's");
  if (h.dst_cid != kHostCid) return bad("destination is not the host (CID 2)");
  if (h.type != kTypeStream) return bad("not a stream packet");
  if (h.len > reader.remaining()) return bad("len is larger than the packet");
  if (h.op != kOpRw && h.len != 0) return bad("payload on a control packet");
  if (it != conns_.end() && h.op != kOpRequest) {
    it->second.peer_buf_alloc = h.buf_alloc;
    it->second.peer_fwd_cnt = h.fwd_cnt;
  }
  switch (h.op) {
    case kOpRequest:
      if (it != conns_.end()) return bad("request for a connection that exists");
      handle_guest_request(h);
      return {};
    case kOpResponse: {
      if (it == conns_.end()) return bad("response without a request");
      Conn& c = it->second;
      if (!c.host_initiated || c.established) return bad("unexpected response");
      c.established = true;
      c.host_readable = true;  // the client may have sent data already
      const std::string ok = fmt::format("OK {}\n", c.local_port);
      if (::send(c.fd, ok.data(), ok.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
          static_cast<ssize_t>(ok.size())) {
        c.send_rst = true;
      }
      update_watch(c);
      return {};
    }
    case kOpRst:
      if (it != conns_.end()) close_conn(key);
      return {};
    case kOpShutdown: {
      if (it == conns_.end()) return bad("shutdown of an unknown connection");
      Conn& c = it->second;
      c.guest_shut_send = c.guest_shut_send || (h.flags & kShutdownSend) != 0;
      c.guest_shut_recv = c.guest_shut_recv || (h.flags & kShutdownRecv) != 0;
      flush_to_host(c);
      update_watch(c);
      return {};
    }
    case kOpRw: {
      if (it == conns_.end()) return bad("data for an unknown connection");
      Conn& c = it->second;
      if (!c.established) return bad("data before the connection is established");
      if (c.guest_shut_send) return bad("data after shutting down sending");
      if (c.to_host.size() + h.len > kBufAlloc) return bad("data beyond the credit given");
      const size_t old = c.to_host.size();
      c.to_host.resize(old + h.len);
      if (auto r = reader.read(std::span(c.to_host.data() + old, h.len)); !r) {
        return std::unexpected(r.error());
      }
      flush_to_host(c);
      update_watch(c);
      return {};
    }
    case kOpCreditUpdate:
      if (it == conns_.end()) return bad("credit update for an unknown connection");
      update_watch(it->second);  // more credit may let host reads resume
      return {};
    case kOpCreditRequest:
      if (it == conns_.end()) return bad("credit request for an unknown connection");
      it->second.send_credit_update = true;
      return {};
    default:
      return bad("unknown op");
  }
}

void Vsock::handle_guest_request(const VsockHeader& h) {
  if (conns_.size() >= kMaxConnections) {
    VIREO_LOG_RATELIMITED(log::warn, "vsock: {} connections open; refusing another", conns_.size());
    queue_reset(h);
    return;
  }
  const int fd = connect_unix(fmt::format("{}_{}", config_.socket_path, h.dst_port));
  if (fd < 0) {  // nobody listens on PATH_<port>: refused
    queue_reset(h);
    return;
  }
  Conn c;
  c.fd = fd;
  c.local_port = h.dst_port;
  c.peer_port = h.src_port;
  c.established = true;
  c.peer_buf_alloc = h.buf_alloc;
  c.peer_fwd_cnt = h.fwd_cnt;
  c.send_response = true;
  auto [it, inserted] = conns_.emplace(Key{c.local_port, c.peer_port}, std::move(c));
  update_watch(it->second);
}

// ---- Host -> guest (rx queue)

VsockHeader Vsock::header_for(Conn& c, uint16_t op) {
  VsockHeader h{};
  h.src_cid = kHostCid;
  h.dst_cid = config_.guest_cid;
  h.src_port = c.local_port;
  h.dst_port = c.peer_port;
  h.type = kTypeStream;
  h.op = op;
  h.buf_alloc = kBufAlloc;
  h.fwd_cnt = c.fwd_cnt;
  c.last_fwd_cnt_sent = c.fwd_cnt;
  return h;
}

Result<void> Vsock::send_packet(const VsockHeader& h, std::span<const uint8_t> data) {
  ChainWriter writer(*memory_, rx_chain_);
  if (auto w = writer.write_obj(h); !w) return w;
  if (auto w = writer.write(data); !w) return w;
  rx_chain_held_ = false;
  return rx_->add_used(rx_chain_.head(), static_cast<uint32_t>(sizeof(VsockHeader) + data.size()));
}

Result<bool> Vsock::fill_rx_packet() {
  if (!resets_.empty()) {
    const VsockHeader h = resets_.front();
    resets_.pop_front();
    if (auto r = send_packet(h, {}); !r) return std::unexpected(r.error());
    return true;
  }
  // Round-robin: start after the connection served last.
  for (size_t visited = 0, total = conns_.size(); visited < total; ++visited) {
    auto it = conns_.upper_bound(rx_cursor_);
    if (it == conns_.end()) it = conns_.begin();
    rx_cursor_ = it->first;
    Conn& c = it->second;
    if (!wants_rx(c)) continue;
    Result<void> sent;
    if (c.send_rst) {
      VsockHeader h = header_for(c, kOpRst);
      close_conn(it->first);
      sent = send_packet(h, {});
    } else if (c.send_request) {
      c.send_request = false;
      sent = send_packet(header_for(c, kOpRequest), {});
    } else if (c.send_response) {
      c.send_response = false;
      sent = send_packet(header_for(c, kOpResponse), {});
    } else if (c.send_shutdown) {
      c.send_shutdown = false;
      VsockHeader h = header_for(c, kOpShutdown);
      h.flags = kShutdownSend;
      sent = send_packet(h, {});
    } else if (c.established && c.host_readable && !c.host_eof && !c.guest_shut_recv &&
               peer_credit(c) > 0) {
      const uint64_t room = rx_chain_.writable_bytes() - sizeof(VsockHeader);
      const size_t max =
          static_cast<size_t>(std::min<uint64_t>({peer_credit(c), uint64_t{kMaxPacketData}, room}));
      const ssize_t n = max == 0 ? -1 : ::recv(c.fd, buffer_.data(), max, MSG_DONTWAIT);
      const int err = errno;
      if (n > 0) {
        if (static_cast<size_t>(n) < max) c.host_readable = false;  // drained, most likely
        c.tx_cnt += static_cast<uint32_t>(n);
        VsockHeader h = header_for(c, kOpRw);
        h.len = static_cast<uint32_t>(n);
        c.send_credit_update = false;  // this header carries fwd_cnt
        sent = send_packet(h, std::span(buffer_.data(), static_cast<size_t>(n)));
      } else if (n == 0) {
        c.host_eof = true;  // the host shut its sending side
        c.host_readable = false;
        VsockHeader h = header_for(c, kOpShutdown);
        h.flags = kShutdownSend;
        sent = send_packet(h, {});
      } else if (max > 0 && err != EAGAIN && err != EINTR) {
        c.host_readable = false;
        c.send_rst = true;
        VsockHeader h = header_for(c, kOpRst);
        close_conn(it->first);
        sent = send_packet(h, {});
      } else {
        if (max > 0) c.host_readable = false;  // spurious wake-up: wait for the host
        update_watch(c);
        if (!c.send_credit_update) continue;
        c.send_credit_update = false;
        sent = send_packet(header_for(c, kOpCreditUpdate), {});
      }
    } else if (c.send_credit_update) {
      c.send_credit_update = false;
      sent = send_packet(header_for(c, kOpCreditUpdate), {});
    } else {
      continue;
    }
    if (!sent) return std::unexpected(sent.error());
    if (auto again = conns_.find(rx_cursor_); again != conns_.end()) update_watch(again->second);
    return true;
  }
  return false;
}

Result<void> Vsock::pump_rx() {
  bool used = false;
  Result<void> result;
  for (uint32_t n = 0;; ++n) {
    if (n == kQueueSize) {
      host_->requeue(kRx);
      break;
    }
    bool owed = !resets_.empty();
    for (auto it = conns_.begin(); !owed && it != conns_.end(); ++it) owed = wants_rx(it->second);
    if (!owed) break;
    if (!rx_chain_held_) {
      auto popped = rx_->pop_chain(rx_chain_);
      if (!popped) {
        result = std::unexpected(popped.error());
        break;
      }
      if (!*popped) break;  // the driver's notification brings us back
      if (rx_chain_.writable_bytes() < sizeof(VsockHeader)) {
        result = make_error(ErrorCode::kGuest,
                            fmt::format("vsock: a {}-byte receive buffer cannot hold a header",
                                        rx_chain_.writable_bytes()));
        break;
      }
      rx_chain_held_ = true;
    }
    auto filled = fill_rx_packet();
    if (!filled) {
      result = std::unexpected(filled.error());
      break;
    }
    if (!*filled) break;
    used = true;
  }
  if (used && rx_->needs_notification()) host_->notify_used(kRx);
  return result;
}

DeviceFactory vsock_factory(VsockConfig config) {
  return [config = std::move(config)](EventLoop&) -> Result<std::unique_ptr<VirtioDevice>> {
    auto v = Vsock::create(config);
    if (!v) return std::unexpected(v.error());
    return std::unique_ptr<VirtioDevice>(std::move(*v));
  };
}

}  // namespace vireo::virtio
