// Multiboot (version 1) kernels, as QEMU's -kernel accepts them: a header in
// the first 8 KiB of the file, the kernel loaded from its ELF program
// headers or from the header's address fields, entered in 32-bit protected
// mode with EAX = 0x2BADB002 and EBX pointing at a multiboot_info structure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "boot/x86/e820.hpp"
#include "core/error.hpp"

namespace vireo::boot::x86 {

inline constexpr uint32_t kMultibootBootloaderMagic = 0x2badb002;

struct MultibootHeader {
  size_t offset = 0;  // of the header in the file
  uint32_t flags = 0;
  // With the address fields (flag bit 16): where the file image goes.
  bool has_addresses = false;
  uint32_t header_addr = 0, load_addr = 0, load_end_addr = 0, bss_end_addr = 0, entry_addr = 0;
};

// The header, nullopt when the file has none. A header with a bad checksum
// is "none" (as the specification says a loader must search for a valid
// one); one asking for features Vireo lacks, or with address fields that do
// not fit the file, is an error.
Result<std::optional<MultibootHeader>> find_multiboot_header(std::span<const uint8_t> file);

// A kernel image placed by the header's address fields.
struct MultibootImage {
  uint64_t file_offset;  // first byte to copy
  uint64_t load_addr;
  uint64_t file_bytes;  // bytes copied from the file
  uint64_t mem_bytes;   // file_bytes plus the zeroed bss
  uint32_t entry;
};
Result<MultibootImage> multiboot_image(std::span<const uint8_t> file, const MultibootHeader& h);

struct MultibootParams {
  uint32_t info_addr = 0;  // where the info structure goes (EBX)
  uint32_t cmdline_addr = 0;
  uint32_t loader_name_addr = 0;
  uint32_t mmap_addr = 0;  // where the memory map goes
  uint32_t mods_addr = 0;  // where the module list goes (with an initrd)
  uint32_t initrd_addr = 0;
  uint32_t initrd_size = 0;  // 0: no module
  uint32_t initrd_cmdline_addr = 0;
};

struct MultibootBlobs {
  std::vector<uint8_t> info;
  std::vector<uint8_t> mmap;
  std::vector<uint8_t> mods;
};
MultibootBlobs build_multiboot_info(const MultibootParams& params, const E820Map& map);

}  // namespace vireo::boot::x86
