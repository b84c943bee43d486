#include "devices/virtio/queue.hpp"

#include <atomic>
#include <string>

#include <fmt/format.h>

namespace vireo::virtio {
namespace {

// Byte offsets inside the rings.
constexpr uint64_t kAvailIdx = 2;
constexpr uint64_t kAvailRing = 4;
constexpr uint64_t kUsedIdx = 2;
constexpr uint64_t kUsedRing = 4;

uint64_t desc_table_bytes(uint16_t size) { return 16ull * size; }
// flags, idx, ring[size], used_event
uint64_t avail_ring_bytes(uint16_t size) { return 6ull + 2ull * size; }
// flags, idx, ring[size], avail_event
uint64_t used_ring_bytes(uint16_t size) { return 6ull + 8ull * size; }

// True when `new_idx` moved past `event` since `old` (virtio 1.2 §2.7.7.2,
// Linux's vring_need_event): all arithmetic is modulo 2^16.
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old) {
  return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old);
}

}  // namespace

Result<void> VirtQueue::check_layout(const GuestMemory& memory, const QueueLayout& layout) {
  const uint16_t n = layout.size;
  if (n == 0 || n > kMaxSize || !std::has_single_bit(n)) {
    return make_error(ErrorCode::kGuest,
                      fmt::format("queue size {} is not a power of two in 1..{}", n, kMaxSize));
  }
  if (layout.desc.value % 16 != 0 || layout.avail.value % 2 != 0 || layout.used.value % 4 != 0) {
    return make_error(ErrorCode::kGuest,
                      fmt::format("queue rings misaligned (desc {:#x}, avail {:#x}, used {:#x})",
                                  layout.desc.value, layout.avail.value, layout.used.value));
  }
  struct Part {
    const char* name;
    GuestAddr addr;
    uint64_t bytes;
  };
  const Part parts[] = {{"descriptor table", layout.desc, desc_table_bytes(n)},
                        {"available ring", layout.avail, avail_ring_bytes(n)},
                        {"used ring", layout.used, used_ring_bytes(n)}};
  for (const auto& p : parts) {
    if (!memory.contains(p.addr, p.bytes)) {
      return make_error(ErrorCode::kGuest,
                        fmt::format("queue {} at {:#x} ({} bytes) is not inside guest RAM", p.name,
                                    p.addr.value, p.bytes));
    }
  }
  return {};
}

VirtQueue::VirtQueue(const GuestMemory& memory, const QueueLayout& layout, uint64_t features)
    : memory_(&memory),
      layout_(layout),
      indirect_((features & kFeatureIndirectDesc) != 0),
      event_idx_((features & kFeatureEventIdx) != 0) {}

Result<VirtQueue> VirtQueue::create(const GuestMemory& memory, const QueueLayout& layout,
                                    uint64_t features) {
  if (auto r = check_layout(memory, layout); !r) return std::unexpected(r.error());
  return VirtQueue(memory, layout, features);
}

Result<bool> VirtQueue::fail(std::string message) {
  broken_ = true;
  return make_error(ErrorCode::kGuest, std::move(message));
}

// Reads the driver's avail idx (acquire: the ring entries and descriptors it
// publishes are visible after it) and checks it is at most a queue ahead.
Result<bool> VirtQueue::read_avail_idx(uint16_t& idx) {
  auto v = memory_->load_acquire<uint16_t>(GuestAddr(layout_.avail.value + kAvailIdx));
  if (!v) return fail("available ring unreadable: " + v.error().message);
  const uint16_t ahead = static_cast<uint16_t>(*v - next_avail_);
  if (ahead > layout_.size) {
    return fail(
        fmt::format("avail idx {} is {} entries ahead of the device (at {}), more than the "
                    "queue size {}",
                    *v, ahead, next_avail_, layout_.size));
  }
  idx = *v;
  return true;
}

