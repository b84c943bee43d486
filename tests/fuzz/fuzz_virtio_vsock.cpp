// libFuzzer target for virtio-vsock packet handling through the virtio-mmio
// transport and the I/O event loop, with real Unix sockets on the host side
// (a listener on PATH_5 accepts guest connections to host port 5). A driver
// with well-formed rings sends the packets the input describes, posts receive
// buffers of input-chosen sizes, and host programs connect, write, shut down
// and close. Beyond "no crash" it checks that the interrupt line is high
// exactly while InterruptStatus is nonzero, that every packet the device
// returns fits its buffer and carries a whole header, and that the number of
// connections stays capped.
//
// Input: a sequence of operations, each a kind byte and then its fields.
//   0 packet: flags (u8), header (44 bytes), payload length (u16), chain
//     length override (u16, 0: header + payload). flags bit 0: force the
//     guest's CID as source and the host's as destination; bit 1: force the
//     stream type; bits 2-4: op = bits (else the header's op).
//   1 post receive buffers: count (u8, % 16), writable length (u16)
//   2 host write: connection (u8), length (u16)
//   3 host shutdown(SHUT_WR) of a connection (u8)
//   4 host close of a connection (u8)
//   5 host client: CONNECT to port (u16) on the listening socket
//   6 QueueNotify (u8)
//   7 device reset and bring-up
//
// Run: fuzz_virtio_vsock tests/fuzz/corpus/fuzz_virtio_vsock -max_len=4096
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "core/log.hpp"
#include "devices/virtio/transport_mmio.hpp"
#include "devices/virtio/vsock.hpp"
#include "virtio_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::virtio;
using T = MmioTransport;

constexpr uint64_t kRamSize = 0x40000;
constexpr uint16_t kQ = 16;
constexpr uint64_t kRing[3] = {0x1000, 0x4000, 0x7000};  // desc; avail +0x1000; used +0x2000
constexpr uint64_t kRxData = 0x10000;                    // 16 x 0x1000
constexpr uint64_t kTxData = 0x20000;                    // 16 x 0x2000
constexpr uint64_t kGuestCid = 3;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "virtio-vsock invariant violated: %s\n", what);
  std::abort();
}

struct Env {
  GuestMemory memory;
  std::unique_ptr<EventLoop> loop;
  std::string dir, path;
  int port5 = -1;  // listener on PATH_5
};

