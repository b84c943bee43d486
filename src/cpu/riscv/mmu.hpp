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

// Never equal to a match tag (see tlb_match_tag: bits 11:3 are always clear
// there, even for misaligned accesses) nor to a page address.
inline constexpr uint64_t kInvalidTag = 0x800;

struct TlbEntry {
  uint64_t tag = kInvalidTag;  // virtual page address
  uintptr_t addend = 0;        // host address minus virtual address
  uint64_t ppage = 0;          // guest-physical page address
  // Virtual-address mask of the leaf PTE this entry came from (a superpage
  // leaf covers more than the entry's 4 KiB): SFENCE.VMA of any address under
  // that leaf must drop the entry.
  uint64_t leaf_mask = ~kPageOffsetMask;
};
static_assert(sizeof(TlbEntry) == 32, "a power of two keeps the index computation one shift");

inline constexpr unsigned kTlbEntries = 1024;  // per access type and mode; direct-mapped

inline unsigned tlb_index(uint64_t vaddr) {
  return static_cast<unsigned>(vaddr / kPageSize) % kTlbEntries;
}

// The tag a `size`-byte access at `vaddr` must match: the page address, with
// the low address bits kept so that a misaligned access misses (and takes the
// slow path, which also handles accesses crossing a page).
inline uint64_t tlb_match_tag(uint64_t vaddr, unsigned size) {
  return vaddr & (~kPageOffsetMask | (size - 1));
}

// Entries for one translation context, per access type. A bitmap of the
// slots filled since the last flush keeps flushes proportional to what is
// cached: Linux issues SFENCE.VMA often (every munmap, COW fault, exec).
struct TlbSet {
  static constexpr unsigned kWords = kTlbEntries / 64;
  TlbEntry entries[3][kTlbEntries];
  uint64_t used[3][kWords] = {};

  void fill(Access access, uint64_t vaddr, uintptr_t host_page, uint64_t ppage,
            uint64_t leaf_mask) {
    const unsigned a = static_cast<unsigned>(access);
    const unsigned i = tlb_index(vaddr);
    TlbEntry& e = entries[a][i];
    e.tag = vaddr & ~kPageOffsetMask;
    e.addend = host_page - e.tag;
    e.ppage = ppage;
    e.leaf_mask = leaf_mask;
    used[a][i / 64] |= 1ull << (i % 64);
  }
  void flush(Access access) {
    const unsigned a = static_cast<unsigned>(access);
    for (unsigned w = 0; w < kWords; ++w) {
      for (uint64_t bits = used[a][w]; bits != 0; bits &= bits - 1) {
        entries[a][w * 64 + static_cast<unsigned>(__builtin_ctzll(bits))].tag = kInvalidTag;
      }
      used[a][w] = 0;
    }
  }
  void flush() {
    flush(Access::kFetch);
    flush(Access::kLoad);
    flush(Access::kStore);
  }
  // Drops the entries whose leaf covers `vaddr`.
  void flush_address(uint64_t vaddr) {
    for (unsigned a = 0; a < 3; ++a) {
      for (unsigned w = 0; w < kWords; ++w) {
        for (uint64_t bits = used[a][w]; bits != 0; bits &= bits - 1) {
          const unsigned b = static_cast<unsigned>(__builtin_ctzll(bits));
          TlbEntry& e = entries[a][w * 64 + b];
          if (((e.tag ^ vaddr) & e.leaf_mask) == 0) {
            e.tag = kInvalidTag;
            used[a][w] &= ~(1ull << b);
          }
        }
      }
    }
  }
};

// Translation contexts with their own TLB set, so that switching between them
// (a syscall, a SUM toggle around copy_from_user) needs no flush.
enum class TlbContext : uint8_t { kUser = 0, kSupervisor = 1, kSupervisorSum = 2, kMachine = 3 };
inline constexpr unsigned kTlbContexts = 4;

// Why a translation failed; the caller turns it into the exception cause of
// its access type.
enum class Fault : uint8_t { kNone, kPage, kAccess };

// A successful translation of one access.
struct Translation {
  uint64_t paddr = 0;
  uint64_t leaf_mask = ~kPageOffsetMask;  // see TlbEntry::leaf_mask
  bool cacheable = false;                 // PMP grants the access on the whole 4 KiB page
};

// The two parts of an access that crosses a page boundary.
struct SplitTranslation {
  unsigned first = 0;   // bytes in the first page
  uint64_t vaddr2 = 0;  // virtual address of the second part
  Translation lo, hi;
};

}  // namespace vireo::riscv
