// libFuzzer target for the split-virtqueue chain walker: random guest memory
// and a random queue layout, then pops, used-ring returns and notification
// checks. Beyond "no crash", every popped chain must satisfy what devices rely
// on (each buffer inside RAM, readable before writable, lengths capped), a
// protocol error must leave the queue broken, and the queue may write guest
// memory only inside its used ring.
//
// Input: a 16-byte header, then the image of guest RAM region A.
//   [0]     queue size: 1 << (byte % 9)
//   [1]     bit 0 INDIRECT_DESC, bit 1 EVENT_IDX
//   [2..7]  desc, avail, used addresses (little-endian u16 each)
//   [8..15] operations, one byte each: bits 0-1 what (pop, pop and return,
//           return the oldest outstanding chain, ask whether to notify),
//           bits 2-7 scale the length reported as written
// Guest RAM: region A = [0, 0x2000), region B = [0x3000, 0x4000).
//
// Run: fuzz_virtqueue tests/fuzz/corpus/fuzz_virtqueue -max_len=4096
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include "core/guest_memory.hpp"
#include "devices/virtio/queue.hpp"
#include "virtio_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::virtio;
using namespace vireo::fuzz;

constexpr size_t kHeader = 16;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "virtqueue invariant violated: %s\n", what);
  std::abort();
}

std::vector<uint8_t> snapshot(const GuestMemory& m) {
  std::vector<uint8_t> out(kSizeA + kSizeB);
  if (!m.read(GuestAddr(kRegionA), std::span(out).first(kSizeA)) ||
      !m.read(GuestAddr(kRegionB), std::span(out).subspan(kSizeA))) {
    __builtin_trap();
  }
  return out;
}

void check_chain(const GuestMemory& m, const DescriptorChain& c, uint16_t size) {
  if (c.head() >= size) violated("head outside the table");
  uint64_t readable = 0, writable = 0;
  bool seen_writable = false;
  for (const Segment& s : c.segments()) {
    if (s.len == 0) violated("zero-length segment");
    if (!m.contains(s.addr, s.len)) violated("segment outside guest RAM");
    if (s.writable) {
      seen_writable = true;
      writable += s.len;
    } else {
      if (seen_writable) violated("readable segment after a writable one");
      readable += s.len;
    }
  }
  if (readable != c.readable_bytes() || writable != c.writable_bytes()) {
    violated("byte counts disagree with the segments");
  }
  if (readable + writable > VirtQueue::kMaxChainBytes) violated("chain longer than the cap");
  if (c.readable().size() + c.writable().size() != c.segments().size()) {
    violated("readable/writable split");
  }
  if (c.descriptor_count() > size + VirtQueue::kMaxIndirectEntries + 1u) {
    violated("more descriptors than the tables hold");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  GuestMemory& mem = guest_ram();
  load_image(std::span(data + kHeader, size - kHeader), kSizeA);

  auto u16 = [&](size_t at) { return static_cast<uint16_t>(data[at] | (data[at + 1] << 8)); };
  const QueueLayout layout{static_cast<uint16_t>(1u << (data[0] % 9)), GuestAddr(u16(2)),
                           GuestAddr(u16(4)), GuestAddr(u16(6))};
  const uint64_t features = kFeatureVersion1 | ((data[1] & 1) ? kFeatureIndirectDesc : 0) |
                            ((data[1] & 2) ? kFeatureEventIdx : 0);
  auto created = VirtQueue::create(mem, layout, features);
  if (!created) return 0;
  VirtQueue& q = *created;

  const std::vector<uint8_t> before = snapshot(mem);
  std::deque<uint16_t> outstanding;
  DescriptorChain chain;
  bool broken = false;
  auto pop = [&]() -> bool {
    auto r = q.pop_chain(chain);
    if (!r) {
      if (!q.broken()) violated("a protocol error left the queue usable");
      broken = true;
      return false;
    }
    if (broken) violated("a broken queue popped a chain");
    if (!*r) return false;
    check_chain(mem, chain, layout.size);
    return true;
  };
  auto give_back = [&](uint16_t head, uint8_t scale) {
    if (!q.add_used(head, static_cast<uint32_t>(scale) * 977u)) violated("add_used failed");
  };

  for (size_t i = 8; i < kHeader; ++i) {
    const uint8_t op = data[i];
    switch (op & 3) {
      case 0:
        if (pop()) outstanding.push_back(chain.head());
        break;
      case 1:
        if (pop()) give_back(chain.head(), op >> 2);
        break;
      case 2:
        if (!outstanding.empty()) {
          give_back(outstanding.front(), op >> 2);
          outstanding.pop_front();
        }
        break;
      case 3:
        (void)q.needs_notification();
        break;
    }
  }
  // Drain (bounded: used-ring writes may move an avail idx the rings share).
  for (unsigned n = 0; n <= layout.size && pop(); ++n) outstanding.push_back(chain.head());
  while (!outstanding.empty()) {
    give_back(outstanding.front(), 1);
    outstanding.pop_front();
  }
  (void)q.needs_notification();

  // The queue writes only its used ring (flags, idx, ring, avail_event).
  const std::vector<uint8_t> after = snapshot(mem);
  const uint64_t used_lo = layout.used.value;
  const uint64_t used_hi = used_lo + 6 + 8ull * layout.size;
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i] == before[i]) continue;
    const uint64_t addr = i < kSizeA ? kRegionA + i : kRegionB + (i - kSizeA);
    if (addr < used_lo || addr >= used_hi) violated("guest memory written outside the used ring");
  }
  return 0;
}
