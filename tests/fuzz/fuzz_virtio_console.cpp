// libFuzzer target for virtio-console through the virtio-mmio transport and
// the I/O event loop, with an in-memory host port whose output takes only the
// room the input gives it (so transmit stalls and resumes). A driver posts
// receive and transmit buffers (and raw, possibly hostile, descriptors), host
// input arrives, and the device is reset at random. Beyond "no crash", it
// checks that the interrupt line is high exactly while InterruptStatus is
// nonzero, that the guest never receives more bytes than the host typed nor
// more than a buffer holds, and that the host output is exactly the bytes of
// the transmit buffers in order while the driver plays fair.
//
// Input: operations, each a kind byte and then its fields.
//   0 transmit buffer: length (u16)
//   1 receive buffer: length (u16)
//   2 host input: length (u16)
//   3 host output room: bytes (u16)
//   4 QueueNotify (u8)
//   5 raw descriptor: queue (u8), index (u8), addr (u32), len (u32), flags (u8), then it is
//     pushed (from here on the output is no longer compared)
//   6 device reset and bring-up
//
// Run: fuzz_virtio_console tests/fuzz/corpus/fuzz_virtio_console -max_len=4096
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "core/log.hpp"
#include "devices/virtio/console.hpp"
#include "devices/virtio/transport_mmio.hpp"
#include "virtio_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::virtio;
using T = MmioTransport;

constexpr uint64_t kRamSize = 0x40000;
constexpr uint16_t kQ = 16;
constexpr uint64_t kRing[2] = {0x1000, 0x4000};  // desc; avail +0x1000; used +0x2000
constexpr uint64_t kRxData = 0x10000;            // 16 x 0x1000
constexpr uint64_t kTxData = 0x20000;            // 16 x 0x1000

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "virtio-console invariant violated: %s\n", what);
  std::abort();
}

class Port final : public ConsolePort {
 public:
  Port() : in_fd_(::eventfd(0, EFD_NONBLOCK)), space_fd_(::eventfd(0, EFD_NONBLOCK)) {}
  ~Port() override {
    ::close(in_fd_);
    ::close(space_fd_);
  }
  void type(size_t n) {
    for (size_t i = 0; i < n; ++i) input.push_back(static_cast<char>('a' + (typed + i) % 26));
    typed += n;
    signal(in_fd_);
  }
  void make_room(size_t n) {
    room += n;
    signal(space_fd_);
  }
  size_t read_input(std::span<uint8_t> out) override {
    const size_t n = std::min(out.size(), input.size());
    std::copy_n(input.begin(), n, out.begin());
    input.erase(0, n);
    if (input.empty()) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(in_fd_, &v, 8);
    }
    return n;
  }
  int input_fd() const override { return in_fd_; }
  size_t write_output(std::span<const uint8_t> bytes) override {
    const size_t n = std::min(bytes.size(), room);
    output.append(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    room -= n;
    return n;
  }
  int output_space_fd() const override { return space_fd_; }

  std::string input, output;
  size_t typed = 0;
  size_t room = 0;

 private:
  static void signal(int fd) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(fd, &one, 8);
  }
  int in_fd_, space_fd_;
};

struct Env {
  GuestMemory memory;
  std::unique_ptr<EventLoop> loop;
};

