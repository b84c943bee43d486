#include "boot/x86/e820.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace vireo::boot::x86 {

Result<void> E820Map::add(uint64_t addr, uint64_t size, E820Type type) {
  if (size == 0 || addr + size < addr) {
    return make_error(ErrorCode::kInternal,
                      fmt::format("memory map range {:#x}+{:#x} is empty or wraps", addr, size));
  }
  for (const E820Entry& e : entries_) {
    if (addr < e.addr + e.size && e.addr < addr + size) {
      return make_error(ErrorCode::kInternal,
                        fmt::format("memory map range {:#x}+{:#x} overlaps {:#x}+{:#x}", addr, size,
                                    e.addr, e.size));
    }
  }
  const auto pos = std::find_if(entries_.begin(), entries_.end(),
                                [addr](const E820Entry& e) { return e.addr > addr; });
  entries_.insert(pos, E820Entry{addr, size, type});
  return {};
}

uint64_t E820Map::ram_below(uint64_t limit) const {
  uint64_t total = 0;
  for (const E820Entry& e : entries_) {
    if (e.type != E820Type::kRam || e.addr >= limit) continue;
    total += std::min(e.addr + e.size, limit) - e.addr;
  }
  return total;
}

bool E820Map::is_ram(uint64_t addr, uint64_t size) const {
  if (addr + size < addr) return false;
  for (const E820Entry& e : entries_) {
    if (e.type == E820Type::kRam && addr >= e.addr && addr + size <= e.addr + e.size) return true;
  }
  return false;
}

}  // namespace vireo::boot::x86
