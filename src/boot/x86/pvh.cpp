#include "boot/x86/pvh.hpp"

#include <cstring>

#include <fmt/format.h>

#include "boot/bytes.hpp"

namespace vireo::boot::x86 {
namespace {

constexpr uint32_t kXenElfnotePhys32Entry = 18;

uint64_t align4(uint64_t v) { return (v + 3) & ~uint64_t{3}; }

}  // namespace

Result<std::optional<uint32_t>> find_pvh_entry(std::span<const uint8_t> file, const ElfInfo& elf) {
  for (const ElfNotes& notes : elf.notes) {
    // parse_elf checked that the range lies in the file.
    const auto bytes = file.subspan(notes.file_offset, notes.size);
    uint64_t at = 0;
    while (bytes.size() - at >= 12) {
      const uint32_t namesz = read_le<uint32_t>(bytes, at);
      const uint32_t descsz = read_le<uint32_t>(bytes, at + 4);
      const uint32_t type = read_le<uint32_t>(bytes, at + 8);
      const uint64_t name_at = at + 12;
      const uint64_t desc_at = name_at + align4(namesz);
      const uint64_t next = desc_at + align4(descsz);
      if (desc_at > bytes.size() || next > bytes.size()) {
        return make_error(
            ErrorCode::kBadFormat,
            fmt::format("ELF note at offset {:#x} runs past its segment", notes.file_offset + at));
      }
      const bool is_xen =
          namesz == 4 && std::memcmp(bytes.data() + name_at, "Xen", 4) == 0;  // incl. NUL
      if (is_xen && type == kXenElfnotePhys32Entry) {
        uint64_t entry;
        if (descsz == 4) {
          entry = read_le<uint32_t>(bytes, desc_at);
        } else if (descsz == 8) {
          entry = read_le<uint64_t>(bytes, desc_at);
        } else {
          return make_error(ErrorCode::kBadFormat,
                            fmt::format("PVH entry note has a {}-byte value", descsz));
        }
        if (entry > UINT32_MAX) {
          return make_error(ErrorCode::kBadFormat,
                            fmt::format("PVH entry {:#x} is above 4 GiB", entry));
        }
        return std::optional<uint32_t>(static_cast<uint32_t>(entry));
      }
      at = next;
    }
  }
  return std::optional<uint32_t>();
}

PvhBlobs build_pvh_start_info(const PvhParams& params, const E820Map& map) {
  PvhBlobs out;
  const auto& entries = map.entries();
  out.memmap.resize(entries.size() * kHvmMemmapEntrySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    const size_t at = i * kHvmMemmapEntrySize;
    write_le<uint64_t>(out.memmap, at, entries[i].addr);
    write_le<uint64_t>(out.memmap, at + 8, entries[i].size);
    write_le<uint32_t>(out.memmap, at + 16, static_cast<uint32_t>(entries[i].type));
  }
  const bool has_module = params.initrd_size != 0;
  if (has_module) {
    out.modlist.resize(kHvmModlistEntrySize);
    write_le<uint64_t>(out.modlist, 0, params.initrd_addr);
    write_le<uint64_t>(out.modlist, 8, params.initrd_size);
  }
  out.start_info.resize(kHvmStartInfoSize);
  std::span<uint8_t> si = out.start_info;
  write_le<uint32_t>(si, 0, kHvmStartMagic);
  write_le<uint32_t>(si, 4, 1);  // version: has the memory map fields
  write_le<uint32_t>(si, 8, 0);  // flags
  write_le<uint32_t>(si, 12, has_module ? 1 : 0);
  write_le<uint64_t>(si, 16, has_module ? params.modlist_addr : 0);
  write_le<uint64_t>(si, 24, params.cmdline_addr);
  write_le<uint64_t>(si, 32, params.rsdp_addr);
  write_le<uint64_t>(si, 40, params.memmap_addr);
  write_le<uint32_t>(si, 48, static_cast<uint32_t>(entries.size()));
  return out;
}

}  // namespace vireo::boot::x86
