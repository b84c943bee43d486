// libFuzzer target for virtio-blk request handling through the virtio-mmio
// transport, over a 32 KiB image in a memfd (real io_uring submissions; the
// transport runs without an event loop, so the device completes each batch
// before queue_notify returns). Beyond "no crash", it checks that the
// interrupt line is high exactly while InterruptStatus is nonzero, that a
// device needing a reset returns no more buffers, that nothing stays in
// flight, that the image never changes size, and that a read-only image never
// changes at all.
//
// Input: a 12-byte header, a guest RAM image, then 9-byte operations.
//   [0]     queue size: 1 << (byte % 9)
//   [1]     bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 leave out VERSION_1,
//           bit 3 read-only image, bit 4 refuse DISCARD/WRITE_ZEROES
//   [2..7]  desc, avail, used addresses (little-endian u16 each)
//   [8..9]  length of the RAM image that follows (little-endian u16)
//   [10..11] unused
//   then each operation: kind (u8), arg (u32), value (u32):
//     0 QueueNotify(value)          1 avail idx += value % 32, QueueNotify(0)
//     2 32-bit write of value at register (arg % 0x140) & ~3
//     3 read of (arg % 4 + 1) bytes at register arg % 0x140
//     4 InterruptACK(value)         5 reset and bring the device up again
//     6 guest RAM byte at arg % 0x2000 = value
// Guest RAM: region A = [0, 0x2000), region B = [0x3000, 0x4000).
//
// Run: fuzz_virtio_blk tests/fuzz/corpus/fuzz_virtio_blk -max_len=4096
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "core/log.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/transport_mmio.hpp"
#include "virtio_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::virtio;
using namespace vireo::fuzz;
using T = MmioTransport;

constexpr size_t kHeader = 12;
constexpr size_t kOpSize = 9;
constexpr size_t kImageBytes = 32 * 1024;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "virtio-blk invariant violated: %s\n", what);
  std::abort();
}

const std::vector<uint8_t>& initial_image() {
  static const std::vector<uint8_t> bytes = [] {
    std::vector<uint8_t> b(kImageBytes);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7 % 251);
    return b;
  }();
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
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
  uint64_t features = ((data[1] & 4) ? 0 : kFeatureVersion1) |
                      ((data[1] & 1) ? kFeatureIndirectDesc : 0) |
                      ((data[1] & 2) ? kFeatureEventIdx : 0) | Blk::kFeatureFlush |
                      Blk::kFeatureSegMax | Blk::kFeatureBlkSize | Blk::kFeatureRo;
  if ((data[1] & 16) == 0) features |= Blk::kFeatureDiscard | Blk::kFeatureWriteZeroes;
  const bool readonly = (data[1] & 8) != 0;

  const int fd = ::memfd_create("fuzz-blk", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  const auto& initial = initial_image();
  if (::pwrite(fd, initial.data(), initial.size(), 0) != static_cast<ssize_t>(initial.size())) {
    __builtin_trap();
  }
  DiskImage disk;
  disk.fd = ::dup(fd);  // the device owns (and closes) its own
  disk.sectors = kImageBytes / Blk::kSectorSize;
  disk.readonly = readonly;
  disk.serial = "fuzz";
  disk.path = "memfd:fuzz-blk";
  auto blk = Blk::create(std::move(disk));
  if (!blk) __builtin_trap();
  Blk* device = blk->get();
  LevelSink sink;
  auto transport = T::create(std::move(*blk), mem, IrqLine(&sink, 1), nullptr, "fuzz-blk");
  if (!transport) __builtin_trap();
  T& t = **transport;
  MmioDriver driver(t, mem, {layout}, features, /*offered_only=*/true);
  driver.bring_up();

  RegisterOps ops(driver, mem, sink, 1, 0x140, violated);
  auto check = [&] {
    ops.check();
    if (device->in_flight() != 0) violated("a request is still in flight after the notify");
  };
  check();
  for (size_t at = kHeader + image; at + kOpSize <= size; at += kOpSize) {
    ops.run(static_cast<RegisterOps::Op>(data[at] % 7), 0, get32(data + at + 1),
            get32(data + at + 5));
    check();
  }
  transport->reset();

  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) != kImageBytes) {
    violated("the image changed size");
  }
  if (readonly) {
    std::vector<uint8_t> now(kImageBytes);
    if (::pread(fd, now.data(), now.size(), 0) != static_cast<ssize_t>(now.size()) ||
        now != initial) {
      violated("a read-only image changed");
    }
  }
  ::close(fd);
  return 0;
}
