// libFuzzer target for virtio-net request handling through the virtio-mmio
// transport: a driver brings the device up (receive and transmit queues) over
// random guest memory, then random register accesses, notifications,
// received frames and guest-memory edits follow. Beyond "no crash", it checks
// that the interrupt line is high exactly while InterruptStatus is nonzero,
// that a device needing a reset returns no more buffers on either queue, that
// no transmitted frame is longer than the header plus Net::kMaxFrame, and
// that a frame without offloads offered reaches the backend without them.
//
// Input: an 18-byte header, a guest RAM image, then 9-byte operations.
//   [0]  receive queue size: 1 << (byte % 9)   [1] transmit queue size, same
//   [2]  bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 leave out VERSION_1,
//        bit 3 MRG_RXBUF, bit 4 a backend with the vnet header and offloads
//   [3]  unused
//   [4..9]   receive desc, avail, used addresses (little-endian u16 each)
//   [10..15] transmit desc, avail, used addresses
//   [16..17] length of the RAM image that follows (little-endian u16)
//   then each operation: kind (u8), arg (u32), value (u32):
//     0 QueueNotify(value)
//     1 receive avail idx += value % 32, QueueNotify(0)
//     2 transmit avail idx += value % 32, QueueNotify(1)
//     3 the backend receives a frame of arg % 70000 bytes of `value`, QueueNotify(0)
//     4 32-bit write of value at register (arg % 0x110) & ~3
//     5 read of arg % 4 + 1 bytes at register arg % 0x110
//     6 InterruptACK(value)         7 reset and bring the device up again
//     8 guest RAM byte at arg % 0x2000 = value
// Guest RAM: region A = [0, 0x2000), region B = [0x3000, 0x4000).
//
// Run: fuzz_virtio_net tests/fuzz/corpus/fuzz_virtio_net -max_len=4096
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "core/log.hpp"
#include "devices/virtio/net.hpp"
#include "devices/virtio/transport_mmio.hpp"
#include "virtio_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::virtio;
using namespace vireo::fuzz;
using T = MmioTransport;

constexpr size_t kHeader = 18;
constexpr size_t kOpSize = 9;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "virtio-net invariant violated: %s\n", what);
  std::abort();
}

class FuzzBackend final : public NetBackend {
 public:
  explicit FuzzBackend(bool vnet) : vnet_(vnet), fd_(::eventfd(0, EFD_CLOEXEC)) {}
  ~FuzzBackend() override { ::close(fd_); }
  bool vnet_header() const override { return vnet_; }
  uint64_t offload_features() const override {
    return vnet_ ? kNetFCsum | kNetFGuestCsum | kNetFHostTso4 | kNetFGuestTso4 : 0;
  }
  int rx_fd() const override { return fd_; }
  Result<size_t> receive(std::span<uint8_t> buf) override {
    if (pending_.empty()) return size_t{0};
    const auto [len, byte] = pending_.front();
    pending_.pop_front();
    if (len > buf.size()) return size_t{0};
    std::memset(buf.data(), byte, len);
    return len;
  }
  void send(std::span<const uint8_t> frame) override {
    if (frame.size() > Net::kHdrSize + Net::kMaxFrame) violated("an oversize frame was sent");
    if (!vnet_ && frame.size() > Net::kMaxFrame) violated("a frame longer than kMaxFrame");
  }
  void queue(size_t len, uint8_t byte) {
    if (pending_.size() < 64) pending_.emplace_back(len, byte);
  }

 private:
  bool vnet_;
  int fd_;
  std::deque<std::pair<size_t, uint8_t>> pending_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::set_level(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  GuestMemory& mem = guest_ram();
  auto u16 = [&](size_t at) { return static_cast<uint16_t>(data[at] | (data[at + 1] << 8)); };
  const size_t image = load_image(std::span(data + kHeader, size - kHeader), u16(16));

  const QueueLayout layouts[2] = {{static_cast<uint16_t>(1u << (data[0] % 9)), GuestAddr(u16(4)),
                                   GuestAddr(u16(6)), GuestAddr(u16(8))},
                                  {static_cast<uint16_t>(1u << (data[1] % 9)), GuestAddr(u16(10)),
                                   GuestAddr(u16(12)), GuestAddr(u16(14))}};
  const uint8_t f = data[2];
  const bool vnet = (f & 16) != 0;
  const uint64_t features =
      ((f & 4) ? 0 : kFeatureVersion1) | ((f & 1) ? kFeatureIndirectDesc : 0) |
      ((f & 2) ? kFeatureEventIdx : 0) | ((f & 8) ? kNetFMrgRxbuf : 0) | kNetFMac | kNetFStatus |
      kNetFCsum | kNetFGuestCsum | (vnet ? kNetFHostTso4 : 0);

  auto backend_owner = std::make_unique<FuzzBackend>(vnet);
  FuzzBackend* backend = backend_owner.get();
  auto net = std::make_unique<Net>(std::move(backend_owner), MacAddress{0x52, 0x54, 0, 0, 0, 1});
  LevelSink sink;
  auto transport = T::create(std::move(net), mem, IrqLine(&sink, 1), nullptr, "fuzz-net");
  if (!transport) __builtin_trap();
  MmioDriver driver(**transport, mem, {layouts[0], layouts[1]}, features);
  driver.bring_up();

  RegisterOps ops(driver, mem, sink, 2, 0x110, violated);
  using Op = RegisterOps::Op;
  // Input kinds 0..8 (see the top of this file) onto the shared operations;
  // kind 3 (a frame from the backend) is this target's own.
  static constexpr Op kShared[] = {Op::kNotify, Op::kBumpAvail, Op::kBumpAvail,
                                   Op::kNotify, Op::kWriteReg,  Op::kReadReg,
                                   Op::kAck,    Op::kBringUp,   Op::kPoke};
  for (size_t at = kHeader + image; at + kOpSize <= size; at += kOpSize) {
    const uint8_t kind = data[at] % 9;
    const uint32_t arg = get32(data + at + 1);
    const uint32_t value = get32(data + at + 5);
    if (kind == 3) {
      backend->queue(arg % 70000, static_cast<uint8_t>(value));
      driver.write(T::kQueueNotify, 0);
    } else {
      ops.run(kShared[kind], kind == 2 ? 1 : 0, arg, value);
    }
    ops.check();
  }
  return 0;
}
