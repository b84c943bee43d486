// The software TLB in front of the RISC-V page walk (Sv39/Sv48/Sv57) and PMP.
// A TLB entry caches, for one 4 KiB virtual page and one access type, the
// host address of the backing RAM, so that a hit costs one compare and one add.
// Pages that need per-access work (MMIO, PMP boundaries inside the page,
// stores to pages holding decoded code, HTIF ranges) never get entries.
#pragma once

#include <cstdint>

#include "cpu/riscv/decode_cache.hpp"

namespace vireo::riscv {

enum class Access : uint8_t { kFetch = 0, kLoad = 1, kStore = 2 };

// Page-table entry bits.
namespace pte {
inline constexpr uint64_t kV = 1 << 0, kR = 1 << 1, kW = 1 << 2, kX = 1 << 3;
inline constexpr uint64_t kU = 1 << 4, kG = 1 << 5, kA = 1 << 6, kD = 1 << 7;
inline constexpr unsigned kPpnShift = 10;
inline constexpr uint64_t kPpnMask = (1ull << 44) - 1;
// Bits 63:54: N (Svnapot), PBMT (Svpbmt) and reserved. None of those
// extensions is implemented, so a PTE with any of them set is a page fault.
inline constexpr uint64_t kHighBits = ~0ull << 54;
}  // namespace pte

// A tag with low bits set never equals a page-aligned address.
inline constexpr uint64_t kInvalidTag = 1;

struct TlbEntry {
  uint64_t tag = kInvalidTag;  // virtual page address
  uintptr_t addend = 0;        // host address minus virtual address
  uint64_t ppage = 0;          // guest-physical page address
};

inline constexpr unsigned kTlbEntries = 256;  // per access type and mode; direct-mapped

inline unsigned tlb_index(uint64_t vaddr) {
  return static_cast<unsigned>(vaddr / kPageSize) % kTlbEntries;
}

// The tag a `size`-byte access at `vaddr` must match: the page address, with
// the low address bits kept so that a misaligned access misses (and takes the
// slow path, which also handles accesses crossing a page).
inline uint64_t tlb_match_tag(uint64_t vaddr, unsigned size) {
  return vaddr & (~kPageOffsetMask | (size - 1));
}

// Entries for one translation context, per access type.
struct TlbSet {
  TlbEntry entries[3][kTlbEntries];
  void flush() {
    for (auto& per_access : entries) {
      for (auto& e : per_access) e.tag = kInvalidTag;
    }
  }
  void flush(Access access) {
    for (auto& e : entries[static_cast<unsigned>(access)]) e.tag = kInvalidTag;
  }
};

// Translation contexts with their own TLB set, so that switching between them
// (a syscall, a SUM toggle around copy_from_user) needs no flush.
enum class TlbContext : uint8_t { kUser = 0, kSupervisor = 1, kSupervisorSum = 2, kMachine = 3 };
inline constexpr unsigned kTlbContexts = 4;

// Why a translation failed; the caller turns it into the exception cause of
// its access type.
enum class Fault : uint8_t { kNone, kPage, kAccess };

}  // namespace vireo::riscv
