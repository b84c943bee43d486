// Split virtqueues (virtio 1.2 §2.7) from the device side. A descriptor chain
// is walked and checked against guest RAM in full before a device sees it:
// every buffer lies inside RAM with no address arithmetic that can wrap, the
// chain has no loops and no more descriptors than its table, indirect tables
// are well formed and not nested, device-readable buffers come before
// device-writable ones, and the total length is capped. A bad chain is an
// error value; the transport then marks the device DEVICE_NEEDS_RESET.
//
// One thread at a time uses a queue (the transport serialises device calls),
// but the guest driver runs concurrently on vCPU threads: ring indices are read
// with acquire and published with release, and a full fence separates a
// publish from the read of the driver's suppression field (used_event, flags).
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/guest_memory.hpp"

namespace vireo::virtio {

static_assert(std::endian::native == std::endian::little,
              "virtio 1.x structures are little-endian; this code reads them natively");

// Feature bits the queue and the transports implement (virtio 1.2 §6).
inline constexpr uint64_t kFeatureIndirectDesc = 1ull << 28;
inline constexpr uint64_t kFeatureEventIdx = 1ull << 29;
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;

// The in-memory layout of the rings (virtio 1.2 §2.7.5, §2.7.6, §2.7.8).
struct VirtqDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16);
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
struct VirtqUsedElem {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(VirtqUsedElem) == 8);
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;

// Where the driver placed a queue, and its size.
struct QueueLayout {
  uint16_t size = 0;  // entries: a power of two, 1..VirtQueue::kMaxSize
  GuestAddr desc;     // descriptor table: 16-byte aligned, 16 * size bytes
  GuestAddr avail;    // driver area (available ring): 2-byte aligned, 6 + 2 * size bytes
  GuestAddr used;     // device area (used ring): 4-byte aligned, 6 + 8 * size bytes
};

// One buffer of a checked chain. [addr, addr + len) lies inside one RAM region.
struct Segment {
  GuestAddr addr;
  uint32_t len = 0;
  bool writable = false;  // device-writable (VIRTQ_DESC_F_WRITE)
};

// A descriptor chain popped from the available ring, already checked. Its
// device-readable segments all come before its device-writable ones.
// Zero-length descriptors are dropped. Reusing one object across pops keeps
// the segment storage: steady-state processing does not allocate.
class DescriptorChain {
 public:
  uint16_t head() const { return head_; }
  std::span<const Segment> segments() const { return segments_; }
  std::span<const Segment> readable() const { return std::span(segments_).first(first_writable_); }
  std::span<const Segment> writable() const {
    return std::span(segments_).subspan(first_writable_);
  }
  uint64_t readable_bytes() const { return readable_bytes_; }
  uint64_t writable_bytes() const { return writable_bytes_; }
  // Descriptors walked, including zero-length and indirect ones.
  uint32_t descriptor_count() const { return descriptors_; }

 private:
  friend class VirtQueue;
  void clear(uint16_t head) {
    head_ = head;
    segments_.clear();
    first_writable_ = 0;
    readable_bytes_ = writable_bytes_ = 0;
    descriptors_ = 0;
  }
  uint16_t head_ = 0;
  std::vector<Segment> segments_;
  size_t first_writable_ = 0;
  uint64_t readable_bytes_ = 0;
  uint64_t writable_bytes_ = 0;
  uint32_t descriptors_ = 0;
};

class VirtQueue {
 public:
  static constexpr uint16_t kMaxSize = 32768;  // the split-ring maximum
  // An indirect table may hold more entries than the queue (Linux uses one
  // per scatter-gather element); QEMU caps it at 1024, and so do we.
  static constexpr uint32_t kMaxIndirectEntries = 1024;
  // The driver MUST NOT make a chain longer than 2^32 bytes (§2.7.5); the
  // used ring reports lengths in 32 bits.
  static constexpr uint64_t kMaxChainBytes = UINT32_MAX;

  // Checks a layout the driver configured: size, alignment, and every ring
  // inside RAM. The transport calls it when the driver sets QueueReady.
  static Result<void> check_layout(const GuestMemory& memory, const QueueLayout& layout);