Result<bool> VirtQueue::pop_chain(DescriptorChain& chain) {
  if (!ready()) return false;
  if (broken_) return make_error(ErrorCode::kGuest, "queue is broken until the device is reset");
  if (avail_idx_ == next_avail_) {
    if (auto r = read_avail_idx(avail_idx_); !r) return r;
    if (avail_idx_ == next_avail_) {
      if (!event_idx_) return false;
      // Empty: ask for a notification when the driver publishes entry
      // next_avail_ (avail_event), then look again. The full fence orders our
      // avail_event store before the idx load, pairing with the driver's
      // barrier between its idx store and its avail_event load: either it
      // sees our avail_event and notifies, or we see its new idx.
      const GuestAddr avail_event(layout_.used.value + kUsedRing + 8ull * layout_.size);
      if (auto w = memory_->store_release<uint16_t>(avail_event, next_avail_); !w) {
        return fail("used ring unwritable: " + w.error().message);
      }
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (auto r = read_avail_idx(avail_idx_); !r) return r;
      if (avail_idx_ == next_avail_) return false;
    }
  }
  const uint16_t slot = next_avail_ & (layout_.size - 1);
  auto head =
      memory_->read_obj<uint16_t>(GuestAddr(layout_.avail.value + kAvailRing + 2ull * slot));
  if (!head) return fail("available ring unreadable: " + head.error().message);
  if (auto r = walk_chain(*head, chain); !r) return r;
  ++next_avail_;
  return true;
}

Result<std::optional<DescriptorChain>> VirtQueue::pop_chain() {
  DescriptorChain chain;
  auto r = pop_chain(chain);
  if (!r) return std::unexpected(r.error());
  if (!*r) return std::nullopt;
  return chain;
}

Result<bool> VirtQueue::walk_chain(uint16_t head, DescriptorChain& chain) {
  chain.clear(head);
  if (head >= layout_.size) {
    return fail(fmt::format("chain head {} is outside the descriptor table of {} entries", head,
                            layout_.size));
  }
  GuestAddr table = layout_.desc;  // the table being walked: main, then maybe one indirect
  uint32_t table_entries = layout_.size;
  bool in_indirect = false;
  uint32_t walked_in_table = 0;
  uint16_t index = head;
  bool seen_writable = false;
  uint64_t total = 0;
  for (;;) {
    // A chain visiting more descriptors than its table holds revisits one:
    // a loop. This bound also caps the walk at size + kMaxIndirectEntries.
    if (++walked_in_table > table_entries) {
      return fail(
          fmt::format("descriptor chain from head {} loops or is longer than its {} table "
                      "({} entries)",
                      head, in_indirect ? "indirect" : "descriptor", table_entries));
    }
    ++chain.descriptors_;
    // index < table_entries and the whole table was checked to be in RAM.
    auto desc = memory_->read_obj<VirtqDesc>(GuestAddr(table.value + 16ull * index));
    if (!desc) return fail("descriptor unreadable: " + desc.error().message);

    if (desc->flags & kDescFlagIndirect) {
      if (!indirect_) {
        return fail(
            fmt::format("descriptor {} is indirect, but VIRTIO_F_INDIRECT_DESC was not "
                        "negotiated",
                        index));
      }
      if (in_indirect) return fail("indirect descriptor inside an indirect table");
      if (desc->flags & kDescFlagNext) {
        return fail(fmt::format("indirect descriptor {} also has NEXT set", index));
      }
      if (desc->len == 0 || desc->len % sizeof(VirtqDesc) != 0) {
        return fail(
            fmt::format("indirect table length {} is not a nonzero multiple of 16", desc->len));
      }
      if (desc->len / sizeof(VirtqDesc) > kMaxIndirectEntries) {
        return fail(fmt::format("indirect table of {} entries exceeds the limit of {}",
                                desc->len / sizeof(VirtqDesc), kMaxIndirectEntries));
      }
      if (!memory_->contains(GuestAddr(desc->addr), desc->len)) {
        return fail(fmt::format("indirect table at {:#x} ({} bytes) is not inside guest RAM",
                                desc->addr, desc->len));
      }
      table = GuestAddr(desc->addr);
      table_entries = desc->len / sizeof(VirtqDesc);
      in_indirect = true;
      walked_in_table = 0;
      index = 0;
      continue;
    }

    const bool writable = (desc->flags & kDescFlagWrite) != 0;
    if (writable) {
      seen_writable = true;
    } else if (seen_writable) {
      return fail(
          fmt::format("device-readable descriptor {} follows a device-writable one in the "
                      "chain from head {}",
                      index, head));
    }
    if (desc->len != 0) {
      // contains() is written so that addr + len cannot wrap.
      if (!memory_->contains(GuestAddr(desc->addr), desc->len)) {
        return fail(fmt::format("descriptor {} buffer at {:#x} ({} bytes) is not inside guest RAM",
                                index, desc->addr, desc->len));
      }
      total += desc->len;
      if (total > kMaxChainBytes) {
        return fail(fmt::format("descriptor chain from head {} is longer than {} bytes", head,
                                kMaxChainBytes));
      }
      chain.segments_.push_back(Segment{GuestAddr(desc->addr), desc->len, writable});
      if (writable) {
        chain.writable_bytes_ += desc->len;
      } else {
        chain.readable_bytes_ += desc->len;
        chain.first_writable_ = chain.segments_.size();
      }
    }
    if (!(desc->flags & kDescFlagNext)) return true;
    if (desc->next >= table_entries) {
      return fail(fmt::format("descriptor {} chains to {}, outside its table of {} entries", index,
                              desc->next, table_entries));
    }
    index = desc->next;
  }
}

