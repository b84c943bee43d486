// A split ring the test places anywhere in TestRam, for devices with several
// queues (DriverRing's rings sit at fixed addresses). Written the way a
// driver would, with a simple buffer allocator for its descriptors.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/guest_memory.hpp"
#include "devices/virtio/queue.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio::test {

class PlacedRing {
 public:
  // Rings at `base` (descriptors, then avail at +0x1000, used at +0x2000);
  // the size must fit: 16 * size <= 0x1000.
  PlacedRing(const GuestMemory& memory, uint64_t base, uint16_t size)
      : memory_(memory), desc_(base), avail_(base + 0x1000), used_(base + 0x2000), size_(size) {}

  QueueLayout layout() const {
    return {size_, GuestAddr(desc_), GuestAddr(avail_), GuestAddr(used_)};
  }
  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags = 0,
                uint16_t next = 0) const {
    ASSERT_TRUE(
        memory_.write_obj(GuestAddr(desc_ + 16ull * index), VirtqDesc{addr, len, flags, next}));
  }
  void push(uint16_t head) {
    ASSERT_TRUE(
        memory_.write_obj<uint16_t>(GuestAddr(avail_ + 4 + 2ull * (avail_idx_ % size_)), head));
    ++avail_idx_;
    ASSERT_TRUE(memory_.write_obj<uint16_t>(GuestAddr(avail_ + 2), avail_idx_));
  }
  uint16_t used_idx() const { return *memory_.read_obj<uint16_t>(GuestAddr(used_ + 2)); }
  VirtqUsedElem used(uint16_t i) const {
    return *memory_.read_obj<VirtqUsedElem>(GuestAddr(used_ + 4 + 8ull * (i % size_)));
  }

 private:
  const GuestMemory& memory_;
  uint64_t desc_, avail_, used_;
  uint16_t size_;
  uint16_t avail_idx_ = 0;
};

}  // namespace vireo::virtio::test
