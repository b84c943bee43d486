#include "boot/x86/bzimage.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "boot/bytes.hpp"

namespace vireo::boot::x86 {
namespace {

// Offsets in the zero page (struct boot_params) and, from 0x1f1, in the
// file's setup header, which has the same layout.
constexpr size_t kExtRamdiskImage = 0x0c0;
constexpr size_t kExtRamdiskSize = 0x0c4;
constexpr size_t kExtCmdLinePtr = 0x0c8;
constexpr size_t kAcpiRsdpAddr = 0x070;
constexpr size_t kE820Entries = 0x1e8;
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;
constexpr size_t kJump = 0x200;
constexpr size_t kHeader = 0x202;
constexpr size_t kVersion = 0x206;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kLoadflags = 0x211;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kHeapEndPtr = 0x224;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kInitrdAddrMax = 0x22c;
constexpr size_t kKernelAlignment = 0x230;
constexpr size_t kRelocatableKernel = 0x234;
constexpr size_t kXloadflags = 0x236;
constexpr size_t kCmdlineSize = 0x238;
constexpr size_t kPrefAddress = 0x258;
constexpr size_t kInitSize = 0x260;
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820MaxEntries = 128;
constexpr size_t kE820EntrySize = 20;

constexpr uint32_t kHdrS = 0x53726448;  // "HdrS"
constexpr uint16_t kMinVersion = 0x020a;
constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint8_t kCanUseHeap = 0x80;
constexpr uint16_t kXlfKernel64 = 0x01;
constexpr uint16_t kXlfCanBeLoadedAbove4g = 0x02;

constexpr uint64_t k16MiB = 16ull << 20;

Error bad(std::string what) { return Error{ErrorCode::kBadFormat, "bzImage: " + std::move(what)}; }

}  // namespace

bool is_bzimage(std::span<const uint8_t> file) {
  // Through the version field: parse_bzimage reads it before the header's end is known.
  return file.size() >= kVersion + 2 && read_le<uint16_t>(file, kBootFlag) == 0xaa55 &&
         read_le<uint32_t>(file, kHeader) == kHdrS;
}

Result<BzImageInfo> parse_bzimage(std::span<const uint8_t> file) {
  if (!is_bzimage(file)) return std::unexpected(bad("no boot-protocol signature (HdrS)"));
  BzImageInfo info;
  info.version = read_le<uint16_t>(file, kVersion);
  if (info.version < kMinVersion) {
    return std::unexpected(bad(fmt::format("boot protocol {}.{:02} is older than 2.10",
                                           info.version >> 8, info.version & 0xff)));
  }
  // The setup header runs from 0x1f1 to 0x202 + the byte at 0x201 (the
  // jump's displacement); 2.10 headers reach at least init_size.
  info.header_end = kHeader + file[kJump + 1];
  if (info.header_end < kInitSize + 4 || info.header_end > file.size()) {
    return std::unexpected(
        bad(fmt::format("setup header end {:#x} is outside the file ({} "
                        "bytes) or too short for protocol 2.10",
                        info.header_end, file.size())));
  }
  unsigned sects = file[kSetupSects];
  if (sects == 0) sects = 4;  // as the protocol says
  info.setup_size = (sects + 1) * 512ull;
  if (info.setup_size < info.header_end || info.setup_size >= file.size()) {
    return std::unexpected(bad(
        fmt::format("setup of {} sectors does not fit the file ({} bytes)", sects, file.size())));
  }
  info.kernel_offset = info.setup_size;
  info.kernel_size = file.size() - info.setup_size;
  if ((file[kLoadflags] & kLoadedHigh) == 0) {
    return std::unexpected(bad("not loaded high (a zImage): unsupported"));
  }
  const uint16_t xloadflags = read_le<uint16_t>(file, kXloadflags);
  if ((xloadflags & kXlfKernel64) == 0) {
    return std::unexpected(bad("no 64-bit entry point (XLF_KERNEL_64 clear): a 32-bit kernel?"));
  }
  info.can_load_above_4g = (xloadflags & kXlfCanBeLoadedAbove4g) != 0;
  info.pref_address = read_le<uint64_t>(file, kPrefAddress);
  info.kernel_alignment = read_le<uint32_t>(file, kKernelAlignment);
  info.relocatable = file[kRelocatableKernel] != 0;
  info.init_size = read_le<uint32_t>(file, kInitSize);
  info.initrd_addr_max = read_le<uint32_t>(file, kInitrdAddrMax);
  info.cmdline_size = read_le<uint32_t>(file, kCmdlineSize);
  if (info.relocatable &&
      (info.kernel_alignment == 0 || (info.kernel_alignment & (info.kernel_alignment - 1)) != 0)) {
    return std::unexpected(
        bad(fmt::format("kernel_alignment {:#x} is not a power of two", info.kernel_alignment)));
  }
  if (info.init_size < info.kernel_size) {
    return std::unexpected(bad(fmt::format("init_size {:#x} is smaller than the kernel ({:#x})",
                                           info.init_size, info.kernel_size)));
  }
  if (info.pref_address % 4096 != 0) {
    return std::unexpected(
        bad(fmt::format("pref_address {:#x} is not page-aligned", info.pref_address)));
  }
  return info;
}

Result<uint64_t> choose_load_address(const BzImageInfo& info, const E820Map& map) {
  if (map.is_ram(info.pref_address, info.init_size)) return info.pref_address;
  if (!info.relocatable) {
    return make_error(ErrorCode::kBadFormat,
                      fmt::format("bzImage: not relocatable and its address {:#x}+{:#x} is not "
                                  "in RAM: give the guest more --memory",
                                  info.pref_address, info.init_size));
  }
  const uint64_t align = info.kernel_alignment;
  for (const E820Entry& e : map.entries()) {
    if (e.type != E820Type::kRam) continue;
    const uint64_t start = std::max(e.addr, k16MiB);
    const uint64_t at = (start + align - 1) & ~(align - 1);
    if (at < start) continue;  // wrapped
    if (!info.can_load_above_4g && at + info.init_size > (1ull << 32)) continue;
    if (map.is_ram(at, info.init_size)) return at;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    fmt::format("the kernel needs {} MiB of RAM above 16 MiB: give the guest "
                                "more --memory",
                                (info.init_size + (1 << 20) - 1) >> 20));
}

Result<void> build_zero_page(std::span<uint8_t, kZeroPageSize> page, std::span<const uint8_t> file,
                             const BzImageInfo& info, const ZeroPageParams& params,
                             const E820Map& map) {
  std::fill(page.begin(), page.end(), 0);
  // The setup header as the file has it (parse_bzimage checked header_end).
  std::memcpy(page.data() + kSetupSects, file.data() + kSetupSects, info.header_end - kSetupSects);

  write_le<uint8_t>(page, kTypeOfLoader, 0xff);  // "undefined" loader
  uint8_t loadflags = page[kLoadflags];
  loadflags &= static_cast<uint8_t>(~kCanUseHeap);  // no real-mode code runs: no heap
  page[kLoadflags] = loadflags;
  write_le<uint16_t>(page, kHeapEndPtr, 0);

  if (params.cmdline_len > info.cmdline_size) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the command line is {} bytes; this kernel accepts at most {}",
                                  params.cmdline_len, info.cmdline_size));
  }
  write_le<uint32_t>(page, kCmdLinePtr, static_cast<uint32_t>(params.cmdline_addr));
  write_le<uint32_t>(page, kExtCmdLinePtr, static_cast<uint32_t>(params.cmdline_addr >> 32));

  if (params.initrd_size != 0) {
    const uint64_t last = params.initrd_addr + params.initrd_size - 1;
    if (last < params.initrd_addr || last > info.initrd_addr_max) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("the initrd at {:#x} ({} bytes) ends above this kernel's "
                                    "initrd_addr_max {:#x}",
                                    params.initrd_addr, params.initrd_size, info.initrd_addr_max));
    }
    write_le<uint32_t>(page, kRamdiskImage, static_cast<uint32_t>(params.initrd_addr));
    write_le<uint32_t>(page, kExtRamdiskImage, static_cast<uint32_t>(params.initrd_addr >> 32));
    write_le<uint32_t>(page, kRamdiskSize, static_cast<uint32_t>(params.initrd_size));
    write_le<uint32_t>(page, kExtRamdiskSize, static_cast<uint32_t>(params.initrd_size >> 32));
  }
  write_le<uint64_t>(page, kAcpiRsdpAddr, params.acpi_rsdp_addr);

  const auto& entries = map.entries();
  if (entries.size() > kE820MaxEntries) {
    return make_error(ErrorCode::kInternal,
                      fmt::format("{} memory map entries; the zero page holds {}", entries.size(),
                                  kE820MaxEntries));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const size_t at = kE820Table + i * kE820EntrySize;
    write_le<uint64_t>(page, at, entries[i].addr);
    write_le<uint64_t>(page, at + 8, entries[i].size);
    write_le<uint32_t>(page, at + 16, static_cast<uint32_t>(entries[i].type));
  }
  page[kE820Entries] = static_cast<uint8_t>(entries.size());
  return {};
}

}  // namespace vireo::boot::x86
