#include "cpu/riscv/decode_cache.hpp"
#include "cpu/riscv/isa/inline_ops.hpp"

#include <sys/mman.h>

#include <cstdlib>

#include "core/log.hpp"

namespace vireo::riscv {

HartShared::HartShared(const GuestMemory& memory) {
  for (const MemoryRegion& r : memory.regions()) {
    const uint64_t pages = (r.size + kPageSize - 1) / kPageSize;
    regions_.push_back(
        Region{r.base.value, pages,
               std::unique_ptr<std::atomic<uint32_t>[]>(new std::atomic<uint32_t>[pages]())});
  }
}

std::atomic<uint32_t>* HartShared::code_state(uint64_t paddr) const {
  for (const Region& r : regions_) {
    if (paddr < r.base) continue;
    const uint64_t page = (paddr - r.base) / kPageSize;
    if (page < r.pages) return &r.state[page];
  }
  return nullptr;
}

uint32_t HartShared::mark_code(std::atomic<uint32_t>& state, bool& newly_marked) {
  const uint32_t before = state.fetch_or(1u, std::memory_order_acq_rel);
  newly_marked = (before & 1u) == 0;
  if (newly_marked) code_epoch_.fetch_add(1, std::memory_order_acq_rel);
  return before >> 1;
}

DecodeCache::DecodeCache() {
  const size_t bytes = sizeof(CodePage) * kSets * kWays;
  // MAP_NORESERVE and no touching: a slot costs memory only once a page of
  // code has been decoded into it.
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    log::error("cannot reserve {} bytes for the decode cache", bytes);
    std::abort();
  }
  pages_ = static_cast<CodePage*>(p);
}

DecodeCache::~DecodeCache() { ::munmap(pages_, sizeof(CodePage) * kSets * kWays); }

CodePage& DecodeCache::fill(uint64_t ppage, uint32_t gen, ExecFn lazy_stub) {
  CodePage* set = set_for(ppage);
  const unsigned set_index = static_cast<unsigned>(set - pages_) / kWays;
  // Reuse the way that held this page (stale generation) or a stale way
  // before evicting live code.
  CodePage* victim = nullptr;
  for (unsigned w = 0; w < kWays && victim == nullptr; ++w) {
    if (set[w].ppage == ppage || set[w].epoch != epoch_) victim = &set[w];
  }
  if (victim == nullptr) {
    victim = &set[next_victim_[set_index]];
    next_victim_[set_index] = static_cast<uint8_t>((next_victim_[set_index] + 1) % kWays);
  }
  victim->ppage = ppage;
  victim->gen = gen;
  victim->epoch = epoch_;
  for (DecodedInsn& d : victim->insns) {
    d.exec = lazy_stub;
    d.inline_op = kInlineNone;
  }
  victim->insns[kInsnSlotsPerPage].inline_op = kInlinePageEnd;
  return *victim;
}

}  // namespace vireo::riscv
