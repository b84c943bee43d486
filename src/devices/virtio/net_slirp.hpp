// User networking for virtio-net (`--net user`) through libslirp: a TCP/IP
// stack in the VMM that gives the guest QEMU's usual network (10.0.2.0/24,
// gateway and host 10.0.2.2, DNS 10.0.2.3, DHCP handing out 10.0.2.15) and
// turns the guest's connections into host sockets; no privileges needed.
// Host port forwards (hostfwd) listen on the host and connect into the guest.
//
// Slirp runs on the VM's I/O event loop: its sockets are watched through an
// epoll set of our own (itself watched by the loop) that is brought in line
// with slirp_pollfds_fill after each burst of work, and its timers share one
// timerfd. Frames slirp sends to the guest wait in a bounded queue that the
// device drains; an eventfd tells it there is something to drain.
//
// libslirp (and the GLib it pulls in, about 1 MiB of mapped code) is loaded
// with dlopen on first use, so a VM without user networking neither maps nor
// initialises it.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <poll.h>

#include "core/event_loop.hpp"
#include "devices/virtio/net.hpp"

struct Slirp;

namespace vireo::virtio {

struct SlirpApi;  // libslirp's functions, loaded on first use

class SlirpBackend final : public NetBackend {
 public:
  // The guest's MTU, as passt uses: slirp terminates every connection and
  // segments again on host sockets, so nothing on a real wire sees it, and
  // the guest (an emulated CPU, where per-packet work is dear) handles a
  // fortieth of the packets of a 1500-byte MTU.
  static constexpr uint16_t kMtu = 65520;
  static constexpr size_t kMaxFrame = kMtu + 14;
  // Frames waiting for the guest (slots grow to the largest frame seen, so
  // at most kRxQueueFrames * kMaxFrame bytes); beyond this they are dropped
  // and TCP retransmits more slowly.
  static constexpr size_t kRxQueueFrames = 128;

  // Starts slirp on `loop` with the given host port forwards; a forward
  // whose port cannot be bound is an error naming it.
  static Result<std::unique_ptr<SlirpBackend>> create(EventLoop& loop,
                                                      const std::vector<HostForward>& forwards);
  ~SlirpBackend() override;

  uint16_t mtu() const override { return kMtu; }
  int rx_fd() const override { return rx_event_fd_; }
  Result<size_t> receive(std::span<uint8_t> buf) override;
  void send(std::span<const uint8_t> frame) override;
  void flush() override { refresh(); }

  uint64_t dropped() const { return dropped_; }

  // libslirp callbacks (public for the C trampolines).
  void on_send_packet(std::span<const uint8_t> frame);
  struct Timer {
    int id = -1;                  // SlirpTimerId (timer_new_opaque), or -1
    void (*cb)(void*) = nullptr;  // timer_new
    void* cb_opaque = nullptr;
    int64_t expire_ms = -1;  // -1: not armed
  };
  Timer* new_timer(int id, void (*cb)(void*), void* cb_opaque);
  void free_timer(Timer* timer);
  void mod_timer(Timer* timer, int64_t expire_ms);
  void unregister_fd(int fd);
  void kick();
  int add_poll(int fd, int events);
  int revents(int idx) const;

 private:
  explicit SlirpBackend(EventLoop& loop) : loop_(loop) {}
  Result<void> start(const std::vector<HostForward>& forwards);
  // Brings our epoll set and the timerfd in line with what slirp waits for.
  void refresh();
  // Our epoll set or the timerfd fired: let slirp do its work.
  void on_event();

  EventLoop& loop_;
  const SlirpApi* api_ = nullptr;
  Slirp* slirp_ = nullptr;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int rx_event_fd_ = -1;
  bool in_refresh_ = false;
  bool kicked_ = false;

  std::vector<pollfd> pollfds_;                // from the last slirp_pollfds_fill
  std::unordered_map<int, uint32_t> watched_;  // fd -> epoll events in epoll_fd_
  std::vector<std::unique_ptr<Timer>> timers_;

  // Received frames: a ring of preallocated slots.
  std::vector<std::vector<uint8_t>> rx_slots_;
  std::vector<size_t> rx_lengths_;
  size_t rx_head_ = 0;
  size_t rx_count_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace vireo::virtio
