// ELF kernel/program loading: validates every header field read from the file
// and copies PT_LOAD segments into guest RAM. Used for bare-metal RISC-V
// programs (entered in M-mode) and, later, x86 PVH/Multiboot kernels.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/guest_memory.hpp"

namespace vireo::boot {

enum class ElfMachine : uint16_t { kX86 = 3, kX86_64 = 62, kRiscv = 243 };

struct ElfSegment {
  uint64_t paddr;
  uint64_t file_offset;
  uint64_t file_size;
  uint64_t mem_size;
};

struct ElfNotes {
  uint64_t file_offset;
  uint64_t size;
};

struct ElfInfo {
  bool is64 = false;
  uint16_t machine = 0;
  uint64_t entry = 0;
  std::vector<ElfSegment> segments;  // PT_LOAD only
  std::vector<ElfNotes> notes;       // PT_NOTE contents, inside the file
  uint64_t lowest = 0, highest = 0;  // physical span of loaded segments [lowest, highest)
};

// True when the bytes start with the ELF magic.
bool is_elf(std::span<const uint8_t> file);

// Parses and validates headers: class, endianness, program headers within the
// file, segment ranges without overflow, file_size <= mem_size.
Result<ElfInfo> parse_elf(std::span<const uint8_t> file);

// Copies the segments into guest memory (zero-filling bss). Fails if any
// segment falls outside RAM.
Result<void> load_elf(std::span<const uint8_t> file, const ElfInfo& info, const GuestMemory& mem);

// Looks up a symbol's value in .symtab (for HTIF tohost/fromhost).
std::optional<uint64_t> find_elf_symbol(std::span<const uint8_t> file, std::string_view name);

// Reads a whole file; errors name the path and the problem.
Result<std::vector<uint8_t>> read_file(const std::string& path, std::string_view what);

}  // namespace vireo::boot
