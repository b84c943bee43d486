// What the virtio fuzz targets share: the two-region guest RAM they fuzz
// over, an interrupt sink that records the line's level, and a driver that
// brings a device up through the virtio-mmio registers and looks at its
// rings. Header-only: each fuzz target is one translation unit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "devices/virtio/queue.hpp"
#include "devices/virtio/transport_mmio.hpp"

namespace vireo::fuzz {

// Guest RAM: region A = [0, 0x2000) holds the input's image (rings and
// buffers), region B = [0x3000, 0x4000) lies past a hole.
inline constexpr uint64_t kRegionA = 0x0, kSizeA = 0x2000;
inline constexpr uint64_t kRegionB = 0x3000, kSizeB = 0x1000;

// Created once: mapping per input would dominate the run time.
inline GuestMemory& guest_ram() {
  static GuestMemory* mem = [] {
    auto* m = new GuestMemory();
    if (!m->add_ram(GuestAddr(kRegionA), kSizeA) || !m->add_ram(GuestAddr(kRegionB), kSizeB)) {
      __builtin_trap();
    }
    return m;
  }();
  return *mem;
}

// Zeroes guest RAM and copies an input's image, at most `max_len` bytes of
// `image`, to region A. Returns the bytes copied.
inline size_t load_image(std::span<const uint8_t> image, size_t max_len) {
  GuestMemory& mem = guest_ram();
  if (!mem.fill(GuestAddr(kRegionA), 0, kSizeA) || !mem.fill(GuestAddr(kRegionB), 0, kSizeB)) {
    __builtin_trap();
  }
  const size_t len = std::min({max_len, image.size(), static_cast<size_t>(kSizeA)});
  if (!mem.write(GuestAddr(kRegionA), image.first(len))) __builtin_trap();
  return len;
}

struct LevelSink final : IrqSink {
  bool level = false;
  void set_irq_level(uint32_t, bool l) override { level = l; }
};

inline uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// A driver for the fuzz targets: negotiates `features` and sets up one
// queue per layout (queue i = layouts[i]), then lets the target poke rings.
class MmioDriver {
 public:
  using T = virtio::MmioTransport;
  // With `offered_only`, the driver accepts only the device-type features
  // (low 32 bits) the device offers, as a real driver would.
  MmioDriver(T& t, const GuestMemory& mem, std::vector<virtio::QueueLayout> layouts,
             uint64_t features, bool offered_only = false)
      : t_(t),
        mem_(mem),
        layouts_(std::move(layouts)),
        features_(features),
        offered_only_(offered_only) {}

  uint32_t read(uint64_t reg) { return static_cast<uint32_t>(t_.read(reg, 4)); }
  void write(uint64_t reg, uint32_t v) { t_.write(reg, 4, v); }

  void bring_up() {
    write(T::kStatus, 0);
    write(T::kStatus, T::kStatusAcknowledge);
    write(T::kStatus, T::kStatusAcknowledge | T::kStatusDriver);
    uint64_t f = features_;
    if (offered_only_) {
      write(T::kDeviceFeaturesSel, 0);
      f = (features_ & ~0xffffffffull) | (features_ & read(T::kDeviceFeatures));
    }
    write(T::kDriverFeaturesSel, 1);
    write(T::kDriverFeatures, static_cast<uint32_t>(f >> 32));
    write(T::kDriverFeaturesSel, 0);
    write(T::kDriverFeatures, static_cast<uint32_t>(f));
    write(T::kStatus, read(T::kStatus) | T::kStatusFeaturesOk);
    for (uint32_t q = 0; q < layouts_.size(); ++q) {
      write(T::kQueueSel, q);
      write(T::kQueueNum, layouts_[q].size);
      write(T::kQueueDescLow, static_cast<uint32_t>(layouts_[q].desc.value));
      write(T::kQueueDriverLow, static_cast<uint32_t>(layouts_[q].avail.value));
      write(T::kQueueDeviceLow, static_cast<uint32_t>(layouts_[q].used.value));
      write(T::kQueueReady, 1);
    }
    write(T::kStatus, read(T::kStatus) | T::kStatusDriverOk);
  }
  // Makes `count` more avail entries of queue q visible (the device is told separately).
  void bump_avail_idx(uint32_t q, uint32_t count) {
    const GuestAddr idx(layouts_[q].avail.value + 2);
    auto v = mem_.read_obj<uint16_t>(idx);
    if (v) (void)mem_.write_obj<uint16_t>(idx, static_cast<uint16_t>(*v + count));
  }
  // Queue q's used idx, if its used ring is in RAM.
  uint16_t used_idx(uint32_t q) {
    auto v = mem_.read_obj<uint16_t>(GuestAddr(layouts_[q].used.value + 2));
    return v ? *v : 0;
  }
  // The length in the used entry the device published last on queue q.
  // (Earlier entries may hold whatever the input put in the ring.)
  uint32_t last_used_len(uint32_t q, uint16_t idx) {
    const uint16_t last = static_cast<uint16_t>(idx - 1);
    auto len = mem_.read_obj<uint32_t>(
        GuestAddr(layouts_[q].used.value + 4 + 8ull * (last % layouts_[q].size) + 4));
    return len ? *len : 0;
  }

 private:
  T& t_;
  const GuestMemory& mem_;
  std::vector<virtio::QueueLayout> layouts_;
  uint64_t features_;
  bool offered_only_;
};

}  // namespace vireo::fuzz
