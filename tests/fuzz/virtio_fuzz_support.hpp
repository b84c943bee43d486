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

// Queues of `size` entries at fixed places: queue i's descriptor table at
// rings[i], its avail ring 0x1000 and its used ring 0x2000 above.
inline std::vector<virtio::QueueLayout> fixed_layouts(std::span<const uint64_t> rings,
                                                      uint16_t size) {
  std::vector<virtio::QueueLayout> out;
  for (uint64_t r : rings) {
    out.push_back({size, GuestAddr(r), GuestAddr(r + 0x1000), GuestAddr(r + 0x2000)});
  }
  return out;
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
  // A read of any size at any offset, as a buggy driver may do.
  void read_raw(uint64_t reg, unsigned size) { (void)t_.read(reg, size); }
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
  // Writes descriptor i (mod the queue size) of queue q.
  void set_desc(uint32_t q, uint16_t i, const virtio::VirtqDesc& d) {
    (void)mem_.write_obj(GuestAddr(layouts_[q].desc.value + 16ull * (i % layouts_[q].size)), d);
  }
  // Publishes `head` as the next entry of queue q's avail ring (the device is
  // told separately).
  void push_avail(uint32_t q, uint16_t head) {
    const virtio::QueueLayout& l = layouts_[q];
    auto idx = mem_.read_obj<uint16_t>(GuestAddr(l.avail.value + 2));
    if (!idx) return;
    (void)mem_.write_obj<uint16_t>(GuestAddr(l.avail.value + 4 + 2ull * (*idx % l.size)), head);
    (void)mem_.write_obj<uint16_t>(GuestAddr(l.avail.value + 2), static_cast<uint16_t>(*idx + 1));
  }
  // Used entry i (mod the queue size) of queue q, zeros outside RAM.
  virtio::VirtqUsedElem used_elem(uint32_t q, uint16_t i) {
    auto e = mem_.read_obj<virtio::VirtqUsedElem>(
        GuestAddr(layouts_[q].used.value + 4 + 8ull * (i % layouts_[q].size)));
    return e ? *e : virtio::VirtqUsedElem{};
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

// The register-level operations the rng, blk and net targets share, and the
// checks they all make after each one: the interrupt line is high exactly
// while InterruptStatus is nonzero, and a device that needs a reset returns
// no buffers until the driver resets it. Each target maps its input's
// operation kinds onto these and adds its own.
class RegisterOps {
 public:
  using T = virtio::MmioTransport;
  using Violated = void (*)(const char*);
  enum Op : uint8_t {
    kNotify,     // QueueNotify(value)
    kBumpAvail,  // avail idx of `queue` += value % 32, QueueNotify(queue)
    kWriteReg,   // 32-bit write of value at register (arg % window) & ~3
    kReadReg,    // read of arg % 4 + 1 bytes at register arg % window
    kAck,        // InterruptACK(value)
    kBringUp,    // reset and bring the device up again
    kPoke,       // guest RAM byte at arg % kSizeA = value
  };

  RegisterOps(MmioDriver& driver, GuestMemory& mem, const LevelSink& sink, uint32_t queues,
              uint32_t window, Violated violated)
      : d_(driver), mem_(mem), sink_(sink), window_(window), violated_(violated), used_(queues) {
    snapshot();
    check([](uint32_t, uint16_t) {});
  }

  void run(Op op, uint32_t queue, uint32_t arg, uint32_t value) {
    // A reset or the input's own RAM edit may move a used idx legitimately.
    excused_ = op == kBringUp || op == kPoke;
    switch (op) {
      case kNotify:
        d_.write(T::kQueueNotify, value);
        break;
      case kBumpAvail:
        d_.bump_avail_idx(queue, value % 32);
        snapshot();  // the rings may overlap: what the driver wrote is not the device's doing
        d_.write(T::kQueueNotify, queue);
        break;
      case kWriteReg: {
        const uint32_t reg = (arg % window_) & ~3u;
        excused_ = reg == T::kStatus && value == 0;
        d_.write(reg, value);
        break;
      }
      case kReadReg:
        d_.read_raw(arg % window_, arg % 4 + 1);
        break;
      case kAck:
        d_.write(T::kInterruptAck, value);
        break;
      case kBringUp:
        d_.bring_up();
        break;
      case kPoke:
        (void)mem_.write_obj<uint8_t>(GuestAddr(arg % kSizeA), static_cast<uint8_t>(value));
        break;
    }
  }

  // After an operation (and after target-specific ones: call run() only for
  // these kinds). `on_used(q, idx)` sees each queue whose used idx the device
  // itself moved.
  template <class OnUsed>
  void check(OnUsed&& on_used) {
    if (sink_.level != (d_.read(T::kInterruptStatus) != 0)) {
      violated_("interrupt line disagrees with InterruptStatus");
    }
    for (uint32_t q = 0; q < used_.size(); ++q) {
      const uint16_t now = d_.used_idx(q);
      if (now != used_[q] && !excused_) {
        if (needed_reset_) violated_("a device that needs a reset returned buffers");
        on_used(q, now);
      }
      used_[q] = now;
    }
    needed_reset_ = (d_.read(T::kStatus) & T::kStatusNeedsReset) != 0;
    excused_ = false;
  }
  void check() {
    check([](uint32_t, uint16_t) {});
  }

 private:
  void snapshot() {
    for (uint32_t q = 0; q < used_.size(); ++q) used_[q] = d_.used_idx(q);
  }

  MmioDriver& d_;
  GuestMemory& mem_;
  const LevelSink& sink_;
  uint32_t window_;
  Violated violated_;
  std::vector<uint16_t> used_;
  bool needed_reset_ = false;
  bool excused_ = false;
};

}  // namespace vireo::fuzz