Env& env() {
  static Env* e = [] {
    auto* e = new Env();
    if (!e->memory.add_ram(GuestAddr(0), kRamSize)) __builtin_trap();
    auto l = EventLoop::create();
    if (!l) __builtin_trap();
    e->loop = std::move(*l);
    return e;
  }();
  return *e;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::set_level(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& e = env();
  GuestMemory& m = e.memory;
  if (!m.fill(GuestAddr(0), 0, kRamSize)) __builtin_trap();
  auto port = std::make_shared<Port>();
  fuzz::LevelSink sink;
  auto transport = T::create(std::make_unique<Console>(port), m, IrqLine(&sink, 1), e.loop.get(),
                             "fuzz-console");
  if (!transport) __builtin_trap();
  fuzz::MmioDriver driver(**transport, m, fuzz::fixed_layouts(kRing, kQ), kFeatureVersion1);

  uint16_t avail[2] = {0, 0};
  uint16_t rx_seen = 0;
  uint32_t rx_len[kQ] = {};
  uint64_t received = 0;
  std::string expected_output;  // what the transmit buffers held, in order
  bool fair = true;             // no raw descriptors, no reset since the start

  auto bring_up = [&] {
    (void)m.fill(GuestAddr(0), 0, 0x10000);
    avail[0] = avail[1] = 0;
    rx_seen = 0;
    driver.bring_up();
  };
  auto desc = [&](int q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags) {
    driver.set_desc(q, i, VirtqDesc{addr, len, flags, 0});
  };
  auto push = [&](int q, uint16_t head) {
    driver.push_avail(q, head);
    ++avail[q];
    driver.write(T::kQueueNotify, static_cast<uint32_t>(q));
  };
  // Whether queue q has a free slot (the device returns buffers in order).
  auto room_in = [&](int q) { return static_cast<uint16_t>(avail[q] - driver.used_idx(q)) < kQ; };
  auto settle = [&] {
    for (int i = 0; i < 4; ++i) e.loop->run_once(0);
    if (sink.level != (driver.read(T::kInterruptStatus) != 0)) {
      violated("interrupt line disagrees with InterruptStatus");
    }
    for (const uint16_t idx = driver.used_idx(0); rx_seen != idx; ++rx_seen) {
      const VirtqUsedElem el = driver.used_elem(0, rx_seen);
      if (fair && (el.id >= kQ || el.len > rx_len[el.id])) violated("overfilled receive buffer");
      received += el.len;
    }
    if (fair && received > port->typed) violated("the guest got bytes nobody typed");
    if (fair && !expected_output.starts_with(port->output)) violated("output differs");
  };

  bring_up();
  settle();
  auto u16 = [&](size_t at) { return static_cast<uint16_t>(data[at] | (data[at + 1] << 8)); };
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, data + at, 4);
    return v;
  };
  size_t at = 0;
  while (at < size) {
    const uint8_t kind = data[at++] % 7;
    size_t need[] = {2, 2, 2, 2, 1, 11, 0};
    if (at + need[kind] > size) break;
    switch (kind) {
      case 0: {
        if (!room_in(1)) break;
        const uint16_t id = avail[1] % kQ;
        const uint32_t len = u16(at) % 0x1001;
        std::string bytes(len, '\0');
        for (uint32_t i = 0; i < len; ++i) bytes[i] = static_cast<char>(avail[1] * 31 + i);
        (void)m.write(GuestAddr(kTxData + 0x1000ull * id),
                      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), len));
        expected_output += bytes;
        desc(1, id, kTxData + 0x1000ull * id, len, 0);
        push(1, id);
        break;
      }
      case 1: {
        if (!room_in(0)) break;
        const uint16_t id = avail[0] % kQ;
        rx_len[id] = u16(at) % 0x1001;
        desc(0, id, kRxData + 0x1000ull * id, rx_len[id], kDescFlagWrite);
        push(0, id);
        break;
      }
      case 2:
        port->type(u16(at) % 0x2000);
        break;
      case 3:
        port->make_room(u16(at));
        break;
      case 4:
        driver.write(T::kQueueNotify, data[at] % 3);
        break;
      case 5: {
        fair = false;
        const int q = data[at] % 2;
        desc(q, data[at + 1], u32(at + 2), u32(at + 6), data[at + 10] & 7);
        push(q, data[at + 1] % kQ);
        break;
      }
      case 6:
        fair = false;
        bring_up();
        break;
    }
    at += need[kind];
    settle();
  }
  return 0;
}
