// The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): a bzImage is
// a real-mode setup part followed by the protected-mode kernel. Vireo loads
// the protected-mode part and enters its 64-bit entry point (load address +
// 0x200) in long mode with a zero page (struct boot_params) in RSI, as
// Firecracker and cloud-hypervisor do; no real-mode code runs.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "boot/x86/e820.hpp"
#include "core/error.hpp"

namespace vireo::boot::x86 {

inline constexpr size_t kZeroPageSize = 4096;

struct BzImageInfo {
  uint16_t version = 0;           // boot protocol, e.g. 0x020f
  size_t setup_size = 0;          // bytes of real-mode setup, (setup_sects + 1) * 512
  size_t header_end = 0;          // end of the setup header in the file (0x202 + byte at 0x201)
  size_t kernel_offset = 0;       // file offset of the protected-mode kernel (= setup_size)
  size_t kernel_size = 0;         // bytes of protected-mode kernel in the file
  uint64_t pref_address = 0;      // preferred load address
  uint32_t kernel_alignment = 0;  // required alignment when relocating
  bool relocatable = false;
  uint32_t init_size = 0;        // memory the kernel needs from its load address
  uint32_t initrd_addr_max = 0;  // highest address the initrd's last byte may have
  uint32_t cmdline_size = 0;     // maximum command line length, without the NUL
  bool can_load_above_4g = false;
};

// True when the bytes carry the boot-protocol signature ("HdrS" at 0x202
// and 0xAA55 at 0x1FE).
bool is_bzimage(std::span<const uint8_t> file);

// Validates the setup header of a bzImage Vireo can boot: protocol 2.10 or
// newer (for pref_address/init_size), loaded high, with a 64-bit entry point
// (XLF_KERNEL_64), and every size and offset inside the file.
Result<BzImageInfo> parse_bzimage(std::span<const uint8_t> file);

// Where the protected-mode kernel goes: pref_address when it lies in RAM with
// init_size bytes after it, else (if relocatable) the lowest suitably aligned
// RAM address at or above 16 MiB that has room.
Result<uint64_t> choose_load_address(const BzImageInfo& info, const E820Map& map);

struct ZeroPageParams {
  uint64_t cmdline_addr = 0;  // guest-physical address of the NUL-terminated command line
  uint32_t cmdline_len = 0;   // without the NUL (checked against cmdline_size)
  uint64_t initrd_addr = 0;
  uint64_t initrd_size = 0;  // 0: no initrd
  uint64_t acpi_rsdp_addr = 0;
};

// Builds the zero page: the file's setup header copied in, the loader
// fields set (type_of_loader 0xff, command line, initrd, RSDP), and the
// memory map as E820 entries (at most 128).
Result<void> build_zero_page(std::span<uint8_t, kZeroPageSize> page, std::span<const uint8_t> file,
                             const BzImageInfo& info, const ZeroPageParams& params,
                             const E820Map& map);

}  // namespace vireo::boot::x86
