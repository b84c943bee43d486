// libFuzzer target for virtio-rng request handling through the virtio-mmio
// transport: a driver brings the device up over random guest memory, then
// random register accesses, notifications and guest-memory edits follow.
// Beyond "no crash", it checks that the interrupt line is high exactly while
// InterruptStatus is nonzero, that a device needing a reset returns no more
// buffers, and that no request gets more than 64 KiB, in the host buffer or in
// the used ring.
//
// Input: a 12-byte header, a guest RAM image, then 9-byte operations.
//   [0]     queue size: 1 << (byte % 9)
//   [1]     bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 leave out VERSION_1
//   [2..7]  desc, avail, used addresses (little-endian u16 each)
//   [8..9]  length of the RAM image that follows (little-endian u16)
//   [10..11] unused
//   then each operation: kind (u8), arg (u32), value (u32):
//     0 QueueNotify(value)          1 avail idx += value % 32, QueueNotify(0)
//     2 32-bit write of value at register (arg % 0x110) & ~3
//     3 read of arg % 4 + 1 bytes at register arg % 0x110
//     4 InterruptACK(value)         5 reset and bring the device up again
//     6 guest RAM byte at arg % 0x2000 = value
// Guest RAM: region A = [0, 0x2000), region B = [0x3000, 0x4000).
//
// Run: fuzz_virtio_rng tests/fuzz/corpus/fuzz_virtio_rng -max_len=4096
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "core/log.hpp"
#include "devices/virtio/rng.hpp"
#include "devices/virtio/transport_mmio.hpp"
#include "virtio_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::virtio;
using namespace vireo::fuzz;
using T = MmioTransport;

constexpr size_t kHeader = 12;
constexpr size_t kOpSize = 9;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "virtio-rng invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Hostile inputs are the point: the transport's rate-limited warnings are noise here.
  log::set_level(log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  GuestMemory& mem = guest_ram();
  auto u16 = [&](size_t at) { return static_cast<uint16_t>(data[at] | (data[at + 1] << 8)); };
  const size_t image = load_image(std::span(data + kHeader, size - kHeader), u16(8));

  const QueueLayout layout{static_cast<uint16_t>(1u << (data[0] % 9)), GuestAddr(u16(2)),
                           GuestAddr(u16(4)), GuestAddr(u16(6))};
  const uint64_t features = ((data[1] & 4) ? 0 : kFeatureVersion1) |
                            ((data[1] & 1) ? kFeatureIndirectDesc : 0) |
                            ((data[1] & 2) ? kFeatureEventIdx : 0);

  // Cheap, deterministic entropy: the point is the request handling. Zeros,
  // so a buffer the driver laid over the used ring cannot fake a long entry.
  auto rng = std::make_unique<Rng>([](std::span<uint8_t> out) -> Result<void> {
    if (out.size() > Rng::kMaxRequestBytes) violated("the host buffer followed the guest's claim");
    std::memset(out.data(), 0, out.size());
    return {};
  });
  LevelSink sink;
  auto transport = T::create(std::move(rng), mem, IrqLine(&sink, 1), nullptr, "fuzz-rng");
  if (!transport) __builtin_trap();
  MmioDriver driver(**transport, mem, {layout}, features);
  driver.bring_up();

  RegisterOps ops(driver, mem, sink, 1, 0x110, violated);
  for (size_t at = kHeader + image; at + kOpSize <= size; at += kOpSize) {
    ops.run(static_cast<RegisterOps::Op>(data[at] % 7), 0, get32(data + at + 1),
            get32(data + at + 5));
    ops.check([&](uint32_t, uint16_t now) {
      if (driver.last_used_len(0, now) > Rng::kMaxRequestBytes) {
        violated("a request longer than 64 KiB was served");
      }
    });
  }
  return 0;
}