Env& env() {
  static Env* e = [] {
    auto* e = new Env();
    if (!e->memory.add_ram(GuestAddr(0), kRamSize)) __builtin_trap();
    auto l = EventLoop::create();
    if (!l) __builtin_trap();
    e->loop = std::move(*l);
    e->dir = "/tmp/vireo-fuzz-vsock-" + std::to_string(::getpid());
    ::mkdir(e->dir.c_str(), 0700);
    e->path = e->dir + "/v.sock";
    e->port5 = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string p5 = e->path + "_5";
    ::unlink(p5.c_str());
    std::strncpy(a.sun_path, p5.c_str(), sizeof(a.sun_path) - 1);
    if (::bind(e->port5, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(e->port5, 256) != 0) {
      __builtin_trap();
    }
    std::atexit([] {
      ::unlink((env().path + "_5").c_str());
      ::rmdir(env().dir.c_str());
    });
    return e;
  }();
  return *e;
}

class Driver {
 public:
  Driver(T& t, GuestMemory& m)
      : d_(t, m, fuzz::fixed_layouts(kRing, kQ), kFeatureVersion1), m_(m) {}
  uint32_t read(uint64_t reg) { return d_.read(reg); }
  void write(uint64_t reg, uint32_t v) { d_.write(reg, v); }

  void bring_up() {
    (void)m_.fill(GuestAddr(0), 0, 0x10000);
    rx_avail_ = tx_avail_ = 0;
    rx_seen_ = 0;
    d_.bring_up();
  }
  void desc(int q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags) {
    d_.set_desc(q, i, VirtqDesc{addr, len, flags, 0});
  }
  void push(int q, uint16_t& avail, uint16_t head) {
    d_.push_avail(q, head);
    ++avail;
  }
  uint16_t used_idx(int q) { return d_.used_idx(q); }
  VirtqUsedElem used(int q, uint16_t i) { return d_.used_elem(q, i); }

  void post_rx(uint32_t count, uint16_t len) {
    for (uint32_t i = 0; i < count && rx_avail_ - rx_seen_ < kQ; ++i) {
      const uint16_t id = rx_avail_ % kQ;
      const uint32_t l = std::min<uint32_t>(len, 0x1000);
      rx_len_[id] = l;
      desc(0, id, kRxData + 0x1000ull * id, l, kDescFlagWrite);
      push(0, rx_avail_, id);
    }
    write(T::kQueueNotify, 0);
  }
  // Looks at what the device returned on the receive queue.
  void check_rx() {
    const uint16_t now = used_idx(0);
    for (; rx_seen_ != now; ++rx_seen_) {
      const VirtqUsedElem e = used(0, rx_seen_);
      if (e.id >= kQ) violated("used id out of range");
      if (e.len > rx_len_[e.id]) violated("a packet longer than its buffer");
      if (e.len < sizeof(VsockHeader)) violated("a packet without a whole header");
      auto h = m_.read_obj<VsockHeader>(GuestAddr(kRxData + 0x1000ull * e.id));
      if (!h || e.len != sizeof(VsockHeader) + h->len) violated("packet length disagrees");
      if (h->dst_cid != kGuestCid || h->src_cid != Vsock::kHostCid) violated("packet CIDs");
    }
  }
  void send(const VsockHeader& h, uint16_t payload, uint16_t chain_len) {
    const uint16_t id = tx_avail_ % kQ;
    const uint64_t at = kTxData + 0x2000ull * id;
    (void)m_.write_obj(GuestAddr(at), h);
    const uint32_t natural = std::min<uint32_t>(sizeof(h) + payload, 0x2000);
    (void)m_.fill(GuestAddr(at + sizeof(h)), 0x5a, natural - sizeof(h));
    desc(1, id, at, chain_len != 0 ? std::min<uint32_t>(chain_len, 0x2000) : natural, 0);
    push(1, tx_avail_, id);
    write(T::kQueueNotify, 1);
  }

 private:
  fuzz::MmioDriver d_;
  GuestMemory& m_;
  uint16_t rx_avail_ = 0, tx_avail_ = 0, rx_seen_ = 0;
  uint32_t rx_len_[kQ] = {};
};

int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::set_level(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& e = env();
  auto v = Vsock::create({kGuestCid, e.path});
  if (!v) __builtin_trap();
  Vsock* vsock = v->get();
  fuzz::LevelSink sink;
  auto transport = T::create(std::move(*v), e.memory, IrqLine(&sink, 1), e.loop.get(), "fuzz");
  if (!transport) __builtin_trap();
  Driver driver(**transport, e.memory);
  driver.bring_up();
  std::vector<int> host_fds;  // host ends: accepted guest connections and clients

  auto settle = [&] {
    for (int i = 0; i < 4; ++i) e.loop->run_once(0);
    for (;;) {  // guest connections to host port 5 that the device made
      const int fd = ::accept4(e.port5, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      host_fds.push_back(fd);
    }
    if (sink.level != (driver.read(T::kInterruptStatus) != 0)) {
      violated("interrupt line disagrees with InterruptStatus");
    }
    if (vsock->connection_count() > Vsock::kMaxConnections) violated("too many connections");
    driver.check_rx();
  };
  auto u16 = [&](size_t at) { return static_cast<uint16_t>(data[at] | (data[at + 1] << 8)); };
  auto host_fd = [&](uint8_t i) { return host_fds.empty() ? -1 : host_fds[i % host_fds.size()]; };

  driver.post_rx(8, 0x1000);
  settle();
  size_t at = 0;
  while (at < size) {
    const uint8_t kind = data[at++] % 8;
    switch (kind) {
      case 0: {
        if (at + 1 + sizeof(VsockHeader) + 4 > size) {
          at = size;
          break;
        }
        const uint8_t flags = data[at];
        VsockHeader h;
        std::memcpy(&h, data + at + 1, sizeof(h));
        const uint16_t payload = u16(at + 1 + sizeof(h));
        const uint16_t chain_len = u16(at + 3 + sizeof(h));
        at += 5 + sizeof(h);
        if (flags & 1) {
          h.src_cid = kGuestCid;
          h.dst_cid = Vsock::kHostCid;
        }
        if (flags & 2) h.type = Vsock::kTypeStream;
        if ((flags >> 2) & 7) h.op = (flags >> 2) & 7;
        driver.send(h, payload, chain_len);
        break;
      }
      case 1:
        if (at + 3 > size) {
          at = size;
          break;
        }
        driver.post_rx(data[at] % 16, u16(at + 1));
        at += 3;
        break;
      case 2: {
        if (at + 3 > size) {
          at = size;
          break;
        }
        const int fd = host_fd(data[at]);
        static const std::vector<uint8_t> bytes(0x10000, 0xa5);
        if (fd >= 0) [[maybe_unused]]
          auto n = ::send(fd, bytes.data(), u16(at + 1), MSG_DONTWAIT | MSG_NOSIGNAL);
        at += 3;
        break;
      }
      case 3:
        if (at + 1 > size) {
          at = size;
          break;
        }
        if (int fd = host_fd(data[at]); fd >= 0) ::shutdown(fd, SHUT_WR);
        at += 1;
        break;
      case 4:
        if (at + 1 > size) {
          at = size;
          break;
        }
        if (!host_fds.empty()) {
          const size_t i = data[at] % host_fds.size();
          ::close(host_fds[i]);
          host_fds.erase(host_fds.begin() + static_cast<ptrdiff_t>(i));
        }
        at += 1;
        break;
      case 5: {
        if (at + 2 > size) {
          at = size;
          break;
        }
        const int fd = connect_to(e.path);
        if (fd >= 0) {
          const std::string line = "CONNECT " + std::to_string(u16(at)) + "\n";
          [[maybe_unused]] auto n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
          host_fds.push_back(fd);
        }
        at += 2;
        break;
      }
      case 6:
        if (at + 1 > size) {
          at = size;
          break;
        }
        driver.write(T::kQueueNotify, data[at] % 4);
        at += 1;
        break;
      case 7:
        driver.bring_up();
        driver.post_rx(8, 0x1000);
        break;
    }
    settle();
  }
  transport->reset();
  for (int fd : host_fds) ::close(fd);
  // The listener's backlog: connections the device made and closed.
  for (;;) {
    const int fd = ::accept4(e.port5, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;
    ::close(fd);
  }
  return 0;
}
