// PVH direct boot (Xen's HVM direct boot, now every VMM's): an ELF kernel
// with a XEN_ELFNOTE_PHYS32_ENTRY note is entered in 32-bit protected mode,
// paging off, with EBX pointing at an hvm_start_info structure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "boot/elf.hpp"
#include "boot/x86/e820.hpp"
#include "core/error.hpp"

namespace vireo::boot::x86 {

inline constexpr uint32_t kHvmStartMagic = 0x336ec578;
inline constexpr size_t kHvmStartInfoSize = 56;
inline constexpr size_t kHvmMemmapEntrySize = 24;
inline constexpr size_t kHvmModlistEntrySize = 32;

// The 32-bit PVH entry point from the ELF notes, nullopt when the kernel has
// none. A malformed note is an error (every size is checked).
Result<std::optional<uint32_t>> find_pvh_entry(std::span<const uint8_t> file, const ElfInfo& elf);

struct PvhParams {
  uint64_t cmdline_addr = 0;  // 0: none
  uint64_t rsdp_addr = 0;
  uint64_t memmap_addr = 0;   // where the memory map table will be written
  uint64_t modlist_addr = 0;  // where the module list will be written (with an initrd)
  uint64_t initrd_addr = 0;
  uint64_t initrd_size = 0;  // 0: no module
};

// Serialises hvm_start_info (version 1), its memory map and module list:
// three blobs for the caller to place at the addresses named in `params`
// (start_info goes wherever EBX will point).
struct PvhBlobs {
  std::vector<uint8_t> start_info;
  std::vector<uint8_t> memmap;
  std::vector<uint8_t> modlist;
};
PvhBlobs build_pvh_start_info(const PvhParams& params, const E820Map& map);

}  // namespace vireo::boot::x86