  // A queue the driver has not made ready: pops find nothing.
  VirtQueue() = default;
  // A ready queue over `layout` (checked with check_layout; an unusable
  // layout is an error). `features` are the negotiated ones: INDIRECT_DESC
  // and EVENT_IDX change how the rings are read.
  static Result<VirtQueue> create(const GuestMemory& memory, const QueueLayout& layout,
                                  uint64_t features);

  bool ready() const { return memory_ != nullptr; }
  uint16_t size() const { return layout_.size; }
  const QueueLayout& layout() const { return layout_; }
  // Free-running indices: the next available entry the device will take,
  // and the next used entry it will write.
  uint16_t next_avail() const { return next_avail_; }
  uint16_t next_used() const { return next_used_; }
  // True once the driver broke the protocol on this queue; every later pop
  // fails until the queue is rebuilt after a device reset.
  bool broken() const { return broken_; }

  // Takes the next available chain into `chain`: true when one was taken,
  // false when the ring is empty (or the queue is not ready), an error
  // (ErrorCode::kGuest) when the driver broke the protocol. With EVENT_IDX,
  // an empty ring re-arms avail_event, so the driver notifies for its next
  // buffer: popping until empty is all a device does.
  Result<bool> pop_chain(DescriptorChain& chain);
  // The same, allocating a fresh chain (tests, rare paths).
  Result<std::optional<DescriptorChain>> pop_chain();

  // Returns chain `head` to the driver with `written` bytes written to its
  // device-writable part, and publishes the used index.
  Result<void> add_used(uint16_t head, uint32_t written);
  // Returns several chains and publishes the used index once, after all of
  // them: the driver sees all or none (virtio-net's mergeable receive buffers
  // announce one frame spread over several chains). At most size() entries.
  Result<void> add_used_batch(std::span<const VirtqUsedElem> elems);

  // Whether the driver wants a used-buffer notification for what add_used
  // published since the last time this returned true: with EVENT_IDX, when
  // used idx moved past used_event (vring_need_event); otherwise unless the
  // driver set VRING_AVAIL_F_NO_INTERRUPT.
  bool needs_notification();

 private:
  VirtQueue(const GuestMemory& memory, const QueueLayout& layout, uint64_t features);
  Result<bool> fail(std::string message);
  Result<bool> read_avail_idx(uint16_t& idx);
  Result<bool> walk_chain(uint16_t head, DescriptorChain& chain);

  const GuestMemory* memory_ = nullptr;
  QueueLayout layout_;
  bool indirect_ = false;
  bool event_idx_ = false;
  bool broken_ = false;
  uint16_t next_avail_ = 0;
  uint16_t avail_idx_ = 0;  // the driver's avail idx as last read
  uint16_t next_used_ = 0;
  uint16_t signalled_used_ = 0;  // next_used_ when needs_notification last ran
};

// Copies out of the device-readable part of a chain, in order.
class ChainReader {
 public:
  ChainReader(const GuestMemory& memory, const DescriptorChain& chain)
      : memory_(memory), segments_(chain.readable()), remaining_(chain.readable_bytes()) {}
  uint64_t remaining() const { return remaining_; }
  // Fills `out` completely, or fails (kGuest: the chain is too short)
  // without consuming anything.
  Result<void> read(std::span<uint8_t> out);
  template <class T>
  Result<T> read_obj() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    auto r = read(std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)));
    if (!r) return std::unexpected(r.error());
    return value;
  }

 private:
  const GuestMemory& memory_;
  std::span<const Segment> segments_;
  size_t index_ = 0;
  uint64_t offset_ = 0;  // into segments_[index_]
  uint64_t remaining_;
};

// Copies into the device-writable part of a chain, in order.
class ChainWriter {
 public:
  ChainWriter(const GuestMemory& memory, const DescriptorChain& chain)
      : memory_(memory), segments_(chain.writable()), remaining_(chain.writable_bytes()) {}
  uint64_t remaining() const { return remaining_; }
  uint64_t written() const { return written_; }
  // Writes all of `in`, or fails (kGuest: not enough room) without writing.
  Result<void> write(std::span<const uint8_t> in);
  template <class T>
  Result<void> write_obj(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

 private:
  const GuestMemory& memory_;
  std::span<const Segment> segments_;
  size_t index_ = 0;
  uint64_t offset_ = 0;
  uint64_t remaining_;
  uint64_t written_ = 0;
};

}  // namespace vireo::virtio
