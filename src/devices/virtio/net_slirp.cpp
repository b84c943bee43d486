#include "devices/virtio/net_slirp.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <libslirp.h>

#include "core/log.hpp"

namespace vireo::virtio {

namespace {

constexpr uint32_t kGuestNet = 0x0a000200;   // 10.0.2.0
constexpr uint32_t kGuestMask = 0xffffff00;  // /24
constexpr uint32_t kHostAddr = 0x0a000202;   // 10.0.2.2
constexpr uint32_t kDhcpStart = 0x0a00020f;  // 10.0.2.15
constexpr uint32_t kDnsAddr = 0x0a000203;    // 10.0.2.3

in_addr ipv4(uint32_t host_order) { return in_addr{htonl(host_order)}; }

int64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
int64_t now_ms() { return now_ns() / 1'000'000; }

}  // namespace

// Function types come from the header; the library is loaded on first use.
struct SlirpApi {
  decltype(&::slirp_new) new_;
  decltype(&::slirp_cleanup) cleanup;
  decltype(&::slirp_add_hostfwd) add_hostfwd;
  decltype(&::slirp_input) input;
  decltype(&::slirp_pollfds_fill) pollfds_fill;
  decltype(&::slirp_pollfds_poll) pollfds_poll;
  decltype(&::slirp_handle_timer) handle_timer;
};

namespace {

Result<const SlirpApi*> load_slirp() {
  static const Result<SlirpApi> api = []() -> Result<SlirpApi> {
    constexpr const char* kSoname = "libslirp.so.0";
    void* lib = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("--net user needs {} ({}): install Debian's libslirp0 "
                                    "(scripts/setup.sh)",
                                    kSoname, ::dlerror()));
    }
    SlirpApi a{};
    bool ok = true;
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      ok = ok && fn != nullptr;
    };
    sym(a.new_, "slirp_new");
    sym(a.cleanup, "slirp_cleanup");
    sym(a.add_hostfwd, "slirp_add_hostfwd");
    sym(a.input, "slirp_input");
    sym(a.pollfds_fill, "slirp_pollfds_fill");
    sym(a.pollfds_poll, "slirp_pollfds_poll");
    sym(a.handle_timer, "slirp_handle_timer");
    if (!ok) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("--net user: {} lacks a libslirp 4.x function: install "
                                    "Debian's libslirp0 (scripts/setup.sh)",
                                    kSoname));
    }
    return a;  // the library stays loaded for the life of the process
  }();
  if (!api) return std::unexpected(api.error());
  return &*api;
}

SlirpBackend* self(void* opaque) { return static_cast<SlirpBackend*>(opaque); }

ssize_t cb_send_packet(const void* buf, size_t len, void* opaque) {
  self(opaque)->on_send_packet(std::span(static_cast<const uint8_t*>(buf), len));
  return static_cast<ssize_t>(len);
}
void cb_guest_error(const char* msg, void*) {
  VIREO_LOG_RATELIMITED(log::warn, "virtio-net user networking: guest error: {}", msg);
}
int64_t cb_clock_get_ns(void*) { return now_ns(); }
void* cb_timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
  return self(opaque)->new_timer(-1, cb, cb_opaque);
}
void* cb_timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
  return self(opaque)->new_timer(static_cast<int>(id), nullptr, cb_opaque);
}
void cb_timer_free(void* timer, void* opaque) {
  self(opaque)->free_timer(static_cast<SlirpBackend::Timer*>(timer));
}
void cb_timer_mod(void* timer, int64_t expire_ms, void* opaque) {
  self(opaque)->mod_timer(static_cast<SlirpBackend::Timer*>(timer), expire_ms);
}
void cb_register_poll_fd(int, void*) {}  // refresh() watches what slirp_pollfds_fill lists
void cb_unregister_poll_fd(int fd, void* opaque) { self(opaque)->unregister_fd(fd); }
void cb_notify(void* opaque) { self(opaque)->kick(); }
int cb_add_poll(int fd, int events, void* opaque) { return self(opaque)->add_poll(fd, events); }
int cb_get_revents(int idx, void* opaque) { return self(opaque)->revents(idx); }

const SlirpCb kCallbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .init_completed = nullptr,
    .timer_new_opaque = cb_timer_new_opaque,
};

short to_poll_events(int slirp_events) {
  short e = 0;
  if (slirp_events & SLIRP_POLL_IN) e |= POLLIN;
  if (slirp_events & SLIRP_POLL_OUT) e |= POLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) e |= POLLPRI;
  return e;
}

}  // namespace

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::create(
    EventLoop& loop, const std::vector<HostForward>& forwards) {
  auto backend = std::unique_ptr<SlirpBackend>(new SlirpBackend(loop));
  if (auto r = backend->start(forwards); !r) return std::unexpected(r.error());
  return backend;
}

