// The driver's side of a virtqueue for unit tests: a small guest RAM and a
// split ring laid out in it that tests fill descriptor by descriptor (hostile
// chains included).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/guest_memory.hpp"
#include "devices/virtio/queue.hpp"

namespace vireo::virtio::test {

inline constexpr uint64_t kRamBase = 0x8000'0000;
inline constexpr uint64_t kRamSize = 1 << 20;
inline constexpr uint64_t kRamEnd = kRamBase + kRamSize;

// Guest RAM for one test.
struct TestRam {
  GuestMemory memory;
  TestRam() {
    if (!memory.add_ram(GuestAddr(kRamBase), kRamSize)) ADD_FAILURE() << "cannot map test RAM";
  }
};

// A split ring at fixed places in TestRam, written the way a driver would.
class DriverRing {
 public:
  static constexpr uint64_t kDesc = kRamBase + 0x1000;
  static constexpr uint64_t kAvail = kRamBase + 0x3000;
  static constexpr uint64_t kUsed = kRamBase + 0x4000;
  static constexpr uint64_t kData = kRamBase + 0x10000;  // buffers from here on

  // A second ring for a multi-queue device: `shift` moves the three areas
  // (kSecondRing keeps a ring of up to 256 entries clear of the first and of kData).
  static constexpr uint64_t kSecondRing = 0x5000;
  DriverRing(const GuestMemory& memory, uint16_t size, uint64_t shift = 0)
      : memory_(memory),
        size_(size),
        desc_(kDesc + shift),
        avail_(kAvail + shift),
        used_(kUsed + shift) {}

  QueueLayout layout() const {
    return {size_, GuestAddr(desc_), GuestAddr(avail_), GuestAddr(used_)};
  }
  uint16_t size() const { return size_; }

  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags = 0,
                uint16_t next = 0) const {
    set_desc_at(desc_ + 16ull * index, addr, len, flags, next);
  }
  // A descriptor anywhere (an indirect table entry).
  void set_desc_at(uint64_t where, uint64_t addr, uint32_t len, uint16_t flags = 0,
                   uint16_t next = 0) const {
    ASSERT_TRUE(memory_.write_obj(GuestAddr(where), VirtqDesc{addr, len, flags, next}));
  }
  // Puts `head` in the next available slot and publishes it.
  void push(uint16_t head) {
    ASSERT_TRUE(
        memory_.write_obj<uint16_t>(GuestAddr(avail_ + 4 + 2ull * (avail_idx_ % size_)), head));
    set_avail_idx(static_cast<uint16_t>(avail_idx_ + 1));
  }
  void set_avail_idx(uint16_t idx) {
    avail_idx_ = idx;
    ASSERT_TRUE(memory_.write_obj<uint16_t>(GuestAddr(avail_ + 2), idx));
  }
  void set_avail_flags(uint16_t flags) const {
    ASSERT_TRUE(memory_.write_obj<uint16_t>(GuestAddr(avail_), flags));
  }
  void set_used_event(uint16_t v) const {
    ASSERT_TRUE(memory_.write_obj<uint16_t>(GuestAddr(avail_ + 4 + 2ull * size_), v));
  }
  uint16_t used_idx() const { return *memory_.read_obj<uint16_t>(GuestAddr(used_ + 2)); }
  uint16_t used_flags() const { return *memory_.read_obj<uint16_t>(GuestAddr(used_)); }
  uint16_t avail_event() const {
    return *memory_.read_obj<uint16_t>(GuestAddr(used_ + 4 + 8ull * size_));
  }
  VirtqUsedElem used(uint16_t i) const {
    return *memory_.read_obj<VirtqUsedElem>(GuestAddr(used_ + 4 + 8ull * (i % size_)));
  }

 private:
  const GuestMemory& memory_;
  uint16_t size_;
  uint16_t avail_idx_ = 0;
  uint64_t desc_, avail_, used_;
};

}  // namespace vireo::virtio::test
