#include "boot/x86/multiboot.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "boot/bytes.hpp"

namespace vireo::boot::x86 {
namespace {

constexpr uint32_t kHeaderMagic = 0x1badb002;
constexpr size_t kSearchBytes = 8192;
constexpr uint32_t kFlagPageAlign = 1u << 0;  // modules page-aligned: we do
constexpr uint32_t kFlagMemInfo = 1u << 1;    // mem_* and mmap: always given
constexpr uint32_t kFlagVideo = 1u << 2;      // video mode: a preference, no display here
constexpr uint32_t kFlagAddresses = 1u << 16;
constexpr uint32_t kRequiredMask = 0xffff;  // bits a loader must understand

// multiboot_info flags and offsets.
constexpr uint32_t kInfoMem = 1u << 0;
constexpr uint32_t kInfoCmdline = 1u << 2;
constexpr uint32_t kInfoMods = 1u << 3;
constexpr uint32_t kInfoMmap = 1u << 6;
constexpr uint32_t kInfoLoaderName = 1u << 9;
constexpr size_t kInfoSize = 88;
constexpr size_t kMmapEntrySize = 24;  // a 4-byte size field, then 20 bytes
constexpr size_t kModEntrySize = 16;

}  // namespace

Result<std::optional<MultibootHeader>> find_multiboot_header(std::span<const uint8_t> file) {
  const size_t limit = std::min(file.size(), kSearchBytes);
  for (size_t at = 0; at + 12 <= limit; at += 4) {
    if (read_le<uint32_t>(file, at) != kHeaderMagic) continue;
    const uint32_t flags = read_le<uint32_t>(file, at + 4);
    const uint32_t checksum = read_le<uint32_t>(file, at + 8);
    if (static_cast<uint32_t>(kHeaderMagic + flags + checksum) != 0) continue;
    MultibootHeader h;
    h.offset = at;
    h.flags = flags;
    const uint32_t unknown = flags & kRequiredMask & ~(kFlagPageAlign | kFlagMemInfo | kFlagVideo);
    if (unknown != 0) {
      return make_error(ErrorCode::kUnsupported,
                        fmt::format("Multiboot header requires features {:#x} Vireo does not "
                                    "provide",
                                    unknown));
    }
    if (flags & kFlagAddresses) {
      if (at + 32 > file.size()) {
        return make_error(ErrorCode::kBadFormat, "Multiboot header address fields are truncated");
      }
      h.has_addresses = true;
      h.header_addr = read_le<uint32_t>(file, at + 12);
      h.load_addr = read_le<uint32_t>(file, at + 16);
      h.load_end_addr = read_le<uint32_t>(file, at + 20);
      h.bss_end_addr = read_le<uint32_t>(file, at + 24);
      h.entry_addr = read_le<uint32_t>(file, at + 28);
    }
    return std::optional<MultibootHeader>(h);
  }
  return std::optional<MultibootHeader>();
}

Result<MultibootImage> multiboot_image(std::span<const uint8_t> file, const MultibootHeader& h) {
  auto bad = [](std::string why) {
    return make_error(ErrorCode::kBadFormat, "Multiboot address fields: " + std::move(why));
  };
  if (!h.has_addresses) return bad("absent");
  // header_addr is where the header itself lands: it fixes the file offset
  // that load_addr corresponds to.
  if (h.header_addr < h.load_addr || h.header_addr - h.load_addr > h.offset) {
    return bad(fmt::format("header_addr {:#x} is not within the image loaded at {:#x}",
                           h.header_addr, h.load_addr));
  }
  MultibootImage img;
  img.file_offset = h.offset - (h.header_addr - h.load_addr);
  img.load_addr = h.load_addr;
  const uint64_t available = file.size() - img.file_offset;
  if (h.load_end_addr == 0) {
    img.file_bytes = available;
  } else {
    if (h.load_end_addr <= h.load_addr) return bad("load_end_addr is not after load_addr");
    img.file_bytes = h.load_end_addr - h.load_addr;
    if (img.file_bytes > available) {
      return bad(fmt::format("{} bytes to load, the file has {}", img.file_bytes, available));
    }
  }
  img.mem_bytes = img.file_bytes;
  if (h.bss_end_addr != 0) {
    if (h.bss_end_addr < h.load_addr + img.file_bytes)
      return bad("bss_end_addr is inside the image");
    img.mem_bytes = uint64_t{h.bss_end_addr} - h.load_addr;
  }
  if (h.entry_addr < h.load_addr || h.entry_addr >= h.load_addr + img.mem_bytes) {
    return bad(fmt::format("entry {:#x} is outside the image", h.entry_addr));
  }
  img.entry = h.entry_addr;
  return img;
}

MultibootBlobs build_multiboot_info(const MultibootParams& params, const E820Map& map) {
  MultibootBlobs out;
  const auto& entries = map.entries();
  out.mmap.resize(entries.size() * kMmapEntrySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    const size_t at = i * kMmapEntrySize;
    write_le<uint32_t>(out.mmap, at, kMmapEntrySize - 4);  // size excludes itself
    write_le<uint64_t>(out.mmap, at + 4, entries[i].addr);
    write_le<uint64_t>(out.mmap, at + 12, entries[i].size);
    write_le<uint32_t>(out.mmap, at + 20, static_cast<uint32_t>(entries[i].type));
  }
  uint32_t flags = kInfoMem | kInfoMmap;
  out.info.resize(kInfoSize);
  std::span<uint8_t> info = out.info;
  // mem_lower: KiB of RAM from 0 (up to 640 KiB); mem_upper: KiB from 1 MiB
  // up to the first hole.
  const uint64_t lower = map.ram_below(640 << 10);
  uint64_t upper = 0;
  for (const E820Entry& e : entries) {
    if (e.type == E820Type::kRam && e.addr <= (1u << 20) && e.addr + e.size > (1u << 20)) {
      upper = e.addr + e.size - (1u << 20);
    }
  }
  write_le<uint32_t>(info, 4, static_cast<uint32_t>(lower >> 10));
  write_le<uint32_t>(info, 8, static_cast<uint32_t>(std::min<uint64_t>(upper >> 10, UINT32_MAX)));
  if (params.cmdline_addr != 0) {
    flags |= kInfoCmdline;
    write_le<uint32_t>(info, 16, params.cmdline_addr);
  }
  if (params.initrd_size != 0) {
    flags |= kInfoMods;
    out.mods.resize(kModEntrySize);
    write_le<uint32_t>(out.mods, 0, params.initrd_addr);
    write_le<uint32_t>(out.mods, 4, params.initrd_addr + params.initrd_size);
    write_le<uint32_t>(out.mods, 8, params.initrd_cmdline_addr);
    write_le<uint32_t>(info, 20, 1);
    write_le<uint32_t>(info, 24, params.mods_addr);
  }
  write_le<uint32_t>(info, 44, static_cast<uint32_t>(out.mmap.size()));
  write_le<uint32_t>(info, 48, params.mmap_addr);
  if (params.loader_name_addr != 0) {
    flags |= kInfoLoaderName;
    write_le<uint32_t>(info, 64, params.loader_name_addr);
  }
  write_le<uint32_t>(info, 0, flags);
  return out;
}

}  // namespace vireo::boot::x86
