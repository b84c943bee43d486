// Decoded-instruction cache. Instructions are decoded once per guest-physical
// page and executed from the cache; HartShared tracks, for every page of RAM,
// whether some hart caches code decoded from it, so that a store to that page
// invalidates the cached code in every hart of the machine.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/guest_memory.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageOffsetMask = kPageSize - 1;
// One decode slot per 2-byte parcel: compressed instructions can start at any even address.
inline constexpr unsigned kInsnSlotsPerPage = kPageSize / 2;

// State shared by all harts of one machine. Create it after all RAM has been
// added to the GuestMemory: it sizes its page tables from the RAM regions.
class HartShared {
 public:
  explicit HartShared(const GuestMemory& memory);
  HartShared(const HartShared&) = delete;
  HartShared& operator=(const HartShared&) = delete;

  // Code-tracking word of the RAM page holding `paddr`, or nullptr outside RAM.
  // Bit 0: some hart caches instructions decoded from the page. Bits 31:1: a
  // generation, bumped (and bit 0 cleared) when a store invalidates the page.
  std::atomic<uint32_t>* code_state(uint64_t paddr) const;

  // Marks a page as holding cached code and returns its generation. When the
  // page did not hold code before (`newly_marked`), bumps code_epoch() so that
  // every hart drops the fast store-TLB entries that would let stores to the
  // page bypass tracking.
  uint32_t mark_code(std::atomic<uint32_t>& state, bool& newly_marked);

  // Called after a store wrote RAM in the page of `state`: if the page holds
  // cached code, invalidates it (for every hart) and returns true.
  static bool invalidate_on_store(std::atomic<uint32_t>& state) {
    uint32_t v = state.load(std::memory_order_acquire);
    while (v & 1u) {
      // Odd -> even with the next generation; the store's data is already in RAM.
      if (state.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

  uint64_t code_epoch() const { return code_epoch_.load(std::memory_order_acquire); }

 private:
  struct Region {
    uint64_t base;
    uint64_t pages;
    std::unique_ptr<std::atomic<uint32_t>[]> state;
  };
  std::vector<Region> regions_;
  std::atomic<uint64_t> code_epoch_{0};
};

// The decoded instructions of one physical page.
struct CodePage {
  uint64_t ppage;  // guest-physical page address
  uint32_t gen;    // HartShared code generation when the page was filled
  uint32_t epoch;  // DecodeCache epoch when the page was filled (FENCE.I bumps it)
  // One slot per parcel, plus one past the end whose inline_op sends the
  // interpreter to the next page (sequential code runs into it).
  DecodedInsn insns[kInsnSlotsPerPage + 1];
};

// A hart's private cache of decoded pages: set-associative by physical page
// number (so that kernel and user code sharing a set do not thrash), backed by
// a lazily-touched anonymous mapping so unused slots cost no memory. A filled
// page starts with every slot running a "decode me" stub; each slot is
// decoded on first execution.
class DecodeCache {
 public:
  static constexpr unsigned kWays = 4;
  static constexpr unsigned kSets = 128;  // 512 pages: 32 MiB of address space, touched on demand
  static constexpr unsigned kPages = kSets * kWays;

  DecodeCache();
  ~DecodeCache();
  DecodeCache(const DecodeCache&) = delete;
  DecodeCache& operator=(const DecodeCache&) = delete;

  // The cached page for `ppage` at code generation `gen`, or nullptr.
  CodePage* find(uint64_t ppage, uint32_t gen) {
    CodePage* set = set_for(ppage);
    for (unsigned w = 0; w < kWays; ++w) {
      if (set[w].ppage == ppage && set[w].gen == gen && set[w].epoch == epoch_) return &set[w];
    }
    return nullptr;
  }
  // Claims a slot for `ppage` (evicting another page if needed); every
  // instruction slot of it runs `lazy_stub`.
  CodePage& fill(uint64_t ppage, uint32_t gen, ExecFn lazy_stub);
  // The position of a page of this cache, in [0, kPages).
  unsigned index_of(const CodePage& page) const { return static_cast<unsigned>(&page - pages_); }
  // FENCE.I: every cached page becomes stale, in O(1).
  void invalidate_all() { ++epoch_; }

 private:
  CodePage* set_for(uint64_t ppage) { return &pages_[(ppage / kPageSize) % kSets * kWays]; }
  CodePage* pages_;
  uint8_t next_victim_[kSets] = {};
  uint32_t epoch_ = 1;  // never 0, so that zero-filled slots are never valid
};

}  // namespace vireo::riscv