Result<void> SlirpBackend::start(const std::vector<HostForward>& forwards) {
  auto api = load_slirp();
  if (!api) return std::unexpected(api.error());
  api_ = *api;
  rx_slots_.resize(kRxQueueFrames);
  rx_lengths_.resize(kRxQueueFrames);

  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return errno_error(ErrorCode::kIo, "user networking: epoll_create1");
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (timer_fd_ < 0) return errno_error(ErrorCode::kIo, "user networking: timerfd_create");
  rx_event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (rx_event_fd_ < 0) return errno_error(ErrorCode::kIo, "user networking: eventfd");

  SlirpConfig cfg{};
  cfg.version = 4;
  cfg.restricted = 0;
  cfg.in_enabled = true;
  cfg.vnetwork = ipv4(kGuestNet);
  cfg.vnetmask = ipv4(kGuestMask);
  cfg.vhost = ipv4(kHostAddr);
  // IPv6 as QEMU sets it up: fec0::/64, host fec0::2, DNS fec0::3.
  cfg.in6_enabled = true;
  ::inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
  cfg.vprefix_len = 64;
  ::inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
  ::inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
  cfg.vhostname = "vireo";
  cfg.vdhcp_start = ipv4(kDhcpStart);
  cfg.vnameserver = ipv4(kDnsAddr);
  cfg.if_mtu = kMtu;
  cfg.if_mru = kMtu;
  cfg.disable_host_loopback = false;  // 10.0.2.2 reaches the host's 127.0.0.1
  cfg.enable_emu = false;
  slirp_ = api_->new_(&cfg, &kCallbacks, this);
  if (slirp_ == nullptr) {
    return make_error(ErrorCode::kInternal, "user networking: libslirp could not start");
  }

  for (const HostForward& f : forwards) {
    const uint32_t guest = f.guest_addr != 0 ? f.guest_addr : kDhcpStart;
    if (api_->add_hostfwd(slirp_, f.udp ? 1 : 0, ipv4(f.host_addr), f.host_port, ipv4(guest),
                          f.guest_port) < 0) {
      const in_addr a = ipv4(f.host_addr);
      char text[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &a, text, sizeof(text));
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--net user: hostfwd cannot listen on {} {}:{} (in use, or "
                                    "not an address of this host): pick another HOSTPORT",
                                    f.udp ? "udp" : "tcp", text, f.host_port));
    }
  }

  auto handler = [this](uint32_t) { on_event(); };
  if (auto r = loop_.add_fd(epoll_fd_, EPOLLIN, handler); !r) return r;
  if (auto r = loop_.add_fd(timer_fd_, EPOLLIN, handler); !r) return r;
  refresh();
  return {};
}

