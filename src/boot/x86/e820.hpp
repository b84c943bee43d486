// The x86 physical memory map handed to the guest (E820 in the zero page,
// the PVH start_info memory map, the Multiboot mmap): RAM, and holes for the
// legacy BIOS area, MMIO and ACPI tables.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.hpp"

namespace vireo::boot::x86 {

enum class E820Type : uint32_t {
  kRam = 1,
  kReserved = 2,
  kAcpi = 3,  // ACPI tables (reclaimable)
  kNvs = 4,
};

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  E820Type type;
};

// A memory map under construction. add() keeps entries sorted and refuses
// overlapping or empty ranges (a board wiring bug, not a guest error).
class E820Map {
 public:
  Result<void> add(uint64_t addr, uint64_t size, E820Type type);
  const std::vector<E820Entry>& entries() const { return entries_; }
  // Bytes of RAM below `limit` (Multiboot's mem_lower/mem_upper).
  uint64_t ram_below(uint64_t limit) const;
  // The RAM entry containing [addr, addr+size), if any.
  bool is_ram(uint64_t addr, uint64_t size) const;

 private:
  std::vector<E820Entry> entries_;
};

}  // namespace vireo::boot::x86
