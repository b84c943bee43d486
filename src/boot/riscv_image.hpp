// The RISC-V Linux `Image` format (Documentation/arch/riscv/boot-image-header.rst):
// a 64-byte header in front of a flat kernel that is loaded at a 2 MiB-aligned
// RAM address plus `text_offset`.
#pragma once

#include <cstdint>
#include <span>

#include "core/error.hpp"

namespace vireo::boot {

struct RiscvImageInfo {
  uint64_t text_offset = 0;  // load offset from a 2 MiB-aligned base
  uint64_t image_size = 0;   // bytes of memory the kernel needs (>= file size)
};

// True when the file carries the RISC-V Image magic ("RSC\x05" at offset 56).
bool is_riscv_image(std::span<const uint8_t> file);

// Validates the header: magic, a 4 KiB-aligned text_offset, and an
// image_size covering the file (0 in old kernels means "the file size").
Result<RiscvImageInfo> parse_riscv_image(std::span<const uint8_t> file);

}  // namespace vireo::boot