Result<void> VirtQueue::add_used(uint16_t head, uint32_t written) {
  if (!ready()) return make_error(ErrorCode::kInternal, "add_used on a queue that is not ready");
  if (head >= layout_.size) {
    return make_error(ErrorCode::kInternal,
                      fmt::format("add_used of head {} outside a queue of {}", head, layout_.size));
  }
  const uint16_t slot = next_used_ & (layout_.size - 1);
  const GuestAddr elem(layout_.used.value + kUsedRing + 8ull * slot);
  if (auto r = memory_->write_obj(elem, VirtqUsedElem{head, written}); !r) return r;
  ++next_used_;
  // Release: the element (and the buffer contents) are visible before the idx.
  return memory_->store_release<uint16_t>(GuestAddr(layout_.used.value + kUsedIdx), next_used_);
}

Result<void> VirtQueue::add_used_batch(std::span<const VirtqUsedElem> elems) {
  if (!ready()) return make_error(ErrorCode::kInternal, "add_used on a queue that is not ready");
  if (elems.size() > layout_.size) {
    return make_error(
        ErrorCode::kInternal,
        fmt::format("add_used_batch of {} entries in a queue of {}", elems.size(), layout_.size));
  }
  if (elems.empty()) return {};
  uint16_t next = next_used_;
  for (const VirtqUsedElem& e : elems) {
    if (e.id >= layout_.size) {
      return make_error(
          ErrorCode::kInternal,
          fmt::format("add_used of head {} outside a queue of {}", e.id, layout_.size));
    }
    const uint16_t slot = next & (layout_.size - 1);
    const GuestAddr elem(layout_.used.value + kUsedRing + 8ull * slot);
    if (auto r = memory_->write_obj(elem, e); !r) return r;
    ++next;
  }
  next_used_ = next;
  return memory_->store_release<uint16_t>(GuestAddr(layout_.used.value + kUsedIdx), next_used_);
}

bool VirtQueue::needs_notification() {
  if (!ready()) return false;
  // Our used idx store must be ordered before the load of the driver's
  // suppression field, pairing with the driver's barrier between updating
  // used_event and re-reading used idx.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (event_idx_) {
    const uint16_t old = signalled_used_;
    signalled_used_ = next_used_;
    auto used_event = memory_->load_acquire<uint16_t>(
        GuestAddr(layout_.avail.value + kAvailRing + 2ull * layout_.size));
    if (!used_event) return true;
    return need_event(*used_event, next_used_, old);
  }
  auto flags = memory_->load_acquire<uint16_t>(layout_.avail);
  return !flags || !(*flags & kAvailFlagNoInterrupt);
}

Result<void> ChainReader::read(std::span<uint8_t> out) {
  if (out.size() > remaining_) {
    return make_error(ErrorCode::kGuest,
                      fmt::format("request needs {} more device-readable bytes, the chain has {}",
                                  out.size(), remaining_));
  }
  size_t done = 0;
  while (done < out.size()) {
    const Segment& s = segments_[index_];
    const uint64_t n = std::min<uint64_t>(s.len - offset_, out.size() - done);
    if (auto r = memory_.read(GuestAddr(s.addr.value + offset_), out.subspan(done, n)); !r) {
      return r;
    }
    done += n;
    offset_ += n;
    remaining_ -= n;
    if (offset_ == s.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return {};
}

Result<void> ChainWriter::write(std::span<const uint8_t> in) {
  if (in.size() > remaining_) {
    return make_error(
        ErrorCode::kGuest,
        fmt::format("reply of {} bytes does not fit the {} device-writable bytes left", in.size(),
                    remaining_));
  }
  size_t done = 0;
  while (done < in.size()) {
    const Segment& s = segments_[index_];
    const uint64_t n = std::min<uint64_t>(s.len - offset_, in.size() - done);
    if (auto r = memory_.write(GuestAddr(s.addr.value + offset_), in.subspan(done, n)); !r) {
      return r;
    }
    done += n;
    offset_ += n;
    remaining_ -= n;
    written_ += n;
    if (offset_ == s.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return {};
}

}  // namespace vireo::virtio
