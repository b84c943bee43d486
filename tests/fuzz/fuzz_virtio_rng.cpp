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
//     3 32-bit read at register (arg % 0x110) & ~3
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
  T& t = **transport;
  MmioDriver driver(t, mem, {layout}, features);
  driver.bring_up();

  auto check = [&] {
    if (sink.level != (driver.read(T::kInterruptStatus) != 0)) {
      violated("interrupt line disagrees with InterruptStatus");
    }
  };
  check();
  bool needed_reset = (driver.read(T::kStatus) & T::kStatusNeedsReset) != 0;
  uint16_t used = driver.used_idx(0);
  for (size_t at = kHeader + image; at + kOpSize <= size; at += kOpSize) {
    const uint8_t kind = data[at] % 7;
    const uint32_t arg = get32(data + at + 1);
    const uint32_t value = get32(data + at + 5);
    switch (kind) {
      case 0:
        driver.write(T::kQueueNotify, value);
        break;
      case 1:
        // The rings may overlap: what the driver writes is not the device's doing.
        driver.bump_avail_idx(0, value % 32);
        used = driver.used_idx(0);
        driver.write(T::kQueueNotify, 0);
        break;
      case 2:
        driver.write((arg % 0x110) & ~3u, value);
        break;
      case 3:
        (void)driver.read((arg % 0x110) & ~3u);
        break;
      case 4:
        driver.write(T::kInterruptAck, value);
        break;
      case 5:
        driver.bring_up();
        needed_reset = false;
        used = driver.used_idx(0);
        break;
      case 6:
        (void)mem.write_obj<uint8_t>(GuestAddr(arg % kSizeA), static_cast<uint8_t>(value));
        break;
    }
    check();
    const bool resetting =
        (kind == 2 && ((arg % 0x110) & ~3u) == T::kStatus && value == 0) || kind == 5 || kind == 6;
    const uint16_t now = driver.used_idx(0);
    if (needed_reset && !resetting && now != used) {
      violated("a device that needs a reset returned buffers");
    }
    if (!resetting && now != used && driver.last_used_len(0, now) > Rng::kMaxRequestBytes) {
      violated("a request longer than 64 KiB was served");
    }
    used = now;
    needed_reset = (driver.read(T::kStatus) & T::kStatusNeedsReset) != 0;
  }
  return 0;
}