SlirpBackend::~SlirpBackend() {
  if (dropped_ != 0) {
    log::info("user networking: {} frames for the guest dropped (queue full)", dropped_);
  }
  // The VM stops its event loop before devices go; nothing runs our handlers now.
  if (epoll_fd_ >= 0) [[maybe_unused]]
    auto r = loop_.remove_fd(epoll_fd_);
  if (timer_fd_ >= 0) [[maybe_unused]]
    auto r = loop_.remove_fd(timer_fd_);
  if (slirp_ != nullptr) api_->cleanup(slirp_);
  for (int fd : {epoll_fd_, timer_fd_, rx_event_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

// ---- Frames

void SlirpBackend::on_send_packet(std::span<const uint8_t> frame) {
  if (rx_count_ == kRxQueueFrames || frame.size() > kMaxFrame) {
    ++dropped_;
    return;
  }
  const size_t slot = (rx_head_ + rx_count_) % kRxQueueFrames;
  if (rx_slots_[slot].size() < frame.size()) rx_slots_[slot].resize(frame.size());
  std::memcpy(rx_slots_[slot].data(), frame.data(), frame.size());
  rx_lengths_[slot] = frame.size();
  if (rx_count_++ == 0) {
    // The device drains the queue until empty or out of buffers (then the
    // driver's next rx notification resumes it): only the first frame of a
    // batch needs to wake it.
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(rx_event_fd_, &one, sizeof(one));
  }
}

Result<size_t> SlirpBackend::receive(std::span<uint8_t> buf) {
  while (rx_count_ > 0) {
    const size_t len = rx_lengths_[rx_head_];
    const std::vector<uint8_t>& slot = rx_slots_[rx_head_];
    rx_head_ = (rx_head_ + 1) % kRxQueueFrames;
    --rx_count_;
    if (len > buf.size()) {
      ++dropped_;
      continue;
    }
    std::memcpy(buf.data(), slot.data(), len);
    return len;
  }
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(rx_event_fd_, &count, sizeof(count));
  return size_t{0};
}

void SlirpBackend::send(std::span<const uint8_t> frame) {
  api_->input(slirp_, frame.data(), static_cast<int>(frame.size()));
}

// ---- Timers

SlirpBackend::Timer* SlirpBackend::new_timer(int id, void (*cb)(void*), void* cb_opaque) {
  auto timer = std::make_unique<Timer>();
  timer->id = id;
  timer->cb = cb;
  timer->cb_opaque = cb_opaque;
  timers_.push_back(std::move(timer));
  return timers_.back().get();
}

void SlirpBackend::free_timer(Timer* timer) {
  std::erase_if(timers_, [timer](const auto& t) { return t.get() == timer; });
}

void SlirpBackend::mod_timer(Timer* timer, int64_t expire_ms) {
  timer->expire_ms = expire_ms;
  kick();
}

// ---- Polling

void SlirpBackend::kick() {
  if (in_refresh_) {
    kicked_ = true;
    return;
  }
  // Run on_event() soon, from the loop: a one-nanosecond timer.
  itimerspec soon{};
  soon.it_value.tv_nsec = 1;
  ::timerfd_settime(timer_fd_, 0, &soon, nullptr);
}

int SlirpBackend::add_poll(int fd, int events) {
  pollfds_.push_back(pollfd{fd, to_poll_events(events), 0});
  return static_cast<int>(pollfds_.size() - 1);
}

int SlirpBackend::revents(int idx) const {
  if (idx < 0 || static_cast<size_t>(idx) >= pollfds_.size()) return 0;
  const short r = pollfds_[static_cast<size_t>(idx)].revents;
  int e = 0;
  if (r & POLLIN) e |= SLIRP_POLL_IN;
  if (r & POLLOUT) e |= SLIRP_POLL_OUT;
  if (r & POLLPRI) e |= SLIRP_POLL_PRI;
  if (r & (POLLERR | POLLNVAL)) e |= SLIRP_POLL_ERR;
  if (r & POLLHUP) e |= SLIRP_POLL_HUP;
  return e;
}

void SlirpBackend::unregister_fd(int fd) {
  if (watched_.erase(fd) > 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void SlirpBackend::refresh() {
  in_refresh_ = true;
  kicked_ = false;
  pollfds_.clear();
  uint32_t timeout_ms = UINT32_MAX;
  api_->pollfds_fill(slirp_, &timeout_ms, cb_add_poll, this);

  // Our epoll set follows the list: add, modify, remove.
  for (auto& [fd, events] : watched_) events |= 0x80000000u;  // mark: not listed yet
  for (const pollfd& p : pollfds_) {
    uint32_t events = 0;
    if (p.events & POLLIN) events |= EPOLLIN;
    if (p.events & POLLOUT) events |= EPOLLOUT;
    if (p.events & POLLPRI) events |= EPOLLPRI;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = p.fd;
    auto it = watched_.find(p.fd);
    if (it == watched_.end()) {
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p.fd, &ev) == 0) watched_[p.fd] = events;
    } else if ((it->second & ~0x80000000u) != events) {
      // The fd number may have been closed and reused since it was added.
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, p.fd, &ev) < 0 && errno == ENOENT) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p.fd, &ev);
      }
      it->second = events;
    } else {
      it->second = events;
    }
  }
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (it->second & 0x80000000u) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
      it = watched_.erase(it);
    } else {
      ++it;
    }
  }

  // One timerfd for slirp's poll timeout and its timers.
  int64_t deadline = timeout_ms == UINT32_MAX ? INT64_MAX : now_ms() + timeout_ms;
  for (const auto& t : timers_) {
    if (t->expire_ms >= 0) deadline = std::min(deadline, t->expire_ms);
  }
  in_refresh_ = false;
  itimerspec spec{};
  if (kicked_) {
    spec.it_value.tv_nsec = 1;
  } else if (deadline != INT64_MAX) {
    const int64_t wait_ns = std::max<int64_t>(deadline * 1'000'000 - now_ns(), 1);
    spec.it_value.tv_sec = wait_ns / 1'000'000'000;
    spec.it_value.tv_nsec = wait_ns % 1'000'000'000;
  }
  ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
}

void SlirpBackend::on_event() {
  uint64_t expirations;
  [[maybe_unused]] ssize_t n = ::read(timer_fd_, &expirations, sizeof(expirations));
  // Drain our epoll set's readiness (poll() below reads the real state).
  epoll_event events[64];
  while (::epoll_wait(epoll_fd_, events, 64, 0) == 64) {
  }
  const int ready = ::poll(pollfds_.data(), pollfds_.size(), 0);
  if (ready < 0) {
    for (pollfd& p : pollfds_) p.revents = 0;
  }
  api_->pollfds_poll(slirp_, ready < 0 ? 1 : 0, cb_get_revents, this);
  const int64_t now = now_ms();
  for (size_t i = 0; i < timers_.size(); ++i) {
    Timer* t = timers_[i].get();
    if (t->expire_ms < 0 || t->expire_ms > now) continue;
    t->expire_ms = -1;
    // The callback may modify or free timers: look the list up again after.
    if (t->id >= 0) {
      api_->handle_timer(slirp_, static_cast<SlirpTimerId>(t->id), t->cb_opaque);
    } else if (t->cb != nullptr) {
      t->cb(t->cb_opaque);
    }
  }
  refresh();
}

}  // namespace vireo::virtio
